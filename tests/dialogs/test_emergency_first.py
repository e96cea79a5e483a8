"""Issue 16 phase 2 in the dialog engine: emergencies before anything else, the safety-net
question, words of danger never end the call, long answers are not replayed on silence,
numbers read in groups."""

from __future__ import annotations

import pytest

from dialogs import DialogEngine
from dialogs.actions import Say
from dialogs.events import CallStarted, Heard, NoInput, Pressed
from dialogs.lang.numbers import digit_groups, spell_digits


def says(actions):
    return " ".join(a.text for a in actions if isinstance(a, Say))


def started(script):
    e = DialogEngine(script, strict=True)
    e.handle(CallStarted())
    return e


def at_answer(script, text="saya mau bikin KTP elektronik"):
    e = started(script)
    e.handle(Heard(text, 0.95, intent="ktp"))
    assert e.state == "info_ktp"
    return e


@pytest.mark.parametrize("text", [
    "tolong saya terjebak di dalam rumah, air sudah setinggi dada",
    "rumah tetangga kebakaran, apinya sudah besar",
    "ada orang tertabrak motor di depan pasar, berdarah",
])
def test_an_emergency_is_acted_on_at_once_whatever_the_recognizer_said(script, text):
    # low confidence, a wrong intent from the recognizer: the words decide
    e = started(script)
    out = e.handle(Heard(text, 0.12, intent="selesai"))
    assert e.state == "emergency" and e.phase != "confirming"
    assert "112" in says(out) and "Maaf" not in says(out)


def test_an_emergency_interrupts_a_confirmation_and_a_yes_no_question(script):
    e = started(script)
    e.handle(Heard("kk", 0.45, intent="kk"))
    assert e.phase == "confirming"
    out = e.handle(Heard("bukan, tolong, ada kebakaran di rumah saya", 0.5))
    assert e.state == "emergency" and "112" in says(out)


def test_the_runtime_reading_of_the_audio_acts_in_any_state(script):
    e = at_answer(script)
    out = e.handle(Heard("saya kebak", 0.2, intent=None, emergency="now"))
    assert e.state == "emergency" and "112" in says(out)


def test_a_passing_mention_is_not_sent_away(script):
    e = started(script)
    out = e.handle(Heard("rumah saya dulu kebanjiran, sekarang mau urus KK baru", 0.8, intent="kk"))
    assert e.state != "emergency" and "112" not in says(out)


def test_a_borderline_emergency_asks_the_safety_question(script):
    e = started(script)
    out = e.handle(Heard("tolong pak rumah", 0.35, intent="darurat", emergency="maybe"))
    assert e.phase == "confirming" and "Apakah ini keadaan darurat?" in says(out)
    out = e.handle(Heard("ya", 0.9, intent="yes"))
    assert e.state == "emergency" and "112" in says(out)

    e = started(script)
    e.handle(Heard("tolong pak rumah", 0.35, intent="darurat", emergency="maybe"))
    out = e.handle(Heard("tidak", 0.9, intent="no"))
    assert e.state == "main_menu" and e.phase == "listening" and "112" not in says(out)


def test_the_safety_question_names_the_emergency_numbers_before_asking(script):
    # a caller in danger whose words the recognizer only half heard hears 112 in the first
    # reply, before the question (and whatever they answer)
    e = started(script)
    out = says(e.handle(Heard("tolong pak rumah", 0.2, intent="darurat", emergency="maybe")))
    assert e.phase == "confirming"
    assert "112" in out and "119" in out and out.index("112") < out.index("Apakah ini keadaan darurat?"), out


