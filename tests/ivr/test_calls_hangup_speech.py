"""A caller who hangs up in the middle of a sentence (the default hotline, no second look),
through the Asterisk peer with the real models: what they had said is on record, recognised,
marked cut by the hang-up (" …", interrupted), in the transcript and in the store; the dialog
never acted on it."""

from __future__ import annotations

import pytest

from tests.ivr.test_calls_second_look import _sounds_like_some_of, _stored
from tests.waiting import eventually

pytestmark = pytest.mark.slow

SAID = "rumah saya kemasukan pencuri tadi malam dan televisi saya hilang, saya mau melapor"


async def _says_part_and_hangs_up(hotline, caller_speech) -> None:
    """The caller says the first 2.6 s of ``SAID`` ("rumah saya kemasukan pencuri ...") and the
    line drops; skips when the endpointer ended a turn inside that speech first."""
    from telephony.peer import Hangup, SayPcm, WaitForPrompt, WaitForSilence

    part = caller_speech(SAID, 1)[: int(2.6 * 8000) * 2]
    steps = [WaitForPrompt(), WaitForSilence(min_seconds=0.8, timeout=60.0), SayPcm(part, 8000), Hangup()]
    call = hotline.peer.start_call(steps, realtime=1.0, max_seconds=240.0)
    await call.result()
    # (a call held open by the cut speech's recognition would never end)
    await eventually(lambda: hotline.by_kind("call_ended"), "the call's end", timeout=120)
    if hotline.by_kind("heard"):
        pytest.skip("the endpointer ended a turn inside the speech before the hang-up")


async def test_a_caller_who_hangs_up_mid_sentence_is_on_record(hotline, caller_speech):
    await _says_part_and_hangs_up(hotline, caller_speech)
    assert hotline.by_kind("cut_by_hangup"), [k for (_, _, k, _) in hotline.events]
    session = next(s for (_, s, k, _) in hotline.events if k == "call_started")
    said = [e for e in session.transcript if e["who"] == "caller"]
    assert len(said) == 1 and said[0].get("interrupted") and said[0]["state"] == "main_menu", said
    cut = said[0]["text"]
    assert cut.endswith(" …") and _sounds_like_some_of(cut, "rumah saya kemasukan pencuri"), cut
    caller = [t for t in await _stored(hotline) if t.who == "caller"]
    assert [(t.text, t.outcome) for t in caller] == [(cut, "interrupted")], caller
    calls = await hotline.store.calls.recent(limit=10)
    assert calls[0].end_reason == "caller_hangup"


async def test_a_recognizer_that_hangs_does_not_hold_the_call_open(hotline, caller_speech, monkeypatch):
    # the cut speech's recognition is bounded: the call's end (its record, the engine's own
    # hang-up handling) goes on without it, and the call ends as a hang-up, not an error
    import asyncio

    understander = hotline.runtime.release().understander

    async def hangs(_utt, _listen):
        await asyncio.Event().wait()

    monkeypatch.setattr("ivr.calls.session.CUT_RECOGNITION_S", 1.0)
    monkeypatch.setattr(type(understander), "understand", lambda self, utt, listen: hangs(utt, listen))
    await _says_part_and_hangs_up(hotline, caller_speech)  # unbounded, the call would never end
    assert not hotline.by_kind("cut_by_hangup")
    calls = await hotline.store.calls.recent(limit=10)
    assert calls[0].end_reason == "caller_hangup" and calls[0].ended_at is not None
