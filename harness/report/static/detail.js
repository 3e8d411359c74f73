/* detail.js — the case detail drawer: every model side by side, full transcript, assertions, timing,
 * usage, cassette, and the output diff against the baseline. */

var DETAIL = { open: false, view: -1, ret: null };

function section(title, cls) {
  var s = el("section", "d-sec" + (cls ? " " + cls : ""));
  s.appendChild(el("h4", null, title));
  return s;
}

function pre(text, cls) { return el("pre", cls || "msg", text); }

function kv(dl, k, v, cls) {
  var div = el("div", cls);
  add(div, el("dt", null, k), el("dd", null, v));
  dl.appendChild(div);
}

function messageBlock(msg, n) {
  var role = ROLE_NAMES[msg.r] || msg.r || "message";
  var li = el("li", "m m-" + role);
  var head = el("div", "m-head");
  var label = role === "assistant" ? "Assistant · turn " + n : role === "tool" ? "Tool result" : role.charAt(0).toUpperCase() + role.slice(1);
  add(head, el("span", "m-role", label));
  if (role === "tool") {
    add(head, el("span", "m-meta", [msg.n, msg.id].filter(Boolean).join(" · ")));
    if (msg.s) add(head, el("span", "m-meta", msg.s));
  }
  if (msg.tm || msg.u) {
    var bits = [];
    if (msg.tm) bits.push("TTFT " + fmtMs(msg.tm[0]), "total " + fmtMs(msg.tm[1]));
    if (msg.u) bits.push(fmtInt(msg.u[0]) + " in / " + fmtInt(msg.u[1]) + " out tok" +
      (msg.u[2] ? " · " + fmtInt(msg.u[2]) + " cached" : "") + (msg.u[3] ? " · " + fmtInt(msg.u[3]) + " reasoning" : ""));
    add(head, el("span", "m-meta", bits.join(" · ")));
  }
  li.appendChild(head);
  if (msg.rs) li.appendChild(reasoningBlock(msg.rs));
  if (msg.c) li.appendChild(pre(role === "tool" ? prettyMaybeJson(msg.c) : msg.c, "msg" + (role === "tool" ? " code" : "")));
  else if (role === "assistant" && !(msg.tc && msg.tc.length)) li.appendChild(el("p", "muted", "(empty)"));
  if (msg.tc) for (var i = 0; i < msg.tc.length; i++) li.appendChild(toolCallBlock(msg.tc[i]));
  return li;
}

/* a target cell's model calls, one after another: a bar per call, as long as its latency */
function callsTimeline(calls) {
  var sec = section("Model calls (" + calls.length + ")", "d-calls");
  var total = 0;
  for (var i = 0; i < calls.length; i++) total += calls[i][1] || 0;
  var ol = el("ol", "calls"), at = 0;
  for (var j = 0; j < calls.length; j++) {
    var c = calls[j], li = el("li", "call");
    var head = add(el("div", "call-head"), el("span", "call-n", String(j + 1)), el("code", "call-model", c[0]),
      el("span", "m-meta", [fmtMs(c[1]), c[2] !== null ? "TTFT " + fmtMs(c[2]) : null,
        fmtInt(c[3]) + " in / " + fmtInt(c[4]) + " out tok", c[6], c[7] === "other" ? "other client" : null]
        .filter(Boolean).join(" · ")));
    li.appendChild(head);
    var track = el("div", "call-track"), bar = el("div", "call-bar");
    bar.style.marginLeft = (total ? 100 * at / total : 0) + "%";
    bar.style.width = Math.max(1, total ? 100 * (c[1] || 0) / total : 100) + "%";
    bar.title = c[0] + " · " + fmtMs(c[1]);
    add(li, add(track, bar));
    if (c[5].length) {
      var tools = el("p", "call-tools", "→ ");
      for (var k = 0; k < c[5].length; k++) add(tools, k ? ", " : null, el("code", "tc-name", c[5][k]));
      li.appendChild(tools);
    }
    if (c[8]) li.appendChild(el("p", "call-error", c[8]));
    ol.appendChild(li);
    at += c[1] || 0;
  }
  sec.appendChild(ol);
  return sec;
}

