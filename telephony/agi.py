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

Bounded (a peer that stops talking costs a session for a bounded time, never for ever):

* the header block must be complete ``header_timeout`` seconds after the connection;
* every command waits for its reply at most its deadline (:class:`AgiDeadlines`): a short one
  for control commands (``ANSWER``, ``SET VARIABLE``...), a long one for commands that play a
  file of unknown length (``STREAM FILE``, ``GET DATA``, ``SAY DIGITS``, ``EXEC Playback``...),
  the command's own timeout plus a margin for ``RECORD FILE``/``WAIT FOR DIGIT``; per command
  name configurable. A missed deadline closes the session with one log line and raises
  :class:`AgiHangup`;
* the connection cap follows the open-files limit (raised at start, see
  :mod:`telephony.limits`); the accept loop survives running out of descriptors
  (:mod:`telephony.listener`); repeated conditions are logged once per ``log_interval``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Mapping

from .agi_codec import (
    NEED_DATA, AgiCodec, AgiConnectionClosed, AgiEnvironment, AgiHangupNotice, AgiReply,
    format_command,
)
from .errors import CallerHangup, RemoteProtocolError
from .limits import DEFAULT_RESERVE, connection_cap, open_files, raise_open_files
from .listener import TcpListener
from .logthrottle import LogThrottle

__all__ = ["FastAgiServer", "AgiSession", "AgiResult", "AgiHangup", "AgiError", "AgiDeadlines", "Handler"]

log = logging.getLogger(__name__)

DEAD_MODE_COMMANDS = frozenset({"GET VARIABLE", "GET FULL VARIABLE", "SET VARIABLE", "VERBOSE",
                                "EXEC", "NOOP"})
#: commands whose reply comes when a file of unknown length has played, or when the caller acts
MEDIA_COMMANDS = frozenset({"STREAM FILE", "CONTROL STREAM FILE", "GET DATA", "GET OPTION", "SAY DIGITS",
                            "SAY NUMBER", "SAY ALPHA", "SAY PHONETIC", "SAY DATE", "SAY TIME", "SAY DATETIME",
                            "RECORD FILE", "WAIT FOR DIGIT", "EXEC", "SPEECH RECOGNIZE", "RECEIVE CHAR",
                            "RECEIVE TEXT"})
_KNOWN_NAMES = sorted(DEAD_MODE_COMMANDS | MEDIA_COMMANDS | {
    "ANSWER", "HANGUP", "CHANNEL STATUS", "SET CALLERID", "SET MUSIC", "SET CONTEXT", "SET EXTENSION",
    "SET PRIORITY", "SET AUTOHANGUP", "DATABASE GET", "DATABASE PUT", "DATABASE DEL", "TDD MODE",
    "SEND TEXT", "SEND IMAGE", "ASYNCAGI BREAK", "GOSUB"}, key=lambda n: -len(n))


def command_name(line: str) -> str:
    """The AGI command a line starts with (``"STREAM FILE"``), or its first word upper-cased."""
    up = " ".join(line.split()[:3]).upper()
    for name in _KNOWN_NAMES:
        if up == name or up.startswith(name + " "):
            return name
    return up.split(" ", 1)[0] if up else ""


@dataclass(frozen=True)
class AgiDeadlines:
    """How long an AGI command may wait for its reply before the session is closed.

    ``command``: control commands (``ANSWER``, ``GET/SET VARIABLE``, ``VERBOSE``...): Asterisk
    answers them at once. ``media``: commands that play a file of unknown length or wait for the
    caller (``STREAM FILE``, ``GET DATA``, ``SAY DIGITS``, ``EXEC`` of an application...): long,
    so a real call is never cut in the middle of a prompt. Commands that state their own
    timeout (``RECORD FILE``, ``WAIT FOR DIGIT``) get that timeout plus ``margin``.
    ``per_command`` overrides any of these by command name (``{"STREAM FILE": 1800.0}``,
    ``None``: no deadline). ``None`` anywhere means no deadline.
    """

    command: float | None = 10.0
    media: float | None = 600.0
    margin: float = 10.0
    per_command: Mapping[str, float | None] = field(default_factory=dict)
    #: name -> deadline, filled as names are used (a dict lookup per command)
    _by_name: dict[str, float | None] = field(default_factory=dict, init=False, repr=False, compare=False)

    def for_command(self, name: str, own: float | None = None) -> float | None:
        """The deadline of command ``name`` whose own timeout is ``own`` seconds (None: none)."""
        if own is not None:
            return self._compute(name, own)
        try:
            return self._by_name[name]
        except KeyError:
            found = self._compute(name, None)
            if len(self._by_name) < 256:
                self._by_name[name] = found
            return found

    def _compute(self, name: str, own: float | None) -> float | None:
        key = name.upper()
        if key in self.per_command:
            return self.per_command[key]
        if own is not None and own >= 0:
            return own + self.margin
        return self.media if key in MEDIA_COMMANDS else self.command


