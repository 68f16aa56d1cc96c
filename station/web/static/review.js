// Review queue and page viewer: focus the first value so that Enter
// confirms it, and zoom the page image.
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
})();
