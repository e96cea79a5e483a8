"""What a telephone line does to a caller's voice, for the bench's synthetic speech.

Clean speech (float samples at the synthesiser's rate) -> optional speakerphone room echo ->
300-3400 Hz band, 8 kHz -> level -> optional noise (pink, white hiss, babble from other
synthetic speech, street, mains hum) at an SNR -> optional clipping -> G.711 (mu-law or A-law)
-> optional packet loss (20 ms frames dropped in bursts, concealed by repeating the last good
frame with fading, or by silence) -> 16-bit PCM at 8 kHz.

Every step is deterministic for a given :class:`Chain` (its ``seed`` drives every random
choice), so the audio is a pure function of (clean speech, chain). ``Chain.key()`` is part of
the bench's audio cache key (bench/speechset.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
import soxr
from scipy.signal import butter, fftconvolve, sosfilt

RATE = 8000
FRAME = RATE // 50  # 20 ms
NOISES = ("none", "pink", "white", "babble", "street", "hum")


@dataclass(frozen=True)
class Chain:
    level_dbfs: float = -26.0  # active speech level
    noise: str = "pink"  # one of NOISES
    snr_db: float = 20.0
    echo_rt60_s: float = 0.0  # speakerphone: room reverberation time (0: none)
    echo_mix: float = 0.5  # reverberant to direct energy ratio
    clip_db: float = 0.0  # >0: peaks clipped this many dB below the speech's own peak
    codec: str = "ulaw"  # "ulaw" | "alaw"
    loss: float = 0.0  # share of 20 ms frames lost
    loss_burst: float = 1.5  # mean frames per loss burst (Gilbert model)
    concealment: str = "repeat"  # "repeat" (fade the last good frame) | "zero"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.noise not in NOISES:
            raise ValueError(f"unknown noise {self.noise!r}; use one of {NOISES}")
        if self.codec not in ("ulaw", "alaw"):
            raise ValueError("codec must be ulaw or alaw")
        if self.concealment not in ("repeat", "zero"):
            raise ValueError("concealment must be repeat or zero")
        if not 0.0 <= self.loss < 0.5:
            raise ValueError("loss must be in [0, 0.5)")

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def describe(self) -> dict:
        d = {"noise": self.noise, "level_dbfs": self.level_dbfs}
        if self.noise != "none":
            d["snr_db"] = self.snr_db
        if self.echo_rt60_s:
            d["echo_rt60_s"] = self.echo_rt60_s
        if self.clip_db:
            d["clip_db"] = self.clip_db
        if self.loss:
            d["loss"] = self.loss
            d["concealment"] = self.concealment
        d["codec"] = self.codec
        return d


@functools.lru_cache(maxsize=4)
def _bandpass(rate: int):
    return butter(4, [300, 3400], btype="bandpass", fs=rate, output="sos")


def _rng(chain: Chain, what: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{chain.seed}:{what}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def active_rms(x: np.ndarray, frame: int = 160) -> float:
    """RMS over the frames within 30 dB of the loudest (speech level, not silence-diluted)."""
    n = x.size // frame
    if n == 0:
        return float(np.sqrt(np.mean(x**2))) if x.size else 0.0
    e = np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)
    if e.max() <= 0:
        return 0.0
    return float(np.sqrt(e[e >= e.max() * 1e-3].mean()))


def room_echo(x: np.ndarray, rate: int, rt60: float, mix: float, rng: np.random.Generator) -> np.ndarray:
    """A phone on a table in a small room: exponentially decaying noise as the room's impulse
    response (RT60 ``rt60``), a 10-30 ms first reflection, ``mix`` reverberant/direct energy."""
    n = int(rate * rt60 * 1.2)
    t = np.arange(n) / rate
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    tail[: int(0.004 * rate)] = 0.0
    first = int(rng.uniform(0.010, 0.030) * rate)
    tail[first] += 3.0 * np.abs(tail).max()
    tail *= np.sqrt(mix / (np.sum(tail**2) + 1e-12))
    h = np.zeros(n)
    h[0] = 1.0
    h += tail
    return fftconvolve(x, h)[: x.size + n // 2]


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spec / np.sqrt(f), n)


def street(n: int, rng: np.random.Generator) -> np.ndarray:
    """Traffic: brown rumble, slow swells of passing vehicles, an occasional horn."""
    brown = np.cumsum(rng.standard_normal(n))
    brown -= np.convolve(brown, np.ones(801) / 801, mode="same")  # no DC drift
    t = np.arange(n) / RATE
    swell = np.ones(n)
    for _ in range(max(1, int(n / RATE / 3))):
        c, w = rng.uniform(0, n / RATE), rng.uniform(0.8, 2.5)
        swell += 2.5 * np.exp(-0.5 * ((t - c) / (w / 2)) ** 2)
    out = brown / (np.std(brown) + 1e-12) * swell + 0.3 * pink(n, rng) / (np.std(pink(n, rng)) + 1e-12)
    if rng.random() < 0.6:  # a horn: two harmonics for 0.3-0.6 s
        c, d, f0 = rng.uniform(0, n / RATE), rng.uniform(0.3, 0.6), rng.uniform(380, 520)
        m = (t >= c) & (t < c + d)
        out[m] += 2.0 * (np.sin(2 * np.pi * f0 * t[m]) + 0.5 * np.sin(4 * np.pi * f0 * t[m]))
    return out


def hum(n: int, rng: np.random.Generator) -> np.ndarray:
    """Mains hum and buzz (50 Hz and its harmonics; the line keeps those above 300 Hz) over a
    little hiss."""
    t = np.arange(n) / RATE
    out = np.zeros(n)
    for k in range(1, 20):
        out += rng.uniform(0.2, 1.0) / k**0.5 * np.sin(2 * np.pi * 50 * k * t + rng.uniform(0, 2 * np.pi))
    return out + 0.1 * np.std(out) * rng.standard_normal(n)


def babble(n: int, voices: list[np.ndarray], rng: np.random.Generator, talkers: int = 4) -> np.ndarray:
    """A crowd: ``talkers`` of the given 8 kHz speech signals, each looped from a random offset."""
    if not voices:
        raise ValueError("babble needs speech to mix")
    out = np.zeros(n)
    for i in range(talkers):
        v = voices[int(rng.integers(len(voices)))] if len(voices) > talkers else voices[i % len(voices)]
        v = v / (active_rms(v) + 1e-12)
        reps = int(np.ceil((n + v.size) / v.size)) + 1
        loop = np.tile(v, reps)
        start = int(rng.integers(v.size))
        out += loop[start:start + n]
    return out


def lose_frames(pcm: np.ndarray, loss: float, burst: float, concealment: str, rng: np.random.Generator) -> np.ndarray:
    """Drop 20 ms frames in bursts (two-state Gilbert model: mean burst ``burst`` frames,
    overall share ``loss``) and conceal them as a receiver does."""
    out = pcm.astype(np.float64).copy()
    frames = out.size // FRAME
    p_end = 1.0 / max(1.0, burst)  # leave the lost state
    p_start = loss * p_end / max(1e-9, 1.0 - loss)
    lost = False
    last = np.zeros(FRAME)
    run = 0
    for i in range(frames):
        lost = (rng.random() >= p_end) if lost else (rng.random() < p_start)
        seg = slice(i * FRAME, (i + 1) * FRAME)
        if lost:
            run += 1
            if concealment == "repeat":
                out[seg] = last * (0.6 ** run)
            else:
                out[seg] = 0.0
        else:
            run = 0
            last = out[seg].copy()
    return out


def apply(clean: np.ndarray, rate: int, chain: Chain, babble_voices: list[np.ndarray] | None = None) -> bytes:
    """Clean speech (float, any rate) -> telephone audio: 16-bit PCM bytes at 8 kHz."""
    from asr import audio

    x = np.asarray(clean, dtype=np.float64)
    if chain.echo_rt60_s > 0:
        x = room_echo(x, rate, chain.echo_rt60_s, chain.echo_mix, _rng(chain, "echo"))
    x = sosfilt(_bandpass(rate), x)
    if rate != RATE:
        x = soxr.resample(x, rate, RATE, quality="HQ")
    level = 10 ** (chain.level_dbfs / 20)
    a = active_rms(x)
    if a > 0:
        x = x / a * level
    if chain.clip_db > 0:
        limit = np.max(np.abs(x)) * 10 ** (-chain.clip_db / 20)
        x = np.clip(x, -limit, limit)
        a = active_rms(x)
        if a > 0:
            x = x / a * level
    if chain.noise != "none":
        rng = _rng(chain, "noise")
        n = x.size
        if chain.noise == "pink":
            noise = pink(n, rng)
        elif chain.noise == "white":
            noise = rng.standard_normal(n)
        elif chain.noise == "street":
            noise = street(n, rng)
        elif chain.noise == "hum":
            noise = hum(n, rng)
        else:
            noise = babble(n, babble_voices or [], rng)
        noise = sosfilt(_bandpass(RATE), noise)
        noise = noise / (np.sqrt(np.mean(noise**2)) + 1e-12) * level * 10 ** (-chain.snr_db / 20)
        x = x + noise
    pcm = audio.float_to_pcm(x)
    pcm = audio.ulaw_decode(audio.ulaw_encode(pcm)) if chain.codec == "ulaw" else audio.alaw_decode(audio.alaw_encode(pcm))
    if chain.loss > 0:
        y = lose_frames(np.frombuffer(pcm, dtype="<i2"), chain.loss, chain.loss_burst, chain.concealment,
                        _rng(chain, "loss"))
        pcm = np.clip(np.round(y), -32768, 32767).astype("<i2").tobytes()
    return pcm