def test_a_confirmation_names_the_emergency_number_when_the_emergency_is_near(script):
    # a garbled emergency heard as a service ("Maksud Anda ...?") still hears 112 first when the
    # recognizer gave the emergency some weight; other confirmations stay as they were
    e = started(script)
    out = says(e.handle(Heard("tolong rumah kebak karan", 0.4, intent="pengaduan", emergency="near")))
    assert e.phase == "confirming" and e.snapshot()["pending"] == "pengaduan"
    assert "112" in out and "Maksud Anda" in out and out.index("112") < out.index("Maksud Anda"), out
    out = e.handle(Heard("ya", 0.9, intent="yes"))
    assert e.state != "emergency"

    e = started(script)
    out = says(e.handle(Heard("tolong rumah kebak karan", 0.4, intent="pengaduan")))
    assert e.phase == "confirming" and "Maksud Anda" in out and "112" not in out, out
    # the next confirmation in the same call does not carry the last turn's reading
    e.handle(Heard("tidak", 0.9, intent="no"))
    e2 = started(script)
    e2.handle(Heard("tolong rumah kebak karan", 0.4, intent="pengaduan", emergency="near"))
    e2.handle(Heard("tidak", 0.9, intent="no"))
    out = says(e2.handle(Heard("mau bayar pajak motor", 0.4, intent="pajak_kendaraan")))
    assert e2.phase == "confirming" and "112" not in out, out


def test_a_request_not_understood_in_the_main_menu_names_the_emergency_number(script):
    # an emergency the recognizer garbled beyond the safety question still hears 112 first
    e = started(script)
    out = says(e.handle(Heard("tulu umet raya di dapet", 0.05)))
    assert e.state == "main_menu" and "Maaf" in out and "112" in out, out


def test_words_of_danger_never_end_the_call(script):
    # the matcher alone would take "sudah ... selesai" as goodbye; hazard words ask instead
    e = at_answer(script)
    out = e.handle(Heard("dulu pernah banjir, sudah selesai", 0.9, intent="selesai"))
    assert e.state != "goodbye" and "Apakah ini keadaan darurat?" in says(out)
    e = at_answer(script)
    e.handle(Heard("sudah selesai, terima kasih", 0.9, intent="selesai"))
    assert e.state == "goodbye"


def test_silence_after_a_long_answer_asks_instead_of_replaying(script):
    e = at_answer(script)
    answer = script.states["info_ktp"].say[0].text
    out = e.handle(NoInput())
    assert "Ada lagi yang bisa dibantu?" in says(out) and answer not in says(out)
    # "ulangi" (or the star key) still replays it
    out = e.handle(Pressed("*"))
    assert answer in says(out)


def test_numbers_are_read_in_groups():
    assert digit_groups(16) == [4, 4, 4, 4] and digit_groups(13) == [4, 3, 3, 3] and digit_groups(6) == [3, 3]
    assert spell_digits("081234567890", group=True) == \
        "nol delapan satu dua, tiga empat lima enam, tujuh delapan sembilan nol"
    assert spell_digits("ADU-2026-000123", group=True) == "A D U, dua nol dua enam, nol nol nol, satu dua tiga"
    assert spell_digits("3201") == spell_digits("3201", group=True) == "tiga dua nol satu"


def test_the_main_menu_keypad_prompt_names_the_emergency_key(script):
    from dialogs import DialogEngine, Heard, Pressed
    from dialogs.actions import Say

    e = DialogEngine(script)
    e.start()
    said = []
    for _ in range(2):  # two turns not understood: the keypad prompt
        said += [a.text for a in e.handle(Heard("hmm", 0.05)) if isinstance(a, Say)]
    assert any("tekan 8" in t for t in said), said
    e.handle(Pressed("8"))
    assert e.state == "emergency"


def test_a_typed_enquiry_about_floods_is_not_sent_away(script):
    """Issue 16: typed text (the chat and the simulator hand the engine the words at confidence
    1) asking about floods is not an emergency: the caller is asked again politely, then offered
    the keys and a person, never given the emergency message."""
    e = started(script)
    out = e.handle(Heard("saya mau tanya soal banjir", 1.0))
    assert e.state == "main_menu" and e.phase == "listening", e.state
    assert says(out).startswith("Maaf, saya belum mengerti.")
    out = e.handle(Heard("saya mau tanya soal banjir", 1.0))
    assert e.state != "emergency" and "tombol" in says(out)
    # the same caller in danger is acted on at once
    out = e.handle(Heard("tolong, rumah saya kebanjiran, bagaimana ini?", 1.0))
    assert e.state == "emergency" and "112" in says(out)
