// Script editor: CodeMirror 5 (YAML mode) with errors marked on their lines as the admin
// types (debounced POST to the server's validation; messages in Indonesian).
(function () {
  "use strict";
  var area = document.getElementById("yaml");
  if (!area || !window.CodeMirror) { return; }
  var csrf = document.getElementById("csrf").value;
  var problems = document.getElementById("problems");
  var url = area.getAttribute("data-validate");
  var timer = null, seq = 0, marked = [];
  var cm = window.CodeMirror.fromTextArea(area, {mode: "yaml", lineNumbers: true, indentUnit: 2,
    tabSize: 2, extraKeys: {Tab: function (c) { c.replaceSelection("  "); }}, gutters: ["CodeMirror-lint-markers", "CodeMirror-linenumbers"]});
  function show(result) {
    marked.forEach(function (h) { cm.removeLineClass(h, "background", "line-error"); cm.setGutterMarker(h, "CodeMirror-lint-markers", null); });
    marked = [];
    while (problems.firstChild) { problems.removeChild(problems.firstChild); }
    var status = document.createElement("p");
    status.id = "validity";
    status.className = result.ok ? "ok" : "bad";
    status.textContent = result.ok ? "Skrip valid." : "Skrip belum valid: " + result.issues.length + " kesalahan.";
    problems.appendChild(status);
    var list = document.createElement("ul");
    result.issues.forEach(function (i) {
      var line = Math.max(0, Math.min(cm.lineCount() - 1, (i.line || 1) - 1));
      var h = cm.getLineHandle(line);
      cm.addLineClass(h, "background", "line-error");
      var mark = document.createElement("span");
      mark.className = "CodeMirror-lint-marker-error";
      mark.title = i.message;
      cm.setGutterMarker(h, "CodeMirror-lint-markers", mark);
      marked.push(h);
      var li = document.createElement("li");
      li.textContent = "Baris " + (i.line || "?") + ": " + i.message;
      li.addEventListener("click", function () { cm.setCursor({line: line, ch: 0}); cm.focus(); });
      list.appendChild(li);
    });
    problems.appendChild(list);
  }
  function check() {
    var mine = ++seq;
    fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({yaml: cm.getValue()})})
      .then(function (r) { return r.json(); })
      .then(function (result) { if (mine === seq && result.issues) { show(result); } })
      .catch(function () { /* the next keystroke tries again */ });
  }
  cm.on("change", function () { clearTimeout(timer); timer = setTimeout(check, 400); });
  document.getElementById("editor-form").addEventListener("submit", function () { cm.save(); });
  window.scriptEditor = cm;
  check();
})();
