// Column sorting for tables with class "sortable". Cells carry data-sort values; empty sorts last.
(function () {
  function key(cell, numeric) {
    const raw = cell.getAttribute("data-sort");
    const text = raw === null ? cell.textContent.trim() : raw;
    if (!numeric) return text.toLowerCase();
    const value = parseFloat(text);
    return Number.isNaN(value) ? null : value;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    const headers = Array.from(table.tHead.rows[0].cells);
    headers.forEach(function (th, index) {
      th.tabIndex = 0;
      function sort() {
        const numeric = th.getAttribute("data-type") === "num";
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort(function (a, b) {
          const x = key(a.cells[index], numeric), y = key(b.cells[index], numeric);
          if (x === null && y === null) return 0;
          if (x === null) return 1;
          if (y === null) return -1;
          return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
        });
        rows.forEach(function (row) { body.appendChild(row); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
  });
})();
