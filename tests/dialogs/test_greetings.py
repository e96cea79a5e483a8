"""A greeting on its own is answered in kind and the question asked again, without counting
as a miss; a greeting with a request is the request; danger words still come first."""

from __future__ import annotations

import pytest

from dialogs import CallStarted, DialogEngine, Heard, Listen, Pressed, Say
from dialogs.lang.greetings import REPLIES, greeting_reply


def says(actions):
    return " ".join(a.text for a in actions if isinstance(a, Say))


@pytest.mark.parametrize("text, reply", [
    ("halo", "Halo."), ("Hallo?", "Halo."), ("halo halo", "Halo."),
    ("Selamat pagi, Bu!", "Selamat pagi."), ("Salamat pagi", "Selamat pagi."),
    ("halo, selamat siang pak", "Halo."), ("eh selamat malam mbak", "Selamat malam."),
    ("Assalamualaikum", "Waalaikumsalam."), ("assalamu'alaikum", "Waalaikumsalam."),
    ("Assalamualaikum warahmatullahi wabarakatuh", "Waalaikumsalam warahmatullahi wabarakatuh."),
    ("permisi", "Silakan."),
])
def test_greetings_alone_are_answered_in_kind(text, reply):
    assert greeting_reply(text) == reply
    assert reply in REPLIES


@pytest.mark.parametrize("text", ["selamat siang, saya mau buat KTP", "halo ktp saya hilang", "ya", "pak",
                                  "mohon maaf", "selamat", "pagi", "halo tolong", ""])
def test_anything_more_than_a_greeting_is_not_one(text):
    assert greeting_reply(text) is None


def started(script):
    e = DialogEngine(script, strict=True)
    e.handle(CallStarted())
    return e


def test_a_greeting_at_the_menu_is_answered_and_the_question_asked_again(script):
    e = started(script)
    menu = script.states["main_menu"].say[0].text
    out = e.handle(Heard(text="selamat pagi bu", intent="bansos", confidence=0.35))
    assert says(out) == f"Selamat pagi. {menu}"
    assert isinstance(out[-1], Listen) and e.state == "main_menu" and e.phase == "listening"
    assert e.last_turn.outcome == "no_match" and "Maksud Anda" not in says(out)
    # not a miss: the next misunderstanding still gets the first apology, not the keypad
    out = e.handle(Heard(text="blablabla"))
    assert "belum mengerti" in says(out) and "tombol" not in says(out).split(".")[0]
    assert "Selamat pagi." in script.static_prompts()


def test_a_greeting_with_a_request_is_the_request(script):
    e = started(script)
    e.handle(Heard(text="halo selamat siang, saya mau bikin ktp"))
    assert e.state == "info_ktp"


def test_after_a_long_answer_only_the_closing_question_follows(script):
    e = started(script)
    e.handle(Pressed("1"))
    e.handle(Pressed("1"))
    out = e.handle(Heard(text="halo"))
    assert says(out) == "Halo. " + script.states["info_ktp"].say[-1].text


def test_danger_words_come_before_a_greeting(script):
    e = started(script)
    out = e.handle(Heard(text="halo tolong ada kebakaran"))
    assert "112" in says(out) and not says(out).startswith("Halo.")
