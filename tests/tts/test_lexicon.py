"""Pronunciation fixes for espeak-ng's Indonesian voice, checked against the real library."""

from __future__ import annotations

import pytest

from tests.tts.conftest import samples
from tts import EspeakSynthesizer
from tts.espeak_lexicon import TALING, Respeller, fix_word


@pytest.mark.parametrize(
    "word, wrong, right",
    [
        ("enam", "'Enam", "@n'am"),
        ("empat", "'Empat", "@mp'at"),
        ("belas", "b'Elas", "b@l'as"),
        ("tekan", "t'Ekan", "t@k'an"),
        ("dengan", "d'ENan", "d@N'an"),
    ],
)
def test_pepet_words_get_a_schwa(espeak: EspeakSynthesizer, word: str, wrong: str, right: str) -> None:
    raw = espeak.phonemes(word, ipa=False)
    assert raw == wrong  # what espeak-ng 1.52 says by itself (if this changes, revisit the fix)
    assert fix_word(word, raw) == right


def test_sy_becomes_sh(espeak: EspeakSynthesizer) -> None:
    raw = espeak.phonemes("masyarakat", ipa=False)
    assert "C" in raw
    assert fix_word("masyarakat", raw, pepet=False) == raw.replace("C", "S")
    assert espeak.respelled("Syarat untuk masyarakat") == f"[[{fix_word('syarat', espeak.phonemes('syarat', ipa=False))}]] untuk [[{raw.replace('C', 'S')}]]"


@pytest.mark.parametrize("word", ["meja", "besok", "desa", "telepon", "menit"])
def test_taling_words_are_left_alone(espeak: EspeakSynthesizer, word: str) -> None:
    assert word in TALING
    assert fix_word(word, espeak.phonemes(word, ipa=False)) is None


@pytest.mark.parametrize("word", ["satu", "tiga", "selamat", "pelayanan", "kembali"])
def test_correct_words_are_left_alone(espeak: EspeakSynthesizer, word: str) -> None:
    assert fix_word(word, espeak.phonemes(word, ipa=False)) is None


def test_respelled_text_keeps_other_words(espeak: EspeakSynthesizer) -> None:
    out = espeak.respelled("Tekan 6 untuk layanan KTP.")
    assert out == "Tekan enam untuk layanan ka te pe."  # pepet fix is off by default
    pepet = EspeakSynthesizer("id", pepet=True).respelled("Tekan 6 untuk layanan KTP, masyarakat.")
    assert pepet == "[[t@k'an]] [[@n'am]] untuk layanan ka te pe, [[m,aSaR2'akat]]."


def test_respeller_memoises() -> None:
    calls: list[str] = []

    def phonemize(word: str) -> str:
        calls.append(word)
        return "'Enam" if word == "enam" else "x"

    r = Respeller(phonemize, pepet=True)
    assert r.respell("enam Enam ENAM") == "[[@n'am]] [[@n'am]] [[@n'am]]"
    assert calls == ["enam"]


def test_fixes_change_the_audio_and_can_be_switched_off() -> None:
    fixed = EspeakSynthesizer("id", pepet=True).synthesize_sync("enam")
    plain = EspeakSynthesizer("id", fix_pronunciation=False).synthesize_sync("enam")
    assert fixed.sample_rate == plain.sample_rate
    # same word length, different vowel: the waveforms differ substantially
    n = min(fixed.samples, plain.samples)
    a, b = samples(fixed.pcm)[:n], samples(plain.pcm)[:n]
    assert abs(fixed.samples - plain.samples) < 0.5 * plain.samples
    assert ((a - b) ** 2).mean() > 0.1 * (b**2).mean()


def test_phoneme_input_is_not_read_aloud(espeak: EspeakSynthesizer) -> None:
    """If the [[...]] markup were spoken as text the audio would be much longer."""
    fixed = EspeakSynthesizer("id", pepet=True).synthesize_sync("tekan enam")
    plain = EspeakSynthesizer("id", fix_pronunciation=False).synthesize_sync("tekan enam")
    assert fixed.duration < 1.3 * plain.duration
