// Counts down to each ППЭ's upload limit once a second; the page itself
// is rendered on the server and works without this script.
(function () {
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function clock(s) {
    var d = Math.floor(s / 86400); s %= 86400;
    var t = Math.floor(s / 3600) + ":" + two(Math.floor(s / 60) % 60) + ":" + two(s % 60);
    return d > 0 ? d + " дн. " + t : t;
  }
  function tick() {
    var els = document.querySelectorAll("[data-deadline]");
    for (var i = 0; i < els.length; i++) {
      var left = Math.floor((Number(els[i].getAttribute("data-deadline")) - Date.now()) / 1000);
      var out = els[i].querySelector(".left");
      if (left >= 0) {
        out.textContent = "осталось " + clock(left);
      } else {
        out.textContent = "срок истёк " + clock(-left) + " назад";
        els[i].classList.add("bad");
      }
    }
  }
  setInterval(tick, 1000);
})();
