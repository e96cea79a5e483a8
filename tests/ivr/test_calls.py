"""Whole calls through the Asterisk peer: real Whisper on espeak-ng caller audio at telephone
quality, the real dialog engine and script, espeak prompts from the prompt cache, SQLite store."""

from __future__ import annotations

import pytest

from ivr.simcaller import Goal, ReactiveCaller, run_caller, service_state
from tests.ivr.callcheck import frames_found

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
                success_state=target, listen_after_success_s=3.0)
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
    assert frames_found(res.heard_pcm, other, 0.0, 2.5) < 0.05

    # the call is on record: closed, the spoken request with its intent and timings
    calls = await hotline.store.list_calls()
    assert len(calls) == 1
    call = await hotline.store.get_call(calls[0].id)
    assert call.ended_at is not None and call.end_reason == "caller_hangup"
    spoken = [t for t in call.turns if t.who == "caller" and t.source == "speech"]
    assert spoken and spoken[-1].asr_ms is not None and spoken[-1].asr_ms > 0
    assert any(t.intent == "ktp" for t in spoken) or any(
        t.who == "caller" and t.text and t.text.strip().lower() in ("ya", "iya") for t in call.turns)
    replied = [t for t in spoken if t.reply_ms is not None]
    assert replied and all(0 <= t.reply_ms < 60_000 for t in replied)
    prompts = [t.text for t in call.turns if t.who == "system"]
    assert answer in prompts


def _says_static(script, state: str) -> str:
    return script.states[state].say[0].text
