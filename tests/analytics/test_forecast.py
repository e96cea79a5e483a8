"""Forecast: beats the seasonal naive on the demo history, intervals hold, holidays known;
Erlang C staffing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ivr.analytics.forecast import backtest, forecast, load_history
from ivr.analytics.staffing import Schedule, ScheduleError, agents_needed, erlang_c, service_level, staffing_plan


@pytest.fixture(scope="module")
def history(demo_factory):
    d = demo_factory("sqlite")
    return d, load_history(d.src, d.config.start, d.config.end)


def test_history_counts_every_call(history):
    from ivr.analytics.queries import overview

    d, hist = history
    ov = overview(d.src, d.config.start, d.config.end)
    assert hist.column("total").sum() == ov.calls == d.result.calls
    assert hist.column("handoffs").sum() == ov.handoffs == d.result.handoffs
    assert hist.days == d.config.days


def test_forecast_beats_seasonal_naive_on_most_services(history):
    _, hist = history
    bt = backtest(hist, origins=4)
    assert bt.share_beating("day") >= 0.7, [(r.series, round(r.relative, 2)) for r in bt.rows if r.granularity == "day"]
    assert bt.share_beating("hour") >= 0.7
    total = bt.row("total", "day")
    assert total.beats_naive
    # 80% intervals: neither far too narrow nor useless
    cov = [r.coverage for r in bt.rows if r.granularity == "day"]
    assert 0.65 <= sum(cov) / len(cov) <= 0.98


def test_forecast_knows_holidays_and_office_days(history):
    d, _ = history
    fc = forecast(d.src, today=d.config.end + timedelta(days=1), horizon_days=31)
    total = {p.start.date(): p for p in fc.series("total").points}
    christmas = total[date(2026, 12, 25)]
    cuti = total[date(2026, 12, 24)]
    ordinary = total[date(2026, 12, 17)]     # a Thursday
    assert christmas.mean < 0.7 * ordinary.mean and cuti.mean < 0.7 * ordinary.mean
    assert total[date(2026, 12, 20)].mean < 0.7 * ordinary.mean            # a Sunday
    for p in fc.series("ktp").points:
        assert p.lo <= p.mean <= p.hi
    hourly = fc.series("total", "hour").points
    day = [p for p in hourly if p.start.date() == date(2026, 12, 17)]
    assert len(day) == 24 and abs(sum(p.mean for p in day) - ordinary.mean) < 1e-6 * ordinary.mean + 1e-6
    assert max(day, key=lambda p: p.mean).start.hour in range(8, 15)


def test_erlang_c_matches_known_values():
    assert erlang_c(10, 8.0) == pytest.approx(0.4092, abs=1e-3)
    assert erlang_c(3, 3.0) == 1.0 and erlang_c(5, 0.0) == 0.0
    # 100 calls an hour, 180 s each: 5 erlangs; 7 agents answer ~74% within 20 s, 8 agents more than 80%
    assert service_level(7, 100, 180) == pytest.approx(0.740, abs=0.01)
    assert agents_needed(100, 180) == 8
    assert agents_needed(0, 180) == 0


def test_schedule_parses_and_rejects():
    s = Schedule.parse("Mon-Fri 08-12=6,12-16=5; Sab 08-12=2")
    assert s.agents(0, 9) == 6 and s.agents(4, 15) == 5 and s.agents(5, 10) == 2 and s.agents(6, 10) == 0
    assert s.agents(0, 16) == 0
    for bad in ("Mon-Fri", "Xyz 08-12=1", "Mon 12-08=1", "Mon 08-12"):
        with pytest.raises(ScheduleError):
            Schedule.parse(bad)


def test_staffing_plan_needs_agents_in_office_hours_only(history):
    d, _ = history
    hours, aht = staffing_plan(d.src, Schedule.parse("Mon-Fri 08-16=1"), days=7, today=d.config.end + timedelta(days=1))
    assert 200 < aht < 400
    open_hours = [h for h in hours if h.start.weekday() < 5 and 8 <= h.start.hour < 16
                  and h.start.date() not in d.src.holidays]
    assert open_hours and all(h.needed >= 1 for h in open_hours)
    assert all(h.needed == 0 for h in hours if h.start.hour < 7 or h.start.weekday() == 6)
    assert any(h.gap > 0 for h in open_hours)      # one agent is not enough at the peak
