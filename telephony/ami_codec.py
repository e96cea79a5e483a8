"""Sans-IO codec for the Asterisk Manager Interface (AMI).

Framing as written by ``main/manager.c`` (``astman_append``, ``astman_send_response_full``,
``process_events``) and seen in the Asterisk 22 transcripts: the server first sends a one-line
banner ``Asterisk Call Manager/<version>\\r\\n`` (no blank line after it); then every message is
``Key: Value\\r\\n`` lines closed by an empty line. Keys repeat (``ChanVariable``, ``Output``),
so a message keeps its headers as an ordered list. A message is a response if its first header
is ``Response``, an event if it is ``Event`` (``OriginateResponse`` events also carry a
``Response`` header, so only the first header decides).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping

from .errors import LocalProtocolError, RemoteProtocolError
from .lines import LineBuffer
from .need_data import NEED_DATA, NeedData

__all__ = ["AmiMessage", "AmiBanner", "AmiCodec", "encode_message", "NEED_DATA"]



DEFAULT_MAX_LINE = 65536
DEFAULT_MAX_MESSAGE = 4 * 1024 * 1024
DEFAULT_MAX_HEADERS = 10000


@dataclass(frozen=True)
class AmiBanner:
    text: str

    @property
    def version(self) -> str:
        return self.text.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class AmiMessage:
    """One AMI message; dict-like read access (first value, case-insensitive keys)."""

    headers: tuple[tuple[str, str], ...]

    @classmethod
    def build(cls, *pairs: tuple[str, str], **kw: str) -> "AmiMessage":
        return cls(tuple(pairs) + tuple((k, str(v)) for k, v in kw.items()))

    def get(self, key: str, default: str | None = None) -> str | None:
        k = key.lower()
        for hk, hv in self.headers:
            if hk.lower() == k:
                return hv
        return default

    def get_all(self, key: str) -> list[str]:
        k = key.lower()
        return [hv for hk, hv in self.headers if hk.lower() == k]

    def __getitem__(self, key: str) -> str:
        v = self.get(key)
        if v is None:
            raise KeyError(key)
        return v

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def keys(self) -> list[str]:
        return [k for k, _ in self.headers]

    def items(self) -> Iterator[tuple[str, str]]:
        return iter(self.headers)

    def as_dict(self) -> dict[str, str]:
        d: dict[str, str] = {}
        for k, v in self.headers:
            d.setdefault(k, v)
        return d

    @property
    def kind(self) -> str:
        first = self.headers[0][0].lower() if self.headers else ""
        return {"event": "event", "response": "response", "action": "action"}.get(first, "other")

    @property
    def is_event(self) -> bool:
        return self.kind == "event"

    @property
    def is_response(self) -> bool:
        return self.kind == "response"

    @property
    def name(self) -> str:
        """Event name, response status or action name (the first header's value)."""
        return self.headers[0][1] if self.headers else ""

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def __repr__(self) -> str:
        return f"AmiMessage({self.headers[0] if self.headers else ()!r}, {len(self.headers)} headers)"


def _check(s: str, what: str) -> None:
    if "\r" in s or "\n" in s:
        raise LocalProtocolError(f"AMI {what} may not contain CR/LF: {s[:40]!r}")


def encode_message(headers: Iterable[tuple[str, object]] | Mapping[str, object]) -> bytes:
    """Serialise headers (list of pairs or mapping; list values repeat the key)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    out = []
    for k, v in pairs:
        values = v if isinstance(v, (list, tuple)) else [v]
        for one in values:
            sv = "" if one is None else str(one)
            _check(k, "key")
            _check(sv, "value")
            if not k or ":" in k or k != k.strip():
                raise LocalProtocolError(f"bad AMI header name {k!r}")
            out.append(f"{k}: {sv}\r\n")
    if not out:
        raise LocalProtocolError("an AMI message needs at least one header")
    out.append("\r\n")
    return "".join(out).encode("utf-8")


class AmiCodec:
    """Parses AMI traffic. ``role="client"`` expects the banner first; ``"server"`` does not."""

    def __init__(self, role: str = "client", max_line: int = DEFAULT_MAX_LINE,
                 max_message: int = DEFAULT_MAX_MESSAGE, max_headers: int = DEFAULT_MAX_HEADERS) -> None:
        if role not in ("client", "server"):
            raise LocalProtocolError(f"unknown role {role!r}")
        self.role = role
        self._lines = LineBuffer(max_line, "AMI line")
        self._need_banner = role == "client"
        self._headers: list[tuple[str, str]] = []
        self._msg_bytes = 0
        self.max_line = max_line
        self.max_message = max_message
        self.max_headers = max_headers

    def receive_data(self, data: bytes) -> None:
        self._lines.feed(data)

    def receive_eof(self) -> None:
        self._lines.eof = True

    def next_event(self) -> AmiBanner | AmiMessage | NeedData:
        while True:
            line = self._lines.pop_line()
            if line is None:
                if self._lines.eof and (len(self._lines) or self._headers):
                    raise RemoteProtocolError("connection closed inside an AMI message")
                return NEED_DATA
            if self._need_banner:
                if not line.startswith("Asterisk Call Manager/"):
                    raise RemoteProtocolError(f"not an AMI banner: {line[:60]!r}")
                self._need_banner = False
                return AmiBanner(line)
            if line == "":
                if self._headers:
                    msg = AmiMessage(tuple(self._headers))
                    self._headers = []
                    self._msg_bytes = 0
                    return msg
                continue  # stray blank lines between messages are tolerated
            self._msg_bytes += len(line) + 2
            if self._msg_bytes > self.max_message:
                raise RemoteProtocolError(f"AMI message larger than {self.max_message} bytes")
            if len(self._headers) >= self.max_headers:
                raise RemoteProtocolError("too many headers in one AMI message")
            k, sep, v = line.partition(":")
            if not sep or not k or k != k.strip() or any(c in k for c in " \t"):
                # The legacy 'Response: Follows' command output had raw lines; keep them.
                if self._headers and self._headers[0] == ("Response", "Follows"):
                    self._headers.append(("Output", line))
                    continue
                raise RemoteProtocolError(f"malformed AMI header line: {line[:60]!r}")
            self._headers.append((k, v[1:] if v.startswith(" ") else v))
