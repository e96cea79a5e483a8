"""When is the caller's turn over? The end-of-turn decision of the live media loop.

The recognizer decodes speculatively once the caller has been quiet for a moment
(``asr.RecognitionStream.early``). :class:`TurnTaking` reads that early result the way the
dialog would (``ivr.calls.understand.Understander.decide``: fused, calibrated, emergency) and
asks ``asr.endpointing.EndOfTurn`` how much trailing silence the turn needs: a short hangover
for a confident, complete answer to what the state expects (or an emergency), a long one when
the words look cut ("saya mau urus ... eh"), the state's digits are not all there, the result
is unsure, or the voice did not close (``asr.prosody``: read from the audio the early result was
decoded from). The media loop (``ivr.calls.media.audiosocket``) ends the utterance as soon
as the silence reaches that wait; speech resuming drops the early result.

Pure and synchronous; one decision per early result (the media caches it).
"""

from __future__ import annotations

from dataclasses import replace

from asr import Transcript
from asr.endpointing import EarlyResult, EndOfTurn, TurnDecision, TurnExpectation
from asr.prosody import ending
from dialogs.actions import Listen
from ivr.calls.ports import TurnPolicy
from ivr.calls.understand import Understander

#: digits a slot kind is said with (min, max; 0 = unknown): a NIK has 16, an Indonesian phone
#: number 10-13 (08xx...), the others any count
DIGIT_COUNTS: dict[str, tuple[int, int]] = {"nik": (16, 16), "phone": (10, 13)}


def turn_expectation(listen: Listen) -> TurnExpectation:
    kind = listen.expect_kind
    if kind == "digits":
        lo, hi = DIGIT_COUNTS.get(listen.kind, (0, 0))
        return TurnExpectation("digits", lo, hi)
    return TurnExpectation(kind)


class TurnTaking:
    def __init__(self, understander: Understander, decider: EndOfTurn | None = None) -> None:
        self.understander = understander
        self.decider = decider or EndOfTurn()

    def decide(self, listen: Listen, early: Transcript, audio: bytes = b"", sample_rate: int = 8000) -> TurnDecision:
        """``audio``: what ``early`` was decoded from (how the voice ends; empty: unknown)."""
        exp = turn_expectation(listen)
        conf = 0.0
        if exp.kind in ("intent", "yesno") and listen.expect:
            u = self.understander.decide(early, listen)
            if u.emergency == "now":
                return TurnDecision(self.decider.short_ms, "emergency")
            # the calibrated probability when known (what EndOfTurn.confident_at was tuned on,
            # bench/bench_endpointing.py), else the dialog's confidence
            conf = u.probability if u.probability is not None else (u.confidence if u.intent else 0.0)
        result = EarlyResult(early.text, conf, early.audio_seconds)
        d = self.decider.decide(result, exp)
        if audio and self.decider.voice_can_hold(d, exp):
            # only a short wait can grow: the voice is read then (a few ms of numpy)
            end = ending(audio, sample_rate)
            if end is not None and end.continues:
                d = self.decider.decide(replace(result, continues=True), exp)
        return d

    def policy(self, listen: Listen) -> TurnPolicy:
        """The media's ``turn_policy`` while ``listen`` is what comes next."""
        def policy(early: Transcript, audio: bytes = b"", sample_rate: int = 8000) -> TurnDecision:
            return self.decide(listen, early, audio, sample_rate)

        return policy
