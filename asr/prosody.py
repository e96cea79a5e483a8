"""How the last voiced sound before a silence ends: level or rising (the caller holds the
turn, "kartu keluarga saya, ...") or falling (a statement's end).

A cheap reading of the audio itself for the end-of-turn decision (``asr.endpointing``): the
pitch of 40 ms frames (10 ms apart) by normalised autocorrelation, the voiced frames of the
last ``TAIL_S`` of voicing fitted with a line (octaves per second), and the pitch at the very
end against the median pitch of the audio (octaves). A speaker who pauses mid-request keeps
the pitch level or lets it rise a little (a continuation rise); the end of a statement falls.
Pitch errors (octave jumps, creak, noise) show as steep slopes or ends far from the median:
those are not read as a continuation.

Pure numpy; ~1-2 ms for a few seconds of 8 kHz audio. Not part of the recognizer (its results
and fingerprint do not depend on this module).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WIN_S = 0.04
HOP_S = 0.01
F0_MIN, F0_MAX = 70.0, 350.0
VOICED_AT = 0.6  # normalised autocorrelation peak of a voiced frame
LOUD_DB = 30.0  # voiced frames are at most this far below the loudest frame
TAIL_S = 0.25  # the last voicing read for the slope
MAX_S = 6.0  # only the last seconds of the audio are read (bounded cost on long turns)
# a continuation: a gentle rise (octaves/s) ending near the speaker's median pitch; chosen on
# bench_endpointing's pauses-dev (docs/understanding.md, "Phase 6 (helper turn)")
RISE_MIN, RISE_MAX = 0.2, 2.0
NEAR_MEDIAN = 0.2  # octaves


@dataclass(frozen=True)
class Ending:
    slope: float  # octaves per second over the last voicing
    level: float  # octaves of the final pitch above the median pitch

    @property
    def continues(self) -> bool:
        """Level or gently rising, near the speaker's usual pitch: the turn looks held."""
        return RISE_MIN < self.slope < RISE_MAX and abs(self.level) < NEAR_MEDIAN


def _frames(x: np.ndarray, win: int, hop: int) -> np.ndarray:
    n = 1 + (x.size - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    out: np.ndarray = x[idx]
    return out


def pitch_track(pcm: bytes, sample_rate: int = 8000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: pitch (Hz), level (dB) and voicing (autocorrelation peak, 0..1)."""
    x = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    win, hop = int(WIN_S * sample_rate), int(HOP_S * sample_rate)
    if x.size < win:
        z = np.zeros(0)
        return z, z, z
    f = _frames(x, win, hop)
    f = f - f.mean(axis=1, keepdims=True)
    level = 10 * np.log10(np.mean(f * f, axis=1) + 1e-9)
    spec = np.fft.rfft(f, 2 * win, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :win]
    lo, hi = int(sample_rate / F0_MAX), int(sample_rate / F0_MIN)
    energy = ac[:, :1]
    ok = energy[:, 0] > 0
    r = np.where(energy > 0, ac[:, lo:hi] / np.where(energy > 0, energy, 1.0), 0.0)
    r = r * (win / (win - np.arange(lo, hi)))[None, :]  # unbias the longer lags
    best = r.max(axis=1)
    # octave errors: the shortest lag with a local peak near the best one
    peak = np.zeros_like(r, dtype=bool)
    peak[:, 1:-1] = (r[:, 1:-1] >= r[:, :-2]) & (r[:, 1:-1] >= r[:, 2:])
    near = peak & (r >= 0.85 * best[:, None])
    k = np.where(near.any(axis=1), near.argmax(axis=1), r.argmax(axis=1))
    voicing = np.where(ok, r[np.arange(r.shape[0]), k], 0.0)
    f0 = sample_rate / (lo + k)
    return f0, level, voicing


def ending(pcm: bytes, sample_rate: int = 8000) -> Ending | None:
    """How the voiced audio in ``pcm`` ends; None with too little voicing to tell."""
    pcm = pcm[-int(MAX_S * sample_rate) * 2:]
    f0, level, voicing = pitch_track(pcm, sample_rate)
    if f0.size == 0:
        return None
    voiced = np.nonzero((voicing > VOICED_AT) & (level > level.max() - LOUD_DB))[0]
    if voiced.size < 8:
        return None
    tail = voiced[voiced > voiced[-1] - int(TAIL_S / HOP_S)]
    octaves = np.log2(f0)
    median = float(np.median(octaves[voiced]))
    slope = float(np.polyfit(tail * HOP_S, octaves[tail], 1)[0]) if tail.size >= 3 else 0.0
    return Ending(slope=slope, level=float(np.median(octaves[tail][-6:])) - median)