function reasoningBlock(text) {
  var det = el("details", "reasoning");
  add(det, el("summary", null, "Reasoning (" + fmtInt(text.length) + " chars)"), pre(text, "msg dim-text"));
  return det;
}

function toolCallBlock(tc) {
  var box = el("div", "toolcall");
  add(box, add(el("div", "tc-head"), el("span", "tc-arrow", "→ tool call "), el("code", "tc-name", tc[0]),
    tc[2] ? el("span", "m-meta", " id " + tc[2]) : null));
  box.appendChild(pre(typeof tc[1] === "string" ? prettyMaybeJson(tc[1]) : pretty(tc[1]), "msg code"));
  return box;
}

function messagesList(msgs, firstTurn) {
  var ol = el("ol", "msgs"), n = firstTurn || 0;
  for (var i = 0; i < msgs.length; i++) {
    if (msgs[i].r === "a") n++;
    ol.appendChild(messageBlock(msgs[i], n));
  }
  return ol;
}

function tokenize(s) { return s.match(/\s+|[A-Za-z0-9_]+|[^\sA-Za-z0-9_]/g) || []; }

/* word-level LCS diff; falls back to whole-text replace when too large */
function wordDiff(a, b) {
  var x = tokenize(a), y = tokenize(b), n = x.length, m = y.length;
  if (n * m > 4e6) return [[-1, a], [1, b]];
  var w = m + 1, dp = new Uint32Array((n + 1) * w);
  for (var i = n - 1; i >= 0; i--)
    for (var j = m - 1; j >= 0; j--)
      dp[i * w + j] = x[i] === y[j] ? dp[(i + 1) * w + j + 1] + 1 : Math.max(dp[(i + 1) * w + j], dp[i * w + j + 1]);
  var out = [], p = 0, q = 0;
  function push(op, t) {
    if (out.length && out[out.length - 1][0] === op) out[out.length - 1][1] += t; else out.push([op, t]);
  }
  while (p < n && q < m) {
    if (x[p] === y[q]) { push(0, x[p]); p++; q++; }
    else if (dp[(p + 1) * w + q] >= dp[p * w + q + 1]) { push(-1, x[p]); p++; }
    else { push(1, y[q]); q++; }
  }
  while (p < n) push(-1, x[p++]);
  while (q < m) push(1, y[q++]);
  return out;
}

function diffBlock(d) {
  var sec = section("Output vs baseline", "d-diff");
  var ops = wordDiff(d[X_BTEXT] || "", d[X_CTEXT] || "");
  var box = el("pre", "msg diff");
  for (var i = 0; i < ops.length; i++) {
    var op = ops[i];
    if (op[0] === 0) box.appendChild(document.createTextNode(op[1]));
    else {
      var span = el(op[0] < 0 ? "del" : "ins", null, op[1]);
      span.title = op[0] < 0 ? "only in baseline" : "only in this run";
      box.appendChild(span);
    }
  }
  add(sec, el("p", "legend-line", "Struck through: baseline only · underlined: this run only"), box);
  return sec;
}

/* the output first (before the assertions): reasoning, text, tool calls, structured output */
function outputSection(c, det) {
  var osec = section("Output", "d-output");
  var text = outputText(c);
  if (det.rs) osec.appendChild(reasoningBlock(det.rs));
  if (text) osec.appendChild(pre(text));
  if (det.tc) for (var k = 0; k < det.tc.length; k++) osec.appendChild(toolCallBlock(det.tc[k]));
  if (det.st !== undefined) add(osec, el("p", "m-meta", "Structured output (parsed)"), pre(pretty(det.st), "msg code structured"));
  if (!text && !det.tc && det.st === undefined) osec.appendChild(el("p", "muted", "(no output)"));
  if (det.fr) osec.appendChild(el("p", "m-meta", "finish reason: " + det.fr));
  return osec;
}

