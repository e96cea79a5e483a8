"""CallSession details through the Asterisk peer: the AGI-only media mode (STREAM FILE,
RECORD FILE, keys), keypad turn timings, and graceful shutdown of the controller."""

from __future__ import annotations

import asyncio

import pytest

from ivr.simulation.simcaller import Answer, Goal, ReactiveCaller, run_caller
from tests.ivr.conftest import frames_found
from tests.ivr.conftest import close_hotline, make_hotline
from tests.waiting import eventually


async def test_agi_only_mode_plays_files_records_speech_and_takes_keys(engines, tmp_path, caller_speech):
    hl = await make_hotline(engines, tmp_path, media_mode="agi")
    try:
        goal = Goal(answers={"main_menu": Answer(keys="5"), "complaint_category": Answer(keys="2"),
                             "complaint_location": Answer(speech=caller_speech("di jalan merdeka kelurahan sukamaju", 1),
                                                          speech_alt=[caller_speech("di jalan merdeka kelurahan sukamaju", 0)])},
                    hang_up_in="complaint_description", max_turns=6)
        caller = ReactiveCaller(engines.script, goal, speed=5.0)
        res = await run_caller(hl.peer, hl.router, caller)
        names = [c.command.split()[0:2] for c in res.commands]
        assert ["STREAM", "FILE"] in names and ["RECORD", "FILE"] in names
        assert not any(c.command.upper().startswith("EXEC AUDIOSOCKET") for c in res.commands)
        assert "complaint_description" in caller.outcome.states, caller.outcome
        # the prompts the caller heard are the prompt cache's renderings, played from WAV files
        prompt = engines.prompts.get(engines.script.states["complaint_location"].say[0].text).pcm
        assert frames_found(res.heard_pcm, prompt, 0.0, 2.0) > 0.95
        # the recorded speech was recognised and kept in an (incomplete) complaint
        tickets = await hl.store.tickets.query()
        assert len(tickets) == 1 and tickets[0].category == "kebersihan"
        assert tickets[0].location and tickets[0].extra["incomplete"] is True
        call = await hl.store.calls.get(tickets[0].call_id)
        assert call.media_mode == "agi" and call.end_reason == "caller_hangup"
        keys = [t for t in call.turns if t.source == "dtmf"]
        assert [t.text for t in keys] == ["5", "2"]
        # for the analytics: where each turn happened and how the dialog took it, what the call
        # was about and where it ended
        assert [(t.state, t.outcome) for t in keys] == [("main_menu", "accepted"), ("complaint_category", "accepted")]
        assert all(t.outcome in (None, "interrupted") for t in call.turns if t.who == "system")
        assert call.service == "pengaduan" and call.end_state == "complaint_description"
        assert all(t.reply_ms is not None and t.reply_ms >= 0 for t in keys)
        assert not list((hl.settings.sounds_dir / "rec").glob("*.wav")), "recordings are removed"
    finally:
        await close_hotline(hl)


async def test_keypad_turns_store_reply_times(engines, tmp_path, make_store):
    # on SQLite and on PostgreSQL (tests/conftest.py's store backends)
    hotline = await make_hotline(engines, tmp_path, store=await make_store(outbox_dir=tmp_path / "outbox"))
    try:
        await _keypad_turns(hotline, engines)
    finally:
        await close_hotline(hotline)


async def _keypad_turns(hotline, engines):
    goal = Goal(answers={"main_menu": Answer(keys="1"), "menu_kependudukan": Answer(keys="2")},
                success_state="info_kk", barge_in_after_s=0.3, listen_after_success_s=0.3)
    caller = ReactiveCaller(engines.script, goal, speed=20.0)
    await run_caller(hotline.peer, hotline.router, caller)
    assert caller.outcome.success
    call = (await hotline.store.calls.recent())[0]
    full = await hotline.store.calls.get(call.id)
    keys = [t for t in full.turns if t.who == "caller"]
    assert [t.text for t in keys] == ["1", "2"]
    # key -> first byte of the reply is measured for every key (its size: bench/bench_calls.py)
    assert all(t.reply_ms is not None and t.reply_ms >= 0 for t in keys)
    system = [t.text for t in full.turns if t.who == "system"]
    # the answer is on record, as far as it was played before the (fast) caller hung up
    answer = engines.script.states["info_kk"].say[0].text
    assert any(answer == t or (t.endswith(" …") and answer.startswith(t[:-2])) for t in system), system


async def test_shutdown_lets_the_live_call_finish_and_refuses_new_ones(hotline, engines):
    from telephony.peer import Dtmf, Hangup, Silence, WaitForPrompt

    live = hotline.peer.start_call([WaitForPrompt(), Silence(1.0), Dtmf("9"), Silence(6.0), Hangup()],
                                   realtime=True)
    await eventually(lambda: hotline.runtime.active_calls, "the call to be live")
    drain = asyncio.create_task(hotline.controller.drain(30.0))
    await eventually(lambda: not hotline.runtime.accepting, "the controller to stop taking calls")
    late = await hotline.peer.place_call([Silence(0.5), Hangup()], realtime=True)
    assert late.ended_by == "agi_ended" and late.heard_seconds == 0
    left = await drain
    res = await live.result()
    assert left == 0 and res.ended_by in ("agi_hangup", "caller_hangup")
    calls = await hotline.store.calls.recent()
    assert len(calls) == 1 and calls[0].ended_at is not None
    assert hotline.controller.calls_refused == 1


@pytest.mark.parametrize("bad", ["dtmf:", "dtmf:12x", "wait:soon", "/no/such/file.wav"])
def test_call_steps_are_checked(bad):
    from ivr.simulation.simcall import StepError, parse_steps

    with pytest.raises(StepError):
        parse_steps([bad])


async def test_call_logs_are_json_with_the_call_id_and_no_caller_number(hotline, engines):
    import io
    import json
    import logging

    from ivr.config.logging import configure_logging

    buf = io.StringIO()
    handler = configure_logging("INFO", "json", stream=buf)
    try:
        goal = Goal(answers={"main_menu": Answer(keys="9")}, barge_in_after_s=0.3, max_turns=2)
        caller = ReactiveCaller(engines.script, goal, speed=20.0)
        await run_caller(hotline.peer, hotline.router, caller, caller_id="081299998888")
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(x) for x in buf.getvalue().splitlines() if x.strip()]
    call_id = (await hotline.store.calls.recent())[0].id
    mine = [x for x in lines if x.get("call_id") == call_id]
    msgs = {x["msg"] for x in mine}
    assert {"call started", "turn", "call ended"} <= msgs
    assert "081299998888" not in buf.getvalue()


async def test_media_that_never_comes_up_hands_the_caller_to_an_agent(engines, tmp_path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()  # nothing listens there: Asterisk's AudioSocket connect fails, EXEC returns -1
    hl = await make_hotline(engines, tmp_path, audiosocket_advertise=f"127.0.0.1:{dead}")
    try:
        from telephony.peer import Silence

        res = await hl.peer.place_call([Silence(3.0)], realtime=True, max_seconds=30)
        assert res.ended_by == "transfer" and res.variables["IVR_TRANSFER"] == "1"
        call = (await hl.store.calls.recent())[0]
        assert call.end_reason == "error_transferred" and call.ended_at is not None
        assert [h.reason for h in await hl.store.handoffs.of_call(call.id)] == ["error"]
    finally:
        await close_hotline(hl)
