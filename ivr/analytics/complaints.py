"""Complaint patterns of a period: by category, agency and kecamatan, the kecamatan x category
heat table, SLA compliance, repeat complainants, topics and emerging topics.

Regional counts go through :func:`ivr.analytics.privacy.shown` when displayed (``"<5"``);
the dataclasses keep the numbers so that rules and tests can compute with them, and say
which ones are regional (``regional=True``) so renderers hide small ones. Repeat complainants
are counted by the keyed hash of their NIK or phone number (never the number, never the hash
itself in a result); without ``IVR_PII_KEY`` there is no hash and the count is unavailable.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select

from ivr.analytics.areas import district_of, load_areas
from ivr.analytics.catalog import CATEGORIES, agency_label, category_label
from ivr.analytics.db import Source, table
from ivr.analytics.topics import fit_topics
from ivr.storage.models import TicketEventRow, TicketRow

__all__ = ["Group", "Sla", "TopicRow", "ComplaintPatterns", "complaint_patterns", "RESPONDED"]

RESPONDED = ("in_progress", "resolved", "closed", "rejected")


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    count: int
    regional: bool = False


@dataclass(frozen=True)
class Sla:
    """Complaints whose response deadline (``sla_due``) fell in the period."""
    key: str
    label: str
    due: int            # deadline in the period and already passed, or answered
    met: int            # first response by the deadline
    overdue_open: int   # deadline passed, still no response
    pending: int        # deadline in the period but still ahead, no response yet

    @property
    def rate(self) -> float | None:
        return self.met / self.due if self.due else None


@dataclass(frozen=True)
class TopicRow:
    id: int
    label: str
    count: int
    this_week: int
    weekly: tuple[int, ...]        # complaints per week, oldest first (weeks ending at ``end``)
    growth: float | None           # this week / mean of the four weeks before
    emerging: bool
    top_category: str | None
    top_districts: tuple[Group, ...]


@dataclass(frozen=True)
class ComplaintPatterns:
    start: date
    end: date
    total: int
    by_category: tuple[Group, ...]
    by_agency: tuple[Group, ...]
    by_district: tuple[Group, ...]
    heat: tuple[tuple[str, str, tuple[int, ...]], ...]   # (district code, name, counts per category)
    heat_categories: tuple[str, ...]
    sla_by_agency: tuple[Sla, ...]
    sla_by_category: tuple[Sla, ...]
    repeat_complainants: int | None       # people (by keyed hash) with two or more complaints
    repeat_share: float | None            # share of complaints filed by them
    topics: tuple[TopicRow, ...]
    sla_days: int


def _local_date(src: Source, when: datetime) -> date:
    return when.astimezone(src.tz).date()


def complaint_patterns(src: Source, start: date, end: date, *, topic_weeks: int = 8,
                       today: date | None = None, topics: tuple[Any, Any] | None = None,
                       with_topics: bool = True) -> ComplaintPatterns:
    """Complaints filed on the local days ``start`` .. ``end``. Topics are fitted on the
    ``topic_weeks`` weeks ending at ``end`` (so growth can be measured), or given as
    ``(Complaints, TopicModel)`` already fitted on (at least) those weeks; ``with_topics=False``
    skips them (the dashboard needs only counts and SLA)."""
    t, e = table(TicketRow), table(TicketEventRow)
    today = today or end + timedelta(days=1)
    a, b = src.day_start(start), src.day_start(end + timedelta(days=1))
    in_period = (t.c.kind == "complaint", t.c.created_at >= a, t.c.created_at < b)
    due_in_period = (t.c.kind == "complaint", t.c.sla_due >= start, t.c.sla_due <= end)

    def first_response(*where: Any) -> Any:
        # first answer of the selected tickets only (not of every ticket ever filed)
        return (select(e.c.ticket_id, func.min(e.c.at).label("at"))
                .where(e.c.to_status.in_(RESPONDED), e.c.ticket_id.in_(select(t.c.id).where(*where)))
                .group_by(e.c.ticket_id).subquery())

    first_resp = first_response(*in_period)
    q = (select(t.c.id, t.c.created_at, t.c.category, t.c.agency, t.c.area_code, t.c.sla_due,
                t.c.reporter_nik_hash, t.c.reporter_phone_hash, first_resp.c.at)
         .outerjoin(first_resp, first_resp.c.ticket_id == t.c.id)
         .where(*in_period))
    with src.engine.connect() as conn:
        rows = conn.execute(q).all()
    areas = load_areas()
    cats = Counter(r.category for r in rows)
    agencies = Counter(r.agency for r in rows)
    districts = Counter(district_of(r.area_code) for r in rows)
    heat_cats = tuple(CATEGORIES)
    cell: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        cell[district_of(r.area_code) or ""][r.category or ""] += 1
    heat = tuple((d.code, d.name, tuple(cell[d.code][c] for c in heat_cats)) for d in areas.districts)

    # SLA: the complaints whose deadline fell in the period (responded by it or not), and
    # those still waiting for a first response
    due_resp = first_response(*due_in_period)
    due_q = (select(t.c.category, t.c.agency, t.c.sla_due, due_resp.c.at)
             .outerjoin(due_resp, due_resp.c.ticket_id == t.c.id)
             .where(*due_in_period))
    with src.engine.connect() as conn:
        due_rows = conn.execute(due_q).all()
    sla_a: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    sla_c: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in due_rows:
        if r.at is not None:
            ok = _local_date(src, r.at) <= r.sla_due
            v = (1, int(ok), 0, 0)
        elif r.sla_due < today:
            v = (1, 0, 1, 0)
        else:
            v = (0, 0, 0, 1)
        for acc, key in ((sla_a, r.agency or ""), (sla_c, r.category or "")):
            for i in range(4):
                acc[key][i] += v[i]

    people: Counter[str] = Counter()
    hashed = 0
    for r in rows:
        k = r.reporter_nik_hash or r.reporter_phone_hash
        if k:
            people[k] += 1
            hashed += 1
    repeaters = [n for n in people.values() if n >= 2]
    any_hash = hashed > 0
    topic_rows = _topic_rows(src, end, topic_weeks, topics) if with_topics else ()
    return ComplaintPatterns(
        start=start, end=end, total=len(rows),
        by_category=tuple(Group(k or "", category_label(k), n) for k, n in cats.most_common()),
        by_agency=tuple(Group(k or "", agency_label(k), n) for k, n in agencies.most_common()),
        by_district=tuple(Group(k or "", areas.name(k), n, regional=True) for k, n in districts.most_common()),
        heat=heat, heat_categories=heat_cats,
        sla_by_agency=tuple(Sla(k, agency_label(k or None), *v) for k, v in sorted(sla_a.items())),
        sla_by_category=tuple(Sla(k, category_label(k or None), *v) for k, v in sorted(sla_c.items())),
        repeat_complainants=len(repeaters) if any_hash else None,
        repeat_share=(sum(repeaters) / len(rows) if rows else 0.0) if any_hash else None,
        topics=topic_rows, sla_days=src.sla_working_days,
    )


def _topic_rows(src: Source, end: date, weeks: int, given: tuple[Any, Any] | None = None) -> tuple[TopicRow, ...]:
    start = end - timedelta(days=7 * weeks - 1)
    if given is None:
        from ivr.analytics.alerts import load_complaints

        comp = load_complaints(src, start, end)
        if not len(comp.hours):
            return ()
        model = fit_topics(comp.description, authors=comp.reporters)
    else:
        comp, model = given
    if not model.topics:
        return ()
    areas = load_areas()
    day = comp.hours // 24 - src.day_number(start)
    inside = (day >= 0) & (day < 7 * weeks)
    week_of = np.where(inside, day // 7, -1)
    out = []
    for tp in model.topics:
        sel = (model.assignments == tp.id) & inside
        weekly = tuple(int(((week_of == w) & sel).sum()) for w in range(weeks))
        prev = weekly[-5:-1]
        base = float(np.mean(prev)) if prev else 0.0
        growth = weekly[-1] / base if base > 0 else None
        emerging = weekly[-1] >= 5 and (growth is None or growth >= 1.5)
        idx = np.flatnonzero(sel)
        cats = Counter(comp.category[i] for i in idx)
        dists = Counter(comp.district[i] for i in idx)
        out.append(TopicRow(tp.id, tp.label, int(sel.sum()), weekly[-1], weekly, growth, emerging,
                            cats.most_common(1)[0][0] if cats else None,
                            tuple(Group(k or "", areas.name(k), n, regional=True) for k, n in dists.most_common(3))))
    return tuple(sorted(out, key=lambda r: -r.this_week))
