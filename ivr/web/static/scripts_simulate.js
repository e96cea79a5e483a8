// Script simulator: chat with a version (typed text, keypad), see state, intent, confidence
// and slots per turn, and hear each prompt from the real TTS.
(function () {
  "use strict";
  var box = document.getElementById("sim");
  if (!box) { return; }
  var url = box.getAttribute("data-url"), csrf = box.getAttribute("data-csrf");
  var audio = box.getAttribute("data-audio") === "1";
  var rows = document.querySelector("#turns tbody");
  var sim = null, queue = [], playing = null;
  function playNext() {
    if (playing || !queue.length) { return; }
    playing = new Audio("/admin/scripts/audio?text=" + encodeURIComponent(queue.shift()));
    playing.onended = playing.onerror = function () { playing = null; playNext(); };
    playing.play().catch(function () { playing = null; });
  }
  function cell(tr, text, cls) { var td = document.createElement("td"); td.textContent = text; if (cls) { td.className = cls; } tr.appendChild(td); }
  function send(body, caller) {
    body.sim = sim;
    fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify(body)})
      .then(function (r) { return r.json(); })
      .then(function (t) {
        var tr = document.createElement("tr");
        tr.className = "turn";
        if (t.error) { cell(tr, caller); cell(tr, t.error, "bad"); rows.appendChild(tr); return; }
        sim = t.sim;
        var says = t.actions.filter(function (a) { return a.type === "say"; }).map(function (a) { return a.text; });
        var other = t.actions.filter(function (a) { return a.type !== "say" && a.type !== "listen"; })
          .map(function (a) { return "[" + a.type + (a.queue ? " " + a.queue : "") + (a.reason ? " " + a.reason : "") + "]"; });
        cell(tr, caller);
        cell(tr, says.concat(other).join(" "), "system");
        cell(tr, t.state + " (" + t.phase + ")", "state");
        cell(tr, t.intent || "-", "intent");
        cell(tr, t.confidence === null ? "-" : String(t.confidence), "confidence");
        cell(tr, JSON.stringify(t.slots), "slots");
        rows.appendChild(tr);
        if (audio) { says.forEach(function (s) { queue.push(s); }); playNext(); }
      });
  }
  document.getElementById("sim-start").addEventListener("click", function () { sim = null; send({}, "(panggilan masuk)"); });
  document.getElementById("sim-say").addEventListener("submit", function (e) {
    e.preventDefault();
    var input = document.getElementById("sim-text");
    if (input.value.trim()) { send({say: input.value}, input.value); input.value = ""; }
  });
  Array.prototype.forEach.call(document.querySelectorAll("#keypad .key"), function (b) {
    b.addEventListener("click", function () { send({press: b.getAttribute("data-key")}, "tombol " + b.getAttribute("data-key")); });
  });
  document.getElementById("sim-silence").addEventListener("click", function () { send({no_input: true}, "(diam)"); });
  var route = document.getElementById("route");
  route.addEventListener("submit", function (e) {
    e.preventDefault();
    var out = document.getElementById("route-result");
    out.textContent = "Mengenali...";
    fetch(route.getAttribute("data-url"), {method: "POST", credentials: "same-origin", body: new FormData(route)})
      .then(function (r) { return r.json(); })
      .then(function (res) { out.textContent = res.error ? res.error : JSON.stringify(res, null, 2); });
  });
})();
