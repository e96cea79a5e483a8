"""What callers ask for that the hotline does not handle: requests outside its services, per topic.

A dialog script lists examples of requests the hotline does not handle (``out_of_scope:`` in
the script, by topic: paspor, SIM dan kepolisian, listrik PLN...). When a caller's request
matches one of them best, the dialog tells the caller it is outside the hotline's services and
the caller turn stores the topic (``turns.beyond``; its outcome stays ``no_match``). For heads
of service this is evidence of need: "40 callers this week asked about passports".

Per topic, of the calls that started in a period: how many calls were told so at least once on
that topic, and their share of all the period's calls. Counts only: the callers' words are not
shown (they may name people). Labels come from the live script (:class:`BeyondSpec`, built
where a ``dialogs.Script`` is at hand: :class:`ivr.analytics.follow_ups.LiveSpec`); a topic
the script no longer has reads as its name in words. Counts under the disclosure threshold are
shown as ``"<5"`` by the pages and reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from ivr.analytics.db import Source, table
from ivr.storage.models import CallRow, TurnRow
from ivr.storage.script_labels import TOLD_PREFIX, BeyondSpec, topic_words

__all__ = ["BeyondSpec", "TopicCount", "BeyondReport", "beyond_requests", "topic_words", "TOLD_PREFIX"]

@dataclass(frozen=True)
class TopicCount:
    topic: str
    label: str
    calls: int            # calls told at least once that a request on this topic is not handled
    share: float          # calls / all calls of the period


@dataclass(frozen=True)
class BeyondReport:
    start: date
    end: date
    calls: int            # calls that started in the period
    beyond: int           # of those, calls told at least once that a request is not handled
    topics: tuple[TopicCount, ...]   # most calls first; the script's topics nobody asked about last
    spec: BeyondSpec

    @property
    def share(self) -> float:
        return self.beyond / self.calls if self.calls else 0.0

    @property
    def asked(self) -> tuple[TopicCount, ...]:
        """The topics some call asked about."""
        return tuple(t for t in self.topics if t.calls)


def beyond_requests(src: Source, start: date, end: date, spec: BeyondSpec | None = None) -> BeyondReport:
    """Per out-of-scope topic, the calls that started on the local days ``start`` .. ``end``
    (inclusive) in which the caller was told a request on it is outside the hotline's services."""
    spec = spec or BeyondSpec()
    c, t = table(CallRow), table(TurnRow)
    a, b = src.day_start(start), src.day_start(end + timedelta(days=1))
    in_period = [c.c.started_at >= a, c.c.started_at < b]
    told = [t.c.who == "caller", t.c.beyond.is_not(None)]
    joined = t.join(c, c.c.id == t.c.call_id)
    with src.engine.connect() as conn:
        calls = int(conn.execute(select(func.count()).select_from(c).where(*in_period)).scalar_one())
        per_topic = {str(topic): int(n) for topic, n in conn.execute(
            select(t.c.beyond, func.count(func.distinct(t.c.call_id))).select_from(joined)
            .where(*in_period, *told).group_by(t.c.beyond)).all()}
        beyond = int(conn.execute(
            select(func.count(func.distinct(t.c.call_id))).select_from(joined)
            .where(*in_period, *told)).scalar_one())
    order = {topic: i for i, topic in enumerate(spec.topics)}
    names = list(spec.topics) + sorted(tp for tp in per_topic if tp not in order)
    rows = [TopicCount(tp, spec.label(tp), per_topic.get(tp, 0), per_topic.get(tp, 0) / calls if calls else 0.0)
            for tp in names]
    rows.sort(key=lambda r: (-r.calls, order.get(r.topic, len(order)), r.topic))
    return BeyondReport(start, end, calls, beyond, tuple(rows), spec)
