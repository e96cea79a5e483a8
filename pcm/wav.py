"""WAV files: read any common PCM, float or G.711 WAV as mono 16-bit; write mono 16-bit."""

from __future__ import annotations

import io
import os
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from pcm.convert import clip16, samples
from pcm.errors import PcmError
from pcm.g711 import alaw_decode, ulaw_decode


def read_wav(source: str | os.PathLike[str] | bytes) -> tuple[bytes, int]:
    """Read a WAV file (PCM 8/16/24/32-bit, float, mu-law or A-law; any channel count).

    Returns mono 16-bit PCM and its sample rate. Several channels are averaged.
    """
    data = source if isinstance(source, bytes | bytearray) else Path(source).read_bytes()
    x: npt.NDArray[np.float64]
    name = "<bytes>" if isinstance(source, bytes | bytearray) else str(source)
    fmt, channels, rate, bits, payload = _parse_wav(bytes(data), name)
    if fmt == 7:
        x = np.frombuffer(ulaw_decode(payload), dtype="<i2").astype(np.float64)
    elif fmt == 6:
        x = np.frombuffer(alaw_decode(payload), dtype="<i2").astype(np.float64)
    elif fmt == 3:
        if bits not in (32, 64):
            raise PcmError(f"{name}: unsupported float WAV with {bits} bits")
        x = np.frombuffer(payload, dtype="<f4" if bits == 32 else "<f8").astype(np.float64) * 32768.0
    elif fmt == 1:
        if bits == 8:
            x = (np.frombuffer(payload, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
        elif bits == 16:
            x = np.frombuffer(payload[: len(payload) // 2 * 2], dtype="<i2").astype(np.float64)
        elif bits == 24:
            raw = np.frombuffer(payload[: len(payload) // 3 * 3], dtype=np.uint8).reshape(-1, 3).astype(np.int32)
            val = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
            x = (np.where(val & 0x800000, val - (1 << 24), val) / 256.0).astype(np.float64)
        elif bits == 32:
            x = np.frombuffer(payload[: len(payload) // 4 * 4], dtype="<i4").astype(np.float64) / 65536.0
        else:
            raise PcmError(f"{name}: unsupported PCM WAV with {bits} bits per sample")
    else:
        raise PcmError(f"{name}: unsupported WAV format tag {fmt}")
    if channels > 1:
        usable = x.size // channels * channels
        x = x[:usable].reshape(-1, channels).mean(axis=1)
    return clip16(x), rate


def _parse_wav(data: bytes, name: str) -> tuple[int, int, int, int, bytes]:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise PcmError(f"{name}: not a RIFF/WAVE file")
    pos, fmt_chunk, payload = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = data[pos + 8: pos + 8 + size]
        if cid == b"fmt ":
            fmt_chunk = body
        elif cid == b"data":
            payload = body
            break
        pos += 8 + size + (size & 1)
    if fmt_chunk is None or len(fmt_chunk) < 16 or payload is None:
        raise PcmError(f"{name}: WAV without fmt or data chunk")
    fmt = int.from_bytes(fmt_chunk[0:2], "little")
    channels = int.from_bytes(fmt_chunk[2:4], "little")
    rate = int.from_bytes(fmt_chunk[4:8], "little")
    bits = int.from_bytes(fmt_chunk[14:16], "little")
    if fmt == 0xFFFE and len(fmt_chunk) >= 26:  # WAVE_FORMAT_EXTENSIBLE: real tag in the GUID
        fmt = int.from_bytes(fmt_chunk[24:26], "little")
    if channels < 1 or rate < 1:
        raise PcmError(f"{name}: WAV header with {channels} channels at {rate} Hz")
    return fmt, channels, rate, bits, payload


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """16-bit mono PCM -> the bytes of a WAV file."""
    samples(pcm)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm)
    return buf.getvalue()


def write_wav(path: str | os.PathLike[str], pcm: bytes, sample_rate: int) -> Path:
    """Write 16-bit mono PCM as a WAV file (atomically: temp file, then rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(wav_bytes(pcm, sample_rate))
    tmp.replace(path)
    return path
