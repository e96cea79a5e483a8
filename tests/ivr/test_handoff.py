"""Hand-off to agents through the Asterisk peer and its AMI server: the transfer variables and
the saved context, AgentConnect / QueueCallerAbandon updating the record, and a callback ticket
instead of a transfer when nobody is logged in or outside office hours."""

from __future__ import annotations

import pytest

from ivr.simulation.simcaller import Answer, Goal, ReactiveCaller, run_caller
from tests.ivr.conftest import close_hotline, make_hotline
from tests.waiting import eventually

QUEUE = "hotline"  # the sample queues.conf queue the default script hands calls to


async def _ami_pair(queue_members: int, queue: str = QUEUE):
    from telephony import AmiClient
    from telephony.peer import AmiServer

    server = AmiServer(queues=(queue,), login_failure_delay=0.05)
    await server.start()
    client = AmiClient("127.0.0.1", server.port, "ivr", "ivrsecret")
    await client.connect()
    for i in range(queue_members):
        await client.action("QueueAdd", Queue=queue, Interface=f"Local/agent{i}@agents/n", MemberName=f"Agen {i}")
    return server, client


async def _wait_for(pred) -> None:
    await eventually(pred, "the hand-off to be recorded", interval=0.05)


async def test_agent_by_keypad_transfers_with_variables_context_and_agent_connect(engines, tmp_path):
    server, client = await _ami_pair(queue_members=1)
    hl = await make_hotline(engines, tmp_path, ami=client)
    server.attach_peer(hl.peer)
    hl.peer.ami = server
    try:
        goal = Goal(answers={"main_menu": Answer(keys="0")}, max_turns=3, barge_in_after_s=0.3)
        caller = ReactiveCaller(engines.script, goal, speed=20.0)
        res = await run_caller(hl.peer, hl.router, caller, caller_id="081298765432")
        assert res.ended_by == "transfer", res.warnings
        call_id = res.variables["IVR_CALL_ID"]
        assert res.variables["IVR_TRANSFER"] == "1" and res.variables["IVR_QUEUE"] == QUEUE
        # AudioSocket closed by us before the AGI ended: the EXEC returned 0, the call stayed up
        assert res.audiosockets and res.audiosockets[0].exec_result == 0
        ctx = await hl.store.handoffs.context(call_id)
        assert ctx is not None and ctx["queue"] == QUEUE and ctx["call_id"] == call_id
        assert any(t.get("keys") == "0" for t in ctx["transcript"] if t["who"] == "caller")
        assert any("petugas" in (t.get("text") or "") for t in ctx["transcript"] if t["who"] == "system")
        assert ctx["caller"] and "081298765432" not in str(ctx)  # masked
        handoffs = await hl.store.handoffs.of_call(call_id)
        assert len(handoffs) == 1 and handoffs[0].queue == QUEUE
        call = await hl.store.calls.get(call_id)
        assert call.end_reason == "transferred" and call.ended_at is not None

        # the simulated Asterisk runs Queue() after the AGI; its AMI AgentConnect names the agent
        async def connected() -> bool:
            return (await hl.store.handoffs.of_call(call_id))[0].outcome == "connected"

        await _wait_for(connected)
        h = (await hl.store.handoffs.of_call(call_id))[0]
        assert h.agent and h.connected_at is not None
        assert h.hold_s == round(server.agent_ring_seconds)

        # AgentComplete closes the record: when the conversation ended, how long, who hung up
        async def completed() -> bool:
            return (await hl.store.handoffs.of_call(call_id))[0].ended_at is not None

        await _wait_for(completed)
        h = (await hl.store.handoffs.of_call(call_id))[0]
        assert h.outcome == "connected" and h.ended_at >= h.connected_at
        assert h.talk_s == round(server.agent_talk_seconds) and h.ended_by == "agent"
    finally:
        await close_hotline(hl)
        await client.close()
        await server.close()


