"""Sans-IO codec for the (Fast)AGI protocol, both ends.

No sockets here: feed bytes with ``receive_data``, pull typed frozen events with
``next_event`` (``NEED_DATA`` when more bytes are needed), and turn commands/replies into
bytes with ``send_*``. Every buffer is capped; the peer breaking the protocol raises
:class:`~telephony.errors.RemoteProtocolError`, misuse by our own code raises
:class:`~telephony.errors.LocalProtocolError`.

Wire format, as written by Asterisk's ``res/res_agi.c`` (``setup_env``, ``agi_handle_command``,
``run_agi``) and confirmed by the Asterisk 22 transcripts in
``tests/telephony/fixtures/asterisk-22``:

* the session starts with ``agi_<name>: <value>\\n`` lines (``agi_arg_N`` for the arguments)
  ending in a line that is only ``\\n``; empty values keep the space (``agi_accountcode: ``);
* each command is one line; each reply one line ``<code> <text>``: ``200 result=N``,
  ``200 result=N (data)``, ``200 result=N endpos=M``, ``510 Invalid or unknown command``,
  ``511 Command Not Permitted on a dead channel or intercept routine``, or the multi-line
  ``520-Invalid command syntax.  Proper usage follows:`` ... ``520 End of proper usage.``;
* ``HANGUP\\n`` is sent unsolicited to network scripts once the channel hangs up
  (``res_agi.c``: ``if (!send_sighup ...) ast_agi_send(fd, chan, "HANGUP\\n")``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence, Union

from .errors import LocalProtocolError, RemoteProtocolError
from .lines import LineBuffer
from .need_data import NEED_DATA, NeedData

__all__ = [
    "NEED_DATA", "AgiEnvironment", "AgiReply", "AgiHangupNotice", "AgiConnectionClosed",
    "AgiCommand", "AgiCodec", "AgiPeerCodec", "parse_agi_args", "quote_agi_arg",
    "parse_reply_line", "format_command", "AgiEvent", "AgiPeerEvent",
]



DEFAULT_MAX_LINE = 8192
DEFAULT_MAX_HEADER = 65536
DEFAULT_MAX_USAGE_LINES = 256


@dataclass(frozen=True)
class AgiEnvironment:
    """The ``agi_*`` header block, prefix stripped; ``agi_arg_N`` collected in ``args``."""

    env: Mapping[str, str] = field(hash=False)
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgiReply:
    """One command reply. ``result`` is the raw text after ``result=`` (may be empty)."""

    code: int
    line: str
    result: str | None = None
    data: str | None = None
    endpos: int | None = None
    usage: tuple[str, ...] = ()

    @property
    def result_int(self) -> int | None:
        try:
            return int(self.result) if self.result not in (None, "") else None
        except ValueError:
            return None


@dataclass(frozen=True)
class AgiHangupNotice:
    """The ``HANGUP`` line: the channel has hung up (dead mode from now on)."""


@dataclass(frozen=True)
class AgiConnectionClosed:
    """The peer closed its side cleanly (after a complete line)."""


@dataclass(frozen=True)
class AgiCommand:
    """A command line as received by the Asterisk side, split like ``res_agi.c:parse_args``."""

    line: str
    argv: tuple[str, ...]


#: what the controller side's codec yields
AgiEvent = Union[AgiEnvironment, AgiReply, AgiHangupNotice, AgiConnectionClosed]
#: what the Asterisk side's codec yields
AgiPeerEvent = Union[AgiCommand, AgiConnectionClosed]

_REPLY_RE = re.compile(r"^result=(\S*)(.*)$", re.S)
_ENDPOS_RE = re.compile(r"\s*endpos=(-?\d+)\s*$")
_HEADER_RE = re.compile(r"^(agi_[A-Za-z0-9_]+):\s?(.*)$", re.S)


def parse_reply_line(line: str) -> AgiReply:
    """Parse one single-line reply (``200 result=1 (x) endpos=3``); RemoteProtocolError if malformed."""
    if line.startswith("200 result="):  # fast path for the common shapes
        rest = line[11:]
        sp = rest.find(" ")
        if sp < 0:
            return AgiReply(code=200, line=line, result=rest)
        tail = rest[sp + 1:]
        if tail[:1] == "(" and tail[-1:] == ")" and ") endpos=" not in tail:
            return AgiReply(code=200, line=line, result=rest[:sp], data=tail[1:-1])
    if len(line) < 3 or not line[:3].isdigit():
        raise RemoteProtocolError(f"AGI reply does not start with a status code: {line[:60]!r}")
    code = int(line[:3])
    rest = line[4:] if len(line) > 3 and line[3] == " " else line[3:]
    if code != 200:
        return AgiReply(code=code, line=line)
    m = _REPLY_RE.match(rest)
    if m is None:
        raise RemoteProtocolError(f"AGI 200 reply without result=: {line[:60]!r}")
    result, tail = m.group(1), m.group(2)
    endpos = None
    em = _ENDPOS_RE.search(tail)
    if em is not None:
        endpos = int(em.group(1))
        tail = tail[: em.start()]
    tail = tail.strip()
    data = None
    if tail.startswith("(") and tail.endswith(")"):
        data = tail[1:-1]
    elif tail:
        data = tail
    return AgiReply(code=200, line=line, result=result, data=data, endpos=endpos)


_FORBIDDEN = re.compile(r"[\r\n\0]")
_NEEDS_QUOTES = re.compile(r'[ \t"\\]')
_BAD_WORD = re.compile(r'[ \t\r\n"\\\0]')


def quote_agi_arg(arg: str) -> str:
    """Quote one argument so ``res_agi.c:parse_args`` yields it back unchanged."""
    if _FORBIDDEN.search(arg):
        raise LocalProtocolError("AGI arguments cannot contain newlines or NUL")
    if arg and not _NEEDS_QUOTES.search(arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_command(*words: str, args: tuple[str, ...] = ()) -> str:
    """Build a command line: command words verbatim, arguments quoted when needed."""
    for w in words:
        if not w or _BAD_WORD.search(w):
            raise LocalProtocolError(f"bad AGI command word {w!r}")
    return " ".join([*words, *[quote_agi_arg(a) for a in args]])


def parse_agi_args(line: str, max_args: int = 128) -> tuple[str, ...]:
    """Split a command line as ``res_agi.c:parse_args`` does.

    Whitespace separates arguments, double quotes group (``""`` is an empty argument) and a
    backslash escapes the next character. At most ``max_args`` (Asterisk: ``MAX_ARGS`` 128).
    """
    argv: list[str] = []
    cur: list[str] = []
    quoted = escaped = in_arg = False
    for c in line:
        if escaped:
            cur.append(c)
            escaped = False
            in_arg = True
        elif c == "\\":
            escaped = True
            in_arg = True
        elif c == '"':
            quoted = not quoted
            in_arg = True
        elif c in " \t" and not quoted:
            if in_arg:
                argv.append("".join(cur))
                cur = []
                in_arg = False
                if len(argv) >= max_args:
                    break
        else:
            cur.append(c)
            in_arg = True
    if in_arg and len(argv) < max_args:
        argv.append("".join(cur))
    return tuple(argv)


class AgiCodec:
    """Controller (FastAGI server) side: env block, then replies to our commands."""

    def __init__(self, max_line: int = DEFAULT_MAX_LINE, max_header: int = DEFAULT_MAX_HEADER,
                 max_usage_lines: int = DEFAULT_MAX_USAGE_LINES) -> None:
        self._lines = LineBuffer(max_line)
        self._max_header = max_header
        self._max_usage = max_usage_lines
        self._header: dict[str, str] = {}
        self._header_bytes = 0
        self.state = "HEADERS"  # HEADERS -> IDLE <-> WAITING (-> USAGE) ; CLOSED
        self._usage: list[str] = []
        self._usage_first = ""
        self.hung_up = False

    # -- input ---------------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        self._lines.feed(data)

    def receive_eof(self) -> None:
        self._lines.eof = True

    def next_event(self) -> AgiEvent | NeedData:
        while True:
            line = self._lines.pop_line()
            if line is None:
                if self._lines.eof:
                    if len(self._lines):
                        raise RemoteProtocolError("connection closed in the middle of a line")
                    if self.state == "HEADERS":
                        raise RemoteProtocolError("connection closed inside the AGI header block")
                    if self.state == "USAGE":
                        raise RemoteProtocolError("connection closed inside a 520 usage block")
                    if self.state == "CLOSED":
                        return NEED_DATA
                    self.state = "CLOSED"
                    return AgiConnectionClosed()
                return NEED_DATA
            ev = self._handle_line(line)
            if ev is not None:
                return ev

    def _handle_line(self, line: str) -> AgiEvent | None:
        st = self.state
        if st == "HEADERS":
            self._header_bytes += len(line) + 1
            if self._header_bytes > self._max_header:
                raise RemoteProtocolError(f"AGI header block larger than {self._max_header} bytes")
            if line == "":
                if not self._header:
                    raise RemoteProtocolError("empty AGI header block")
                env: dict[str, str] = {}
                args: dict[int, str] = {}
                for k, v in self._header.items():
                    if k.startswith("arg_") and k[4:].isdigit():
                        args[int(k[4:])] = v
                    else:
                        env[k] = v
                self.state = "IDLE"
                ordered = tuple(args[i] for i in sorted(args))
                self._header = {}
                return AgiEnvironment(env=env, args=ordered)
            m = _HEADER_RE.match(line)
            if m is None:
                raise RemoteProtocolError(f"malformed AGI header line: {line[:60]!r}")
            self._header[m.group(1)[4:]] = m.group(2)
            return None
        if line == "HANGUP":
            self.hung_up = True
            return AgiHangupNotice()
        if st == "WAITING":
            if len(line) >= 4 and line.startswith("520-"):
                self.state = "USAGE"
                self._usage = []
                self._usage_first = line
                return None
            reply = parse_reply_line(line)
            self.state = "IDLE"
            return reply
        if st == "USAGE":
            if line.startswith("520 "):
                self.state = "IDLE"
                usage = tuple(self._usage)
                self._usage = []
                return AgiReply(code=520, line=self._usage_first, usage=usage)
            if len(self._usage) >= self._max_usage:
                raise RemoteProtocolError("520 usage block too long")
            self._usage.append(line)
            return None
        if st == "CLOSED":
            raise RemoteProtocolError("data after close")
        raise RemoteProtocolError(f"unsolicited AGI line while idle: {line[:60]!r}")

    # -- output --------------------------------------------------------------------------
    def send_command(self, line: str) -> bytes:
        if self.state == "HEADERS":
            raise LocalProtocolError("cannot send a command before the AGI header block")
        if self.state in ("WAITING", "USAGE"):
            raise LocalProtocolError("an AGI command is already waiting for its reply")
        if self.state == "CLOSED":
            raise LocalProtocolError("the AGI connection is closed")
        if not line or "\n" in line or "\r" in line:
            raise LocalProtocolError("an AGI command is one non-empty line")
        self.state = "WAITING"
        return line.encode("utf-8") + b"\n"


class AgiPeerCodec:
    """Asterisk side: we write the env block and replies, and read command lines.

    Commands that arrive before the previous reply are queued (Asterisk reads the socket
    only between commands, so a pipelining script simply waits); each reply answers the oldest.
    """

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        # res_agi.c reads commands into a fixed AGI_BUF_LEN (2048) buffer; we allow max_line.
        self._lines = LineBuffer(max_line)
        self.state = "START"  # START -> READY ; CLOSED
        self.outstanding = 0

    def send_environment(self, env: Mapping[str, str], args: Sequence[str] = ()) -> bytes:
        if self.state != "START":
            raise LocalProtocolError("environment already sent")
        out = []
        for k, v in env.items():
            if "\n" in k or "\n" in str(v) or ":" in k:
                raise LocalProtocolError(f"bad AGI environment entry {k!r}")
            out.append(f"agi_{k}: {v}\n")
        for i, a in enumerate(args, 1):
            if "\n" in a:
                raise LocalProtocolError("AGI argument with a newline")
            out.append(f"agi_arg_{i}: {a}\n")
        out.append("\n")
        self.state = "READY"
        return "".join(out).encode("utf-8")

    def receive_data(self, data: bytes) -> None:
        self._lines.feed(data)

    def receive_eof(self) -> None:
        self._lines.eof = True

    def next_event(self) -> AgiPeerEvent | NeedData:
        while True:
            line = self._lines.pop_line()
            if line is None:
                if self._lines.eof:
                    if len(self._lines):
                        raise RemoteProtocolError("connection closed in the middle of a command line")
                    if self.state == "CLOSED":
                        return NEED_DATA
                    self.state = "CLOSED"
                    return AgiConnectionClosed()
                return NEED_DATA
            if self.state == "START":
                raise LocalProtocolError("environment not sent yet")
            if not line.strip():
                continue  # res_agi.c ignores empty lines
            self.outstanding += 1
            return AgiCommand(line=line, argv=parse_agi_args(line))

    def send_reply(self, text: str) -> bytes:
        """Reply to the oldest pending command; ``text`` may hold several lines (520 usage)."""
        if self.outstanding <= 0:
            raise LocalProtocolError("no AGI command is waiting for a reply")
        self.outstanding -= 1
        return (text if text.endswith("\n") else text + "\n").encode("utf-8")

    def send_hangup_notice(self) -> bytes:
        if self.state == "START":
            raise LocalProtocolError("environment not sent yet")
        return b"HANGUP\n"
