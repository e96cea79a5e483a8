"""Synthetic telephone speech for tests and benches.

Indonesian text -> espeak-ng (``tts.EspeakSynthesizer``) -> telephone chain:
300-3400 Hz band-pass, 8 kHz (soxr), level, optional pink noise at a given SNR, G.711 mu-law
round trip. Also builds call-audio timelines with known speech start/end for VAD tests.
Everything is deterministic for a given seed.

libespeak-ng carries state from one synthesis to the next (its pitch flutter): the same text
rendered after different texts differs by a few samples, so a test's audio would depend on what
ran before it. Every clean rendering is therefore made in a fresh process whose espeak-ng has
synthesised nothing (``fresh_synthesis``, shared with ``bench/speechset.py``): forked from a
small server process that never synthesises (fast: no new interpreter per rendering), which makes it a pure function of (text, voice, rate, pitch,
espeak-ng version). Renderings are kept for the process's lifetime (``render``), so a test
session synthesises each one once.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import struct
import subprocess
import sys
import threading
from dataclasses import dataclass, field

import numpy as np
import soxr
from scipy.signal import butter, sosfilt

from asr import audio

RATE = 8000

# (voice, rate in words per minute, pitch 0-100): several espeak-ng Indonesian variants
VOICES: tuple[tuple[str, int, int], ...] = (
    ("id", 160, 50),
    ("id+m3", 145, 40),
    ("id+f2", 175, 60),
    ("id+klatt", 135, 50),
    ("id+f4", 190, 70),
)


def fresh_synthesis(text: str, voice: str, rate: int, pitch: int) -> tuple[bytes, int]:
    """Clean espeak-ng speech (16-bit PCM, the engine's rate), synthesised in this process,
    which must be fresh: refuses when espeak-ng has synthesised here before (the result would
    depend on what it was). Run in a new process (``render_fresh``, bench/speechset.py)."""
    from tts import EspeakSynthesizer  # imported lazily: importing loads no library
    from tts import espeak as espeak_mod

    if espeak_mod._Engine._instance is not None:  # noqa: SLF001 - the point of this check
        raise RuntimeError("espeak-ng already used in this process: renders would depend on order")
    out = EspeakSynthesizer(voice=voice, rate=rate, pitch=pitch).synthesize_sync(text)
    return out.pcm, out.sample_rate


# The fork server: a child interpreter that imports tts but never synthesises; for each job it
# forks, and the fork renders (fresh_synthesis) and writes the result to the shared stdout while
# the server waits for it. Jobs on stdin, results on stdout, each a header and a payload.
_SERVER = """
import json, os, struct, sys
import tts  # noqa: F401 - imported once, before any fork
from tests.speechgen import fresh_synthesis
jobs, out = sys.stdin.buffer, sys.stdout.buffer
while header := jobs.read(4):
    job = json.loads(jobs.read(struct.unpack("<I", header)[0]))
    pid = os.fork()
    if pid == 0:
        try:
            pcm, rate = fresh_synthesis(job["text"], job["voice"], job["rate"], job["pitch"])
            out.write(struct.pack("<BII", 0, rate, len(pcm)) + pcm)
        except Exception as exc:
            msg = f"{type(exc).__name__}: {exc}".encode()
            out.write(struct.pack("<BII", 1, 0, len(msg)) + msg)
        out.flush()
        os._exit(0)
    os.waitpid(pid, 0)
"""


class _ForkServer:
    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)
        self.lock = threading.Lock()
        atexit.register(self.close)

    def render(self, text: str, voice: str, rate: int, pitch: int) -> tuple[bytes, int]:
        job = json.dumps({"text": text, "voice": voice, "rate": rate, "pitch": pitch}).encode()
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        with self.lock:
            stdin.write(struct.pack("<I", len(job)) + job)
            stdin.flush()
            header = stdout.read(9)
            status, sample_rate, n = struct.unpack("<BII", header) if len(header) == 9 else (1, 0, -1)
            payload = stdout.read(n) if n >= 0 else b""
            if len(payload) != n:
                raise RuntimeError(f"the espeak-ng rendering process died (rendering {text!r})")
        if status:
            raise RuntimeError(f"espeak-ng rendering of {text!r} failed: {payload.decode()}")
        return payload, sample_rate

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@functools.cache
def _fork_server() -> _ForkServer:
    return _ForkServer()


def render_fresh(text: str, voice: str = "id", rate: int = 160, pitch: int = 50) -> tuple[bytes, int]:
    """``fresh_synthesis`` in a new process: a pure function of the arguments and espeak-ng's
    version, whatever was synthesised before (here, or in earlier renderings)."""
    return _fork_server().render(text, voice, rate, pitch)


@functools.lru_cache(maxsize=1024)
def render(text: str, voice: str = "id", rate: int = 160, pitch: int = 50) -> tuple[bytes, int]:
    """``render_fresh``, once per process (the bytes are immutable: safe to share)."""
    return render_fresh(text, voice, rate, pitch)


def synthesize(text: str, voice: str = "id", rate: int = 160, pitch: int = 50) -> tuple[np.ndarray, int]:
    """Clean espeak-ng speech as float32 samples in [-1, 1] and the engine's sample rate (a
    new array each call, from ``render``)."""
    pcm, sample_rate = render(text, voice, rate, pitch)
    return audio.pcm_to_float(pcm), sample_rate


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS pink (1/f) noise by spectral shaping of white noise."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size)
    f[0] = 1
    pink = np.fft.irfft(spec / np.sqrt(f), n)
    return (pink / (np.sqrt(np.mean(pink**2)) + 1e-12)).astype(np.float32)


def telephone(samples: np.ndarray, sample_rate: int, level_dbfs: float = -26.0,
              snr_db: float | None = None, seed: int = 0, ulaw: bool = True) -> bytes:
    """Clean speech -> 8 kHz telephone-quality 16-bit PCM bytes."""
    x = np.asarray(samples, dtype=np.float64)
    sos = butter(4, [300, 3400], btype="bandpass", fs=sample_rate, output="sos")
    x = sosfilt(sos, x)
    if sample_rate != RATE:
        x = soxr.resample(x, sample_rate, RATE, quality="HQ")
    active = _active_rms(x)
    if active > 0:
        x = x / active * 10 ** (level_dbfs / 20)
    if snr_db is not None:
        rng = np.random.default_rng(seed)
        noise = sosfilt(sos_8k(), pink_noise(x.size, rng))
        noise = noise / (np.sqrt(np.mean(noise**2)) + 1e-12) * 10 ** ((level_dbfs - snr_db) / 20)
        x = x + noise
    pcm = audio.float_to_pcm(x)
    return audio.ulaw_decode(audio.ulaw_encode(pcm)) if ulaw else pcm


@functools.lru_cache(maxsize=1)
def sos_8k():
    return butter(4, [300, 3400], btype="bandpass", fs=RATE, output="sos")


def _active_rms(x: np.ndarray, frame: int = 160) -> float:
    """RMS over the frames within 30 dB of the loudest (speech level, not silence-diluted)."""
    n = x.size // frame
    if n == 0:
        return float(np.sqrt(np.mean(x**2))) if x.size else 0.0
    e = np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)
    if e.max() <= 0:
        return 0.0
    loud = e[e >= e.max() * 1e-3]
    return float(np.sqrt(loud.mean()))


def phone_utterance(text: str, voice: str = "id", rate: int = 160, pitch: int = 50,
                    level_dbfs: float = -26.0, snr_db: float | None = 25.0, seed: int = 0,
                    pad_s: float = 0.0) -> bytes:
    """Text -> 8 kHz mu-law-degraded telephone speech (16-bit PCM), optional silence padding."""
    clean, sr = synthesize(text, voice, rate, pitch)
    if pad_s:
        pad = np.zeros(int(pad_s * sr), dtype=np.float32)
        clean = np.concatenate([pad, clean, pad])
    return telephone(clean, sr, level_dbfs=level_dbfs, snr_db=snr_db, seed=seed)


def speech_bounds(samples: np.ndarray, sample_rate: int, frame_ms: int = 10, floor_db: float = -30.0) -> tuple[float, float]:
    """First and last moment (s) where the clean signal is within floor_db of its loudest 10 ms.

    -30 dB: quieter onsets and decays lie under the line noise of any realistic call (speech at
    -26 dBFS, noise 15-30 dB below), so no listener or VAD can place them; they are not speech
    a caller could be said to be producing."""
    frame = sample_rate * frame_ms // 1000
    n = samples.size // frame
    e = np.mean(samples[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1)
    idx = np.nonzero(e > e.max() * 10 ** (floor_db / 10))[0]
    if idx.size == 0:
        raise ValueError("no speech in the signal")
    return idx[0] * frame / sample_rate, (idx[-1] + 1) * frame / sample_rate


@dataclass
class CallTimeline:
    pcm: bytes  # 8 kHz 16-bit telephone audio
    sample_rate: int
    segments: list[tuple[float, float]] = field(default_factory=list)  # true speech (start, end), s
    texts: list[str] = field(default_factory=list)


def call_timeline(parts: list[str | float], voice: str = "id", rate: int = 160, pitch: int = 50,
                  level_dbfs: float = -26.0, snr_db: float | None = 30.0, seed: int = 0) -> CallTimeline:
    """Build call audio from a list of silences (float seconds) and utterances (str).

    The truth for each utterance is where its clean signal is active, measured before the
    telephone chain, so a VAD is judged against the real speech and not against padding.
    """
    chunks: list[np.ndarray] = []
    truth: list[tuple[float, float]] = []
    texts: list[str] = []
    t = 0.0
    sr_out: int | None = None
    for part in parts:
        if isinstance(part, int | float):
            n = int(round(float(part) * (sr_out or 22050)))
            chunks.append(np.zeros(n, dtype=np.float32))
            t += n / (sr_out or 22050)
            continue
        clean, sr = synthesize(part, voice, rate, pitch)
        if sr_out is None:
            sr_out = sr
            # earlier silences were sized at a guessed rate: rescale them
            if chunks:
                total = sum(c.size for c in chunks) / 22050
                chunks = [np.zeros(int(round(total * sr)), dtype=np.float32)]
                t = chunks[0].size / sr
        elif sr != sr_out:
            raise ValueError("all utterances must come from one synthesizer rate")
        s, e = speech_bounds(clean, sr)
        truth.append((float(t + s), float(t + e)))
        texts.append(part)
        chunks.append(clean)
        t += clean.size / sr
    sr_final = sr_out or 22050
    signal = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    # level relative to speech, so silence stays silence (plus noise)
    pcm = telephone(signal, sr_final, level_dbfs=level_dbfs, snr_db=snr_db, seed=seed)
    return CallTimeline(pcm=pcm, sample_rate=RATE, segments=truth, texts=texts)
