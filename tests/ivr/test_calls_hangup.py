"""A caller hanging up in every kind of state: the call record is always closed, and a
complaint is never lost (filed, or kept as an incomplete ticket when the caller had already
described it). Calls run concurrently on one hotline to keep the test short."""

from __future__ import annotations

import asyncio

import pytest

from ivr.simulation.simcaller import Answer, Goal, ReactiveCaller, run_caller

pytestmark = pytest.mark.slow

KEYS_TO_COMPLAINT = {"main_menu": Answer(keys="5"), "complaint_category": Answer(keys="2")}


def _cases(speech):
    location = Answer(speech=speech("di jalan merdeka kelurahan sukamaju", 1),
                      speech_alt=[speech("di jalan merdeka kelurahan sukamaju", 0)])
    description = Answer(speech=speech("jalannya rusak dan berlubang sejak minggu lalu", 1),
                         speech_alt=[speech("jalannya rusak dan berlubang sejak minggu lalu", 0)])
    complaint = dict(KEYS_TO_COMPLAINT, complaint_location=location)
    return {
        # name: (goal, expected ticket: None | "incomplete" | "complete")
        "main_menu": (Goal(hang_up_in="main_menu"), None),
        "menu_kependudukan": (Goal(answers={"main_menu": Answer(keys="1")}, hang_up_in="menu_kependudukan"), None),
        "info_ktp_playing": (Goal(answers={"main_menu": Answer(keys="1"), "menu_kependudukan": Answer(keys="1")},
                                  hang_up_in="info_ktp"), None),
        "status_ask": (Goal(answers={"main_menu": Answer(keys="6")}, hang_up_in="status_ask"), None),
        "complaint_category": (Goal(answers={"main_menu": Answer(keys="5")}, hang_up_in="complaint_category"), None),
        "complaint_location": (Goal(answers=dict(KEYS_TO_COMPLAINT), hang_up_in="complaint_location"), None),
        "complaint_description": (Goal(answers=complaint, hang_up_in="complaint_description"), "incomplete"),
        "complaint_identity": (Goal(answers=dict(complaint, complaint_description=description),
                                    hang_up_in="complaint_identity"), "incomplete"),
        "complaint_done": (Goal(answers=dict(complaint, complaint_description=description,
                                             complaint_identity=Answer(keys="2"),
                                             complaint_readback=Answer(keys="1")),
                                hang_up_in="complaint_done"), "complete"),
    }


async def test_hang_up_in_every_state_closes_the_call_and_keeps_complaints(hotline, engines, caller_speech):
    from telephony.peer import Hangup, Silence, WaitForPrompt

    cases = _cases(caller_speech)
    callers = {}
    jobs = {}
    for name, (goal, _) in cases.items():
        goal.barge_in_after_s = 0.3
        goal.max_turns = 10
        callers[name] = ReactiveCaller(engines.script, goal, speed=10.0)
        jobs[name] = run_caller(hotline.peer, hotline.router, callers[name], max_seconds=240)
    # and one caller who hangs up during the greeting, before anything is asked
    jobs["welcome"] = hotline.peer.place_call([WaitForPrompt(), Silence(0.5), Hangup()], realtime=True)
    results = dict(zip(jobs, await asyncio.gather(*jobs.values())))

    by_channel = {c.channel_id: c for c in await hotline.store.calls.recent(limit=100)}
    tickets = await hotline.store.tickets.query(limit=100)
    for name, res in results.items():
        assert res.ended_by == "caller_hangup", (name, res.ended_by, res.warnings)
        call = by_channel.get(res.call_id)
        assert call is not None, name
        full = await hotline.store.calls.get(call.id)
        assert full.ended_at is not None and full.end_reason == "caller_hangup", (name, full.end_reason)
        if name in callers:
            states = callers[name].outcome.states
            assert cases[name][0].hang_up_in in states, (name, states)
        mine = [t for t in tickets if t.call_id == call.id]
        expected = cases[name][1] if name in cases else None
        if expected is None:
            assert mine == [], name
            continue
        assert len(mine) == 1 and mine[0].kind == "complaint", (name, mine)
        t = mine[0]
        assert t.category == "kebersihan" and t.location, name
        if expected == "incomplete":
            assert t.extra and t.extra.get("incomplete") is True and t.extra.get("stopped_at") == name, (name, t.extra)
        else:
            assert not (t.extra or {}).get("incomplete") and t.description, name
    assert hotline.runtime.active_calls == set()
