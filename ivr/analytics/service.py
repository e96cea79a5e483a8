"""The analytics pages' data for an async caller (the web app): each page built in a worker
thread (never on the event loop that serves calls), cached for a while, and built once however
many requests ask for it at the same time.

The cache key holds the page, its date and its parameters; entries expire after ``ttl_s``
(the figures of the current day move; past days do not, but a re-run demo or a late write
should show within minutes). Editing the schedule clears the forecast entries.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from ivr.analytics.db import Source
from ivr.analytics.pages import (
    DEFAULT_SCHEDULE,
    AlertView,
    Page,
    alerts_table,
    beyond_page,
    complaints_page,
    dashboard_page,
    follow_ups_page,
    forecast_page,
    stuck_page,
)

__all__ = ["PageCache", "AnalyticsService", "SCHEDULE_KEY", "source_for"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: analytics_settings key of the agents scheduled (:class:`ivr.analytics.staffing.Schedule` text)
SCHEDULE_KEY = "staff_schedule"


class PageCache:
    """Values computed by a synchronous function in a worker thread, kept ``ttl_s`` seconds,
    at most ``max_entries``; concurrent requests for one key wait for one computation."""

    def __init__(self, ttl_s: float = 300.0, max_entries: int = 64,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._now = monotonic
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._pending: dict[Hashable, asyncio.Future[Any]] = {}
        self.computed = 0

    async def get(self, key: Hashable, fn: Callable[[], T]) -> T:
        hit = self._data.get(key)
        if hit is not None and self._now() - hit[0] < self.ttl_s:
            self._data.move_to_end(key)
            value: T = hit[1]
            return value
        pending = self._pending.get(key)
        if pending is not None:
            shared: T = await asyncio.shield(pending)
            return shared
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[key] = fut
        try:
            result = await asyncio.to_thread(fn)
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()       # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            self._pending.pop(key, None)
        self.computed += 1
        fut.set_result(result)
        self._data[key] = (self._now(), result)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)
        return result

    def drop(self, prefix: str) -> None:
        """Forget the entries whose key starts with ``prefix`` (a tuple key's first item)."""
        for k in [k for k in self._data if (k[0] if isinstance(k, tuple) else k) == prefix]:
            del self._data[k]


def source_for(store: Any, office_hours: Any = None) -> Source:
    """The analytics :class:`Source` of a store: its engine, time zone, SLA rule, and the
    national holidays and cuti bersama (``holidays`` package) joined with the configured ones."""
    from ivr.analytics.calendar import holiday_dates

    today = store.clock().astimezone(store.tickets.tz).date()
    hol = frozenset(store.tickets.holidays) | holiday_dates(today - timedelta(days=800), today + timedelta(days=60))
    return Source(store.database.engine, store.tickets.tz, hol, store.tickets.sla_working_days, office_hours)


class AnalyticsService:
    """What the analytics pages show, for a store (``store.analytics`` holds the schedule and
    the alerts) and a reports directory."""

    def __init__(self, store: Any, *, office_hours: Any = None, reports_dir: Path | None = None,
                 ttl_s: float = 300.0, script_path: Path | None = None) -> None:
        from ivr.analytics.follow_ups import LiveSpec

        self.store = store
        #: the follow-up questions and out-of-scope topics of the live script (None: no script
        #: known; follow-up questions are not counted, out-of-scope topics read as their names)
        self.questions = LiveSpec(store, script_path) if script_path is not None else None
        self.office_hours = office_hours
        self.reports_dir = reports_dir
        self.cache = PageCache(ttl_s)
        self._src: tuple[date, Source] | None = None

    def now(self) -> datetime:
        now: datetime = self.store.clock().astimezone(self.store.tickets.tz)
        return now

    def today(self) -> date:
        return self.now().date()

    def source(self) -> Source:
        today = self.today()
        if self._src is None or self._src[0] != today:
            self._src = (today, source_for(self.store, self.office_hours))
        return self._src[1]

    async def schedule(self) -> str:
        text = await self.store.analytics.setting(SCHEDULE_KEY)
        return text or DEFAULT_SCHEDULE

    async def set_schedule(self, text: str, actor: str) -> None:
        from ivr.analytics.staffing import Schedule

        Schedule.parse(text)          # ScheduleError for the page to show
        await self.store.analytics.set_setting(SCHEDULE_KEY, text.strip(), actor)
        self.cache.drop("forecast")

    async def alert_views(self, *, since: datetime | None = None, limit: int = 200) -> list[AlertView]:
        tz = self.store.tickets.tz
        return [AlertView(a.kind, a.label, a.first_seen.astimezone(tz), a.last_seen.astimezone(tz), a.observed,
                          a.expected, a.p_value)
                for a in await self.store.analytics.alerts(since=since, limit=limit)]

    # ------------------------------------------------------------------ pages
    async def dashboard(self, day: date | None = None) -> Page:
        day = day or self.today()
        now = self.now()
        active = await self.alert_views(since=now - timedelta(hours=48))
        src = self.source()
        key = ("dashboard", day, tuple((a.label, a.first_seen, a.last_seen) for a in active))
        return await self.cache.get(key, lambda: dashboard_page(src, day, active, now=now))

    async def forecast(self, day: date | None = None) -> Page:
        day = day or self.today()
        schedule = await self.schedule()
        src, now = self.source(), self.now()
        return await self.cache.get(("forecast", day, schedule),
                                    lambda: forecast_page(src, day, schedule, now=now))

    async def complaints(self, day: date | None = None) -> Page:
        day = day or self.today()
        src, now = self.source(), self.now()
        return await self.cache.get(("complaints", day), lambda: complaints_page(src, day, now=now))

    async def stuck(self, day: date | None = None) -> Page:
        day = day or self.today()
        src, now = self.source(), self.now()
        return await self.cache.get(("stuck", day), lambda: stuck_page(src, day, now=now))

    async def follow_ups(self, day: date | None = None) -> Page:
        from ivr.analytics.follow_ups import FollowUpSpec

        day = day or self.today()
        spec = await self.questions.get() if self.questions is not None else FollowUpSpec()
        src, now = self.source(), self.now()
        key = ("asks", day, spec.key())
        return await self.cache.get(key, lambda: follow_ups_page(src, day, spec, now=now))

    async def beyond(self, day: date | None = None) -> Page:
        from ivr.analytics.beyond import BeyondSpec

        day = day or self.today()
        spec = await self.questions.beyond() if self.questions is not None else BeyondSpec()
        src, now = self.source(), self.now()
        return await self.cache.get(("beyond", day, spec.key()), lambda: beyond_page(src, day, spec, now=now))

    async def alerts(self) -> Page:
        views = await self.alert_views(limit=500)
        return Page("alerts", "Peringatan lonjakan", "semua yang tercatat", self.now(),
                    (("Peringatan tercatat", str(len(views))),), (alerts_table(views),))
