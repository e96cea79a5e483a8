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

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace

from asr import EmergencyAudio, Expectation, Recognizer, Transcript
from asr.calibration import DEFAULT_PATH as CALIBRATION_PATH
from asr.calibration import Calibrator, TurnEvidence
from asr.textmatch import PhraseMatcher
from dialogs import IntentMatcher, Script
from dialogs.emergency import DEFAULT as EMERGENCY_DETECTOR
from dialogs.emergency import EmergencyDetector
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


FIRST_PASS_AT = 0.99  # confidence (on the script's ladder) at which a first pass is final: on
# the bench (bench/probe_first_pass.py, dev and test, 186 renderings each) the decisions are
# then as good as the whole scoring's (same accuracy, no wrong acceptance more) for 10% / 6% of
# turns (refitted calibrator); lower bars (0.6-0.95) answered up to 20-23% early but added a
# wrong acceptance on dev (a status enquiry taken as a new complaint)
SECOND_PASS_AT = 0.7  # confidence (on the script's ladder) at which the second stage's service
# decision is final, without the extra hearings (0.9x / 1.1x speed, ~40% of a decode):
# bench/probe_views_gate.py derives, from the cached per-hearing scores, the live decision with
# and without them; at or above 0.7 (calibrated probability >= 0.97; accept is 0.6 = 0.959)
# skipping them changed no dialog outcome on dev but an emergency's (then left to the hearings)
# while skipping them for 18% of turns; test and blind: only confirmations of the right service
# turned into acceptances (docs/understanding.md, phase 4)

# what the audio says of an emergency (asr.audio_emergency, Transcript.emergency_audio), used
# only with ``settings.emergency_audio``: a turn the recognizer left borderline (dialogs.emergency's
# "maybe": darurat leads, or nearly) is acted on at once when the binary head reaches
# EMERGENCY_HEAD_AT and the audio intent classifier's own darurat posterior (the convolution over
# the encoder frames, asr.audio_intent, since phase 6 emerg3; before, a frozen copy of the old
# pooled classifier at 0.6 / 0.2) reaches EMERGENCY_INTENT_AT, unless the words read as paperwork
# or the past. Chosen on dev (bench/probe_emergency_audio.py): the non-emergencies in that zone
# sat at head 0.629 / intent 0.576 (the passing mention d178), 0.963 / 0.042, 0.913 / 0.164,
# 0.834 / 0.182; 0.7 / 0.3 keeps a margin of 0.07 and 0.12 to them and sits inside a plateau
# (0.7 / 0.2 acts on the same); dev live emergencies acted on at once 0.289 -> 0.461, false
# emergencies 0 (docs/understanding.md, phase 6 emerg3). Phase 7 (emerg4): on the re-rendered dev
# set d178 read 0.762 / 0.623, over both bars; the bars were kept and a request word in the
# transcript ("sekaran mahu ...") now vetoes the rule (EmergencyDetector.audio_vetoed)
EMERGENCY_HEAD_AT = 0.7
EMERGENCY_INTENT_AT = 0.3
# the detector's readings of a turn the audio rule may act on ("maybe": darurat leads or
# reaches maybe_any_min; "near" would add darurat anywhere from near_min: measured on dev in
# phase 7, see docs/understanding.md)
EMERGENCY_AUDIO_REASONS: tuple[str, ...] = ("maybe",)

CALIBRATED_MIN_LABELS = 8  # the calibrator was fitted on the main menu (21 labels): it judges
# listens as large as a menu; smaller ones (sub-menus, choices) keep the fused confidence


