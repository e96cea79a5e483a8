"""One intent and one confidence from a spoken turn.

Fuses the recognizer's label posteriors (constrained scoring of the expected phrases, see
asr.whisper_backend) with the dialog's own text intent matcher run on the transcript:

    p(label) = (1 - w) * asr_posterior(label) + w * matcher_share(label)

The weight is small because the matcher on noisy Whisper text misleads more than it helps
(bench/bench_asr.py reports both). ``matcher_share`` spreads the matcher's confidence on its best intent (the rest evenly), so a
matcher that is unsure hardly moves the recognizer's decision. Without recognizer scores (free
or slot listens, or a recognizer without constrained scoring) the matcher decides alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asr import Expectation, Transcript

MATCHER_WEIGHT = 0.1  # measured: 0.25 lowered bench accuracy 60% -> 54%


@dataclass(frozen=True)
class Understood:
    text: str
    intent: str | None
    confidence: float
    scores: dict[str, float] = field(default_factory=dict)
    transcript: Transcript | None = None
    slots: dict | None = None


def expectation_for(listen: Any) -> Expectation:
    """An asr.Expectation from a dialogs Listen action (or anything with kind/expect)."""
    kind = getattr(listen, "kind", "intent") or "intent"
    if kind not in ("intent", "yesno", "digits", "free"):
        kind = "intent" if kind == "choice" else ("free" if kind == "free" else "digits")
    return Expectation(phrases=dict(getattr(listen, "expect", None) or {}), kind=kind)


def fuse(transcript: Transcript, kind: str, labels: list[str], matcher: Any = None,
         weight: float = MATCHER_WEIGHT) -> Understood:
    """Combine recognizer posteriors and the dialog matcher's view of the transcript."""
    asr_scores = {k: float(v) for k, v in (transcript.scores or {}).items() if k in labels} if labels else {}
    match = None
    if matcher is not None and transcript.text and labels:
        match = matcher.match(transcript.text, labels)
    if kind in ("free", "digits") or not labels:
        return Understood(transcript.text, None, float(transcript.confidence), {}, transcript)
    share: dict[str, float] = {}
    if match is not None and match.intent in labels:
        rest = (1.0 - match.confidence) / max(1, len(labels) - 1)
        share = {lab: (match.confidence if lab == match.intent else rest) for lab in labels}
    if asr_scores:
        total = sum(asr_scores.values()) or 1.0
        base = {lab: asr_scores.get(lab, 0.0) / total for lab in labels}
        fused = {lab: (1 - weight) * base[lab] + weight * share[lab] for lab in labels} if share else base
    elif share:
        fused = share
    else:
        return Understood(transcript.text, None, 0.0, {}, transcript)
    best = max(fused, key=fused.__getitem__)
    return Understood(transcript.text, best, float(fused[best]), fused, transcript)


class Understander:
    """Recognise a turn with what the dialog expects and decide its intent."""

    def __init__(self, recognizer: Any, script: Any = None, weight: float = MATCHER_WEIGHT) -> None:
        self.recognizer = recognizer
        self.script = script
        self.weight = weight

    def _matcher(self, listen: Any) -> Any:
        if self.script is None:
            return None
        kind = getattr(listen, "kind", "intent")
        if kind == "yesno":
            return getattr(self.script, "yesno_matcher", None)
        if kind == "choice":
            return getattr(self.script, "choice_matchers", {}).get(getattr(listen, "state", ""))
        return getattr(self.script, "matcher", None)

    async def understand(self, utt: Any, rate: Any = None, listen: Any = None) -> Understood:
        """``understand(pcm, rate, listen)``, or ``understand(utterance, listen)`` where the
        utterance has ``pcm``/``sample_rate`` and optionally an open recognition ``stream``."""
        if listen is None and not isinstance(rate, int):
            listen, rate = rate, None
        expect = expectation_for(listen)
        stream = getattr(utt, "stream", None)
        if stream is not None:
            transcript = await stream.finish()
        elif isinstance(utt, bytes | bytearray):
            transcript = await self.recognizer.recognize(bytes(utt), int(rate), expect)
        else:
            transcript = await self.recognizer.recognize(utt.pcm, utt.sample_rate, expect)
        return fuse(transcript, expect.kind, list(expect.labels), self._matcher(listen), self.weight)
