"""Issue #15: a controller killed mid-complaint loses nothing the caller said.

A real ``ivr serve`` subprocess on PostgreSQL takes a complaint from the Asterisk peer; after
the caller has given the category (keys), the location and the description (speech), the
process is SIGKILLed. The next start closes the call record ("interrupted", ``ended_at`` set),
files the unfinished complaint as an incomplete ticket and stores every turn the caller gave.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import create_engine, text

from telephony.peer import AsteriskPeer, Call, Dtmf, SayPcm, Silence, WaitForPrompt, WaitForSilence
from tests.conftest import PG_URL, pg_skip_reason
from tests.ivr.dbfaults import fresh_database
from tests.ivr.serveproc import ServeProcess
from tests.waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _url(dbname: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(PG_URL).set(database=dbname).render_as_string(hide_password=False)


def _rows(url: str, sql: str) -> list:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).mappings())
    finally:
        engine.dispose()


async def test_sigkill_mid_complaint_then_restart_files_it_and_closes_the_call(tmp_path, caller_speech):
    reason = pg_skip_reason()
    if reason:
        pytest.skip(reason)
    with fresh_database() as dbname:
        url = _url(dbname)
        serve = ServeProcess(tmp_path / "var", url)
        serve.start()
        await asyncio.to_thread(serve.wait_ready)
        try:
            killed = asyncio.Event()

            def kill(_call) -> None:
                serve.kill()
                killed.set()

            location = caller_speech("di jalan merdeka kelurahan sukamaju", 1)
            description = caller_speech("jalannya rusak dan berlubang sejak minggu lalu", 1)
            steps = [WaitForPrompt(), Dtmf("5"), WaitForSilence(1.0), Dtmf("3"), WaitForSilence(1.0),
                     SayPcm(location), WaitForSilence(1.0), SayPcm(description), WaitForSilence(1.0),
                     Call(kill), Silence(2.0)]
            peer = AsteriskPeer("127.0.0.1", serve.agi_port)
            res = await peer.place_call(steps, caller_id="081234567890", realtime=True)
            assert killed.is_set()
            assert "IVR_DONE" not in res.variables  # the dialplan takes this for a failure
            call_rows = _rows(url, "SELECT id, ended_at FROM calls")
            assert len(call_rows) == 1 and call_rows[0]["ended_at"] is None  # left open by the crash

            serve.start()  # same data directory: the next process finds the journal
            await asyncio.to_thread(serve.wait_ready)

            def finished() -> list:
                return [r for r in _rows(url, "SELECT id, ended_at, end_reason, end_state FROM calls")
                        if r["ended_at"] is not None]

            (call,) = await eventually(finished, "the interrupted call to be closed", timeout=60, interval=0.2)
            assert call["end_reason"] == "interrupted" and call["end_state"] == "complaint_identity"
            tickets = _rows(url, "SELECT kind, category, location, description, extra, call_id FROM tickets")
            assert len(tickets) == 1
            t = tickets[0]
            assert t["kind"] == "complaint" and t["category"] == "pelayanan" and t["call_id"] == call["id"]
            turns = _rows(url, f"SELECT idx, who, source, state, text FROM turns WHERE call_id = '{call['id']}' "
                               "ORDER BY idx")
            said = {r["state"]: r["text"] for r in turns if r["who"] == "caller"}
            assert [r["text"] for r in turns if r["who"] == "caller"][:2] == ["5", "3"]
            # what the caller said (as recognised) is in the turns and in the ticket
            assert said["complaint_location"] and said["complaint_description"]
            assert t["location"] == said["complaint_location"]
            assert t["description"] == said["complaint_description"]
            assert t["extra"]["incomplete"] is True and t["extra"]["stopped_at"] == "complaint_identity"
            # nothing is left to recover, and the line still answers
            assert not list((tmp_path / "var" / "calls").glob("*/*.jsonl"))
        finally:
            serve.kill()