class Understander:
    """Recognise a turn with what the dialog expects and decide its intent
    (the :class:`ivr.calls.ports.Understanding` port).

    ``calibrator`` (``asr.calibration``): in a menu-sized intent listen, the confidence handed to
    the dialog is the calibrated probability that the decision is right, put on the script's
    ladder (accepted without a question at or above the probability whose accepted decisions
    were right >= 97% of the time on the dev set). ``detector`` (``dialogs.emergency``): in a
    listen that offers the emergency label, an emergency read from the transcript or the
    recognizer's scores is decided at once (confidence 1); a transcript that reads as
    paperwork or a past event keeps an emergency decision off (the best other label, asked)."""

    def __init__(self, recognizer: Recognizer, script: Script, weight: float = MATCHER_WEIGHT,
                 calibrator: Calibrator | None = None, detector: EmergencyDetector | None = None,
                 emergency_audio: bool = False) -> None:
        self.recognizer = recognizer
        self.script = script
        self.weight = weight
        self.calibrator = calibrator
        self.detector = detector
        self.emergency_audio = emergency_audio  # heard_emergency on the transcript's audio readings
        self._phrases: dict[tuple[str, str, tuple[tuple[str, tuple[str, ...]], ...]], PhraseMatcher] = {}

    def _matcher(self, listen: Listen) -> IntentMatcher | None:
        if listen.kind == "yesno":
            return self.script.yesno_matcher
        if listen.kind == "choice":
            return self.script.choice_matchers.get(listen.state)
        return self.script.matcher

    def _phrase_matcher(self, listen: Listen) -> PhraseMatcher:
        # by the phrases too: a state's confirmation question and the offer of its whole answer
        # listen in the same state with other phrases (keyed by the state alone, whichever came
        # first served both; the offer's labels are the state's own, its yes/no phrases not)
        key = (listen.state, listen.kind, tuple((k, tuple(v)) for k, v in sorted(listen.expect.items())))
        pm = self._phrases.get(key)
        if pm is None:
            pm = self._phrases[key] = PhraseMatcher(dict(listen.expect))
        return pm

    def fused(self, transcript: Transcript, listen: Listen) -> Understood:
        """The fused decision before the emergency reading and the calibration."""
        expect = expectation_for(listen)
        return fuse(transcript, expect.kind, expect.labels, self._matcher(listen), self.weight, listen.navigation)

    def evidence(self, transcript: Transcript, listen: Listen, u: Understood) -> TurnEvidence:
        """What the calibrator judges of the decision ``u`` (the fit, bench/fit_calibration.py,
        builds its features here too, so fitted and live features are the same)."""
        expect = expectation_for(listen)
        matcher = self._matcher(listen)
        m = matcher.match(u.text, list(expect.labels)) if matcher is not None and u.text else None
        return TurnEvidence(decided=u.intent, fused=u.scores, asr=transcript.scores, text=u.text,
                            text_confidence=transcript.words[0].confidence if transcript.words else 0.0,
                            audio_seconds=transcript.audio_seconds,
                            matcher_intent=m.intent if m is not None else None,
                            matcher_confidence=m.confidence if m is not None else 0.0,
                            text_scores=self._phrase_matcher(listen).scores(u.text) if u.text else {})

    def decide(self, transcript: Transcript, listen: Listen) -> Understood:
        """The dialog's view of ``transcript`` (synchronous and cheap: string matching and a dot
        product; the media loop calls it on speculative results to decide the end of a turn)."""
        expect = expectation_for(listen)
        u = self.fused(transcript, listen)
        if expect.kind != "intent" or not expect.labels or listen.kind == "yesno":
            return u
        det = self.detector
        if det is not None and det.label in expect.labels:
            v = det.from_speech(u.text, u.scores)
            if v.emergency or (self.emergency_audio
                               and heard_emergency(transcript.emergency_audio, v.reason, det.audio_vetoed(u.text))):
                return replace(u, intent=det.label, confidence=1.0, probability=1.0, emergency="now")
            if v.reason in ("maybe", "near"):
                u = replace(u, emergency=v.reason)
            if u.intent == det.label and det.vetoed(u.text):
                others = {k: p for k, p in u.scores.items() if k != det.label}
                if not others:
                    return replace(u, intent=None, confidence=min(u.confidence, UNSURE))
                best = max(others, key=others.__getitem__)
                accept = self.script.settings.accept
                return replace(u, intent=best, confidence=min(u.confidence, accept - 0.01))
        cal = self.calibrator
        if cal is None or u.intent is None or len(expect.labels) < CALIBRATED_MIN_LABELS \
                or (det is not None and u.intent == det.label):
            # an emergency decision keeps its own rule: it is never asked back
            return u
        p = cal.probability(self.evidence(transcript, listen, u))
        s = self.script.settings
        return replace(u, confidence=cal.script_confidence(p, accept=s.accept, confirm=s.confirm), probability=p)

    def decisive(self, listen: Listen) -> Callable[[Transcript], bool] | None:
        """For a recognition stream's ``enough``: a staged result is final when the dialog would
        act on it at once and without doubt: an emergency, or a menu-sized intent listen's
        decision at or above a bar on the calibrated ladder: ``FIRST_PASS_AT`` for the first
        pass (first stage and transcript), ``SECOND_PASS_AT`` for the second stage's result
        before the extra hearings (``Transcript.stage`` "second"; see
        ``asr.RecognitionStream.enough``), where only a service decision (not an emergency)
        skips them. None where nothing is calibrated (every turn is
        scored whole). ``bench/probe_first_pass.py`` and ``bench/probe_views_gate.py`` compare
        these decisions with the whole scoring's."""
        if self.calibrator is None or listen.expect_kind != "intent" or listen.kind == "yesno" \
                or len(listen.expect) < CALIBRATED_MIN_LABELS:
            return None
        accept = self.script.settings.accept
        first_bar, second_bar = max(accept, FIRST_PASS_AT), max(accept, SECOND_PASS_AT)

        emergency = self.detector.label if self.detector is not None else None

        def enough(transcript: Transcript) -> bool:
            u = self.decide(transcript, listen)
            if transcript.stage == "second":
                # an emergency read here is left to the extra hearings: on dev it was the only
                # outcome they changed above the bar (probe_views_gate)
                return u.emergency != "now" and u.intent not in (None, emergency) and u.confidence >= second_bar
            return u.emergency == "now" or (u.intent is not None and u.confidence >= first_bar)

        return enough

    async def transcribe(self, utt: Utterance, listen: Listen) -> Transcript:
        """The utterance's final transcript (from its open recognition stream if any)."""
        if utt.stream is not None:
            return await utt.stream.finish()
        return await self.recognizer.recognize(utt.pcm, utt.sample_rate, expectation_for(listen))

    async def understand(self, utt: Utterance, listen: Listen) -> Understood:
        """An utterance from the call's media (decoded by its open recognition stream if any)."""
        transcript = await self.transcribe(utt, listen)
        got = time.monotonic()
        u = self.decide(transcript, listen)
        return replace(u, timings={**transcript.timings, "transcript_at": got, "decided_at": time.monotonic()})

    async def understand_pcm(self, pcm: bytes, sample_rate: int, listen: Listen) -> Understood:
        """Audio from elsewhere (``ivr nlu --audio``), decoded whole."""
        transcript = await self.recognizer.recognize(pcm, sample_rate, expectation_for(listen))
        return self.decide(transcript, listen)


def heard_emergency(audio: EmergencyAudio | None, reason: str, vetoed: bool) -> bool:
    """What the audio says (``audio``) makes an emergency of a turn the recognizer's scores left
    borderline (``reason`` "maybe" of ``dialogs.emergency``); never against words that read as
    paperwork or the past, or say what the caller wants (``vetoed``: the detector's
    ``audio_vetoed``, since phase 7)."""
    if audio is None or vetoed or reason not in EMERGENCY_AUDIO_REASONS:
        return False
    return audio.head >= EMERGENCY_HEAD_AT and audio.intent >= EMERGENCY_INTENT_AT


def live_understander(recognizer: Recognizer, script: Script, emergency_audio: bool = False) -> Understander:
    """The understander calls use: the shipped calibrator (``asr/calibration.json``) and the
    emergency detector (with the audio's emergency readings when ``emergency_audio``)."""
    calibrator = Calibrator.load(CALIBRATION_PATH) if CALIBRATION_PATH.exists() else None
    return Understander(recognizer, script, calibrator=calibrator, detector=EMERGENCY_DETECTOR,
                        emergency_audio=emergency_audio)
