"""When a stream starts its speculative final decode: after ``speculate_idle_ms`` of trailing
silence when no other final decode is in flight, after ``speculate_after_ms`` otherwise.

The recognizer and engine are stand-ins (no model): the test is about the stream's trigger,
fed real espeak-ng speech at 8 kHz so that webrtcvad hears a voice."""

from __future__ import annotations

from concurrent.futures import Future
from types import SimpleNamespace

import pytest

from asr import Expectation
from asr.whisper_backend import WhisperOptions, WhisperStream
from tests import speechgen


class _Rec:
    """Stands for WhisperRecognizer: records when decodes are submitted, and whether others run."""

    def __init__(self, options: WhisperOptions, others_in_flight: int) -> None:
        self.engine = SimpleNamespace(options=options, prepared=lambda expect: object())
        self.others = others_in_flight
        self.submitted: list[int] = []  # the stream's trailing silence (ms) at each submission
        self.stream: WhisperStream | None = None

    def idle(self) -> bool:
        return self.others == 0

    def busy(self) -> bool:
        return self.others > 1

    def submit(self, fn, *args) -> Future:
        assert self.stream is not None
        self.submitted.append(self.stream._trailing_ms)
        return Future()  # never run: only the trigger is under test


def _final_trigger(options: WhisperOptions, others: int) -> int | None:
    """The trailing silence (ms, counted from the last voiced frame) at which the stream
    submitted the decode that stands at the end of the audio."""
    rec = _Rec(options, others)
    stream = WhisperStream(rec, 8000, Expectation({"ktp": ("ktp",), "kk": ("kartu keluarga",)}))  # type: ignore[arg-type]
    rec.stream = stream
    pcm = speechgen.phone_utterance("saya mau mengurus ktp yang hilang", "id", 160, 50, snr_db=None)
    pcm += bytes(8000 * 2 // 2)  # 500 ms of silence after the speech
    for i in range(0, len(pcm), 320):  # 20 ms at a time, as the media delivers it
        stream.accept(pcm[i:i + 320])
    return rec.submitted[-1] if rec.submitted and stream._spec is not None else None


@pytest.mark.parametrize("others", [0, 1, 3])
def test_an_idle_recognizer_speculates_sooner(others):
    o = WhisperOptions(speculate_after_ms=160, speculate_idle_ms=120)
    assert _final_trigger(o, others) == (120 if others == 0 else 160)  # others in flight: the usual wait
    assert _final_trigger(WhisperOptions(speculate_after_ms=160, speculate_idle_ms=0), others) == 160


def test_idle_wait_longer_than_the_usual_one_changes_nothing():
    o = WhisperOptions(speculate_after_ms=160, speculate_idle_ms=400)
    assert _final_trigger(o, 0) == 160