class _Default(enum.Enum):
    """The argument was not given: the session's :class:`AgiDeadlines` decide."""

    DEFAULT = "DEFAULT"

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT = _Default.DEFAULT
Timeout = float | None | _Default


class AgiHangup(CallerHangup):
    """The call is gone (HANGUP line, 511 reply, connection closed, or no reply in time)."""


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

    def __init__(self, proto: "_AgiProtocol", envblock: AgiEnvironment, hangup_grace: float,
                 deadlines: AgiDeadlines | None = None) -> None:
        self._proto = proto
        self.env: dict[str, str] = dict(envblock.env)
        self.args: list[str] = list(envblock.args)
        self.request: str = self.env.get("request", "")
        self.hung_up = False
        self.closed = False
        #: why we closed the session ourselves (a missed deadline), else None
        self.close_reason: str | None = None
        self.hangup_event = asyncio.Event()
        self._lock = asyncio.Lock()
        self._pending: asyncio.Future[AgiReply] | None = None
        self._grace = hangup_grace
        self.deadlines = deadlines or AgiDeadlines()
        self.commands_sent = 0
        # The reply deadline of the pending command. One watchdog timer per session, re-armed
        # only when it fires early or a shorter deadline comes: no timer per command.
        self._loop = asyncio.get_running_loop()
        self._due: float | None = None
        self._due_what = ""
        self._due_len = 0.0
        self._watchdog: asyncio.TimerHandle | None = None

    @property
    def script(self) -> str:
        """The path of the AGI URL (``agi://host:port/<script>``), e.g. ``hotline``."""
        return self.env.get("network_script", "")

    @property
    def uniqueid(self) -> str:
        return self.env.get("uniqueid", "")

    @property
    def peer(self) -> str:
        """The remote address, for log lines."""
        return self._proto.peer

    def close(self, reason: str) -> None:
        """End the session now, e.g. because Asterisk stopped answering: logged (at most once
        per interval), the connection is aborted, a waiting command raises :class:`AgiHangup`."""
        if self.closed:
            return
        self.close_reason = reason
        self._proto.reap(reason)
        self._on_closed(None, reason)

    # -- called by the protocol ----------------------------------------------------------
    def _on_reply(self, reply: AgiReply) -> None:
        fut, self._pending = self._pending, None
        if fut is not None and not fut.done():
            fut.set_result(reply)

    def _on_hangup(self) -> None:
        self.hung_up = True
        self.hangup_event.set()

    def _on_closed(self, exc: BaseException | None = None, reason: str | None = None) -> None:
        self.closed = True
        self.hung_up = True
        self.hangup_event.set()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        fut, self._pending = self._pending, None
        if fut is not None and not fut.done():
            why = reason or ("AGI connection closed" + (f": {exc}" if exc else ""))
            fut.set_exception(AgiHangup(why))

    def _arm(self, name: str, deadline: float) -> None:
        due = self._loop.time() + deadline
        self._due = due
        self._due_what = name
        self._due_len = deadline
        h = self._watchdog
        if h is None or h.when() > due:
            if h is not None:
                h.cancel()
            self._watchdog = self._loop.call_at(due, self._check_due)

    def _check_due(self) -> None:
        self._watchdog = None
        due = self._due
        if due is None or self._pending is None or self.closed:
            return
        if self._loop.time() >= due - 0.001:
            self.close(f"no reply to {self._due_what} within {self._due_len:g} s")
        else:
            self._watchdog = self._loop.call_at(due, self._check_due)

    # -- generic command -----------------------------------------------------------------
    async def command(self, line: str, *, name: str = "", media: bool = False,
                      timeout: Timeout = DEFAULT) -> AgiReply:
        """Send one raw command line and return the reply (``AgiHangup`` on 511/EOF/deadline).

        ``timeout``: seconds to wait for the reply (``None``: no deadline); by default the
        session's :class:`AgiDeadlines` for this command."""
        cmd = name or command_name(line)
        deadline = self.deadlines.for_command(cmd) if timeout is DEFAULT else timeout
        async with self._lock:
            if self.closed:
                raise AgiHangup(self.close_reason or "AGI connection closed")
            if media and self.hung_up:
                raise AgiHangup("the caller has hung up")
            data = self._proto.codec.send_command(line)
            fut: asyncio.Future[AgiReply] = self._loop.create_future()
            self._pending = fut
            self.commands_sent += 1
            self._proto.write(data)
            if deadline is not None:
                self._arm(cmd, deadline)
            try:
                reply = await fut
            finally:
                self._due = None
        if reply.code == 511:
            self._on_hangup()
            raise AgiHangup(reply.line)
        if reply.code in (510, 520) or reply.code != 200:
            raise AgiError(reply.code, reply.line, reply.usage)
        return reply

    async def _media(self, name: str, line: str, timeout: Timeout = DEFAULT) -> AgiResult:
        reply = await self.command(line, name=name, media=True, timeout=timeout)
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

    def _own(self, name: str, seconds: float | None) -> float | None:
        return self.deadlines.for_command(name, seconds)

    # -- typed commands ------------------------------------------------------------------
    async def answer(self) -> AgiResult:
        return await self._media("ANSWER", "ANSWER")

    async def hangup(self) -> AgiResult:
        reply = await self.command("HANGUP", media=True)
        return AgiResult.from_reply(reply)

    async def channel_status(self) -> int:
        return AgiResult.from_reply(await self.command("CHANNEL STATUS", media=True)).result

    async def stream_file(self, name: str, escape_digits: str = "", offset: int | None = None, *,
                          timeout: Timeout = DEFAULT) -> AgiResult:
        args = (name, escape_digits) + ((str(int(offset)),) if offset is not None else ())
        return await self._media("STREAM FILE", format_command("STREAM", "FILE", args=args), timeout)

    async def get_data(self, name: str, timeout_ms: int | None = None, max_digits: int | None = None, *,
                       timeout: Timeout = DEFAULT) -> AgiResult:
        args: tuple[str, ...] = (name,)
        if timeout_ms is not None or max_digits is not None:
            args += (str(int(timeout_ms or 0)),)
        if max_digits is not None:
            args += (str(int(max_digits)),)
        reply = await self.command(format_command("GET", "DATA", args=args), name="GET DATA", media=True,
                                   timeout=timeout)
        if reply.result == "-1" and await self._hangup_follows():
            raise AgiHangup("caller hung up during GET DATA")
        digits = reply.result or ""
        return AgiResult(code=200, result=int(digits) if digits.isdigit() else (-1 if digits == "-1" else 0),
                         line=reply.line, data=digits if digits != "-1" else "",
                         timeout=(reply.data == "timeout"))

    async def wait_for_digit(self, timeout_ms: int, *, timeout: Timeout = DEFAULT) -> AgiResult:
        if timeout is DEFAULT:
            timeout = self._own("WAIT FOR DIGIT", timeout_ms / 1000 if timeout_ms >= 0 else None)
        return await self._media("WAIT FOR DIGIT", format_command("WAIT", "FOR", "DIGIT", args=(str(int(timeout_ms)),)),
                                 timeout)

    async def record_file(self, path: str, fmt: str = "wav", escape_digits: str = "#",
                          timeout_ms: int = 30000, silence_s: int | None = None,
                          beep: bool = False, offset: int = 0, *, timeout: Timeout = DEFAULT) -> AgiResult:
        args = [path, fmt, escape_digits, str(int(timeout_ms))]
        if beep or silence_s is not None or offset:
            args.append(str(int(offset)))
        if beep:
            args.append("BEEP")
        if silence_s is not None:
            args.append(f"s={int(silence_s)}")
        if timeout is DEFAULT:
            timeout = self._own("RECORD FILE", timeout_ms / 1000 if timeout_ms > 0 else None)
        return await self._media("RECORD FILE", format_command("RECORD", "FILE", args=tuple(args)), timeout)

    async def say_digits(self, digits: str, escape_digits: str = "", *, timeout: Timeout = DEFAULT) -> AgiResult:
        return await self._media("SAY DIGITS", format_command("SAY", "DIGITS", args=(digits, escape_digits)), timeout)

    async def set_variable(self, name: str, value: str) -> AgiResult:
        return AgiResult.from_reply(await self.command(format_command("SET", "VARIABLE", args=(name, str(value))),
                                                       name="SET VARIABLE"))

    async def get_variable(self, name: str) -> str | None:
        reply = await self.command(format_command("GET", "VARIABLE", args=(name,)), name="GET VARIABLE")
        if reply.result == "1":
            return reply.data if reply.data is not None else ""
        return None

    async def get_full_variable(self, expression: str) -> str | None:
        reply = await self.command(format_command("GET", "FULL", "VARIABLE", args=(expression,)),
                                   name="GET FULL VARIABLE")
        if reply.result == "1":
            return reply.data if reply.data is not None else ""
        return None

    async def exec(self, app: str, *args: str, timeout: Timeout = DEFAULT) -> AgiResult:
        """``EXEC app arg1,arg2``: Asterisk passes one option string (``res_agi.c:handle_exec``).

        The reply comes when the application returns: by default the ``media`` deadline
        applies (``per_command`` may name ``"EXEC"``); ``timeout=None`` waits for ever."""
        cmd_args = (app,) + ((",".join(args),) if args else ())
        reply = await self.command(format_command("EXEC", args=cmd_args), name="EXEC", timeout=timeout)
        res = AgiResult.from_reply(reply)
        if res.result == -1 and await self._hangup_follows():
            raise AgiHangup(f"caller hung up during EXEC {app}")
        return res

    async def verbose(self, msg: str, level: int = 1) -> AgiResult:
        return AgiResult.from_reply(await self.command(format_command("VERBOSE", args=(msg, str(int(level)))),
                                                       name="VERBOSE"))

    async def noop(self) -> AgiResult:
        return AgiResult.from_reply(await self.command("NOOP", name="NOOP"))


