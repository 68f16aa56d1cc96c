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

  // sameName tells whether two nodes are the same kind of node.
  function sameName(a, b) { return a.nodeType === b.nodeType && a.nodeName === b.nodeName; }
  // attrs makes el's attributes those of fresh.
  function attrs(el, fresh) {
    var i;
    for (i = el.attributes.length - 1; i >= 0; i--) {
      if (!fresh.hasAttribute(el.attributes[i].name)) el.removeAttribute(el.attributes[i].name);
    }
    for (i = 0; i < fresh.attributes.length; i++) {
      var a = fresh.attributes[i];
      if (el.getAttribute(a.name) !== a.value) el.setAttribute(a.name, a.value);
    }
  }
  // morph makes el's content that of fresh while keeping every node that
  // is still there: a link the operator is clicking is never swapped for
  // a copy under the pointer, which would lose the click.
  function morph(el, fresh) {
    var old = Array.prototype.slice.call(el.childNodes);
    var now = Array.prototype.slice.call(fresh.childNodes);
    for (var i = 0; i < now.length; i++) {
      var o = old[i], n = now[i];
      if (!o) {
        el.appendChild(n);
      } else if (!sameName(o, n)) {
        el.replaceChild(n, o);
      } else if (o.nodeType === 1) {
        attrs(o, n);
        morph(o, n);
      } else if (o.nodeValue !== n.nodeValue) {
        o.nodeValue = n.nodeValue;
      }
    }
    for (var j = now.length; j < old.length; j++) el.removeChild(old[j]);
  }

  if (!window.EventSource) return;
  var source = new EventSource("/board/events");
  source.addEventListener("board", function (m) {
    var u = JSON.parse(m.data);
    offset = u.now - Date.now();
    var fresh = document.createElement("div");
    fresh.innerHTML = u.html;
    morph(board, fresh);
    tick();
    if (state) state.textContent = "Страница обновляется сама, без перезагрузки.";
  });
  source.onerror = function () {
    if (state) state.textContent = "Нет связи со станцией: данные могут быть устаревшими; страница переподключится сама.";
  };
})();
