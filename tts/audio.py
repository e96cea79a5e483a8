"""Audio helpers for synthesised speech: resampling and WAV files, on `tts.Audio` values.

The conversions live in the leaf package ``pcm`` (shared with asr and the simulated Asterisk):
libsoxr on 16-bit samples, one clipping rule."""

from __future__ import annotations

import os

import pcm

from tts.base import Audio

TELEPHONE_RATE = 8000


def resample(audio: Audio, rate: int, quality: str = "HQ") -> Audio:
    """`audio` at `rate` Hz (libsoxr's anti-aliasing filter); the same object when it already
    is. ValueError (a `pcm.PcmError`) for a rate that is not positive."""
    if rate <= 0:
        raise pcm.PcmError(f"rate must be positive, got {rate}")
    if audio.sample_rate == rate:
        return audio
    return Audio(pcm.resample(audio.pcm, audio.sample_rate, rate, quality=quality), rate)


def wav_bytes(audio: Audio) -> bytes:
    """A mono 16-bit PCM WAV file in memory."""
    return pcm.wav_bytes(audio.pcm, audio.sample_rate)


def read_wav(source: str | os.PathLike[str] | bytes) -> Audio:
    """Read a WAV file (path or bytes) as mono 16-bit `Audio` (other sample formats and
    channel counts are converted); ValueError (a `pcm.PcmError`) when it is not a usable WAV."""
    data, rate = pcm.read_wav(source)
    return Audio(data, rate)
