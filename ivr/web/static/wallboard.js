// The supervisors' wallboard: live calls by dialog state, queues, agents, today's figures, alerts.
"use strict";
(function () {
  var D = window.Desk;
  function $(id) { return document.getElementById(id); }
  var last = null;
  var extraAlerts = [];

  function empty(tbody, text, cols) {
    // an empty table says so, rather than standing blank
    var tr = D.row([text]); tr.cells[0].colSpan = cols; tr.className = "empty";
    tbody.appendChild(tr);
  }

  function draw(b) {
    last = b;
    var skew = Date.now() / 1000 - b.now;
    $("calls-dialog").textContent = b.calls.in_dialog;
    $("calls-waiting").textContent = b.calls.waiting;
    $("calls-agent").textContent = b.calls.with_agent;
    var ds = $("dialog-states").tBodies[0]; D.clear(ds);
    // the steps in staff words (the server labels the states from the live script)
    (b.calls.by_step || []).forEach(function (s) { ds.appendChild(D.row([s.label, s.calls])); });
    if (!ds.rows.length) { empty(ds, "Tidak ada panggilan dalam dialog saat ini.", 2); }
    var qs = $("queues").tBodies[0]; D.clear(qs);
    (b.queues || []).forEach(function (q) {
      var tr = D.row([q.queue, q.waiting, q.waiting ? Math.round(q.longest_wait_s) : 0, q.logged_in, q.available]);
      tr.dataset.queue = q.queue;
      qs.appendChild(tr);
    });
    var by = b.agents_by_state || {};
    $("agents-by-state").textContent = "Siap " + (by.available || 0) + " · Melayani " + (by.in_call || 0) +
      " · Berdering " + (by.ringing || 0) + " · Istirahat " + (by.paused || 0) + " · Tidak tersedia " + (by.unavailable || 0);
    var ag = $("agents").tBodies[0]; D.clear(ag);
    (b.agents || []).forEach(function (a) {
      var tr = D.row([a.username || a.name, a.label + (a.reason ? " (" + a.reason + ")" : ""),
                      a.since ? D.secs(b.now - a.since) : "-", a.answered_today, D.secs(a.talk_s_today)]);
      tr.dataset.agent = a.username || a.name; tr.dataset.state = a.state;
      ag.appendChild(tr);
    });
    if (!ag.rows.length) { empty(ag, "Belum ada petugas yang masuk antrean.", 5); }
    var f = b.figures || {};
    $("f-calls").textContent = f.calls === undefined ? "-" : f.calls;
    $("f-self").textContent = f.self_service === undefined ? "-" : f.self_service + (f.self_service_rate !== null && f.self_service_rate !== undefined ? " (" + Math.round(f.self_service_rate * 100) + "%)" : "");
    $("f-transfers").textContent = f.transfers === undefined ? "-" : f.transfers;
    $("f-abandoned").textContent = f.abandoned === undefined ? "-" : f.abandoned;
    $("f-wait").textContent = (f.avg_wait_s === null || f.avg_wait_s === undefined ? "-" : f.avg_wait_s + " dtk") + " / " + (f.longest_wait_s === null || f.longest_wait_s === undefined ? "-" : f.longest_wait_s + " dtk");
    $("f-sl").textContent = f.answered_within_20s === undefined ? "-" : f.answered_within_20s + " dari " + f.answered;
    $("f-complaints").textContent = f.complaints_filed === undefined ? "-" : f.complaints_filed;
    $("f-overdue").textContent = f.overdue === undefined ? "-" : f.overdue;
    var al = $("alerts"); D.clear(al);
    (b.alerts || []).concat(extraAlerts).forEach(function (a) { al.appendChild(D.el("li", a.text, a.level)); });
    void skew;
  }
  D.connect({
    snapshot: function (s) { draw(s.board); },
    board: draw,
    alert: function (a) { extraAlerts.push(a); if (extraAlerts.length > 5) { extraAlerts.shift(); } if (last) { draw(last); } }
  });
})();
