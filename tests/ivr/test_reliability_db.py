"""Issue #15: the hotline starts and runs without its database, and a hung database never
freezes a caller.

``ivr serve``'s engine (:func:`ivr.serve.serve`) is started against a PostgreSQL that refuses
connections (a proxy that is down): it takes calls (keypad paths, the emergency announcement),
writes go to the journal, ``/healthz`` answers "degraded" from the background probe; once the
database is back the schema is migrated and the journal replayed.
"""

from __future__ import annotations

import asyncio
import gc

import httpx
import pytest
from sqlalchemy import create_engine, text

from asr.whisper_model import default_cache_dir
from ivr.config.settings import load_settings
from ivr.serve import serve
from telephony.peer import AsteriskPeer, Dtmf, Hangup, Silence, WaitForPrompt, WaitForSilence
from tests.conftest import pg_skip_reason
from tests.ivr.dbfaults import TcpProxy, fresh_database
from tests.waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

#: a callback request by keys only: agents (closed hours) -> yes, call me -> yes, this number
CALLBACK_KEYS = [WaitForPrompt(), Dtmf("0"), WaitForSilence(1.0), Dtmf("1"), WaitForSilence(1.0), Dtmf("1"),
                 WaitForSilence(1.5), Silence(0.5), Hangup()]


@pytest.fixture
def pg():
    reason = pg_skip_reason()
    if reason:
        pytest.skip(reason)


async def _start(settings):
    info: dict = {}
    ready = asyncio.Event()
    stop = asyncio.Event()

    def on_ready(i: dict) -> None:
        info.update(i)
        ready.set()

    gc.unfreeze()
    task = asyncio.create_task(serve(settings, ready=on_ready, stop=stop, warm_up=False))
    await asyncio.wait({task, asyncio.ensure_future(ready.wait())}, timeout=180,
                       return_when=asyncio.FIRST_COMPLETED)
    assert ready.is_set(), task.exception() if task.done() else "serve did not start"
    gc.unfreeze()
    return task, stop, info


async def test_serve_starts_and_takes_calls_while_the_database_refuses(pg, tmp_path):
    proxy = TcpProxy.to_postgres()
    await proxy.start()
    await proxy.stop()  # the port now refuses connections
    with fresh_database() as dbname:
        settings = load_settings(data_dir=tmp_path / "var", agi_port=0, audiosocket_port=0, web_port=0,
                                 office_hours="never", whisper_cache_dir=default_cache_dir(),
                                 database_url=proxy.url(dbname), shutdown_grace_s=10, log_level="WARNING")
        task, stop, info = await _start(settings)
        try:
            async with httpx.AsyncClient(base_url=f"http://{info['web']}") as web:
                health = (await web.get("/healthz")).json()
                assert health["status"] == "degraded" and health["db"] is False
                assert health["schema_ready"] is False

                host, port = info["agi"].rsplit(":", 1)
                peer = AsteriskPeer(host, int(port))
                res = await peer.place_call(CALLBACK_KEYS, caller_id="081234567890", realtime=4.0)
                # the caller heard the whole dialog, the callback was taken (journaled) and the
                # controller ended the call on purpose
                assert res.ended_by in ("agi_hangup", "caller_hangup"), res
                assert res.variables.get("IVR_DONE") == "1"
                assert res.heard_seconds > 10
                health = (await web.get("/healthz")).json()
                assert health["outbox_backlog"] >= 2  # the call record and the callback, at least

                # the database comes back: the schema is migrated, the journal replayed
                await proxy.start()

                async def healthy() -> bool:
                    h = (await web.get("/healthz")).json()
                    return h["status"] == "ok" and h["outbox_backlog"] == 0

                await eventually(healthy, "the store to migrate and replay once the database is back",
                                 timeout=60, interval=0.2)
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
            if proxy.server is not None:
                await proxy.stop()
        engine = create_engine(proxy.url(dbname).replace(f":{proxy.port}/", ":5432/").replace(
            "postgresql://", "postgresql+psycopg2://"))
        try:
            with engine.connect() as conn:
                tickets = conn.execute(text("SELECT kind, call_id FROM tickets")).all()
                calls = conn.execute(text("SELECT id, ended_at FROM calls")).all()
        finally:
            engine.dispose()
        assert [t.kind for t in tickets] == ["callback"]
        assert len(calls) == 1 and calls[0].ended_at is not None and tickets[0].call_id == calls[0].id
