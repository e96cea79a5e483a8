"""Wiring: FastAGI + AudioSocket (+ the web app) in one asyncio loop.

* :class:`Controller` runs the telephony servers for a :class:`ivr.runtime.Runtime`: each
  FastAGI connection becomes one :class:`ivr.session.CallSession`. Used by ``ivr serve``, by
  ``ivr call`` without ``--controller`` (in-process) and by the tests and benches.
* :func:`serve` is ``ivr serve``: builds the runtime once (models, prompt cache, store),
  pre-renders the script's static prompts, starts FastAGI, AudioSocket and the web app
  (uvicorn, ``ivr.web.create_app``) on 127.0.0.1 by default, and on SIGINT/SIGTERM stops taking
  new calls, lets live calls finish (up to ``shutdown_grace_s``) and then stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from typing import Any, Callable

log = logging.getLogger("ivr.app")


class Controller:
    """The hotline's telephony side for one runtime."""

    def __init__(self, runtime: Any, *, agi_host: str | None = None, agi_port: int | None = None,
                 audiosocket_host: str | None = None, audiosocket_port: int | None = None,
                 advertise: str | None = None) -> None:
        s = runtime.settings
        self.rt = runtime
        self.agi_host = agi_host or s.agi_host
        self.agi_port = s.agi_port if agi_port is None else agi_port
        self.as_host = audiosocket_host or s.audiosocket_host
        self.as_port = s.audiosocket_port if audiosocket_port is None else audiosocket_port
        self.advertise = advertise or s.audiosocket_advertise
        self.agi_server: Any = None
        self.audiosocket: Any = None
        self.calls_taken = 0
        self.calls_refused = 0
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> "Controller":
        from telephony import AudioSocketServer, FastAgiServer

        self.audiosocket = AudioSocketServer(self.as_host, self.as_port, advertise=self.advertise)
        await self.audiosocket.start()
        if self.advertise is None:
            self.audiosocket._advertise = self.rt.settings.advertise_for(self.audiosocket.port)
        self.rt.audiosocket = self.audiosocket
        self.agi_server = FastAgiServer(self._handle, host=self.agi_host, port=self.agi_port)
        await self.agi_server.start()
        log.info("controller ready", extra={"agi_port": self.agi_server.port,
                                            "audiosocket": self.audiosocket.advertise})
        return self

    @property
    def agi_address(self) -> tuple[str, int]:
        return self.agi_host, self.agi_server.port

    async def _handle(self, agi: Any) -> None:
        from ivr.session import CallSession

        if not self.rt.accepting:
            # shutting down: let the dialplan go on without us (the AGI ends at once)
            self.calls_refused += 1
            log.info("call refused: shutting down")
            return
        self.calls_taken += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await CallSession(agi, self.rt).run()
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def drain(self, grace_s: float) -> int:
        """Stop taking calls; wait for live calls up to ``grace_s``; return how many were left."""
        self.rt.accepting = False
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

    async def __aenter__(self) -> "Controller":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


async def serve(settings: Any, *, ready: Callable[[dict], None] | None = None,
                stop: asyncio.Event | None = None, web: bool = True, warm_up: bool = True) -> None:
    """Run the hotline until SIGINT/SIGTERM (or ``stop`` is set)."""
    from ivr.runtime import Runtime, freeze_startup_heap

    t0 = time.monotonic()
    phases: dict[str, float] = {}
    rt = await Runtime.build(settings, timings=phases)
    phases["build_s"] = round(time.monotonic() - t0, 3)
    t = time.monotonic()
    # prompts render on the synthesizer's worker, the warm-up on the recognizer's threads
    n, _ = await asyncio.gather(_timed(rt.prerender(), phases, "prerender_s"),
                                _timed(rt.warm_up(), phases, "warm_up_s") if warm_up else _nothing())
    phases["prompts_and_warm_up_s"] = round(time.monotonic() - t, 3)
    freeze_startup_heap()
    t = time.monotonic()
    ctl = await Controller(rt).start()
    phases["telephony_s"] = round(time.monotonic() - t, 3)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    web_server = None
    web_task = None
    if web:
        t = time.monotonic()
        web_server, web_task = await _start_web(settings, rt, ctl)
        phases["web_s"] = round(time.monotonic() - t, 3)
    log.info("start-up phases", extra={"phases": phases})
    web_addr = f"{settings.web_host}:{_web_port(web_server, settings)}" if web_server else None
    info = {
        "agi": f"{ctl.agi_host}:{ctl.agi_server.port}",
        "agi_url": f"agi://{ctl.agi_host}:{ctl.agi_server.port}/hotline",
        "audiosocket": ctl.audiosocket.advertise,
        "web": web_addr,
        "web_url": f"http://{web_addr}/" if web_addr else None,
        "staff_login": bool(settings.admin_token or settings.agent_token),
        "prompts": n,
        "startup_s": round(time.monotonic() - t0, 2),
    }
    log.info("hotline ready", extra=info)
    if ready is not None:
        ready(info)
    try:
        await stop.wait()
    finally:
        log.info("shutting down", extra={"live_calls": len(rt.active_calls)})
        await ctl.drain(settings.shutdown_grace_s)
        await ctl.close()
        if web_server is not None:
            web_server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(web_task, 10)
        for sig in installed:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        await rt.aclose()
        log.info("stopped")


