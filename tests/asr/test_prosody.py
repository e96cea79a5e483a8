"""How the voice ends (asr.prosody): a level or gently rising last sound holds the turn, a
falling one closes it; on synthetic tones and on espeak-ng telephone speech."""

import numpy as np
import pytest

from asr.prosody import Ending, ending
from tests import speechgen

RATE = 8000


def _voiced(f0: np.ndarray) -> bytes:
    """A voiced-like sound (harmonics of ``f0``, one value per sample) as 16-bit PCM."""
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 8))
    return (x / np.abs(x).max() * 8000).astype(np.int16).tobytes()


def _contour(end_hz: float) -> bytes:
    # one second level at 150 Hz, then 300 ms gliding to end_hz, then 300 ms of silence
    glide = np.linspace(150.0, end_hz, int(0.3 * RATE))
    return _voiced(np.concatenate([np.full(RATE, 150.0), glide])) + bytes(int(0.3 * RATE) * 2)


def test_a_gentle_rise_continues_and_a_fall_closes():
    rise, fall = ending(_contour(165.0)), ending(_contour(110.0))
    assert rise is not None and rise.continues, rise
    assert fall is not None and not fall.continues and fall.slope < 0, fall


def test_a_jump_far_from_the_speakers_pitch_is_not_read_as_a_continuation():
    # an octave error or a squeak: steep and far from the median
    assert not ending(_contour(300.0)).continues


def test_silence_and_too_little_voicing_tell_nothing():
    assert ending(bytes(RATE * 2)) is None
    assert ending(b"") is None
    assert ending(_voiced(np.full(int(0.05 * RATE), 150.0))) is None


def test_the_band_is_what_continues_means():
    assert Ending(slope=0.8, level=0.05).continues
    assert not Ending(slope=-0.8, level=-0.3).continues
    assert not Ending(slope=5.0, level=0.05).continues
    assert not Ending(slope=0.8, level=0.6).continues


@pytest.mark.parametrize("voice", [1, 2, 3])
@pytest.mark.parametrize("words", ["kartu keluarga saya", "jalan di depan rumah saya rusak"])
def test_espeak_speech_paused_on_a_comma_continues_and_its_sentence_end_closes(voice, words):
    name, rate, pitch = speechgen.VOICES[voice]
    held = ending(speechgen.phone_utterance(words + ",", name, rate, pitch, seed=voice, pad_s=0.3))
    closed = ending(speechgen.phone_utterance(words, name, rate, pitch, seed=voice, pad_s=0.3))
    assert held is not None and held.continues, held
    assert closed is not None and not closed.continues, closed
