"""FastAGI server: one :class:`AgiSession` per call, driven by a typed command API.

The transport is an :class:`asyncio.Protocol` (no reader task per call, no per-line
StreamReader overhead); parsing is the sans-IO :class:`~telephony.agi_codec.AgiCodec`.
A header block that never completes (half a header then silence, a 10 MB line, garbage) gets a
logged error and a closed connection without touching any other session.

Hang-up semantics follow Asterisk's ``res/res_agi.c`` and the Asterisk 22 transcripts:

* ``HANGUP`` arrives unsolicited when the caller leaves while we are idle, or ~40 ms after the
  reply of the command that was running (``STREAM FILE`` -> ``200 result=-1 endpos=...``).
* After it, Asterisk still runs ``GET/SET VARIABLE``, ``GET FULL VARIABLE``, ``VERBOSE``,
  ``EXEC`` and ``NOOP`` (dead mode) and answers everything else with ``511``.

So: media/channel commands raise :class:`AgiHangup` once the call is dead (without a round trip
when we already know), a ``-1`` media result followed by ``HANGUP`` within ``hangup_grace``
raises :class:`AgiHangup`, ``511`` or EOF raise :class:`AgiHangup`; dead-mode commands keep
working. ``510``/``520`` raise :class:`AgiError`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

from .agi_codec import (
    NEED_DATA, AgiCodec, AgiConnectionClosed, AgiEnvironment, AgiHangupNotice, AgiReply,
    format_command,
)
from .errors import CallerHangup, RemoteProtocolError

__all__ = ["FastAgiServer", "AgiSession", "AgiResult", "AgiHangup", "AgiError"]

log = logging.getLogger(__name__)

DEAD_MODE_COMMANDS = frozenset({"GET VARIABLE", "GET FULL VARIABLE", "SET VARIABLE", "VERBOSE",
                                "EXEC", "NOOP"})


class AgiHangup(CallerHangup):
    """The call is gone (HANGUP line, 511 reply, connection closed or reaped)."""


class AgiError(Exception):
    """Asterisk refused a command: 510 (unknown command) or 520 (wrong syntax)."""

    def __init__(self, code: int, line: str, usage: tuple[str, ...] = ()) -> None:
        super().__init__(f"AGI {code}: {line}")
        self.code = code
        self.line = line
        self.usage = usage


@dataclass(frozen=True)
class AgiResult:
    """A parsed ``200`` reply.

    ``result`` is the integer after ``result=`` (0 when empty), ``data`` the text in
    parentheses (``GET DATA``: the digits), ``endpos`` the sample position, ``timeout`` true
    when Asterisk reported ``(timeout)``.
    """

    code: int
    result: int
    line: str
    data: str | None = None
    endpos: int | None = None
    timeout: bool = False

    @property
    def digit(self) -> str | None:
        """The DTMF digit for results that carry an ASCII code (stream file, wait for digit)."""
        return chr(self.result) if 32 < self.result < 128 else None

    @classmethod
    def from_reply(cls, r: AgiReply) -> "AgiResult":
        ri = r.result_int
        return cls(code=r.code, result=ri if ri is not None else 0, line=r.line, data=r.data,
                   endpos=r.endpos, timeout=(r.data == "timeout"))


class AgiSession:
    """One FastAGI connection. Commands are serialised (AGI is strictly one at a time)."""

    def __init__(self, proto: "_AgiProtocol", envblock: AgiEnvironment, hangup_grace: float) -> None:
        self._proto = proto
        self.env: dict[str, str] = dict(envblock.env)
        self.args: list[str] = list(envblock.args)
        self.request: str = self.env.get("request", "")
        self.hung_up = False
        self.closed = False
        self.hangup_event = asyncio.Event()
        self._lock = asyncio.Lock()
        self._pending: asyncio.Future | None = None
        self._grace = hangup_grace
        self.commands_sent = 0

    @property
    def script(self) -> str:
        """The path of the AGI URL (``agi://host:port/<script>``), e.g. ``hotline``."""
        return self.env.get("network_script", "")

    @property
    def uniqueid(self) -> str:
        return self.env.get("uniqueid", "")

    # -- called by the protocol ----------------------------------------------------------
    def _on_reply(self, reply: AgiReply) -> None:
        fut, self._pending = self._pending, None
        if fut is not None and not fut.done():
            fut.set_result(reply)

    def _on_hangup(self) -> None:
        self.hung_up = True
        self.hangup_event.set()

    def _on_closed(self, exc: BaseException | None = None) -> None:
        self.closed = True
        self.hung_up = True
        self.hangup_event.set()
        fut, self._pending = self._pending, None
        if fut is not None and not fut.done():
            fut.set_exception(AgiHangup("AGI connection closed" + (f": {exc}" if exc else "")))

    # -- generic command -----------------------------------------------------------------
    async def command(self, line: str, *, name: str = "", media: bool = False) -> AgiReply:
        """Send one raw command line and return the reply (``AgiHangup`` on 511/EOF)."""
        async with self._lock:
            if self.closed:
                raise AgiHangup("AGI connection closed")
            if media and self.hung_up:
                raise AgiHangup("the caller has hung up")
            data = self._proto.codec.send_command(line)
            fut = asyncio.get_running_loop().create_future()
            self._pending = fut
            self.commands_sent += 1
            self._proto.transport.write(data)
            reply: AgiReply = await fut
        if reply.code == 511:
            self._on_hangup()
            raise AgiHangup(reply.line)
        if reply.code in (510, 520) or reply.code != 200:
            raise AgiError(reply.code, reply.line, reply.usage)
        return reply

    async def _media(self, name: str, line: str) -> AgiResult:
        reply = await self.command(line, name=name, media=True)
        res = AgiResult.from_reply(reply)
        if res.result == -1:
            if reply.data == "hangup" or await self._hangup_follows():
                raise AgiHangup(f"caller hung up during {name}")
        return res

    async def _hangup_follows(self) -> bool:
        if self.hung_up:
            return True
        try:
            await asyncio.wait_for(self.hangup_event.wait(), self._grace)
        except asyncio.TimeoutError:
            return False
        return True

    # -- typed commands ------------------------------------------------------------------
    async def answer(self) -> AgiResult:
        return await self._media("ANSWER", "ANSWER")

    async def hangup(self) -> AgiResult:
        reply = await self.command("HANGUP", media=True)
        return AgiResult.from_reply(reply)

    async def channel_status(self) -> int:
        return AgiResult.from_reply(await self.command("CHANNEL STATUS", media=True)).result

    async def stream_file(self, name: str, escape_digits: str = "", offset: int | None = None) -> AgiResult:
        args = (name, escape_digits) + ((str(int(offset)),) if offset is not None else ())
        return await self._media("STREAM FILE", format_command("STREAM", "FILE", args=args))

    async def get_data(self, name: str, timeout_ms: int | None = None, max_digits: int | None = None) -> AgiResult:
        args: tuple[str, ...] = (name,)
        if timeout_ms is not None or max_digits is not None:
            args += (str(int(timeout_ms or 0)),)
        if max_digits is not None:
            args += (str(int(max_digits)),)
        reply = await self.command(format_command("GET", "DATA", args=args), media=True)
        if reply.result == "-1" and await self._hangup_follows():
            raise AgiHangup("caller hung up during GET DATA")
        digits = reply.result or ""
        return AgiResult(code=200, result=int(digits) if digits.isdigit() else (-1 if digits == "-1" else 0),
                         line=reply.line, data=digits if digits != "-1" else "",
                         timeout=(reply.data == "timeout"))

    async def wait_for_digit(self, timeout_ms: int) -> AgiResult:
        return await self._media("WAIT FOR DIGIT", format_command("WAIT", "FOR", "DIGIT", args=(str(int(timeout_ms)),)))

    async def record_file(self, path: str, fmt: str = "wav", escape_digits: str = "#",
                          timeout_ms: int = 30000, silence_s: int | None = None,
                          beep: bool = False, offset: int = 0) -> AgiResult:
        args = [path, fmt, escape_digits, str(int(timeout_ms))]
        if beep or silence_s is not None or offset:
            args.append(str(int(offset)))
        if beep:
            args.append("BEEP")
        if silence_s is not None:
            args.append(f"s={int(silence_s)}")
        return await self._media("RECORD FILE", format_command("RECORD", "FILE", args=tuple(args)))

    async def say_digits(self, digits: str, escape_digits: str = "") -> AgiResult:
        return await self._media("SAY DIGITS", format_command("SAY", "DIGITS", args=(digits, escape_digits)))

    async def set_variable(self, name: str, value: str) -> AgiResult:
        return AgiResult.from_reply(await self.command(format_command("SET", "VARIABLE", args=(name, str(value)))))

    async def get_variable(self, name: str) -> str | None:
        reply = await self.command(format_command("GET", "VARIABLE", args=(name,)))
        if reply.result == "1":
            return reply.data if reply.data is not None else ""
        return None

    async def get_full_variable(self, expression: str) -> str | None:
        reply = await self.command(format_command("GET", "FULL", "VARIABLE", args=(expression,)))
        if reply.result == "1":
            return reply.data if reply.data is not None else ""
        return None

    async def exec(self, app: str, *args: str) -> AgiResult:
        """``EXEC app arg1,arg2``: Asterisk passes one option string (``res_agi.c:handle_exec``)."""
        cmd_args = (app,) + ((",".join(args),) if args else ())
        reply = await self.command(format_command("EXEC", args=cmd_args))
        res = AgiResult.from_reply(reply)
        if res.result == -1 and await self._hangup_follows():
            raise AgiHangup(f"caller hung up during EXEC {app}")
        return res

    async def verbose(self, msg: str, level: int = 1) -> AgiResult:
        return AgiResult.from_reply(await self.command(format_command("VERBOSE", args=(msg, str(int(level))))))

    async def noop(self) -> AgiResult:
        return AgiResult.from_reply(await self.command("NOOP"))


Handler = Callable[[AgiSession], Awaitable[None]]


class _AgiProtocol(asyncio.Protocol):
    def __init__(self, server: "FastAgiServer") -> None:
        self.server = server
        self.codec = AgiCodec(max_line=server.max_line, max_header=server.max_header)
        self.transport: asyncio.Transport | None = None
        self.session: AgiSession | None = None
        self.task: asyncio.Task | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._eof = asyncio.get_running_loop().create_future()
        self.peer = "?"

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport
        self.peer = str(transport.get_extra_info("peername"))
        self.server._conns.add(self)
        if len(self.server._conns) > self.server.max_connections:
            log.error("FastAGI: too many connections (%d), refusing %s", self.server.max_connections, self.peer)
            transport.abort()
            return
        self._timer = asyncio.get_running_loop().call_later(self.server.header_timeout, self._header_timeout)

    def _header_timeout(self) -> None:
        if self.session is None and self.transport is not None:
            log.warning("FastAGI: header block from %s not complete after %.1fs; closing",
                        self.peer, self.server.header_timeout)
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        try:
            self.codec.receive_data(data)
            self._drain()
        except RemoteProtocolError as exc:
            self._fail(exc)

    def eof_received(self) -> bool:
        try:
            self.codec.receive_eof()
            self._drain()
        except RemoteProtocolError as exc:
            self._fail(exc)
        return False

    def _drain(self) -> None:
        codec = self.codec
        while True:
            ev = codec.next_event()
            if ev is NEED_DATA:
                return
            if type(ev) is AgiReply:
                if self.session is not None:
                    self.session._on_reply(ev)
            elif type(ev) is AgiHangupNotice:
                if self.session is not None:
                    self.session._on_hangup()
            elif type(ev) is AgiEnvironment:
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                self.session = AgiSession(self, ev, self.server.hangup_grace)
                self.task = asyncio.get_running_loop().create_task(self._run(self.session))
            elif type(ev) is AgiConnectionClosed:
                if self.session is not None:
                    self.session._on_closed()
                return

    def _fail(self, exc: Exception) -> None:
        log.error("FastAGI: protocol error from %s: %s; closing", self.peer, exc)
        if self.session is not None:
            self.session._on_closed(exc)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.session is not None:
            self.session._on_closed(exc)
        if not self._eof.done():
            self._eof.set_result(None)
        self.server._conns.discard(self)

    async def _run(self, session: AgiSession) -> None:
        try:
            await self.server.handler(session)
        except CallerHangup:
            log.debug("FastAGI: session %s ended by hang-up", session.uniqueid)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("FastAGI: handler failed for session %s", session.uniqueid)
        finally:
            await self._finish()

    async def _finish(self) -> None:
        t = self.transport
        if t is None or t.is_closing():
            return
        # Half-close like a well-behaved AGI: Asterisk answers with HANGUP and closes.
        try:
            if t.can_write_eof():
                t.write_eof()
                await asyncio.wait_for(asyncio.shield(self._eof), self.server.close_timeout)
        except (asyncio.TimeoutError, OSError):
            pass
        finally:
            t.close()


class FastAgiServer:
    """``FastAgiServer(handler, host, port)``; ``await start()``; ``port``; ``await close()``."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 4573,
                 header_timeout: float = 5.0, *, hangup_grace: float = 0.25,
                 close_timeout: float = 2.0, max_line: int = 8192, max_header: int = 65536,
                 max_connections: int = 5000) -> None:
        self.handler = handler
        self.host = host
        self._port = port
        self.header_timeout = header_timeout
        self.hangup_grace = hangup_grace
        self.close_timeout = close_timeout
        self.max_line = max_line
        self.max_header = max_header
        self.max_connections = max_connections
        self._server: asyncio.AbstractServer | None = None
        self._conns: set[_AgiProtocol] = set()

    @property
    def port(self) -> int:
        if self._server is not None and self._server.sockets:
            return self._server.sockets[0].getsockname()[1]
        return self._port

    @property
    def active_sessions(self) -> int:
        return len(self._conns)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _AgiProtocol(self), self.host, self._port,
                                                backlog=1024)
        log.info("FastAGI listening on %s:%d", self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = []
        for c in list(self._conns):
            if c.task is not None and not c.task.done():
                c.task.cancel()
                tasks.append(c.task)
            if c.transport is not None:
                c.transport.abort()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> "FastAgiServer":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
