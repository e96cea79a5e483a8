"""The agents' desk on AMI, recorded on a real Asterisk 22.10.1 with the sample configuration
(fixtures/asterisk-22/ami-desk-queue-members.jsonl, its -sip twin, ami-callback-originate.jsonl;
see the README there), against the simulated Asterisk (`telephony.peer.AmiServer`).

The simulator follows the recordings: member penalties and the reason of a member added paused,
and the callback Originate (agent's phone, then the citizen, the dialplan's refusal of invalid
numbers, UserEvent HotlineCallback, an extension that is no phone)."""

from __future__ import annotations

import asyncio

import pytest

from telephony.ami_codec import NEED_DATA, AmiCodec, AmiMessage
from telephony.peer.ami_server import AmiServer

from .conftest import load_jsonl
from .test_ami import _messages, _raw_session

MEMBER_EVENTS = ("QueueMemberAdded", "QueueMemberPause", "QueueMemberRemoved")
CONTRACT = {  # docs/asterisk.md, "Callbacks"; HELPER_COMMON's dialplan contract
    "Context": "hotline-callback", "Priority": "1", "CallerID": '"Hotline" <hotline>', "Async": "true",
    "Timeout": "30000",
}


def recorded(name: str) -> tuple[list[dict], list[AmiMessage]]:
    rows = load_jsonl(name)
    codec = AmiCodec()
    codec.receive_data("".join(r["data"] for r in _messages(rows, "ast->us")).encode())
    out = []
    while (m := codec.next_event()) is not NEED_DATA:
        out.append(m)
    return rows, out


async def replay(name: str) -> tuple[list[AmiMessage], list[AmiMessage]]:
    rows, rec = recorded(name)
    s = AmiServer(port=0, login_failure_delay=0.05, queues=("hotline", "kependudukan", "pajak", "kesehatan", "sosial"))
    await s.start()
    try:
        got = await _raw_session(s.port, [r["data"] for r in _messages(rows, "us->ast")])
    finally:
        await s.close()
    return rec, got


def responses(msgs: list[AmiMessage]) -> dict[str, AmiMessage]:
    return {m.action_id: m for m in msgs[1:] if m.is_response}


DESK = pytest.mark.parametrize("name", ["ami-desk-queue-members.jsonl", "ami-desk-queue-members-sip.jsonl"])


@DESK
async def test_peer_answers_the_desks_queue_actions_like_asterisk(name):
    rec, got = await replay(name)
    want, have = responses(rec), responses(got)
    assert set(want) == set(have)
    for aid, w in want.items():
        assert (have[aid]["Response"], have[aid].get("Message")) == (w["Response"], w.get("Message")), aid
        assert have[aid].headers[:2] == w.headers[:2], aid         # Response, then ActionID
    names = [m.name for m in rec[1:] if m.is_event and m.name in MEMBER_EVENTS]
    assert names == [m.name for m in got[1:] if m.is_event and m.name in MEMBER_EVENTS]
    lists = [(m.name, m["ListItems"]) for m in rec[1:] if m.get("EventList") == "Complete"]
    assert lists == [(m.name, m["ListItems"]) for m in got[1:] if m.get("EventList") == "Complete"]


@DESK
async def test_peer_reports_members_as_asterisk_does(name):
    rec, got = await replay(name)

    def fields(msgs):
        return [(m.name, m["Queue"], m["MemberName"], m["Interface"], m["Membership"], m["Penalty"], m["Paused"],
                 m["PausedReason"]) for m in msgs[1:] if m.is_event and m.name in MEMBER_EVENTS]

    assert fields(got) == fields(rec)
    members = [(m["Queue"], m["Name"], m["Location"], m["Penalty"], m["Paused"], m["PausedReason"])
               for m in rec[1:] if m.name == "QueueMember"]
    assert members == [(m["Queue"], m["Name"], m["Location"], m["Penalty"], m["Paused"], m["PausedReason"])
                       for m in got[1:] if m.name == "QueueMember"]


