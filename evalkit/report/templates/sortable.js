// Progressive enhancement: click a column header of a table.sortable to sort it.
// Reads cells with textContent / data-sort / data-value only; never writes HTML.
// Numbers sort numerically, before text; empty figures (n/a) stay last in both directions.
(function () {
  function key(cell) {
    var sortKey = cell.getAttribute('data-sort');
    if (sortKey !== null) return sortKey.toLowerCase();
    var fig = cell.querySelector('[data-value]');
    var raw = cell.getAttribute('data-value');
    if (raw === null && fig) raw = fig.getAttribute('data-value');
    if (raw !== null) return (raw !== '' && !isNaN(Number(raw))) ? Number(raw) : null;
    return cell.textContent.trim().toLowerCase();
  }
  function compare(x, y) {
    if (typeof x !== typeof y) return typeof x === 'number' ? -1 : 1;
    return x > y ? 1 : x < y ? -1 : 0;
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('thead th').forEach(function (th, col) {
      th.tabIndex = 0;
      th.title = 'sort by this column';
      var dir = 1;
      function sort() {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          if (x === null || y === null) return (x === null) - (y === null);
          return compare(x, y) * dir;
        });
        rows.forEach(function (r) { body.appendChild(r); });
        table.querySelectorAll('thead th').forEach(function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
        dir = -dir;
      }
      th.addEventListener('click', sort);
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter') sort(); });
    });
  });
})();
