/* matrix.js — rows = cases (× repeat), columns = models; filtered, sorted and paginated in memory,
 * only the current page is in the DOM. */

var ROWS = (function buildRows() {
  var rows = [], byKey = {}, nm = D.models.length;
  for (var i = 0; i < D.cells.length; i++) {
    var c = D.cells[i], key = c[C_CASE] + ":" + c[C_REPEAT], row = byKey[key];
    if (!row) {
      row = byKey[key] = { i: rows.length, c: c[C_CASE], r: c[C_REPEAT], cells: new Array(nm), hay: null };
      rows.push(row);
    }
    row.cells[c[C_MODEL]] = c;
  }
  return rows;
})();

var ST = {
  q: "", status: "", tag: "", atype: "", diff: "", sort: "order", desc: true,
  page: 0, size: 100, models: D.models.map(function () { return true; })
};
var VIEW = ROWS.slice();  /* filtered + sorted rows */
var FOCUS = { row: 0, col: 1 };  /* roving tabindex position within the page (col 0 = case header) */

function visibleModels() {
  var out = [];
  for (var m = 0; m < D.models.length; m++) if (ST.models[m]) out.push(m);
  return out;
}

function haystack(row) {
  if (row.hay === null) {
    var k = D.cases[row.c], parts = [k[0]];
    for (var t = 0; t < k[1].length; t++) parts.push(S[k[1][t]]);
    if (k[2]) parts.push(JSON.stringify(k[2]));
    for (var m = 0; m < row.cells.length; m++) {
      var c = row.cells[m];
      if (!c) continue;
      parts.push(outputText(c));
      if (c[C_REASON] !== null) parts.push(S[c[C_REASON]]);
      var det = c[C_DETAIL] || {};
      if (det.e) parts.push(det.e);
      if (det.st !== undefined) parts.push(JSON.stringify(det.st));
    }
    row.hay = parts.join("\n").toLowerCase();
  }
  return row.hay;
}

function cellMatches(c) {
  if (!c) return false;
  var st = ST.status;
  if (st) {
    if (st === "notpassed") { if (c[C_STATUS] === 0) return false; }
    else if (STATUS[c[C_STATUS]].long !== st) return false;
  }
  if (ST.atype !== "") {
    var want = +ST.atype, found = false, as = c[C_ASSERT];
    for (var i = 0; i < as.length; i++) if (as[i][0] === want) { found = true; break; }
    if (!found) return false;
  }
  if (ST.diff) {
    var d = c[C_DIFF];
    if (!d) return false;
    if (ST.diff === "changes" && d[X_CODE] === 3) return false;
    if (ST.diff === "output" && !d[X_CHANGED]) return false;
    if (ST.diff !== "changes" && ST.diff !== "output" && DIFFS[d[X_CODE]].key !== ST.diff) return false;
  }
  return true;
}

function cellFiltersActive() { return !!(ST.status || ST.atype !== "" || ST.diff); }

function rowMatches(row, words, vis) {
  if (ST.tag !== "" && D.cases[row.c][1].indexOf(+ST.tag) < 0) return false;
  if (words.length) {
    var h = haystack(row);
    for (var w = 0; w < words.length; w++) if (h.indexOf(words[w]) < 0) return false;
  }
  for (var i = 0; i < vis.length; i++) if (cellMatches(row.cells[vis[i]])) return true;
  return false;
}

function sortValue(row, vis) {
  var key = ST.sort, v = null;
  for (var i = 0; i < vis.length; i++) {
    var c = row.cells[vis[i]];
    if (!c) continue;
    var x = null;
    if (key === "latency") x = c[C_LAT];
    else if (key === "ttft") x = c[C_TTFT];
    else if (key === "cost") x = c[C_COST];
    else if (key === "tokens") x = c[C_IN] + c[C_OUT];
    else if (key === "status") x = c[C_STATUS] === 2 ? 1.5 : c[C_STATUS];
    if (x === null || x === undefined) continue;
    if (v === null) v = x;
    else if (key === "latency" || key === "ttft") v = Math.max(v, x);
    else v += x;
  }
  return v;
}

