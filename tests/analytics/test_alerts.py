"""Surge alerts: injected incidents are found quickly; quiet periods raise none."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from ivr.analytics.alerts import detect, detect_history, load_complaints, log_new_alerts, score_alerts
from ivr.analytics.forecast import load_history


def _scan(d):
    hist = load_history(d.src, d.config.start, d.config.end)
    comp = load_complaints(d.src, d.config.start, d.config.end)
    return detect_history(hist, comp, d.src)


def test_injected_incidents_are_detected(demo_factory):
    d = demo_factory("sqlite")
    incidents = d.result.plan.incidents
    assert len(incidents) >= 3
    alerts = _scan(d)
    score = score_alerts(alerts, incidents, d.src.day_start(d.config.start + timedelta(days=28)),
                         d.src.day_start(d.config.end))
    assert score.found == score.incidents, (score.missed, [a.label for a in alerts])
    assert score.median_delay_h is not None and score.median_delay_h <= 24
    assert score.false_alarms_per_month <= 1.0
    flood = next(i for i in incidents if i.kind == "flood")
    hit = [a for a in alerts if a.kind == "region" and a.district == flood.districts[0]]
    assert hit and hit[0].observed >= 6 and hit[0].ratio >= 3
    assert flood.start <= hit[0].first_seen <= flood.start + timedelta(hours=24)


def test_quiet_history_raises_no_alert(demo_factory):
    d = demo_factory("sqlite", incidents=False)
    assert d.result.plan.incidents == ()
    assert _scan(d) == []


def test_live_detection_sees_the_last_days_and_logs_new_alerts(demo_factory, caplog):
    d = demo_factory("sqlite")
    inc = d.result.plan.incidents[-1]
    now = (inc.start + timedelta(days=2)).astimezone(d.src.tz)
    alerts = detect(d.src, now=now, lookback_days=3)
    assert alerts and all(a.first_seen <= now for a in alerts)
    assert any(a.first_seen >= inc.start - timedelta(hours=6) for a in alerts)
    with caplog.at_level(logging.WARNING, logger="ivr.analytics.alerts"):
        n = log_new_alerts(alerts, since=now - timedelta(days=3))
    assert n == len([a for a in alerts if a.first_seen > now - timedelta(days=3)]) and n >= 1
    assert "surge alert" in caplog.text
    # de-duplicated: one alert per kind and key for one incident
    keys = [(a.kind, a.key) for a in alerts]
    assert len(keys) == len(set(keys))


def test_small_numbers_never_alarm(demo_factory):
    d = demo_factory("sqlite")
    for a in _scan(d):
        assert a.observed >= {"service": 20, "region": 6, "topic": 10}[a.kind]
