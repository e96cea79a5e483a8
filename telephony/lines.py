"""A capped line splitter shared by the line-based codecs (AGI, AMI). Sans-IO."""

from __future__ import annotations

from .errors import LocalProtocolError, RemoteProtocolError

__all__ = ["LineBuffer"]


class LineBuffer:
    """A capped line splitter: ``pop_line`` returns a decoded line without ``\\n``, or None."""

    __slots__ = ("_buf", "_scan", "max_line", "eof", "what")

    def __init__(self, max_line: int, what: str = "line") -> None:
        self.what = what
        self._buf = bytearray()
        self._scan = 0
        self.max_line = max_line
        self.eof = False

    def feed(self, data: bytes) -> None:
        if self.eof and data:
            raise LocalProtocolError("data received after EOF")
        self._buf += data

    def pop_line(self) -> str | None:
        i = self._buf.find(b"\n", self._scan)
        if i < 0:
            self._scan = len(self._buf)
            if len(self._buf) > self.max_line:
                raise RemoteProtocolError(f"{self.what} longer than {self.max_line} bytes without newline")
            return None
        if i > self.max_line:
            raise RemoteProtocolError(f"{self.what} longer than {self.max_line} bytes")
        raw = bytes(self._buf[:i])
        del self._buf[: i + 1]
        self._scan = 0
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        return raw.decode("utf-8", "replace")

    def __len__(self) -> int:
        return len(self._buf)