def ready_message(info: dict) -> str:
    """What ``ivr serve`` prints once it takes calls: where Asterisk and staff connect, and how
    to log in (for an operator reading the terminal)."""
    lines = [f"hotline ready in {info['startup_s']} s ({info['prompts']} prompts cached)",
             f"  Asterisk dialplan:  AGI({info['agi_url']})   (AudioSocket on {info['audiosocket']})"]
    if info.get("web_url"):
        lines.append(f"  staff web pages:    {info['web_url']}   (health: {info['web_url']}healthz, "
                     f"API: {info['web_url']}docs)")
        if info.get("staff_login"):
            lines.append(f"  log in:             {info['web_url']}login with IVR_ADMIN_TOKEN or IVR_AGENT_TOKEN")
        else:
            lines.append("  log in:             nobody can log in yet: set IVR_ADMIN_TOKEN (and IVR_AGENT_TOKEN) "
                         "in the environment and restart")
    return "\n".join(lines)


async def _timed(aw: Any, phases: dict[str, float], name: str) -> Any:
    t = time.monotonic()
    try:
        return await aw
    finally:
        phases[name] = round(time.monotonic() - t, 3)


async def _nothing() -> None:
    return None


async def _start_web(settings: Any, rt: Any, ctl: Controller) -> tuple[Any, Any]:
    try:
        from ivr.web import create_app
    except ImportError as exc:
        log.warning("web app not available (%s); serving without it", exc)
        return None, None
    import uvicorn

    app = _call_create_app(create_app, settings, rt, ctl)
    config = uvicorn.Config(app, host=settings.web_host, port=settings.web_port, log_config=None,
                            lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # ours handle it
    task = asyncio.create_task(server.serve(), name="web")
    for _ in range(200):
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    if task.done() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]
    return server, task


def _web_port(server: Any, settings: Any) -> int:
    with contextlib.suppress(Exception):
        return server.servers[0].sockets[0].getsockname()[1]
    return settings.web_port


def _call_create_app(create_app: Callable, settings: Any, rt: Any, ctl: Controller) -> Any:
    """docs/contracts.md: ``create_app(settings, store, live_state=None)``."""
    return create_app(settings, rt.store, live_state=lambda: status(rt, ctl))


def status(rt: Any, ctl: Controller) -> dict:
    """The runtime's live state for the web app's /status page (no personal data)."""
    now = time.monotonic()
    calls = [{"call_id": c.call_id, "state": c._state, "media_mode": c.media_mode,
              "seconds": round(now - c._started, 1)} for c in list(rt.active_calls)]
    return {
        "accepting": rt.accepting,
        "live_calls": len(calls),
        "calls": calls,
        "calls_taken": ctl.calls_taken,
        "agi_port": ctl.agi_server.port if ctl.agi_server else None,
        "audiosocket": ctl.audiosocket.advertise if ctl.audiosocket else None,
        "script": rt.script_name,
        "script_version": rt.script_version,
        "handoffs_tracked": getattr(rt.handoff, "tracked", 0),
        "ami": bool(getattr(rt.handoff, "ami", None)),
    }