async def test_caller_abandoning_the_queue_is_recorded(engines, tmp_path):
    # the script's own queue is configured (though not first): the call goes to "hotline"
    server, client = await _ami_pair(queue_members=1, queue="hotline")
    hl = await make_hotline(engines, tmp_path, ami=client, agent_queues=["kependudukan", "hotline"])
    try:
        caller = ReactiveCaller(engines.script, Goal(answers={"main_menu": Answer(keys="0")}, max_turns=3, barge_in_after_s=0.3), speed=20.0)
        res = await run_caller(hl.peer, hl.router, caller)
        assert res.ended_by == "transfer" and res.variables["IVR_QUEUE"] == "hotline"
        call_id = res.variables["IVR_CALL_ID"]
        server.emit("QueueCallerAbandon", ("Privilege", "agent,all"), ("Uniqueid", "someone-else"),
                    ("Queue", "hotline"), ("Position", "1"), ("HoldTime", "9"))
        server.emit("QueueCallerAbandon", ("Privilege", "agent,all"), ("Uniqueid", res.call_id),
                    ("Queue", "hotline"), ("Position", "1"), ("HoldTime", "30"))

        async def abandoned() -> bool:
            return (await hl.store.handoffs.of_call(call_id))[0].outcome == "abandoned"

        await _wait_for(abandoned)
        h = (await hl.store.handoffs.of_call(call_id))[0]
        assert h.hold_s == 30 and h.ended_by == "caller" and h.ended_at is not None and h.talk_s is None
    finally:
        await close_hotline(hl)
        await client.close()
        await server.close()


@pytest.mark.parametrize("case", ["no_agents", "closed_hours"])
async def test_no_agent_or_closed_offers_a_callback_ticket(engines, tmp_path, case):
    members = 0 if case == "no_agents" else 1
    server, client = await _ami_pair(queue_members=members)
    hours = "always" if case == "no_agents" else "never"
    hl = await make_hotline(engines, tmp_path, ami=client, office_hours=hours)
    try:
        offer = "callback_offer_busy" if case == "no_agents" else "callback_offer_closed"
        goal = Goal(answers={"main_menu": Answer(keys="0"), offer: Answer(keys="1"),
                             "callback_number_confirm": Answer(keys="1")},
                    success_state="callback_done", listen_after_success_s=0.5, max_turns=6,
                    barge_in_after_s=0.3)
        caller = ReactiveCaller(engines.script, goal, speed=20.0)
        res = await run_caller(hl.peer, hl.router, caller, caller_id="081311112222")
        assert caller.outcome.success, caller.outcome
        assert offer in caller.outcome.states
        assert res.variables.get("IVR_TRANSFER") != "1" and res.ended_by != "transfer"
        calls = await hl.store.calls.recent()
        call = await hl.store.calls.get(calls[0].id)
        tickets = [t for t in await hl.store.tickets.query() if t.call_id == call.id]
        assert len(tickets) == 1 and tickets[0].kind == "callback"
        assert tickets[0].reporter_phone and "081311112222" not in tickets[0].reporter_phone  # masked
        assert tickets[0].extra and tickets[0].extra.get("reason") == case
        # never "connecting you to an agent" followed by "no agent is available"
        said = [d["text"] for d in hl.by_kind("say")]
        assert not any("sambungkan ke petugas" in t for t in said), said
        assert any("sambungkan ke petugas" in d["text"] for d in hl.by_kind("say_skipped"))
        handoffs = await hl.store.handoffs.of_call(call.id)
        assert [h.outcome for h in handoffs] == [case]
        assert await hl.store.handoffs.context(call.id) is None  # nothing handed over
    finally:
        await close_hotline(hl)
        await client.close()
        await server.close()


def test_queue_for_uses_the_scripts_queue_when_configured_else_the_first(tmp_path):
    from ivr.calls.handoff import Handoff
    from ivr.config.settings import load_settings

    h = Handoff(load_settings(data_dir=tmp_path, agent_queues=["hotline", "pajak"]), None)
    assert h.queue_for("pajak") == "pajak"
    assert h.queue_for("tidak-ada") == "hotline"
    assert h.queue_for(None) == "hotline"
