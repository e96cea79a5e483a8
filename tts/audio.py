"""Audio helpers for synthesised speech: resampling (soxr) and WAV encoding."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import soxr

from tts.base import Audio

TELEPHONE_RATE = 8000


def resample(audio: Audio, rate: int, quality: str = "HQ") -> Audio:
    """Resample with soxr (its anti-aliasing filter), clipping to 16 bits."""
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    if audio.sample_rate == rate:
        return audio
    x = np.frombuffer(audio.pcm, dtype="<i2").astype(np.float32) / 32768.0
    y = soxr.resample(x, audio.sample_rate, rate, quality=quality)
    pcm = np.clip(np.round(y * 32768.0), -32768, 32767).astype("<i2").tobytes()
    return Audio(pcm, rate)


def float_to_pcm(samples: np.ndarray) -> bytes:
    """Float samples in -1..1 (any shape that flattens to mono) to 16-bit PCM."""
    y = np.asarray(samples, dtype=np.float64).reshape(-1)
    return np.clip(np.round(y * 32767.0), -32768, 32767).astype("<i2").tobytes()


def wav_bytes(audio: Audio) -> bytes:
    """A mono 16-bit PCM WAV file in memory."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.sample_rate)
        w.writeframes(audio.pcm)
    return buffer.getvalue()


def read_wav(source: str | Path | bytes) -> Audio:
    """Read a mono 16-bit PCM WAV (path or bytes); ValueError on anything else."""
    handle = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")
    try:
        with handle, wave.open(handle, "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise ValueError(
                    f"expected mono 16-bit PCM WAV, got {w.getnchannels()} channel(s) of {8 * w.getsampwidth()} bits"
                )
            frames = w.getnframes()
            pcm = w.readframes(frames)
            if len(pcm) != 2 * frames:
                raise ValueError(f"truncated WAV: {len(pcm) // 2} of {frames} samples")
            return Audio(pcm, w.getframerate())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a valid WAV file: {exc}") from exc
