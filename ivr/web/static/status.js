// The status page (/service): refresh the figures from /status every 5 seconds.
// Elements with data-field="<key>" show that key of the JSON; data-labels maps values to words.
(function () {
  "use strict";
  var root = document.getElementById("status");
  if (!root) { return; }
  var source = root.getAttribute("data-source") || "/status";

  function show(data) {
    document.querySelectorAll("[data-field]").forEach(function (el) {
      var key = el.getAttribute("data-field");
      if (key === "refreshed") {
        el.textContent = "Terakhir: " + new Date().toLocaleTimeString("id-ID");
        return;
      }
      if (!(key in data)) { return; }
      var value = data[key] === null || data[key] === undefined ? "" : String(data[key]);
      var labels = el.getAttribute("data-labels");
      if (labels) {
        var map = JSON.parse(labels);
        if (value in map) { value = map[value]; }
      }
      el.textContent = value;
    });
    root.classList.toggle("degraded", data.status !== "ok");
  }

  function refresh() {
    fetch(source, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(show)
      .catch(function () { root.classList.add("degraded"); });
  }

  refresh();
  setInterval(refresh, 5000);
}());
