"""A TCP listener whose accept loop survives running out of file descriptors.

asyncio's own server loop (``BaseSelectorEventLoop._accept_connection``, Python 3.11), when
``accept()`` fails with EMFILE/ENFILE, logs "socket.accept() out of system resource", pauses the
socket for a second -- and then keeps calling ``accept()`` up to ``backlog`` times in the same
tick, logging and scheduling a resume for every failure: 1,024 log lines per tick, 220,000 in
45 s on a hotline flooded with quiet connections, while real calls and ``/status`` stall.

:class:`TcpListener` accepts in batches from a reader callback like asyncio does, but on a
resource error it stops at once, pauses accepting for a moment (doubling up to ``retry_max``,
reset by the next successful accept) and logs at most one line per ``log_interval`` with the
number of failures. Pending connections wait in the kernel's backlog meanwhile.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
from typing import Callable

from .logthrottle import LogThrottle

__all__ = ["TcpListener", "RESOURCE_ERRNOS"]

log = logging.getLogger(__name__)

RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_RETRY_NOW = (BlockingIOError, InterruptedError)


class TcpListener:
    """``await TcpListener(name, factory, host, port).start()``; ``port``; ``await close()``."""

    def __init__(self, name: str, factory: Callable[[], asyncio.BaseProtocol], host: str, port: int, *,
                 backlog: int = 1024, batch: int = 64, retry_initial: float = 0.05, retry_max: float = 1.0,
                 log_interval: float = 10.0, logger: logging.Logger | None = None) -> None:
        self.name = name
        self._factory = factory
        self.host = host
        self._port = port
        self.backlog = backlog
        self.batch = batch
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._delay = retry_initial
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reading = False
        self._resume: asyncio.TimerHandle | None = None
        self._pending: set[asyncio.Task[tuple[asyncio.Transport, asyncio.BaseProtocol]]] = set()
        self._throttle = LogThrottle(logger or log, log_interval)
        #: accept() calls that failed for lack of descriptors or memory
        self.accept_errors = 0
        #: connections accepted
        self.accepted = 0

    @property
    def port(self) -> int:
        if self._sock is not None:
            port: int = self._sock.getsockname()[1]
            return port
        return self._port

    @property
    def serving(self) -> bool:
        return self._sock is not None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:  # an address literal (the usual case) needs no resolver thread
            family = socket.AF_INET6 if ipaddress.ip_address(self.host).version == 6 else socket.AF_INET
            addr: tuple[str, int] = (self.host, self._port)
        except ValueError:
            infos = await loop.getaddrinfo(self.host or None, self._port, type=socket.SOCK_STREAM,
                                           flags=socket.AI_PASSIVE)
            family, _, _, _, sockaddr = infos[0]
            addr = (str(sockaddr[0]), int(sockaddr[1]))
        sock = socket.create_server(addr, family=family, backlog=self.backlog)
        sock.setblocking(False)
        self._sock = sock
        self._loop = loop
        self._start_reading()

    def _start_reading(self) -> None:
        self._resume = None
        if self._sock is not None and self._loop is not None and not self._reading:
            self._loop.add_reader(self._sock.fileno(), self._on_readable)
            self._reading = True

    def _stop_reading(self) -> None:
        if self._sock is not None and self._loop is not None and self._reading:
            self._loop.remove_reader(self._sock.fileno())
        self._reading = False

    def _on_readable(self) -> None:
        sock, loop = self._sock, self._loop
        if sock is None or loop is None:
            return
        for _ in range(self.batch):
            try:
                conn, _addr = sock.accept()
            except _RETRY_NOW:
                return
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                if exc.errno in RESOURCE_ERRNOS:
                    self._pause(exc)
                else:
                    self._throttle.log(logging.ERROR, "%s: accept() failed: %s", self.name, exc)
                return
            self._delay = self.retry_initial
            self.accepted += 1
            conn.setblocking(False)
            try:  # as asyncio's own servers do: small writes go out at once (no Nagle delay)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            task = loop.create_task(loop.connect_accepted_socket(self._factory, conn))
            self._pending.add(task)
            task.add_done_callback(self._connected)

    def _connected(self, task: "asyncio.Task[tuple[asyncio.Transport, asyncio.BaseProtocol]]") -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._throttle.log(logging.ERROR, "%s: could not set up an accepted connection: %s",
                               self.name, task.exception())

    def _pause(self, exc: OSError) -> None:
        """Out of descriptors (or memory): stop accepting for a moment, log at most once per interval."""
        self.accept_errors += 1
        self._stop_reading()
        delay = self._delay
        self._delay = min(self._delay * 2, self.retry_max)
        self._throttle.log(logging.ERROR, "%s: cannot accept connections: %s; pausing accepts for %.2f s "
                           "(pending callers wait in the backlog)", self.name, exc, delay)
        if self._loop is not None:
            self._resume = self._loop.call_later(delay, self._start_reading)

    async def close(self) -> None:
        """Stop listening; connections already accepted are left to their owner."""
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        self._stop_reading()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        for t in list(self._pending):
            t.cancel()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
