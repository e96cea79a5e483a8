"""``AudioSocket()`` run from ``EXEC AudioSocket uuid,host:port``, as Asterisk 22 does it.

``apps/app_audiosocket.c`` + ``res/res_audiosocket.c``: connect (2 s connect timeout), send the
UUID frame, forward the caller's audio and DTMF, write what the server sends to the channel;
return 0 on a ``0x00`` frame or EOF from the server, -1 after an invalid kind (TCP reset), when
the caller hangs up (socket closed without a ``0x00`` frame) or after 2 s of no activity in
either direction.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import uuid as _uuid
from typing import TYPE_CHECKING

from ..audiosocket_codec import (
    NEED_DATA, AudioFrame, AudioSocketDecoder, HangupFrame, encode_audio, encode_dtmf, encode_uuid,
)
from ..errors import RemoteProtocolError
from .audio import RATE, resample
from .channel import AudioItem, DtmfItem, HangupItem, Inbox, SocketClosedItem
from .result import AudioSocketLog, FrameLog

if TYPE_CHECKING:  # pragma: no cover
    from .call import PeerCall

__all__ = ["AudioSocketApp"]

#: res_audiosocket.c: MAX_CONNECT_TIMEOUT_MSEC
CONNECT_TIMEOUT = 2.0
#: app_audiosocket.c: MAX_WAIT_TIMEOUT_MSEC -- no frame either way for 2 s ends the session
INACTIVITY_TIMEOUT = 2.0


class AudioSocketApp:
    """One run of the AudioSocket application on a call."""

    def __init__(self, call: "PeerCall", max_payload: int) -> None:
        self._call = call
        self._max_payload = max_payload
        self._activity = 0.0

    async def run(self, data: str) -> int:
        """``data`` is ``uuid,host:port``; returns the application's result (0 or -1)."""
        call = self._call
        res = call.result_obj
        uid, _, addr = data.partition(",")
        entry = AudioSocketLog(uuid=uid, address=addr)
        res.audiosockets.append(entry)
        try:
            u = _uuid.UUID(uid.strip())
        except ValueError:
            call.warn(f"Failed to parse UUID '{uid}'")
            entry.how = "bad_uuid"
            entry.exec_result = -1
            return -1
        host, _, port = addr.rpartition(":")
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)),
                                                    CONNECT_TIMEOUT)
        except (OSError, ValueError, asyncio.TimeoutError) as exc:
            call.warn(f"Failed to connect to AudioSocket service '{addr}': {exc}")
            entry.how = "connect_failed"
            entry.exec_result = -1
            return -1
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        entry.connected_at = call.now()
        call.event("audiosocket_connected", uuid=uid)
        writer.write(encode_uuid(u))
        res.frames.append(FrameLog(call.now(), "out", "uuid", 16))
        box = call.media.attach()
        result = 0
        loop = asyncio.get_running_loop()
        recv = loop.create_task(self._receive(reader, entry))

        def receiver_done(t: asyncio.Task[str]) -> None:
            how = "cancelled" if t.cancelled() else ("error" if t.exception() else t.result())
            box.put(SocketClosedItem(how))

        recv.add_done_callback(receiver_done)
        self._activity = loop.time()
        try:
            result = await self._forward(box, writer, sock, entry, uid)
        finally:
            call.media.detach(box)
            if not recv.done():
                recv.cancel()
                await asyncio.gather(recv, return_exceptions=True)
            writer.close()
            entry.closed_at = call.now()
            entry.exec_result = result
            call.event("audiosocket_closed", uuid=uid, how=entry.how, result=result)
        return result

    async def _forward(self, box: Inbox, writer: asyncio.StreamWriter, sock: socket.socket | None,
                       entry: AudioSocketLog, uid: str) -> int:
        """Caller -> server until the session ends; returns the application's result."""
        call = self._call
        res = call.result_obj
        loop = asyncio.get_running_loop()
        while True:
            item = await box.get(self._activity + INACTIVITY_TIMEOUT)
            if item is None:
                if loop.time() < self._activity + INACTIVITY_TIMEOUT:
                    continue
                call.warn(f"Reached timeout after 2000 ms of no activity on AudioSocket connection {uid}")
                entry.how = "inactivity"
                return -1
            self._activity = loop.time()
            if isinstance(item, AudioItem):
                writer.write(encode_audio(item.pcm))
                entry.frames_out += 1
                res.frames.append(FrameLog(call.now(), "out", "audio", len(item.pcm), item.speech))
            elif isinstance(item, DtmfItem):
                writer.write(encode_dtmf(item.digit))
                res.frames.append(FrameLog(call.now(), "out", "dtmf", 1))
            elif isinstance(item, HangupItem):
                # The caller hung up: close the socket, no 0x00 frame; the app returns -1.
                entry.how = "caller_hangup"
                return -1
            else:
                entry.how = item.how
                if item.how == "protocol_error" and sock is not None:
                    # Asterisk resets the connection after an invalid kind.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return 0 if item.how in ("hangup_frame", "eof") else -1

    async def _receive(self, reader: asyncio.StreamReader, entry: AudioSocketLog) -> str:
        """Server -> channel; returns how the socket ended."""
        call = self._call
        dec = AudioSocketDecoder("asterisk", max_payload=self._max_payload)
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await reader.read(65536)
                if data:
                    dec.receive_data(data)
                else:
                    dec.receive_eof()
                while True:
                    ev = dec.next_event()
                    if ev is NEED_DATA:
                        break
                    if isinstance(ev, AudioFrame):
                        entry.frames_in += 1
                        self._activity = loop.time()
                        pcm = ev.pcm if ev.sample_rate == RATE else resample(ev.pcm, ev.sample_rate, RATE)
                        call.media.on_media_frame(pcm)
                    elif isinstance(ev, HangupFrame):
                        call.result_obj.frames.append(FrameLog(call.now(), "in", "hangup", 0))
                        return "hangup_frame"
                if not data:
                    return "eof"
        except RemoteProtocolError as exc:
            call.warn(f"{exc}, refer to protocol specification for valid message types")
            return "protocol_error"
        except (ConnectionError, OSError) as exc:
            call.warn(f"Failed to read header from AudioSocket because: {exc}")
            return "reset"
