"""What callers still ask after hearing a service's answer: follow-up questions per service.

The dialog scripts answer follow-up questions in place (``answers:`` on an information state:
"berapa biayanya?", "syaratnya apa?" after the KTP answer). Each is stored as a caller turn in
the information state with the question as its intent (outcome accepted, or confirmed /
corrected), while the call's ``service`` stays the service. For heads of service this is policy
evidence: "a third of KTP callers ask where to go" says the answer, or the office's public
information, lacks the place.

Which intents are questions, their labels and the states that answer them come from the live
script (:class:`FollowUpSpec`, built from a ``dialogs.Script`` where one is at hand: the web
app, the scheduler, the CLI); this module reads only the database.

Per service (``calls.service``) of the calls that started in a period:

* ``heard``: calls that reached a state answering questions (a caller turn there, or the call
  ended there: a caller who hung up right after the answer heard it too);
* per question: how many of those calls asked it at least once, and the share of ``heard``;
* ``asked``: calls that asked any question.

Counts under the disclosure threshold are shown as ``"<5"`` by the pages and reports (a
question asked by one or two callers of a small service must not point at a person).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, func, or_, select

from ivr.storage.catalog import service_words
from ivr.analytics.beyond import BeyondSpec
from ivr.analytics.db import Source, table
from ivr.storage.models import CallRow, TurnRow
from ivr.storage.script_view import LiveScriptView

if TYPE_CHECKING:
    from dialogs import Script

__all__ = ["FollowUpSpec", "QuestionCount", "ServiceQuestions", "FollowUpReport", "follow_up_questions",
           "LiveSpec"]


#: outcomes of a question turn the dialog answered (asked and understood)
_ANSWERED = ("accepted", "confirmed", "corrected")


@dataclass(frozen=True)
class FollowUpSpec:
    """The follow-up questions of a script: intent -> label staff read (script order), and per
    state that answers questions, which ones it answers."""

    questions: Mapping[str, str] = field(default_factory=dict)
    answers: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_script(cls, script: Any) -> "FollowUpSpec":
        """From a ``dialogs.Script`` (duck-typed: ``states`` with ``answers``, ``intents`` with
        ``label``): the questions in the order the script declares its intents."""
        answers = {sid: frozenset(st.answers) for sid, st in script.states.items() if st.answers}
        asked = {q for qs in answers.values() for q in qs}
        questions = {i: (getattr(script.intents.get(i), "label", None) or i)
                     for i in script.intents if i in asked}
        questions.update({q: q for q in sorted(asked) if q not in questions})
        return cls(questions, answers)

    @property
    def states(self) -> frozenset[str]:
        return frozenset(self.answers)

    def key(self) -> tuple[object, ...]:
        """Hashable, for caches."""
        return (tuple(self.questions.items()), tuple(sorted((s, tuple(sorted(q))) for s, q in self.answers.items())))

    def label(self, intent: str) -> str:
        return self.questions.get(intent, intent)

    def __bool__(self) -> bool:
        return bool(self.questions) and bool(self.answers)


@dataclass(frozen=True)
class QuestionCount:
    intent: str
    label: str
    calls: int            # calls (of those that heard the answer) that asked it
    share: float          # calls / heard
    #: the service's answering state answers it (the script answers processing time only after
    #: some services); a question not offered is shown as "-", not as 0
    offered: bool = True


@dataclass(frozen=True)
class ServiceQuestions:
    service: str
    label: str
    heard: int            # calls about the service that reached a state answering questions
    asked: int            # of those, calls that asked any follow-up question
    questions: tuple[QuestionCount, ...]   # every question of the script, offered and most asked first

    @property
    def asked_share(self) -> float:
        return self.asked / self.heard if self.heard else 0.0


@dataclass(frozen=True)
class FollowUpReport:
    start: date
    end: date
    services: tuple[ServiceQuestions, ...]  # most calls that heard an answer first
    spec: FollowUpSpec

    @property
    def heard(self) -> int:
        return sum(s.heard for s in self.services)

    @property
    def asked(self) -> int:
        return sum(s.asked for s in self.services)

    def totals(self) -> tuple[QuestionCount, ...]:
        """Each question over all services (share of the calls that heard an answer which
        offers it), most asked first."""
        n: dict[str, int] = {}
        of: dict[str, int] = {}
        for s in self.services:
            for q in s.questions:
                if q.offered:
                    n[q.intent] = n.get(q.intent, 0) + q.calls
                    of[q.intent] = of.get(q.intent, 0) + s.heard
        return _ordered(n, self.spec, of, frozenset(of))


def _ordered(counts: Mapping[str, int], spec: FollowUpSpec, heard: Mapping[str, int] | int,
             offered: frozenset[str]) -> tuple[QuestionCount, ...]:
    order = {q: i for i, q in enumerate(spec.questions)}
    rows = []
    for q in spec.questions:
        of = heard if isinstance(heard, int) else heard.get(q, 0)
        n = int(counts.get(q, 0))
        rows.append(QuestionCount(q, spec.label(q), n, n / of if of else 0.0, q in offered))
    rows.sort(key=lambda r: (not r.offered, -r.calls, order[r.intent]))
    return tuple(rows)


def follow_up_questions(src: Source, start: date, end: date, spec: FollowUpSpec,
                        services: Iterable[str] | None = None) -> FollowUpReport:
    """Per service, the follow-up questions asked after its answer, in calls that started on
    the local days ``start`` .. ``end`` (inclusive). ``services``: only these (all by default)."""
    if not spec:
        return FollowUpReport(start, end, (), spec)
    c, t = table(CallRow), table(TurnRow)
    a, b = src.day_start(start), src.day_start(end + timedelta(days=1))
    states, questions = sorted(spec.states), list(spec.questions)
    in_period = [c.c.started_at >= a, c.c.started_at < b, c.c.service.is_not(None)]
    if services is not None:
        in_period.append(c.c.service.in_(list(services)))
    reached = or_(c.c.end_state.in_(states),
                  exists().where(t.c.call_id == c.c.id, t.c.who == "caller", t.c.state.in_(states)))
    asked_turn = and_(t.c.who == "caller", t.c.intent.in_(questions), t.c.state.in_(states),
                      t.c.outcome.in_(_ANSWERED))
    with src.engine.connect() as conn:
        heard: dict[str, int] = {s: int(n) for s, n in conn.execute(
            select(c.c.service, func.count()).where(*in_period, reached).group_by(c.c.service)).all()}
        joined = t.join(c, c.c.id == t.c.call_id)
        per_q = conn.execute(
            select(c.c.service, t.c.intent, func.count(func.distinct(t.c.call_id))).select_from(joined)
            .where(*in_period, asked_turn).group_by(c.c.service, t.c.intent)).all()
        any_q: dict[str, int] = {s: int(n) for s, n in conn.execute(
            select(c.c.service, func.count(func.distinct(t.c.call_id))).select_from(joined)
            .where(*in_period, asked_turn).group_by(c.c.service)).all()}
        # the answering states each service's calls reached: which questions it offers
        where: list[tuple[str, str]] = [(s, st) for s, st in conn.execute(
            select(c.c.service, c.c.end_state).distinct().where(*in_period, c.c.end_state.in_(states)))]
        where += [(s, st) for s, st in conn.execute(
            select(c.c.service, t.c.state).distinct().select_from(joined)
            .where(*in_period, t.c.who == "caller", t.c.state.in_(states)))]
    offered: dict[str, set[str]] = {}
    for svc, state in where:
        offered.setdefault(svc, set()).update(spec.answers.get(state, ()))
    counts: dict[str, dict[str, int]] = {}
    for svc, intent, n in per_q:
        counts.setdefault(svc, {})[intent] = int(n)
    rows = []
    for svc, n_heard in heard.items():
        # a question asked in a call that never reached an answering state cannot happen (the
        # question turn is in one); the max guards data recorded otherwise
        n_heard = max(n_heard, any_q.get(svc, 0))
        # a service a script editor added reads "Layanan izin usaha", as on the desk, not its code
        rows.append(ServiceQuestions(svc, service_words(svc), n_heard, any_q.get(svc, 0),
                                     _ordered(counts.get(svc, {}), spec, n_heard,
                                              frozenset(offered.get(svc, ())))))
    rows.sort(key=lambda r: (-r.heard, r.label))
    return FollowUpReport(start, end, tuple(rows), spec)


@dataclass(frozen=True)
class _Specs:
    """What the analytics read from one script version."""

    follow_ups: FollowUpSpec = field(default_factory=FollowUpSpec)
    beyond: BeyondSpec = field(default_factory=BeyondSpec)


class LiveSpec:
    """The :class:`FollowUpSpec` (and :class:`~ivr.analytics.beyond.BeyondSpec`) of the script
    callers hear now: the live version in the scripts store (edited on the web pages), else
    the script file; parsed once per version."""

    def __init__(self, store: Any, script_path: Path) -> None:
        self._view = LiveScriptView(store, script_path, _specs_of, _Specs(),
                                    "follow-up questions and out-of-scope topics")

    async def get(self) -> FollowUpSpec:
        """The follow-up questions of the live script."""
        return (await self._view.get()).follow_ups

    async def beyond(self) -> BeyondSpec:
        """The out-of-scope topics of the live script (labels for the page and reports)."""
        return (await self._view.get()).beyond


def _specs_of(script: Script) -> _Specs:
    return _Specs(FollowUpSpec.from_script(script), BeyondSpec.from_script(script))
