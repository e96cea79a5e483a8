"""The second look (IVR_TURN_SECOND_LOOK_MS), through the Asterisk peer with the real models:
a caller who goes on right after the hotline decided the turn (a pause just longer than the
wait) is heard as one turn, decided on the joined audio and on record once; a complete request
is unaffected; speech after the window, while the reply plays, is still a barge-in."""

from __future__ import annotations

import asyncio

import pytest

from tests.ivr.conftest import close_hotline, make_hotline
from tests.waiting import eventually

pytestmark = pytest.mark.slow


@pytest.fixture
async def hotline(engines, tmp_path):
    # the second look is off by default (docs/decisions.md, phase 7 lead): these calls turn it on
    hl = await make_hotline(engines, tmp_path, turn_second_look_ms=300)
    try:
        yield hl
    finally:
        await close_hotline(hl)


FIRST = "saya mau mengurus KTP yang hilang"  # a whole request on its own: decided on the short wait
REST = "karena dompet saya dicuri di pasar kemarin"


class _Decided:
    """Wakes the caller script the moment the media ends the caller's utterance (the
    end-of-turn decision), so the caller can go on right after it, however loaded the machine."""

    def __init__(self, hotline) -> None:
        self.event = asyncio.Event()
        self.armed = False
        hotline.runtime.call_listeners.append(self)

    def __call__(self, session, kind: str, data: dict) -> None:
        if self.armed and kind == "speech_end":
            self.event.set()

    async def arm(self, _call) -> None:
        self.armed = True

    async def wait(self, _call) -> None:
        await asyncio.wait_for(self.event.wait(), 120)


def _caller(hotline, *steps):
    from telephony.peer import Call, Hangup, Silence, WaitForPrompt, WaitForSilence

    async def replied(_call) -> None:
        # the hotline answered a turn on record (however loaded the machine is)
        await eventually(lambda: hotline.by_kind("reply"), "the reply to the caller", timeout=120)

    return [WaitForPrompt(), WaitForSilence(min_seconds=0.8, timeout=60.0), *steps, Silence(0.5), Call(replied),
            Silence(1.0), Hangup()]


async def _run(hotline, steps):
    call = hotline.peer.start_call(steps, realtime=1.0, max_seconds=240.0)
    await call.result()
    await eventually(lambda: hotline.by_kind("call_ended"), "the call's end", timeout=60)


async def _caller_turns(hotline) -> list:
    calls = await hotline.store.calls.recent(limit=10)
    assert len(calls) == 1
    turns = await hotline.store.calls.turns(calls[0].id)
    return [t for t in turns if t.who == "caller"]


def _session(hotline):
    return next(s for (_, s, k, _) in hotline.events if k == "call_started")


async def _resumed_right_after_the_decision(hotline, caller_speech):
    from telephony.peer import Call, SayPcm

    decided = _Decided(hotline)
    first, rest = caller_speech(FIRST, 1), caller_speech(REST, 1)
    await _run(hotline, _caller(hotline, Call(decided.arm), SayPcm(first, 8000), Call(decided.wait),
                                SayPcm(rest, 8000)))
    return first, rest


async def test_speech_resumed_right_after_the_decision_is_one_turn(hotline, caller_speech):
    first, rest = await _resumed_right_after_the_decision(hotline, caller_speech)
    looks = hotline.by_kind("second_look")
    assert looks and looks[0]["state"] == "main_menu", hotline.by_kind("heard")
    # the decision on the first half was dropped: the dialog decided once more, on both halves
    heard = [d for d in hotline.by_kind("heard") if d["state"] == "main_menu"]
    joined = heard[-1]
    assert joined["joined"] and joined["speech_s"] > (len(first) + len(rest)) / 2 / 8000, heard
    # on record once: one caller turn (the joined words), in the transcript and in the store
    session = _session(hotline)
    said = [e for e in session.transcript if e["who"] == "caller"]
    assert len(said) == 1 and said[0]["text"] == joined["text"], said
    turns = await _caller_turns(hotline)
    assert len(turns) == 1 and turns[0].text == joined["text"] and turns[0].reply_ms is not None, turns
    # nothing of the dropped decision came before it: the reply that was heard answers the joined turn
    replies = hotline.by_kind("reply")
    assert len(replies) == 1, replies


async def test_without_the_second_look_the_same_caller_is_heard_twice(engines, tmp_path, caller_speech):
    # the check above can fail: with the second look off the first half is a turn of its own
    hl = await make_hotline(engines, tmp_path, turn_second_look_ms=0)
    try:
        await _resumed_right_after_the_decision(hl, caller_speech)
        assert not hl.by_kind("second_look")
        turns = await _caller_turns(hl)
        assert len(turns) == 2, [(t.state, t.text) for t in turns]
    finally:
        await close_hotline(hl)


async def test_a_complete_request_is_unaffected(hotline, caller_speech):
    from telephony.peer import SayPcm

    await _run(hotline, _caller(hotline, SayPcm(caller_speech(FIRST, 1), 8000)))
    assert not hotline.by_kind("second_look")
    heard = [d for d in hotline.by_kind("heard") if d["state"] == "main_menu"]
    assert len(heard) == 1 and not heard[0]["joined"], heard
    turns = await _caller_turns(hotline)
    assert len(turns) == 1 and turns[0].text == heard[0]["text"] and turns[0].reply_ms is not None, turns
    said = [e for e in _session(hotline).transcript if e["who"] == "caller"]
    assert len(said) == 1, said


async def test_speech_after_the_window_while_the_reply_plays_is_a_barge_in(hotline, caller_speech):
    from telephony.peer import Call, SayPcm, Silence

    decided = _Decided(hotline)

    async def reply_playing(_call) -> None:
        await eventually(lambda: hotline.by_kind("reply"), "the reply", timeout=120)

    grace = hotline.settings.turn_second_look_ms / 1000
    await _run(hotline, _caller(hotline, Call(decided.arm), SayPcm(caller_speech(FIRST, 1), 8000),
                                Call(decided.wait), Call(reply_playing), Silence(grace + 0.4),
                                SayPcm(caller_speech("halo, tunggu sebentar", 1), 8000)))
    assert not hotline.by_kind("second_look")
    assert any(d.get("by") == "speech" for d in hotline.by_kind("barged")), hotline.by_kind("barged")
    # the first turn stands on record; what the caller said over the reply is a turn of its own
    turns = await _caller_turns(hotline)
    assert len(turns) == 2 and turns[0].state == "main_menu", [(t.state, t.text) for t in turns]
