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
    number: bool = False  # the first reply names the emergency number (112): the emergency
    # message, the safety question, or the main menu's "not understood" (both name it first)


def outcome(script, text: str, confidence: float = 1.0, intent: str | None = None, emergency: str = "") -> Outcome:
    from dialogs import DialogEngine, Heard

    e = DialogEngine(script)
    e.start()
    from dialogs.actions import Say

    acts = e.handle(Heard(text, confidence, intent=intent, emergency=emergency))
    number = any(isinstance(a, Say) and "112" in a.text for a in acts)
    if e.state == EMERGENCY_STATE:
        return Outcome("direct", "darurat", True, number)
    if e.phase == "confirming":
        return Outcome("confirm", e.snapshot()["pending"], False, number)
    if e.state and e.state.startswith("menu_"):
        return Outcome("submenu", e.state, False, number)
    if e.last_intent is not None and e.state != "main_menu":
        return Outcome("direct", e.last_intent, False, number)
    return Outcome("none", None, False, number)


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
        # emergency callers whose first reply names the emergency number (acted on at once, asked
        # the safety question, or not understood: the default script's prompts name it)
        "emergency_number_first_reply": _r(sum(c.out.number for c in emerg) / len(emerg)) if emerg else None,
        # the cost of naming it: other callers (services, globals, out of scope, passing mentions)
        # whose first reply names the emergency number too
        "emergency_number_to_others": _r(sum(c.out.number for c in non_emerg) / len(non_emerg)) if non_emerg else None,
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


# ------------------------------------------------------------------ task success (whole dialogs)

@dataclass(frozen=True)
class Task:
    """One caller's task through the dialog engine: reached the right service, in how many of
    the caller's turns (their requests, yes/no answers and key presses)."""

    key: str
    label: str
    success: bool
    turns: int
    how: str  # the path: e.g. "speech", "speech>yes", "speech>no>speech>yes", "speech>submenu>key"


def _target(script, label: str):
    """The (state, phase) the main menu reaches on ``label`` when it is certain."""
    from dialogs import DialogEngine, Heard

    e = DialogEngine(script)
    e.start()
    e.handle(Heard(label, 1.0, intent=label))
    return e.state, e.phase


def _submenu_key(script, state: str, label: str) -> str | None:
    listen = script.listen_action(state)
    for key, lab in (listen.dtmf or {}).items():
        if lab == label:
            return key
    return None


def _menu_key(script, label: str) -> str | None:
    """The main menu's key leading to ``label`` (directly or through a sub-menu)."""
    dtmf = dict(script.listen_action("main_menu").dtmf or {})  # with the global keys ("8": darurat)
    for key, lab in dtmf.items():
        if lab == label:
            return key
    for key, lab in dtmf.items():
        if lab.startswith("menu_") and _submenu_key(script, lab, label) is not None:
            return key
    return None


def task(script, label: str, attempt: Callable[[int], object], max_turns: int = 6, key: str = "",
         max_said: int = 2) -> Task:
    """A caller who wants ``label`` in the main menu. ``attempt(i)`` is the i-th time they say
    their request (a ``dialogs.Heard`` as the runtime hands it over; a repeat is a different
    rendering). They answer a confirmation truthfully ("ya" / "bukan", typed: yes/no is
    measured apart), press the key the sub-menu's prompt names for their service, after
    ``max_said`` requests not understood use the keys the main menu's prompt names, and give
    up after ``max_turns`` turns or a wrong service acted on."""
    from dialogs import DialogEngine, Heard, Pressed

    target = _target(script, label)
    e = DialogEngine(script)
    e.start()
    turns, said, path = 0, 0, []
    while turns < max_turns and not e.ended:
        if e.phase == "confirming":
            right = e.snapshot()["pending"] == label
            e.handle(Heard("ya" if right else "bukan", 1.0))
            path.append("yes" if right else "no")
        elif e.state and e.state.startswith("menu_") and e.state != target[0]:
            k = _submenu_key(script, e.state, label)
            if k is None:
                break
            e.handle(Pressed(k))
            path.append("key")
        elif e.state == "main_menu" and said >= max_said:
            k = _menu_key(script, label)
            if k is None:
                break
            e.handle(Pressed(k))
            path.append("key")
        elif e.state == "main_menu":
            e.handle(attempt(said))
            said += 1
            path.append("speech")
        else:
            break
        turns += 1
        if (e.state, e.phase) == target or (label == "darurat" and e.state == EMERGENCY_STATE):
            return Task(key, label, True, turns, ">".join(path))
        if e.state not in ("main_menu",) and not (e.state or "").startswith("menu_") and e.phase != "confirming":
            break  # somewhere else: a wrong service (or the call ended)
    return Task(key, label, False, turns, ">".join(path))


def task_figures(tasks: Sequence[Task]) -> dict:
    ok = [t for t in tasks if t.success]
    turns = [t.turns if t.success else 99 for t in tasks]
    return {
        "tasks": len(tasks),
        "task_success": _r(len(ok) / max(1, len(tasks))),
        "median_turns": statistics.median(turns) if turns else None,
        "mean_turns_success": _r(statistics.mean(t.turns for t in ok)) if ok else None,
        "one_turn": _r(sum(t.turns == 1 for t in ok) / max(1, len(tasks))),
    }
