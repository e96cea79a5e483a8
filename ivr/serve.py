"""The wiring: ``ivr serve`` builds everything once and starts the servers.

* :func:`build_store`, :func:`build_runtime`: the store (migrated, its journal replayer
  running) and the :class:`ivr.calls.runtime.Runtime` calls share (script, recognizer,
  synthesizer, prompt cache, hand-off). Also used by ``ivr call`` in-process and the benches.
* :func:`serve`: builds the runtime, pre-renders the script's static prompts, starts the
  :class:`ivr.calls.controller.Controller` (FastAGI, AudioSocket) and the web app (uvicorn,
  :func:`ivr.web.create_app`) on 127.0.0.1 by default, and on SIGINT/SIGTERM stops taking new
  calls, lets live calls finish (up to ``shutdown_grace_s``) and then stops.

Nothing below ``ivr/`` imports this module: it is the one place that knows every part.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypedDict, TypeVar

import uvicorn

from asr import Recognizer
from dialogs import Script, load_script
from ivr.analytics.scheduler import AnalyticsScheduler, SchedulerConfig
from ivr.calls.controller import Controller
from ivr.calls.engines import build_dynamic_synthesizer, build_recognizer, build_synthesizer
from ivr.calls.handoff import Handoff
from ivr.calls.journal import CallJournal
from ivr.calls.recovery import recover_interrupted_calls
from ivr.calls.runtime import Runtime
from ivr.calls.script_tools import RuntimeScriptTools
from ivr.calls.script_watch import ScriptWatcher, script_key
from ivr.config.clock import Clock, system_clock
from ivr.config.settings import Settings
from ivr.desk import Desk
from ivr.desk.bus import make_bus
from ivr.observability import Metrics
from ivr.observability.stuck import ExitWatchdog, install_dump_signal
from ivr.storage import Store
from ivr.web import create_app
from tts import PromptCache, Synthesizer

log = logging.getLogger(__name__)

T = TypeVar("T")


class ReadyInfo(TypedDict):
    """What ``ivr serve`` reports once it takes calls (``ready`` callback, the ready message)."""

    agi: str
    agi_url: str
    audiosocket: str
    web: str | None
    web_url: str | None
    staff_login: bool              # an admin account exists
    setup_url: str | None          # one-time link to create the first admin (fresh install)
    retired_tokens: bool           # IVR_ADMIN_TOKEN / IVR_AGENT_TOKEN are set (ignored)
    prompts: int
    startup_s: float


# --------------------------------------------------------------------------- building


async def build_store(settings: Settings, clock: Clock = system_clock, *, wait_s: float = 2.0) -> Store:
    """The store of ``settings``, migrated to the packaged schema if the database answers
    within ``wait_s``; otherwise the hotline starts on its journal and the store migrates the
    schema in the background once the database is back (``store.start_background()``)."""
    store = Store.from_settings(settings, clock=clock)
    await store.open(wait_s=wait_s)
    return store


async def build_runtime(settings: Settings, *, store: Store | None = None, recognizer: Recognizer | None = None,
                        synthesizer: Synthesizer | None = None, connect_ami: bool = True,
                        timings: dict[str, float] | None = None,
                        clock: Clock = system_clock,
                        dynamic_synthesizer: Synthesizer | None = None) -> tuple[Runtime, Store]:
    """Load what calls share: the script first (a mistake in it shows at once), then the
    recognizer (the longest part) in one thread while the synthesizer and the store are built
    in another. ``timings`` receives each part's seconds. Returns the runtime and its store;
    the caller closes both (``runtime.aclose()``, ``store.close()``)."""
    settings.ensure_dirs()
    script_path = settings.script_path()
    spent = timings if timings is not None else {}
    script = await _timed(asyncio.to_thread(load_script, script_path), spent, "script_s")

    async def the_rest() -> tuple[Synthesizer, Store]:
        synth = synthesizer if synthesizer is not None else await _timed(
            asyncio.to_thread(build_synthesizer, settings), spent, "synthesizer_s")
        st = store if store is not None else await _timed(build_store(settings, clock), spent, "store_s")
        return synth, st

    if recognizer is None:
        rec_task = asyncio.ensure_future(_timed(asyncio.to_thread(build_recognizer, settings), spent,
                                                "recognizer_s"))
        try:
            synth, st = await the_rest()
        except BaseException:
            rec_task.add_done_callback(_close_recognizer)  # no runtime will own it
            raise
        rec = await rec_task
    else:
        synth, st = await the_rest()
        rec = recognizer
    st.start_background()
    t0 = time.monotonic()
    if connect_ami:
        handoff = await Handoff.create(settings, st.handoffs, clock=clock)
    else:
        handoff = Handoff(settings, st.handoffs, clock=clock)
    spent["handoff_s"] = round(time.monotonic() - t0, 3)
    assert settings.prompt_cache_dir is not None  # derived from data_dir when loaded
    rt = Runtime(settings=settings, script=script, recognizer=rec, synthesizer=synth,
                 prompts=PromptCache(settings.prompt_cache_dir, synth), store=st, handoff=handoff,
                 clock=clock, script_name=script.name or script_path.stem, script_version=script_version(script),
                 dynamic_synthesizer=dynamic_synthesizer)
    return rt, st


def script_version(script: Script) -> str | None:
    """What a call record keeps of the script it ran: the first 12 hex digits of the file's
    SHA-256 (None for a script that was not loaded from a file)."""
    if script.path is None:
        return None
    try:
        return hashlib.sha256(Path(script.path).read_bytes()).hexdigest()[:12]
    except OSError:
        return None


def freeze_startup_heap() -> None:
    """Take everything loaded at start-up (the script, tokenizers, libraries, caches) out of the
    garbage collector's view.

    A full collection walks every tracked object while the event loop waits: with 200 calls
    live on a busy 2-core machine, collections were seen pausing the loop for up to 207 ms.
    Frozen objects are never collected (nor freed), which is what start-up state is for;
    objects made by calls are collected as before."""
    gc.collect()
    gc.freeze()


# --------------------------------------------------------------------------- serving


async def serve(settings: Settings, *, ready: Callable[[ReadyInfo], None] | None = None,
                stop: asyncio.Event | None = None, web: bool = True, warm_up: bool = True,
                exit_watchdog: bool = False) -> None:
    """Run the hotline until SIGINT/SIGTERM (or ``stop`` is set).

    ``exit_watchdog`` (``ivr serve``): once the shutdown starts, a watchdog logs what it waits
    on if it overruns the calls' grace by 30 s, and ends the process 60 s past the grace (see
    :mod:`ivr.observability.stuck`); SIGUSR1 logs the same at any time."""
    t0 = time.monotonic()
    phases: dict[str, float] = {}
    # dynamic prompts (ticket read-backs...) are synthesised on a pool of processes
    try:
        pool = build_dynamic_synthesizer(settings)
    except OSError as exc:  # no POSIX semaphores (a full /dev/shm...): one synthesizer does it all
        log.warning("no process pool for dynamic prompts (%s); they are synthesised one at a time", exc)
        pool = None
    try:
        rt, store = await build_runtime(settings, timings=phases, dynamic_synthesizer=pool)
    except BaseException:
        if pool is not None:
            pool.close()
        raise
    phases["build_s"] = round(time.monotonic() - t0, 3)
    # the live script version from the database (the file becomes version 1 on first start)
    watcher = ScriptWatcher(rt, store.scripts, script_key(settings.script_path()),
                            interval_s=settings.script_poll_s)
    await _timed(watcher.start(settings.script_path()), phases, "script_live_s")
    t = time.monotonic()
    # prompts render on the synthesizer's worker before the line opens; the recognizer's and the
    # dynamic-prompt pool's warm-up go on once it is open (a restart answers sooner: issue #15; a
    # call that comes first builds the caches it needs itself)
    n = await _timed(rt.prerender(), phases, "prerender_s")

    async def _warm() -> None:
        await asyncio.gather(_timed(rt.warm_up(), phases, "warm_up_s") if warm_up else _nothing(),
                             _timed(pool.warm(), phases, "tts_pool_s") if pool is not None else _nothing())

    warming = asyncio.create_task(_warm(), name="warm-up")
    freeze_startup_heap()
    # the live calls' journal of this process; calls a dead process left open are finished in
    # the background (the line answers meanwhile)
    rt.journal = CallJournal(settings.calls_journal_dir, store.pii)
    t = time.monotonic()
    ctl = await Controller(rt).start()
    phases["telephony_s"] = round(time.monotonic() - t, 3)
    recovery = asyncio.create_task(_recover(rt.journal, store, rt), name="recover-calls")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    dump_sig = install_dump_signal(loop)
    if dump_sig is not None:
        installed.append(dump_sig)
    web_server: uvicorn.Server | None = None
    web_task: asyncio.Task[None] | None = None
    desk: Desk | None = None
    if web:
        t = time.monotonic()
        desk = await build_desk(settings, store, rt)
        web_server, web_task = await _start_web(settings, store, rt, ctl, watcher, desk)
        phases["web_s"] = round(time.monotonic() - t, 3)
    sched_task: asyncio.Task[None] | None = None
    if settings.analytics_scheduler:
        sched_task = asyncio.create_task(_scheduler(settings, store).run(stop), name="analytics-scheduler")
    log.info("start-up phases", extra={"phases": phases})
    web_addr = f"{settings.web_host}:{_web_port(web_server, settings)}" if web_server else None
    has_admin, setup_url = await _first_admin(store, f"http://{web_addr}/" if web_addr else None)
    agi_host, agi_port = ctl.agi_address
    assert ctl.audiosocket is not None
    info = ReadyInfo(
        agi=f"{agi_host}:{agi_port}",
        agi_url=f"agi://{agi_host}:{agi_port}/hotline",
        audiosocket=ctl.audiosocket.advertise,
        web=web_addr,
        web_url=f"http://{web_addr}/" if web_addr else None,
        staff_login=has_admin,
        setup_url=setup_url,
        retired_tokens=settings.admin_token is not None or settings.agent_token is not None,
        prompts=n,
        startup_s=round(time.monotonic() - t0, 2),
    )
    log.info("hotline ready", extra={k: v for k, v in info.items() if k != "setup_url"})
    if ready is not None:
        ready(info)
    try:
        await stop.wait()
    finally:
        log.info("shutting down", extra={"live_calls": len(rt.active_calls)})
        if exit_watchdog:
            ExitWatchdog(settings.shutdown_grace_s + 30, settings.shutdown_grace_s + 60, loop=loop).start()
        if sched_task is not None:
            sched_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sched_task
        await ctl.drain(settings.shutdown_grace_s)
        await ctl.close()
        if desk is not None:
            desk.hub.close()       # ends the browsers' live streams, so the web server can stop
        if web_server is not None and web_task is not None:
            web_server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(web_task, 10)
        for signum in installed:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signum)
        await watcher.close()
        if desk is not None:
            await desk.close()
        for task in (recovery, warming):
            if not task.done():
                task.cancel()
        with contextlib.suppress(BaseException):
            await warming
        if not recovery.done():
            recovery.cancel()
        with contextlib.suppress(BaseException):
            await recovery
        await rt.aclose()
        await asyncio.to_thread(rt.journal.close)
        await store.close()
        if pool is not None:
            pool.close()
        log.info("stopped")


def _scheduler(settings: Settings, store: Store) -> AnalyticsScheduler:
    """Daily and weekly reports and the hourly alert check (claimed per period in the database)."""
    return AnalyticsScheduler(store, SchedulerConfig(reports_dir=settings.data_dir / "reports",
                                                     report_hour=settings.report_hour),
                              office_hours=settings.hours(), script_path=settings.script_path())


def ready_message(info: ReadyInfo) -> str:
    """What ``ivr serve`` prints once it takes calls: where Asterisk and staff connect, and how
    to log in (for an operator reading the terminal). On a fresh install, a one-time link that
    creates the first admin."""
    lines = [f"hotline ready in {info['startup_s']} s ({info['prompts']} prompts cached)",
             f"  Asterisk dialplan:  AGI({info['agi_url']})   (AudioSocket on {info['audiosocket']})"]
    web_url = info.get("web_url")
    if web_url:
        lines.append(f"  staff web pages:    {web_url}   (health: {web_url}healthz, API: {web_url}docs)")
        setup_url = info.get("setup_url")
        if info.get("staff_login"):
            lines.append(f"  log in:             {web_url}login with your account (admins add staff: "
                         "ivr users add NAME --role agent)")
        elif setup_url:
            lines.append(f"  first admin:        open {setup_url} to create the first admin account "
                         "(one-time link, valid 24 h), then log in")
            lines.append("                      or on this machine: ivr users add NAME --role admin")
        else:
            lines.append("  log in:             no admin account yet: ivr users add NAME --role admin")
    if info.get("retired_tokens"):
        lines.append("  warning:            IVR_ADMIN_TOKEN / IVR_AGENT_TOKEN are retired and ignored; "
                     "create personal accounts (ivr users add) and unset them")
    return "\n".join(lines)


async def _first_admin(store: Store, web_url: str | None) -> tuple[bool, str | None]:
    """Is there an admin? If not (and the web app runs), a one-time setup link."""
    from ivr.storage import StoreError

    try:
        if await store.accounts.has_admin():
            return True, None
        if web_url is None:
            return False, None
        return False, f"{web_url}setup/{await store.accounts.create_setup_token()}"
    except StoreError:
        log.warning("could not check for an admin account (database unavailable)")
        return False, None


def live_status(rt: Runtime, ctl: Controller) -> dict[str, object]:
    """The runtime's live state for the web app's /status page (no personal data)."""
    calls = [vars(c.status()) for c in list(rt.active_calls)]
    return {
        "accepting": rt.accepting,
        "live_calls": len(calls),
        "calls": calls,
        "calls_taken": ctl.calls_taken,
        "agi_port": ctl.agi_server.port if ctl.agi_server else None,
        "audiosocket": ctl.audiosocket.advertise if ctl.audiosocket else None,
        "script": rt.script_name,
        "script_version": rt.script_version,
        "handoffs_tracked": rt.handoff.tracked,
        "ami": rt.handoff.uses_ami,
    }


async def _timed(aw: Awaitable[T], phases: dict[str, float], name: str) -> T:
    t = time.monotonic()
    try:
        return await aw
    finally:
        phases[name] = round(time.monotonic() - t, 3)


async def _recover(journal: CallJournal, store: Store, rt: Runtime) -> None:
    try:
        await recover_interrupted_calls(journal, store, rt.script)
    except Exception:
        log.exception("recovering interrupted calls failed")


async def _nothing() -> None:
    return None


def _close_recognizer(task: asyncio.Future[Recognizer]) -> None:
    if not task.cancelled() and task.exception() is None:
        try:
            task.result().close()
        except Exception:
            log.exception("could not close a recognizer nobody owns")


async def build_desk(settings: Settings, store: Store, rt: Runtime) -> Desk:
    """The live desk on the hand-off's AMI connection, sharing events with the other
    processes through Redis when ``IVR_REDIS_URL`` is set."""
    def live() -> list[tuple[str, str]]:
        return [(c.call_id, c.status().state or "-") for c in list(rt.active_calls)]

    ami = rt.handoff.ami if isinstance(rt.handoff, Handoff) else None
    return await Desk(settings, store, ami=ami, bus=make_bus(settings.redis_url), live_calls=live,
                      clock=rt.clock).start()


async def _start_web(settings: Settings, store: Store, rt: Runtime, ctl: Controller, watcher: ScriptWatcher,
                     desk: Desk | None = None) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    app = create_app(settings, store, live_state=lambda: live_status(rt, ctl), desk=desk,
                     script_tools=RuntimeScriptTools(rt, watcher.poll_once))
    metrics = Metrics()                      # /metrics: fed by the calls' events
    metrics.watch(rt.active_calls, lambda: store.outbox_backlog)
    rt.call_listeners.append(metrics.listener)
    app.state.metrics = metrics
    config = uvicorn.Config(app, host=settings.web_host, port=settings.web_port, log_config=None,
                            lifespan="on", access_log=False, timeout_graceful_shutdown=5,
                            # the client's address is the connection's; X-Forwarded-For only counts from
                            # IVR_TRUSTED_PROXIES, which the web app checks itself (ivr.web.auth)
                            proxy_headers=False)
    server = _WebServer(config)
    task = asyncio.create_task(server.serve(), name="web")
    for _ in range(200):
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    if task.done():
        exc = task.exception()
        if exc is not None:
            raise exc
    return server, task


class _WebServer(uvicorn.Server):
    """uvicorn without its own SIGINT/SIGTERM handling: serve() drains the calls on them and
    then stops the web app.

    Left to itself, uvicorn takes the signals while it serves and raises them again only once
    it has stopped: its shutdown waits for every open connection (a live desk stream, a request
    still running) before that, so a SIGTERM could wait for ever before the drain even began
    (issue #15: a restarted controller that did not exit after SIGTERM)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _web_port(server: uvicorn.Server | None, settings: Settings) -> int:
    if server is not None and server.servers and server.servers[0].sockets:
        port: int = server.servers[0].sockets[0].getsockname()[1]
        return port
    return settings.web_port
