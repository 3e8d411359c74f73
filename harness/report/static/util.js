/* util.js — data access, formatting and DOM helpers.
 * Model output is untrusted: it is only ever put on the page through textContent (see el()),
 * never through innerHTML. */

var D = JSON.parse(document.getElementById("report-data").textContent);
var S = D.s;
/* positions in a cell array (mirror CELL_* in harness/report/data.py) */
var C_CASE = 0, C_MODEL = 1, C_REPEAT = 2, C_STATUS = 3, C_STATE = 4, C_LAT = 5, C_TTFT = 6,
  C_IN = 7, C_OUT = 8, C_CACHED = 9, C_RTOK = 10, C_COST = 11, C_AVOID = 12, C_REASON = 13,
  C_ASSERT = 14, C_DIFF = 15, C_DETAIL = 16;
/* positions in a cell's diff array (mirror DIFF_* in data.py) */
var X_CODE = 0, X_CHANGED = 1, X_LAT = 2, X_COST = 3, X_BSTATUS = 4, X_BTEXT = 5, X_TOK = 6, X_CTEXT = 7;

var STATUS = [
  { key: "pass", icon: "✓", label: "pass", long: "passed" },
  { key: "fail", icon: "✗", label: "fail", long: "failed" },
  { key: "err", icon: "⚠", label: "error", long: "error" },
  { key: "skip", icon: "–", label: "skipped", long: "skipped" }
];
var DIFFS = [
  { key: "new", icon: "✚", label: "new" },
  { key: "fixed", icon: "▲", label: "fixed" },
  { key: "regressed", icon: "▼", label: "regressed" },
  { key: "unchanged", icon: "=", label: "unchanged" }
];
var STATE_ICONS = { live: "●", recorded: "◉", replayed: "↻", miss: "∅", mixed: "◐", unused: "○" };
var ROLE_NAMES = { s: "system", u: "user", a: "assistant", t: "tool" };

function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function add(parent) {
  for (var i = 1; i < arguments.length; i++) {
    var c = arguments[i];
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return parent;
}

function fmtMs(v) {
  if (v === null || v === undefined) return "–";
  if (v >= 10000) return (v / 1000).toFixed(1) + " s";
  if (v >= 1000) return (v / 1000).toFixed(2) + " s";
  return Math.round(v) + " ms";
}

function fmtTok(v) {
  if (v === null || v === undefined) return "–";
  if (v >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (v >= 1e4) return Math.round(v / 1e3) + "k";
  if (v >= 1e3) return (v / 1e3).toFixed(1) + "k";
  return String(Math.round(v));
}

function fmtInt(v) {
  return v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US");
}

function fmtUsd(v) {
  if (v === null || v === undefined) return "–";
  var a = Math.abs(v), sign = v < 0 ? "-" : "";
  if (v === 0) return "$0";
  if (a >= 100) return sign + "$" + Math.round(a).toLocaleString("en-US");
  if (a >= 1) return sign + "$" + a.toFixed(2);
  if (a >= 0.01) return sign + "$" + a.toFixed(3);
  if (a < 1e-7) return sign + "<$0.0000001";
  return sign + "$" + a.toFixed(-Math.floor(Math.log10(a)) + 1);
}

function signed(v, f) {
  if (v === null || v === undefined) return "–";
  return (v > 0 ? "+" : v < 0 ? "−" : "±") + f(Math.abs(v));
}

function pretty(value) {
  try { return JSON.stringify(value, null, 2); } catch (e) { return String(value); }
}

/* tool results and arguments: pretty-print when the string is JSON */
function prettyMaybeJson(text) {
  var t = (text || "").trim();
  if ((t.charAt(0) === "{" && t.charAt(t.length - 1) === "}") || (t.charAt(0) === "[" && t.charAt(t.length - 1) === "]")) {
    try { return JSON.stringify(JSON.parse(t), null, 2); } catch (e) { /* not JSON */ }
  }
  return text;
}

function statusBadge(code) {
  var s = STATUS[code] || STATUS[2];
  return el("span", "st st-" + s.key, s.icon + " " + s.label);
}

function stateBadge(code) {
  var name = D.states[code] || "";
  if (!name) return null;
  var b = el("span", "badge state-" + name, (STATE_ICONS[name] || "?") + " " + name);
  b.title = "cassette state: " + name;
  return b;
}

function diffBadge(d) {
  if (!d) return null;
  var x = DIFFS[d[X_CODE]];
  if (d[X_CODE] === 3 && !d[X_CHANGED]) return null;
  var frag = document.createDocumentFragment();
  if (d[X_CODE] !== 3) {
    var b = el("span", "dbadge d-" + x.key, x.icon + " " + x.label);
    b.title = "vs baseline: " + x.label;
    frag.appendChild(b);
  }
  if (d[X_CHANGED]) {
    var o = el("span", "dbadge d-output", "Δ output");
    o.title = "the output differs from the baseline";
    frag.appendChild(o);
  }
  return frag;
}

function caseId(row) { return D.cases[row.c][0]; }

function rowLabel(row) {
  return caseId(row) + (D.meta.repeats > 1 ? " #" + (row.r + 1) : "");
}

/* the first non-empty line of a cell's output; its tool calls or structured output when it has no text */
function outputLine(cell) {
  var det = cell[C_DETAIL] || {}, text = String(outputText(cell) || "").trim();
  if (!text && det.st !== undefined) text = JSON.stringify(det.st);
  if (!text && det.tc && det.tc.length) {
    text = det.tc.map(function (tc) { return "→ " + tc[0] + "(" + (typeof tc[1] === "string" ? tc[1] : JSON.stringify(tc[1])) + ")"; }).join(", ");
  }
  return text.split("\n")[0];
}

function clip(text, n) { return text.length > n ? text.slice(0, n - 1) + "…" : text; }

/* final output text of a cell: explicit output text, else the last assistant turn */
function outputText(cell) {
  var det = cell[C_DETAIL] || {};
  if (det.o !== undefined) return det.o;
  var turns = det.t || [];
  for (var i = turns.length - 1; i >= 0; i--) if (turns[i].r === "a") return turns[i].c || "";
  return "";
}
