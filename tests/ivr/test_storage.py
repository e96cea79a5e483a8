"""Store on real SQLite and PostgreSQL: schema, calls, turns, tickets, hand-offs, PII, purge."""

from __future__ import annotations

import asyncio
import os
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, text

from ivr.privacy.pii import Pii
from ivr.storage import StoreError, format_ticket_id, parse_ticket_id
from ivr.storage.ticket_ids import damm, make_ticket_id
from tests.conftest import PII_TEST_KEY

WIB = ZoneInfo("Asia/Jakarta")
NIK = "3174012345670001"
PHONE = "081234567890"
NAME = "Siti Aminah"


# ----------------------------------------------------------------------------- schema

async def test_migrations_create_the_model_schema(store):
    assert store.current_revision() == store.head_revision() != "0001"  # 0002: hand-off times
    store.migrate()  # idempotent
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from ivr.storage.models import Base

    with store.database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(inspect(conn).get_table_names())
    assert diff == []
    assert {"calls", "turns", "tickets", "ticket_events", "handoffs", "handoff_contexts",
            "audit_log", "ticket_counters"} <= tables


async def test_migrations_downgrade_and_upgrade_again(store):
    from alembic import command
    from alembic.config import Config

    import ivr.storage.migrations as migrations

    await store.calls.create("before")
    cfg = Config()
    cfg.set_main_option("script_location", os.path.dirname(migrations.__file__))
    with store.database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    with store.database.engine.connect() as conn:
        assert "calls" not in inspect(conn).get_table_names()
    assert store.current_revision() is None
    store.migrate()
    assert store.current_revision() == store.head_revision()
    assert await store.calls.get("before") is None
    await store.calls.create("after")
    assert (await store.calls.get("after")).id == "after"


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
async def test_postgres_schemas_are_isolated(make_store, db_backend):
    a = await make_store()
    b = await make_store()
    await a.calls.create("only-in-a")
    assert await a.calls.get("only-in-a") is not None
    assert await b.calls.get("only-in-a") is None


# ----------------------------------------------------------------------------- calls

async def test_call_turns_and_close(store):
    t0 = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)
    cid = await store.calls.create(caller=PHONE, media_mode="agi", script_name="layanan",
                                  script_version="9f2c", channel_id="1732.5", started_at=t0)
    await store.calls.add_turn(cid, 0, "system", "Selamat datang di layanan", source="prompt", at=t0)
    await store.calls.add_turn(cid, 1, "caller", "mau bikin KTP", intent="ktp_baru", confidence=0.91,
                         asr_ms=312.5, reply_ms=640.0, at=t0 + timedelta(seconds=5))
    await store.calls.add_turn(cid, 1, "caller", "duplicate retry", at=t0 + timedelta(seconds=6))  # idempotent
    await store.calls.add_turn(cid, 2, "caller", "1", source="dtmf", reply_ms=35.0)
    call = await store.calls.get(cid)
    assert call.ended_at is None and call.end_reason is None
    await store.calls.close(cid, "hangup", ended_at=t0 + timedelta(seconds=30))
    await store.calls.close(cid, "hangup", ended_at=t0 + timedelta(seconds=30))  # twice is fine
    call = await store.calls.get(cid)
    assert call.started_at == t0 and call.ended_at == t0 + timedelta(seconds=30)
    assert (call.media_mode, call.script_name, call.script_version, call.end_reason) == ("agi", "layanan", "9f2c", "hangup")
    assert call.caller == "0812*****890"
    assert [(t.index, t.who, t.source, t.text) for t in call.turns] == [
        (0, "system", "prompt", "Selamat datang di layanan"),
        (1, "caller", "speech", "mau bikin KTP"),
        (2, "caller", "dtmf", "1"),
    ]
    t1 = call.turns[1]
    assert (t1.intent, t1.confidence, t1.asr_ms, t1.reply_ms) == ("ktp_baru", 0.91, 312.5, 640.0)
    assert call.turns[2].reply_ms == 35.0
    assert [c.id for c in await store.calls.recent()] == [cid]
    with pytest.raises(StoreError):
        await store.calls.add_turn(cid, 3, "robot", "x")


