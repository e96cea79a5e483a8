"""Sans-IO codec for the AudioSocket protocol.

Frame layout (``include/asterisk/res_audiosocket.h``, ``res/res_audiosocket.c``): one kind byte,
a 2-byte big-endian payload length, the payload. Kinds:

* ``0x00`` hang-up (no payload), ``0x01`` UUID (16 raw bytes, always the first frame from
  Asterisk), ``0x03`` DTMF (one ASCII byte), ``0x10`` signed-linear 8 kHz,
  ``0x11``-``0x18`` signed linear at 12, 16, 24, 32, 44.1, 48, 96 and 192 kHz, ``0xFF`` error.

Two decoders: :class:`AudioSocketDecoder` for our server (frames from Asterisk: UUID first,
audio, DTMF) and, with ``role="asterisk"``, the Asterisk side that only accepts hang-up and
audio, like ``ast_audiosocket_receive_frame_with_hangup`` ("Received AudioSocket message other
than hangup or audio") and rejects a zero-length audio frame ("Invalid message length").
"""

from __future__ import annotations

import struct
import uuid as _uuid
from dataclasses import dataclass
from typing import Union

from .errors import LocalProtocolError, RemoteProtocolError
from .need_data import NEED_DATA, NeedData

__all__ = [
    "KIND_HANGUP", "KIND_UUID", "KIND_DTMF", "KIND_AUDIO", "KIND_ERROR", "AUDIO_KIND_RATES",
    "RATE_AUDIO_KINDS", "UuidFrame", "AudioFrame", "DtmfFrame", "HangupFrame", "ErrorFrame",
    "AudioSocketDecoder", "encode_frame", "encode_audio", "encode_uuid", "encode_dtmf",
    "encode_hangup", "NEED_DATA", "DTMF_DIGITS", "AudioSocketEvent",
]

KIND_HANGUP = 0x00
KIND_UUID = 0x01
KIND_DTMF = 0x03
KIND_AUDIO = 0x10
KIND_ERROR = 0xFF
AUDIO_KIND_RATES = {
    0x10: 8000, 0x11: 12000, 0x12: 16000, 0x13: 24000, 0x14: 32000,
    0x15: 44100, 0x16: 48000, 0x17: 96000, 0x18: 192000,
}
RATE_AUDIO_KINDS = {v: k for k, v in AUDIO_KIND_RATES.items()}
DTMF_DIGITS = frozenset("0123456789*#ABCD")
MAX_FRAME_PAYLOAD = 0xFFFF
_HDR = struct.Struct(">BH")




@dataclass(frozen=True)
class UuidFrame:
    uuid: _uuid.UUID


@dataclass(frozen=True)
class AudioFrame:
    pcm: bytes
    sample_rate: int = 8000
    kind: int = KIND_AUDIO


@dataclass(frozen=True)
class DtmfFrame:
    digit: str


@dataclass(frozen=True)
class HangupFrame:
    pass


@dataclass(frozen=True)
class ErrorFrame:
    payload: bytes


AudioSocketEvent = Union[UuidFrame, AudioFrame, DtmfFrame, HangupFrame, ErrorFrame]


