// The delivery page follows the uploads without reloading: it polls the
// status every two seconds, updates the rows, and shows the rate and the
// time left from the bytes the РЦОИ confirmed over the last half minute.
(function () {
  "use strict";
  var box = document.getElementById("delivery");
  if (!box) return;
  var url = box.getAttribute("data-status");
  var samples = []; // [time ms, bytes done]
  function size(n) {
    if (n < 1024) return n + " Б";
    var u = ["КБ", "МБ", "ГБ"], i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
    return (Math.round(n * 10) / 10).toString().replace(".", ",") + " " + u[i];
  }
  function duration(s) {
    s = Math.ceil(s);
    if (s < 60) return s + " с";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " мин " + (s % 60) + " с";
    return Math.floor(m / 60) + " ч " + (m % 60) + " мин";
  }
  function set(el, text) { if (el && el.textContent !== text) el.textContent = text; }
  function tick() {
    fetch(url, {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    }).then(function (st) {
      set(document.getElementById("ppe-state"), st.state);
      set(document.getElementById("done"), size(st.done));
      set(document.getElementById("all"), size(st.total));
      var now = Date.now();
      samples.push([now, st.done]);
      while (samples.length > 2 && now - samples[0][0] > 30000) samples.shift();
      var rate = "";
      if (st.done < st.total && samples.length > 1) {
        var dt = (now - samples[0][0]) / 1000, db = st.done - samples[0][1];
        if (db > 0 && dt > 0) {
          var bps = db / dt;
          rate = "Скорость " + size(bps) + "/с, осталось около " + duration((st.total - st.done) / bps) + ".";
        } else {
          rate = "Передача не идёт: станция повторит попытку сама.";
        }
      } else if (st.total > 0 && st.done >= st.total) {
        rate = "Всё передано.";
      }
      set(document.getElementById("rate"), rate);
      var known = {};
      document.querySelectorAll("#packages tr[data-name]").forEach(function (tr) { known[tr.getAttribute("data-name")] = tr; });
      var missing = false;
      st.rows.forEach(function (row) {
        var tr = known[row.name];
        if (!tr) { missing = true; return; }
        tr.querySelector("progress").value = row.progress;
        set(tr.querySelector(".pct"), row.progress + "%");
        set(tr.querySelector(".attempts"), String(row.attempts));
        set(tr.querySelector(".state"), row.state);
        set(tr.querySelector(".received"), row.received);
      });
      // A package sealed since the page was drawn: draw it again, unless
      // someone is choosing a medium.
      if (missing && !document.activeElement.closest("form")) location.reload();
    }).catch(function () {
      set(document.getElementById("rate"), "Станция не отвечает: проверьте, что служба станции запущена.");
    });
  }
  setInterval(tick, 2000);
  tick();
})();
