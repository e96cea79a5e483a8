"""Expected phrases are scored as they are said: abbreviations letter by letter in Indonesian
("ktp" -> "ka te pe"), which is how Whisper-base writes what it hears on the line."""

import numpy as np
import pytest

from asr import Expectation
from tests import speechgen


@pytest.mark.parametrize("phrase,spoken", [
    ("mau buat ktp", "mau buat ka te pe"),
    ("kartu BPJS tidak aktif", "kartu be pe je es tidak aktif"),
    ("STNK mati", "es te en ka mati"),
    ("surat pindah rt/rw", "surat pindah er te/er we"),
    ("cara bikin e-ktp", "cara bikin e-ka te pe"),
    ("urus pbg untuk rumah", "urus pe be ge untuk rumah"),
    # acronyms said as words, and ordinary short words, stay as written
    ("bansos belum cair", "bansos belum cair"),
    ("lapor pungli", "lapor pungli"),
    ("ya dan tidak", "ya dan tidak"),
    ("kantor dukcapil", "kantor dukcapil"),
])
def test_abbreviations_are_written_as_their_letters_are_said(phrase, spoken):
    from asr.whisper_backend import styled_phrase

    assert styled_phrase(phrase) == styled_phrase(phrase, "spoken") == spoken
    assert styled_phrase(phrase, "as_is") == phrase


@pytest.mark.slow
def test_a_spoken_abbreviation_scores_as_said_not_as_written(whisper):
    """A caller saying "KTP" (espeak-ng spells it out, as people do) through the telephone
    chain: the phrase written as said scores clearly better than the script's spelling, and
    the recognizer prepares its sequences that way by default."""
    import dataclasses

    from asr import audio
    from asr.whisper_backend import PreparedExpectation

    eng = whisper.engine
    expect = Expectation({"ktp": ["ktp saya hilang"], "kk": ["kartu keluarga hilang"]}, kind="intent")
    default = eng.options
    preps = {}
    try:
        for style in ("spoken", "as_is"):
            eng.options = dataclasses.replace(default, phrase_style=style)
            preps[style] = PreparedExpectation(eng, expect)
    finally:
        eng.options = default
    assert default.phrase_style == "spoken"
    assert eng.tokenizer.decode(preps["spoken"].seqs[0][:-1]).strip() == "ka te pe saya hilang"
    margins = []
    for seed, (voice, rate, pitch) in enumerate([("id", 150, 50), ("id+m3", 140, 40), ("id+f2", 165, 60)]):
        pcm8 = speechgen.phone_utterance("KTP saya hilang", voice, rate, pitch, level_dbfs=-26, snr_db=25, seed=seed)
        pcm = audio.resample(pcm8, 8000, 16000)
        enc = np.asarray(eng.encode(pcm, eng.frames_for(len(pcm) / 32000, True)))[0]
        said = eng.score_phrases(enc, preps["spoken"])[0]
        written = eng.score_phrases(enc, preps["as_is"])[0]
        margins.append(said - written)
    assert min(margins) > 0.5, margins
