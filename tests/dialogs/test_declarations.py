"""What the runtime relies on is declared in the script (entry menu, menus, flows), so an
admin's script with state names of its own keeps every behaviour; the loader checks the
declarations like everything else (path and line)."""

from __future__ import annotations

import logging
import textwrap

import pytest

from dialogs import CreateTicket, DialogEngine, Hangup, Heard, Pressed, ScriptError, load_script

# No state is called main_menu, menu_* or complaint_*: the names are the admin's own.
ADMIN = """\
version: 1
name: admin
start: layanan
entry_menu: layanan
intents:
  ktp: {label: KTP, examples: [buat ktp, ktp hilang]}
  pajak_motor: {label: pajak motor, examples: [bayar pajak motor, pajak kendaraan]}
  lapor: {label: pengaduan, examples: [mau lapor, pengaduan, mengadu]}
flows:
  aduan:
    states: [lapor_tempat, lapor_isi, lapor_simpan]
    on_hangup:
      kind: complaint
      variables: [tempat, isi]
      when_any: [tempat, isi]
states:
  layanan:
    menu: true
    say: Sebutkan keperluan Anda.
    listen:
      kind: intent
      intents: [ktp, lapor]
      dtmf: {"1": ktp, "2": urusan_pajak, "3": lapor}
      options:
        urusan_pajak: [pajak, soal pajak]
    on:
      ktp: info
      urusan_pajak: sub_pajak
      lapor: lapor_tempat
  sub_pajak:
    menu: true
    say: Pajak. Tekan 1 untuk pajak motor, 9 untuk kembali.
    listen:
      kind: intent
      intents: [pajak_motor]
      dtmf: {"1": pajak_motor, "9": kembali}
      options:
        kembali: [kembali, menu awal]
    on:
      pajak_motor: info
      kembali: layanan
  info:
    say: Terima kasih.
    end: done
  lapor_tempat:
    say: Di mana?
    listen: {kind: free, slot: tempat}
    next: lapor_isi
  lapor_isi:
    say: Apa yang terjadi?
    listen: {kind: free, slot: isi}
    next: lapor_simpan
  lapor_simpan:
    create_ticket:
      kind: complaint
      fields: {location: "{tempat}", description: "{isi}"}
      next: selesai
  selesai:
    say: Nomor tiket Anda {ticket_id}.
    end: done
"""


def load(text: str = ADMIN):
    return load_script("admin.yaml", text=textwrap.dedent(text))


def issues_of(text: str):
    with pytest.raises(ScriptError) as exc:
        load(text)
    return exc.value.issues


def to_complaint(engine: DialogEngine) -> None:
    engine.start()
    engine.handle(Pressed("3"))
    assert engine.state == "lapor_tempat"


def test_declared_menus_and_entry_menu_whatever_their_names():
    sc = load()
    assert sc.entry_menu == "layanan"
    assert sc.menu_states == {"layanan", "sub_pajak"}
    assert sc.warnings == ()
    # a label that leads into a sub-menu is navigation; the way back to the entry menu is not
    assert sc.listen_action("layanan").navigation == {"urusan_pajak"}
    assert sc.listen_action("sub_pajak").navigation == frozenset()
    assert sc.listen_action("lapor_tempat").navigation == frozenset()


def test_expect_kind_is_mapped_once_on_the_listen(script):
    kinds = {sid: script.listen_action(sid).expect_kind for sid in script.listening_states()}
    assert kinds["main_menu"] == "intent"
    assert kinds["complaint_category"] == "intent"   # a choice is scored like intents
    assert kinds["complaint_identity"] == "yesno"
    assert kinds["complaint_nik"] == kinds["complaint_phone_ask"] == kinds["status_ask"] == "digits"
    assert kinds["complaint_location"] == "free"
    plate = load(ADMIN.replace("listen: {kind: free, slot: tempat}", "listen: {kind: plate, slot: tempat}"))
    assert plate.listen_action("lapor_tempat").expect_kind == "free"   # letters and digits


def test_hanging_up_inside_the_declared_flow_files_what_was_given():
    sc = load()
    e = DialogEngine(sc, strict=True)
    to_complaint(e)
    e.handle(Heard("dekat pasar baru"))
    assert e.state == "lapor_isi"
    out = e.handle(Hangup())
    assert out == [CreateTicket(kind="complaint", fields={"tempat": "dekat pasar baru", "incomplete": True,
                                                          "stopped_at": "lapor_isi"})]
    assert e.ended and e.handle(Hangup()) == []   # once


