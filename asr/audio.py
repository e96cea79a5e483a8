"""Audio format helpers: G.711 mu-law/A-law, 8 <-> 16 kHz resampling, WAV files.

Inside the program audio is 16-bit signed little-endian mono PCM ``bytes`` with an explicit
sample rate. These helpers convert at the edges. G.711 follows the ITU reference (the same
tables as the removed ``audioop`` module); resampling uses libsoxr's high-quality filter, so
8 kHz output is properly band-limited.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import soxr

from .base import AudioFormatError

__all__ = [
    "ulaw_encode", "ulaw_decode", "alaw_encode", "alaw_decode", "resample",
    "read_wav", "write_wav", "wav_bytes", "pcm_to_float", "float_to_pcm", "duration",
]


def _check_pcm(pcm: bytes) -> np.ndarray:
    if len(pcm) % 2:
        raise AudioFormatError(f"16-bit PCM must have an even byte count, got {len(pcm)} bytes")
    return np.frombuffer(pcm, dtype="<i2")


def _seg(values: np.ndarray, ends: list[int]) -> np.ndarray:
    return np.searchsorted(np.asarray(ends), values, side="left")


def _build_ulaw_tables() -> tuple[np.ndarray, np.ndarray]:
    pcm = np.arange(-32768, 32768, dtype=np.int64) >> 2  # 14-bit
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), 8159) + 33
    seg = _seg(mag, [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    uval = (seg << 4) | ((mag >> (seg + 1)) & 0xF)
    enc = np.where(seg >= 8, 0x7F ^ mask, uval ^ mask).astype(np.uint8)
    u = ~np.arange(256, dtype=np.int64) & 0xFF
    t = (((u & 0xF) << 3) + 0x84) << ((u & 0x70) >> 4)
    dec = np.where(u & 0x80, 0x84 - t, t - 0x84).astype("<i2")
    return enc, dec


def _build_alaw_tables() -> tuple[np.ndarray, np.ndarray]:
    pcm = np.arange(-32768, 32768, dtype=np.int64) >> 3  # 13-bit
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    mag = np.where(pcm >= 0, pcm, -pcm - 1)
    seg = _seg(mag, [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    aval = (np.minimum(seg, 7) << 4) | np.where(seg < 2, (mag >> 1) & 0xF, (mag >> np.maximum(seg, 1)) & 0xF)
    enc = np.where(seg >= 8, 0x7F ^ mask, aval ^ mask).astype(np.uint8)
    a = np.arange(256, dtype=np.int64) ^ 0x55
    t = (a & 0xF) << 4
    s = (a & 0x70) >> 4
    t = np.where(s == 0, t + 8, t + 0x108)
    t = np.where(s > 1, t << np.maximum(s - 1, 0), t)
    dec = np.where(a & 0x80, t, -t).astype("<i2")
    return enc, dec


_ULAW_ENC, _ULAW_DEC = _build_ulaw_tables()
_ALAW_ENC, _ALAW_DEC = _build_alaw_tables()


def ulaw_encode(pcm: bytes) -> bytes:
    """16-bit PCM -> G.711 mu-law, one byte per sample."""
    return _ULAW_ENC[_check_pcm(pcm).astype(np.int32) + 32768].tobytes()


def ulaw_decode(data: bytes) -> bytes:
    """G.711 mu-law -> 16-bit PCM."""
    return _ULAW_DEC[np.frombuffer(data, dtype=np.uint8)].tobytes()


def alaw_encode(pcm: bytes) -> bytes:
    """16-bit PCM -> G.711 A-law, one byte per sample."""
    return _ALAW_ENC[_check_pcm(pcm).astype(np.int32) + 32768].tobytes()


def alaw_decode(data: bytes) -> bytes:
    """G.711 A-law -> 16-bit PCM."""
    return _ALAW_DEC[np.frombuffer(data, dtype=np.uint8)].tobytes()


def pcm_to_float(pcm: bytes) -> np.ndarray:
    """16-bit PCM -> float32 in [-1, 1)."""
    return _check_pcm(pcm).astype(np.float32) / 32768.0


def float_to_pcm(samples: np.ndarray) -> bytes:
    """float samples in [-1, 1] -> 16-bit PCM (clipped)."""
    return (np.clip(np.asarray(samples, dtype=np.float64), -1.0, 32767 / 32768) * 32768.0).round().astype("<i2").tobytes()


def resample(pcm: bytes, from_rate: int, to_rate: int, quality: str = "HQ") -> bytes:
    """Resample 16-bit PCM with libsoxr (anti-aliased). Returns the input when rates match."""
    if from_rate <= 0 or to_rate <= 0:
        raise AudioFormatError(f"sample rates must be positive, got {from_rate} -> {to_rate}")
    samples = _check_pcm(pcm)
    if from_rate == to_rate or samples.size == 0:
        return bytes(pcm)
    out = soxr.resample(samples, from_rate, to_rate, quality=quality)
    return np.asarray(out, dtype="<i2").tobytes()


def change_speed(pcm: bytes, factor: float, quality: str = "HQ") -> bytes:
    """Play 16-bit PCM ``factor`` times as fast, pitch moving with it (tape-speed change, as in
    speech-recognition speed perturbation): 0.9 is 11% longer and lower."""
    if factor <= 0:
        raise AudioFormatError(f"speed factor must be positive, got {factor}")
    samples = _check_pcm(pcm)
    if factor == 1.0 or samples.size == 0:
        return bytes(pcm)
    out = soxr.resample(samples, 16000 * factor, 16000, quality=quality)
    return np.asarray(out, dtype="<i2").tobytes()


def duration(pcm: bytes, sample_rate: int) -> float:
    return len(pcm) / 2 / sample_rate


def read_wav(source: str | Path | bytes) -> tuple[bytes, int]:
    """Read a WAV file (PCM 8/16/24/32-bit, float, mu-law or A-law; any channel count).

    Returns mono 16-bit PCM and its sample rate. Several channels are averaged.
    """
    data = source if isinstance(source, bytes | bytearray) else Path(source).read_bytes()
    name = "<bytes>" if isinstance(source, bytes | bytearray) else str(source)
    fmt, channels, rate, bits, payload = _parse_wav(bytes(data), name)
    if fmt == 7:
        samples = np.frombuffer(ulaw_decode(payload), dtype="<i2").astype(np.float64)
    elif fmt == 6:
        samples = np.frombuffer(alaw_decode(payload), dtype="<i2").astype(np.float64)
    elif fmt == 3:
        if bits not in (32, 64):
            raise AudioFormatError(f"{name}: unsupported float WAV with {bits} bits")
        samples = np.frombuffer(payload, dtype="<f4" if bits == 32 else "<f8").astype(np.float64) * 32768.0
    elif fmt == 1:
        if bits == 8:
            samples = (np.frombuffer(payload, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
        elif bits == 16:
            samples = np.frombuffer(payload[: len(payload) // 2 * 2], dtype="<i2").astype(np.float64)
        elif bits == 24:
            raw = np.frombuffer(payload[: len(payload) // 3 * 3], dtype=np.uint8).reshape(-1, 3).astype(np.int32)
            val = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
            samples = (np.where(val & 0x800000, val - (1 << 24), val) / 256.0).astype(np.float64)
        elif bits == 32:
            samples = np.frombuffer(payload[: len(payload) // 4 * 4], dtype="<i4").astype(np.float64) / 65536.0
        else:
            raise AudioFormatError(f"{name}: unsupported PCM WAV with {bits} bits per sample")
    else:
        raise AudioFormatError(f"{name}: unsupported WAV format tag {fmt}")
    if channels > 1:
        usable = samples.size // channels * channels
        samples = samples[:usable].reshape(-1, channels).mean(axis=1)
    return np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes(), rate


def _parse_wav(data: bytes, name: str) -> tuple[int, int, int, int, bytes]:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFormatError(f"{name}: not a RIFF/WAVE file")
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
        raise AudioFormatError(f"{name}: WAV without fmt or data chunk")
    fmt = int.from_bytes(fmt_chunk[0:2], "little")
    channels = int.from_bytes(fmt_chunk[2:4], "little")
    rate = int.from_bytes(fmt_chunk[4:8], "little")
    bits = int.from_bytes(fmt_chunk[14:16], "little")
    if fmt == 0xFFFE and len(fmt_chunk) >= 26:  # WAVE_FORMAT_EXTENSIBLE: real tag in the GUID
        fmt = int.from_bytes(fmt_chunk[24:26], "little")
    if channels < 1 or rate < 1:
        raise AudioFormatError(f"{name}: WAV header with {channels} channels at {rate} Hz")
    return fmt, channels, rate, bits, payload


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """16-bit mono PCM -> the bytes of a WAV file."""
    _check_pcm(pcm)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm)
    return buf.getvalue()


def write_wav(path: str | Path, pcm: bytes, sample_rate: int) -> Path:
    """Write 16-bit mono PCM as a WAV file (atomically: temp file, then rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(wav_bytes(pcm, sample_rate))
    tmp.replace(path)
    return path
