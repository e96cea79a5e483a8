"""Small audio helpers for the simulated Asterisk: silence detection and framing; WAV I/O and
resampling delegate to the leaf package ``pcm`` (imported when used)."""

from __future__ import annotations

import array
import sys
from pathlib import Path

RATE = 8000
FRAME_BYTES = 320  # 20 ms at 8 kHz, 16-bit
SILENCE_THRESHOLD = 256  # main/dsp.c: DEFAULT_THRESHOLD for ast_dsp_silence


def resample(pcm: bytes, rate_in: int, rate_out: int = RATE) -> bytes:
    if rate_in == rate_out or not pcm:
        return pcm
    import pcm as pcm_

    return pcm_.resample(pcm[: len(pcm) - len(pcm) % 2], rate_in, rate_out)


def read_wav(path: str | Path) -> tuple[bytes, int]:
    """Return (16-bit mono PCM, rate). Several channels are averaged; other sample formats are
    converted (``pcm.read_wav``)."""
    import pcm

    return pcm.read_wav(path)


def read_audio_8k(path: str | Path) -> bytes:
    p = Path(path)
    if p.suffix in (".sln", ".raw"):
        return p.read_bytes()
    pcm, rate = read_wav(p)
    return resample(pcm, rate, RATE)


def wav_bytes(pcm: bytes, rate: int = RATE) -> bytes:
    import pcm as pcm_

    return pcm_.wav_bytes(pcm, rate)


def write_wav(path: str | Path, pcm: bytes, rate: int = RATE) -> None:
    import pcm as pcm_

    pcm_.write_wav(path, pcm, rate)


def mean_abs(frame: bytes) -> float:
    """Average absolute amplitude, as ``main/dsp.c:__ast_dsp_silence_noise`` computes it."""
    n = len(frame) // 2
    if not n:
        return 0.0
    a = array.array("h")
    a.frombytes(frame[: n * 2])
    if sys.byteorder == "big":
        a.byteswap()
    return sum(abs(v) for v in a) / n


def is_silent(frame: bytes, threshold: int = SILENCE_THRESHOLD) -> bool:
    return mean_abs(frame) < threshold


def frames_of(pcm: bytes, size: int = FRAME_BYTES) -> list[bytes]:
    out = [pcm[i:i + size] for i in range(0, len(pcm), size)]
    if out and len(out[-1]) < size:
        out[-1] = out[-1] + b"\x00" * (size - len(out[-1]))
    return out
