"""AudioSocket server and the :class:`CallChannel` media interface.

Flow (see ``apps/app_audiosocket.c`` and ``res/res_audiosocket.c``): the AGI session runs
``EXEC AudioSocket <uuid>,<host:port>``; Asterisk connects here, sends the UUID frame first,
then caller audio (``0x10``, 320 bytes per 20 ms, frame sizes follow the source) and DTMF
(``0x03``). Asterisk writes whatever we send straight to the channel **without pacing**, and
Local-channel queues drop frames beyond ~96 (``channel.c``: "Exceptionally long voice queue
length"), so :meth:`CallChannel.play` paces 20 ms frames on an absolute schedule.

Ending the media: a ``0x00`` frame or a half-close makes ``AudioSocket()`` return 0 and the
``EXEC`` reply arrives, the call stays up (that is the hand-off path). A full ``close()`` while
Asterisk is still writing can RST the socket and make the ``EXEC`` return ``-1``, so
:meth:`CallChannel.close` sends ``0x00``, half-closes and waits for Asterisk's EOF. When the
caller hangs up Asterisk just closes the socket (no ``0x00``): ``frames()``/``dtmf()`` end and
``hung_up`` is true.
"""

from __future__ import annotations

import asyncio
import logging
import uuid as _uuid
from collections import deque
from typing import TYPE_CHECKING, AsyncIterator

from .audiosocket_codec import (
    NEED_DATA, AudioFrame, AudioSocketDecoder, DtmfFrame, ErrorFrame, HangupFrame, UuidFrame,
    encode_audio, encode_hangup,
)
from .errors import CallerHangup, RemoteProtocolError

from .agi import AgiError

if TYPE_CHECKING:  # pragma: no cover
    from .agi import AgiSession

__all__ = ["AudioSocketServer", "CallChannel", "ChannelClosed"]

log = logging.getLogger(__name__)


class ChannelClosed(CallerHangup):
    """The media channel is gone or never came up."""


def _retrieve(t: asyncio.Task) -> None:
    if not t.cancelled():
        t.exception()


def _wake(fut: asyncio.Future | None) -> None:
    if fut is not None and not fut.done():
        fut.set_result(None)