def test_hanging_up_before_giving_anything_or_after_filing_files_nothing():
    sc = load()
    e = DialogEngine(sc, strict=True)
    to_complaint(e)
    assert e.handle(Hangup()) == []   # nothing the flow asks for yet
    e = DialogEngine(sc, strict=True)
    to_complaint(e)
    e.handle(Heard("dekat pasar baru"))
    out = e.handle(Heard("lampu jalan mati"))
    assert [type(a).__name__ for a in out] == ["CreateTicket"] and e.state == "lapor_simpan"
    assert e.handle(Hangup()) == []   # the ticket is on its way: not a second, incomplete one
    # outside the flow nothing is filed, whatever was said
    e = DialogEngine(sc, strict=True)
    e.start()
    e.handle(Pressed("1"))
    assert e.handle(Hangup()) == []


def test_the_snapshot_carries_what_was_filed():
    sc = load()
    e = DialogEngine(sc, strict=True)
    to_complaint(e)
    e.handle(Heard("dekat pasar baru"))
    e.handle(Heard("lampu jalan mati"))
    again = DialogEngine.restore(sc, e.snapshot(), strict=True)
    assert again.handle(Hangup()) == []


def test_default_script_declares_its_complaint_flow(script):
    flow = script.flow_of("complaint_description")
    assert flow is not None and flow.on_hangup is not None and flow.on_hangup.kind == "complaint"
    assert script.flow_of("complaint_done") is None and script.flow_of("main_menu") is None
    assert script.entry_menu == "main_menu" and script.warnings == ()
    assert script.menu_states == {"main_menu", "menu_kependudukan", "menu_pajak", "menu_kesehatan"}
    assert script.listen_action("main_menu").navigation == {"menu_kependudukan", "menu_pajak", "menu_kesehatan"}
    assert script.listen_action("info_ktp").navigation == frozenset()   # "menu utama" goes back


def test_a_script_without_declarations_loads_with_warnings_and_files_nothing(caplog):
    old = ADMIN.replace("entry_menu: layanan\n", "")
    old = old[:old.index("flows:")] + old[old.index("\nstates:") + 1:]
    old = old.replace("    menu: true\n", "")
    with caplog.at_level(logging.WARNING, logger="dialogs.loader"):
        sc = load(old)
    assert [w.path for w in sc.warnings] == ["entry_menu", "flows"]
    assert "entry_menu" in caplog.text
    assert sc.entry_menu == "layanan"   # the first state that listens for intents
    assert sc.menu_states == {"layanan"}
    assert sc.listen_action("layanan").navigation == frozenset()
    e = DialogEngine(sc, strict=True)
    to_complaint(e)
    e.handle(Heard("dekat pasar baru"))
    assert e.handle(Hangup()) == []


def test_declarations_are_checked_with_paths_and_lines():
    bad = (ADMIN.replace("entry_menu: layanan", "entry_menu: lobi")
           .replace("states: [lapor_tempat, lapor_isi, lapor_simpan]",
                    "states: [lapor_tempat, lapor_isi, lapor_isi, tidak_ada]")
           .replace("when_any: [tempat, isi]", "when_any: [tempat, nama]")
           .replace("  info:\n    say: Terima kasih.", "  info:\n    menu: true\n    say: Terima kasih."))
    issues = issues_of(bad)
    got = {(i.path, i.message) for i in issues}
    assert ("entry_menu", "entry menu 'lobi' is not a state") in got
    assert ("flows.aduan.states[2]", "state 'lapor_isi' is listed twice") in got
    assert ("flows.aduan.states[3]", "unknown state 'tidak_ada'") in got
    assert ("flows.aduan.on_hangup.when_any[1]", "unknown variable 'nama'") in got
    assert ("states.info.menu", "a menu must listen with kind intent or choice") in got
    lines = {i.path: i.line for i in issues}
    assert lines["entry_menu"] == 4
    assert lines["flows.aduan.states[3]"] == 11
    assert lines["states.info.menu"] == bad.splitlines().index("    menu: true", 40) + 1


def test_entry_menu_must_listen_and_flows_do_not_share_states():
    bad = ADMIN.replace("entry_menu: layanan", "entry_menu: info").replace(
        "flows:\n", "flows:\n  lain:\n    states: [lapor_isi]\n")
    got = {(i.path, i.message) for i in issues_of(bad)}
    assert ("entry_menu", "entry menu 'info' must listen with kind intent or choice") in got
    assert ("flows.aduan.states[1]", "state 'lapor_isi' is already in flow 'lain'") in got
    assert any(p == "flows.lain.on_hangup" or p.startswith("flows") for p, _ in got)
    # a misspelt key in a flow is refused like anywhere else
    got = {(i.path, i.message) for i in issues_of(ADMIN.replace("when_any:", "when_ani:"))}
    assert ("flows.aduan.on_hangup.when_ani", "unknown key 'when_ani'") in got
