"""A caller leaves the complaint on purpose (`flows.<id>.cancel`): "batal saja" or "kembali ke
menu utama" at any step is no location, name or description: the caller hears that nothing
is filed and is back in the main menu, and what they had told the complaint is forgotten (a
later hang-up files nothing). The readback's "tidak" still corrects; a sentence that only
contains the words is an answer."""

from __future__ import annotations

import pytest

from dialogs import CallStarted, CreateTicket, DialogEngine, Hangup, Heard, Pressed, Say, load_script
from dialogs.errors import ScriptError
from ivr.storage.script_checks import indonesian

CANCELLED = "Baik, pengaduan tidak jadi kami catat."


def says(actions):
    return " ".join(a.text for a in actions if isinstance(a, Say))


def in_complaint(script, *answers: str) -> DialogEngine:
    e = DialogEngine(script, strict=True)
    e.handle(CallStarted(caller_number="081234567890"))
    e.handle(Heard(text="saya mau lapor jalan rusak"))
    for a in answers:
        e.handle(Heard(text=a))
    return e


@pytest.mark.parametrize("words", ["batal saja", "tidak jadi deh", "kembali ke menu utama", "Batal."])
def test_the_caller_leaves_the_complaint_and_nothing_is_filed(script, words):
    e = in_complaint(script, "jalan mawar dekat pasar")
    assert e.state == "complaint_description"
    out = e.handle(Heard(text=words))
    assert says(out).startswith(CANCELLED) and e.state == "main_menu"
    assert e.last_turn.outcome == "accepted" and e.last_turn.intent == "batal"
    assert "location" not in e.variables and "category" not in e.variables
    assert not [a for a in e.handle(Hangup()) if isinstance(a, CreateTicket)]


def test_at_the_readback_no_corrects_and_tidak_jadi_cancels(script):
    e = in_complaint(script, "jalan mawar", "lubang besar", "tidak")
    assert e.state == "complaint_readback"
    e.handle(Heard(text="tidak"))
    assert e.state == "complaint_category"          # corrected, not cancelled
    e = in_complaint(script, "jalan mawar", "lubang besar", "tidak")
    out = e.handle(Heard(text="tidak jadi"))
    assert says(out).startswith(CANCELLED) and e.state == "main_menu"


def test_words_inside_an_answer_are_the_answer(script):
    e = in_complaint(script, "jalan mawar")
    e.handle(Heard(text="perbaikannya tidak jadi dikerjakan sejak bulan lalu"))
    assert e.state == "complaint_identity"
    assert e.variables["description"] == "perbaikannya tidak jadi dikerjakan sejak bulan lalu"


def test_outside_the_flow_the_words_do_nothing_special(script):
    e = DialogEngine(script, strict=True)
    e.handle(CallStarted())
    out = e.handle(Heard(text="batal"))
    assert CANCELLED not in says(out) and e.state == "main_menu"
    e.handle(Pressed("5"))
    assert e.state == "complaint_category"


BASE = """
version: 1
name: t
start: tanya
flows:
  lapor:
    states: [tanya]
    cancel: {CANCEL}
states:
  tanya:
    say: Di mana?
    listen: {kind: free, slot: lokasi}
    next: selesai
  selesai:
    say: Terima kasih.
    end: completed
"""


def test_a_cancel_must_lead_somewhere_known():
    with pytest.raises(ScriptError) as err:
        load_script("t.yaml", text=BASE.replace("{CANCEL}", "{words: [batal], goto: menu}"))
    assert "transition to unknown state 'menu'" in str(err.value)
    assert indonesian("transition to unknown state 'menu'") == "Pindah ke state 'menu' yang tidak ada."
    with pytest.raises(ScriptError) as err:
        load_script("t.yaml", text=BASE.replace("{CANCEL}", "{goto: selesai}"))
    assert "'words' is required" in str(err.value)
    ok = load_script("t.yaml", text=BASE.replace("{CANCEL}", "{words: [batal], say: Baik., goto: selesai}"))
    e = DialogEngine(ok, strict=True)
    e.handle(CallStarted())
    assert says(e.handle(Heard(text="batal"))) == "Baik. Terima kasih."
    assert "Baik." in ok.static_prompts()


def test_a_spoken_skip_is_taken_as_the_skip_key_is(script):
    e = in_complaint(script, "jalan mawar", "lubang besar", "ya", "Budi")
    assert e.state == "complaint_nik"
    e.handle(Heard(text="lewati"))
    assert e.state == "complaint_phone_confirm"
    assert (e.last_turn.outcome, e.last_turn.intent) == ("accepted", "skip")
