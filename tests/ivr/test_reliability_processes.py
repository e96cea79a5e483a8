"""Issue #15: several ``ivr serve`` processes on one PostgreSQL.

Two controllers (as on two hosts: their own data directories, IVR_NODE_ID 0 and 1) start while
the database is down and each files a callback request: their offline ticket numbers come from
separate blocks and both reach the database once it is back. Then one is stopped with SIGTERM
during a call: it refuses new calls at once (the dialplan tries the other), finishes the live
call (ended on purpose: IVR_DONE=1) and exits; the other goes on taking calls.
"""

from __future__ import annotations

import asyncio
import socket

import pytest
from sqlalchemy import create_engine, text

from telephony.peer import AsteriskPeer, Dtmf, Hangup, Silence, WaitForPrompt, WaitForSilence
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, pg_skip_reason
from tests.ivr.dbfaults import database_down_at_start
from tests.ivr.serveproc import ServeProcess
from tests.waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CALLBACK = [WaitForPrompt(), Dtmf("0"), WaitForSilence(1.0), Dtmf("1"), WaitForSilence(1.0), Dtmf("1"),
            WaitForSilence(1.5), Silence(0.5), Hangup()]


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except OSError:
        return True


async def test_two_controllers_offline_numbers_do_not_collide_and_sigterm_drains(tmp_path):
    reason = pg_skip_reason()
    if reason:
        pytest.skip(reason)
    async with database_down_at_start() as (proxy, dbname):  # down when both start
        url = proxy.url(dbname)
        env = {"IVR_OFFICE_HOURS": "never", "IVR_SHUTDOWN_GRACE_S": "120"}
        a = ServeProcess(tmp_path / "a" / "var", url, env={**env, "IVR_NODE_ID": "0"})
        b = ServeProcess(tmp_path / "b" / "var", url, env={**env, "IVR_NODE_ID": "1"})
        a.start()
        b.start()
        try:
            await asyncio.gather(asyncio.to_thread(a.wait_ready), asyncio.to_thread(b.wait_ready))
            results = await asyncio.gather(
                AsteriskPeer("127.0.0.1", a.agi_port).place_call(CALLBACK, caller_id="081234567890", realtime=4.0),
                AsteriskPeer("127.0.0.1", b.agi_port).place_call(CALLBACK, caller_id="081298765432", realtime=4.0))
            assert all(r.variables.get("IVR_DONE") == "1" for r in results)
            assert (await asyncio.to_thread(a.health))["outbox_backlog"]
            assert (await asyncio.to_thread(b.health))["outbox_backlog"]

            await proxy.start()  # the database is back: both replay their journals
            async def replayed() -> bool:
                ha, hb = await asyncio.gather(asyncio.to_thread(a.health), asyncio.to_thread(b.health))
                return ha["outbox_backlog"] == 0 and hb["outbox_backlog"] == 0

            await eventually(replayed, "both journals to be replayed", timeout=120, interval=0.5)
            # straight to PostgreSQL: a blocking query through the proxy would stall this
            # event loop, which runs the proxy
            engine = create_engine(make_url(PG_URL).set(database=dbname, drivername="postgresql+psycopg2"))
            try:
                with engine.connect() as conn:
                    numbers = sorted(conn.execute(text("SELECT public_id FROM tickets")).scalars())
            finally:
                engine.dispose()
            assert len(numbers) == 2
            assert [n[4:6] for n in numbers] == ["90", "91"]  # node 0's block, node 1's block

            # SIGTERM during a call: b refuses new calls at once and finishes the live one
            live = AsteriskPeer("127.0.0.1", b.agi_port).start_call(CALLBACK, caller_id="081211112222",
                                                                   realtime=2.0)
            async def live_on_b() -> bool:
                return await asyncio.to_thread(_live_calls, b) == 1

            await eventually(live_on_b, "the call to be live on b", timeout=60, interval=0.1)
            b.proc.send_signal(15)

            async def refused() -> bool:
                return await asyncio.to_thread(_refused, b.agi_port)

            await eventually(refused, "b to refuse new calls", timeout=30, interval=0.05)
            res = await live.result()
            assert res.variables.get("IVR_DONE") == "1"  # finished normally, not cut
            assert await asyncio.to_thread(b.proc.wait, 60) == 0
            # a goes on
            again = await AsteriskPeer("127.0.0.1", a.agi_port).place_call(CALLBACK, caller_id="081233334444",
                                                                           realtime=4.0)
            assert again.variables.get("IVR_DONE") == "1"
        finally:
            a.kill()
            b.kill()


def _live_calls(p: ServeProcess) -> int:
    """Calls in progress, from /metrics (answers loopback clients without a token, and needs no
    database, unlike the staff-only /status)."""
    import re

    import httpx

    text = httpx.get(f"{p.web}/metrics", timeout=5).text
    found = re.search(r"^ivr_calls_in_progress (\S+)$", text, re.M)
    assert found, text[:500]
    return int(float(found.group(1)))
