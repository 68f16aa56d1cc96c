// Review queue, page viewer and ППЭ-13-02-МАШ: focus the first value so
// that Enter confirms it, zoom the page image, and place each form input
// under its field in the row's image strip (positions come from the
// template, in percent of the strip; without the script the inputs stay
// in a plain line, still usable).
(function () {
  var first = document.querySelector('.value-input');
  if (first) { first.focus(); }
  var sheet = document.getElementById('sheet');
  document.querySelectorAll('button.zoom').forEach(function (b) {
    b.addEventListener('click', function () {
      if (!sheet) { return; }
      sheet.classList.remove('zoom-150', 'zoom-200');
      var z = b.getAttribute('data-zoom');
      if (z === '1.5') { sheet.classList.add('zoom-150'); }
      if (z === '2') { sheet.classList.add('zoom-200'); }
    });
  });
  document.querySelectorAll('.strip-inputs, .strip-names').forEach(function (row) {
    var placed = false;
    row.querySelectorAll('.place').forEach(function (el) {
      var l = el.getAttribute('data-left'), w = el.getAttribute('data-width');
      if (!l || !w) { return; }
      el.style.left = l;
      el.style.width = w;
      placed = true;
    });
    if (placed) { row.classList.add('placed'); }
  });
  // The Russian file picker names the chosen file.
  document.querySelectorAll('label.file input[type=file]').forEach(function (input) {
    input.addEventListener('change', function () {
      var name = input.parentNode.querySelector('.file-name');
      if (name) { name.textContent = input.files.length ? input.files[0].name : 'файл не выбран'; }
    });
  });
  // The strip's height follows its crop, so the image is not stretched.
  document.querySelectorAll('svg.row-crop').forEach(function (svg) {
    var vb = (svg.getAttribute('viewBox') || '').split(/\s+/).map(Number);
    if (vb.length === 4 && vb[2] > 0 && vb[3] > 0) { svg.style.aspectRatio = vb[2] + ' / ' + vb[3]; }
  });
})();
