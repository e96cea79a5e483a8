"""A cancelled task must end, even when what it awaits completes at the same moment.

On Python 3.11, ``asyncio.wait_for`` returns the inner result instead of raising
``CancelledError`` when a cancellation arrives while the inner future has just completed
(CPython gh-86296, fixed by the 3.12 rewrite). A service loop (the desk's figures, its
housekeeping) then lives on in a task that believes it was never cancelled, and ``close()``,
which awaits it, waits for ever: ``tests/ivr/test_desk.py`` hung about 1 run in 6 at teardown,
and ``ivr serve`` would hang the same way on SIGTERM.

The tests force the interleaving instead of waiting for luck: the awaited result is made ready
first, then the cancellation comes after 0, 1, 2... passes of the event loop, so one of them
lands in the window between "the result is there" and "the task has resumed"."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ivr.config.settings import load_settings
from ivr.desk import Desk
from ivr.privacy.pii import Pii
from ivr.storage import Store
from ivr.storage.database import Database
from telephony import AmiClient
from telephony.ami import AmiMessage
from telephony.peer import AmiServer
from tests.conftest import PII_TEST_KEY

#: event-loop passes tried between "result ready" and "cancel" (the window is 2-3 passes wide on 3.11)
HOPS = range(8)
#: bounds a test that is failing anyway (a swallowed cancellation), never a passing one
BOUND_S = 10.0


async def _outcome(task: asyncio.Task[Any]) -> str:
    done, _ = await asyncio.wait({task}, timeout=BOUND_S)
    if not done:
        task.cancel()
        return "still running"
    if task.cancelled():
        return "cancelled"
    return f"returned {task.result()!r}" if task.exception() is None else f"raised {task.exception()!r}"


async def _cancel_after(task: asyncio.Task[Any], hops: int, outcomes: dict[int, str]) -> None:
    """Cancel ``task`` after ``hops`` passes of the loop and record how it ended (nothing
    recorded when it had already finished)."""
    for _ in range(hops):
        await asyncio.sleep(0)
    if task.cancel():
        outcomes[hops] = await _outcome(task)
    else:
        await task


async def test_a_read_cancelled_as_its_result_lands_ends_cancelled(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    db._read_pool.shutdown()
    db._read_pool = ThreadPoolExecutor(max_workers=1)     # one thread: a later job runs after this one
    outcomes: dict[int, str] = {}
    try:
        for hops in HOPS:
            go, started = threading.Event(), threading.Event()

            def job() -> str:
                started.set()
                go.wait(BOUND_S)
                return "figures"

            task = asyncio.create_task(db.read(job))
            await asyncio.to_thread(started.wait, BOUND_S)
            go.set()
            # block the loop until the pool thread has handed the result to the loop
            db._read_pool.submit(lambda: None).result(BOUND_S)
            await _cancel_after(task, hops, outcomes)
    finally:
        await db.close()
    assert outcomes, "the read always finished before the cancellation: the test no longer probes the race"
    assert all(o == "cancelled" for o in outcomes.values()), outcomes


async def test_an_ami_action_cancelled_as_its_response_lands_ends_cancelled():
    server = AmiServer(queues=("hotline",), login_failure_delay=0.05, unanswered=("ping",))
    await server.start()
    ami = AmiClient("127.0.0.1", server.port, "ivr", "ivrsecret", keepalive=None)
    await ami.connect()
    outcomes: dict[int, str] = {}
    try:
        for hops in HOPS:
            task = asyncio.create_task(ami.action("Ping"))
            while not ami._pending:                      # the action is written, its future waits
                await asyncio.sleep(0)
            [(aid, fut)] = ami._pending.items()
            fut.set_result(AmiMessage.build(("Response", "Success"), ("ActionID", aid), ("Ping", "Pong")))
            await _cancel_after(task, hops, outcomes)
    finally:
        await ami.close()
        await server.close()
    assert outcomes, "the action always finished before the cancellation: the test no longer probes the race"
    assert all(o == "cancelled" for o in outcomes.values()), outcomes



async def test_the_desk_closes_even_if_a_loop_lived_through_its_cancellation(tmp_path, monkeypatch):
    """Belt and braces for whatever else may drop a cancellation (a library, a future bug):
    the desk's figures loop is made to swallow it once, as 3.11's wait_for did; close()
    cancels it again instead of waiting for ever."""
    store = Store(f"sqlite:///{tmp_path / 'ivr.sqlite3'}", pii=Pii("mask", PII_TEST_KEY))
    await store.amigrate()
    settings = load_settings(data_dir=tmp_path / "var", office_hours="always", agent_queues=["hotline"],
                             log_level="WARNING")
    desk = Desk(settings, store, board_interval_s=3600, live_interval_s=3600, figures_interval_s=3600,
                housekeeping_interval_s=3600)
    reading = asyncio.Event()

    async def swallowing_refresh() -> None:
        reading.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()      # a read whose result lands as the cancel comes

    monkeypatch.setattr(desk, "refresh_figures", swallowing_refresh)
    await desk.start()
    closing: asyncio.Task[None] | None = None
    try:
        await asyncio.wait_for(reading.wait(), BOUND_S)
        closing = asyncio.create_task(desk.close())
        await asyncio.wait({closing}, timeout=BOUND_S)     # not wait_for: its cancel would end the loop
        assert closing.done(), "Desk.close() waits for ever on a loop that lived through its cancellation"
        assert all(t.done() for t in desk._tasks)
    finally:
        for t in [*desk._tasks, *([closing] if closing else [])]:
            t.cancel()
        await store.close()


async def test_a_listen_cancelled_as_a_frame_wakes_it_ends_cancelled():
    """The media's listen loop waits on an event that every caller frame sets: a call's
    cancellation arriving at that moment must still end the listen."""
    from asr import Endpointer
    from ivr.calls.media.audiosocket import AudioSocketMedia
    from ivr.calls.ports import ListenSpec
    from tests.ivr.test_media_gaps import _Channel

    outcomes: dict[int, str] = {}
    for hops in HOPS:
        channel = _Channel()
        media = AudioSocketMedia(channel, lambda rate: Endpointer(sample_rate=rate, end_ms=600))  # type: ignore[arg-type]
        await media.start()
        try:
            task = asyncio.ensure_future(media.listen(ListenSpec(timeout_s=30.0)))
            for _ in range(5):
                await asyncio.sleep(0)               # the listen is waiting
            media._wake.set()                        # a frame arrives as the call is cancelled
            await _cancel_after(task, hops, outcomes)
        finally:
            await media.close()
    assert set(outcomes.values()) == {"cancelled"}, outcomes