async def test_many_concurrent_calls(store):
    async def one(i):
        cid = await store.calls.create(caller=f"08123456{i:04d}")
        for k in range(3):
            await store.calls.add_turn(cid, k, "caller" if k % 2 else "system", f"giliran {k}")
        await store.calls.close(cid, "hangup")
        return cid

    ids = await asyncio.gather(*(one(i) for i in range(20)))
    calls = await store.calls.recent(limit=100)
    assert sorted(c.id for c in calls) == sorted(ids)
    assert all(c.end_reason == "hangup" for c in calls)
    assert len(await store.calls.turns(ids[7])) == 3


# ----------------------------------------------------------------------------- ticket ids

def test_ticket_id_format_and_check_digit():
    tid = make_ticket_id("2611", 42)
    assert len(tid) == 10 and tid.startswith("261100042") and damm(tid) == 0
    assert format_ticket_id(tid) == f"2611-00042-{tid[-1]}"
    assert parse_ticket_id(format_ticket_id(tid)) == tid
    assert parse_ticket_id(" 2611 00042 " + tid[-1]) == tid
    # every single-digit error and every adjacent swap is caught
    for i in range(10):
        for d in "0123456789":
            if d != tid[i]:
                assert parse_ticket_id(tid[:i] + d + tid[i + 1:]) is None
    for i in range(9):
        if tid[i] != tid[i + 1]:
            assert parse_ticket_id(tid[:i] + tid[i + 1] + tid[i] + tid[i + 2:]) is None
    assert parse_ticket_id("12345") is None and parse_ticket_id("abc") is None


# ----------------------------------------------------------------------------- tickets

async def test_ticket_lifecycle(store):
    filed = datetime(2026, 11, 27, 10, 0, tzinfo=WIB)  # a Friday
    cid = await store.calls.create(caller=PHONE)
    tid = await store.tickets.create(
        "complaint", category="infrastruktur", location="Jl. Merdeka dekat pasar",
        description="jalan berlubang besar", reporter_name=NAME, reporter_nik=NIK,
        reporter_phone=PHONE, confidential=True, call_id=cid, created_at=filed,
        extra={"when": "kemarin sore"},
    )
    assert tid[:4] == "2611" and tid[4:9] == "00001" and parse_ticket_id(tid) == tid
    t = await store.tickets.get(format_ticket_id(tid))
    assert (t.kind, t.status, t.category, t.location, t.description) == (
        "complaint", "open", "infrastruktur", "Jl. Merdeka dekat pasar", "jalan berlubang besar")
    assert t.confidential is True and t.call_id == cid and t.extra == {"when": "kemarin sore"}
    assert t.sla_due == date(2026, 12, 17)  # 14 working days, weekends skipped
    assert (t.reporter_name, t.reporter_nik, t.reporter_phone) == ("S*** A***", "3174**********01", "0812*****890")
    # where it happened, for the analytics: the district the reporter's NIK was issued in
    assert t.area_code == "31.74.01" and t.agency is None
    assert (await store.tickets.get(await store.tickets.create("complaint", area_code="32.04.12.2001",
                                                               reporter_nik=NIK))).area_code == "32.04.12.2001"
    assert (await store.tickets.get(await store.tickets.create("complaint", reporter_nik="1234"))).area_code is None
    assert [e.to_status for e in t.history] == ["open"]
    assert (await store.calls.get(cid)).tickets == (tid,)

    t = await store.tickets.update_status(tid, "in_progress", note="diteruskan ke DPUPR", actor="admin")
    t = await store.tickets.update_status(tid, "resolved", actor="admin")
    assert t.status == "resolved"
    assert [(e.from_status, e.to_status) for e in t.history] == [
        (None, "open"), ("open", "in_progress"), ("in_progress", "resolved")]
    assert t.history[1].note == "diteruskan ke DPUPR" and t.updated_at >= t.created_at
    with pytest.raises(StoreError, match="cannot move"):
        await store.tickets.update_status(tid, "rejected")
    with pytest.raises(StoreError, match="status must be"):
        await store.tickets.update_status(tid, "done")
    with pytest.raises(StoreError, match="unknown"):
        await store.tickets.update_status("2611000997", "closed")
    with pytest.raises(StoreError, match="kind"):
        await store.tickets.create("praise")


