"""AmiClient and the simulated AMI server, including replays of the recorded AMI sessions."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from telephony import AmiAuthError, AmiClient, AmiConnectionLost, AmiError
from telephony.peer import AmiServer, QueueMember
from telephony.ami_codec import NEED_DATA, AmiCodec, AmiMessage

from tests.waiting import eventually

from .conftest import load_jsonl


async def server(**kw) -> AmiServer:
    kw.setdefault("login_failure_delay", 0.05)
    s = AmiServer(port=0, **kw)
    await s.start()
    return s


def client(s: AmiServer, secret: str = "ivrsecret", **kw) -> AmiClient:
    kw.setdefault("keepalive", None)
    return AmiClient("127.0.0.1", s.port, "ivr", secret, backoff_initial=0.05, **kw)


async def test_login_action_list_events():
    s = await server(queues=("hotline",))
    c = client(s)
    await c.connect()
    assert c.banner == "Asterisk Call Manager/11.0.0"
    pong = await c.action("Ping")
    assert pong["Ping"] == "Pong" and pong.is_response
    await c.action("QueueAdd", Queue="hotline", Interface="PJSIP/agent1", MemberName="Agen Satu")
    items = await c.list_action("QueueStatus", Queue="hotline")
    assert [i.name for i in items] == ["QueueParams", "QueueMember"]
    with pytest.raises(AmiError, match="Already there"):
        await c.action("QueueAdd", Queue="hotline", Interface="PJSIP/agent1")
    with pytest.raises(AmiError, match="Invalid/unknown command"):
        await c.action("NoSuchAction")
    await c.action("Setvar", Variable="G", Value="42")
    assert (await c.action("Getvar", Variable="G"))["Value"] == "42"
    await c.close()
    await s.close()


async def test_wrong_secret_is_a_clear_error_and_not_retried():
    s = await server()
    c = client(s, secret="wrong")
    with pytest.raises(AmiAuthError, match="Authentication failed"):   # the server's answer
        await c.connect()
    # Not retried: a retry would start after backoff_initial (0.05 s, +-20 %); the absence of
    # a second Login is checked over ten times that. (A window is the only way to see that
    # something does not happen; a correct client passes whatever the machine's speed.)
    await asyncio.sleep(0.5)
    assert [m.get("Action") for m in s.actions] == ["Login"]
    assert s.logins == 0 and not c.connected and c.reconnects == 0
    await s.close()


async def test_garbage_on_the_ami_port_is_a_clear_error(caplog):
    writers = []

    async def garbage(r, w):
        writers.append(w)
        w.write(b"\x16\x03\x01 definitely not AMI\r\n")
        await w.drain()

    srv = await asyncio.start_server(garbage, "127.0.0.1", 0)
    c = AmiClient("127.0.0.1", srv.sockets[0].getsockname()[1], "ivr", "x", keepalive=None)
    with caplog.at_level(logging.ERROR, logger="telephony.ami"):
        with pytest.raises(AmiError):
            await asyncio.wait_for(c.connect(), 30)
    assert "not an AMI banner" in caplog.text
    for w in writers:
        w.close()
    srv.close()
    await srv.wait_closed()


async def test_raising_callback_never_stops_delivery(caplog):
    s = await server()
    c = client(s)
    await c.connect()
    got, pat, asy = [], [], []

    def bad(msg):
        raise ValueError("callback bug")

    async def async_bad(msg):
        asy.append(msg.name)
        raise ValueError("async callback bug")

    c.on("AgentConnect", bad)
    c.on("agentconnect", got.append)
    c.on_pattern("Queue*", pat.append)
    c.on("AgentConnect", async_bad)
    with caplog.at_level(logging.ERROR, logger="telephony.ami"):
        for i in range(3):
            s.emit("AgentConnect", Queue="hotline", Interface=f"PJSIP/agent{i}")
            s.emit("QueueCallerJoin", Queue="hotline")
            s.emit("Newexten", Channel="x")
        await c.action("Ping")          # everything before the response has been dispatched
        # the async callbacks run as tasks: wait until all three have failed and been logged
        await eventually(lambda: caplog.text.count("async callback bug") >= 3, "three async failures logged")
    assert [m["Interface"] for m in got] == ["PJSIP/agent0", "PJSIP/agent1", "PJSIP/agent2"]
    assert [m.name for m in pat] == ["QueueCallerJoin"] * 3 and asy == ["AgentConnect"] * 3
    assert caplog.text.count("callback bug") >= 3
    await c.close()
    await s.close()


async def test_reconnect_fails_pending_actions_and_logs_in_again():
    s = await server(unanswered=("SlowAction",))
    c = client(s)
    await c.connect()
    events = []
    c.on("Custom", events.append)
    pending = asyncio.ensure_future(c.action("SlowAction"))
    pending_list = asyncio.ensure_future(c.list_action("SlowAction"))
    await eventually(lambda: [m.get("Action") for m in s.actions].count("SlowAction") == 2,
                     "both actions at the server")
    await s.drop_connections()
    with pytest.raises(AmiConnectionLost):
        await pending
    with pytest.raises(AmiConnectionLost):
        await pending_list
    with pytest.raises(AmiConnectionLost):
        await c.action("Ping")          # while down: fails at once, does not hang
    await c.wait_connected(5)
    assert (await c.action("Ping"))["Ping"] == "Pong"
    assert s.logins == 2 and c.reconnects == 1
    s.emit("Custom", N="1")
    await c.action("Ping")
    assert [e["N"] for e in events] == ["1"]
    await c.close()
    await s.close()


async def test_reconnect_backs_off_while_the_server_is_down(caplog):
    s = await server()
    port = s.port
    c = client(s)
    await c.connect()

    def waits() -> list[float]:
        return [float(x) for x in re.findall(r"reconnect to \S+ failed: .*; retrying in ([\d.]+)s", caplog.text)]

    with caplog.at_level(logging.WARNING, logger="telephony.ami"):
        await s.close()                 # server gone for a while: the client keeps trying ...
        await eventually(lambda: len(waits()) >= 3, "three failed reconnects")
        assert not c.connected
        assert waits()[:3] == [0.1, 0.2, 0.4]   # ... waiting twice as long each time (backoff_initial 0.05)
    s2 = AmiServer(port=port, login_failure_delay=0.05)
    await s2.start()
    await c.wait_connected(30)
    assert s2.logins == 1
    await c.close()
    await s2.close()


async def test_keepalive_detects_a_stuck_server():
    s = await server(unanswered=("Ping",))
    c = client(s, keepalive=0.1)
    await c.connect()
    await eventually(lambda: c.reconnects >= 1, "a reconnect after the unanswered keepalive Ping")
    assert s.logins >= 2
    await c.close()
    await s.close()


# -- the simulated AMI server against the recordings ------------------------------------------

def _messages(rows, direction):
    return [r for r in rows if r.get("dir") == direction and "data" in r]


async def _raw_session(port: int, actions: list[str]) -> list[AmiMessage]:
    r, w = await asyncio.open_connection("127.0.0.1", port)
    codec = AmiCodec()
    out = []
    for a in actions:
        w.write(a.encode())
    try:
        while True:
            data = await asyncio.wait_for(r.read(65536), 30)
            if not data:
                break
            codec.receive_data(data)
            while (m := codec.next_event()) is not NEED_DATA:
                out.append(m)
    finally:
        w.close()
    return out


@pytest.mark.parametrize("name", ["ami-actions.jsonl", "ami-login-failure.jsonl"])
async def test_ami_server_answers_like_asterisk(name):
    rows = load_jsonl(name)
    s = await server(queues=("agents",), secret="ivrsecret")
    s.queues["agents"]["Local/agent1@agent-sim/n"] = QueueMember("Local/agent1@agent-sim/n", "Agent One",
                                                                 membership="static")
    got = await _raw_session(s.port, [r["data"] for r in _messages(rows, "us->ast")])
    await s.close()
    recorded = AmiCodec()
    recorded.receive_data("".join(r["data"] for r in _messages(rows, "ast->us")).encode())
    rec = []
    while (m := recorded.next_event()) is not NEED_DATA:
        rec.append(m)
    rec_resp = {m.action_id: m for m in rec[1:] if m.is_response}
    got_resp = {m.action_id: m for m in got[1:] if m.is_response}
    assert rec[0] == got[0]                                  # the banner
    assert set(rec_resp) == set(got_resp)
    for aid, want in rec_resp.items():
        have = got_resp[aid]
        assert have.headers[:2] == want.headers[:2], aid     # Response + ActionID second
        assert have.get("Message") == want.get("Message"), aid
        assert have.keys() == want.keys() or want.get("Ping"), aid
        if want.get("Output", "").startswith("No such command"):
            assert have["Output"] == want["Output"]
        if want.get("Value") is not None:
            assert have["Value"] == want["Value"]
    for ev in ("QueueMemberAdded", "QueueMemberPause", "QueueMemberRemoved", "OriginateResponse",
               "RequestBadFormat", "FullyBooted"):
        assert (ev in {m.name for m in rec[1:] if m.is_event}) == (ev in {m.name for m in got[1:] if m.is_event}), ev
    lists = [m for m in got[1:] if m.get("EventList") == "Complete"]
    assert [(m.name, m["ListItems"]) for m in lists] == \
        [(m.name, m["ListItems"]) for m in rec[1:] if m.get("EventList") == "Complete"]


# -- AmiClient against the recorded Asterisk bytes ----------------------------------------------

def _segments(rows):
    """(recorded action, server messages that followed it until the next action)."""
    segs, cur_action, cur = [], None, []
    banner = None
    for r in rows:
        if "data" not in r:
            continue
        if r["dir"] == "us->ast":
            if cur_action is not None:
                segs.append((cur_action, cur))
            cur_action, cur = r["data"], []
        elif banner is None:
            banner = r["data"]
        else:
            cur.append(r["data"])
    segs.append((cur_action, cur))
    return banner, segs


async def _recorded_asterisk(name: str):
    rows = load_jsonl(name)
    banner, segs = _segments(rows)
    seen_actions = []

    async def handle(r, w):
        codec = AmiCodec("server")
        w.write(banner.encode())
        i = 0
        while i < len(segs):
            data = await r.read(65536)
            if not data:
                return
            codec.receive_data(data)
            while (m := codec.next_event()) is not NEED_DATA and i < len(segs):
                seen_actions.append(m)
                rec_action, replies = segs[i]
                rec_id = re.search(r"ActionID: (\S+)", rec_action).group(1)
                for reply in replies:
                    w.write(reply.replace(f"ActionID: {rec_id}\r\n", f"ActionID: {m.action_id}\r\n").encode())
                i += 1
        await w.drain()
        w.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    return srv, segs, seen_actions


async def test_client_against_recorded_call_transfer():
    srv, segs, seen = await _recorded_asterisk("ami-call-transfer.jsonl")
    c = AmiClient("127.0.0.1", srv.sockets[0].getsockname()[1], "ivr", "ivrsecret", keepalive=None, reconnect=False)
    every, agent = [], []
    c.on_pattern("*", every.append)
    c.on("AgentConnect", agent.append)
    c.on("Newexten", lambda m: 1 / 0)                      # a buggy subscriber
    await c.connect()
    orig = await c.action("Originate", Channel="Local/s@caller-sim/n", Context="ivr", Exten="s", Priority="1",
                          Async="true", Variable=["CALL_ID=fx-ami-call", "IVR_MODE=transfer"])
    assert orig["Message"] == "Originate successfully queued"
    chans = await c.list_action("CoreShowChannels")
    queue = await c.list_action("QueueStatus", Queue="agents")
    digits = await c.action("Getvar", Channel="Local/s@caller-sim-0000000d;1", Variable="IVR_DIGITS")
    qname = await c.action("Getvar", Channel="Local/s@caller-sim-0000000d;1", Variable="QUEUENAME")
    bridged = await c.list_action("CoreShowChannels")
    await c.close()
    srv.close()
    assert len(chans) == 4 and {m.name for m in chans} == {"CoreShowChannel"}
    assert [m.name for m in queue] == ["QueueParams", "QueueMember", "QueueEntry"]
    assert digits["Value"] == "12" and qname["Value"] == ""
    assert len(bridged) >= 2 and all(m.name == "CoreShowChannel" for m in bridged)
    assert seen[1].get_all("Variable") == ["CALL_ID=fx-ami-call", "IVR_MODE=transfer"]
    assert len(agent) == 1 and agent[0]["Queue"] == "agents"
    list_ids = [re.search(r"ActionID: (\S+)", a).group(1) for a, _ in segs
                if re.search(r"Action: (CoreShowChannels|QueueStatus)\r", a)]
    recorded_events = sum(1 for _, replies in segs for rep in replies if rep.startswith("Event:")
                          and not any(f"ActionID: {i}\r\n" in rep for i in list_ids))
    assert len(every) == recorded_events
    names = [m.name for m in every]
    assert names.index("QueueCallerJoin") < names.index("AgentConnect") < names.index("AgentComplete")


async def test_client_against_recorded_actions():
    srv, segs, seen = await _recorded_asterisk("ami-actions.jsonl")
    c = AmiClient("127.0.0.1", srv.sockets[0].getsockname()[1], "ivr", "ivrsecret", keepalive=None, reconnect=False)
    await c.connect()
    outcomes = []
    for rec_action, replies in segs[1:-1]:           # Login is done by connect(), Logoff by close()
        msg = AmiCodec("server")
        msg.receive_data(rec_action.encode())
        action = msg.next_event()
        fields = [(k, v) for k, v in action.headers if k not in ("Action", "ActionID")]
        kw: dict = {}
        for k, v in fields:
            kw.setdefault(k, []).append(v)
        kw = {k: v[0] if len(v) == 1 else v for k, v in kw.items()}
        try:
            if any("EventList: start" in r for r in replies):
                outcomes.append(("list", len(await c.list_action(action.name, kw))))
            else:
                outcomes.append(("ok", (await c.action(action.name, kw)).get("Message")))
        except AmiError as exc:
            outcomes.append(("error", exc.response.get("Message") if exc.response else str(exc)))
    await c.close()
    srv.close()
    assert ("error", "No such channel") in outcomes
    assert ("error", "Unable to add interface: Already there") in outcomes
    assert ("error", "Invalid/unknown command: NoSuchAction. Use Action: ListCommands to show available commands.") in outcomes
    assert ("list", 0) in outcomes and ("list", 2) in outcomes and ("list", 3) in outcomes
    assert ("ok", "Originate successfully queued") in outcomes
    assert outcomes[0] == ("ok", None)              # Ping
    assert seen[-1].name == "Logoff"


async def test_slow_async_subscribers_are_bounded(caplog):
    s = await server()
    c = client(s, max_pending_callbacks=5)
    await c.connect()
    gate = asyncio.Event()
    got = []

    async def slow(msg):
        await gate.wait()
        got.append(msg)

    c.on("Tick", slow)
    with caplog.at_level(logging.WARNING, logger="telephony.ami"):
        for i in range(20):
            s.emit("Tick", N=str(i))
        await c.action("Ping")
    assert c.dropped_callbacks == 15 and "dropped" in caplog.text
    gate.set()
    await eventually(lambda: len(got) >= 5, "the five kept deliveries")
    assert len(got) == 5
    await c.close()
    await s.close()
