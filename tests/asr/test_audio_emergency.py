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
