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


async def test_a_hung_database_costs_the_caller_a_hold_prompt_not_silence(pg, engines, tmp_path):
    """The database stops answering just before the callback is filed: the caller hears "Mohon
    tunggu sebentar." (not silence) while the write waits for its deadline, then the number
    from the journal; it reaches the database once it answers again."""
    import uuid

    from ivr.storage import Store
    from telephony.peer import Call
    from tests.ivr.conftest import close_hotline, make_hotline

    proxy = TcpProxy.to_postgres()
    await proxy.start()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    store = Store(proxy.url(), schema=schema, outbox_dir=tmp_path / "ob", write_deadline_s=1.5,
                  retry_after_s=600)
    await store.amigrate()
    hl = await make_hotline(engines, tmp_path, store=store, office_hours="never")
    try:
        steps = [WaitForPrompt(), Dtmf("0"), WaitForSilence(1.0), Dtmf("1"), WaitForSilence(1.0),
                 Call(lambda _c: proxy.hang()), Dtmf("1"), WaitForSilence(2.0), Silence(0.5), Hangup()]
        res = await hl.peer.place_call(steps, caller_id="081234567890", realtime=4.0)
        assert res.variables.get("IVR_DONE") == "1"
        assert len(hl.by_kind("hold")) == 1
        said = [d["text"] for d in hl.by_kind("say")]
        hold_at = said.index("Mohon tunggu sebentar.")
        assert "Permintaan telepon balik sudah kami catat" in said[hold_at + 1]
        (filed,) = hl.by_kind("ticket")
        assert int(filed["ticket_id"][4:9]) >= 90000  # journaled: offline range
        proxy.resume()
        store.database.mark_up()
        assert await store.replay_outbox() > 0 and store.outbox_backlog == 0
        ticket = await store.tickets.get(filed["ticket_id"])
        assert ticket is not None and ticket.kind == "callback" and not ticket.pending
        assert await store.tickets.count() == 1  # the abandoned attempt never committed
    finally:
        await close_hotline(hl)
        await proxy.stop()
        from tests.conftest import _drop_schema

        _drop_schema(schema)
