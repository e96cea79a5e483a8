"""The live desk against the Asterisk peer's AMI server and a real store: screen pop to the
right agent, unknown members, AMI drop and QueueStatus recovery, queue login/pause from the desk
and from the phone, callbacks dialled by Originate (and refused numbers), slow browsers dropped,
Last-Event-ID resume, figures, and two processes sharing PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import uuid

import pytest

from ivr.config.settings import load_settings
from ivr.desk import Desk, DeskEvent
from ivr.desk.bus import RedisBus
from ivr.desk.dialler import check_number
from ivr.desk.service import DeskError
from ivr.privacy.keyfile import load_or_create_key
from ivr.privacy.pii import Pii
from ivr.storage import Store
from ivr.web import create_app
from telephony import AmiClient
from telephony.peer import AmiServer
from tests.conftest import PII_TEST_KEY
from tests.waiting import eventually

REDIS_URL = os.environ.get("IVR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def _events(sub, into: list) -> None:
    async for ev in sub.events():
        into.append(ev)


class Rig:
    def __init__(self, tmp_path, store: Store | None = None, **settings) -> None:
        self.tmp_path = tmp_path
        self.settings = load_settings(data_dir=tmp_path / "var", office_hours=settings.pop("office_hours", "always"),
                                      agent_queues=["hotline"], log_level="WARNING", **settings)
        self.store = store
        self.own_store = store is None
        self.tasks: list[asyncio.Task] = []

    async def start(self, *, server: AmiServer | None = None, bus=None) -> "Rig":
        if self.store is None:
            self.store = Store(f"sqlite:///{self.tmp_path / 'ivr.sqlite3'}", pii=Pii("mask", PII_TEST_KEY))
            await self.store.amigrate()
        self.server = server or AmiServer(queues=("hotline",), login_failure_delay=0.05)
        if server is None:
            await self.server.start()
        self.ami = AmiClient("127.0.0.1", self.server.port, "ivr", "ivrsecret", backoff_initial=0.05,
                             backoff_max=0.2)
        await self.ami.connect()
        self.desk = await Desk(self.settings, self.store, ami=self.ami, bus=bus, board_interval_s=0.02,
                               live_interval_s=0.1, figures_interval_s=0.1, housekeeping_interval_s=3600).start()
        return self

    def watch(self, user: str, role: str = "agent", **kw) -> list[DeskEvent]:
        got: list[DeskEvent] = []
        sub = self.desk.hub.subscribe(user, role, **kw)
        self.tasks.append(asyncio.create_task(_events(sub, got)))
        return got

    async def close(self, *, server: bool = True) -> None:
        for t in self.tasks:
            t.cancel()
        await self.desk.close()
        await self.ami.close()
        if server:
            await self.server.close()
        if self.own_store:
            await self.store.close()


@pytest.fixture
async def rig(tmp_path):
    r = await Rig(tmp_path).start()
    try:
        yield r
    finally:
        await r.close()


async def _handed_over_call(store: Store, caller: str = "081234567890") -> str:
    cid = await store.calls.create(caller=caller, channel_id=f"chan-{uuid.uuid4().hex[:8]}")
    await store.calls.add_turn(cid, 0, "system", "Ada yang bisa kami bantu?", source="prompt")
    await store.calls.add_turn(cid, 1, "caller", "jalan di depan rumah saya rusak", source="speech",
                               intent="pengaduan_jalan", confidence=0.62)
    await store.handoffs.save_context(cid, {"call_id": cid, "intent": "pengaduan_jalan", "reason": "low_confidence",
                                            "slots": {"kelurahan": "Menteng"}, "queue": "hotline"})
    await store.handoffs.record(cid, "hotline", reason="low_confidence")
    return cid


def _agent_connect(server: AmiServer, call_id: str | None, interface: str, member: str, uniqueid: str = "u-1",
                   hold: int = 7) -> None:
    chan = [("ChanVariable", f"IVR_CALL_ID={call_id}")] if call_id else []
    server.emit("AgentConnect", ("Privilege", "agent,all"), ("Channel", "PJSIP/trunk-00000001"),
                ("Uniqueid", uniqueid), ("Linkedid", uniqueid), *chan, ("Queue", "hotline"),
                ("Interface", interface), ("MemberName", member), ("HoldTime", str(hold)), ("RingTime", "2"))


def _kinds(events: list[DeskEvent], kind: str) -> list[DeskEvent]:
    return [e for e in events if e.kind == kind]


# ------------------------------------------------------------------ screen pop

async def test_agent_connect_pops_the_call_on_the_right_desk_only(rig):
    store = rig.store
    await store.desk.map_agent("rina", "agent1")
    await store.desk.map_agent("budi", "agent2")
    await rig.desk.reload_agents()
    earlier = await store.calls.create(caller="0812-3456-7890")
    old_ticket = await store.tickets.create("complaint", category="air", reporter_phone="081234567890")
    cid = await _handed_over_call(store)
    rina, budi = rig.watch("rina"), rig.watch("budi")
    _agent_connect(rig.server, cid, "PJSIP/agent1", "rina", hold=7)
    pops = await eventually(lambda: _kinds(rina, "pop"), "rina's pop")
    p = pops[0].data
    assert p["known"] and p["call_id"] == cid and p["purpose"] == "pengaduan_jalan"
    assert p["reason"] == "low_confidence" and p["slots"] == {"kelurahan": "Menteng"} and p["hold_s"] == 7
    caller_turn = next(t for t in p["transcript"] if t["who"] == "caller")
    assert caller_turn["confidence"] == 0.62 and caller_turn["audio"] is False
    assert p["recordings"] == 0 and "tidak tersedia" in p["recordings_message"]
    # earlier call and ticket of the same number, found by keyed hash; the number stays masked
    assert {(h["kind"], h["id"]) for h in p["history"]} == {("call", earlier), ("ticket", old_ticket)}
    assert "081234567890" not in str(p) and p["caller"].startswith("0812")
    assert rig.desk.active_pop("rina")["call_id"] == cid
    await asyncio.sleep(0.1)
    assert not _kinds(budi, "pop")
    assert len(rig.desk.pop_latencies) == 1


async def test_a_busy_database_still_pops_what_ami_says(rig, monkeypatch):
    from ivr.storage import StoreUnavailable

    await rig.store.desk.map_agent("rina", "agent1")
    await rig.desk.reload_agents()
    cid = await _handed_over_call(rig.store)
    rina = rig.watch("rina")

    real, failures = rig.desk._read_pop, [1, 1]

    async def busy_then_back(call_id, uid):
        if failures:
            failures.pop()
            raise StoreUnavailable("database unavailable (recently failed)")
        return await real(call_id, uid)

    monkeypatch.setattr(rig.desk, "_read_pop", busy_then_back)
    rig.desk.pop_retry_interval_s = 0.05
    _agent_connect(rig.server, cid, "PJSIP/agent1", "rina", hold=9)
    p = (await eventually(lambda: _kinds(rina, "pop"), "rina's pop"))[0].data
    assert p["call_id"] == cid and p["hold_s"] == 9 and p["queue"] == "hotline" and p["known"] is False
    assert p["degraded"] is True and "basis data sibuk" in p["message"]
    # once the database answers again, the whole pop follows (the first retry failed too)
    full = (await eventually(lambda: _kinds(rina, "pop")[1:], "the pop with its context"))[0].data
    assert full["known"] is True and full["purpose"] == "pengaduan_jalan" and full["hold_s"] == 9
    assert rig.desk.active_pop("rina")["known"] is True and not failures


async def test_member_name_is_the_username_without_a_mapping_and_unknown_members_are_logged(rig, caplog):
    cid = await _handed_over_call(rig.store)
    sari = rig.watch("sari")
    with caplog.at_level(logging.WARNING, logger="ivr.desk.service"):
        _agent_connect(rig.server, cid, "PJSIP/nobody", "stranger")
        _agent_connect(rig.server, "no-such-call", "PJSIP/agent9", "sari", uniqueid="u-x")
        pops = await eventually(lambda: _kinds(sari, "pop"), "sari's pop")
    assert pops[0].data["known"] is False and "tanpa konteks" in pops[0].data["message"]
    assert any("mapped to no staff account" in r.getMessage() for r in caplog.records)
    assert any("does not know" in r.getMessage() for r in caplog.records)
    # the desk carries on
    _agent_connect(rig.server, cid, "PJSIP/agent9", "sari", uniqueid="u-y")
    await eventually(lambda: len(_kinds(sari, "pop")) == 2, "a second pop")


async def test_pop_finds_the_call_by_channel_when_the_variable_is_missing(rig):
    cid = await _handed_over_call(rig.store)
    chan = (await rig.store.calls.get(cid)).channel_id
    got = rig.watch("rina")
    _agent_connect(rig.server, None, "PJSIP/agent1", "rina", uniqueid=chan)
    pops = await eventually(lambda: _kinds(got, "pop"), "the pop")
    assert pops[0].data["call_id"] == cid and pops[0].data["known"]


# ------------------------------------------------------------------ agent state

async def test_login_pause_and_phone_side_changes_follow_on_the_board(rig):
    await rig.store.desk.map_agent("rina", "agent1")
    got = rig.watch("rina")
    assert await rig.desk.queue_login("rina") == ["hotline"]
    assert "PJSIP/agent1" in rig.server.queues["hotline"]
    assert rig.server.queues["hotline"]["PJSIP/agent1"].name == "rina"

    def state(name: str):
        boards = _kinds(got, "board")
        if not boards:
            return None
        a = [x for x in boards[-1].data["agents"] if x["name"] == name]
        return a[0]["state"] if a else None

    await eventually(lambda: state("rina") == "available", "rina available")
    await rig.desk.pause("rina", True, "makan")
    await eventually(lambda: state("rina") == "paused", "rina paused")
    board = _kinds(got, "board")[-1].data
    assert [a["reason"] for a in board["agents"] if a["name"] == "rina"] == ["makan"]
    # the phone (or another AMI client) unpauses: the desk follows
    await rig.ami.action("QueuePause", Interface="PJSIP/agent1", Paused="false")
    await eventually(lambda: state("rina") == "available", "unpaused from the phone")
    await rig.desk.queue_logout("rina")
    await eventually(lambda: state("rina") == "logged_out", "rina logged out")
    with pytest.raises(DeskError, match="belum didaftarkan"):
        await rig.desk.queue_login("nobody")


async def test_queue_login_uses_the_queues_of_the_phone_mapping(tmp_path):
    server = AmiServer(queues=("hotline", "pengaduan"), login_failure_delay=0.05)
    await server.start()
    r = await Rig(tmp_path).start(server=server)
    try:
        await r.store.desk.map_agent("rina", "agent1", queues=["pengaduan"])
        await r.store.desk.map_agent("budi", "agent2")
        assert await r.desk.queue_login("rina") == ["pengaduan"]
        assert await r.desk.queue_login("budi") == ["hotline"]      # no queues on the mapping: the configured ones
        assert "PJSIP/agent1" in server.queues["pengaduan"] and "PJSIP/agent1" not in server.queues["hotline"]
        assert "PJSIP/agent2" in server.queues["hotline"]
    finally:
        await r.close()


# ------------------------------------------------------------------ AMI drop and recovery

async def test_ami_drop_shows_on_the_board_and_queue_status_restores_it(rig):
    await rig.store.desk.map_agent("rina", "agent1")
    await rig.desk.queue_login("rina")
    got = rig.watch("rina")
    await eventually(lambda: rig.desk.board.members, "the member")
    # while we are away, the member is paused on the phone: only QueueStatus can tell us
    await rig.server.drop_connections()
    await eventually(lambda: _kinds(got, "board") and _kinds(got, "board")[-1].data["ami"] is False,
                     "the board to say AMI is down")
    assert _kinds(got, "board")[-1].data["ami_label"] == "AMI terputus"
    rig.server.queues["hotline"]["PJSIP/agent1"].paused = True
    rig.server.queues["hotline"]["PJSIP/agent1"].reason = "rapat"
    logins = rig.server.logins
    await eventually(lambda: rig.server.logins > logins and rig.ami.connected, "the reconnect")
    await eventually(lambda: _kinds(got, "board")[-1].data["ami"] is True, "the board back")
    board = _kinds(got, "board")[-1].data
    assert [(a["state"], a["reason"]) for a in board["agents"] if a["name"] == "rina"] == [("paused", "rapat")]
    assert any(a.name.lower() == "queuestatus" for a in rig.server.actions)


# ------------------------------------------------------------------ callbacks

async def test_callback_is_dialled_by_originate_and_closes_the_request(rig):
    store = rig.store
    await store.desk.map_agent("rina", "agent1")
    pid = await store.tickets.create("callback", reporter_phone="+62 812-3456-7890")
    t = await store.tickets.get(pid)
    assert "3456" not in t.reporter_phone and t.reporter_phone.endswith("890")   # staff see it masked
    [item] = await store.desk.callbacks()
    assert item.dialable and item.phone_masked == t.reporter_phone
    got = rig.watch("rina")
    attempt = await rig.desk.call_back(pid, "rina")
    orig = await eventually(lambda: rig.server.originations, "the Originate")
    o = orig[0]
    assert o.channel == "Local/agent1@hotline-agent-ring" and o.context == "hotline-callback"
    assert o.exten == "081234567890" and o.variables == {"IVR_CALLBACK_ID": attempt}
    assert o.caller_id == '"Hotline" <hotline>'
    sent = next(a for a in rig.server.actions if a.name == "Originate")
    assert sent["Async"] == "true" and sent["Timeout"] == "30000" and sent["Priority"] == "1"

    async def closed() -> bool:
        return (await store.tickets.get(pid)).status == "resolved"

    await eventually(closed, "the request closed")
    tries = await store.desk.attempts(pid)
    assert [x.outcome for x in tries] == ["answered"] and tries[0].agent == "rina"
    # the desk's event follows the stored outcome: wait for it, not only for the ticket
    outcomes = await eventually(lambda: [e.data["outcome"] for e in _kinds(got, "callback")
                                         if e.data["outcome"] != "dialling"], "the answered event")
    assert outcomes == ["answered"]
    assert await store.desk.callbacks() == []


async def test_unanswered_callback_is_retried_in_office_hours_only(tmp_path):
    r = await Rig(tmp_path, callback_retry_minutes=1).start()
    try:
        r.server.callback_outcomes["081311112222"] = "NOANSWER"
        await r.store.desk.map_agent("rina", "agent1")
        await r.desk.queue_login("rina")
        await eventually(lambda: r.desk.board.members, "rina in the queue")
        pid = await r.store.tickets.create("callback", reporter_phone="081311112222")
        await r.desk.call_back(pid, "rina")

        async def outcome():
            tries = await r.store.desk.attempts(pid)
            return tries and tries[-1].outcome == "no_answer"

        await eventually(outcome, "no answer recorded")
        assert await r.desk.retry_callbacks() == 0          # too early
        from datetime import timedelta
        later = r.store.clock() + timedelta(minutes=2)
        r.desk.clock = lambda: later
        r.store.desk.clock = lambda: later
        assert await r.desk.retry_callbacks() == 1
        await eventually(lambda: len(r.server.originations) == 2, "the retry")
        r.desk.hours = load_settings(office_hours="never").hours()
        later2 = later + timedelta(minutes=5)
        r.desk.clock = lambda: later2
        assert await r.desk.retry_callbacks() == 0          # closed: waits for the morning
    finally:
        await r.close()


@pytest.mark.parametrize("raw, reason", [
    ("112", "darurat"), ("119", "darurat"), ("110", "darurat"), ("1500123", "pendek"),
    ("0809123456", "premium"), ("0812345", "Panjang"), ("0812abc4567", "tidak valid"), ("", "tidak tersedia"),
    ("+1 415 555 0100", "luar negeri"),
])
def test_barred_and_malformed_numbers_are_refused_with_a_reason(raw, reason):
    c = check_number(raw)
    assert not c.ok and reason in c.reason


@pytest.mark.parametrize("raw, national", [("081234567890", "081234567890"), ("+62 812-3456-7890", "081234567890"),
                                           ("6281234567890", "081234567890"), ("(021) 5551234", "0215551234")])
def test_dialable_numbers_in_national_form(raw, national):
    c = check_number(raw)
    assert c.ok and c.number == national


async def test_refused_number_is_recorded_as_an_attempt(rig):
    await rig.store.desk.map_agent("rina", "agent1")
    pid = await rig.store.tickets.create("callback", reporter_phone="112")
    with pytest.raises(DeskError, match="darurat"):
        await rig.desk.call_back(pid, "rina")
    assert [a.outcome for a in await rig.store.desk.attempts(pid)] == ["invalid"]
    assert rig.server.originations == []


def test_pii_key_file_is_created_private_and_reused(tmp_path):
    path = tmp_path / "keys" / "pii.key"
    key = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key
    os.chmod(path, 0o644)
    with pytest.raises(ValueError, match="readable by others"):
        load_or_create_key(path)


async def test_fresh_install_keeps_callback_numbers_dialable(tmp_path, monkeypatch):
    monkeypatch.delenv("IVR_PII_KEY", raising=False)
    settings = load_settings(data_dir=tmp_path / "var")
    store = Store.from_settings(settings)
    await store.amigrate()
    try:
        pid = await store.tickets.create("callback", reporter_phone="081234567890")
        assert (tmp_path / "var" / "keys" / "pii.key").exists()
        assert await store.desk.callback_number(pid) == "081234567890"
        assert (await store.tickets.get(pid, reveal=True)).reporter_phone == "0812*****890"  # mask mode
    finally:
        await store.close()


# ------------------------------------------------------------------ the hub

async def test_a_slow_browser_is_dropped_and_resyncs_while_others_keep_up(rig):
    fast = rig.watch("budi")
    slow = rig.desk.hub.subscribe("rina", "agent", max_buffer=3)   # never read
    for i in range(10):
        rig.desk.hub.deliver(DeskEvent("ticket", {"n": i}))
    assert slow.dropped and rig.desk.hub.dropped == 1
    await eventually(lambda: len(_kinds(fast, "ticket")) == 10, "the fast browser")
    assert rig.desk.hub.missed("not-an-id", "rina", "agent") is None        # -> snapshot
    snap = rig.desk.snapshot("rina", "agent")
    assert snap.kind == "snapshot" and "board" in snap.data


async def test_last_event_id_resumes_with_only_what_was_missed(rig):
    hub = rig.desk.hub
    first = hub.deliver(DeskEvent("ticket", {"n": 1}))
    hub.deliver(DeskEvent("pop", {"n": 2}, "agent:budi"))
    hub.deliver(DeskEvent("ticket", {"n": 3}))
    missed = hub.missed(first.id, "rina", "agent")
    assert [e.data["n"] for e in missed] == [3]                       # budi's pop is not rina's
    assert [e.data["n"] for e in hub.missed(first.id, "budi", "agent")] == [2, 3]
    assert hub.missed("ffffff-1", "rina", "agent") is None            # another process / earlier run


# ------------------------------------------------------------------ figures

async def test_day_figures_count_calls_waits_and_complaints(rig):
    store = rig.store
    a = await _handed_over_call(store)
    b = await store.calls.create(caller="081299990000")
    await store.calls.close(b, "goodbye")
    [h] = await store.handoffs.of_call(a)
    await store.handoffs.update(h.id, outcome="connected", agent="rina", hold_s=12, talk_s=40)
    c = await _handed_over_call(store)
    [h2] = await store.handoffs.of_call(c)
    await store.handoffs.update(h2.id, outcome="abandoned", hold_s=30)
    await store.tickets.create("complaint", category="jalan", call_id=a)
    await rig.desk.refresh_figures()
    f = rig.desk.model()["figures"]
    assert f["calls"] == 3 and f["self_service"] == 1 and f["transfers"] == 2 and f["abandoned"] == 1
    assert f["answered"] == 1 and f["answered_within_20s"] == 1 and f["avg_wait_s"] == 21.0
    assert f["longest_wait_s"] == 30 and f["complaints_filed"] == 1
    assert rig.desk._agent_day == {"rina": (1, 40)}


async def test_overdue_tickets_escalate_to_supervisors(rig):
    from datetime import timedelta
    pid = await rig.store.tickets.create("complaint", category="jalan")
    await rig.store.desk.assign(pid, assign_queue="infrastruktur", owner="rina",
                                sla_due_at=rig.store.clock() - timedelta(hours=1))
    sup, agent = rig.watch("sinta", "supervisor"), rig.watch("rina")
    assert await rig.desk.escalate() == [pid]
    assert await rig.desk.escalate() == []                             # once
    await eventually(lambda: _kinds(sup, "alert"), "the supervisor's alert")
    await asyncio.sleep(0.05)
    assert not _kinds(agent, "alert")
    assert (await rig.store.desk.assignment(pid))["escalated_at"] is not None


# ------------------------------------------------------------------ two processes

@pytest.fixture
async def pg_store():
    from tests.conftest import PG_URL, _drop_schema, pg_skip_reason
    reason = pg_skip_reason()
    if reason:
        pytest.skip(reason)
    schema = f"dk_{uuid.uuid4().hex[:8]}"
    stores = [Store(PG_URL, schema=schema, pii=Pii("mask", PII_TEST_KEY)) for _ in range(2)]
    await stores[0].amigrate()
    try:
        yield stores
    finally:
        for s in stores:
            await s.close()
        _drop_schema(schema)


async def test_two_processes_share_events_through_redis_and_postgresql(tmp_path, pg_store):
    redis = pytest.importorskip("redis")
    try:
        r = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        r.ping()
        r.close()
    except Exception as exc:
        pytest.skip(f"Redis not reachable: {exc}")
    server = AmiServer(queues=("hotline",), login_failure_delay=0.05)
    await server.start()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Rig(tmp_path / "a", store=pg_store[0])
    b = Rig(tmp_path / "b", store=pg_store[1])
    live_a = [("c1", "main_menu"), ("c2", "ask_location")]
    await a.start(server=server, bus=RedisBus(REDIS_URL))
    a.desk.live_calls = lambda: live_a
    await b.start(server=server, bus=RedisBus(REDIS_URL))
    try:
        on_b = b.watch("rina")
        # a call handed over through A pops on rina's desk, which is open on B
        cid = await _handed_over_call(a.store)
        await a.store.desk.map_agent("rina", "agent1")
        _agent_connect(server, cid, "PJSIP/agent1", "rina")
        pops = await eventually(lambda: _kinds(on_b, "pop"), "the pop on B")
        assert pops[0].data["call_id"] == cid
        # what only A knows reaches B: a ticket filed through A, A's live calls
        await a.desk.publish(DeskEvent("ticket", {"ticket": "2612000017", "what": "filed"}))
        await eventually(lambda: _kinds(on_b, "ticket"), "the ticket event on B")
        await eventually(lambda: b.desk.model()["calls"]["by_state"] == {"main_menu": 1, "ask_location": 1},
                         "A's live calls on B's wallboard")
        # A goes away: B keeps its own view, A's calls leave it once A's reports stop
        await a.close(server=False)
        await eventually(lambda: b.desk.model()["calls"]["in_dialog"] == 0, "A's calls to expire")
        assert b.desk.model()["ami"] is True
    finally:
        with __import__("contextlib").suppress(Exception):
            await a.close(server=False)
        await b.close(server=False)
        await server.close()


async def test_pop_read_while_the_caller_waits_is_the_one_sent_at_connect(rig):
    cid = await _handed_over_call(rig.store)
    got = rig.watch("rina")
    rig.server.emit("QueueCallerJoin", ("Privilege", "agent,all"), ("Uniqueid", "u-9"), ("Linkedid", "u-9"),
                    ("ChanVariable", f"IVR_CALL_ID={cid}"), ("Queue", "hotline"), ("Position", "1"), ("Count", "1"))
    await eventually(lambda: "u-9" in rig.desk._prefetched and rig.desk._prefetched["u-9"].done(), "the prefetch")
    _agent_connect(rig.server, cid, "PJSIP/agent1", "rina", uniqueid="u-9", hold=11)
    pops = await eventually(lambda: _kinds(got, "pop"), "the pop")
    p = pops[0].data
    assert p["known"] and p["call_id"] == cid and p["hold_s"] == 11 and p["queue"] == "hotline"
    assert p["member"] == "PJSIP/agent1" and p["purpose"] == "pengaduan_jalan"
    assert "u-9" not in rig.desk._prefetched


def test_cli_maps_an_agent_to_a_phone(tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from ivr.cli import desk_cmds

    for k in ("IVR_CONFIG_FILE", "IVR_PII_KEY", "IVR_DATABASE_URL"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("IVR_DATA_DIR", str(tmp_path))
    app = typer.Typer()
    desk_cmds.register(app)
    runner = CliRunner()
    r = runner.invoke(app, ["desk", "phone", "rina", "agent1"], catch_exceptions=False)
    assert r.exit_code == 0 and "PJSIP/agent1" in r.output
    r = runner.invoke(app, ["desk", "phone", "budi", "2002", "--queue", "pajak", "--queue", "hotline"],
                      catch_exceptions=False)
    assert r.exit_code == 0 and "(queues: pajak, hotline)" in r.output
    r = runner.invoke(app, ["desk", "phones"], catch_exceptions=False)
    assert r.output.split() == ["budi", "PJSIP/2002", "pajak,hotline", "rina", "PJSIP/agent1", "(agent_queues)"]
    assert runner.invoke(app, ["desk", "phone", "rina", "bad ext!"]).exit_code != 0
    assert runner.invoke(app, ["desk", "unphone", "budi"], catch_exceptions=False).exit_code == 0
    assert runner.invoke(app, ["desk", "unphone", "budi"], catch_exceptions=False).exit_code == 1
    r = runner.invoke(app, ["desk", "phones"], catch_exceptions=False)
    assert r.output.split() == ["rina", "PJSIP/agent1", "(agent_queues)"]


async def test_pages_and_api_by_role(rig):
    from ivr.web import create_app
    from tests.ivr.staff import api_token, asgi_client, make_account, sign_in

    app = create_app(rig.settings, rig.store, desk=rig.desk)
    agent, _ = await make_account(rig.store, "agent", "rina")
    sup, _ = await make_account(rig.store, "supervisor", "sinta")
    await rig.store.desk.map_agent("rina", "agent1")
    pid = await rig.store.tickets.create("callback", reporter_phone="081234567890")
    async with asgi_client(app) as c:
        assert (await c.get("/wallboard")).status_code == 303            # to the login page
        csrf = await sign_in(c, agent)
        assert (await c.get("/desk")).status_code == 200
        assert (await c.get("/wallboard")).status_code == 403
        # without the CSRF token a state change is refused; with it, the agent joins the queue
        assert (await c.post("/api/desk/queue", json={"action": "login"})).status_code == 403
        # one rule (ivr.web.auth): a same-site Origin is not a CSRF token
        r = await c.post("/api/desk/queue", json={"action": "login"}, headers={"Origin": "http://testserver"})
        assert r.status_code == 403
        r = await c.post("/api/desk/queue", json={"action": "login"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200 and r.json()["queues"] == ["hotline"]
        listed = (await c.get("/api/desk/callbacks")).json()
        assert listed["revealed"] is False and listed["callbacks"][0]["number"].endswith("890")
        assert "3456" not in listed["callbacks"][0]["number"]
    async with asgi_client(app, await api_token(rig.store, sup)) as c:
        assert (await c.get("/wallboard")).status_code == 200
        assert (await c.get("/api/desk/agents")).json()["agents"][0]["interface"] == "PJSIP/agent1"
        assert (await c.post("/api/desk/agents", json={"username": "x", "extension": "y"})).status_code == 403
    entries = await rig.store.audit.entries(limit=20)
    assert {"queue_login", "list_callbacks", "open_desk"} <= {e.action for e in entries}
    assert pid


async def test_without_a_live_desk_the_api_answers_503_after_the_login_checks(rig):
    from tests.ivr.staff import asgi_client, make_account, sign_in

    app = create_app(rig.settings, rig.store)          # no desk in this process
    agent, _ = await make_account(rig.store, "agent", "rina")
    async with asgi_client(app) as c:
        assert (await c.post("/api/desk/pause", json={"paused": True})).status_code == 401
        csrf = await sign_in(c, agent)
        assert (await c.post("/api/desk/pause", json={"paused": True})).status_code == 403   # CSRF first
        for method, url, body in (("POST", "/api/desk/queue", {"action": "login"}),
                                  ("POST", "/api/desk/pause", {"paused": True}),
                                  ("POST", "/api/desk/callbacks/2611000001/dial", None),
                                  ("GET", "/api/desk/state", None), ("GET", "/desk/events", None)):
            r = await c.request(method, url, json=body, headers={"X-CSRF-Token": csrf})
            assert r.status_code == 503 and "tidak berjalan" in r.json()["error"], url
        assert (await c.get("/desk")).status_code == 200     # the page says the desk is not live


def test_every_storable_attempt_outcome_has_staff_words():
    from ivr.storage.desk import ATTEMPT_OUTCOMES
    from ivr.storage.labels import ATTEMPT_OUTCOME_LABELS, label

    assert set(ATTEMPT_OUTCOME_LABELS) == set(ATTEMPT_OUTCOMES)
    assert label("no_answer", "attempt_outcome") == "Tidak diangkat" and label("busy", "attempt_outcome") == "Sibuk"


async def test_callback_list_says_the_last_attempt_in_staff_words(rig):
    from datetime import datetime, timezone

    from ivr.storage.desk import ATTEMPT_OUTCOMES
    from ivr.storage.labels import ATTEMPT_OUTCOME_LABELS
    from tests.ivr.staff import asgi_client, make_account, sign_in

    app = create_app(rig.settings, rig.store, desk=rig.desk)
    agent, _ = await make_account(rig.store, "agent", "rina")
    tickets = {}
    for i, outcome in enumerate((*ATTEMPT_OUTCOMES, None, "ringing_abroad")):
        pid = await rig.store.tickets.create("callback", reporter_phone=f"08131111{i:04d}")
        if outcome == "ringing_abroad":
            # a code this version does not know (written by a newer one): words, not a crash
            await rig.store.writes.write("callback_attempt", dict(
                id=str(uuid.uuid4()), public_id=pid, agent="rina", at=datetime.now(timezone.utc),
                outcome=outcome, reason=None, ended_at=None))
        elif outcome is not None:
            await rig.store.desk.record_attempt(pid, "rina", outcome, ended=True)
        tickets[pid] = outcome
    async with asgi_client(app) as c:
        await sign_in(c, agent)
        listed = {x["ticket"]: x for x in (await c.get("/api/desk/callbacks")).json()["callbacks"]}
    assert set(listed) == set(tickets)
    for pid, outcome in tickets.items():
        item = listed[pid]
        assert item["last_outcome"] == outcome                      # the code, for logic
        words = item["last_outcome_label"]
        if outcome in ATTEMPT_OUTCOMES:
            assert words == ATTEMPT_OUTCOME_LABELS[outcome]
        assert "_" not in words and words != outcome, (outcome, words)
        assert item["display_id"].count("-") == 2 and item["display_id"].replace("-", "") == pid
        assert len(item["promised_text"]) == len("07-12-2026 10:15")
    by_outcome = {o: listed[p]["last_outcome_label"] for p, o in tickets.items()}
    assert by_outcome["no_answer"] == "Tidak diangkat" and by_outcome["busy"] == "Sibuk"
    assert by_outcome[None] == "Belum dicoba" and by_outcome["ringing_abroad"] == "ringing abroad"


async def test_a_failed_callback_tells_the_agent_why_in_indonesian(rig):
    # the citizen's line is unavailable (DialStatus CHANUNAVAIL); then the agent's own phone is
    # not one Asterisk knows (OriginateResponse Failure, Reason 0): no Asterisk word reaches the agent
    store = rig.store
    await store.desk.map_agent("rina", "agent1")
    got = rig.watch("rina")
    rig.server.callback_outcomes["081311112222"] = "CHANUNAVAIL"
    pid = await store.tickets.create("callback", reporter_phone="081311112222")
    await rig.desk.call_back(pid, "rina")

    async def ended(n: int):
        done = [e.data for e in _kinds(got, "callback") if e.data["outcome"] != "dialling"]
        return done if len(done) == n else None

    [first] = await eventually(lambda: ended(1), "the unavailable line")
    assert first["outcome"] == "failed"
    assert first["reason"] == "Panggilan ke warga gagal: nomor tidak dapat dihubungi."
    rig.server.phones = {"agent9"}
    await rig.desk.call_back(pid, "rina")
    second = (await eventually(lambda: ended(2), "the agent's phone failing"))[1]
    assert second["outcome"] == "failed" and second["reason"] == "Telepon petugas tidak tersambung."
    for reason in [a.reason for a in await store.desk.attempts(pid)] + [first["reason"], second["reason"]]:
        assert reason is None or not any(w in reason for w in ("CHANUNAVAIL", "failed", "Asterisk", "(")), reason


async def test_an_originate_the_phone_system_refuses_is_told_to_the_agent_without_asterisk_words(rig, monkeypatch):
    # AMI answers the Originate with an error: the agent reads Indonesian, the log keeps the rest
    from telephony.ami import AmiError

    await rig.store.desk.map_agent("rina", "agent1")
    pid = await rig.store.tickets.create("callback", reporter_phone="081311112222")
    sent = rig.ami.action

    async def refuse(name, *args, **kwargs):
        if name == "Originate":
            raise AmiError("Permission denied")
        return await sent(name, *args, **kwargs)

    monkeypatch.setattr(rig.ami, "action", refuse)
    with pytest.raises(DeskError) as err:
        await rig.desk.call_back(pid, "rina")
    assert str(err.value) == "Sistem telepon menolak panggilan keluar. Silakan coba lagi sebentar lagi."
    [tried] = await rig.store.desk.attempts(pid)
    assert tried.outcome == "failed" and tried.reason == "Sistem telepon menolak panggilan keluar."


async def test_the_pop_names_the_out_of_scope_topic_a_caller_was_told(rig):
    """A caller turn told "di luar layanan" says which topic, in the live script's words (a
    topic the script no longer has: its name); the agent knows what the caller came for."""
    store = rig.store
    await store.desk.map_agent("rina", "agent1")
    await rig.desk.reload_agents()
    cid = await store.calls.create(caller="081234567890")
    await store.calls.add_turn(cid, 0, "caller", "saya mau perpanjang paspor", outcome="no_match", beyond="paspor")
    await store.calls.add_turn(cid, 1, "caller", "zakat fitrah", outcome="no_match", beyond="zakat_fitrah")
    await store.calls.add_turn(cid, 2, "caller", "petugas saja", intent="operator", outcome="accepted")
    await store.handoffs.record(cid, "hotline", reason="caller_asked")
    rina = rig.watch("rina")
    _agent_connect(rig.server, cid, "PJSIP/agent1", "rina")
    p = (await eventually(lambda: _kinds(rina, "pop"), "rina's pop"))[0].data
    assert [t["beyond"] for t in p["transcript"]] == ["Di luar layanan: Paspor dan imigrasi",
                                                      "Di luar layanan: Zakat fitrah", None]
