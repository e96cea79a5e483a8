"""One intent and one confidence from a spoken turn.

Fuses the recognizer's label posteriors (constrained scoring of the expected phrases, see
asr.whisper_backend) with the dialog's own text intent matcher run on the transcript:

    p(label) = (1 - w) * asr_posterior(label) + w * matcher_share(label)

The weight is small because the matcher on noisy Whisper text misleads more than it helps
(bench/bench_asr.py reports both). ``matcher_share`` spreads the matcher's confidence on its
best intent (the rest evenly), so a matcher that is unsure hardly moves the recognizer's
decision. Without recognizer scores (free
or slot listens, or a recognizer without constrained scoring) the matcher decides alone.

Three adjustments are applied on top (measured with bench/bench_asr.py):

* Intent posteriors are flattened (``INTENT_FLATTEN``) so that a wrong intent rarely reaches
  the script's accept threshold (``settings.confidence.accept``: 0.6 in the default script,
  0.7 when a script sets none) and the dialog confirms instead.
* Menu navigation labels (the listen's ``navigation``: labels that lead into a sub-menu, e.g.
  "pajak" -> the tax menu, as the script declares its menus) compete with the services they
  lead to; in a listen that also offers services their posterior is multiplied by
  ``MENU_PRIOR`` (dev set: 76% -> 82% top-1; a caller who only says "pajak" still reaches the
  sub-menu when nothing else fits, or is asked to confirm).
* Yes/no: the dialog trusts a yes/no intent whatever its confidence, so one is only passed on
  when it is reliable: the rule-based reading of the transcript (``dialogs.engine.yes_or_no``:
  no wrong answer on 60 bench answers) or a constrained-scoring posterior of at least
  ``YESNO_MIN`` (no wrong answer above it on the bench). Otherwise the turn goes back to the
  dialog with a confidence under its confirm threshold, which asks again (or offers the keypad)
  instead of guessing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from asr import Expectation, Recognizer, Transcript
from dialogs import IntentMatcher, Script
from dialogs.actions import Listen
from dialogs.engine import yes_or_no
from ivr.calls.ports import Understood, Utterance

MATCHER_WEIGHT = 0.1  # measured: 0.25 lowered bench accuracy 60% -> 54%
MENU_PRIOR = 0.2  # posterior factor of navigation labels next to services (dev: drop or 0.2 same)
YESNO_MIN = 0.9  # posterior a yes/no needs without support from the transcript (bench: 0.8
# and 0.85 let a wrong answer through, 0.9 none of 180)
YESNO_AGREE = 0.9  # confidence when the transcript and the scoring agree
YESNO_TEXT_ONLY = 0.7  # confidence when only the transcript's words decide
UNSURE = 0.25  # below every script's confirm threshold: the dialog asks again
INTENT_FLATTEN = 1.25  # intent posteriors p -> p^(1/1.25), renormalised (a softer softmax):
# measured on 162 utterances (bench dev, test and the call bench's requests): a wrong intent
# at >= 0.6 (the default script's accept threshold: taken without confirmation) 2 -> 0;
# accepted share 36% -> 23%

def expectation_for(listen: Listen) -> Expectation:
    """What the recognizer should expect for a dialog ``Listen``: its labelled phrases and the
    expectation kind dialogs computes for it (``Listen.expect_kind``)."""
    return Expectation(phrases=dict(listen.expect), kind=listen.expect_kind)


def fuse(transcript: Transcript, kind: str, labels: Sequence[str], matcher: IntentMatcher | None = None,
         weight: float = MATCHER_WEIGHT, navigation: Collection[str] = ()) -> Understood:
    """Combine recognizer posteriors and the dialog matcher's view of the transcript.
    ``navigation``: the labels that lead into a sub-menu (``Listen.navigation``)."""
    asr_scores = {k: float(v) for k, v in (transcript.scores or {}).items() if k in labels} if labels else {}
    match = None
    if matcher is not None and transcript.text and labels:
        match = matcher.match(transcript.text, list(labels))
    if kind in ("free", "digits") or not labels:
        return Understood(transcript.text, None, float(transcript.confidence))
    share: dict[str, float] = {}
    if match is not None and match.intent in labels:
        rest = (1.0 - match.confidence) / max(1, len(labels) - 1)
        share = {lab: (match.confidence if lab == match.intent else rest) for lab in labels}
    if asr_scores:
        if kind == "intent":
            asr_scores = _flatten(asr_scores, INTENT_FLATTEN)
        asr_scores = _menu_prior(asr_scores, navigation)
        total = sum(asr_scores.values()) or 1.0
        base = {lab: asr_scores.get(lab, 0.0) / total for lab in labels}
        fused = {lab: (1 - weight) * base[lab] + weight * share[lab] for lab in labels} if share else base
    elif share:
        fused = share
    else:
        return Understood(transcript.text, None, 0.0)
    best = max(fused, key=fused.__getitem__)
    if kind == "yesno" and ("yes" in labels or "no" in labels):
        return _yesno(transcript, fused, best)
    return Understood(transcript.text, best, float(fused[best]), fused)


def _flatten(scores: dict[str, float], k: float) -> dict[str, float]:
    out = {lab: max(p, 1e-12) ** (1.0 / k) for lab, p in scores.items()}
    total = sum(out.values())
    return {lab: p / total for lab, p in out.items()}


def _menu_prior(scores: dict[str, float], navigation: Collection[str]) -> dict[str, float]:
    """Down-weight navigation labels when services are offered beside them."""
    menus = [lab for lab in scores if lab in navigation]
    if not menus or len(menus) == len(scores):
        return scores
    out = {lab: (p * MENU_PRIOR if lab in menus else p) for lab, p in scores.items()}
    total = sum(out.values()) or 1.0
    return {lab: p / total for lab, p in out.items()}


def _yesno(transcript: Transcript, fused: dict[str, float], best: str) -> Understood:
    text = transcript.text
    rule = yes_or_no(text) if text else None
    if rule is not None and rule in fused:
        conf = max(fused[rule], YESNO_AGREE) if best == rule else YESNO_TEXT_ONLY
        return Understood(text, rule, float(conf), fused)
    if best in ("yes", "no"):
        if fused[best] >= YESNO_MIN:
            return Understood(text, best, float(fused[best]), fused)
        # unsure: no intent, and a confidence that makes the dialog ask again
        return Understood(text, None, min(float(fused[best]), UNSURE), fused)
    return Understood(text, best, float(fused[best]), fused)


class Understander:
    """Recognise a turn with what the dialog expects and decide its intent
    (the :class:`ivr.calls.ports.Understanding` port)."""

    def __init__(self, recognizer: Recognizer, script: Script, weight: float = MATCHER_WEIGHT) -> None:
        self.recognizer = recognizer
        self.script = script
        self.weight = weight

    def _matcher(self, listen: Listen) -> IntentMatcher | None:
        if listen.kind == "yesno":
            return self.script.yesno_matcher
        if listen.kind == "choice":
            return self.script.choice_matchers.get(listen.state)
        return self.script.matcher

    async def understand(self, utt: Utterance, listen: Listen) -> Understood:
        """An utterance from the call's media (decoded by its open recognition stream if any)."""
        expect = expectation_for(listen)
        if utt.stream is not None:
            transcript = await utt.stream.finish()
        else:
            transcript = await self.recognizer.recognize(utt.pcm, utt.sample_rate, expect)
        return fuse(transcript, expect.kind, expect.labels, self._matcher(listen), self.weight,
                    listen.navigation)

    async def understand_pcm(self, pcm: bytes, sample_rate: int, listen: Listen) -> Understood:
        """Audio from elsewhere (``ivr nlu --audio``), decoded whole."""
        expect = expectation_for(listen)
        transcript = await self.recognizer.recognize(pcm, sample_rate, expect)
        return fuse(transcript, expect.kind, expect.labels, self._matcher(listen), self.weight,
                    listen.navigation)
