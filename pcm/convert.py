"""Samples, the clipping rule, resampling and speed change (libsoxr)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import soxr

from pcm.errors import PcmError

FULL_SCALE = 32768.0


def samples(pcm: bytes) -> npt.NDArray[np.int16]:
    """16-bit little-endian PCM as an int16 array (a view, no copy)."""
    if len(pcm) % 2:
        raise PcmError(f"16-bit PCM must have an even byte count, got {len(pcm)} bytes")
    return np.frombuffer(pcm, dtype="<i2")


def clip16(values: npt.ArrayLike) -> bytes:
    """Samples already in 16-bit units -> PCM: rounded half to even, clipped to 16 bits."""
    return np.clip(np.round(np.asarray(values, dtype=np.float64)), -32768, 32767).astype("<i2").tobytes()


def float_to_pcm(x: npt.ArrayLike) -> bytes:
    """Float samples (full scale 1.0; any shape, flattened) -> 16-bit PCM: the clipping rule,
    ``round(x * 32768)`` clipped to -32768..32767."""
    return clip16(np.asarray(x, dtype=np.float64).reshape(-1) * FULL_SCALE)


def pcm_to_float(pcm: bytes) -> npt.NDArray[np.float32]:
    """16-bit PCM -> float32 in [-1, 1)."""
    return samples(pcm).astype(np.float32) / np.float32(FULL_SCALE)


def resample(pcm: bytes, src: int, dst: int, quality: str = "HQ") -> bytes:
    """Resample 16-bit PCM from `src` to `dst` Hz with libsoxr (anti-aliased; its 16-bit
    output is rounded and clipped). Returns the input when the rates match."""
    if src <= 0 or dst <= 0:
        raise PcmError(f"sample rates must be positive, got {src} -> {dst}")
    x = samples(pcm)
    if src == dst or x.size == 0:
        return bytes(pcm)
    return np.asarray(soxr.resample(x, src, dst, quality=quality), dtype="<i2").tobytes()


def change_speed(pcm: bytes, factor: float, quality: str = "HQ") -> bytes:
    """Play 16-bit PCM ``factor`` times as fast, pitch moving with it (tape-speed change, as in
    speech-recognition speed perturbation): 0.9 is 11% longer and lower."""
    if factor <= 0:
        raise PcmError(f"speed factor must be positive, got {factor}")
    x = samples(pcm)
    if factor == 1.0 or x.size == 0:
        return bytes(pcm)
    return np.asarray(soxr.resample(x, 16000 * factor, 16000, quality=quality), dtype="<i2").tobytes()


def duration(pcm: bytes, sample_rate: int) -> float:
    """Seconds of 16-bit mono PCM at `sample_rate`."""
    return len(pcm) / 2 / sample_rate
