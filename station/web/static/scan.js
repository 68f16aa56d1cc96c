// The scanning screen: start, continue and stop go to the server as form
// posts with the CSRF token; pages and device events arrive as
// server-sent events from /scan/events.
(function () {
  "use strict";
  var form = document.getElementById("scan-form");
  if (!form) return;
  var token = form.elements.csrf.value;
  var tbody = document.querySelector("#pages tbody");
  var state = document.getElementById("state");
  var alertBox = document.getElementById("alert");
  var log = document.getElementById("log");
  var count = document.getElementById("count");
  var btnStart = document.getElementById("start");
  var btnContinue = document.getElementById("continue");
  var btnStop = document.getElementById("stop");
  var rows = {};
  var audio = null;

  // beep plays a short tone: twice for a device event, once otherwise.
  function beep(times) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      for (var i = 0; i < times; i++) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        var at = audio.currentTime + i * 0.3;
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.2, at);
        gain.gain.exponentialRampToValueAtTime(0.001, at + 0.25);
        osc.connect(gain).connect(audio.destination);
        osc.start(at);
        osc.stop(at + 0.25);
      }
    } catch (e) { /* no sound on this computer: the message stays on screen */ }
  }

  // showAlert shows a message in the big box: a device event to act on
  // (fault), or the normal end of the stack (done), which is no warning.
  function showAlert(text, fault, done) {
    alertBox.textContent = text;
    alertBox.className = "msg alert" + (fault ? " fault" : "") + (done ? " done" : "");
    alertBox.hidden = false;
  }

  function note(text) {
    var li = document.createElement("li");
    li.textContent = text;
    log.insertBefore(li, log.firstChild);
  }

  function cell(tr, text) {
    var td = document.createElement("td");
    td.textContent = text || "";
    tr.appendChild(td);
    return td;
  }

  function pageRow(ev) {
    var tr = rows[ev.seq];
    if (!tr) {
      tr = document.createElement("tr");
      tr.id = "page-" + ev.seq;
      rows[ev.seq] = tr;
      tbody.insertBefore(tr, tbody.firstChild);
      count.textContent = "за сеанс: " + Object.keys(rows).length;
    }
    tr.textContent = "";
    tr.className = ev.kind === "read" ? "read" : "fresh";
    cell(tr, String(ev.seq));
    var img = document.createElement("img");
    img.src = ev.image;
    img.alt = "страница " + ev.seq;
    img.loading = "lazy";
    cell(tr, "").appendChild(img);
    cell(tr, ev.kind === "read" ? ev.type : "распознаётся…");
    cell(tr, ev.barcode).className = "barcode";
    cell(tr, ev.kit);
    var flags = cell(tr, "");
    (ev.flags || []).forEach(function (f) {
      var s = document.createElement("span");
      s.className = "flag";
      s.textContent = f;
      flags.appendChild(s);
    });
  }

  function running(on) {
    btnStart.disabled = on;
    btnStop.disabled = !on;
  }

  function handle(ev) {
    switch (ev.kind) {
      case "start":
        tbody.textContent = "";
        rows = {};
        log.textContent = "";
        count.textContent = "";
        alertBox.hidden = true;
        document.getElementById("misplaced").hidden = true;
        document.getElementById("misplaced-list").textContent = "";
        state.textContent = ev.text;
        running(true);
        break;
      case "page":
      case "read":
        pageRow(ev);
        break;
      case "fault":
        showAlert(ev.text, true);
        btnContinue.disabled = false;
        beep(2);
        break;
      case "resumed":
        alertBox.hidden = true;
        btnContinue.disabled = true;
        state.textContent = ev.text;
        break;
      case "foreign":
      case "duplicate":
        // A sheet that does not belong here: said while it is at hand, in
        // a list of its own, so a jam or the end of the stack still shows.
        var box = document.getElementById("misplaced");
        var li = document.createElement("li");
        li.textContent = ev.text;
        document.getElementById("misplaced-list").appendChild(li);
        box.hidden = false;
        beep(3);
        note(ev.text);
        break;
      case "empty":
        showAlert(ev.text, false, true);
        btnContinue.disabled = true;
        beep(1);
        break;
      case "end":
        state.textContent = ev.text;
        btnContinue.disabled = true;
        running(false);
        note(ev.text);
        break;
      default:
        note(ev.text);
    }
  }

  var source = new EventSource("/scan/events");
  source.onmessage = function (m) { handle(JSON.parse(m.data)); };

  // post sends one action; a refusal is shown as the server words it.
  function post(path) {
    var body = new URLSearchParams(new FormData(form));
    body.set("csrf", token);
    return fetch(path, { method: "POST", body: body, headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json().catch(function () { return { ok: r.ok, message: "Запрос отклонён (" + r.status + "): обновите страницу." }; }); })
      .then(function (a) { if (!a.ok) showAlert(a.message, true); })
      .catch(function () { showAlert("Станция не отвечает: проверьте сеть и обновите страницу.", true); });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var b = e.submitter || btnStart;
    // A button keeps no focus, so a later Space never presses it.
    if (e.submitter) e.submitter.blur();
    post(b.getAttribute("formaction") || form.getAttribute("action"));
  });

  // Space on a focused button must not press it besides continuing.
  document.addEventListener("keyup", function (e) {
    if (e.key === " " && e.target && e.target.tagName === "BUTTON") e.preventDefault();
  });

  // The keys work from the lists too, so that a scan is chosen and run
  // from the keyboard alone: Tab to a list, arrows to choose, S to start.
  // Space stays the list's own key there.
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    var t = e.target && e.target.tagName;
    if (t === "INPUT" || t === "TEXTAREA") return;
    if (t === "SELECT" && e.key === " ") return;
    if ((e.key === "s" || e.key === "S" || e.key === "ы" || e.key === "Ы") && !btnStart.disabled) {
      e.preventDefault();
      // Off the list: Space must now continue the scan, not open it.
      if (t === "SELECT") e.target.blur();
      post("/scan/start");
    } else if (e.key === " " && !btnContinue.disabled) {
      e.preventDefault();
      post("/scan/continue");
    } else if (e.key === "Escape" && !btnStop.disabled) {
      e.preventDefault();
      post("/scan/stop");
    }
  });
})();

