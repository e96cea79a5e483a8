"""What the hotline does with a caller's first request, and the figures over a bench part.

``outcome`` runs the real dialog engine of the default script: the caller's words arrive in
the main menu as the runtime hands them over (typed: the text alone; spoken: the transcript
with the intent and confidence decided from the audio). The engine either acts at once on an
intent (``direct``; an emergency enters the emergency state), asks "Maksud Anda ...?"
(``confirm``), goes to a sub-menu, or does not understand (``none``).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

EMERGENCY_STATE = "emergency"


@dataclass(frozen=True)
class Outcome:
    how: str  # direct | confirm | submenu | none
    intent: str | None  # what was acted on or asked about
    emergency: bool  # the emergency action was taken at once


def outcome(script, text: str, confidence: float = 1.0, intent: str | None = None, emergency: str = "") -> Outcome:
    from dialogs import DialogEngine, Heard

    e = DialogEngine(script)
    e.start()
    e.handle(Heard(text, confidence, intent=intent, emergency=emergency))
    if e.state == EMERGENCY_STATE:
        return Outcome("direct", "darurat", True)
    if e.phase == "confirming":
        return Outcome("confirm", e.snapshot()["pending"], False)
    if e.state and e.state.startswith("menu_"):
        return Outcome("submenu", e.state, False)
    if e.last_intent is not None and e.state != "main_menu":
        return Outcome("direct", e.last_intent, False)
    return Outcome("none", None, False)


@dataclass(frozen=True)
class Case:
    """One utterance's truth and what the hotline did with it."""

    key: str
    label: str  # truth ("none": out of scope)
    kind: str  # service | global | oos | emergency | passing
    guess: str | None  # top intent (recognizer alone, or the matcher for text)
    decided: str | None  # the hotline's intent decision (fused) before the dialog's ladder
    out: Outcome


def figures(cases: Sequence[Case]) -> dict:
    """Accuracy, share accepted without confirmation and its precision, confirmations answered
    "no", emergencies acted on at once and false emergencies."""
    n = len(cases)
    inscope = [c for c in cases if c.label != "none"]
    direct = [c for c in cases if c.out.how == "direct"]
    direct_ok = [c for c in direct if c.out.intent == c.label]
    confirm = [c for c in cases if c.out.how == "confirm"]
    emerg = [c for c in cases if c.label == "darurat"]
    non_emerg = [c for c in cases if c.label != "darurat"]
    passing = [c for c in cases if c.kind == "passing"]
    routed = [c for c in inscope if c.out.intent == c.label and c.out.how in ("direct", "confirm")]
    return {
        "utterances": n,
        "guess_accuracy": _r(sum(c.guess == c.label for c in inscope) / max(1, len(inscope))),
        "decision_accuracy": _r(sum(c.decided == c.label for c in inscope) / max(1, len(inscope))),
        "routed_first_turn": _r(len(routed) / max(1, len(inscope))),
        "accepted_without_confirmation": _r(len(direct) / max(1, n)),
        "accepted_precision": _r(len(direct_ok) / len(direct)) if direct else None,
        "accepted_wrong": len(direct) - len(direct_ok),
        "confirmations_asked": _r(len(confirm) / max(1, n)),
        "confirmations_answered_no": _r(sum(c.out.intent != c.label for c in confirm) / len(confirm)) if confirm else None,
        "not_understood": _r(sum(c.out.how == "none" for c in cases) / max(1, n)),
        "emergencies": len(emerg),
        "emergency_acted_at_once": _r(sum(c.out.emergency for c in emerg) / len(emerg)) if emerg else None,
        "emergency_missed": [c.key for c in emerg if not c.out.emergency],
        # the safety-net question "Apakah ini keadaan darurat?" (a confirmation of darurat)
        "emergency_asked": _r(sum(c.out.how == "confirm" and c.out.intent == "darurat" for c in emerg)
                              / len(emerg)) if emerg else None,
        "emergency_question_to_others": sum(c.out.how == "confirm" and c.out.intent == "darurat"
                                            for c in non_emerg),
        "false_emergencies": sum(c.out.emergency for c in non_emerg),
        "false_emergency_keys": [c.key for c in non_emerg if c.out.emergency],
        "passing_mentions": len(passing),
        "passing_routed_first_turn": _r(sum(c.out.intent == c.label for c in passing) / len(passing)) if passing else None,
    }


def _r(x: float) -> float:
    return round(x, 3)


def spread(values: Iterable[float | None]) -> dict:
    v = [x for x in values if x is not None]
    if not v:
        return {"median": None}
    return {"median": round(statistics.median(v), 3), "min": round(min(v), 3), "max": round(max(v), 3)}


def by_replica(cases_of: Callable[[int], Sequence[Case]], replicas: int, keys: Sequence[str]) -> dict:
    """Median with min/max over the replicas for each scalar figure in ``keys``."""
    per = [figures(cases_of(r)) for r in range(replicas)]
    return {k: spread(p[k] for p in per) for k in keys}
