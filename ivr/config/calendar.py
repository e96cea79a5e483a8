"""The office calendar: weekly opening hours in one time zone, public holidays, working days.

Used by the hand-off (is anyone at work now?), by the store (a ticket's SLA deadline in working
days) and by the call session ("today" for the dialog, in the office's time zone).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["OfficeHours", "CalendarError", "working_days_after", "national_holidays"]


class CalendarError(ValueError):
    """An office-hours specification that cannot be read; the message says why."""


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    # English and Indonesian day names, abbreviated or not
    "mon": 0, "monday": 0, "sen": 0, "senin": 0,
    "tue": 1, "tuesday": 1, "sel": 1, "selasa": 1,
    "wed": 2, "wednesday": 2, "rab": 2, "rabu": 2,
    "thu": 3, "thursday": 3, "kam": 3, "kamis": 3,
    "fri": 4, "friday": 4, "jum": 4, "jumat": 4,
    "sat": 5, "saturday": 5, "sab": 5, "sabtu": 5,
    "sun": 6, "sunday": 6, "min": 6, "minggu": 6,
}
_RANGE_RE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def _parse_day(token: str, spec: str) -> int:
    try:
        return _DAY_ALIASES[token.strip().lower().rstrip(".")]
    except KeyError:
        raise CalendarError(f"office_hours: unknown day {token!r} in {spec!r}") from None


@dataclass(frozen=True)
class OfficeHours:
    """Weekly opening hours in one time zone, e.g. ``"Mon-Fri 08:00-16:00 Asia/Jakarta"``.

    Grammar: ``SEGMENT [; SEGMENT ...] [TIMEZONE]`` where a segment is ``DAYS RANGES``,
    ``DAYS`` is ``Mon-Fri`` or ``Mon,Wed,Sat`` (English or Indonesian names) and ``RANGES``
    is ``08:00-12:00,13:00-16:00``. The time zone (IANA name) defaults to Asia/Jakarta.
    ``"always"`` means open at all times; ``"never"`` means always closed.
    Public holidays (``holidays``; the settings' ``public_holidays``) are closed all day.
    """

    spec: str
    tz: ZoneInfo
    #: weekday (0 = Monday) -> tuple of (start, end) times, end exclusive; "24:00" allowed
    week: tuple[tuple[tuple[time, time | None], ...], ...]
    always: bool = False
    holidays: frozenset[date] = frozenset()

    @classmethod
    def parse(cls, spec: str, holidays: frozenset[date] = frozenset()) -> "OfficeHours":
        text = " ".join(spec.split())
        if not text:
            raise CalendarError("office_hours: empty")
        tzname = "Asia/Jakarta"
        parts = text.rsplit(" ", 1)
        if len(parts) == 2 and "/" in parts[1] or text.endswith(" UTC"):
            text, tzname = parts[0], parts[1]
        elif text.lower() in ("always", "never"):
            pass
        try:
            tz = ZoneInfo(tzname)
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError(f"office_hours: unknown time zone {tzname!r}") from None
        low = text.strip().lower()
        if low == "always":
            return cls(spec, tz, tuple(() for _ in range(7)), always=True, holidays=holidays)
        week: list[list[tuple[time, time | None]]] = [[] for _ in range(7)]
        if low == "never":
            return cls(spec, tz, tuple(tuple(d) for d in week), holidays=holidays)
        for segment in text.split(";"):
            segment = segment.strip()
            if not segment:
                continue
            try:
                days_part, ranges_part = segment.split(None, 1)
            except ValueError:
                raise CalendarError(f"office_hours: segment {segment!r} needs days and hours") from None
            days: list[int] = []
            for item in days_part.split(","):
                if "-" in item:
                    a, b = item.split("-", 1)
                    da, db = _parse_day(a, spec), _parse_day(b, spec)
                    d = da
                    while True:
                        days.append(d)
                        if d == db:
                            break
                        d = (d + 1) % 7
                else:
                    days.append(_parse_day(item, spec))
            for rng in ranges_part.replace(" ", "").split(","):
                m = _RANGE_RE.match(rng)
                if not m:
                    raise CalendarError(f"office_hours: bad time range {rng!r} in {spec!r}")
                h1, m1, h2, m2 = (int(g) for g in m.groups())
                if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
                    raise CalendarError(f"office_hours: bad time range {rng!r}")
                start = time(h1, m1)
                end = None if h2 == 24 else time(h2, m2)
                if end is not None and end <= start:
                    raise CalendarError(f"office_hours: range {rng!r} ends before it starts")
                for d in days:
                    week[d].append((start, end))
        return cls(spec, tz, tuple(tuple(sorted(d)) for d in week), holidays=holidays)

    def is_open(self, when: datetime | None = None) -> bool:
        """True if ``when`` (aware; default now) falls inside the opening hours."""
        if self.always:
            return True
        now = (when or datetime.now(self.tz))
        if now.tzinfo is None:
            raise ValueError("is_open needs an aware datetime")
        local = now.astimezone(self.tz)
        if local.date() in self.holidays:
            return False
        t = local.time().replace(tzinfo=None)
        for start, end in self.week[local.weekday()]:
            if start <= t and (end is None or t < end):
                return True
        return False

    def __str__(self) -> str:
        return self.spec


def working_days_after(start: date, days: int, holidays: frozenset[date] | set[date] = frozenset()) -> date:
    """The date ``days`` working days after ``start`` (weekends and holidays skipped)."""
    d = start
    left = days
    while left > 0:
        d += timedelta(days=1)
        if d.weekday() < 5 and d not in holidays:
            left -= 1
    return d


@functools.lru_cache(maxsize=4)
def national_holidays(first_year: int = 2020, last_year: int = 2040) -> frozenset[date]:
    """Indonesia's national public holidays and cuti bersama (the ``holidays`` package, which
    follows the government's decrees; Islamic dates move every year) between two years."""
    from holidays.countries.indonesia import Indonesia

    years = list(range(first_year, last_year + 1))
    return frozenset(Indonesia(years=years)) | frozenset(Indonesia(years=years, categories=("government",)))