// The scanners on offer follow what the station sees: a scanner plugged in
// or switched on appears within seconds, one unplugged disappears.
(function () {
  var select = document.getElementById("device");
  if (!select) return;
  function refresh() {
    fetch("/scan/devices", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (list) {
        if (!list) return;
        var chosen = select.value;
        var have = Array.prototype.map.call(select.options, function (o) { return o.value + "\u0000" + o.text; }).join("\n");
        var want = list.map(function (d) { return d.spec + "\u0000" + d.name; }).join("\n");
        if (have === want) return;
        var before = {};
        Array.prototype.forEach.call(select.options, function (o) { before[o.value] = o.text; });
        select.innerHTML = "";
        list.forEach(function (d) {
          var o = document.createElement("option");
          o.value = d.spec; o.textContent = d.name;
          if (d.spec === chosen) o.selected = true;
          select.appendChild(o);
          if (!(d.spec in before)) {
            var n = document.getElementById("device-note");
            if (n) n.textContent = "Подключён сканер: " + d.name;
          }
        });
        list.forEach(function (d) { delete before[d.spec]; });
        Object.keys(before).forEach(function (spec) {
          var n = document.getElementById("device-note");
          if (n) n.textContent = "Сканер отключён: " + before[spec];
        });
      })
      .catch(function () {});
  }
  setInterval(refresh, 3000);
})();