function applyFilters() {
  var vis = visibleModels();
  var words = ST.q.toLowerCase().split(/\s+/).filter(Boolean);
  var out = [];
  for (var i = 0; i < ROWS.length; i++) if (rowMatches(ROWS[i], words, vis)) out.push(ROWS[i]);
  if (ST.sort === "case") {
    out.sort(function (a, b) {
      var x = caseId(a), y = caseId(b);
      var r = x < y ? -1 : x > y ? 1 : a.r - b.r;
      return ST.desc ? -r : r;
    });
  } else if (ST.sort !== "order") {
    var keys = new Map();
    for (var j = 0; j < out.length; j++) keys.set(out[j], sortValue(out[j], vis));
    out.sort(function (a, b) {
      var x = keys.get(a), y = keys.get(b);
      if (x === null && y === null) return a.i - b.i;
      if (x === null) return 1;  /* unknown values last, in either direction */
      if (y === null) return -1;
      return (ST.desc ? y - x : x - y) || a.i - b.i;
    });
  } else if (ST.desc) {
    out.reverse();
  }
  VIEW = out;
  var pages = Math.max(1, Math.ceil(VIEW.length / ST.size));
  if (ST.page >= pages) ST.page = pages - 1;
}

function renderHead(vis) {
  var tr = document.getElementById("matrix-head");
  document.getElementById("matrix").style.minWidth = (240 + 220 * vis.length) + "px";
  while (tr.children.length > 1) tr.removeChild(tr.lastChild);
  for (var i = 0; i < vis.length; i++) {
    var s = D.summary[vis[i]];
    var th = el("th", "model-col");
    th.scope = "col";
    add(th, el("span", "mc-name", s.model_id),
      el("span", "mc-sub", (s.pass_rate === null ? "–" : (s.pass_rate * 100).toFixed(1) + "% pass") +
        (s.provider ? " · " + s.provider : "")));
    tr.appendChild(th);
  }
}

function renderCell(c, row, m) {
  var td = el("td", "cell");
  td.tabIndex = -1;
  td.dataset.model = String(m);
  if (!c) {
    td.className = "cell missing";
    add(td, el("span", "muted", "— not run"));
    return td;
  }
  td.classList.add("s-" + STATUS[c[C_STATUS]].key);
  var d = c[C_DIFF];
  if (d) td.classList.add("d-" + DIFFS[d[X_CODE]].key);
  if (cellFiltersActive() && !cellMatches(c)) td.classList.add("dim");
  var top = add(el("div", "c-top"), statusBadge(c[C_STATUS]), " ", stateBadge(c[C_STATE]));
  var db = diffBadge(d);
  if (db) add(top, " ", db);
  td.appendChild(top);
  var line = outputLine(c);
  var out = el("div", "c-output" + (line ? "" : " none"), line ? clip(line, 160) : "(no output)");
  if (line.length > 160) out.title = line;
  td.appendChild(out);
  if (c[C_REASON] !== null) {  // its first line, cut with "…" (never clipped by CSS); the detail has all
    var reason = el("div", "c-reason", clip(firstLine(S[c[C_REASON]]), 200));
    reason.title = S[c[C_REASON]];
    td.appendChild(reason);
  }
  var metrics = fmtMs(c[C_LAT]) + " · " + fmtTok(c[C_IN]) + " → " + fmtTok(c[C_OUT]) + " tok";
  if (c[C_COST] !== null) metrics += " · " + fmtUsd(c[C_COST]);
  td.appendChild(el("div", "c-metrics", metrics));
  td.setAttribute("aria-label", rowLabel(row) + " × " + D.models[m] + ": " + STATUS[c[C_STATUS]].long +
    (c[C_REASON] !== null ? ", " + firstLine(S[c[C_REASON]]) : "") + ", " + metrics);
  return td;
}

// a screen reader reads one line of the reason (a cassette miss carries a whole diff); the detail has all
function firstLine(text) {
  var line = String(text).split("\n")[0];
  return line.length > 300 ? line.slice(0, 299) + "…" : line;
}

