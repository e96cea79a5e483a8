"""A choice the caller's request already named (`carried:` of a choice state): "saya mau lapor
jalan rusak" files the complaint under roads without asking "Pengaduan Anda tentang apa?"; the
request's words are used once, by the listen they lead to; a request naming no category, or
two, is asked; an answer naming one option inside a longer sentence is taken; scripts that
misuse `carried` are refused with a message for admins."""

from __future__ import annotations

import pytest

from dialogs import CallStarted, DialogEngine, Heard, Listen, Pressed, Say, TransferFailed, load_script
from dialogs.errors import ScriptError
from ivr.storage.script_checks import indonesian

QUESTION = "Pengaduan Anda tentang apa?"


def says(actions):
    return " ".join(a.text for a in actions if isinstance(a, Say))


def started(script) -> DialogEngine:
    e = DialogEngine(script, strict=True)
    e.handle(CallStarted())
    return e


@pytest.mark.parametrize("request_, category, label", [
    ("saya mau lapor jalan rusak", "infrastruktur", "jalan dan fasilitas umum"),
    ("mau mengadukan pungli di kelurahan", "pelayanan", "pelayanan petugas"),
    ("mau lapor sampah menumpuk di pasar", "kebersihan", "kebersihan"),
])
def test_a_request_naming_the_category_is_not_asked_it(script, request_, category, label):
    e = started(script)
    out = e.handle(Heard(text=request_))
    assert e.state == "complaint_location"
    assert e.variables["category"] == category and e.variables["category_label"] == label
    text = says(out)
    assert f"Pengaduan Anda tentang {label}." in text and QUESTION not in text
    assert text.index("Pengaduan Anda tentang") < text.index("Di mana lokasinya?")
    assert isinstance(out[-1], Listen) and out[-1].state == "complaint_location"


def test_the_recognizers_decision_carries_its_transcript(script):
    e = started(script)
    e.handle(Heard(text="saya mau lapor lampu jalan mati", intent="pengaduan", confidence=0.9))
    assert e.state == "complaint_location" and e.variables["category"] == "infrastruktur"


@pytest.mark.parametrize("request_", ["halo saya mau lapor", "saya mau mengadukan sampah dan jalan rusak"])
def test_a_request_naming_no_category_or_two_is_asked(script, request_):
    e = started(script)
    out = e.handle(Heard(text=request_))
    assert e.state == "complaint_category" and QUESTION in says(out)
    assert "category" not in e.variables


def test_a_confirmed_request_carries_its_words(script):
    e = started(script)
    e.handle(Heard(text="lapor sampah menumpuk", confidence=0.4))   # low: "Maksud Anda ...?"
    assert e.phase == "confirming"
    e.handle(Heard(text="ya"))
    assert e.state == "complaint_location" and e.variables["category"] == "kebersihan"


def test_the_words_of_an_earlier_turn_are_not_carried(script):
    e = started(script)
    e.handle(Heard(text="lapor sampah menumpuk", confidence=0.4))
    e.handle(Heard(text="tidak"))                  # not what the caller meant: asked again
    assert e.state == "main_menu" and e.phase == "listening"
    out = e.handle(Pressed("5"))                   # the complaint by the keypad
    assert e.state == "complaint_category" and QUESTION in says(out)
    # a correction after the readback asks again too (the request was used once)
    e = started(script)
    e.handle(Heard(text="saya mau lapor jalan rusak"))
    e.handle(Heard(text="jalan melati dekat pasar"))
    e.handle(Heard(text="jalannya berlubang sejak dua minggu"))
    e.handle(Heard(text="tidak"))
    assert e.state == "complaint_readback"
    out = e.handle(Heard(text="salah"))
    assert e.state == "complaint_category" and QUESTION in says(out)