class CallChannel:
    """Caller audio and DTMF in, our audio out, for one call."""

    def __init__(self, uuid: str, proto: "_AudioSocketProtocol", max_frames: int = 250,
                 max_digits: int = 64, max_lag: float = 0.06, keepalive: float | None = 0.5) -> None:
        self.uuid = uuid
        self._proto = proto
        self.sample_rate = 8000
        self.closed = asyncio.Event()
        self.hung_up = False
        self.error: Exception | None = None
        self.dropped_frames = 0
        self.dropped_digits = 0
        self.frames_received = 0
        self.frames_sent = 0
        self.keepalive_frames = 0
        self._frames: deque[bytes] = deque()
        self._max_frames = max_frames
        self._digits: deque[str] = deque()
        self._max_digits = max_digits
        self._frame_waiter: asyncio.Future | None = None
        self._digit_waiter: asyncio.Future | None = None
        self._ended = False
        self._closing = False
        self._stop_gen = 0
        self._playing = 0
        self._play_lock = asyncio.Lock()
        self._next_at = 0.0
        self._max_lag = max_lag
        self._sleeper: asyncio.Future | None = None
        self._exec_task: asyncio.Task | None = None
        # app_audiosocket.c ends the session (EXEC returns -1, "Reached timeout after 2000 ms
        # of no activity") when neither side has sent anything for MAX_WAIT_TIMEOUT_MSEC
        # (2000 ms, not configurable). A caller whose phone suppresses silence sends nothing
        # while quiet, so while we play nothing either we send one silent frame every
        # ``keepalive`` seconds.
        self._keepalive = keepalive
        self._last_sent = 0.0
        self._keepalive_handle: asyncio.TimerHandle | None = None
        if keepalive:
            loop = asyncio.get_running_loop()
            self._last_sent = loop.time()
            self._keepalive_handle = loop.call_later(keepalive, self._keepalive_tick)

    def _keepalive_tick(self) -> None:
        self._keepalive_handle = None
        if self._ended or self._closing or not self._keepalive:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self._playing and now - self._last_sent >= self._keepalive:
            self._proto.send(encode_audio(bytes(self.frame_bytes), self.sample_rate))
            self.keepalive_frames += 1
            self._last_sent = now
        wait = max(0.02, self._last_sent + self._keepalive - now) if self._playing == 0 else self._keepalive
        self._keepalive_handle = loop.call_later(wait, self._keepalive_tick)

    # -- input from the protocol ---------------------------------------------------------
    def _on_audio(self, f: AudioFrame) -> None:
        self.frames_received += 1
        self.sample_rate = f.sample_rate
        if len(self._frames) >= self._max_frames:
            self._frames.popleft()
            self.dropped_frames += 1
            if self.dropped_frames == 1 or self.dropped_frames % 500 == 0:
                log.warning("AudioSocket %s: consumer too slow, dropped %d oldest caller frames so far",
                            self.uuid, self.dropped_frames)
        self._frames.append(f.pcm)
        _wake(self._frame_waiter)

    def _on_dtmf(self, digit: str) -> None:
        if len(self._digits) >= self._max_digits:
            self._digits.popleft()
            self.dropped_digits += 1
            log.warning("AudioSocket %s: DTMF consumer too slow, dropped a digit", self.uuid)
        self._digits.append(digit)
        _wake(self._digit_waiter)

    def _end(self, hung_up: bool, error: Exception | None = None) -> None:
        if self._ended:
            return
        self._ended = True
        if self._keepalive_handle is not None:
            self._keepalive_handle.cancel()
            self._keepalive_handle = None
        self.hung_up = hung_up
        self.error = error
        self._stop_gen += 1
        _wake(self._sleeper)
        _wake(self._frame_waiter)
        _wake(self._digit_waiter)
        self.closed.set()

    # -- consumer API --------------------------------------------------------------------
    @property
    def frame_bytes(self) -> int:
        """Bytes in one 20 ms frame at the channel's rate (320 at 8 kHz)."""
        return self.sample_rate * 2 // 50

    async def frames(self) -> AsyncIterator[bytes]:
        """Caller audio, 16-bit PCM, as Asterisk sent it; ends when the media ends.

        One consumer at a time. If it falls behind by more than ``max_frames`` frames the
        oldest are dropped (``dropped_frames`` counts them, a warning is logged)."""
        loop = asyncio.get_running_loop()
        while True:
            if self._frames:
                yield self._frames.popleft()
                continue
            if self._ended:
                return
            self._frame_waiter = loop.create_future()
            await self._frame_waiter
            self._frame_waiter = None

    async def dtmf(self) -> AsyncIterator[str]:
        """DTMF digits one at a time; ends when the media ends."""
        loop = asyncio.get_running_loop()
        while True:
            if self._digits:
                yield self._digits.popleft()
                continue
            if self._ended:
                return
            self._digit_waiter = loop.create_future()
            await self._digit_waiter
            self._digit_waiter = None

    @property
    def playing(self) -> bool:
        return self._playing > 0

    def stop_playback(self) -> None:
        """Stop the current (and queued) ``play`` calls; no further frame is sent."""
        self._stop_gen += 1
        _wake(self._sleeper)

    async def _sleep_until(self, when: float) -> None:
        loop = asyncio.get_running_loop()
        if when <= loop.time():
            return
        fut = loop.create_future()
        self._sleeper = fut
        handle = loop.call_at(when, _wake, fut)
        try:
            await fut
        finally:
            handle.cancel()
            self._sleeper = None

    async def play(self, pcm: bytes) -> bool:
        """Send ``pcm`` (16-bit at ``sample_rate``) in 20 ms frames at real-time pace.

        The schedule is absolute (frame *n* goes out at start + n x 20 ms, so timer jitter never
        accumulates) and continues seamlessly across back-to-back calls. Returns when the last
        frame's time slot has passed: True if everything was played, False if stopped or the
        channel ended.
        """
        gen = self._stop_gen
        if self._ended:
            return False
        loop = asyncio.get_running_loop()
        async with self._play_lock:
            self._playing += 1
            try:
                rate = self.sample_rate
                fs = self.frame_bytes
                n = len(pcm) - (len(pcm) % 2)
                off = 0
                while off < n:
                    if gen != self._stop_gen or self._ended:
                        return False
                    now = loop.time()
                    if self._next_at < now - self._max_lag:
                        self._next_at = now  # idle gap or stalled loop: start a new schedule
                    if self._next_at > now:
                        await self._sleep_until(self._next_at)
                        if gen != self._stop_gen or self._ended:
                            return False
                    chunk = pcm[off:off + fs]
                    off += fs
                    self._proto.send(encode_audio(chunk, rate))
                    self.frames_sent += 1
                    self._last_sent = loop.time()
                    self._next_at += len(chunk) / (2 * rate)
                await self._sleep_until(self._next_at)
                return gen == self._stop_gen and not self._ended
            finally:
                self._playing -= 1

    def send_frame(self, pcm: bytes) -> bool:
        """Write one frame now, **unpaced**: only for audio that is already real time (a live
        relay, an echo test). Everything else goes through :meth:`play`. False if closed."""
        if self._ended or not pcm:
            return False
        self._proto.send(encode_audio(pcm[: len(pcm) - len(pcm) % 2], self.sample_rate))
        self.frames_sent += 1
        self._last_sent = asyncio.get_running_loop().time()
        return True

    async def close(self, timeout: float = 2.0) -> None:
        """End the media only (``0x00`` + half-close); the AGI ``EXEC`` returns, the call stays up."""
        self.stop_playback()
        if not self._ended:
            self._closing = True
            if self._keepalive_handle is not None:   # nothing may follow the 0x00 frame
                self._keepalive_handle.cancel()
                self._keepalive_handle = None
            await self._proto.shutdown(timeout)
            self._end(hung_up=False)
        await self.wait_exec(timeout)

    async def wait_exec(self, timeout: float | None = None):
        """Wait for the ``EXEC AudioSocket`` reply (the AGI session is free again after it)."""
        t = self._exec_task
        if t is None:
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(t), timeout)
        except asyncio.TimeoutError:
            log.warning("AudioSocket %s: EXEC did not return within %.1fs", self.uuid, timeout or 0)
        except CallerHangup as exc:  # the caller is gone, nothing more to do
            log.debug("AudioSocket %s: EXEC ended with %r", self.uuid, exc)
        except AgiError as exc:  # Asterisk refused the command (510/520): the media is over anyway
            log.warning("AudioSocket %s: EXEC refused: %s", self.uuid, exc)
        return None