function modelColumn(c, m, row) {
  var s = D.summary[m];
  var col = el("article", "dcol");
  col.dataset.model = String(m);
  var head = add(el("header", "dcol-head"), el("h3", null, s.model_id), el("p", "sub", s.model + (s.provider ? " · " + s.provider : "")));
  col.appendChild(head);
  if (!c) { col.appendChild(el("p", "muted", "This model has no result for this case.")); return col; }
  var det = c[C_DETAIL] || {}, d = c[C_DIFF];
  var badges = add(el("p", "badges"), statusBadge(c[C_STATUS]), " ", stateBadge(c[C_STATE]));
  var db = diffBadge(d);
  if (db) add(badges, " ", db);
  head.appendChild(badges);

  var metrics = el("dl", "kv");
  kv(metrics, "Total latency", fmtMs(c[C_LAT]) + (det.rp ? " (recorded timing)" : ""));
  kv(metrics, "TTFT", fmtMs(c[C_TTFT]));
  var turns = (det.t || []).filter(function (t) { return t.r === "a"; });
  if (turns.length > 1) kv(metrics, "Per turn", turns.map(function (t, i) { return (i + 1) + ": " + fmtMs(t.tm ? t.tm[1] : null); }).join(" · "));
  kv(metrics, "Tokens in / out", fmtInt(c[C_IN]) + " / " + fmtInt(c[C_OUT]));
  kv(metrics, "Cached / reasoning", fmtInt(c[C_CACHED]) + " / " + fmtInt(c[C_RTOK]));
  if (det.u) kv(metrics, "Total / cache write", fmtInt(det.u[0]) + " / " + fmtInt(det.u[1]));
  kv(metrics, "Cost", fmtUsd(c[C_COST]) + (c[C_AVOID] ? " (" + fmtUsd(c[C_AVOID]) + " avoided by replay)" : ""));
  if (det.cp) kv(metrics, "Cassette", (S[det.cp[0]] ? S[det.cp[0]] + "/" : "") + S[det.cp[1]], "path");
  col.appendChild(metrics);

  if (d && d[X_CODE] !== 0) {
    var bl = el("dl", "kv baseline-kv");
    kv(bl, "Baseline status", STATUS[d[X_BSTATUS]].icon + " " + STATUS[d[X_BSTATUS]].long);
    kv(bl, "Δ latency", signed(d[X_LAT], fmtMs));
    kv(bl, "Δ cost", signed(d[X_COST], fmtUsd));
    kv(bl, "Δ tokens", signed(d[X_TOK], fmtInt));
    add(col, add(section("Compared with baseline", "d-base"), bl));
  }
  if (det.e) add(col, add(section("⚠ Error", "d-error"), pre(det.e, "msg")));
  col.appendChild(outputSection(c, det));

  var as = c[C_ASSERT];
  var asec = section("Assertions (" + as.length + ")");
  if (!as.length) asec.appendChild(el("p", "muted", "No assertions."));
  else {
    var ul = el("ul", "asserts");
    for (var i = 0; i < as.length; i++) {
      var a = as[i], ok = a[1] === 1, li = el("li", ok ? "a-pass" : a[1] === 0 ? "a-fail" : "a-unk");
      add(li, el("span", "a-mark", ok ? "✓ pass" : a[1] === 0 ? "✗ fail" : "? n/a"), " ",
        el("code", "a-type", S[a[0]]), " ", el("span", "a-reason", S[a[2]]),
        a.length > 3 ? el("span", "m-meta", " score " + a[3]) : null);
      ul.appendChild(li);
    }
    asec.appendChild(ul);
  }
  col.appendChild(asec);

  if (det.mc) col.appendChild(callsTimeline(det.mc));
  if (det.md) add(col, add(section("Target metadata"), pre(pretty(det.md), "msg code")));
  if (d && d[X_CHANGED]) col.appendChild(diffBlock(d));
  if (det.in) add(col, add(section("Input (differs from the case input)"), messagesList(det.in)));
  var tsec = section("Transcript");
  if (det.t && det.t.length) tsec.appendChild(messagesList(det.t));
  else tsec.appendChild(el("p", "muted", "No model turns were recorded."));
  col.appendChild(tsec);

  return col;
}

