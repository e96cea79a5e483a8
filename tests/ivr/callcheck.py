"""Helpers for whole-call tests: find a prompt's audio inside what the caller heard."""

from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve

RATE = 8000


def match_score(heard: bytes, segment: bytes) -> float:
    """Best normalised cross-correlation (0..1) of ``segment`` anywhere in ``heard``."""
    h = np.frombuffer(heard[: len(heard) // 2 * 2], dtype="<i2").astype(np.float64)
    s = np.frombuffer(segment[: len(segment) // 2 * 2], dtype="<i2").astype(np.float64)
    if s.size == 0 or h.size < s.size:
        return 0.0
    s = s - s.mean()
    corr = fftconvolve(h, s[::-1], mode="valid")
    csum = np.concatenate(([0.0], np.cumsum(h * h)))
    win = csum[s.size:] - csum[: -s.size]
    csum1 = np.concatenate(([0.0], np.cumsum(h)))
    mean = (csum1[s.size:] - csum1[: -s.size]) / s.size
    var = np.maximum(win - s.size * mean * mean, 1e-9)
    ncc = corr / (np.sqrt(var) * np.linalg.norm(s))
    return float(np.max(ncc))


def segment(pcm: bytes, start_s: float, end_s: float) -> bytes:
    return pcm[int(start_s * RATE) * 2: int(end_s * RATE) * 2]


def heard_seconds_after(heard: bytes, start_s: float, threshold: int = 200) -> float:
    """Seconds of non-silent audio in ``heard`` after ``start_s``."""
    x = np.frombuffer(heard[int(start_s * RATE) * 2:], dtype="<i2")
    n = x.size // 160
    if n == 0:
        return 0.0
    frames = np.abs(x[: n * 160].reshape(n, 160).astype(np.int32)).mean(axis=1)
    return float((frames > threshold).sum() * 0.02)


def frames_found(heard: bytes, prompt: bytes, start_s: float = 0.0, end_s: float = 3.0,
                 frame_bytes: int = 320) -> float:
    """Share of the prompt's non-silent 20 ms frames (as the controller sends them: slices of
    the prompt from its start) found byte for byte in what the caller heard."""
    first = int(start_s * 50)
    last = int(end_s * 50)
    frames = [prompt[i * frame_bytes:(i + 1) * frame_bytes] for i in range(first, last)]
    frames = [f for f in frames if len(f) == frame_bytes and np.abs(np.frombuffer(f, "<i2")).max() > 300]
    if not frames:
        return 0.0
    return sum(1 for f in frames if f in heard) / len(frames)
