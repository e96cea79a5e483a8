"""Script test cases: utterance sequences with the states and actions they must produce.

File format (YAML)::

    script: default.yaml          # optional, relative to this file
    cases:
      - name: KTP by speech
        steps:
          - start: {caller_number: "081234567890", today: "2026-11-28"}
            expect: {state: main_menu}
          - say: mau bikin ktp         # Heard(text, confidence 1.0)
            expect: {state: info_ktp, intent: ktp, say_contains: gratis}
          - heard: {text: ktp, confidence: 0.5}
            expect: {phase: confirming}
          - press: "1"
          - no_input: true
          - transfer_failed: no_agents
          - ticket_created: "100001"
          - ticket_status: {ticket_id: "100001", status: open, updated: "2026-11-20"}
          - hangup: true
          - hangup: {cut: "di jalan merdeka dekat"}   # hung up mid-sentence (Hangup(cut=...)):
                                                      # said in the current state unless `state`
                                                      # is given; `follows: true` continues the
                                                      # answer the dialog took there

`expect` keys: state, phase, intent (the last accepted intent; a follow-up question answered
in place by the step), actions (list of action type names, in order),
say_contains (text or list; every item must be in the joined Say texts), say_not_contains,
transfer (queue), ticket (kind and a subset of fields), lookup (ticket id), end (reason),
variables (subset).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from dialogs.actions import Action, CreateTicket, EndCall, LookupTicket, Say, Transfer
from dialogs.engine import DialogEngine
from dialogs.errors import ScriptError, ScriptIssue
from dialogs.events import (
    CallStarted,
    CutAnswer,
    Event,
    Hangup,
    Heard,
    NoInput,
    PlaybackDone,
    Pressed,
    TicketCreated,
    TicketStatus,
    TransferFailed,
)
from dialogs.model import Script
from dialogs.yaml_source import fmt_path, parse_yaml

_STR = {"type": "string"}
_EXPECT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "state": _STR, "phase": _STR, "intent": {"type": ["string", "null"]},
        "actions": {"type": "array", "items": _STR},
        "say_contains": {"oneOf": [_STR, {"type": "array", "items": _STR}]},
        "say_not_contains": {"oneOf": [_STR, {"type": "array", "items": _STR}]},
        "transfer": _STR, "lookup": _STR, "end": _STR,
        "ticket": {"type": "object", "additionalProperties": False, "required": ["kind"],
                   "properties": {"kind": _STR, "fields": {"type": "object"}}},
        "variables": {"type": "object", "additionalProperties": _STR},
    },
}
_EVENT_KEYS = ["start", "say", "heard", "press", "no_input", "playback_done",
               "transfer_failed", "ticket_created", "ticket_status", "hangup"]
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["cases"],
    "properties": {
        "script": _STR,
        "cases": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "steps"],
                "properties": {
                    "name": _STR,
                    "steps": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "start": {"type": "object", "additionalProperties": False,
                                          "properties": {"caller_number": _STR, "call_id": _STR,
                                                         "today": _STR, "variables": {"type": "object"}}},
                                "say": _STR,
                                "heard": {"type": "object", "additionalProperties": False,
                                          "required": ["text"],
                                          "properties": {"text": _STR, "confidence": {"type": "number"},
                                                         "intent": _STR, "slots": {"type": "object"}}},
                                "press": _STR,
                                "no_input": {"const": True},
                                "playback_done": {"const": True},
                                "transfer_failed": {"enum": ["no_agents", "closed_hours", "error"]},
                                "ticket_created": _STR,
                                "ticket_status": {"type": "object", "additionalProperties": False,
                                                  "required": ["ticket_id", "status"],
                                                  "properties": {"ticket_id": _STR,
                                                                 "status": {"type": ["string", "null"]},
                                                                 "updated": {"type": ["string", "null"]}}},
                                "hangup": {"oneOf": [
                                    {"const": True},
                                    {"type": "object", "additionalProperties": False, "required": ["cut"],
                                     "properties": {"cut": _STR, "state": _STR, "follows": {"type": "boolean"}}}]},
                                "expect": _EXPECT,
                            },
                            "minProperties": 1,
                        },
                    },
                },
            },
        },
    },
}


@dataclass
class CaseResult:
    name: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    steps: int = 0


def default_cases_path(script_path: Path) -> Path:
    return script_path.with_name(script_path.stem + ".tests.yaml")


def load_cases(path: Path) -> dict[str, Any]:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(name, [ScriptIssue("", None, f"cannot read file: {exc}")]) from None
    return parse_cases(name, text)


def parse_cases(name: str, text: str) -> dict[str, Any]:
    """Test cases from YAML text (``name`` labels the errors); :class:`ScriptError` if invalid."""
    doc = parse_yaml(text)
    if doc.issues:
        raise ScriptError(name, doc.issues)
    data, lines = doc.data, doc.lines
    issues = []
    for err in Draft202012Validator(SCHEMA).iter_errors(data):
        p = tuple(err.absolute_path)
        issues.append(ScriptIssue(fmt_path(p), lines.line(p), err.message))
    if isinstance(data, dict) and isinstance(data.get("cases"), list):
        for i, case in enumerate(data["cases"]):
            for j, step in enumerate(case.get("steps", []) if isinstance(case, dict) else []):
                if isinstance(step, dict):
                    events = [k for k in _EVENT_KEYS if k in step]
                    if len(events) != 1:
                        p = ("cases", i, "steps", j)
                        issues.append(ScriptIssue(fmt_path(p), lines.line(p),
                                                  f"a step has exactly one event ({', '.join(_EVENT_KEYS)})"))
    if issues or not isinstance(data, dict):
        raise ScriptError(name, issues)
    return data


def _event(step: dict[str, Any], state: str | None = None) -> Event:
    """The event a step gives the engine (``state``: the engine's current one, where words cut by
    a hang-up were said unless the step names another)."""
    if "start" in step:
        st = step["start"] or {}
        return CallStarted(caller_number=st.get("caller_number"), call_id=st.get("call_id"),
                           today=st.get("today"), variables=st.get("variables") or {})
    if "say" in step:
        return Heard(text=step["say"], confidence=1.0)
    if "heard" in step:
        h = step["heard"]
        return Heard(text=h["text"], confidence=float(h.get("confidence", 1.0)),
                     intent=h.get("intent"), slots=h.get("slots"))
    if "press" in step:
        return Pressed(step["press"])
    if "no_input" in step:
        return NoInput()
    if "playback_done" in step:
        return PlaybackDone()
    if "transfer_failed" in step:
        return TransferFailed(step["transfer_failed"])
    if "ticket_created" in step:
        return TicketCreated(step["ticket_created"])
    if "ticket_status" in step:
        t = step["ticket_status"]
        return TicketStatus(t["ticket_id"], t["status"], t.get("updated"))
    h = step.get("hangup")
    if isinstance(h, dict):
        return Hangup(cut=CutAnswer(str(h.get("state") or state or ""), str(h["cut"]),
                                    follows=h.get("follows") is True))
    return Hangup()


def _as_list(v: Any) -> list[str]:
    return [v] if isinstance(v, str) else list(v)


def check(engine: DialogEngine, actions: list[Action], expect: dict[str, Any]) -> list[str]:
    """Differences between what happened and `expect` (empty: as expected)."""
    fails = []
    says = " ".join(a.text for a in actions if isinstance(a, Say))
    names = [type(a).__name__ for a in actions]
    if "state" in expect and engine.state != expect["state"]:
        fails.append(f"state is {engine.state!r}, expected {expect['state']!r}")
    if "phase" in expect and engine.phase != expect["phase"]:
        fails.append(f"phase is {engine.phase!r}, expected {expect['phase']!r}")
    if "intent" in expect:
        # a follow-up question answered in place is what the step was taken as; the service
        # the caller came for (last_intent) stays as it was
        turn = engine.last_turn
        answered = turn is not None and turn.outcome == "accepted" and turn.intent in engine.script.questions
        got = turn.intent if answered and turn is not None else engine.last_intent
        if got != expect["intent"]:
            fails.append(f"intent is {got!r}, expected {expect['intent']!r}")
    if "actions" in expect and names != list(expect["actions"]):
        fails.append(f"actions are {names}, expected {expect['actions']}")
    for s in _as_list(expect.get("say_contains", [])):
        if s.lower() not in says.lower():
            fails.append(f"no Say contains {s!r} (said: {says[:160]!r})")
    for s in _as_list(expect.get("say_not_contains", [])):
        if s.lower() in says.lower():
            fails.append(f"a Say contains {s!r}")
    if "transfer" in expect:
        tr = [a for a in actions if isinstance(a, Transfer)]
        if not tr or tr[0].queue != expect["transfer"]:
            fails.append(f"expected Transfer to {expect['transfer']!r}, got {[t.queue for t in tr]}")
    if "ticket" in expect:
        tk = [a for a in actions if isinstance(a, CreateTicket)]
        want = expect["ticket"]
        if not tk or tk[0].kind != want["kind"]:
            fails.append(f"expected CreateTicket({want['kind']!r}), got {[t.kind for t in tk]}")
        else:
            for k, v in (want.get("fields") or {}).items():
                if str(tk[0].fields.get(k)) != str(v):
                    fails.append(f"ticket field {k} is {tk[0].fields.get(k)!r}, expected {v!r}")
    if "lookup" in expect:
        lk = [a for a in actions if isinstance(a, LookupTicket)]
        if not lk or lk[0].ticket_id != expect["lookup"]:
            fails.append(f"expected LookupTicket({expect['lookup']!r}), got {[x.ticket_id for x in lk]}")
    if "end" in expect:
        en = [a for a in actions if isinstance(a, EndCall)]
        if not en or en[0].reason != expect["end"]:
            fails.append(f"expected EndCall({expect['end']!r}), got {[e.reason for e in en]}")
    for k, v in (expect.get("variables") or {}).items():
        if engine.variables.get(k) != v:
            fails.append(f"variable {k} is {engine.variables.get(k)!r}, expected {v!r}")
    return fails


def run_cases(script: Script, cases: dict[str, Any]) -> list[CaseResult]:
    results = []
    for case in cases["cases"]:
        engine = DialogEngine(script, strict=True)
        res = CaseResult(case["name"], True)
        for i, step in enumerate(case["steps"]):
            if i == 0 and "start" not in step:
                engine.start()
            event = _event(step, engine.state)
            try:
                actions = engine.handle(event)
            except Exception as exc:  # a failing case, not a crash of the runner
                res.failures.append(f"step {i + 1}: engine raised {type(exc).__name__}: {exc}")
                break
            res.steps += 1
            for f in check(engine, actions, step.get("expect") or {}):
                res.failures.append(f"step {i + 1}: {f}")
        res.passed = not res.failures
        results.append(res)
    return results
