// Shared by the desk and the wallboard: one EventSource, resumed by the browser itself
// (Last-Event-ID); a snapshot (first connect, or after the server dropped a slow page)
// redraws everything.
"use strict";
window.Desk = (function () {
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function row(cells) {
    var tr = el("tr");
    cells.forEach(function (c) { var td = el("td"); if (c instanceof Node) { td.appendChild(c); } else { td.textContent = c === null || c === undefined ? "-" : String(c); } tr.appendChild(td); });
    return tr;
  }
  function secs(s) {
    if (s === null || s === undefined) { return "-"; }
    s = Math.max(0, Math.round(s));
    var m = Math.floor(s / 60);
    return m ? m + " mnt " + (s % 60) + " dtk" : s + " dtk";
  }
  function connect(handlers) {
    var link = document.getElementById("link");
    var src = new EventSource("/desk/events");
    window.deskEvents = [];
    function on(kind) {
      src.addEventListener(kind, function (ev) {
        var data = JSON.parse(ev.data);
        window.deskEvents.push({kind: kind, id: ev.lastEventId, received: Date.now() / 1000, at: data.at});
        if (window.deskEvents.length > 500) { window.deskEvents.shift(); }
        if (handlers[kind]) { handlers[kind](data); }
      });
    }
    ["snapshot", "board", "pop", "ticket", "callback", "wrapup", "alert"].forEach(on);
    src.onopen = function () { link.textContent = "Tersambung"; link.dataset.state = "open"; };
    src.onerror = function () { link.textContent = "Sambungan terputus, menyambung ulang..."; link.dataset.state = "retry"; };
    return src;
  }
  function csrf() { var m = document.getElementById("csrf"); return m ? m.getAttribute("content") : ""; }
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
                       headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()},
                       body: JSON.stringify(body || {})})
      .then(function (r) { return r.json().then(function (j) { j._status = r.status; return j; }); });
  }
  return {el: el, clear: clear, row: row, secs: secs, connect: connect, post: post};
})();