def test_the_recorded_callbacks_follow_the_contract():
    """What the desk sends (the Originate of the contract) and what it gets back from the sample
    dialplan on a real Asterisk: OriginateResponse for the agent's leg, then one UserEvent
    HotlineCallback per attempt with the citizen's DialStatus or the refusal reason."""
    rows, with_banner = recorded("ami-callback-originate.jsonl")
    rec = with_banner[1:]
    sent = [dict(line.split(": ", 1) for line in r["data"].split("\r\n") if line)
            for r in _messages(rows, "us->ast")]
    originates = [m for m in sent if m.get("Action") == "Originate"]
    assert len(originates) == 4
    for o in originates:
        assert {k: o[k] for k in CONTRACT} == CONTRACT
        assert o["Channel"].startswith("Local/") and o["Channel"].endswith("@hotline-agent-ring")
        assert o["Variable"].startswith("IVR_CALLBACK_ID=")
    assert [responses(with_banner)[o["ActionID"]]["Message"] for o in originates] == ["Originate successfully queued"] * 4
    outcome = {m.action_id: (m["Response"], m["Reason"]) for m in rec if m.name == "OriginateResponse"}
    assert [outcome[o["ActionID"]] for o in originates] == [("Success", "4")] * 3 + [("Failure", "0")]
    events = [(m["IVR_CALLBACK_ID"], m["DialStatus"], m["Reason"]) for m in rec
              if m.name == "UserEvent" and m["UserEvent"] == "HotlineCallback"]
    assert events == [("cb-1", "ANSWER", ""), ("cb-2", "BUSY", ""), ("cb-3", "", "invalid-number")]


async def test_peer_queues_the_callback_originate():
    rec, got = await replay("ami-callback-originate.jsonl")
    want, have = responses(rec), responses(got)
    assert set(want) == set(have)
    for aid, w in want.items():
        assert (have[aid]["Response"], have[aid].get("Message")) == (w["Response"], w.get("Message")), aid


async def replay_paced(name: str, **server: object) -> tuple[list[AmiMessage], list[AmiMessage]]:
    """Replay the recorded actions as the recording client sent them: each one only after what
    Asterisk had answered before it (responses by ActionID, OriginateResponse, UserEvent)."""
    rows, rec = recorded(name)

    def key(m: AmiMessage) -> tuple[str, str] | None:
        if not isinstance(m, AmiMessage):
            return None          # the banner
        if m.is_response:
            return ("Response", m.action_id or "")
        if m.name in ("OriginateResponse",):
            return (m.name, m.action_id or "")
        if m.name == "UserEvent":
            return (m.name, m["IVR_CALLBACK_ID"] or "")
        return None

    steps: list[tuple[str, set[tuple[str, str]]]] = []
    before: set[tuple[str, str]] = set()
    codec = AmiCodec()
    for r in rows:
        if "data" not in r:
            continue
        if r.get("dir") == "us->ast":
            if r["data"]:
                steps.append((r["data"], set(before)))
            continue
        codec.receive_data(r["data"].encode())
        while (m := codec.next_event()) is not NEED_DATA:
            if (k := key(m)) is not None:
                before.add(k)
    s = AmiServer(port=0, login_failure_delay=0.05, queues=("hotline",), **server)  # type: ignore[arg-type]
    await s.start()
    got: list[AmiMessage] = []
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", s.port)
        seen: set[tuple[str, str]] = set()
        codec = AmiCodec()

        async def read_until(want: set[tuple[str, str]]) -> bool:
            while not want <= seen:
                data = await asyncio.wait_for(reader.read(65536), 30)
                if not data:
                    return False
                codec.receive_data(data)
                while (m := codec.next_event()) is not NEED_DATA:
                    got.append(m)
                    if (k := key(m)) is not None:
                        seen.add(k)
            return True

        for data, want in steps:
            await read_until(want)
            writer.write(data.encode())
        await read_until({("EOF", "")})
        writer.close()
    finally:
        await s.close()
    return rec, got


async def test_peer_answers_the_callback_originate_like_asterisk():
    # the recording's test agent and citizens (extensions.conf: [hotline-agent-ring],
    # [hotline-test-citizen]): 0800000001 is busy, other numbers answer; agent9 is no phone
    rec, got = await replay_paced("ami-callback-originate.jsonl", phones={"hotline-test-agent"},
                                  callback_outcomes={"0800000001": "BUSY"}, callback_ring_seconds=0.01)

    def outcome(msgs):
        return [(m.action_id, m["Response"], m["Reason"]) for m in msgs[1:] if m.name == "OriginateResponse"]

    assert outcome(got) == outcome(rec)
    def user_events(msgs):
        return [(m["Privilege"], m["UserEvent"], m["IVR_CALLBACK_ID"], m["DialStatus"], m["Reason"])
                for m in msgs[1:] if m.name == "UserEvent"]

    assert user_events(got) == user_events(rec)
    failed = [m for m in got[1:] if m.name == "OriginateResponse" and m["Response"] == "Failure"]
    assert [(m["Channel"], m["CallerIDNum"], m["Uniqueid"]) for m in failed] == \
        [(m["Channel"], m["CallerIDNum"], m["Uniqueid"]) for m in rec[1:]
         if m.name == "OriginateResponse" and m["Response"] == "Failure"]
