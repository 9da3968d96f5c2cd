// Progressive enhancement: click a column header of a table.sortable to sort it.
// Reads cells with textContent / data-value only; never writes HTML.
(function () {
  function key(cell) {
    var fig = cell.querySelector('[data-value]');
    var raw = cell.getAttribute('data-value') || (fig ? fig.getAttribute('data-value') : null);
    if (raw !== null && raw !== '' && !isNaN(Number(raw))) return Number(raw);
    return cell.textContent.trim().toLowerCase();
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
          return (x > y ? 1 : x < y ? -1 : 0) * dir;
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