async def test_ticket_lookup_rejects_bad_numbers(store):
    tid = await store.tickets.create("callback", reporter_phone=PHONE)
    assert (await store.tickets.get(tid)).kind == "callback"
    wrong = tid[:-1] + str((int(tid[-1]) + 1) % 10)
    assert await store.tickets.get(wrong) is None
    other = make_ticket_id(tid[:4], 77)
    assert await store.tickets.get(other) is None


async def test_sla_uses_holidays_and_local_date(make_store, tmp_path):
    st = await make_store(holidays=[date(2026, 12, 1), date(2026, 12, 2)])
    # 2026-11-27 20:00 UTC is already Saturday 03:00 in Jakarta
    tid = await st.tickets.create("complaint", created_at=datetime(2026, 11, 27, 20, 0, tzinfo=timezone.utc))
    t = await st.tickets.get(tid)
    assert t.sla_due == date(2026, 12, 21)


async def test_ticket_numbers_unique_under_concurrency_and_idempotent(store):
    ids = await asyncio.gather(*(store.tickets.create("complaint", description=f"aduan {i}") for i in range(25)))
    assert len(set(ids)) == 25
    assert sorted(int(i[4:9]) for i in ids) == list(range(1, 26))
    again = await store.tickets.create("complaint", client_id="retry-1")
    assert await store.tickets.create("complaint", client_id="retry-1") == again
    assert await store.tickets.count() == 26
    assert len(await store.tickets.query(limit=10)) == 10
    await store.tickets.update_status(ids[0], "closed")
    assert [t.public_id for t in await store.tickets.query(status="closed")] == [ids[0]]
    assert await store.tickets.query(kind="callback") == []


async def test_new_month_restarts_serials(store):
    a = await store.tickets.create("complaint", created_at=datetime(2026, 11, 30, 12, tzinfo=WIB))
    b = await store.tickets.create("complaint", created_at=datetime(2026, 12, 1, 8, tzinfo=WIB))
    assert (a[:9], b[:9]) == ("261100001", "261200001")


# ----------------------------------------------------------------------------- hand-off

async def test_handoff_and_context(store):
    cid = await store.calls.create(caller=PHONE)
    hid = await store.handoffs.record(cid, "hotline", reason="caller_asked")
    assert (await store.calls.get(cid)).handoff_outcome == "pending"
    connected = datetime(2026, 11, 27, 3, 0, 5, tzinfo=timezone.utc)
    await store.handoffs.update(hid, outcome="connected", agent="PJSIP/agent-7", connected_at=connected)
    (h,) = await store.handoffs.of_call(cid)
    assert (h.queue, h.reason, h.agent, h.connected_at, h.outcome) == (
        "hotline", "caller_asked", "PJSIP/agent-7", connected, "connected")
    assert (await store.calls.get(cid)).handoff_outcome == "connected"
    with pytest.raises(StoreError):
        await store.handoffs.update(hid, outcome="teleported")

    ctx = {"transcript": [{"who": "caller", "text": f"NIK saya {NIK}"}], "intent": "ktp_hilang",
           "slots": {"nama": NAME, "kecamatan": "Tebet"}, "ticket": None, "caller": PHONE}
    await store.handoffs.save_context(cid, ctx)
    got = await store.handoffs.context(cid)
    assert got["transcript"][0]["text"] == "NIK saya [NIK]"
    assert got["slots"] == {"nama": "[REDACTED]", "kecamatan": "Tebet"} and got["caller"] == "[REDACTED]"
    assert got["intent"] == "ktp_hilang"
    # mask mode keeps nothing recoverable
    assert await store.handoffs.context(cid, reveal=True) == got
    await store.handoffs.save_context(cid, {"intent": "lain"})  # replaces
    assert await store.handoffs.context(cid) == {"intent": "lain"}
    assert await store.handoffs.context("no-such-call") is None


# ----------------------------------------------------------------------------- personal data

def _dump_all(store) -> str:
    out = []
    with store.database.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                out.append(" ".join(str(v) for v in row))
    return "\n".join(out)


