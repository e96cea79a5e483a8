// The agent's desk: screen pop, ticket, wrap-up, queue login/pause, callbacks.
"use strict";
(function () {
  var D = window.Desk;
  var me = document.getElementById("me").textContent;
  var current = null;

  function $(id) { return document.getElementById(id); }
  function say(id, text) { $(id).textContent = text || ""; }

  function drawBoard(b) {
    $("ami-status").hidden = !!b.ami;
    var mine = (b.agents || []).filter(function (a) { return a.username === me || a.name === me; })[0];
    say("my-state", mine ? mine.label + (mine.reason ? " (" + mine.reason + ")" : "") : "Keluar");
    $("my-state").dataset.state = mine ? mine.state : "logged_out";
    var tb = $("queues").tBodies[0];
    D.clear(tb);
    (b.queues || []).forEach(function (q) {
      tb.appendChild(D.row([q.queue, q.waiting, q.waiting ? D.secs(q.longest_wait_s) : "-", q.available]));
    });
  }

  function drawPop(p) {
    // the same call again (its context, once the database could be read): keep what was typed
    var again = !!(p && current && p.call_id && current.call_id === p.call_id);
    current = p;
    $("pop").hidden = !p;
    if (!p) { return; }
    say("pop-call", p.call_id || "");
    $("pop-unknown").hidden = !!p.known;
    say("pop-unknown", p.message || "");
    say("pop-caller", p.caller || "-");
    say("pop-purpose", p.purpose_label || p.purpose || "-");
    say("pop-reason", p.reason_label || p.reason || "-");
    say("pop-queue", p.queue || "-");
    say("pop-wait", D.secs(p.hold_s));
    var st = $("pop-slots"); D.clear(st);
    // the fields in staff words ("NIK pelapor", "Disamarkan (data pribadi)"), built by the server
    (p.slot_rows || []).forEach(function (r) { st.appendChild(D.row(r)); });
    if (!(p.slot_rows || []).length) { st.appendChild(D.row(["Belum ada isian dari penelepon"])); }
    say("pop-recordings", p.recordings_message || "");
    var tb = $("pop-transcript").tBodies[0]; D.clear(tb);
    (p.transcript || []).forEach(function (t) {
      var audio = "-";
      if (t.audio) {
        audio = document.createElement("audio");
        audio.controls = true; audio.preload = "none";
        audio.src = "/desk/calls/" + encodeURIComponent(p.call_id) + "/turns/" + t.index + "/audio";
      }
      var said = t.text || "";
      if (t.beyond) {
        // told "di luar layanan": what the caller asked for, in the script's words
        said = D.el("span", said + " ");
        said.appendChild(D.el("span", t.beyond, "badge beyond"));
      }
      tb.appendChild(D.row([t.who === "caller" ? "Penelepon" : "Sistem", said,
                            t.confidence === null || t.confidence === undefined ? "-" : Math.round(t.confidence * 100) + "%", audio]));
    });
    var tl = $("pop-tickets"); D.clear(tl);
    (p.tickets || []).forEach(function (t) {
      // the labels staff read on the pages ("Baru", not "open"); the code when a label is missing
      var li = D.el("li", t.display_id + " · " + (t.category_label || t.category || t.kind_label || t.kind) + " · " +
                    (t.status_label || t.status));
      li.dataset.ticket = t.public_id;
      if (t.hangup && t.hangup.incomplete) {
        // filed unfinished when the caller hung up: say so, where they stopped, what was cut
        li.appendChild(document.createTextNode(" "));
        li.appendChild(D.el("span", "Belum lengkap", "badge incomplete"));
        var why = " " + t.hangup.sentence;
        if (t.hangup.cut_label) { why += " Isian " + t.hangup.cut_label + " terpotong saat penelepon menutup telepon."; }
        li.appendChild(D.el("span", why, "hangup-note"));
      }
      tl.appendChild(li);
    });
    if (!(p.tickets || []).length) { tl.appendChild(D.el("li", "Belum ada tiket")); }
    var first = (p.tickets || [])[0];
    if (!again || !$("t-id").value) { $("t-id").value = first ? first.public_id : ""; }
    if (!again || !$("t-category").value) { $("t-category").value = first && first.category ? first.category : ((p.slots || {}).category || ""); }
    if (!again || !$("t-agency").value) { $("t-agency").value = first && first.agency ? first.agency : ""; }
    if (!again) { $("t-location").value = ""; $("t-description").value = ""; $("t-note").value = ""; }
    var hl = $("pop-history"); D.clear(hl);
    (p.history || []).forEach(function (h) {
      // the summary is in words ("Pengaduan / Kebersihan / Baru / Belum lengkap")
      var li = D.el("li", (h.at_text || h.at.slice(0, 16).replace("T", " ")) + " · " +
                    (h.kind === "call" ? "Panggilan" : "Tiket " + (h.display_id || h.id)) + " · " + (h.summary || "-"));
      li.dataset.kind = h.kind; li.dataset.id = h.id;
      if (h.incomplete && h.hangup) {
        // a complaint left unfinished at a hang-up: where the caller stopped (to finish it now)
        li.appendChild(D.el("span", ". " + h.hangup.sentence, "hangup-note"));
      }
      hl.appendChild(li);
    });
    if (!(p.history || []).length) { hl.appendChild(D.el("li", p.history_available === false ? "Riwayat tidak tersedia" : "Belum pernah menelepon")); }
    if (!again) { say("t-msg"); say("w-msg"); }
  }

  function loadCallbacks() {
    var qs = "?mine=" + ($("cb-mine").checked ? "1" : "0") + "&overdue=" + ($("cb-overdue").checked ? "1" : "0");
    fetch("/api/desk/callbacks" + qs, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (j) {
      var tb = $("callbacks").tBodies[0]; D.clear(tb);
      (j.callbacks || []).forEach(function (c) {
        var b = D.el("button", "Telepon sekarang");
        b.type = "button"; b.dataset.ticket = c.ticket; b.className = "dial";
        b.disabled = !c.dialable;
        b.addEventListener("click", function () {
          say("cb-msg", "Menelepon...");
          D.post("/api/desk/callbacks/" + encodeURIComponent(c.ticket) + "/dial").then(function (r) {
            say("cb-msg", r.error ? "Gagal: " + r.error : "Telepon Anda akan berdering, lalu warga dihubungi.");
            loadCallbacks();
          });
        });
        // staff words and office time from the server; the codes (last_outcome) stay for logic
        var where = [c.assign_queue, c.agency].filter(function (x) { return x; }).join(" · ");
        var tr = D.row([c.display_id || c.ticket, c.number, c.promised_text || "-",
                        c.owner || "Belum ada", where || "Belum ditentukan",
                        c.sla_text || "-", c.attempts, c.last_outcome_label || "-", b]);
        tr.dataset.outcome = c.last_outcome || "";
        tr.dataset.ticket = c.ticket;
        tr.cells[0].className = "ticket"; tr.cells[1].className = "number"; tr.cells[3].className = "owner"; tr.cells[4].className = "queue"; tr.cells[5].className = "sla";
        if (c.overdue) { tr.cells[5].classList.add("overdue"); }
        tb.appendChild(tr);
      });
      if (!(j.callbacks || []).length) {
        var empty = D.row(["Tidak ada permintaan telepon balik yang menunggu."]);
        empty.cells[0].colSpan = 9; empty.className = "empty";
        tb.appendChild(empty);
      }
    });
  }

  $("cb-mine").addEventListener("change", loadCallbacks);
  $("cb-overdue").addEventListener("change", loadCallbacks);
  $("btn-login").addEventListener("click", function () {
    D.post("/api/desk/queue", {action: "login"}).then(function (r) { say("action-msg", r.error || "Masuk antrean: " + (r.queues || []).join(", ")); });
  });
  $("btn-logout").addEventListener("click", function () {
    D.post("/api/desk/queue", {action: "logout"}).then(function (r) { say("action-msg", r.error || "Keluar dari antrean"); });
  });
  $("btn-pause").addEventListener("click", function () {
    D.post("/api/desk/pause", {paused: true, reason: $("pause-reason").value}).then(function (r) { say("action-msg", r.error || "Dijeda"); });
  });
  $("btn-unpause").addEventListener("click", function () {
    D.post("/api/desk/pause", {paused: false}).then(function (r) { say("action-msg", r.error || "Siap menerima panggilan"); });
  });
  $("ticket-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var id = $("t-id").value;
    var body = {call_id: current ? current.call_id : null, category: $("t-category").value || null,
                agency: $("t-agency").value || null, location: $("t-location").value || null,
                description: $("t-description").value || null, status: $("t-status").value || null,
                note: $("t-note").value || null};
    D.post(id ? "/api/desk/tickets/" + encodeURIComponent(id) : "/api/desk/tickets", body).then(function (r) {
      if (r.error) { say("t-msg", "Gagal: " + r.error); return; }
      $("t-id").value = r.ticket;
      $("w-disposition").value = "ticket_filed";
      say("t-msg", "Tiket tersimpan: " + r.ticket);
    });
  });
  $("wrap-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!current || !current.call_id) { say("w-msg", "Tidak ada panggilan"); return; }
    D.post("/api/desk/wrapup", {call_id: current.call_id, disposition: $("w-disposition").value,
                                ticket: $("t-id").value || null, note: $("w-note").value || null}).then(function (r) {
      say("w-msg", r.error ? "Gagal: " + r.error : "Selesai dicatat");
    });
  });

  D.connect({
    snapshot: function (s) { drawBoard(s.board); drawPop(s.pop); loadCallbacks(); },
    board: drawBoard,
    pop: drawPop,
    wrapup: function () { drawPop(null); say("w-msg", "Selesai dicatat"); },
    callback: function (c) { if (c.agent === me) { say("cb-msg", c.reason); } loadCallbacks(); },
    ticket: function (t) { if (t.kind === "callback") { loadCallbacks(); } }
  });
})();
