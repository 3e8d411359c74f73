/* report.js — wiring: filters, sorting, pagination, grid clicks, detail drawer; marks the page ready. */

function byId(id) { return document.getElementById(id); }

var refreshTimer = null;
function refresh(resetPage) {
  if (resetPage) ST.page = 0;
  applyFilters();
  renderBody();
}

function debounced() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(function () { refresh(true); }, 120);
}

function bindSelect(id, key) {
  var s = byId(id);
  if (!s) return;
  s.addEventListener("change", function () { ST[key] = s.value; refresh(true); });
}

function setDirLabel() {
  var b = byId("f-dir");
  b.textContent = ST.desc ? "↓ desc" : "↑ asc";
  b.setAttribute("aria-label", "Sort direction: " + (ST.desc ? "descending" : "ascending"));
}

function init() {
  byId("f-q").addEventListener("input", function (ev) { ST.q = ev.target.value; debounced(); });
  byId("filters").addEventListener("submit", function (ev) { ev.preventDefault(); });
  bindSelect("f-status", "status");
  bindSelect("f-tag", "tag");
  bindSelect("f-atype", "atype");
  bindSelect("f-diff", "diff");
  var sortSel = byId("f-sort");
  sortSel.addEventListener("change", function () {
    ST.sort = sortSel.value;
    ST.desc = sortSel.value !== "order" && sortSel.value !== "case";
    setDirLabel();
    refresh(true);
  });
  ST.desc = false;
  setDirLabel();
  byId("f-dir").addEventListener("click", function () { ST.desc = !ST.desc; setDirLabel(); refresh(true); });
  var boxes = document.querySelectorAll(".f-model");
  for (var i = 0; i < boxes.length; i++) {
    boxes[i].addEventListener("change", function (ev) {
      var m = +ev.target.value;
      ST.models[m] = ev.target.checked;
      if (!visibleModels().length) { ST.models[m] = true; ev.target.checked = true; }
      refresh(true);
    });
  }
  var showChanges = byId("show-changes");
  if (showChanges) showChanges.addEventListener("click", function () {
    var sel = byId("f-diff");
    sel.value = ST.diff = "changes";
    refresh(true);
    byId("results").scrollIntoView({ block: "start" });
    sel.focus();
  });
  byId("p-first").addEventListener("click", function () { goPage(0); });
  byId("p-prev").addEventListener("click", function () { goPage(ST.page - 1); });
  byId("p-next").addEventListener("click", function () { goPage(ST.page + 1); });
  byId("p-last").addEventListener("click", function () { goPage(1e9); });
  byId("p-size").addEventListener("change", function (ev) { ST.size = +ev.target.value; refresh(true); });

  var body = byId("matrix-body");
  body.addEventListener("click", function (ev) {
    var t = ev.target.closest("td.cell, th.case");
    if (t && !t.classList.contains("missing") && t.parentNode.dataset.row !== undefined) openFromGrid(t);
  });
  body.addEventListener("keydown", onGridKey);
  body.addEventListener("focusin", function (ev) {
    var t = ev.target.closest("td, th");
    if (!t || t.parentNode.dataset.row === undefined) return;
    FOCUS.row = t.parentNode.sectionRowIndex; FOCUS.col = t.cellIndex;
    if (t.tabIndex !== 0) setRoving(false);
  });

  var panel = byId("detail");
  panel.addEventListener("keydown", onDetailKey);
  panel.addEventListener("keydown", trapFocus);
  byId("d-close").addEventListener("click", closeDetail);
  byId("d-prev").addEventListener("click", function () { stepDetail(-1); });
  byId("d-next").addEventListener("click", function () { stepDetail(1); });
  byId("scrim").addEventListener("click", closeDetail);

  refresh(true);
  document.body.dataset.ready = "1";
  window.__reportReadyMs = performance.now();
}

init();