// How far the auditorium is — each blank type against what is expected —
// and the pace of this run: pages, time, pages a second.
(function () {
  var place = document.getElementById("place");
  var box = document.getElementById("progress");
  if (!place || !box) return;
  var started = 0, pages = 0;
  var source = new EventSource("/scan/events");
  source.onmessage = function (m) {
    var ev = JSON.parse(m.data);
    if (ev.kind === "start") { started = Date.now(); pages = 0; }
    if (ev.kind === "page") pages++;
    if (ev.kind === "end") started = 0;
  };
  function pace() {
    if (!started) return "";
    var s = Math.max(1, Math.round((Date.now() - started) / 1000));
    var mm = Math.floor(s / 60), ss = s % 60;
    return "Страниц за этот запуск: " + pages + " за " + mm + ":" + (ss < 10 ? "0" : "") + ss +
      " (" + (pages / s).toFixed(1).replace(".", ",") + " стр./с). ";
  }
  function refresh() {
    if (!place.value) return;
    fetch("/scan/progress?place=" + encodeURIComponent(place.value), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) return;
        box.textContent = pace() + p.rows.map(function (r) { return r.name + ": " + r.label; }).join(" · ") + " — " + p.basis;
      })
      .catch(function () {});
  }
  place.addEventListener("change", refresh);
  refresh();
  setInterval(refresh, 2000);
})();

// The readiness check of the chosen scanner: the calibration sheet in its
// feeder is scanned and measured, and the protocol comes back to print
// and sign.
(function () {
  "use strict";
  var btn = document.getElementById("readiness-check");
  var box = document.getElementById("readiness-result");
  var device = document.getElementById("device");
  if (!btn || !box || !device) return;
  var busy = false;
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function show(a) {
    box.textContent = "";
    box.hidden = false;
    box.className = "msg " + (a.ok ? (a.ready ? "ok" : "err") : "err");
    box.appendChild(el("p", a.message, "verdict"));
    if (!a.ok) return;
    var t = el("table", "", "criteria");
    var head = el("tr");
    ["Показатель", "Измерено", "Норма", "Итог"].forEach(function (h) { head.appendChild(el("th", h)); });
    t.appendChild(head);
    (a.criteria || []).forEach(function (c) {
      var tr = el("tr", "", c.pass ? "pass" : "fail");
      tr.appendChild(el("td", c.name));
      tr.appendChild(el("td", c.value));
      tr.appendChild(el("td", c.limit));
      tr.appendChild(el("td", c.pass ? "норма" : "не норма: " + (c.explain || "")));
      t.appendChild(tr);
    });
    box.appendChild(t);
    var p = el("p");
    var link = el("a", "Протокол проверки (PDF) — распечатайте и подпишите");
    link.href = a.protocol;
    link.id = "readiness-protocol";
    link.target = "_blank";
    p.appendChild(link);
    box.appendChild(p);
  }
  function run() {
    if (busy) return;
    busy = true;
    btn.disabled = true;
    box.hidden = false;
    box.className = "msg info";
    box.textContent = "Идёт проверка: сканируется калибровочный лист…";
    var body = new URLSearchParams({ csrf: btn.getAttribute("data-csrf"), device: device.value });
    fetch("/scan/readiness", { method: "POST", body: body, headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json().catch(function () { return { ok: false, message: "Запрос отклонён (" + r.status + "): обновите страницу." }; }); })
      .then(show)
      .catch(function () { show({ ok: false, message: "Станция не отвечает: проверьте сеть и обновите страницу." }); })
      .then(function () { busy = false; btn.disabled = false; });
  }
  btn.addEventListener("click", function () { btn.blur(); run(); });
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    var t = e.target && e.target.tagName;
    if (t === "INPUT" || t === "TEXTAREA") return;
    if (e.key === "r" || e.key === "R" || e.key === "к" || e.key === "К") {
      var start = document.getElementById("start");
      if (start && start.disabled) return; // a scan is running on the device
      e.preventDefault();
      run();
    }
  });
})();
