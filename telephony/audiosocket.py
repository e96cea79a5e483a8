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

Bounded: a connection must send its UUID frame within ``uuid_timeout``; a paired connection
that receives nothing from Asterisk for ``idle_timeout`` is closed (the caller counts as gone);
once the media has ended -- or Asterisk never connected -- the ``EXEC AudioSocket`` reply must
come within ``exec_timeout`` or the AGI session is closed, so a call never waits for ever on a
peer that stopped answering. The connection cap follows the open-files limit; repeated
conditions (and dropped DTMF digits) are logged once per ``log_interval`` with a count.
"""

from __future__ import annotations

import asyncio
import logging
import uuid as _uuid
from collections import deque
from typing import Any, AsyncIterator

from .agi import AgiError, AgiResult, AgiSession
from .audiosocket_codec import (
    NEED_DATA, AudioFrame, AudioSocketDecoder, DtmfFrame, ErrorFrame, HangupFrame, UuidFrame,
    encode_audio, encode_hangup,
)
from .errors import CallerHangup, RemoteProtocolError
from .limits import DEFAULT_RESERVE, connection_cap, open_files, raise_open_files
from .listener import TcpListener
from .logthrottle import LogThrottle

__all__ = ["AudioSocketServer", "CallChannel", "ChannelClosed"]

log = logging.getLogger(__name__)


class ChannelClosed(CallerHangup):
    """The media channel is gone or never came up."""


def _retrieve(t: "asyncio.Task[AgiResult]") -> None:
    if not t.cancelled():
        t.exception()


def _wake(fut: "asyncio.Future[None] | None") -> None:
    if fut is not None and not fut.done():
        fut.set_result(None)


class CallChannel:
    """Caller audio and DTMF in, our audio out, for one call."""

    def __init__(self, uuid: str, proto: "_AudioSocketProtocol", max_frames: int = 250,
                 max_digits: int = 64, max_lag: float = 0.06, keepalive: float | None = 0.5, *,
                 exec_timeout: float | None = 5.0, log_interval: float = 10.0) -> None:
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
        self._frame_waiter: asyncio.Future[None] | None = None
        self._digit_waiter: asyncio.Future[None] | None = None
        self._dtmf_drops = LogThrottle(log, log_interval)
        self._ended = False
        self._closing = False
        self._stop_gen = 0
        self._playing = 0
        self._play_lock = asyncio.Lock()
        self._next_at = 0.0
        self._max_lag = max_lag
        self._sleeper: asyncio.Future[None] | None = None
        self._exec_task: asyncio.Task[AgiResult] | None = None
        self._session: AgiSession | None = None
        self._exec_timeout = exec_timeout
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
            # one line per burst (per log interval), with the count: a key held down or a
            # flood must not write a line per digit
            self._dtmf_drops.log(logging.WARNING, "AudioSocket %s: DTMF consumer too slow, dropped a digit",
                                 self.uuid)
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
        self._dtmf_drops.flush(logging.WARNING, "AudioSocket %s: DTMF consumer too slow, dropped %d more digits",
                               self.uuid)
        self._watch_exec()

    # -- the EXEC AudioSocket that carries this channel ------------------------------------
    def _bind_exec(self, session: AgiSession, task: "asyncio.Task[AgiResult]") -> None:
        self._session = session
        self._exec_task = task
        if self._ended:
            self._watch_exec()

    def _watch_exec(self) -> None:
        """Once the media has ended the EXEC reply is due: close the AGI session if it never comes."""
        t, timeout = self._exec_task, self._exec_timeout
        if t is None or t.done() or timeout is None or self._session is None:
            return
        asyncio.get_running_loop().call_later(timeout, self._exec_overdue, timeout)

    def _exec_overdue(self, timeout: float) -> None:
        t, session = self._exec_task, self._session
        if t is not None and not t.done() and session is not None:
            session.close(f"EXEC AudioSocket {self.uuid} did not return within {timeout:g} s after the media ended")

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

    async def wait_exec(self, timeout: float | None = None) -> AgiResult | None:
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


class _AudioSocketProtocol(asyncio.BufferedProtocol):
    """Reads into the server's shared buffer (no 256 KiB allocation per read, as the plain
    ``data_received`` path of asyncio's transport makes); the codec copies what it keeps."""

    def __init__(self, server: "AudioSocketServer") -> None:
        self.server = server
        self.decoder = AudioSocketDecoder("server", max_payload=server.max_payload)
        self.transport: asyncio.Transport | None = None
        self.channel: CallChannel | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._loop = asyncio.get_running_loop()
        self._lost: asyncio.Future[None] = self._loop.create_future()
        self._shut = False  # 0x00 and EOF written: nothing more may be sent
        self.last_received = self._loop.time()
        self.peer = "?"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = str(transport.get_extra_info("peername"))
        srv = self.server
        srv._conns.add(self)
        if len(srv._conns) > srv.max_sessions:
            srv._throttle_refused.log(logging.ERROR, "AudioSocket: too many connections (%d), refusing %s",
                                      srv.max_sessions, self.peer)
            transport.abort()
            return
        self._timer = self._loop.call_later(srv.uuid_timeout, self._no_uuid)

    def _no_uuid(self) -> None:
        if self.channel is None and self.transport is not None:
            self.server._throttle_unpaired.log(logging.WARNING, "AudioSocket: no UUID frame from %s within %.1fs; closing",
                                               self.peer, self.server.uuid_timeout)
            self.server.connections_reaped += 1
            self.transport.abort()

    def _start_idle_timer(self) -> None:
        idle = self.server.idle_timeout
        if idle is not None:
            self._timer = self._loop.call_later(idle, self._check_idle)

    def _check_idle(self) -> None:
        """Nothing from Asterisk for ``idle_timeout``: the call is gone, whatever the socket says."""
        idle = self.server.idle_timeout
        ch = self.channel
        if idle is None or ch is None or self.transport is None or self.transport.is_closing():
            return
        quiet = self._loop.time() - self.last_received
        if quiet < idle:
            self._timer = self._loop.call_later(idle - quiet, self._check_idle)
            return
        self.server._throttle_idle.log(logging.WARNING, "AudioSocket %s: nothing received from %s for %.0f s; "
                                       "closing the media", ch.uuid, self.peer, quiet)
        self.server.connections_reaped += 1
        ch._end(hung_up=True, error=ChannelClosed(f"no frame from Asterisk for {quiet:.0f} s"))
        self.transport.abort()

    def send(self, data: bytes) -> None:
        t = self.transport
        if t is None or t.is_closing() or self._shut:
            return
        if t.get_write_buffer_size() > self.server.max_write_buffer:
            self.server._throttle_stuck.log(logging.ERROR, "AudioSocket %s: peer not reading (%d bytes queued); aborting",
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

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.server._read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self.server._read_buffer[:nbytes]))

    def data_received(self, data: bytes) -> None:
        self.last_received = self._loop.time()
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
                ch._on_audio(ev)  # type: ignore[union-attr,arg-type]
            elif t is DtmfFrame:
                ch._on_dtmf(ev.digit)  # type: ignore[union-attr]
            elif t is UuidFrame:
                ch = self.channel = self.server._pair(ev.uuid, self)  # type: ignore[union-attr]
                if ch is None:
                    if self.transport is not None:
                        self.transport.abort()
                    return
                if self._timer is not None:
                    self._timer.cancel()
                self._start_idle_timer()
            elif t is HangupFrame:
                if ch is not None:
                    ch._end(hung_up=not ch._closing)
                if self.transport is not None:
                    self.transport.close()
                return
            elif t is ErrorFrame:
                log.warning("AudioSocket %s: error frame from Asterisk (%d bytes)",
                            ch.uuid if ch else "?", len(ev.payload))  # type: ignore[union-attr]

    def _fail(self, exc: Exception) -> None:
        self.server._throttle_protocol.log(logging.ERROR, "AudioSocket: protocol error from %s: %s; closing",
                                           self.peer, exc)
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
    """Accepts Asterisk's AudioSocket connections and pairs them with waiting calls by UUID.

    Limits (constructor arguments): ``uuid_timeout`` for the first frame; ``idle_timeout``:
    a paired connection that receives nothing for that long is closed (``None``: never; phones
    that suppress silence send nothing while the caller is quiet, so keep it well above any
    prompt); ``exec_timeout``: once the media has ended, or Asterisk never connected, the
    ``EXEC AudioSocket`` reply must come within this or the AGI session is closed;
    ``max_connections`` lowered at start to the open-files limit (after raising it when
    ``raise_open_files``); ``log_interval`` for repeated conditions.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 9092, advertise: str | None = None, *,
                 uuid_timeout: float = 5.0, max_frames: int = 250, max_payload: int = 8192,
                 max_write_buffer: int = 1 << 20, keepalive: float | None = 0.5,
                 idle_timeout: float | None = 300.0, exec_timeout: float | None = 5.0,
                 max_connections: int = 5000, raise_open_files: bool = True, fds_per_connection: float = 2.0,
                 reserve_fds: int = DEFAULT_RESERVE, log_interval: float = 10.0, backlog: int = 1024) -> None:
        self.host = host
        self._port = port
        self._advertise: str | None = None
        self.advertise = advertise
        self.uuid_timeout = uuid_timeout
        self.max_frames = max_frames
        self.max_payload = max_payload
        self.max_write_buffer = max_write_buffer
        self.keepalive = keepalive
        self.idle_timeout = idle_timeout
        self.exec_timeout = exec_timeout
        self.max_connections = max_connections
        #: the cap in force: ``max_connections`` lowered to the open-files limit at start
        self.max_sessions = max_connections
        self.raise_open_files = raise_open_files
        self.fds_per_connection = fds_per_connection
        self.reserve_fds = reserve_fds
        self.log_interval = log_interval
        self.backlog = backlog
        #: connections closed because the peer stalled (no UUID, or silent for ``idle_timeout``)
        self.connections_reaped = 0
        self._listener: TcpListener | None = None
        self._waiting: dict[_uuid.UUID, asyncio.Future[CallChannel]] = {}
        self._conns: set[_AudioSocketProtocol] = set()
        # one read buffer for all connections: the loop reads one socket at a time and the
        # protocol copies what it keeps before the next read
        self._read_buffer = memoryview(bytearray(65536))
        self._throttle_refused = LogThrottle(log, log_interval)
        self._throttle_unpaired = LogThrottle(log, log_interval)
        self._throttle_unknown = LogThrottle(log, log_interval)
        self._throttle_idle = LogThrottle(log, log_interval)
        self._throttle_stuck = LogThrottle(log, log_interval)
        self._throttle_protocol = LogThrottle(log, log_interval)
        self._throttle_exec = LogThrottle(log, log_interval)

    @property
    def port(self) -> int:
        if self._listener is not None and self._listener.serving:
            return self._listener.port
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

    @property
    def accept_errors(self) -> int:
        """``accept()`` failures for lack of descriptors or memory since start."""
        return self._listener.accept_errors if self._listener is not None else 0

    async def start(self) -> None:
        limit = raise_open_files() if self.raise_open_files else open_files()
        self.max_sessions = connection_cap(self.max_connections, fds_per_connection=self.fds_per_connection,
                                           reserve=self.reserve_fds, limit=limit)
        if self.max_sessions < self.max_connections:
            log.warning("AudioSocket: open-files limit %d allows %d concurrent connections (configured %d)",
                        limit.soft, self.max_sessions, self.max_connections)
        self._listener = TcpListener("AudioSocket", lambda: _AudioSocketProtocol(self), self.host, self._port,
                                     backlog=self.backlog, log_interval=self.log_interval, logger=log)
        await self._listener.start()
        log.info("AudioSocket listening on %s:%d", self.host, self.port)

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
        for c in list(self._conns):
            if c.transport is not None:
                c.transport.abort()
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_exception(ChannelClosed("AudioSocket server closed"))
        self._waiting.clear()

    def expect(self, uuid: _uuid.UUID | str | None = None) -> tuple[str, "asyncio.Future[CallChannel]"]:
        """Register a UUID; the future resolves to the :class:`CallChannel` when it connects."""
        u = _uuid.UUID(str(uuid)) if uuid is not None else _uuid.uuid4()
        fut: asyncio.Future[CallChannel] = asyncio.get_running_loop().create_future()
        self._waiting[u] = fut
        return str(u), fut

    def forget(self, uuid: str) -> None:
        fut = self._waiting.pop(_uuid.UUID(uuid), None)
        if fut is not None and not fut.done():
            fut.cancel()

    def _pair(self, u: _uuid.UUID, proto: _AudioSocketProtocol) -> CallChannel | None:
        fut = self._waiting.pop(u, None)
        if fut is None or fut.done():
            self._throttle_unknown.log(logging.WARNING, "AudioSocket: refusing connection from %s with unknown or "
                                       "late UUID %s", proto.peer, u)
            return None
        ch = CallChannel(str(u), proto, max_frames=self.max_frames, keepalive=self.keepalive,
                         exec_timeout=self.exec_timeout, log_interval=self.log_interval)
        fut.set_result(ch)
        return ch

    async def open_channel(self, session: AgiSession, timeout: float = 5.0) -> CallChannel:
        """Send ``EXEC AudioSocket <uuid>,<advertise>`` and wait for Asterisk to connect.

        The ``EXEC`` has no reply deadline of its own while the media flows; if Asterisk does
        not connect within ``timeout`` (:class:`ChannelClosed`) and the ``EXEC`` has not
        returned ``exec_timeout`` later, the AGI session is closed."""
        uid, fut = self.expect()
        exec_task = asyncio.get_running_loop().create_task(
            session.exec("AudioSocket", uid, self.advertise, timeout=None))
        exec_task.add_done_callback(_retrieve)  # a hang-up while media flows is not an error
        try:
            waiting: set[asyncio.Future[Any]] = {fut, exec_task}
            await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            self.forget(uid)
            raise
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            ch = fut.result()
            ch._bind_exec(session, exec_task)
            return ch
        self.forget(uid)
        if exec_task.done():
            exc = exec_task.exception()
            if exc is not None:
                raise ChannelClosed(f"EXEC AudioSocket failed: {exc}") from exc
            raise ChannelClosed(f"EXEC AudioSocket returned {exec_task.result().result} without connecting")
        self._watch_unpaired(session, exec_task, uid)
        raise ChannelClosed(f"Asterisk did not connect to {self.advertise} within {timeout}s")

    def _watch_unpaired(self, session: AgiSession, exec_task: "asyncio.Task[AgiResult]", uid: str) -> None:
        """Asterisk never connected, and the EXEC is still pending: it must return soon."""
        timeout = self.exec_timeout
        if timeout is None:
            return

        def overdue() -> None:
            if not exec_task.done() and not session.closed:
                self._throttle_exec.log(logging.WARNING, "AudioSocket: Asterisk never connected for %s and EXEC "
                                        "did not return within %g s more", uid, timeout)
                session.close(f"EXEC AudioSocket {uid} neither connected nor returned")

        asyncio.get_running_loop().call_later(timeout, overdue)

    async def __aenter__(self) -> "AudioSocketServer":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
