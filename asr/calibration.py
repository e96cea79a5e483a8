"""Calibrated confidence: the probability that a turn's intent decision is right.

The recognizer's posterior (and the hotline's fused posterior, ``ivr.calls.understand.fuse``) ranks
the labels well but says little about how often the leader is right: a clear "saya mau bikin
KTP elektronik" scored 0.51. A logistic regression over a few properties of the turn gives a
probability that can be trusted, so a state can accept without asking whenever the accepted
answers are right at least 97% of the time:

* the fused posterior of the decision and its margin over the runner-up (log-ratio);
* the recognizer's own posterior, and whether its leader is the decision;
* whether the dialog's text matcher, run on the transcript, agrees, and how sure it is;
* whether the extra hearings (the utterance at 0.9 and 1.1 times its speed) agree on the
  leader, and how much the decision's score moves between them;
* the transcript: the free decoding's own confidence, its length, repeated words (Whisper
  loops on audio it cannot read), the audio's length.

Fitted on the dev part of the bench set (``bench/fit_calibration.py``: scikit-learn's
LogisticRegression, at fit time only), stored as a small JSON file next to this module
(``calibration.json``: feature names, standardisation, weights, the accept and confirm
thresholds and what they were fitted on). Applying it is a dot product: no dependency.

``Calibrator.script_confidence`` maps the probability onto the dialog script's own ladder
(accept >= 0.6, confirm >= 0.3), so the script's semantics stay as they are: a probability at
or above ``accept_at`` becomes >= 0.6 (accepted without a question), one at or above
``confirm_at`` lands in 0.3-0.6 (confirmed), the rest below 0.3 (asked again).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PATH = Path(__file__).with_name("calibration.json")


@dataclass(frozen=True)
class TurnEvidence:
    """What is known about one recognised turn when its intent is decided."""

    decided: str | None  # the intent the hotline would act on
    fused: Mapping[str, float]  # the hotline's posteriors per label (ivr.calls.understand.fuse)
    asr: Mapping[str, float]  # the recognizer's own posteriors (Transcript.scores)
    text: str = ""  # the free transcript
    text_confidence: float = 0.0  # the free decoding's own confidence (Transcript.words)
    audio_seconds: float = 0.0
    matcher_intent: str | None = None  # the dialog's text matcher on the transcript
    matcher_confidence: float = 0.0
    # per label, its score in each hearing (the recognizer's extra hearings), when known
    views: Mapping[str, Sequence[float]] = field(default_factory=dict)
    # per label, how well the transcript matches its phrases (asr.textmatch.PhraseMatcher)
    text_scores: Mapping[str, float] = field(default_factory=dict)


def features(e: TurnEvidence) -> dict[str, float]:
    """The calibrator's inputs for one turn (all finite)."""
    fused = sorted(e.fused.values(), reverse=True) if e.fused else [0.0]
    p1 = fused[0]
    p2 = fused[1] if len(fused) > 1 else 0.0
    asr_best = max(e.asr, key=e.asr.__getitem__) if e.asr else None
    words = e.text.lower().replace(",", " ").replace(".", " ").split()
    repeated = 1.0 - len(set(words)) / len(words) if words else 0.0
    view = e.views.get(e.decided or "", ()) if e.views else ()
    if e.views and view:
        leads = [max(e.views, key=lambda lab: e.views[lab][i]) for i in range(len(view))]
        views_agree = sum(lead == e.decided for lead in leads) / len(leads)
        views_spread = float(max(view) - min(view))
    else:
        views_agree, views_spread = 1.0, 0.0
    if e.text_scores and e.decided in e.text_scores:
        text_match = float(e.text_scores[e.decided])
        others = [v for k, v in e.text_scores.items() if k != e.decided]
        text_margin = text_match - (max(others) if others else 0.0)
    else:
        text_match, text_margin = 0.0, 0.0
    return {
        "p_fused": p1,
        "log_margin": math.log(max(p1, 1e-6) / max(p2, 1e-6)),
        "p_asr": float(e.asr.get(e.decided, 0.0)) if e.asr and e.decided else 0.0,
        "asr_agrees": float(asr_best == e.decided),
        "matcher_agrees": float(e.matcher_intent is not None and e.matcher_intent == e.decided),
        "matcher_confidence": float(e.matcher_confidence) if e.matcher_intent == e.decided else 0.0,
        "text_match": text_match,
        "text_margin": text_margin,
        "views_agree": views_agree,
        "views_spread": min(views_spread, 10.0),
        "text_confidence": float(e.text_confidence),
        "log_words": math.log1p(len(words)),
        "repeated_words": repeated,
        "log_seconds": math.log(max(e.audio_seconds, 0.1)),
    }


@dataclass(frozen=True)
class Calibrator:
    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    accept_at: float  # probability at or above which a decision is accepted without a question
    confirm_at: float  # probability at or above which it is confirmed; below, asked again
    info: Mapping[str, object] = field(default_factory=dict)  # what it was fitted on, figures

    @classmethod
    def load(cls, path: str | Path | None = None) -> Calibrator:
        d = json.loads(Path(path or DEFAULT_PATH).read_text(encoding="utf-8"))
        return cls(names=tuple(d["features"]), mean=tuple(d["mean"]), scale=tuple(d["scale"]),
                   coef=tuple(d["coef"]), intercept=float(d["intercept"]), accept_at=float(d["accept_at"]),
                   confirm_at=float(d["confirm_at"]), info=d.get("info", {}))

    def to_json(self) -> str:
        return json.dumps({"features": list(self.names), "mean": list(self.mean), "scale": list(self.scale),
                           "coef": list(self.coef), "intercept": self.intercept, "accept_at": self.accept_at,
                           "confirm_at": self.confirm_at, "info": dict(self.info)}, indent=1, ensure_ascii=False)

    def probability(self, e: TurnEvidence | Mapping[str, float]) -> float:
        """P(the decision is right) for a turn (or for its ``features``)."""
        f = features(e) if isinstance(e, TurnEvidence) else e
        z = self.intercept
        for name, m, s, w in zip(self.names, self.mean, self.scale, self.coef, strict=True):
            z += w * (float(f[name]) - m) / s
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))

    def script_confidence(self, p: float, accept: float = 0.6, confirm: float = 0.3) -> float:
        """``p`` on the script's ladder: >= accept_at -> [accept, 1], >= confirm_at ->
        [confirm, accept), else [0, confirm). Monotone."""
        if p >= self.accept_at:
            return accept + (1.0 - accept) * (p - self.accept_at) / max(1e-9, 1.0 - self.accept_at)
        if p >= self.confirm_at:
            return confirm + (accept - confirm) * (p - self.confirm_at) / max(1e-9, self.accept_at - self.confirm_at)
        return confirm * p / max(1e-9, self.confirm_at)
