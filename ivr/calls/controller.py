"""The hotline's telephony side: FastAGI + AudioSocket servers for one runtime.

Each FastAGI connection becomes one :class:`ivr.calls.session.CallSession`. Used by
``ivr serve`` (:mod:`ivr.serve`), by ``ivr call`` without ``--controller`` (in-process) and by
the tests and benches.
"""

from __future__ import annotations

import asyncio
import logging
import time
from types import TracebackType

from ivr.calls.runtime import Runtime
from ivr.calls.session import CallSession
from telephony import AgiSession, AudioSocketServer, FastAgiServer

log = logging.getLogger(__name__)


class Controller:
    """Takes calls for ``runtime`` until closed; ``drain()`` first lets live calls finish."""

    def __init__(self, runtime: Runtime, *, agi_host: str | None = None, agi_port: int | None = None,
                 audiosocket_host: str | None = None, audiosocket_port: int | None = None,
                 advertise: str | None = None) -> None:
        s = runtime.settings
        self.rt = runtime
        self.agi_host = agi_host or s.agi_host
        self.agi_port = s.agi_port if agi_port is None else agi_port
        self.as_host = audiosocket_host or s.audiosocket_host
        self.as_port = s.audiosocket_port if audiosocket_port is None else audiosocket_port
        #: host:port Asterisk connects to for AudioSocket; None: the host and the port bound
        self.advertise = advertise or s.audiosocket_advertise
        self.agi_server: FastAgiServer | None = None
        self.audiosocket: AudioSocketServer | None = None
        self.calls_taken = 0
        self.calls_refused = 0

    async def start(self) -> Controller:
        self.audiosocket = AudioSocketServer(self.as_host, self.as_port, advertise=self.advertise)
        await self.audiosocket.start()
        self.rt.audiosocket = self.audiosocket
        self.agi_server = FastAgiServer(self._handle, host=self.agi_host, port=self.agi_port)
        await self.agi_server.start()
        log.info("controller ready", extra={"agi_port": self.agi_server.port,
                                            "audiosocket": self.audiosocket.advertise})
        return self

    @property
    def agi_address(self) -> tuple[str, int]:
        assert self.agi_server is not None, "start() the controller first"
        return self.agi_host, self.agi_server.port

    async def _handle(self, agi: AgiSession) -> None:
        if not self.rt.accepting:
            # shutting down: let the dialplan go on without us (the AGI ends at once)
            self.calls_refused += 1
            log.info("call refused: shutting down")
            return
        self.calls_taken += 1
        await CallSession(agi, self.rt).run()

    async def drain(self, grace_s: float) -> int:
        """Stop taking calls (the FastAGI port stops listening, so Asterisk's connection is
        refused at once and its dialplan tries another controller); wait for live calls up to
        ``grace_s``; return how many were left."""
        self.rt.accepting = False
        if self.agi_server is not None:
            await self.agi_server.stop_listening()
        log.info("draining: no new calls", extra={"live_calls": len(self.rt.active_calls), "grace_s": grace_s})
        deadline = time.monotonic() + grace_s
        while self.rt.active_calls and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        left = len(self.rt.active_calls)
        if left:
            log.warning("shutdown: %d call(s) still live after %.0fs; ending them", left, grace_s)
        return left

    async def close(self) -> None:
        if self.agi_server is not None:
            await self.agi_server.close()
        if self.audiosocket is not None:
            await self.audiosocket.close()

    async def __aenter__(self) -> Controller:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