def test_a_new_request_replacing_the_confirmation_carries_its_own_words(script):
    # "Maksud Anda BPJS Kesehatan?" - "bukan, saya mau mengadukan sampah ...": the category is
    # the new request's (kebersihan), not the words of the request that was being confirmed
    e = started(script)
    e.handle(Heard(text="saya mau lapor bpjs", confidence=0.5))
    assert e.phase == "confirming"
    out = e.handle(Heard(text="bukan, saya mau mengadukan sampah tidak diangkut"))
    assert e.state == "complaint_location" and e.variables["category"] == "kebersihan"
    assert "Pengaduan Anda tentang kebersihan." in says(out)
    e = started(script)
    e.handle(Heard(text="saya mau lapor bpjs", confidence=0.5))
    out = e.handle(Heard(text="bukan, saya mau menyampaikan pengaduan"))
    assert e.state == "complaint_category" and QUESTION in says(out)

def test_an_answer_naming_one_option_inside_a_sentence_is_taken(script):
    e = started(script)
    e.handle(Pressed("5"))
    assert e.state == "complaint_category"
    e.handle(Heard(text="di depan pasar kemiri ada lubang besar sudah dua bulan"))
    assert e.state == "complaint_location" and e.variables["category"] == "infrastruktur"
    assert script.named_option("complaint_category", "jalan kemiri nomor 5") is None


BASE = """
version: 1
name: t
start: menu
states:
  menu:
    say: Ada yang bisa dibantu?
    listen: {kind: intent, intents: [lapor]}
    on: {lapor: kategori}
  kategori:
    say: Tentang apa?
    {CARRIED}
    listen: {LISTEN}
    on: {filled: selesai}
  selesai:
    say: Terima kasih.
    end: completed
intents:
  lapor:
    label: lapor
    examples: [saya mau lapor, lapor jalan rusak]
"""


def test_carried_needs_a_choice_listen_with_a_slot():
    bad = BASE.replace("{CARRIED}", "carried: Baik.").replace("{LISTEN}", "{kind: free, slot: isi}")
    with pytest.raises(ScriptError) as err:
        load_script("t.yaml", text=bad)
    message = "'carried' needs a listen of kind choice with a slot"
    assert message in str(err.value)
    assert indonesian(message) == "'carried' memerlukan listen dengan jenis choice dan slot."
    ok = load_script("t.yaml", text=BASE.replace("{CARRIED}", "carried: Tentang {jenis_label}.").replace(
        "{LISTEN}", "{kind: choice, slot: jenis, options: {jalan: [jalan rusak], sampah: [sampah]}}"))
    e = DialogEngine(ok, strict=True)
    e.handle(CallStarted())
    out = e.handle(Heard(text="saya mau lapor jalan rusak"))
    assert says(out) == "Tentang jalan. Terima kasih." and e.variables["jenis"] == "jalan"


LATER = """
version: 1
name: t
start: menu
states:
  menu:
    say: Ada yang bisa dibantu?
    listen: {kind: intent, intents: [lapor]}
    on: {lapor: sambung}
  sambung:
    transfer: {queue: hotline, on_failed: kategori}
  kategori:
    say: Tentang apa?
    carried: Tentang {jenis_label}.
    listen: {kind: choice, slot: jenis, options: {jalan: [jalan rusak], sampah: [sampah]}}
    on: {filled: selesai}
  selesai:
    say: Terima kasih.
    end: completed
intents:
  lapor:
    label: lapor
    examples: [saya mau lapor, lapor jalan rusak]
"""


def test_a_request_is_not_carried_into_a_state_entered_on_a_later_event():
    # the request led to a transfer; the state the failed transfer leads to asks its question
    s = load_script("t.yaml", text=LATER)
    e = DialogEngine(s, strict=True)
    e.handle(CallStarted())
    e.handle(Heard(text="saya mau lapor jalan rusak"))
    assert e.phase == "transferring"
    out = e.handle(TransferFailed("no_agents"))
    assert e.state == "kategori" and says(out) == "Tentang apa?" and "jenis" not in e.variables


@pytest.mark.parametrize("request_", ["saya mau lapor kdrt", "mau melapor pemerkosaan", "saya mau lapor ada jambret",
                                      "mau melapor penembakan", "saya mau lapor nyawa anak saya terancam"])
def test_a_report_of_danger_is_an_emergency_not_a_complaint(script, request_):
    # "saya mau lapor" is a complaint example: a hazard the emergency detector does not know
    # by itself (only the darurat intent's keywords do) must still win over it
    e = started(script)
    out = e.handle(Heard(text=request_))
    assert e.state == "emergency" and "112" in says(out)
