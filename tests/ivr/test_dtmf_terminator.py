"""Issue 15.10, through the Asterisk peer: after the NIK prompt ("16 digits, then #") the '#'
the caller presses after the sixteenth digit ends the NIK; it neither cuts the next question
nor answers it ("Maaf, saya belum mengerti"), in the AudioSocket and the AGI-only media."""

from __future__ import annotations

import pytest

from ivr.simulation.simcaller import Answer, Goal, ReactiveCaller, run_caller
from tests.ivr.conftest import close_hotline, make_hotline

pytestmark = pytest.mark.slow

NIK = "3174011508850001"  # a valid NIK (birth date 15-08-1985)


@pytest.mark.parametrize("media_mode", ["audiosocket", "agi"])
async def test_the_terminator_after_sixteen_digits_is_not_the_next_answer(engines, tmp_path, caller_speech,
                                                                          media_mode):
    hl = await make_hotline(engines, tmp_path, media_mode=media_mode)
    try:
        place = caller_speech("di jalan merdeka kelurahan sukamaju", 1)
        goal = Goal(answers={
            "main_menu": Answer(keys="5"), "complaint_category": Answer(keys="1"),
            "complaint_location": Answer(speech=place, speech_alt=[caller_speech("jalan merdeka", 0)]),
            "complaint_description": Answer(speech=caller_speech("jalannya rusak dan berlubang", 1)),
            "complaint_identity": Answer(keys="1"),
            "complaint_name": Answer(speech=caller_speech("budi santoso", 1)),
            "complaint_nik": Answer(keys=NIK + "#"),
            "complaint_phone_confirm": Answer(keys="1"),
        }, hang_up_in="complaint_readback", max_turns=12)
        caller = ReactiveCaller(engines.script, goal, speed=4.0)
        res = await run_caller(hl.peer, hl.router, caller, caller_id="081234567890")
        pressed = [(d.get("state"), d.get("digits")) for d in hl.by_kind("pressed")]
        assert "complaint_readback" in caller.outcome.states, (caller.outcome, res.warnings, pressed)
        said = [d["text"] for d in hl.by_kind("say")]
        assert not any("belum mengerti" in t for t in said), (
            [(d.get("state"), d["text"][:50]) for d in hl.by_kind("say")], pressed)
        # the question after the NIK was heard whole, not cut by the '#'
        confirm = [d for d in hl.by_kind("said") if "nomor ini benar" in (d.get("text") or "")]
        assert confirm and confirm[0]["completed"], (confirm, hl.by_kind("barged"))
        assert len([t for t in said if "nomor ini benar" in t]) == 1
        tickets = await hl.store.tickets.query()
        assert len(tickets) == 1 and tickets[0].reporter_phone is not None
        call = await hl.store.calls.get(tickets[0].call_id)
        answers = [(t.state, t.outcome) for t in call.turns if t.who == "caller" and t.source == "dtmf"]
        assert ("complaint_nik", "accepted") in answers and ("complaint_phone_confirm", "accepted") in answers
        assert ("complaint_phone_confirm", "no_match") not in answers, answers
    finally:
        await close_hotline(hl)
