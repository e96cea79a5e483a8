"""Where callers get stuck: per dialog state of each script version.

Reads the turns of the calls that started in a period (``turns.state`` and ``turns.outcome``,
migration 0003) and reports, per (script version, state): entries (calls that reached it),
no-input, no-match, invalid answers, confirmations and corrections, hand-offs asked for there,
hang-ups (``calls.end_state`` of calls the caller hung up; the state of their last turn when that
is empty; the state of the words the hang-up cut when the caller was speaking), callers who hung
up there mid-sentence (a caller turn cut by the hang-up, outcome "interrupted": counted apart,
not as a turn the dialog took, nor in its time or confidence; each also counts in ``hangups``
at the same state, even when the words continued an answer the dialog had already taken and
moved on from),
the median time spent (from a turn to the next one, or to the end of the call), and the
recognition confidence; plus the intents most often confirmed or corrected. Turns without a state (recorded before migration
0003 or by a hotline that does not fill it) are counted apart.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select

from ivr.analytics.db import Source, epoch_float, table
from ivr.storage.models import CallRow, TurnRow

__all__ = ["StateRow", "IntentRow", "StuckReport", "stuck_states"]


@dataclass(frozen=True)
class StateRow:
    script_version: str
    state: str
    entries: int            # calls that had a turn in this state
    turns: int              # the caller's inputs the dialog took (not the speech a hang-up cut)
    no_input: int
    no_match: int
    invalid: int
    confirmations: int      # confirmed + corrected
    corrected: int
    handoffs: int
    hangups: int
    median_s: float | None  # time spent per turn
    confidence: float | None  # mean recognition confidence of speech turns
    #: callers who hung up here while speaking (their words are on record, cut by the hang-up;
    #: these calls count in ``hangups`` too)
    cut_off: int = 0

    @property
    def trouble_rate(self) -> float:
        """Share of turns that went wrong (no input, no match, invalid)."""
        return (self.no_input + self.no_match + self.invalid) / self.turns if self.turns else 0.0

    @property
    def hangup_rate(self) -> float:
        return self.hangups / self.entries if self.entries else 0.0


@dataclass(frozen=True)
class IntentRow:
    intent: str
    turns: int
    confirmed: int
    corrected: int
    confidence: float | None

    @property
    def confirm_rate(self) -> float:
        return (self.confirmed + self.corrected) / self.turns if self.turns else 0.0


@dataclass(frozen=True)
class StuckReport:
    start: date
    end: date
    states: tuple[StateRow, ...]          # worst first (trouble + hang-ups)
    intents: tuple[IntentRow, ...]        # most often confirmed or corrected first
    turns_without_state: int


def stuck_states(src: Source, start: date, end: date) -> StuckReport:
    c, t = table(CallRow), table(TurnRow)
    a, b = src.day_start(start), src.day_start(end + timedelta(days=1))
    # One joined read of plain values, times as float seconds: at a million calls a year a
    # month holds about 250k caller turns, and building a datetime and a row object for each
    # cost more than the whole rest of the report.
    q = (select(t.c.call_id, t.c.state, t.c.outcome, t.c.intent, t.c.confidence, t.c.source,
                epoch_float(t.c.at), c.c.script_version, c.c.end_reason, epoch_float(c.c.ended_at),
                c.c.end_state)
         .join(c, c.c.id == t.c.call_id)
         .where(c.c.started_at >= a, c.c.started_at < b, t.c.who == "caller")
         .order_by(t.c.call_id, t.c.idx))
    with src.engine.connect() as conn:
        rows = conn.execute(q).all()
    acc: dict[tuple[str, str], dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    intents: dict[str, list[float | str]] = defaultdict(list)
    no_state = 0
    hang: Counter[tuple[str, str]] = Counter()
    n = len(rows)
    for i, (call_id, state, outcome, intent, confidence, source, at, version, end_reason, ended_at,
            end_state) in enumerate(rows):
        if state is None:
            no_state += 1
            continue
        key = (version or "?", state)
        d = acc[key]
        d["calls"].append(call_id)
        last = i + 1 >= n or rows[i + 1][0] != call_id
        if outcome == "interrupted":
            # words a hang-up cut (the only caller turn marked so): no input the dialog took
            d["cut"].append(call_id)
        else:
            d["outcome"].append(outcome or "")
            nxt = ended_at if last else rows[i + 1][6]
            if nxt is not None and at is not None:
                d["dur"].append(nxt - at)
            if confidence is not None and source == "speech":
                d["conf"].append(confidence)
        if last and end_reason == "caller_hangup":
            # where the caller was when they hung up: speaking (words the hang-up cut, the last
            # caller turn), in that turn's state, also when the dialog had moved on (the words
            # continued the answer taken there, ``follows``: calls.end_state is a later state),
            # so that hangups and cut_off count the same call at the same state; else where the
            # call ended (calls.end_state), else the caller's last turn. The end state still
            # counts the call among its entries (the dialog reached it).
            where = (version or "?", state if outcome == "interrupted" else end_state or state)
            hang[where] += 1
            acc[where]["ended"].append(call_id)
            if end_state and end_state != where[1]:
                acc[(version or "?", end_state)]["ended"].append(call_id)
        if intent and outcome in ("accepted", "confirmed", "corrected"):
            intents[intent].append(outcome)
            if confidence is not None:
                intents["~" + intent].append(confidence)
    states = []
    for (ver, state), d in acc.items():
        o = d["outcome"]
        states.append(StateRow(
            ver, state, len(set(d["calls"]) | set(d["ended"])), len(o), o.count("no_input"), o.count("no_match"), o.count("invalid"),
            o.count("confirmed") + o.count("corrected"), o.count("corrected"), o.count("agent"), hang[(ver, state)],
            float(np.median(d["dur"])) if d["dur"] else None,
            float(np.mean(d["conf"])) if d["conf"] else None, len(set(d["cut"]))))
    states.sort(key=lambda s: -(s.no_input + s.no_match + s.invalid + s.hangups))
    irows = []
    for name, outs in intents.items():
        if name.startswith("~"):
            continue
        conf = intents.get("~" + name)
        confs = [float(x) for x in conf] if conf else []
        irows.append(IntentRow(name, len(outs), outs.count("confirmed"), outs.count("corrected"),
                               float(np.mean(confs)) if confs else None))
    irows.sort(key=lambda r: -(r.confirmed + r.corrected))
    return StuckReport(start, end, tuple(states), tuple(irows), no_state)


