"""The closing question after an answer ("Ada lagi yang bisa kami bantu?") is answered "ya" or
"tidak" as often as with a request: "ya" asks what (the main menu's question), "tidak" ends the
call politely. Before, both were "Maaf, saya belum mengerti" and a second one the keypad
prompt, and "ada lagi" (there is more) ended the call as "selesai"."""

from __future__ import annotations

import pytest

from dialogs import CallStarted, DialogEngine, EndCall, Heard, Say


def says(actions) -> str:
    return " ".join(a.text for a in actions if isinstance(a, Say))


def answered(script) -> DialogEngine:
    e = DialogEngine(script, strict=True)
    e.handle(CallStarted())
    e.handle(Heard(text="saya mau bikin ktp"))
    assert e.state == "info_ktp"
    return e


@pytest.mark.parametrize("words", ["ya", "iya", "masih ada", "ada lagi"])
def test_yes_asks_what_else(script, words):
    e = answered(script)
    out = e.handle(Heard(text=words))
    assert e.state == "main_menu" and says(out).startswith("Silakan sebutkan keperluan Anda")


@pytest.mark.parametrize("words", ["tidak", "enggak", "tidak ada", "sudah"])
def test_no_ends_the_call_politely(script, words):
    e = answered(script)
    out = e.handle(Heard(text=words))
    assert e.state == "goodbye" and says(out).startswith("Terima kasih telah menghubungi")
    assert any(isinstance(a, EndCall) for a in out)


def test_the_recognizers_yes_and_no(script):
    e = answered(script)
    e.handle(Heard("Ya.", 0.8, intent="yes"))
    assert e.state == "main_menu"
    e = answered(script)
    e.handle(Heard("Tidak.", 0.8, intent="no"))
    assert e.state == "goodbye"


@pytest.mark.parametrize("label", ["yes", "no"])
def test_an_unsure_yes_or_no_is_not_asked_about_nor_taken(script, label):
    # "saya harus ke mana" heard as "Hayah-Harrus kemala", yes at 0.37: no "Maksud Anda ...?"
    e = answered(script)
    out = e.handle(Heard("Hayah-Harrus kemala", 0.37, intent=label))
    assert e.state == "info_ktp" and e.phase == "listening" and "Maksud Anda" not in says(out)
    assert not any(isinstance(a, EndCall) for a in out)


def test_requests_with_those_words_are_requests(script):
    for words, state in (("ya syaratnya apa", "info_ktp"), ("tidak punya kk bagaimana", "info_kk"),
                         ("tidak, saya mau lapor jalan rusak", "complaint_location")):
        e = answered(script)
        e.handle(Heard(text=words))
        assert e.state == state, words