function renderDetail() {
  var row = VIEW[DETAIL.view];
  if (!row) return;
  var k = D.cases[row.c];
  document.getElementById("detail-title").textContent = rowLabel(row);
  var body = document.getElementById("detail-body");
  body.textContent = "";
  var info = el("div", "d-info");
  if (k[4]) info.appendChild(el("p", "d-desc", k[4]));
  if (k[1].length) {
    var tags = el("p", "tags");
    for (var t = 0; t < k[1].length; t++) tags.appendChild(el("span", "tag", S[k[1][t]]));
    info.appendChild(tags);
  }
  if (k[2]) add(info, add(section("Variables"), pre(pretty(k[2]), "msg code")));
  if (k[3].length) add(info, add(section("Input messages"), messagesList(k[3])));
  body.appendChild(info);
  var vis = visibleModels();
  var cols = el("div", "dcols" + (vis.length >= 4 ? " wrap" : ""));
  cols.style.setProperty("--ncols", String(Math.max(1, vis.length)));
  for (var i = 0; i < vis.length; i++) cols.appendChild(modelColumn(row.cells[vis[i]], vis[i], row));
  body.appendChild(cols);
  document.getElementById("d-prev").disabled = DETAIL.view <= 0;
  document.getElementById("d-next").disabled = DETAIL.view >= VIEW.length - 1;
}

function openDetail(viewIndex, model, returnTo) {
  DETAIL.view = viewIndex;
  DETAIL.ret = returnTo || DETAIL.ret;
  DETAIL.open = true;
  renderDetail();
  var panel = document.getElementById("detail");
  panel.hidden = false;
  document.getElementById("scrim").hidden = false;
  document.body.classList.add("drawer-open");
  document.getElementById("detail-body").scrollTop = 0;
  if (model !== null && model !== undefined) {
    var target = panel.querySelector(".dcol[data-model='" + model + "']");
    if (target) {
      target.classList.add("focus-col");
      var db = document.getElementById("detail-body");
      if (target.offsetLeft + target.offsetWidth > db.clientWidth) db.scrollLeft = target.offsetLeft - 16;
      if (target.parentNode.classList.contains("wrap") && target.offsetTop > db.clientHeight / 2) {
        db.scrollTop = target.offsetTop - 16;  // the clicked model's column is on a wrapped row
      }
    }
  }
  document.getElementById("detail-title").focus();
}

function closeDetail() {
  if (!DETAIL.open) return;
  DETAIL.open = false;
  document.getElementById("detail").hidden = true;
  document.getElementById("scrim").hidden = true;
  document.body.classList.remove("drawer-open");
  if (DETAIL.ret && document.body.contains(DETAIL.ret)) DETAIL.ret.focus();
  DETAIL.ret = null;
}

function stepDetail(delta) {
  var next = DETAIL.view + delta;
  if (next < 0 || next >= VIEW.length) return;
  var page = Math.floor(next / ST.size);
  if (page !== ST.page) { ST.page = page; renderBody(); }
  FOCUS.row = next - ST.page * ST.size;
  setRoving(false);
  DETAIL.ret = gridCell(FOCUS.row, FOCUS.col);
  DETAIL.view = next;
  renderDetail();
  document.getElementById("detail-title").focus();
}

function onDetailKey(ev) {
  if (ev.key === "Escape") { ev.preventDefault(); closeDetail(); return; }
  var tag = (ev.target.tagName || "").toLowerCase();
  if (tag === "input" || tag === "select" || tag === "textarea" || tag === "summary" || tag === "button") return;
  if (ev.key === "j") stepDetail(1);
  else if (ev.key === "k") stepDetail(-1);
}

/* keep Tab inside the open dialog */
function trapFocus(ev) {
  if (ev.key !== "Tab") return;
  var panel = document.getElementById("detail");
  var f = panel.querySelectorAll("button:not([disabled]), summary, [tabindex='0'], [tabindex='-1']#detail-title");
  if (!f.length) return;
  var first = f[0], last = f[f.length - 1];
  if (ev.shiftKey && document.activeElement === first) { ev.preventDefault(); last.focus(); }
  else if (!ev.shiftKey && document.activeElement === last) { ev.preventDefault(); first.focus(); }
}
