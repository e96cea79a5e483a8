"""Audio format helpers for recognition: G.711, resampling, WAV files, float samples.

The conversions themselves live in the leaf package ``pcm`` (shared with tts and the simulated
Asterisk); here they raise ``asr.AudioFormatError`` (an ``AsrError`` and a ``pcm.PcmError``)
for audio that cannot be used. Resampling is libsoxr's high-quality filter on 16-bit samples,
so 8 kHz output is properly band-limited; the recognizer's figures (bench/bench_asr.py) are
measured with exactly this path.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import pcm
from pcm import duration

from .base import AudioFormatError

__all__ = [
    "ulaw_encode", "ulaw_decode", "alaw_encode", "alaw_decode", "resample", "change_speed",
    "read_wav", "write_wav", "wav_bytes", "pcm_to_float", "float_to_pcm", "duration",
]

P = ParamSpec("P")
R = TypeVar("R")


def _asr_errors(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except pcm.PcmError as exc:
            if isinstance(exc, AudioFormatError):
                raise
            raise AudioFormatError(str(exc)) from exc

    return call


ulaw_encode = _asr_errors(pcm.ulaw_encode)
ulaw_decode = _asr_errors(pcm.ulaw_decode)
alaw_encode = _asr_errors(pcm.alaw_encode)
alaw_decode = _asr_errors(pcm.alaw_decode)
resample = _asr_errors(pcm.resample)
change_speed = _asr_errors(pcm.change_speed)
read_wav = _asr_errors(pcm.read_wav)
write_wav = _asr_errors(pcm.write_wav)
wav_bytes = _asr_errors(pcm.wav_bytes)
pcm_to_float = _asr_errors(pcm.pcm_to_float)
float_to_pcm = pcm.float_to_pcm
