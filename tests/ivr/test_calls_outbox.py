"""The database goes down in the middle of a call: the complaint is still filed (journaled by the
store's outbox, numbered from the offline range, read to the caller) and reaches the database,
with the call record and its turns, once it is back."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from ivr.simulation.simcaller import Answer, Goal, ReactiveCaller, run_caller

pytestmark = pytest.mark.slow


async def test_complaint_survives_a_database_outage(hotline, engines, caller_speech):
    store = hotline.store
    db = store.database
    real_engine, real_sessions = db.engine, db.sessions
    dead = create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1})

    def outage(call) -> None:  # fault injection: from now on every connection fails
        db.engine, db.sessions = dead, sessionmaker(dead, expire_on_commit=False)

    from telephony.peer import Call

    goal = Goal(
        answers={
            "main_menu": Answer(keys="5"),
            "complaint_category": Answer(keys="3"),
            "complaint_location": Answer(speech=caller_speech("di jalan merdeka kelurahan sukamaju", 1),
                                         speech_alt=[caller_speech("di jalan merdeka kelurahan sukamaju", 0)]),
            "complaint_description": Answer(speech=caller_speech("jalannya rusak dan berlubang sejak minggu lalu", 1),
                                            speech_alt=[caller_speech("jalannya rusak dan berlubang sejak minggu lalu", 0)]),
            "complaint_identity": Answer(keys="2"),
            "complaint_readback": Answer(keys="1"),
        },
        success_state="complaint_done", listen_after_success_s=0.5, barge_in_after_s=0.5, max_turns=10)
    caller = ReactiveCaller(engines.script, goal, speed=10.0)
    steps = caller.steps()
    caller.steps = lambda: [Call(outage), *steps]  # the database dies right after the call starts
    res = await run_caller(hotline.peer, hotline.router, caller)
    assert caller.outcome.success, caller.outcome
    filed = hotline.by_kind("ticket")
    assert len(filed) == 1
    number = filed[0]["ticket_id"]
    assert store.outbox_backlog > 0

    # the database is back: the journal is replayed in order
    db.engine, db.sessions = real_engine, real_sessions
    dead.dispose()
    assert await store.replay_outbox() > 0
    assert store.outbox_backlog == 0
    ticket = await store.tickets.get(number)
    assert ticket is not None and ticket.kind == "complaint" and ticket.category == "pelayanan"
    assert ticket.location and ticket.description
    call = await store.calls.get(ticket.call_id)
    assert call is not None and call.ended_at is not None and call.end_reason == "caller_hangup"
    assert [t.text for t in call.turns if t.who == "caller" and t.source == "dtmf"][:2] == ["5", "3"]
    assert res.ended_by == "caller_hangup"
