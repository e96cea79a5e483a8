"""A follow-up question asked by voice after an answer (and a greeting), through the Asterisk peer with the
real recognizer: the caller hears the answer to the question and stays with the service; the
call is stored as being about that service, with the question as a turn of its own."""

from __future__ import annotations

from ivr.simulation.simcaller import Answer, Goal, ReactiveCaller, run_caller
from tests.ivr.conftest import close_hotline, make_hotline


async def test_a_spoken_fee_question_is_answered_after_the_ktp_answer(engines, tmp_path, caller_speech):
    hl = await make_hotline(engines, tmp_path)
    try:
        question = caller_speech("berapa biayanya", 1)
        goal = Goal(answers={"main_menu": Answer(keys="1"), "menu_kependudukan": Answer(keys="1"),
                             "info_ktp": Answer(speech=question, speech_alt=[caller_speech("berapa biayanya", 0)])},
                    max_turns=3, barge_in_after_s=1.0)
        caller = ReactiveCaller(engines.script, goal, speed=5.0)
        res = await run_caller(hl.peer, hl.router, caller)
        assert res is not None
        fee = "info_ktp.answers.tanya_biaya[0]"
        assert fee in caller.outcome.said, caller.outcome
        calls = await hl.store.calls.recent()
        assert len(calls) == 1
        call = await hl.store.calls.get(calls[0].id)
        assert call.service == "ktp", "a question is not the service the call was about"
        spoken = [t for t in call.turns if t.who == "caller" and t.source != "dtmf"]
        assert spoken and spoken[0].state == "info_ktp" and spoken[0].intent == "tanya_biaya", spoken
        assert spoken[0].outcome == "accepted"
    finally:
        await close_hotline(hl)


async def test_a_spoken_greeting_is_answered_in_kind(engines, tmp_path, caller_speech):
    from dialogs.lang.greetings import REPLIES

    hl = await make_hotline(engines, tmp_path)
    try:
        goal = Goal(answers={"main_menu": Answer(speech=caller_speech("selamat pagi", 1))}, max_turns=1,
                    barge_in_after_s=1.0)
        caller = ReactiveCaller(engines.script, goal, speed=5.0)
        await run_caller(hl.peer, hl.router, caller)
        reply = f"greeting.{REPLIES.index('Selamat pagi.')}"
        assert reply in caller.outcome.said, caller.outcome
        # then the menu again, not an apology
        after = caller.outcome.said[caller.outcome.said.index(reply) + 1:]
        assert after and after[0].startswith("main_menu.say"), after
    finally:
        await close_hotline(hl)
