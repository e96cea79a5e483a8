"""Dashboard figures of a period: volumes, self-service, transfers, abandon, waits.

``overview(src, start, end)`` counts the calls that started on the local days ``start`` ..
``end`` (inclusive) and their hand-offs, with a handful of grouped queries that use the
``started_at`` / ``requested_at`` indexes (well under a second on a year of a large regency).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy import and_, case, func, select

from ivr.analytics.catalog import service_label
from ivr.analytics.db import Source, local_day, local_hour, table
from ivr.storage.models import CallRow, HandoffRow, TicketRow

__all__ = ["Overview", "ServiceCount", "overview", "daily_calls"]


@dataclass(frozen=True)
class ServiceCount:
    service: str | None
    label: str
    calls: int
    handoffs: int

    @property
    def share_handoff(self) -> float:
        return self.handoffs / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class Overview:
    start: date
    end: date
    calls: int
    self_service: int              # ended without a hand-off and not hung up in the main menu
    caller_hangups: int
    handoffs: int                  # transfers requested
    connected: int
    abandoned: int                 # caller hung up while queued
    closed_hours: int              # requested outside office hours
    failed: int                    # failed or no agents logged in
    wait_median_s: float | None    # time queued before an agent answered
    wait_p90_s: float | None
    answered_20s: float | None     # share of connected calls answered within 20 s
    talk_mean_s: float | None
    complaints: int
    callbacks: int
    by_service: tuple[ServiceCount, ...]
    by_hour: tuple[int, ...]       # calls per local hour of day (24)
    by_day: tuple[tuple[date, int], ...]

    @property
    def self_service_rate(self) -> float:
        return self.self_service / self.calls if self.calls else 0.0

    @property
    def transfer_rate(self) -> float:
        return self.handoffs / self.calls if self.calls else 0.0

    @property
    def abandon_rate(self) -> float:
        queued = self.connected + self.abandoned
        return self.abandoned / queued if queued else 0.0


def overview(src: Source, start: date, end: date) -> Overview:
    c, h, t = table(CallRow), table(HandoffRow), table(TicketRow)
    a, b = src.day_start(start), src.day_start(end + timedelta(days=1))
    in_period = and_(c.c.started_at >= a, c.c.started_at < b)
    hour = (local_hour(c.c.started_at, src.offset_s) % 24).label("hod")
    day = local_day(c.c.started_at, src.offset_s).label("day")
    with src.engine.connect() as conn:
        svc = conn.execute(
            select(c.c.service, func.count(), func.sum(case((c.c.handoff_outcome.is_not(None), 1), else_=0)))
            .where(in_period).group_by(c.c.service)).all()
        ends: dict[str | None, int] = dict(conn.execute(select(c.c.end_reason, func.count()).where(in_period).group_by(c.c.end_reason)).all())
        self_service = conn.execute(
            select(func.count()).where(in_period, c.c.handoff_outcome.is_(None), c.c.service.is_not(None),
                                       c.c.end_reason == "completed")).scalar() or 0
        hours = dict(conn.execute(select(hour, func.count()).where(in_period).group_by(hour)).all())
        days = dict(conn.execute(select(day, func.count()).where(in_period).group_by(day)).all())
        outcomes: dict[str | None, int] = dict(conn.execute(
            select(h.c.outcome, func.count()).where(h.c.requested_at >= a, h.c.requested_at < b)
            .group_by(h.c.outcome)).all())
        waits = [r[0] for r in conn.execute(
            select(h.c.hold_s).where(h.c.requested_at >= a, h.c.requested_at < b, h.c.outcome == "connected",
                                     h.c.hold_s.is_not(None)))]
        talk = conn.execute(select(func.avg(h.c.talk_s)).where(
            h.c.requested_at >= a, h.c.requested_at < b, h.c.talk_s.is_not(None))).scalar()
        tickets: dict[str | None, int] = dict(conn.execute(
            select(t.c.kind, func.count()).where(t.c.created_at >= a, t.c.created_at < b).group_by(t.c.kind)).all())
    by_service = tuple(sorted((ServiceCount(s, service_label(s), int(n), int(x or 0)) for s, n, x in svc),
                              key=lambda r: -r.calls))
    w = np.asarray(waits, dtype=float)
    n_days = (end - start).days + 1
    return Overview(
        start=start, end=end, calls=sum(r.calls for r in by_service), self_service=int(self_service),
        caller_hangups=int(ends.get("caller_hangup", 0)), handoffs=int(sum(outcomes.values())),
        connected=int(outcomes.get("connected", 0)), abandoned=int(outcomes.get("abandoned", 0)),
        closed_hours=int(outcomes.get("closed_hours", 0)),
        failed=int(outcomes.get("failed", 0) + outcomes.get("no_agents", 0)),
        wait_median_s=float(np.median(w)) if len(w) else None,
        wait_p90_s=float(np.percentile(w, 90)) if len(w) else None,
        answered_20s=float((w <= 20).mean()) if len(w) else None,
        talk_mean_s=float(talk) if talk is not None else None,
        complaints=int(tickets.get("complaint", 0)), callbacks=int(tickets.get("callback", 0)),
        by_service=by_service,
        by_hour=tuple(int(hours.get(i, 0)) for i in range(24)),
        by_day=tuple((start + timedelta(days=i), int(days.get(src.day_number(start + timedelta(days=i)), 0)))
                     for i in range(n_days)),
    )


def daily_calls(src: Source, start: date, end: date, service: str | None = None) -> dict[date, int]:
    """Calls per local day (all services, or one)."""
    c = table(CallRow)
    a, b = src.day_start(start), src.day_start(end + timedelta(days=1))
    day = local_day(c.c.started_at, src.offset_s).label("day")
    q = select(day, func.count()).where(c.c.started_at >= a, c.c.started_at < b)
    if service is not None:
        q = q.where(c.c.service == service)
    with src.engine.connect() as conn:
        rows = conn.execute(q.group_by(day)).all()
    return {src.date_of(d): int(n) for d, n in rows}