class _AudioSocketProtocol(asyncio.Protocol):
    def __init__(self, server: "AudioSocketServer") -> None:
        self.server = server
        self.decoder = AudioSocketDecoder("server", max_payload=server.max_payload)
        self.transport: asyncio.Transport | None = None
        self.channel: CallChannel | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._lost = asyncio.get_running_loop().create_future()
        self._shut = False  # 0x00 and EOF written: nothing more may be sent
        self.peer = "?"

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport
        self.peer = str(transport.get_extra_info("peername"))
        self.server._conns.add(self)
        self._timer = asyncio.get_running_loop().call_later(self.server.uuid_timeout, self._no_uuid)

    def _no_uuid(self) -> None:
        if self.channel is None and self.transport is not None:
            log.warning("AudioSocket: no UUID frame from %s within %.1fs; closing", self.peer, self.server.uuid_timeout)
            self.transport.abort()

    def send(self, data: bytes) -> None:
        t = self.transport
        if t is None or t.is_closing() or self._shut:
            return
        if t.get_write_buffer_size() > self.server.max_write_buffer:
            log.error("AudioSocket %s: peer not reading (%d bytes queued); aborting",
                      self.channel.uuid if self.channel else "?", t.get_write_buffer_size())
            t.abort()
            return
        t.write(data)

    async def shutdown(self, timeout: float) -> None:
        t = self.transport
        if t is None or t.is_closing():
            return
        self._shut = True
        try:
            t.write(encode_hangup())
            if t.can_write_eof():
                t.write_eof()
            await asyncio.wait_for(asyncio.shield(self._lost), timeout)
        except (asyncio.TimeoutError, OSError):
            pass
        finally:
            t.close()

    def data_received(self, data: bytes) -> None:
        try:
            self.decoder.receive_data(data)
            self._drain()
        except RemoteProtocolError as exc:
            self._fail(exc)

    def eof_received(self) -> bool:
        try:
            self.decoder.receive_eof()
            self._drain()
        except RemoteProtocolError as exc:
            self._fail(exc)
            return False
        if self.channel is not None:
            self.channel._end(hung_up=not self.channel._closing)
        return False

    def _drain(self) -> None:
        dec = self.decoder
        ch = self.channel
        while True:
            ev = dec.next_event()
            if ev is NEED_DATA:
                return
            t = type(ev)
            if t is AudioFrame:
                ch._on_audio(ev)  # type: ignore[union-attr]
            elif t is DtmfFrame:
                ch._on_dtmf(ev.digit)  # type: ignore[union-attr]
            elif t is UuidFrame:
                ch = self.channel = self.server._pair(ev.uuid, self)
                if ch is None:
                    if self.transport is not None:
                        self.transport.abort()
                    return
                if self._timer is not None:
                    self._timer.cancel()
            elif t is HangupFrame:
                if ch is not None:
                    ch._end(hung_up=not ch._closing)
                if self.transport is not None:
                    self.transport.close()
                return
            elif t is ErrorFrame:
                log.warning("AudioSocket %s: error frame from Asterisk (%d bytes)",
                            ch.uuid if ch else "?", len(ev.payload))

    def _fail(self, exc: Exception) -> None:
        log.error("AudioSocket: protocol error from %s: %s; closing", self.peer, exc)
        if self.channel is not None:
            self.channel._end(hung_up=False, error=exc)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.channel is not None:
            ch = self.channel
            ch._end(hung_up=not ch._closing, error=exc if (exc is not None and not ch._closing) else None)
        if not self._lost.done():
            self._lost.set_result(None)
        self.server._conns.discard(self)


