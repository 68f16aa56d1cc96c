// The live board: the server sends the whole board again whenever it
// changes (server-sent events from /board/events), and each ППЭ's upload
// limit counts down once a second by the station's clock, not the
// browser's, which may be set wrong. The page is rendered on the server
// and works without this script.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) return;
  var state = document.getElementById("live-state");
  // offset turns the browser's clock into the station's.
  var offset = Number(board.getAttribute("data-now")) - Date.now();
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function clock(s) {
    var d = Math.floor(s / 86400); s %= 86400;
    var t = Math.floor(s / 3600) + ":" + two(Math.floor(s / 60) % 60) + ":" + two(s % 60);
    return d > 0 ? d + " дн. " + t : t;
  }
  function tick() {
    var now = Date.now() + offset;
    var els = board.querySelectorAll("[data-deadline]");
    for (var i = 0; i < els.length; i++) {
      var left = Math.floor((Number(els[i].getAttribute("data-deadline")) - now) / 1000);
      var out = els[i].querySelector(".left");
      if (left >= 0) {
        out.textContent = "осталось " + clock(left);
        els[i].classList.remove("bad");
      } else {
        out.textContent = "срок истёк " + clock(-left) + " назад";
        els[i].classList.add("bad");
      }
    }
  }
  setInterval(tick, 1000);
  tick();

  if (!window.EventSource) return;
  var source = new EventSource("/board/events");
  source.addEventListener("board", function (m) {
    var u = JSON.parse(m.data);
    offset = u.now - Date.now();
    board.innerHTML = u.html;
    tick();
    if (state) state.textContent = "Страница обновляется сама, без перезагрузки.";
  });
  source.onerror = function () {
    if (state) state.textContent = "Нет связи со станцией: данные могут быть устаревшими; страница переподключится сама.";
  };
})();