function renderBody() {
  var vis = visibleModels();
  renderHead(vis);
  var tbody = document.getElementById("matrix-body");
  var start = ST.page * ST.size, end = Math.min(VIEW.length, start + ST.size);
  var frag = document.createDocumentFragment();
  for (var i = start; i < end; i++) {
    var row = VIEW[i], tr = el("tr");
    tr.dataset.row = String(i);
    var th = el("th", "case");
    th.scope = "row";
    th.tabIndex = -1;
    var k = D.cases[row.c];
    add(th, el("span", "case-id", k[0]));
    if (D.meta.repeats > 1) add(th, el("span", "repeat", "#" + (row.r + 1)));
    if (k[4]) add(th, el("span", "case-desc", k[4]));
    if (k[1].length) {
      var tags = el("span", "tags");
      for (var t = 0; t < k[1].length; t++) add(tags, el("span", "tag", S[k[1][t]]));
      th.appendChild(tags);
    }
    tr.appendChild(th);
    for (var j = 0; j < vis.length; j++) tr.appendChild(renderCell(row.cells[vis[j]], row, vis[j]));
    frag.appendChild(tr);
  }
  tbody.textContent = "";
  tbody.appendChild(frag);
  if (start === end) {
    var tr0 = el("tr"), td0 = el("td", "empty", "No cases match these filters.");
    td0.colSpan = vis.length + 1;
    tbody.appendChild(add(tr0, td0));
  }
  var pages = Math.max(1, Math.ceil(VIEW.length / ST.size));
  document.getElementById("count").textContent = VIEW.length === 0 ? "No matching cases (" + fmtInt(ROWS.length) + " in total)" :
    "Showing cases " + fmtInt(start + 1) + "–" + fmtInt(end) + " of " + fmtInt(VIEW.length) +
    (VIEW.length !== ROWS.length ? " matching (" + fmtInt(ROWS.length) + " in total)" : "");
  document.getElementById("p-info").textContent = "Page " + (ST.page + 1) + " of " + pages;
  document.getElementById("p-prev").disabled = document.getElementById("p-first").disabled = ST.page === 0;
  document.getElementById("p-next").disabled = document.getElementById("p-last").disabled = ST.page >= pages - 1;
  FOCUS.row = Math.min(FOCUS.row, Math.max(0, end - start - 1));
  FOCUS.col = Math.min(FOCUS.col, vis.length);
  setRoving(false);
}

function gridCell(r, c) {
  var tbody = document.getElementById("matrix-body");
  var tr = tbody.rows[r];
  return tr && tr.dataset.row !== undefined ? tr.cells[c] || null : null;
}

function setRoving(focus) {
  var prev = document.querySelectorAll("#matrix-body [tabindex='0']");
  for (var i = 0; i < prev.length; i++) prev[i].tabIndex = -1;
  var target = gridCell(FOCUS.row, FOCUS.col);
  if (target) {
    target.tabIndex = 0;
    if (focus) target.focus();
  }
}

function goPage(p) {
  var pages = Math.max(1, Math.ceil(VIEW.length / ST.size));
  ST.page = Math.max(0, Math.min(pages - 1, p));
  renderBody();
}

function onGridKey(ev) {
  var t = ev.target.closest("td, th");
  if (!t || !t.parentNode || t.parentNode.dataset.row === undefined) return;
  var r = t.parentNode.sectionRowIndex, c = t.cellIndex;
  var nrows = document.getElementById("matrix-body").rows.length, ncols = t.parentNode.cells.length;
  var key = ev.key;
  if (key === "Enter" || key === " ") { ev.preventDefault(); openFromGrid(t); return; }
  if (key === "ArrowDown") r = Math.min(nrows - 1, r + 1);
  else if (key === "ArrowUp") r = Math.max(0, r - 1);
  else if (key === "ArrowRight") c = Math.min(ncols - 1, c + 1);
  else if (key === "ArrowLeft") c = Math.max(0, c - 1);
  else if (key === "Home") { c = 0; if (ev.ctrlKey) r = 0; }
  else if (key === "End") { c = ncols - 1; if (ev.ctrlKey) r = nrows - 1; }
  else if (key === "PageDown") { ev.preventDefault(); FOCUS.row = 0; FOCUS.col = c; goPage(ST.page + 1); setRoving(true); return; }
  else if (key === "PageUp") { ev.preventDefault(); FOCUS.row = 0; FOCUS.col = c; goPage(ST.page - 1); setRoving(true); return; }
  else return;
  ev.preventDefault();
  FOCUS.row = r; FOCUS.col = c;
  setRoving(true);
}

function openFromGrid(t) {
  var tr = t.parentNode, i = +tr.dataset.row;
  FOCUS.row = tr.sectionRowIndex; FOCUS.col = t.cellIndex;
  setRoving(false);
  var m = t.dataset.model !== undefined ? +t.dataset.model : null;
  openDetail(i, m, t);
}