class AudioSocketServer:
    """Accepts Asterisk's AudioSocket connections and pairs them with waiting calls by UUID."""

    def __init__(self, host: str = "127.0.0.1", port: int = 9092, advertise: str | None = None, *,
                 uuid_timeout: float = 5.0, max_frames: int = 250, max_payload: int = 8192,
                 max_write_buffer: int = 1 << 20, keepalive: float | None = 0.5) -> None:
        self.host = host
        self._port = port
        self._advertise: str | None = None
        self.advertise = advertise
        self.uuid_timeout = uuid_timeout
        self.max_frames = max_frames
        self.max_payload = max_payload
        self.max_write_buffer = max_write_buffer
        self.keepalive = keepalive
        self._server: asyncio.AbstractServer | None = None
        self._waiting: dict[_uuid.UUID, asyncio.Future] = {}
        self._conns: set[_AudioSocketProtocol] = set()

    @property
    def port(self) -> int:
        if self._server is not None and self._server.sockets:
            return self._server.sockets[0].getsockname()[1]
        return self._port

    @property
    def advertise(self) -> str:
        """``host:port`` given to Asterisk in ``EXEC AudioSocket``.

        Defaults to the bound address (127.0.0.1 for a wildcard bind) and port. Settable, e.g.
        after :meth:`start` once the bound port is known; ``None`` restores the default."""
        if self._advertise:
            return self._advertise
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        return f"{host}:{self.port}"

    @advertise.setter
    def advertise(self, value: str | None) -> None:
        if value is not None:
            host, sep, port = value.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"advertise must be host:port, got {value!r}")
        self._advertise = value or None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _AudioSocketProtocol(self), self.host,
                                                self._port, backlog=1024)
        log.info("AudioSocket listening on %s:%d", self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for c in list(self._conns):
            if c.transport is not None:
                c.transport.abort()
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_exception(ChannelClosed("AudioSocket server closed"))
        self._waiting.clear()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def expect(self, uuid: _uuid.UUID | str | None = None) -> tuple[str, asyncio.Future]:
        """Register a UUID; the future resolves to the :class:`CallChannel` when it connects."""
        u = _uuid.UUID(str(uuid)) if uuid is not None else _uuid.uuid4()
        fut = asyncio.get_running_loop().create_future()
        self._waiting[u] = fut
        return str(u), fut

    def forget(self, uuid: str) -> None:
        fut = self._waiting.pop(_uuid.UUID(uuid), None)
        if fut is not None and not fut.done():
            fut.cancel()

    def _pair(self, u: _uuid.UUID, proto: _AudioSocketProtocol) -> CallChannel | None:
        fut = self._waiting.pop(u, None)
        if fut is None or fut.done():
            log.warning("AudioSocket: refusing connection from %s with unknown or late UUID %s", proto.peer, u)
            return None
        ch = CallChannel(str(u), proto, max_frames=self.max_frames, keepalive=self.keepalive)
        fut.set_result(ch)
        return ch

    async def open_channel(self, session: "AgiSession", timeout: float = 5.0) -> CallChannel:
        """Send ``EXEC AudioSocket <uuid>,<advertise>`` and wait for Asterisk to connect."""
        uid, fut = self.expect()
        exec_task = asyncio.get_running_loop().create_task(session.exec("AudioSocket", uid, self.advertise))
        exec_task.add_done_callback(_retrieve)  # a hang-up while media flows is not an error
        try:
            await asyncio.wait({fut, exec_task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            self.forget(uid)
            raise
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            ch: CallChannel = fut.result()
            ch._exec_task = exec_task
            return ch
        self.forget(uid)
        if exec_task.done():
            exc = exec_task.exception()
            if exc is not None:
                raise ChannelClosed(f"EXEC AudioSocket failed: {exc}") from exc
            raise ChannelClosed(f"EXEC AudioSocket returned {exec_task.result().result} without connecting")
        raise ChannelClosed(f"Asterisk did not connect to {self.advertise} within {timeout}s")

    async def __aenter__(self) -> "AudioSocketServer":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
