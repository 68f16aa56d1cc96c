// The printing page: the number of kits follows the auditorium's seating
// plan, and the list of print jobs catches up after a download, which
// leaves the page where it is.
(function () {
  "use strict";
  var place = document.getElementById("kits-place");
  var count = document.getElementById("kits-count");
  if (place && count) {
    place.addEventListener("change", function () {
      var o = place.options[place.selectedIndex];
      var n = Number(o && o.getAttribute("data-kits"));
      count.value = n > 0 ? n : 1;
    });
  }
  function refreshJobs() {
    fetch("/print", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("printed");
        var old = document.getElementById("printed");
        if (fresh && old) old.replaceWith(fresh);
      })
      .catch(function () {});
  }
  Array.prototype.forEach.call(document.querySelectorAll("form[action^='/print/']"), function (f) {
    f.addEventListener("submit", function () {
      var err = document.getElementById("error");
      if (err) err.hidden = true;
      setTimeout(refreshJobs, 1500);
      setTimeout(refreshJobs, 5000);
    });
  });
})();
