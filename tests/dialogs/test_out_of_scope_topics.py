"""Requests the hotline does not handle, by topic (the script's `out_of_scope` as a mapping
topic -> examples or {label, examples}; a plain list stays valid as the topic "lainnya"). The
matcher says which topic's example won, and a turn the caller was told "di luar layanan" on
records it (``TurnResult.beyond``) for the analytics page "Permintaan di luar layanan"."""

from __future__ import annotations

import pytest

from dialogs import CallStarted, DialogEngine, Heard, ScriptError, load_script
from ivr.storage.script_checks import validate

BASE = """
version: 1
name: t
start: menu
states:
  menu:
    say: Ada yang bisa dibantu?
    listen: {kind: intent, intents: [ktp]}
    on: {ktp: selesai}
  selesai:
    say: Terima kasih.
    end: completed
intents:
  ktp:
    label: KTP
    examples: [mau bikin ktp]
"""

TOPICS = BASE + """
out_of_scope:
  paspor:
    label: Paspor dan imigrasi
    examples: [mau bikin paspor, kantor imigrasi]
  air_bersih: [air pdam mati]
"""


def test_the_mapping_form_gives_topics_with_labels():
    s = load_script("t.yaml", text=TOPICS)
    assert {t.id: (t.label, t.examples) for t in s.out_of_scope_topics.values()} == {
        "paspor": ("Paspor dan imigrasi", ("mau bikin paspor", "kantor imigrasi")),
        "air_bersih": ("Air bersih", ("air pdam mati",)),       # no label: the name in words
    }
    assert s.out_of_scope == ("mau bikin paspor", "kantor imigrasi", "air pdam mati")
    assert s.matcher.match("mau bikin paspor").topic == "paspor"
    assert s.matcher.match("air pdam mati lagi").topic == "air_bersih"
    assert s.matcher.match("mau bikin ktp").topic is None


def test_the_plain_list_form_stays_valid_as_topic_lainnya():
    s = load_script("t.yaml", text=BASE + "out_of_scope: [mau bikin paspor]\n")
    assert list(s.out_of_scope_topics) == ["lainnya"]
    assert s.out_of_scope == ("mau bikin paspor",)
    m = s.matcher.match("mau bikin paspor")
    assert m.out_of_scope and m.topic == "lainnya"


@pytest.mark.parametrize("oos, path, message", [
    ("  paspor: {label: Paspor}", "out_of_scope.paspor", "'examples' wajib diisi."),
    ("  paspor: mau bikin paspor", "out_of_scope.paspor", "'mau bikin paspor' bukan daftar atau pemetaan."),
    ("  paspor: {label: Paspor, contoh: [a]}", "out_of_scope.paspor", "'examples' wajib diisi."),
    ("  Paspor Luar: [mau bikin paspor]", "out_of_scope",
     "'Paspor Luar' bukan nama yang sah (huruf kecil, angka, _)."),
    ("  paspor: [mau bikin paspor]\n  imigrasi: [mau bikin  Paspor]", "out_of_scope.imigrasi[0]",
     "Contoh 'mau bikin  Paspor' sudah tercantum di topik 'paspor': satu contoh hanya untuk satu topik."),
])
def test_a_malformed_mapping_is_refused_in_indonesian(oos, path, message):
    text = BASE + "out_of_scope:\n" + oos + "\n"
    with pytest.raises(ScriptError):
        load_script("t.yaml", text=text)
    verdict, script = validate(text)
    assert not verdict["ok"] and script is None
    assert any(i["path"] == path and i["message"] == message for i in verdict["issues"]), verdict["issues"]


def test_the_default_script_groups_its_examples_by_topic(script):
    topics = script.out_of_scope_topics
    assert {"paspor", "sim_polisi", "listrik", "air", "pertanahan", "pendidikan", "nikah", "pajak_pusat",
            "pekerjaan", "keuangan", "transportasi", "lainnya", "lapor_polisi"} == set(topics)
    assert all(t.label[:1].isupper() for t in topics.values())
    assert len(script.out_of_scope) == len(set(script.out_of_scope)) == 54
    assert "bikin paspor" in topics["paspor"].examples and "sertifikat tanah" in topics["pertanahan"].examples


def started(script) -> DialogEngine:
    e = DialogEngine(script, strict=True)
    e.handle(CallStarted())
    return e


def test_the_turn_records_the_topic_the_caller_was_told_about(script):
    e = started(script)
    e.handle(Heard(text="mau tanya cara bikin paspor"))
    turn = e.last_turn
    assert turn is not None and turn.outcome == "no_match" and turn.beyond == "paspor"
    e = started(script)
    e.handle(Heard(text="tagihan listrik pln saya naik"))
    assert e.last_turn.beyond == "listrik"


def test_only_turns_told_di_luar_layanan_record_a_topic(script):
    told = script.settings.prompts["out_of_scope"][0].text
    e = started(script)
    e.handle(Heard(text="mau bikin paspor", confidence=0.4))    # unclear: "not understood"
    assert e.last_turn.outcome == "no_match" and e.last_turn.beyond is None
    e = started(script)
    e.handle(Heard(text="mau bikin paspor"))
    assert e.last_turn.beyond == "paspor"
    e = started(script)
    e.handle(Heard(text="mau tanya resep masakan"))
    assert e.last_turn.beyond == "lainnya"
    # the next miss is the keypad rung, not "di luar layanan": no topic on record (a topic
    # with a referral is told again: test_out_of_scope_referral.py)
    out = e.handle(Heard(text="mau tanya resep masakan"))
    assert told not in " ".join(getattr(a, "text", "") for a in out)
    assert e.last_turn.outcome == "no_match" and e.last_turn.beyond is None
    e = started(script)
    e.handle(Heard(text="mau bikin ktp"))
    assert e.last_turn.beyond is None


def test_the_recognizers_path_records_the_topic_too(script):
    # on the phone the recognizer names a label; unsure on out-of-scope words, the caller is
    # told so, and the turn records the topic as a typed request does
    e = started(script)
    e.handle(Heard(text="mau bikin paspor", confidence=0.07, intent="pengaduan"))
    assert e.last_turn.outcome == "no_match" and e.last_turn.beyond == "paspor"
    e = started(script)
    e.handle(Heard(text="tagihan listrik pln naik", confidence=0.9, intent="tanya_jam"))
    assert e.last_turn.beyond == "listrik"
    e = started(script)
    e.handle(Heard(text="ktp saya hilang", confidence=0.1, intent="ktp"))
    assert e.last_turn.beyond is None


def test_a_sub_menu_not_told_records_no_topic(script):
    e = started(script)
    e.handle(Heard(text="kependudukan"))
    e.handle(Heard(text="mau bikin paspor"))
    assert e.state == "menu_kependudukan" and e.last_turn.outcome == "no_match" and e.last_turn.beyond is None
