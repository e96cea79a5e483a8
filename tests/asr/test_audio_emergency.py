"""The audio emergency readings (asr.audio_emergency) and their place on the recognizer's
transcript."""

from __future__ import annotations

import numpy as np
import pytest

from asr import EmergencyAudio
from asr.audio_emergency import DEFAULT_PATH, AudioEmergencyModel
from tests import speechgen


def _toy(bias: float = 0.0) -> AudioEmergencyModel:
    one = np.ones(2, np.float32)
    return AudioEmergencyModel(label="darurat", mean=np.zeros(2, np.float32), scale=one,
                               coef=np.array([1.0, -1.0], np.float32), bias=bias,
                               intent_labels=("ktp", "darurat"), intent_mean=np.zeros(2, np.float32),
                               intent_scale=one, intent_coef=np.array([[0.0, 0.0], [1.0, 0.0]], np.float32),
                               intent_bias=np.zeros(2, np.float32))


def test_the_head_is_a_logistic_unit_and_the_intent_a_softmax_over_its_labels(tmp_path):
    m = _toy()
    assert np.isclose(m.head(np.array([2.0, 2.0])), 0.5)
    assert np.isclose(m.head(np.array([3.0, 1.0])), 1 / (1 + np.exp(-2)))
    assert np.isclose(m.intent(np.array([np.log(3.0), 0.0])), 0.75)
    rows = m.head(np.array([[2.0, 2.0], [3.0, 1.0]]))
    assert rows.shape == (2,)
    m.save(tmp_path / "m.npz")
    back = AudioEmergencyModel.load(tmp_path / "m.npz")
    assert back is not None and back.label == "darurat" and back.intent_labels == ("ktp", "darurat")
    assert AudioEmergencyModel.load(tmp_path / "missing.npz") is None


def test_the_shipped_model_is_small_and_speaks_for_the_emergency_label(main_menu):
    assert DEFAULT_PATH.stat().st_size < 1_000_000
    m = AudioEmergencyModel.load()
    assert m is not None and m.label == "darurat" and m.label in main_menu.labels
    assert m.coef.shape == m.mean.shape and m.intent_coef.shape == (len(m.intent_labels), m.mean.size)


@pytest.mark.slow
def test_the_recognizer_puts_both_readings_on_a_menu_transcript_only(whisper, main_menu, yesno):
    """An emergency and a passing mention said in a voice variant and rate of their own, through
    8 kHz mu-law: the head hears the emergency far above the passing mention; a yes/no listen
    (no emergency label) gets no reading."""
    from asr import audio

    eng = whisper.engine
    prep = eng.prepared(main_menu)

    def heard(text: str) -> EmergencyAudio:
        pcm = audio.resample(speechgen.phone_utterance(text, "id+m3", 150, 45, level_dbfs=-26, snr_db=20),
                             8000, 16000)
        got = eng.recognize(pcm, prep).emergency_audio
        assert got is not None
        return got

    fire = heard("tolong, gudang sebelah rumah saya terbakar, apinya besar")
    passing = heard("saya mau urus akta kelahiran, yang lama rusak kena banjir tahun lalu")
    assert fire.head > 0.6 > passing.head, (fire, passing)
    pcm = audio.resample(speechgen.phone_utterance("ya benar", "id+m3", 150, 45), 8000, 16000)
    assert eng.recognize(pcm, eng.prepared(yesno)).emergency_audio is None


def test_the_intent_reading_is_the_recognizers_own_classifier_over_the_expectations_labels():
    """Since phase 6 (emerg3): with the recognizer's audio intent classifier (the convolution over
    the encoder frames) knowing the expectation's labels, ``intent`` is that classifier's own
    darurat posterior (its log_proba renormalised over the labels), not the frozen copy's; the
    frozen copy answers only where there is no such classifier."""
    from asr.audio_intent import AudioIntentModel, pool

    head = AudioEmergencyModel.load()
    clf = AudioIntentModel.load()
    assert head is not None and clf is not None and clf.conv_coef is not None
    rng = np.random.default_rng(7)
    enc = rng.normal(0.0, 0.5, size=(200, head.mean.size // 3)).astype(np.float32)
    labels = [lab for lab in clf.labels if lab != "menu_pajak"]
    got = head.of_encoding(enc, 3.0, clf, labels)
    want = float(np.exp(clf.log_proba(clf.features(enc, 3.0), labels)[labels.index("darurat")]))
    frozen = float(head.intent(pool(enc, 3.0)))
    assert np.isclose(got.intent, want, atol=1e-6) and not np.isclose(want, frozen, atol=1e-3)
    assert np.isclose(got.head, float(head.head(pool(enc, 3.0))), atol=1e-6)
    # no classifier, or one that does not know the labels: the frozen copy
    assert np.isclose(head.of_encoding(enc, 3.0).intent, frozen, atol=1e-6)
    assert np.isclose(head.of_encoding(enc, 3.0, clf, [*labels, "unknown"]).intent, frozen, atol=1e-6)


def test_the_recognizer_hands_its_classifier_to_the_emergency_readings():
    """WhisperEngine.emergency_audio reads the intent with the engine's own audio_intent."""
    from types import SimpleNamespace

    from asr.audio_intent import AudioIntentModel
    from asr.whisper_backend import WhisperEngine

    head = AudioEmergencyModel.load()
    clf = AudioIntentModel.load()
    eng = object.__new__(WhisperEngine)
    eng.audio_emergency, eng.audio_intent = head, clf
    labels = list(clf.labels)
    enc = np.random.default_rng(3).normal(0.0, 0.5, size=(150, head.mean.size // 3)).astype(np.float32)
    got = eng.emergency_audio(enc, 2.5, SimpleNamespace(fit_window=True, labels=labels))
    assert got == head.of_encoding(enc, 2.5, clf, labels)
    assert eng.emergency_audio(enc, 2.5, SimpleNamespace(fit_window=True, labels=["ya", "tidak"])) is None


def test_the_recognizer_runs_the_classifier_once_for_the_fusion_and_the_emergency_reading():
    """With the emergency readings on, the audio intent classifier's log-posteriors are computed
    once per utterance: the fusion's adjustment and the emergency ``intent`` both read them, and
    both equal what each computed on its own before."""
    from types import SimpleNamespace

    from asr.audio_intent import AudioIntentModel
    from asr.whisper_backend import WhisperEngine

    head = AudioEmergencyModel.load()
    clf = AudioIntentModel.load()
    assert head is not None and clf is not None
    labels = [lab for lab in clf.labels if lab != "menu_pajak"]
    enc = np.random.default_rng(11).normal(0.0, 0.5, size=(180, head.mean.size // 3)).astype(np.float32)
    calls = []

    class Counting(AudioIntentModel):
        def features(self, e: np.ndarray, seconds: float) -> np.ndarray:
            calls.append(seconds)
            return super().features(e, seconds)

    counting = Counting(**{f: getattr(clf, f) for f in clf.__dataclass_fields__})
    lp = counting.log_posteriors(enc, 2.8, labels)
    adj = counting.adjustment_of(lp)
    eng = object.__new__(WhisperEngine)
    eng.audio_emergency, eng.audio_intent = head, counting
    got = eng.emergency_audio(enc, 2.8, SimpleNamespace(fit_window=True, labels=labels), lp)
    assert len(calls) == 1  # the emergency reading did not run the classifier again
    assert adj is not None and np.allclose(adj, clf.adjustment(enc, 2.8, labels), atol=0, rtol=0)
    assert got == head.of_encoding(enc, 2.8, clf, labels)
    assert counting.log_posteriors(enc, 2.8, [*labels, "unknown"]) is None