class AudioSocketDecoder:
    """Bytes in, frames out. ``role``: ``"server"`` (we receive from Asterisk) or ``"asterisk"``.

    ``max_payload`` caps what a frame may claim; a larger (lying) length is rejected at once
    instead of buffering up to 64 KiB per connection.
    """

    __slots__ = ("_buf", "_pos", "role", "max_payload", "_seen_uuid", "_eof", "closed")

    def __init__(self, role: str = "server", max_payload: int = 8192) -> None:
        if role not in ("server", "asterisk"):
            raise LocalProtocolError(f"unknown role {role!r}")
        self._buf = bytearray()
        self._pos = 0
        self.role = role
        self.max_payload = min(max_payload, MAX_FRAME_PAYLOAD)
        self._seen_uuid = role == "asterisk"
        self._eof = False
        self.closed = False

    def receive_data(self, data: bytes) -> None:
        if self._eof and data:
            raise LocalProtocolError("data received after EOF")
        if self._pos and self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        self._buf += data

    def receive_eof(self) -> None:
        self._eof = True

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def next_event(self) -> "AudioSocketEvent | NeedData":
        buf = self._buf
        avail = len(buf) - self._pos
        if avail < 3:
            if self._eof and avail:
                raise RemoteProtocolError("connection closed inside a frame header")
            return NEED_DATA
        kind, length = _HDR.unpack_from(buf, self._pos)
        self._check_header(kind, length)
        if avail < 3 + length:
            if self._eof:
                raise RemoteProtocolError(f"connection closed inside a frame (length {length}, got {avail - 3})")
            return NEED_DATA
        start = self._pos + 3
        payload = bytes(buf[start:start + length])
        self._pos = start + length
        if self._pos > 65536:
            del buf[: self._pos]
            self._pos = 0
        return self._event(kind, payload)

    def _check_header(self, kind: int, length: int) -> None:
        if self.role == "asterisk":
            if kind != KIND_HANGUP and kind not in AUDIO_KIND_RATES:
                raise RemoteProtocolError(
                    f"Received AudioSocket message other than hangup or audio (kind 0x{kind:02x})")
            if kind in AUDIO_KIND_RATES and length < 1:
                raise RemoteProtocolError("Invalid message length received from AudioSocket server")
        else:
            if not self._seen_uuid and kind != KIND_UUID:
                raise RemoteProtocolError(f"first AudioSocket frame must be the UUID, got kind 0x{kind:02x}")
            if kind == KIND_UUID:
                if self._seen_uuid:
                    raise RemoteProtocolError("second UUID frame")
                if length != 16:
                    raise RemoteProtocolError(f"UUID frame with length {length}, expected 16")
            elif kind == KIND_DTMF:
                if length != 1:
                    raise RemoteProtocolError(f"DTMF frame with length {length}, expected 1")
            elif kind in AUDIO_KIND_RATES:
                if length < 1:
                    raise RemoteProtocolError("empty audio frame")
            elif kind not in (KIND_HANGUP, KIND_ERROR):
                raise RemoteProtocolError(f"unknown AudioSocket frame kind 0x{kind:02x}")
        if length > self.max_payload:
            raise RemoteProtocolError(f"frame length {length} exceeds the cap of {self.max_payload}")
        if kind == KIND_HANGUP and length and self.role == "server":
            raise RemoteProtocolError("hang-up frame with a payload")

    def _event(self, kind: int, payload: bytes) -> "AudioSocketEvent":
        if kind in AUDIO_KIND_RATES:
            if len(payload) % 2:
                raise RemoteProtocolError("odd-length signed-linear audio payload")
            return AudioFrame(payload, AUDIO_KIND_RATES[kind], kind)
        if kind == KIND_UUID:
            self._seen_uuid = True
            return UuidFrame(_uuid.UUID(bytes=payload))
        if kind == KIND_DTMF:
            d = chr(payload[0])
            if d not in DTMF_DIGITS:
                raise RemoteProtocolError(f"invalid DTMF digit byte {payload[0]}")
            return DtmfFrame(d)
        if kind == KIND_HANGUP:
            self.closed = True
            return HangupFrame()
        return ErrorFrame(payload)


def encode_frame(kind: int, payload: bytes = b"") -> bytes:
    if not 0 <= kind <= 0xFF:
        raise LocalProtocolError(f"bad frame kind {kind}")
    if len(payload) > MAX_FRAME_PAYLOAD:
        raise LocalProtocolError(f"payload of {len(payload)} bytes does not fit a frame")
    return _HDR.pack(kind, len(payload)) + payload


def encode_audio(pcm: bytes, sample_rate: int = 8000) -> bytes:
    kind = RATE_AUDIO_KINDS.get(sample_rate)
    if kind is None:
        raise LocalProtocolError(f"AudioSocket has no kind for {sample_rate} Hz")
    if not pcm or len(pcm) % 2:
        raise LocalProtocolError("audio payload must be a non-empty whole number of samples")
    return encode_frame(kind, pcm)


def encode_uuid(value: _uuid.UUID | str) -> bytes:
    u = value if isinstance(value, _uuid.UUID) else _uuid.UUID(str(value))
    return encode_frame(KIND_UUID, u.bytes)


def encode_dtmf(digit: str) -> bytes:
    if digit not in DTMF_DIGITS or len(digit) != 1:
        raise LocalProtocolError(f"invalid DTMF digit {digit!r}")
    return encode_frame(KIND_DTMF, digit.encode("ascii"))


def encode_hangup() -> bytes:
    return encode_frame(KIND_HANGUP)
