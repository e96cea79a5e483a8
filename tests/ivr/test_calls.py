"""Whole calls through the Asterisk peer: real Whisper on espeak-ng caller audio at telephone
quality, the real dialog engine and script, espeak prompts from the prompt cache, SQLite store."""

from __future__ import annotations

import asyncio

import pytest

from ivr.simulation.simcaller import Answer, Goal, ReactiveCaller, run_caller, service_state
from tests.ivr.conftest import frames_found

pytestmark = pytest.mark.slow


def _says(hotline, state: str) -> list[str]:
    return [d["text"] for d in hotline.by_kind("say") if d.get("state") == state]


async def test_ask_about_ktp_by_voice_and_hear_the_answer(hotline, engines, caller_speech):
    script = engines.script
    target = service_state(script, "ktp")
    assert target == "info_ktp"
    goal = Goal(intent="ktp",
                speech=[caller_speech("saya mau membuat KTP elektronik", 1),
                        caller_speech("bagaimana cara bikin e-KTP", 2)],
                yes=caller_speech("ya", 1), no=caller_speech("tidak", 1),
                success_state=target, listen_after_success_s=3.0, barge_in_after_s=1.5)
    caller = ReactiveCaller(script, goal, speed=4.0)
    res = await run_caller(hotline.peer, hotline.router, caller)

    assert caller.outcome.success, caller.outcome
    assert not caller.outcome.keypad_used, "the request was made by voice"
    # what the caller heard contains the KTP answer exactly as the prompt cache renders it ...
    answer = _says(hotline, target)[0]
    expected = engines.prompts.get(answer).pcm
    assert frames_found(res.heard_pcm, expected, 0.0, 2.5) > 0.95
    # ... and not the answer of another service (the check can fail)
    other = engines.prompts.get(_says_static(script, "info_kk")).pcm
    assert frames_found(res.heard_pcm, other, 0.0, 2.5, exclude=expected) < 0.05

    # the call is on record: closed, the spoken request with its intent and timings
    calls = await hotline.store.calls.recent()
    assert len(calls) == 1
    call = await hotline.store.calls.get(calls[0].id)
    assert call.ended_at is not None and call.end_reason == "caller_hangup"
    spoken = [t for t in call.turns if t.who == "caller" and t.source == "speech"]
    assert spoken and spoken[-1].asr_ms is not None and spoken[-1].asr_ms > 0
    assert any(t.intent == "ktp" for t in spoken) or any(
        t.who == "caller" and t.text and t.text.strip().lower() in ("ya", "iya") for t in call.turns)
    replied = [t for t in spoken if t.reply_ms is not None]
    assert replied and all(0 <= t.reply_ms < 60_000 for t in replied)
    prompts = [t.text for t in call.turns if t.who == "system"]
    # on record as far as the caller heard it before hanging up (cut ones end in " …")
    assert any(answer == t or (t.endswith(" …") and answer.startswith(t[:-2])) for t in prompts), prompts


def _says_static(script, state: str) -> str:
    return script.states[state].say[0].text