Handler = Callable[[AgiSession], Awaitable[None]]


class _AgiProtocol(asyncio.BufferedProtocol):
    """Reads into the server's shared buffer (no 256 KiB allocation per read, as the plain
    ``data_received`` path of asyncio's transport makes); the codec copies what it keeps."""

    def __init__(self, server: "FastAgiServer") -> None:
        self.server = server
        self.codec = AgiCodec(max_line=server.max_line, max_header=server.max_header)
        self.transport: asyncio.Transport | None = None
        self.session: AgiSession | None = None
        self.task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._eof: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.peer = "?"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = str(transport.get_extra_info("peername"))
        srv = self.server
        srv._conns.add(self)
        if len(srv._conns) > srv.max_sessions:
            srv._throttle_refused.log(logging.ERROR, "FastAGI: too many connections (%d), refusing %s",
                                      srv.max_sessions, self.peer)
            transport.abort()
            return
        self._timer = asyncio.get_running_loop().call_later(srv.header_timeout, self._header_timeout)

    def _header_timeout(self) -> None:
        if self.session is None and self.transport is not None:
            self.server._throttle_header.log(
                logging.WARNING, "FastAGI: header block from %s not complete after %.1fs; closing",
                self.peer, self.server.header_timeout)
            self.server.sessions_reaped += 1
            self.transport.abort()

    def reap(self, why: str) -> None:
        """Close a session whose peer stopped answering (one log line per interval)."""
        self.server.sessions_reaped += 1
        uid = self.session.uniqueid if self.session is not None else "?"
        self.server._throttle_reaped.log(logging.WARNING, "FastAGI: %s from %s (call %s); closing the session",
                                         why, self.peer, uid)
        if self.transport is not None:
            self.transport.abort()

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.server._read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        try:
            self.codec.receive_data(self.server._read_buffer[:nbytes].tobytes())
            self._drain()
        except RemoteProtocolError as exc:
            self._fail(exc)

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
                self.session = AgiSession(self, ev, self.server.hangup_grace, self.server.deadlines)
                self.task = asyncio.get_running_loop().create_task(self._run(self.session))
            elif type(ev) is AgiConnectionClosed:
                if self.session is not None:
                    self.session._on_closed()
                return

    def _fail(self, exc: Exception) -> None:
        self.server._throttle_protocol.log(logging.ERROR, "FastAGI: protocol error from %s: %s; closing",
                                           self.peer, exc)
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
    """``FastAgiServer(handler, host, port)``; ``await start()``; ``port``; ``await close()``.

    Limits (all constructor arguments): ``header_timeout`` for the ``agi_*`` block;
    ``command_timeout`` / ``media_timeout`` / ``timeout_margin`` / ``command_timeouts`` build
    the sessions' :class:`AgiDeadlines`; ``max_connections`` is lowered at start to what the
    open-files limit allows (``fds_per_session`` descriptors per call, ``reserve_fds`` kept
    free), after raising that limit when ``raise_open_files``; ``log_interval``: repeated
    conditions (refusals, reaped sessions, accept errors) are logged once per interval.
    """

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 4573,
                 header_timeout: float = 5.0, *, hangup_grace: float = 0.25,
                 close_timeout: float = 2.0, max_line: int = 8192, max_header: int = 65536,
                 max_connections: int = 5000, command_timeout: float | None = 10.0,
                 media_timeout: float | None = 600.0, timeout_margin: float = 10.0,
                 command_timeouts: Mapping[str, float | None] | None = None,
                 raise_open_files: bool = True, fds_per_session: float = 2.0,
                 reserve_fds: int = DEFAULT_RESERVE, log_interval: float = 10.0,
                 backlog: int = 1024) -> None:
        self.handler = handler
        self.host = host
        self._port = port
        self.header_timeout = header_timeout
        self.hangup_grace = hangup_grace
        self.close_timeout = close_timeout
        self.max_line = max_line
        self.max_header = max_header
        self.max_connections = max_connections
        #: the cap in force: ``max_connections`` lowered to the open-files limit at start
        self.max_sessions = max_connections
        self.deadlines = AgiDeadlines(command=command_timeout, media=media_timeout, margin=timeout_margin,
                                      per_command={k.upper(): v for k, v in (command_timeouts or {}).items()})
        self.raise_open_files = raise_open_files
        self.fds_per_session = fds_per_session
        self.reserve_fds = reserve_fds
        self.backlog = backlog
        #: connections closed because the peer stalled (header or command deadline)
        self.sessions_reaped = 0
        self._listener: TcpListener | None = None
        self._conns: set[_AgiProtocol] = set()
        # one read buffer for all connections: the loop reads one socket at a time and the
        # protocol copies what it keeps before the next read
        self._read_buffer = memoryview(bytearray(65536))
        self._throttle_refused = LogThrottle(log, log_interval)
        self._throttle_header = LogThrottle(log, log_interval)
        self._throttle_reaped = LogThrottle(log, log_interval)
        self._throttle_protocol = LogThrottle(log, log_interval)
        self._log_interval = log_interval

    @property
    def port(self) -> int:
        if self._listener is not None and self._listener.serving:
            return self._listener.port
        return self._port

    @property
    def active_sessions(self) -> int:
        return len(self._conns)

    @property
    def accept_errors(self) -> int:
        """``accept()`` failures for lack of descriptors or memory since start."""
        return self._listener.accept_errors if self._listener is not None else 0

    async def start(self) -> None:
        limit = raise_open_files() if self.raise_open_files else open_files()
        self.max_sessions = connection_cap(self.max_connections, fds_per_connection=self.fds_per_session,
                                           reserve=self.reserve_fds, limit=limit)
        if self.max_sessions < self.max_connections:
            log.warning("FastAGI: open-files limit %d allows %d concurrent sessions (configured %d)",
                        limit.soft, self.max_sessions, self.max_connections)
        self._listener = TcpListener("FastAGI", lambda: _AgiProtocol(self), self.host, self._port,
                                     backlog=self.backlog, log_interval=self._log_interval, logger=log)
        await self._listener.start()
        log.info("FastAGI listening on %s:%d", self.host, self.port)

    async def stop_listening(self) -> None:
        """Take no new connections (they are refused: a dialplan can try another controller);
        sessions in progress go on. For a graceful drain before :meth:`close`."""
        if self._listener is not None:
            await self._listener.close()

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
        tasks = []
        for c in list(self._conns):
            if c.task is not None and not c.task.done():
                c.task.cancel()
                tasks.append(c.task)
            if c.transport is not None:
                c.transport.abort()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> "FastAgiServer":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
