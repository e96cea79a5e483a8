"""Honest confidence: what ivr.understand passes to the dialog, and the recognizer's two-stage
scoring of large expectations (real Whisper decoding on telephone-quality espeak-ng speech)."""

import numpy as np
import pytest

from asr import Transcript
from tests import speechgen

YESNO = ["yes", "no"]


def _fuse(text, scores, kind="yesno", labels=YESNO, script=None):
    from ivr.understand import fuse

    matcher = None if script is None else (script.yesno_matcher if kind == "yesno" else script.matcher)
    return fuse(Transcript(text=text, confidence=max(scores.values()), scores=scores), kind, labels, matcher)


def test_unsure_yes_no_is_not_passed_on_as_an_answer(script):
    # the scoring leans to "yes" but the transcript says neither: the dialog must ask again
    u = _fuse("berharga", {"yes": 0.7, "no": 0.3}, script=script)
    assert u.intent is None
    assert u.confidence < script.settings.confirm


def test_transcript_words_decide_a_yes_no_against_the_scoring(script):
    u = _fuse("Tidak.", {"yes": 0.75, "no": 0.25}, script=script)
    assert u.intent == "no" and script.settings.confirm <= u.confidence < 0.9
    agree = _fuse("Iya, betul.", {"yes": 0.7, "no": 0.3}, script=script)
    assert agree.intent == "yes" and agree.confidence >= 0.9


def test_confident_scoring_answers_alone(script):
    u = _fuse("hmm", {"yes": 0.05, "no": 0.95}, script=script)
    assert u.intent == "no" and u.confidence >= 0.8


def test_menu_labels_yield_to_services():
    from ivr.understand import fuse

    labels = ["pajak_kendaraan", "pbb", "menu_pajak"]
    tr = Transcript(text="", confidence=0.45, scores={"pajak_kendaraan": 0.35, "pbb": 0.2, "menu_pajak": 0.45})
    u = fuse(tr, "intent", labels)
    assert u.intent == "pajak_kendaraan"
    assert u.confidence < 0.6  # still not sure enough to skip the confirmation
    # a menu label that clearly wins keeps its place
    tr2 = Transcript(text="", confidence=0.95, scores={"pajak_kendaraan": 0.02, "pbb": 0.03, "menu_pajak": 0.95})
    assert fuse(tr2, "intent", labels).intent == "menu_pajak"


def test_fitted_encoder_windows(whisper):
    eng = whisper.engine
    assert eng.frames_for(1.2, fit=True) == 400
    assert eng.frames_for(3.5, fit=True) == 600
    assert eng.frames_for(8.5, fit=True) == 1000
    assert eng.frames_for(12.0, fit=True) == 1300
    assert eng.frames_for(1.2) == 1000  # the fixed window (free decoding, small expectations)


@pytest.mark.slow
def test_two_stage_scoring_keeps_every_label_in_the_posterior(whisper, main_menu):
    """The main menu is scored in two stages; labels not rescored keep their first-stage score,
    so none is dropped from the posterior (dropping them inflated confidence), and the winner
    is the one full scoring of every phrase picks."""
    from asr import audio

    eng = whisper.engine
    prep = eng.prepared(main_menu)
    assert prep.large and 0 < prep.stage1.sum() < len(prep.items)
    pcm8 = speechgen.phone_utterance("pajak motor saya sudah telat", "id", 150, 50, level_dbfs=-26, snr_db=25)
    pcm = audio.resample(pcm8, 8000, 16000)
    tr = eng.recognize(pcm, prep)
    assert tr.best_label == "pajak_kendaraan"
    assert min(tr.scores.values()) > 0.0
    assert sum(tr.scores.values()) == pytest.approx(1.0)
    enc = np.asarray(eng.encode(pcm, eng.frames_for(len(pcm) / 32000, True)))[0]
    full = eng.score_phrases(enc, prep)
    best_full = prep.labels[int(prep.label_of[int(np.nanargmax(full))])]
    assert best_full == "pajak_kendaraan"