async def test_file_a_complaint_by_voice_and_keypad(hotline, engines, caller_speech):
    goal = Goal(
        intent="pengaduan",
        speech=[caller_speech("saya mau melaporkan pengaduan", 1), caller_speech("saya ingin mengadu", 3)],
        yes=caller_speech("ya", 1), no=caller_speech("tidak", 1),
        answers={
            "complaint_category": Answer(keys="1"),
            "complaint_location": Answer(speech=caller_speech("di jalan merdeka kelurahan sukamaju", 1)),
            "complaint_description": Answer(speech=caller_speech("jalannya rusak dan berlubang sejak minggu lalu", 1)),
            "complaint_identity": Answer(keys="2"),
            "complaint_readback": Answer(keys="1"),
        },
        success_state="complaint_done", listen_after_success_s=1.0, barge_in_after_s=1.0, max_turns=10)
    caller = ReactiveCaller(engines.script, goal, speed=4.0)
    res = await run_caller(hotline.peer, hotline.router, caller)
    assert caller.outcome.success, caller.outcome
    assert caller.outcome.keypad_used
    filed = hotline.by_kind("ticket")
    assert len(filed) == 1 and filed[0]["kind"] == "complaint"
    ticket = await hotline.store.tickets.get(filed[0]["ticket_id"])
    assert ticket is not None and ticket.kind == "complaint" and ticket.status == "open"
    assert ticket.category == "infrastruktur"
    assert ticket.location and ticket.description
    # the free-text fields hold what the recogniser heard in those turns, close to what was said
    from rapidfuzz import fuzz

    assert fuzz.ratio(ticket.location.lower(), "di jalan merdeka kelurahan sukamaju") >= 50, ticket.location
    assert fuzz.ratio(ticket.description.lower(), "jalannya rusak dan berlubang sejak minggu lalu") >= 50, \
        ticket.description
    heard = [d["text"] for d in hotline.by_kind("heard")]
    assert ticket.location in heard and ticket.description in heard
    assert ticket.confidential is True and ticket.reporter_name is None
    calls = await hotline.store.calls.recent()
    assert ticket.call_id == calls[0].id
    # the caller heard the ticket number: the prompt that carries it went out in full
    done = [d["text"] for d in hotline.by_kind("say") if d.get("state") == "complaint_done"]
    assert done and res.heard_seconds > 5
    # ... as people write it (the same form the CLI and the web pages show), twice
    written = filed[0]["display_id"]
    assert written == ticket.display_id and done[0].count(f"{written}.") == 2, done[0]
    call = await hotline.store.calls.get(calls[0].id)
    assert call.ended_at is not None
    free_turns = [t for t in call.turns if t.who == "caller" and t.source == "speech"]
    assert len(free_turns) >= 3


async def test_ask_for_an_agent_by_voice(hotline, engines, caller_speech):
    goal = Goal(speech=[caller_speech("saya mau bicara dengan petugas", 2)],
                intent="petugas", yes=caller_speech("ya", 2), no=caller_speech("tidak", 2),
                barge_in_after_s=1.0, max_turns=4)
    caller = ReactiveCaller(engines.script, goal, speed=4.0)
    res = await run_caller(hotline.peer, hotline.router, caller, caller_id="081377778888")
    assert res.ended_by == "transfer", (caller.outcome, res.warnings)
    # the default script hands general requests to the sample queues.conf's "hotline"
    assert res.variables["IVR_TRANSFER"] == "1" and res.variables["IVR_QUEUE"] == "hotline"
    call_id = res.variables["IVR_CALL_ID"]
    ctx = await hotline.store.handoffs.context(call_id)
    spoken = [t for t in ctx["transcript"] if t["who"] == "caller"]
    assert spoken and any("petugas" in (t.get("text") or "").lower() or t.get("intent") == "petugas" for t in spoken)
    assert ctx["reason"] and ctx["queue"] == "hotline" and "requested_queue" not in ctx and ctx["caller"]
    assert "081377778888" not in str(ctx)
    call = await hotline.store.calls.get(call_id)
    assert call.end_reason == "transferred"


async def test_speech_over_a_prompt_stops_it(hotline, engines, caller_speech):
    from telephony.peer import Hangup, SayPcm, Silence, WaitForPrompt

    loop = asyncio.get_running_loop()
    t0: list[float] = []
    speech = caller_speech("halo saya mau tanya soal bpjs", 2)
    call = hotline.peer.start_call(
        [WaitForPrompt(), Silence(1.5), SayPcm(speech, 8000), Silence(1.0), Hangup()], realtime=True,
        on_event=lambda ev: t0.append(loop.time()) if ev.kind == "call_started" else None)
    res = await call.result()
    barges = [d for d in hotline.by_kind("barged") if d.get("by") == "speech"]
    assert len(barges) == 1
    b = barges[0]
    greeting = engines.prompts.get(engines.script.states["welcome"].say[0].text)
    # order, not speed (the latency itself is measured by bench/bench_calls.py): the caller's
    # speech began, the endpointer saw it, then playback was told to stop
    assert b["onset"] <= b["detected"] <= b["stopped"]
    start = res.speech_starts[0]
    # content: the greeting was cut, most of its 7 s never reached the caller
    heard_greeting = sum(1 for t in res.heard_times if t < start + 2.0) * 0.02
    assert heard_greeting < greeting.duration - 3.0
