"""Small audio helpers for the simulated Asterisk (WAV I/O, resampling, silence detection)."""

from __future__ import annotations

import array
import io
import sys
import wave
from pathlib import Path

RATE = 8000
FRAME_BYTES = 320  # 20 ms at 8 kHz, 16-bit
SILENCE_THRESHOLD = 256  # main/dsp.c: DEFAULT_THRESHOLD for ast_dsp_silence


def resample(pcm: bytes, rate_in: int, rate_out: int = RATE) -> bytes:
    if rate_in == rate_out or not pcm:
        return pcm
    import numpy as np
    import soxr

    x = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
    y = soxr.resample(x, rate_in, rate_out)
    return np.clip(np.rint(y), -32768, 32767).astype("<i2").tobytes()


def read_wav(path: str | Path) -> tuple[bytes, int]:
    """Return (16-bit mono PCM, rate). Stereo is mixed down; 8-bit is widened."""
    with wave.open(str(path), "rb") as w:
        ch, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
        data = w.readframes(w.getnframes())
    if width != 2:
        import numpy as np

        if width == 1:
            data = ((np.frombuffer(data, dtype=np.uint8).astype(np.int16) - 128) << 8).astype("<i2").tobytes()
        elif width == 4:
            data = (np.frombuffer(data, dtype="<i4") >> 16).astype("<i2").tobytes()
        else:
            raise ValueError(f"{path}: unsupported sample width {width}")
    if ch > 1:
        import numpy as np

        x = np.frombuffer(data, dtype="<i2").reshape(-1, ch).mean(axis=1)
        data = x.astype("<i2").tobytes()
    return data, rate


def read_audio_8k(path: str | Path) -> bytes:
    p = Path(path)
    if p.suffix in (".sln", ".raw"):
        return p.read_bytes()
    pcm, rate = read_wav(p)
    return resample(pcm, rate, RATE)


def wav_bytes(pcm: bytes, rate: int = RATE) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()


def write_wav(path: str | Path, pcm: bytes, rate: int = RATE) -> None:
    Path(path).write_bytes(wav_bytes(pcm, rate))


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
