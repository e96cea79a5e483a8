"""The Indonesian calendar that moves a public-service hotline's demand.

One :class:`DayInfo` per local date: public holidays and cuti bersama (the ``holidays``
package, which computes the moving Islamic dates), Ramadan (the 30 days before Idul Fitri),
the weeks after Idul Fitri (pindah domisili and KK changes after mudik), month-start paydays,
bansos disbursement waves (PKH quarterly, BPNT/sembako monthly), the PBB due date and the
weeks before it, the SPPT delivery, vehicle-tax amnesty windows, school enrolment (PPDB) and
the rainy season. The same features drive the demo history and the forecast's regressors:
everything here is known in advance by the office, so the forecast may use it for future days.

The dates of regional events (PBB due date, bansos waves, amnesty) differ per regency and year;
:class:`CalendarConfig` holds them, with defaults for the demo regency.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import date, timedelta

__all__ = ["CalendarConfig", "DayInfo", "day_info", "days_between", "holiday_dates", "FEATURES"]


@dataclass(frozen=True)
class CalendarConfig:
    #: the regency's PBB-P2 due date (month, day); commonly end of August or September
    pbb_due: tuple[int, int] = (8, 31)
    #: SPPT delivery window (month, day) .. (month, day)
    sppt_delivery: tuple[tuple[int, int], tuple[int, int]] = ((4, 15), (5, 15))
    #: PKH disbursement months (quarterly) and the days of the month the wave covers
    pkh_months: tuple[int, ...] = (2, 5, 8, 11)
    pkh_days: tuple[int, int] = (8, 21)
    #: BPNT / sembako monthly wave, days of the month
    bpnt_days: tuple[int, int] = (15, 22)
    #: vehicle-tax amnesty (pemutihan) windows, any years: ((y, m, d), (y, m, d))
    vehicle_amnesty: tuple[tuple[date, date], ...] = field(default_factory=tuple)
    #: yearly amnesty window used when ``vehicle_amnesty`` is empty (month, day)..(month, day)
    vehicle_amnesty_yearly: tuple[tuple[int, int], tuple[int, int]] | None = ((5, 2), (6, 30))
    #: school enrolment (PPDB) window (month, day)..(month, day)
    school_enrolment: tuple[tuple[int, int], tuple[int, int]] = ((6, 1), (7, 15))
    #: payday: the first days of the month
    payday_days: int = 5
    #: extra closed days (regional holidays) on top of the national ones
    extra_holidays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class DayInfo:
    day: date
    weekday: int                 # 0 = Monday
    holiday: str | None          # national holiday's name (Indonesian), None if none
    cuti_bersama: bool
    ramadan: bool
    after_eid: bool              # days 7..35 after Idul Fitri
    payday: bool
    pkh_wave: bool
    bpnt_wave: bool
    pbb_ramp: float              # 0 .. 1 in the weeks before the PBB due date
    pbb_after_due: bool          # the ten days after it (fines, late payment)
    sppt_delivery: bool
    vehicle_amnesty: bool
    school_enrolment: bool
    rain: float                  # rainy-season intensity 0 .. 1 (November to March, peak January)
    after_long_break: bool       # first working day after three or more closed days

    @property
    def closed(self) -> bool:
        """Government offices are closed (weekend, holiday or cuti bersama)."""
        return self.weekday >= 5 or self.holiday is not None or self.cuti_bersama

    @property
    def day_type(self) -> str:
        """office | ramadan_office | weekend | holiday (for hour-of-day profiles)."""
        if self.holiday is not None or self.cuti_bersama:
            return "holiday"
        if self.weekday >= 5:
            return "weekend"
        return "ramadan_office" if self.ramadan else "office"


#: names of the numeric features :func:`features` returns, in order (forecast regressors)
FEATURES = ("holiday", "ramadan", "after_eid", "payday", "pkh_wave", "bpnt_wave", "pbb_ramp",
            "pbb_after_due", "sppt_delivery", "vehicle_amnesty", "school_enrolment", "rain",
            "after_long_break")


def features(info: DayInfo) -> tuple[float, ...]:
    return (
        1.0 if (info.holiday is not None or info.cuti_bersama) and info.weekday < 5 else 0.0,
        float(info.ramadan), float(info.after_eid), float(info.payday), float(info.pkh_wave),
        float(info.bpnt_wave), info.pbb_ramp, float(info.pbb_after_due), float(info.sppt_delivery),
        float(info.vehicle_amnesty), float(info.school_enrolment), info.rain, float(info.after_long_break),
    )


@functools.lru_cache(maxsize=64)
def _year_tables(year: int) -> tuple[dict[date, str], frozenset[date], tuple[date, ...]]:
    from holidays.countries.indonesia import Indonesia

    public = Indonesia(years=[year], language="id")
    gov = Indonesia(years=[year], categories=("government",), language="id")
    eid = tuple(sorted(d for d, n in Indonesia(years=[year]).items() if n == "Eid al-Fitr"))
    return dict(public.items()), frozenset(gov.keys()), eid


def holiday_dates(start: date, end: date, config: CalendarConfig = CalendarConfig()) -> frozenset[date]:
    """National holidays, cuti bersama and the configured regional ones between two dates
    (inclusive): the closed weekdays, also for SLA working-day counts."""
    out: set[date] = set()
    for y in range(start.year, end.year + 1):
        pub, gov, _ = _year_tables(y)
        out.update(d for d in pub if start <= d <= end)
        out.update(d for d in gov if start <= d <= end)
    out.update(d for d in config.extra_holidays if start <= d <= end)
    return frozenset(out)


def _eid_dates(year: int) -> tuple[date, ...]:
    out: list[date] = []
    for y in (year - 1, year, year + 1):
        out.extend(_year_tables(y)[2])
    return tuple(out)


def _in_window(d: date, window: tuple[tuple[int, int], tuple[int, int]]) -> bool:
    (m1, d1), (m2, d2) = window
    return (m1, d1) <= (d.month, d.day) <= (m2, d2)


def _rain(d: date) -> float:
    # November .. March, peak mid January (cosine bump over a 150-day season)
    start = date(d.year if d.month >= 11 else d.year - 1, 11, 1)
    x = (d - start).days
    if not 0 <= x < 151:
        return 0.0
    return round(0.5 - 0.5 * math.cos(2 * math.pi * x / 151), 4)


def _closed(d: date, config: CalendarConfig) -> bool:
    pub, gov, _ = _year_tables(d.year)
    return d.weekday() >= 5 or d in pub or d in gov or d in config.extra_holidays


@functools.lru_cache(maxsize=8192)
def day_info(d: date, config: CalendarConfig = CalendarConfig()) -> DayInfo:
    pub, gov, _ = _year_tables(d.year)
    holiday = pub.get(d) or (("Libur daerah") if d in config.extra_holidays else None)
    eids = _eid_dates(d.year)
    ramadan = any(timedelta(days=1) <= e - d <= timedelta(days=30) for e in eids)
    after_eid = any(timedelta(days=7) <= d - e <= timedelta(days=35) for e in eids)
    due = date(d.year, *config.pbb_due)
    ramp_start = due - timedelta(days=45)
    pbb_ramp = 0.0
    if ramp_start <= d <= due:
        pbb_ramp = round(((d - ramp_start).days / 45) ** 2, 4)
    pbb_after = timedelta(days=1) <= d - due <= timedelta(days=10)
    if config.vehicle_amnesty:
        amnesty = any(a <= d <= b for a, b in config.vehicle_amnesty)
    else:
        amnesty = config.vehicle_amnesty_yearly is not None and _in_window(d, config.vehicle_amnesty_yearly)
    after_break = False
    if not _closed(d, config):
        k = 0
        p = d - timedelta(days=1)
        while _closed(p, config) and k < 10:
            k += 1
            p -= timedelta(days=1)
        after_break = k >= 3
    return DayInfo(
        day=d, weekday=d.weekday(), holiday=holiday, cuti_bersama=d in gov,
        ramadan=ramadan, after_eid=after_eid, payday=d.day <= config.payday_days,
        pkh_wave=d.month in config.pkh_months and config.pkh_days[0] <= d.day <= config.pkh_days[1],
        bpnt_wave=config.bpnt_days[0] <= d.day <= config.bpnt_days[1],
        pbb_ramp=pbb_ramp, pbb_after_due=pbb_after,
        sppt_delivery=_in_window(d, config.sppt_delivery), vehicle_amnesty=amnesty,
        school_enrolment=_in_window(d, config.school_enrolment), rain=_rain(d),
        after_long_break=after_break,
    )


def days_between(start: date, end: date) -> list[date]:
    """Every date from ``start`` to ``end`` inclusive."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