async def _file_everything(st):
    cid = await st.calls.create(caller=PHONE)
    await st.calls.add_turn(cid, 0, "caller", f"nik saya {NIK} nomor {PHONE}")
    await st.handoffs.save_context(cid, {"caller": PHONE, "slots": {"nik": NIK, "name": NAME}})
    tid = await st.tickets.create("complaint", description=f"pelapor {NIK} bisa dihubungi {PHONE}",
                                 reporter_name=NAME, reporter_nik=NIK, reporter_phone=PHONE,
                                 extra={"nik": NIK}, call_id=cid)
    return cid, tid


@pytest.mark.parametrize("mode", ["mask", "encrypt"])
async def test_no_personal_data_in_clear_in_the_database(make_store, tmp_path, mode):
    st = await make_store(pii=Pii(mode, PII_TEST_KEY))
    cid, tid = await _file_everything(st)
    dump = _dump_all(st)
    for secret in (NIK, PHONE, "Siti", "Aminah", "6281234567890"):
        assert secret not in dump
    t = await st.tickets.get(tid, reveal=True)
    ctx = await st.handoffs.context(cid, reveal=True)
    call = await st.calls.get(cid, reveal=True)
    if mode == "encrypt":
        assert (t.reporter_name, t.reporter_nik, t.reporter_phone) == (NAME, NIK, PHONE)
        assert t.description == f"pelapor {NIK} bisa dihubungi {PHONE}" and t.extra == {"nik": NIK}
        assert ctx == {"caller": PHONE, "slots": {"nik": NIK, "name": NAME}}
        assert call.caller == PHONE and call.turns[0].text == f"nik saya {NIK} nomor {PHONE}"
        assert t.revealed
    else:
        assert t.reporter_nik == "3174**********01" and not t.revealed
        assert call.turns[0].text == "nik saya [NIK] nomor [PHONE]"
    # search by keyed hash works in both modes when a key is configured, any phone spelling
    assert [x.public_id for x in await st.tickets.query(reporter_phone="+62 812-3456-7890")] == [tid]
    assert [x.public_id for x in await st.tickets.query(reporter_nik=NIK)] == [tid]
    assert await st.tickets.query(reporter_nik="3174012345670002") == []


async def test_search_without_key_is_refused(store):
    with pytest.raises(StoreError, match="IVR_PII_KEY"):
        await store.tickets.query(reporter_phone=PHONE)


# ----------------------------------------------------------------------------- retention

async def test_purge_older_than(store, tmp_path):
    now = datetime(2026, 11, 28, 3, 0, tzinfo=timezone.utc)
    rec = tmp_path / "recordings"
    rec.mkdir(exist_ok=True)
    old_wav, new_wav, stray = rec / "old-1.wav", rec / "new-1.wav", rec / "stray.wav"
    for p in (old_wav, new_wav, stray):
        p.write_bytes(b"RIFF")
    old_ts = (now - timedelta(days=120)).timestamp()
    os.utime(stray, (old_ts, old_ts))

    old_start = now - timedelta(days=100)
    old = await store.calls.create(caller=PHONE, started_at=old_start)
    await store.calls.add_turn(old, 0, "caller", "lama", at=old_start, audio_path=str(old_wav))
    await store.handoffs.save_context(old, {"intent": "x"})
    old_ticket = await store.tickets.create("complaint", description="lama", call_id=old, created_at=old_start)
    new = await store.calls.create(caller=PHONE, started_at=now - timedelta(days=2))
    await store.calls.add_turn(new, 0, "caller", "baru", at=now - timedelta(days=2), audio_path=str(new_wav))

    res = await store.purge_older_than(90, now=now)
    assert (res.turns, res.calls, res.files) == (1, 1, 2)
    assert res.cutoff == now - timedelta(days=90)
    assert not old_wav.exists() and not stray.exists() and new_wav.exists()
    old_call = await store.calls.get(old)
    assert old_call.turns == () and old_call.purged and old_call.caller == "0812*****890"
    assert await store.handoffs.context(old) is None
    assert [t.text for t in (await store.calls.get(new)).turns] == ["baru"]
    assert (await store.tickets.get(old_ticket)).description == "lama"  # tickets are case records
    again = await store.purge_older_than(90, now=now)
    assert (again.turns, again.calls, again.files) == (0, 0, 0)


async def test_naive_datetimes_are_refused(store):
    with pytest.raises(ValueError):
        await store.calls.create(started_at=datetime(2026, 1, 1))
