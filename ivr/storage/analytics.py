"""What analytics keeps in the database (``store.analytics``): settings staff edit on the
analytics pages (the agents scheduled per hour), the scheduled jobs' runs and the surge alerts
raised.

Several ``ivr serve`` processes may share one database; each scheduled job period (a day's
report, a week's report, an hour's alert check) must run once. :meth:`AnalyticsState.claim`
inserts the run row under a unique ``(job, period)`` key: one process wins, the others get an
integrity error and skip. A claim holds a lease; a run whose process died (still ``running``
after its lease) or that failed (after a back-off) is taken over by a conditional UPDATE, which
both databases apply atomically (a row lock on PostgreSQL, the database lock on SQLite).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError

from ivr.config.clock import Clock
from ivr.storage.database import Database
from ivr.storage.models import AnalyticsAlertRow, AnalyticsRunRow, AnalyticsSettingRow

__all__ = ["AnalyticsState", "Run", "StoredAlert"]


@dataclass(frozen=True)
class Run:
    job: str
    period: str
    holder: str
    status: str
    claimed_at: datetime
    finished_at: datetime | None
    detail: str | None


@dataclass(frozen=True)
class StoredAlert:
    kind: str
    key: str
    label: str
    first_seen: datetime
    last_seen: datetime
    observed: int
    expected: float
    p_value: float
    logged_at: datetime

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected > 0 else float("inf")


class AnalyticsState:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # ------------------------------------------------------------------ settings
    async def setting(self, key: str) -> str | None:
        def _get() -> str | None:
            with self.db.session() as s:
                row = s.get(AnalyticsSettingRow, key)
                return row.value if row is not None else None
        return await self.db.read(_get)

    async def set_setting(self, key: str, value: str, actor: str) -> None:
        def _set() -> None:
            with self.db.session() as s:
                row = s.get(AnalyticsSettingRow, key)
                if row is None:
                    s.add(AnalyticsSettingRow(key=key, value=value, updated_at=self.clock(), updated_by=actor))
                else:
                    row.value, row.updated_at, row.updated_by = value, self.clock(), actor
                s.commit()
        await self.db.read(_set)

    # ------------------------------------------------------------------ scheduled runs
    async def claim(self, job: str, period: str, holder: str, lease_s: float = 1800.0) -> bool:
        """True if this process now owns the run of ``job`` for ``period`` (and must do it)."""
        def _claim() -> bool:
            now = self.clock()
            until = now + timedelta(seconds=lease_s)
            with self.db.session() as s:
                try:
                    s.add(AnalyticsRunRow(job=job, period=period, holder=holder, status="running",
                                          claimed_at=now, lease_until=until))
                    s.commit()
                    return True
                except IntegrityError:
                    s.rollback()
                res = s.execute(
                    update(AnalyticsRunRow)
                    .where(AnalyticsRunRow.job == job, AnalyticsRunRow.period == period,
                           AnalyticsRunRow.status != "done", AnalyticsRunRow.lease_until < now)
                    .values(holder=holder, status="running", claimed_at=now, lease_until=until,
                            finished_at=None))
                s.commit()
                return bool(getattr(res, "rowcount", 0) == 1)
        return await self.db.read(_claim)

    async def finish(self, job: str, period: str, holder: str, *, ok: bool, detail: str | None = None,
                     retry_after_s: float = 3600.0) -> None:
        """Mark a claimed run done, or failed (taken again after ``retry_after_s``)."""
        def _finish() -> None:
            now = self.clock()
            with self.db.session() as s:
                s.execute(update(AnalyticsRunRow)
                          .where(AnalyticsRunRow.job == job, AnalyticsRunRow.period == period,
                                 AnalyticsRunRow.holder == holder)
                          .values(status="done" if ok else "failed", finished_at=now, detail=detail,
                                  lease_until=now + timedelta(seconds=0 if ok else retry_after_s)))
                s.commit()
        await self.db.read(_finish)

    async def runs(self, job: str | None = None, limit: int = 100) -> list[Run]:
        """Newest claims first."""
        def _list() -> list[Run]:
            with self.db.session() as s:
                q = select(AnalyticsRunRow).order_by(AnalyticsRunRow.claimed_at.desc(),
                                                     AnalyticsRunRow.id.desc()).limit(limit)
                if job is not None:
                    q = q.where(AnalyticsRunRow.job == job)
                return [Run(r.job, r.period, r.holder, r.status, r.claimed_at, r.finished_at, r.detail)
                        for r in s.scalars(q)]
        return await self.db.read(_list)

    # ------------------------------------------------------------------ alerts
    async def record_alerts(self, alerts: list[dict[str, Any]], merge_within_s: float = 24 * 3600.0
                            ) -> list[StoredAlert]:
        """Store surge alerts (dicts with kind, key, label, first_seen, last_seen, observed,
        expected, p_value); an alert continuing one already stored for the same kind and key
        (first seen within ``merge_within_s`` of its last sighting) extends it instead. Returns
        the alerts that are new."""
        def _record() -> list[StoredAlert]:
            now = self.clock()
            new: list[StoredAlert] = []
            with self.db.session() as s:
                for a in alerts:
                    since = a["first_seen"] - timedelta(seconds=merge_within_s)
                    old = s.scalars(select(AnalyticsAlertRow).where(
                        AnalyticsAlertRow.kind == a["kind"], AnalyticsAlertRow.key == a["key"],
                        AnalyticsAlertRow.last_seen >= since,
                        AnalyticsAlertRow.first_seen <= a["last_seen"])
                        .order_by(AnalyticsAlertRow.first_seen.desc()).limit(1)).first()
                    if old is not None:
                        if a["last_seen"] > old.last_seen:
                            old.last_seen = a["last_seen"]
                        continue
                    row = AnalyticsAlertRow(kind=a["kind"], key=a["key"], label=a["label"][:256],
                                            first_seen=a["first_seen"], last_seen=a["last_seen"],
                                            observed=int(a["observed"]), expected=float(a["expected"]),
                                            p_value=float(a["p_value"]), logged_at=now)
                    s.add(row)
                    try:
                        s.commit()
                    except IntegrityError:       # the same alert, stored meanwhile
                        s.rollback()
                        continue
                    new.append(_alert(row))
                s.commit()
            return new
        return await self.db.read(_record)

    async def alerts(self, *, since: datetime | None = None, limit: int = 200) -> list[StoredAlert]:
        """Newest first."""
        def _list() -> list[StoredAlert]:
            with self.db.session() as s:
                q = select(AnalyticsAlertRow).order_by(AnalyticsAlertRow.first_seen.desc()).limit(limit)
                if since is not None:
                    q = q.where(and_(AnalyticsAlertRow.last_seen >= since))
                return [_alert(r) for r in s.scalars(q)]
        return await self.db.read(_list)


def _alert(r: AnalyticsAlertRow) -> StoredAlert:
    return StoredAlert(r.kind, r.key, r.label, r.first_seen, r.last_seen, r.observed, r.expected, r.p_value,
                       r.logged_at)
