"""Portable SQL for analytics: the same queries on SQLite and PostgreSQL.

Timestamps are stored in UTC; analytics count in the hotline's local time. Indonesia's zones
(WIB, WITA, WIT) have no daylight saving, so a local hour is ``floor((epoch + offset) / 3600)``
in SQL on both databases (:func:`local_hour`); zones with daylight saving are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Integer, Table, cast
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

__all__ = ["table", "Source", "epoch_seconds", "local_hour", "local_day", "fixed_offset_s"]



def table(model: type[Any]) -> Table:
    """The Core table of a declarative row class, typed as a Table (``__table__`` is typed as
    a generic FromClause, which insert/update/delete do not accept)."""
    t = model.__table__
    assert isinstance(t, Table)
    return t

def _per_dialect(fn: type[FunctionElement[Any]], sqlite: str, postgresql: str) -> None:
    """Compile ``fn(x)`` to ``sqlite % x`` or ``postgresql % x``; other engines are refused."""

    def render(template: str) -> Callable[..., str]:
        def compile_(element: Any, compiler: Any, **kw: Any) -> str:
            return template % str(compiler.process(element.clauses, **kw))
        return compile_

    def refuse(element: Any, compiler: Any, **kw: Any) -> str:  # pragma: no cover - other engines
        raise NotImplementedError(f"analytics support SQLite and PostgreSQL, not {compiler.dialect.name}")

    compiles(fn, "sqlite")(render(sqlite))
    compiles(fn, "postgresql")(render(postgresql))
    compiles(fn)(refuse)


class epoch_seconds(FunctionElement[int]):
    """Whole seconds since 1970 of a stored UTC timestamp."""

    type = Integer()
    inherit_cache = True
    name = "epoch_seconds"


class epoch_float(FunctionElement[float]):
    """Seconds since 1970 of a stored UTC timestamp, with its fraction: lets a query return
    plain numbers instead of datetimes, which cost more to build than the rest of a large read."""

    type = Float()
    inherit_cache = True
    name = "epoch_float"


_per_dialect(epoch_seconds, "CAST(strftime('%%s', %s) AS INTEGER)", "CAST(FLOOR(EXTRACT(EPOCH FROM %s)) AS BIGINT)")
_per_dialect(epoch_float, "((julianday(%s) - 2440587.5) * 86400.0)", "CAST(EXTRACT(EPOCH FROM %s) AS DOUBLE PRECISION)")


def fixed_offset_s(tz: ZoneInfo) -> int:
    """UTC offset of a zone without daylight saving, in seconds (ValueError otherwise)."""
    jan = datetime(2025, 1, 15, tzinfo=tz).utcoffset()
    jul = datetime(2025, 7, 15, tzinfo=tz).utcoffset()
    if jan != jul or jan is None:
        raise ValueError(f"analytics need a time zone without daylight saving, not {tz.key}")
    return int(jan.total_seconds())


def local_hour(col: Any, offset_s: int) -> ColumnElement[int]:
    """Local hours since 1970 (integer) of a timestamp column."""
    return (epoch_seconds(col) + offset_s) // 3600


def local_day(col: Any, offset_s: int) -> ColumnElement[int]:
    """Local days since 1970 (integer) of a timestamp column."""
    return (epoch_seconds(col) + offset_s) // 86400


EPOCH_DAY = date(1970, 1, 1)


@dataclass(frozen=True)
class Source:
    """Where analytics read: the hotline's database and its local time zone."""

    engine: Engine
    tz: ZoneInfo = ZoneInfo("Asia/Jakarta")
    holidays: frozenset[date] = frozenset()
    sla_working_days: int = 14
    #: when agents answer (:class:`ivr.config.calendar.OfficeHours`); None = whenever scheduled
    office_hours: Any = None

    @property
    def offset_s(self) -> int:
        return fixed_offset_s(self.tz)

    @classmethod
    def from_store(cls, store: Any) -> "Source":
        return cls(store.database.engine, store.tickets.tz, frozenset(store.tickets.holidays), store.tickets.sla_working_days)

    # -- conversions between local dates/hours and UTC instants

    def day_start(self, d: date) -> datetime:
        """UTC instant of local midnight starting ``d``."""
        return datetime(d.year, d.month, d.day, tzinfo=self.tz).astimezone(timezone.utc)

    def day_number(self, d: date) -> int:
        return (d - EPOCH_DAY).days

    def date_of(self, day_number: int) -> date:
        return EPOCH_DAY + timedelta(days=int(day_number))

    def hour_number(self, when: datetime) -> int:
        return int((when.timestamp() + self.offset_s) // 3600)

    def hour_start(self, hour_number: int) -> datetime:
        """Aware local datetime of a local hour number."""
        return datetime.fromtimestamp(hour_number * 3600 - self.offset_s, tz=self.tz)

    def local_date(self, when: datetime) -> date:
        return when.astimezone(self.tz).date()
