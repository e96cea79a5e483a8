"""The outbox: a database that is down never drops a complaint.

Unit tests of the journal, plus whole outages: PostgreSQL reached through a TCP proxy that the
test stops and starts again, so the store sees real refused/broken connections.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from ivr.storage.outbox import Outbox, Unavailable
from ivr.storage import StoreUnavailable, parse_ticket_id
from tests.conftest import PG_URL
from tests.waiting import eventually

# ----------------------------------------------------------------------------- journal


def test_append_replay_in_order_and_survive_reopen(tmp_path):
    ob = Outbox(tmp_path)
    when = datetime(2026, 11, 28, 3, 0, tzinfo=timezone.utc)
    for i in range(5):
        ob.append("op", {"i": i, "at": when})
    assert ob.pending() == 5
    reopened = Outbox(tmp_path)  # e.g. after a restart
    assert reopened.pending() == 5
    seen = []
    assert reopened.replay(lambda op, args: seen.append((op, args["i"], args["at"]))) == 5
    assert seen == [("op", i, when) for i in range(5)]
    assert reopened.pending() == 0 and not (tmp_path / "journal.jsonl").exists()
    assert reopened.replay(lambda *a: pytest.fail("nothing left")) == 0


def test_unavailable_stops_and_keeps_the_rest(tmp_path):
    ob = Outbox(tmp_path)
    for i in range(4):
        ob.append("op", {"i": i})
    applied = []

    def apply(op, args):
        if args["i"] == 2:
            raise Unavailable("db down")
        applied.append(args["i"])

    assert ob.replay(apply) == 2
    assert applied == [0, 1] and ob.pending() == 2
    assert [e.args["i"] for e in Outbox(tmp_path).entries()] == [2, 3]
    assert ob.replay(lambda op, a: applied.append(a["i"])) == 2
    assert applied == [0, 1, 2, 3]


def test_refused_entries_are_kept_aside_not_lost(tmp_path):
    ob = Outbox(tmp_path)
    for i in range(3):
        ob.append("op", {"i": i})

    def apply(op, args):
        if args["i"] == 1:
            raise ValueError("constraint says no")

    assert ob.replay(apply) == 2 and ob.pending() == 0
    rejected = (tmp_path / "rejected.jsonl").read_text().splitlines()
    assert "constraint says no" in rejected[0]
    assert json.loads(rejected[1])["args"] == {"i": 1}


def test_torn_and_garbled_lines(tmp_path):
    ob = Outbox(tmp_path)
    ob.append("op", {"i": 0})
    ob.append("op", {"i": 1})
    with open(tmp_path / "journal.jsonl", "ab") as f:
        f.write(b"{not json}\n")
        f.write(b'{"id":"x","op":"op","args":{"i":2},"at":""}\n')
        f.write(b'["also", "not an entry"]\n')
        f.write(b'{"id":"torn","op":"op","ar')  # crash in the middle of an append
    ob2 = Outbox(tmp_path)
    assert [e.args["i"] for e in ob2.entries()] == [0, 1, 2]
    rejected = (tmp_path / "rejected.jsonl").read_text()
    assert "{not json}" in rejected and "not an entry" in rejected
    journal = (tmp_path / "journal.jsonl").read_bytes()
    assert journal.endswith(b"\n") and journal.count(b"\n") == 3 and b"not" not in journal
    assert ob2.pending() == 3 and Outbox(tmp_path).pending() == 3


def test_append_is_durable_across_a_hard_crash(tmp_path):
    code = (
        "import os, sys; from ivr.storage.outbox import Outbox\n"
        f"ob = Outbox({str(tmp_path)!r})\n"
        "ob.append('insert_ticket', {'public_id': '2611900017', 'description': 'jalan rusak'})\n"
        "os._exit(9)  # no flush, no cleanup\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == 9, proc.stderr
    (entry,) = Outbox(tmp_path).entries()
    assert entry.op == "insert_ticket" and entry.args["description"] == "jalan rusak"


def test_offline_serials_are_monotonic_and_persistent(tmp_path):
    ob = Outbox(tmp_path)
    assert [ob.allocate_serial("2611", 90000, 99999) for _ in range(3)] == [90000, 90001, 90002]
    assert Outbox(tmp_path).allocate_serial("2611", 90000, 99999) == 90003
    assert ob.allocate_serial("2612", 90000, 99999) == 90000
    # a lost counter file never reuses a number still in the journal
    ob.append("insert_ticket", {"public_id": "2611905553"})
    (tmp_path / "offline_serials.json").unlink()
    assert ob.allocate_serial("2611", 90000, 99999) == 90556


# ----------------------------------------------------------------------------- outages

from tests.ivr.dbfaults import TcpProxy  # noqa: E402

PG_ONLY = pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)


@pytest.fixture
async def proxy(db_backend):
    if db_backend != "postgres":
        pytest.skip("outages are simulated on PostgreSQL through a TCP proxy")
    from sqlalchemy.engine import make_url

    u = make_url(PG_URL)
    p = TcpProxy(u.host or "127.0.0.1", u.port or 5432)
    await p.start()
    yield p
    if p.server is not None:
        await p.stop()


def _proxied_url(port: int) -> str:
    from sqlalchemy.engine import make_url

    return make_url(PG_URL).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


@PG_ONLY
async def test_database_down_keeps_everything_and_replays(make_store, proxy, tmp_path):
    st = await make_store(url=_proxied_url(proxy.port), outbox_dir=tmp_path / "ob")
    before = await st.tickets.create("complaint", description="sebelum gangguan")
    assert parse_ticket_id(before)[4:9] == "00001"

    await proxy.stop()
    assert await st.ping() is False
    cid = await st.calls.create(caller="081234567890", script_name="s", script_version="v1")
    await st.calls.add_turn(cid, 0, "caller", "mau lapor jalan rusak", intent="aduan", reply_ms=700)
    tid = await st.tickets.create("complaint", category="jalan", description="jalan rusak di RT 3",
                                 reporter_phone="081234567890", call_id=cid, client_id="c-42")
    hid = await st.handoffs.record(cid, "hotline")
    await st.handoffs.update(hid, outcome="no_agents")
    await st.calls.close(cid, "hangup")
    assert st.outbox_backlog == 6
    assert int(tid[4:9]) >= 90000 and parse_ticket_id(tid) == tid  # offline range, valid check digit
    # the caller can look the number up at once, from the journal
    pending = await st.tickets.get(tid)
    assert pending.pending and pending.description == "jalan rusak di RT 3" and pending.status == "open"
    with pytest.raises(StoreUnavailable):
        await st.calls.get(cid)
    # the journal holds no personal data in clear either
    journal = (tmp_path / "ob" / "journal.jsonl").read_text()
    assert "081234567890" not in journal and "0812*****890" in journal

    await proxy.start()  # database back (same port)
    assert await st.ping() is True
    assert await st.replay_outbox() == 6
    assert st.outbox_backlog == 0
    t = await st.tickets.get(tid)
    assert not t.pending and t.call_id == cid and t.category == "jalan"
    call = await st.calls.get(cid)
    assert call.end_reason == "hangup" and call.handoff_outcome == "no_agents"
    assert [x.text for x in call.turns] == ["mau lapor jalan rusak"]
    assert call.tickets == (tid,)
    # a retry of the same ticket (same client id) after replay does not duplicate it
    assert await st.tickets.create("complaint", client_id="c-42") == tid
    assert await st.tickets.count() == 2


@PG_ONLY
async def test_writes_after_recovery_wait_for_the_backlog(make_store, proxy, tmp_path):
    """Once something is journaled, later writes go behind it, so order is kept."""
    st = await make_store(url=_proxied_url(proxy.port), outbox_dir=tmp_path / "ob", retry_after_s=0)
    await proxy.stop()
    cid = await st.calls.create()
    await proxy.start()
    # the DB is back but the call row is still only in the journal: the turn must not fail
    await st.calls.add_turn(cid, 0, "caller", "halo")
    assert st.outbox_backlog == 0
    assert [t.text for t in (await st.calls.get(cid)).turns] == ["halo"]


@PG_ONLY
async def test_journal_survives_a_restart(make_store, proxy, tmp_path):
    url = _proxied_url(proxy.port)
    st = await make_store(url=url, outbox_dir=tmp_path / "ob")
    await proxy.stop()
    tid = await st.tickets.create("callback", reporter_phone="081298765432")
    await st.close()
    await proxy.start()
    # a new process on the same data directory replays it
    st2 = await make_store(url=url, outbox_dir=tmp_path / "ob", schema=st.schema)
    assert st2.outbox_backlog == 1
    assert await st2.replay_outbox() == 1
    assert (await st2.tickets.get(tid)).kind == "callback"


@PG_ONLY
async def test_background_replayer(make_store, proxy, tmp_path):
    st = await make_store(url=_proxied_url(proxy.port), outbox_dir=tmp_path / "ob")
    await proxy.stop()
    tid = await st.tickets.create("complaint", description="x")
    st.start_replayer(interval_s=0.05)
    await proxy.start()
    await eventually(lambda: st.outbox_backlog == 0, "the background replayer to empty the outbox", interval=0.05)
    assert (await st.tickets.get(tid)).pending is False


async def test_integrity_errors_are_not_hidden_in_the_journal(store):
    with pytest.raises(Exception) as exc:
        await store.calls.add_turn("no-such-call", 0, "caller", "x")
    assert "ntegrity" in type(exc.value).__name__ or "oreign" in str(exc.value)
    assert store.outbox_backlog == 0


async def test_after_a_failure_calls_do_not_wait_on_the_database_again(tmp_path):
    """A database host that swallows packets costs one connect timeout, not one per write."""
    from ivr.storage import Store

    accepted = []

    async def blackhole(reader, writer):
        accepted.append(writer)
        await reader.read()  # never answer

    server = await asyncio.start_server(blackhole, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    st = Store(f"postgresql://postgres@127.0.0.1:{port}/test", outbox_dir=tmp_path / "ob",
               retry_after_s=600, connect_timeout_s=1)
    try:
        await st.calls.create("c1")  # waits for the connect timeout once, then journals
        attempts = len(accepted)
        assert attempts >= 1 and st.outbox_backlog == 1
        for i in range(5):
            await st.calls.add_turn("c1", i, "caller", f"kalimat {i}")
        tid = await st.tickets.create("complaint", description="tetap tercatat", call_id="c1")
        with pytest.raises(StoreUnavailable):
            await st.calls.get("c1")
        assert (await st.tickets.get(tid)).pending is True  # served from the journal
        assert len(accepted) == attempts  # no new connection attempt for any of these
        assert st.outbox_backlog == 7
    finally:
        for w in accepted:
            w.transport.abort()
        server.close()
        await server.wait_closed()
        await st.close()


async def test_a_late_commit_keeps_the_number_the_caller_heard(store):
    """A write that outlived its deadline may still commit under a database number while the
    caller was read the journaled (offline) one: on replay the heard number stands."""
    from ivr.storage.ticket_ids import make_ticket_id

    first = await store.tickets.create("complaint", description="x", client_id="late-1")
    heard = make_ticket_id("2612", 90001)
    replayed = await store.database.run(store.writes._apply, "insert_ticket", {
        "public_id": heard, "client_id": "late-1", "kind": "complaint", "status": "open",
        "created_at": store.clock(), "updated_at": store.clock(), "history": []})
    assert replayed == heard != first
    assert (await store.tickets.get(heard)).description == "x"
    assert await store.tickets.get(first) is None
