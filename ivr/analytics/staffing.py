"""Agents needed per hour (Erlang C) against the agents scheduled.

Erlang C (M/M/c) gives, for an arrival rate, an average handling time and ``c`` agents, the
probability that a call waits and the share answered within a target time. The usual
contact-centre target is 80% of calls answered within 20 seconds. Inputs come from the
forecast (hand-offs per hour) and the measured handling time (``handoffs.talk_s`` plus a
configurable wrap-up), the schedule from :class:`Schedule`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

__all__ = ["erlang_c", "service_level", "agents_needed", "Schedule", "StaffingHour", "ScheduleError"]


class ScheduleError(ValueError):
    """The schedule text is malformed; the message says where."""


def erlang_c(agents: int, erlangs: float) -> float:
    """Probability that a call waits (Erlang C), via the stable Erlang B recursion."""
    if erlangs <= 0:
        return 0.0
    if agents <= erlangs:
        return 1.0
    b = 1.0
    for k in range(1, agents + 1):
        b = erlangs * b / (k + erlangs * b)
    return agents * b / (agents - erlangs * (1 - b))


def service_level(agents: int, calls_per_hour: float, aht_s: float, target_s: float = 20.0) -> float:
    """Share of calls answered within ``target_s`` seconds."""
    if calls_per_hour <= 0:
        return 1.0
    a = calls_per_hour * aht_s / 3600.0
    if agents <= a:
        return 0.0
    return 1.0 - erlang_c(agents, a) * math.exp(-(agents - a) * target_s / aht_s)


def agents_needed(calls_per_hour: float, aht_s: float, *, target: float = 0.8, target_s: float = 20.0,
                  max_agents: int = 500) -> int:
    """Fewest agents answering ``target`` of calls within ``target_s`` seconds (0 for no calls)."""
    if calls_per_hour <= 0:
        return 0
    a = calls_per_hour * aht_s / 3600.0
    c = max(1, math.floor(a) + 1)
    while c <= max_agents:
        if service_level(c, calls_per_hour, aht_s, target_s) >= target:
            return c
        c += 1
    return max_agents


_DAYS = {"mon": 0, "sen": 0, "tue": 1, "sel": 1, "wed": 2, "rab": 2, "thu": 3, "kam": 3,
         "fri": 4, "jum": 4, "sat": 5, "sab": 5, "sun": 6, "min": 6}
_SEG = re.compile(r"^(?P<days>[A-Za-z,\-]+)\s+(?P<ranges>.+)$")
_RANGE = re.compile(r"^(\d{1,2})(?::00)?-(\d{1,2})(?::00)?=(\d{1,4})$")


@dataclass(frozen=True)
class Schedule:
    """Agents on duty per weekday and hour, e.g. ``"Mon-Fri 08-12=6,12-16=5; Sat 08-12=2"``
    (hours local, end exclusive; days in English or Indonesian, three letters). Public
    holidays have no agents unless the caller passes ``holiday_agents``."""

    text: str
    grid: tuple[tuple[int, ...], ...]   # 7 x 24

    @classmethod
    def parse(cls, text: str) -> "Schedule":
        grid = [[0] * 24 for _ in range(7)]
        for seg in filter(None, (s.strip() for s in text.split(";"))):
            m = _SEG.match(seg)
            if not m:
                raise ScheduleError(f"schedule: {seg!r} needs days and hours (Mon-Fri 08-16=5)")
            days: list[int] = []
            for item in m["days"].lower().split(","):
                ends = item.split("-")
                try:
                    idx = [_DAYS[e[:3]] for e in ends]
                except KeyError:
                    raise ScheduleError(f"schedule: unknown day in {item!r}") from None
                if len(idx) == 1:
                    days.append(idx[0])
                else:
                    d = idx[0]
                    while True:
                        days.append(d)
                        if d == idx[1]:
                            break
                        d = (d + 1) % 7
            for rng in m["ranges"].replace(" ", "").split(","):
                r = _RANGE.match(rng)
                if not r:
                    raise ScheduleError(f"schedule: bad range {rng!r} (write 08-12=6)")
                h1, h2, n = int(r[1]), int(r[2]), int(r[3])
                if not 0 <= h1 < h2 <= 24:
                    raise ScheduleError(f"schedule: bad hours in {rng!r}")
                for d in days:
                    for h in range(h1, h2):
                        grid[d][h] = n
        return cls(text, tuple(tuple(row) for row in grid))

    def agents(self, weekday: int, hour: int) -> int:
        return self.grid[weekday][hour]


@dataclass(frozen=True)
class StaffingHour:
    start: datetime             # local hour start
    handoffs: float             # forecast hand-offs in the hour
    aht_s: float
    needed: int                 # agents for the service-level target
    scheduled: int
    service_level: float        # expected share within the target time with the scheduled agents

    @property
    def gap(self) -> int:
        """Agents missing (positive) or spare (negative)."""
        return self.needed - self.scheduled


def measured_aht(src: Any, start: datetime, end: datetime, default_s: float = 240.0) -> float:
    """Mean talk time of connected hand-offs between two instants (``default_s`` if none)."""
    from sqlalchemy import func, select

    from ivr.analytics.db import table
    from ivr.storage.models import HandoffRow

    h = table(HandoffRow)
    with src.engine.connect() as conn:
        v = conn.execute(select(func.avg(h.c.talk_s)).where(
            h.c.requested_at >= start, h.c.requested_at < end, h.c.talk_s.is_not(None))).scalar()
    return float(v) if v is not None else default_s


def staffing_plan(src: Any, schedule: Schedule, *, days: int = 7, today: date | None = None,
                  target: float = 0.8, target_s: float = 20.0, wrap_up_s: float = 30.0,
                  aht_window_days: int = 28) -> tuple[list[StaffingHour], float]:
    """Agents needed per local hour for the next ``days`` days (forecast hand-offs, measured
    handling time plus wrap-up) against ``schedule``; returns the hours and the handling time.
    Agents are needed while the office is open (``src.office_hours``; else where the schedule
    has agents). Public holidays (``src.holidays``) have the agents the schedule gives Sundays."""
    from datetime import timedelta

    from ivr.analytics.forecast import forecast

    today = today or datetime.now(src.tz).date()
    fc = forecast(src, today=today, horizon_days=days, level=0.8)
    aht = measured_aht(src, src.day_start(today - timedelta(days=aht_window_days)), src.day_start(today)) + wrap_up_s
    out = []
    for p in fc.series("handoffs", "hour").points:
        local = p.start
        wd = 6 if local.date() in src.holidays else local.weekday()
        sched = schedule.agents(wd, local.hour)
        hours = getattr(src, "office_hours", None)
        open_now = hours.is_open(local) if hours is not None else sched > 0
        need = agents_needed(p.mean, aht, target=target, target_s=target_s) if open_now else 0
        out.append(StaffingHour(local, p.mean, aht, need, sched,
                                service_level(sched, p.mean, aht, target_s) if sched else 0.0))
    return out, aht
