"""What the transcript says is what happened (issue 16.6), through the Asterisk peer: a prompt
the caller never heard is not stored as said; a prompt cut by the caller's speech or hang-up
is stored up to where it was cut (by the fraction of its audio played) and marked interrupted."""

from __future__ import annotations

import pytest

from telephony.peer import Hangup, SayPcm, Silence, WaitForPrompt

pytestmark = pytest.mark.slow


def _welcome(engines) -> str:
    return engines.script.states["welcome"].say[0].text


async def _only_call(hotline):
    calls = await hotline.store.calls.recent()
    assert len(calls) == 1
    return await hotline.store.calls.get(calls[0].id)


def _a_cut_prefix(stored: str, full: str) -> bool:
    assert stored.endswith(" …"), stored
    kept = stored[:-2].split()
    return 0 < len(kept) < len(full.split()) and full.split()[:len(kept)] == kept


async def test_a_caller_who_hangs_up_at_once_heard_no_prompt(hotline):
    await hotline.peer.start_call([Hangup()], realtime=True).result()
    call = await _only_call(hotline)
    assert call.end_reason == "caller_hangup"
    assert [t for t in call.turns if t.who == "system"] == [], [t.text for t in call.turns]


async def test_a_welcome_cut_by_a_hang_up_is_stored_as_far_as_it_was_played(hotline, engines):
    await hotline.peer.start_call([WaitForPrompt(), Silence(3.0), Hangup()], realtime=True).result()
    call = await _only_call(hotline)
    prompts = [t for t in call.turns if t.who == "system"]
    said = [d["text"] for d in hotline.by_kind("say")]
    assert prompts and len(prompts) <= len(said), [(t.text, t.outcome) for t in prompts]
    # the prompt playing when the caller hung up: stored up to the cut, marked; those before it whole
    last = prompts[-1]
    assert last.outcome == "interrupted" and _a_cut_prefix(last.text, said[len(prompts) - 1]), last.text
    assert [t.text for t in prompts[:-1]] == said[:len(prompts) - 1]
    assert all(t.outcome is None for t in prompts[:-1])


async def test_a_prompt_cut_by_speech_is_stored_up_to_the_cut(hotline, engines, caller_speech):
    speech = caller_speech("halo saya mau tanya soal bpjs", 2)
    await hotline.peer.start_call([WaitForPrompt(), Silence(1.5), SayPcm(speech, 8000), Silence(1.0), Hangup()],
                                  realtime=True).result()
    assert [d for d in hotline.by_kind("barged") if d.get("by") == "speech"]
    call = await _only_call(hotline)
    first = [t for t in call.turns if t.who == "system"][0]
    assert first.outcome == "interrupted" and _a_cut_prefix(first.text, _welcome(engines)), first.text
    # prompts played to the end carry no mark
    assert all(t.outcome is None for t in call.turns if t.who == "system" and t is not first and
               not (t.text or "").endswith(" …"))
