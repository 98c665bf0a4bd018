// The board's only script: sort, search, filter, compare and "show all" for the table, and a tap
// on a chart point shows its figures. No framework, nothing fetched; text only via textContent.
(function () {
  "use strict";
  var table = document.getElementById("board");
  var showAll = false;

  // Cells are sorted on what they show: the leading number ("1,450", "9.7e-05 est.") or the text.
  function sortKey(cell, numeric) {
    var text = cell.textContent.trim();
    if (!numeric) return text.toLowerCase();
    var value = parseFloat(text.replace(/,/g, ""));
    return Number.isNaN(value) ? null : value;
  }

  function sortBy(th, index) {
    var better = th.getAttribute("data-better");
    var current = th.getAttribute("aria-sort");
    var bestFirst = better === "low" ? "ascending" : "descending";
    if (!better) bestFirst = "ascending";
    var order = current === bestFirst ? (bestFirst === "ascending" ? "descending" : "ascending") : bestFirst;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", order);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var numeric = Boolean(better);
    var sign = order === "ascending" ? 1 : -1;
    rows.sort(function (a, b) {
      var x = sortKey(a.cells[index], numeric), y = sortKey(b.cells[index], numeric);
      if (x === null && y === null) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * sign;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    filter();
  }

  function checked(id) { var box = document.getElementById(id); return Boolean(box && box.checked); }

  function filter() {
    var query = (document.getElementById("search") || { value: "" }).value.trim().toLowerCase();
    var shown = 0, matched = 0;
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var ok = (!query || row.cells[0].textContent.toLowerCase().indexOf(query) !== -1) &&
        (!checked("f-front") || row.hasAttribute("data-front")) &&
        (!checked("f-baseline") || !row.hasAttribute("data-baseline")) &&
        (!checked("f-measured") || row.hasAttribute("data-measured"));
      if (ok) matched += 1;
      var visible = ok && (showAll || matched <= 200);
      row.hidden = !visible;
      if (visible) shown += 1;
    });
    var count = document.getElementById("count");
    if (count) count.textContent = shown + " of " + matched + " matching rows shown";
  }

  function compare() {
    var picked = Array.prototype.filter.call(table.tBodies[0].rows, function (row) {
      return row.querySelector("input.cmp").checked;
    });
    var panel = document.getElementById("comparison");
    panel.textContent = "";
    var out = document.createElement("table");
    out.className = "compare";
    var heads = table.tHead.rows[0].cells;
    for (var c = 0; c < heads.length; c += 1) {
      var tr = document.createElement("tr");
      var th = document.createElement("th");
      th.textContent = heads[c].textContent;
      tr.appendChild(th);
      picked.forEach(function (row) {
        var td = document.createElement("td");
        td.textContent = row.cells[c].textContent.trim();
        tr.appendChild(td);
      });
      out.appendChild(tr);
    }
    panel.appendChild(out);
    panel.hidden = false;
  }

  function onPick() {
    var n = table.querySelectorAll("input.cmp:checked").length;
    document.getElementById("compare").disabled = n < 2 || n > 4;
  }

  if (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      var button = th.querySelector("button");
      if (button) button.addEventListener("click", function () { sortBy(th, index); });
    });
    ["search", "f-front", "f-baseline", "f-measured"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) el.addEventListener("input", filter);
      if (el) el.addEventListener("change", filter);
    });
    table.addEventListener("change", function (e) { if (e.target.classList.contains("cmp")) onPick(); });
    var cmp = document.getElementById("compare");
    if (cmp) cmp.addEventListener("click", compare);
    var all = document.getElementById("showall");
    if (all) all.addEventListener("click", function () { showAll = true; all.hidden = true; filter(); });
    filter();
  }

  // A tap (or click) on a chart point shows its figures under the chart, with a link to its run.
  document.querySelectorAll("svg.pareto").forEach(function (svg) {
    svg.addEventListener("click", function (e) {
      var pt = e.target.closest ? e.target.closest(".pt") : null;
      var tip = svg.parentNode.querySelector(".tip");
      if (!pt || !tip) return;
      var title = pt.querySelector("title");
      tip.textContent = title ? title.textContent + " " : "";
      var href = pt.getAttribute("data-href");
      if (href && /^entry-[a-z0-9._-]+\.html#[a-z0-9._-]+$/.test(href)) {
        var a = document.createElement("a");
        a.href = href;
        a.textContent = "open the run";
        tip.appendChild(a);
      }
      tip.hidden = false;
    });
  });
})();
