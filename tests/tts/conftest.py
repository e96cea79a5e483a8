"""Shared helpers for the tts tests: measure real audio, never compare to canned bytes."""

from __future__ import annotations

import numpy as np
import pytest

from tts import EspeakSynthesizer


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def rms_dbfs(pcm: bytes) -> float:
    x = samples(pcm)
    return 20 * np.log10(max(np.sqrt(np.mean(x**2)), 1e-9) / 32768)


def median_f0(pcm: bytes, rate: int, fmin: float = 60, fmax: float = 400) -> float:
    """Median fundamental frequency over voiced 40 ms frames (autocorrelation)."""
    x = samples(pcm)
    n = int(0.04 * rate)
    f0s = []
    for start in range(0, len(x) - n, n):
        frame = x[start : start + n]
        frame = frame - frame.mean()
        if np.sqrt(np.mean(frame**2)) < 500:
            continue
        ac = np.correlate(frame, frame, mode="full")[n - 1 :]
        lo, hi = int(rate / fmax), int(rate / fmin)
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.3 * ac[0]:
            f0s.append(rate / lag)
    assert f0s, "no voiced frames found"
    return float(np.median(f0s))


@pytest.fixture(scope="session")
def espeak() -> EspeakSynthesizer:
    return EspeakSynthesizer("id")
