"""Publishing goes live without a restart: two hotlines (ivr.serve.serve) on one PostgreSQL
both pick up a publish; a call started before the publish finishes on the old version, a new
call runs the new one, and each call record keeps its version; a rollback comes back the same
way. Calls are driven by the Asterisk peer, as in the other whole-call tests."""

from __future__ import annotations

import asyncio
import gc
import uuid

import httpx
import pytest

from asr.whisper_model import default_cache_dir
from ivr.config.settings import load_settings
from ivr.serve import serve
from ivr.storage import Store
from telephony.peer import AsteriskPeer, Dtmf, Hangup, Silence, WaitForPrompt
from tests.conftest import PG_URL, pg_skip_reason
from tests.ivr.staff import api_token, make_account
from tests.ivr.test_scripts_storage import WELCOME, YAML
from tests.waiting import eventually

pytestmark = pytest.mark.postgres

NEW_WELCOME = "Halo, ini hotline versi baru. Jika darurat, hubungi 112."
OLD_MENU = "Layanan kependudukan. Tekan 1 untuk KTP elektronik"
NEW_MENU = "Menu kependudukan versi baru. Tekan 1 untuk KTP elektronik"


def _admin(sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(PG_URL, connect_timeout=3)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture
def pg_database():
    reason = pg_skip_reason()
    if reason:
        pytest.skip(reason)
    name = f"test_sc_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    yield PG_URL.rsplit("/", 1)[0] + "/" + name
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _start(url: str, data_dir) -> tuple[asyncio.Task[None], asyncio.Event, dict]:
    settings = load_settings(data_dir=data_dir, database_url=url, agi_port=0, audiosocket_port=0, web_port=0,
                             office_hours="always", whisper_cache_dir=default_cache_dir(), shutdown_grace_s=20,
                             log_level="WARNING")
    stop, ready, info = asyncio.Event(), asyncio.Event(), {}

    def on_ready(i: dict) -> None:
        info.update(i)
        ready.set()

    task = asyncio.create_task(serve(settings, ready=on_ready, stop=stop, warm_up=False))
    await asyncio.wait({task, asyncio.ensure_future(ready.wait())}, timeout=180, return_when=asyncio.FIRST_COMPLETED)
    assert ready.is_set(), task.exception() if task.done() else "serve did not start"
    gc.unfreeze()
    return task, stop, info


def _played(said: list[str], prompt: str) -> bool:
    """``prompt`` is on record: whole, or cut where the caller hung up (stored up to there, " …")."""
    return any(prompt in t or (t.endswith(" …") and prompt.startswith(t[:-2])) for t in said)


async def test_two_hotlines_pick_up_a_publish_and_calls_keep_their_version(pg_database, tmp_path):
    a_task, a_stop, a = await _start(pg_database, tmp_path / "a")
    b_task, b_stop, b = await _start(pg_database, tmp_path / "b")
    store = Store(pg_database)
    try:
        live = await store.scripts.live("default")
        assert live is not None and live.number == 1  # imported once although both started
        await make_account(store, "admin", "andi")
        auth = {"Authorization": f"Bearer {await api_token(store, 'andi')}"}

        async def versions() -> tuple[str, str]:
            async with httpx.AsyncClient(headers=auth) as c:
                return tuple([(await c.get(f"http://{x['web']}/status")).json()["script_version"] for x in (a, b)])

        assert await versions() == ("1", "1")
        # a call on hotline A before the publish: it will hear the kependudukan menu after it
        host, port = a["agi"].rsplit(":", 1)
        peer = AsteriskPeer(host, int(port))
        before = peer.start_call([WaitForPrompt(), Silence(4.0), Dtmf("1"), WaitForPrompt(), Silence(1.5), Hangup()],
                                 realtime=True)
        await eventually(lambda: _live_calls(a, auth), "the first call to be live", interval=0.05)
        text = YAML.replace(WELCOME, f"    say: {NEW_WELCOME}", 1).replace(OLD_MENU, NEW_MENU, 1)
        draft = await store.scripts.save_draft("default", text, base_id=live.version_id, author="admin:test")
        assert draft.valid and draft.tests_passed, (draft.validation, draft.test_result)
        await store.scripts.publish(draft.id, actor="admin:test", role="admin")
        await eventually(lambda: _is(versions, ("2", "2")), "both hotlines to run version 2")
        await before.result()
        after = await peer.start_call([WaitForPrompt(), Silence(1.5), Hangup()], realtime=True).result()
        assert after is not None
        calls = {c.script_version: await store.calls.get(c.id) for c in await store.calls.recent()}
        old, new = calls["1"], calls["2"]
        old_said = [t.text or "" for t in old.turns if t.who == "system"]
        new_said = [t.text or "" for t in new.turns if t.who == "system"]
        # finished on the version it started with
        assert _played(old_said, OLD_MENU) and not _played(old_said, NEW_MENU), old_said
        assert _played(new_said, NEW_WELCOME) and not _played(new_said, "Selamat datang"), new_said
        await store.scripts.rollback("default", actor="admin:test", role="admin")
        await eventually(lambda: _is(versions, ("1", "1")), "both hotlines back on version 1")
    finally:
        await store.close()
        a_stop.set()
        b_stop.set()
        await asyncio.wait_for(asyncio.gather(a_task, b_task), 60)


async def _live_calls(info: dict, auth: dict) -> bool:
    async with httpx.AsyncClient(headers=auth) as c:
        return (await c.get(f"http://{info['web']}/status")).json()["live_calls"] > 0


async def _is(fn, want) -> bool:
    return await fn() == want
