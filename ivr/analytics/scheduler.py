"""Scheduled analytics inside ``ivr serve``: the daily report (yesterday), the weekly report
(last Monday to Sunday) and the hourly surge-alert check.

Several ``ivr serve`` processes may share one database: each job period is claimed in the
database first (:meth:`ivr.storage.analytics.AnalyticsState.claim`: a unique row per job and
period, a lease on stale claims), so one process does it and the others skip. Reports are
written under ``<data_dir>/reports`` (atomically: a temporary name, then renamed) and listed on
the analytics pages; new alerts are stored de-duplicated (:meth:`record_alerts`), logged once
(WARNING ``surge alert``) and shown on the dashboard. The heavy work runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ivr.analytics.service import source_for

__all__ = ["SchedulerConfig", "AnalyticsScheduler", "report_name"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SchedulerConfig:
    reports_dir: Path
    report_hour: int = 6                    # local hour from which yesterday's report is due
    formats: tuple[str, ...] = ("html", "pdf", "csv")
    alerts: bool = True                     # check for surges once an hour
    tick_s: float = 60.0
    first_tick_s: float = 60.0              # let start-up finish before the first run
    lease_s: float = 1800.0


def report_name(kind: str, start: date, end: date, fmt: str) -> str:
    """``laporan-harian-2026-11-30.pdf``, ``laporan-mingguan-2026-11-23-2026-11-29.csv``."""
    span = start.isoformat() if start == end else f"{start.isoformat()}-{end.isoformat()}"
    return f"laporan-{kind}-{span}.{fmt}"


class AnalyticsScheduler:
    def __init__(self, store: Any, config: SchedulerConfig, *, office_hours: Any = None,
                 holder: str | None = None, script_path: Path | None = None) -> None:
        from ivr.analytics.follow_ups import LiveSpec

        self.store = store
        #: the live script's follow-up questions for the reports (None: not counted)
        self.questions = LiveSpec(store, script_path) if script_path is not None else None
        self.config = config
        self.office_hours = office_hours
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def now(self) -> datetime:
        now: datetime = self.store.clock().astimezone(self.store.tickets.tz)
        return now

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: every ``tick_s`` do what is due. A failing job is logged, never fatal."""
        delay = self.config.first_tick_s
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), delay)
                return
            except asyncio.TimeoutError:
                pass
            delay = self.config.tick_s
            try:
                await self.run_once()
            except Exception:
                log.exception("scheduled analytics failed")

    async def run_once(self) -> list[str]:
        """Do the jobs due now that no other process has claimed; returns what this one did."""
        now = self.now()
        today = now.date()
        done: list[str] = []
        if now.hour >= self.config.report_hour:
            day = today - timedelta(days=1)
            if await self._report("harian", day, day):
                done.append(f"daily_report {day.isoformat()}")
            monday = today - timedelta(days=today.weekday())
            wk = (monday - timedelta(days=7), monday - timedelta(days=1))
            if await self._report("mingguan", *wk):
                done.append(f"weekly_report {wk[0].isoformat()}..{wk[1].isoformat()}")
        if self.config.alerts:
            hour = now.strftime("%Y-%m-%dT%H")
            n = await self._alerts(hour, now)
            if n is not None:
                done.append(f"alerts {hour} ({n} new)")
        return done

    # ------------------------------------------------------------------ jobs
    async def _report(self, kind: str, start: date, end: date) -> bool:
        job = "daily_report" if kind == "harian" else "weekly_report"
        period = start.isoformat() if start == end else f"{start.isoformat()}..{end.isoformat()}"
        state = self.store.analytics
        if not await state.claim(job, period, self.holder, lease_s=self.config.lease_s):
            return False
        try:
            spec = await self.questions.get() if self.questions is not None else None
            topics = await self.questions.beyond() if self.questions is not None else None
            files = await asyncio.to_thread(self._write_report, kind, start, end, spec, topics)
        except Exception as exc:
            log.exception("scheduled report failed", extra={"job": job, "period": period})
            await state.finish(job, period, self.holder, ok=False, detail=f"{type(exc).__name__}: {exc}"[:500])
            return False
        await state.finish(job, period, self.holder, ok=True, detail=", ".join(files))
        log.info("report written", extra={"job": job, "period": period, "files": files})
        return True

    def _write_report(self, kind: str, start: date, end: date, follow_ups: Any = None,
                      beyond: Any = None) -> list[str]:
        from ivr.analytics.reports import build_report, render_csv, render_html, render_pdf

        src = source_for(self.store, self.office_hours)
        rep = build_report(src, start, end, now=self.now(), follow_ups=follow_ups, beyond=beyond)
        folder = self.config.reports_dir
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for fmt in self.config.formats:
            data = (render_pdf(rep) if fmt == "pdf" else
                    (render_html(rep) if fmt == "html" else render_csv(rep)).encode("utf-8"))
            name = report_name(kind, start, end, fmt)
            tmp = folder / f".{name}.{self.holder.replace(':', '_')}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, folder / name)
            written.append(name)
        return written

    async def _alerts(self, hour: str, now: datetime) -> int | None:
        state = self.store.analytics
        if not await state.claim("alerts", hour, self.holder, lease_s=self.config.lease_s):
            return None
        try:
            alerts = await asyncio.to_thread(self._detect, now)
            new = await state.record_alerts([{
                "kind": a.kind, "key": a.key, "label": a.label, "first_seen": a.first_seen,
                "last_seen": a.last_seen, "observed": a.observed, "expected": a.expected,
                "p_value": a.p_value} for a in alerts])
        except Exception as exc:
            log.exception("scheduled alert check failed", extra={"period": hour})
            await state.finish("alerts", hour, self.holder, ok=False, detail=f"{type(exc).__name__}: {exc}"[:500],
                               retry_after_s=600)
            return None
        for a in new:
            log.warning("surge alert", extra={"alert": {
                "kind": a.kind, "key": a.key, "label": a.label, "first_seen": a.first_seen.isoformat(),
                "observed": a.observed, "expected": round(a.expected, 2), "p_value": a.p_value}})
        await state.finish("alerts", hour, self.holder, ok=True, detail=f"{len(alerts)} found, {len(new)} new")
        return len(new)

    def _detect(self, now: datetime) -> list[Any]:
        from ivr.analytics.alerts import detect

        src = source_for(self.store, self.office_hours)
        return detect(src, now=now)
