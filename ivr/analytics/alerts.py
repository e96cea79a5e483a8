"""Surge alerts: demand or complaints unusual for a service, a region or a topic.

Three detectors, each a one-sided count test with a minimum count and a minimum ratio, so that
small numbers never alarm:

* ``service``: calls for a service in the last 24 hours (and 72 hours) against the forecast
  model's expectation for those hours (the calendar is in it: PBB due dates or bansos waves
  are expected, not alarming); negative-binomial tail with the model's dispersion. Days with
  a calendar event the history never showed (a first Ramadan in a young history) have no
  expectation, so no service alert: the office knows its calendar.
* ``region``: complaints of one category in one kecamatan in the last 24 hours against that
  kecamatan and category's own rate over the previous eight weeks, scaled by the change of all
  complaints across the regency (a kecamatan alarms when its share grows).
* ``topic``: complaints of one topic (from :mod:`ivr.analytics.topics`) across the regency in
  the last 24 hours against its previous eight weeks.

The tests run at every hour; consecutive alarming hours of one (kind, key) form one alert
(de-duplicated: a new alert needs 48 quiet hours first). :func:`detect` returns the alerts of
a period; :func:`log_new_alerts` writes those first raised since a time to the log;
:func:`score_alerts` scores alerts against known incidents (detection delay, incidents found,
false alarms per month).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select

from ivr.analytics.areas import district_of, load_areas
from ivr.analytics.calendar import CalendarConfig, day_info
from ivr.analytics.catalog import CATEGORIES, category_label, service_label
from ivr.analytics.db import Source, local_hour, table
from ivr.analytics.forecast import DAY_TYPES, CalendarModel, History, _profiles, load_history
from ivr.storage.models import TicketRow

__all__ = ["AlertRules", "Alert", "detect", "detect_history", "log_new_alerts", "load_complaints",
           "Complaints", "Score", "score_alerts"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertRules:
    p_max: float = 1e-4            # one-sided test level (per hour and series: many tests run)
    service_p_max: float = 1e-6    # services: the model misses some calendar effects, be stricter
    service_min_count: int = 20
    service_min_ratio: float = 1.4
    region_min_count: int = 6
    region_min_ratio: float = 3.0
    region_p_max: float = 1e-5     # 186 kecamatan x category series: stricter
    topic_min_count: int = 10
    topic_min_ratio: float = 2.0
    baseline_days: int = 56
    min_baseline_days: int = 14
    complaint_dispersion: float = 0.15   # negative-binomial alpha of complaint counts
    merge_gap_h: int = 48


@dataclass(frozen=True)
class Alert:
    kind: str                  # service | region | topic
    key: str                   # service name | "district|category" | topic id
    label: str                 # readable Indonesian
    first_seen: datetime       # local end of the first alarming hour
    last_seen: datetime
    observed: int              # count in the window when first raised
    expected: float
    p_value: float
    peak_observed: int
    window_h: int
    category: str | None = None
    district: str | None = None

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected > 0 else float("inf")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "label": self.label,
                "first_seen": self.first_seen.isoformat(), "last_seen": self.last_seen.isoformat(),
                "observed": self.observed, "expected": round(self.expected, 2), "ratio": round(self.ratio, 2),
                "p_value": self.p_value, "peak_observed": self.peak_observed, "window_h": self.window_h,
                "category": self.category, "district": self.district}


# ---------------------------------------------------------------------------- complaints


@dataclass(frozen=True, eq=False)
class Complaints:
    """Complaints of a period, one entry per ticket (no personal data)."""

    first_hour: int
    hours: np.ndarray          # local hour number of each complaint
    district: list[str | None]
    category: list[str | None]
    agency: list[str | None]
    description: list[str]
    ticket_ids: list[str]
    #: who filed each (keyed hash of the NIK or phone, else None): topic labels use only words
    #: that several people wrote (:func:`ivr.analytics.topics.fit_topics`)
    reporters: list[str | None] | None = None


def load_complaints(src: Source, start: date, end: date) -> Complaints:
    t = table(TicketRow)
    a, b = src.day_start(start), src.day_start(end + timedelta(days=1))
    h = local_hour(t.c.created_at, src.offset_s)
    q = (select(h, t.c.area_code, t.c.category, t.c.agency, t.c.description, t.c.public_id,
                t.c.reporter_nik_hash, t.c.reporter_phone_hash)
         .where(t.c.kind == "complaint", t.c.created_at >= a, t.c.created_at < b).order_by(t.c.created_at))
    with src.engine.connect() as conn:
        rows = conn.execute(q).all()
    return Complaints(src.hour_number(a), np.asarray([int(r[0]) for r in rows], dtype=np.int64),
                      [district_of(r[1]) for r in rows], [r[2] for r in rows], [r[3] for r in rows],
                      [r[4] or "" for r in rows], [r[5] for r in rows], [r[6] or r[7] for r in rows])


# ---------------------------------------------------------------------------- tests


def _nb_sf(x: np.ndarray, mu: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """P(X >= x) for a negative binomial with mean ``mu`` and dispersion ``alpha``."""
    from scipy import stats

    mu = np.maximum(mu, 1e-9)
    a = np.maximum(np.broadcast_to(alpha, mu.shape), 1e-6)
    n = 1.0 / a
    return np.asarray(stats.nbinom.sf(np.asarray(x) - 1, n, n / (n + mu)))


def _rolling(c: np.ndarray, w: int) -> np.ndarray:
    """Sums over the ``w`` hours ending at each hour (NaN before ``w`` hours exist)."""
    nan = np.isnan(c)
    cs = np.concatenate([np.zeros((1,) + c.shape[1:]), np.cumsum(np.where(nan, 0.0, c), axis=0)])
    cn = np.concatenate([np.zeros((1,) + c.shape[1:]), np.cumsum(nan, axis=0)])
    out = np.full(c.shape, np.nan)
    out[w - 1:] = cs[w:] - cs[:-w]
    out[w - 1:][(cn[w:] - cn[:-w]) > 0] = np.nan
    return out


def _merge(kind: str, keys: list[str], labels: list[str], flags: np.ndarray, obs: np.ndarray, exp: np.ndarray,
           p: np.ndarray, hour0: int, src: Source, rules: AlertRules, window_h: int, extra: list[dict[str, Any]],
           lo: int) -> list[Alert]:
    out: list[Alert] = []
    for j in range(flags.shape[1]):
        hits = np.flatnonzero(flags[lo:, j]) + lo
        if not len(hits):
            continue
        groups: list[list[int]] = [[int(hits[0])]]
        for h in hits[1:]:
            if h - groups[-1][-1] > rules.merge_gap_h:
                groups.append([int(h)])
            else:
                groups[-1].append(int(h))
        for g in groups:
            f = g[0]
            out.append(Alert(kind, keys[j], labels[j], src.hour_start(hour0 + f + 1), src.hour_start(hour0 + g[-1] + 1),
                             int(obs[f, j]), float(exp[f, j]), float(p[f, j]), int(np.nanmax(obs[g, j])), window_h,
                             **extra[j]))
    return out


def _baseline_alerts(kind: str, counts: np.ndarray, keys: list[str], labels: list[str], extra: list[dict[str, Any]],
                     hour0: int, src: Source, rules: AlertRules, min_count: int, min_ratio: float,
                     lo: int, relative: bool = False) -> list[Alert]:
    """``relative``: scale each series' expectation by the regency-wide change of all series
    (a kecamatan alarms when its share grows, not on the day after a long holiday when every
    kecamatan is busier)."""
    w = 24
    obs = _rolling(counts, w)
    base_h = rules.baseline_days * 24
    cs = np.concatenate([np.zeros((1, counts.shape[1])), np.cumsum(counts, axis=0)])
    n = counts.shape[0]
    idx = np.arange(n)
    end = np.clip(idx + 1 - w, 0, None)                # baseline ends where the window starts
    start = np.clip(end - base_h, 0, None)
    span_days = (end - start) / 24.0
    base = cs[end] - cs[start]
    exp = (base + 0.5) / np.maximum(span_days, 1e-9)[:, None]     # per day, with a half-count prior
    if relative:
        tot_obs = np.nansum(obs, axis=1)
        tot_exp = base.sum(axis=1) / np.maximum(span_days, 1e-9)
        factor = np.clip(np.where(tot_exp > 0, tot_obs / np.maximum(tot_exp, 1e-9), 1.0), 0.5, 3.0)
        exp = exp * factor[:, None]
    exp[span_days < rules.min_baseline_days] = np.nan
    with np.errstate(invalid="ignore"):
        valid = ~np.isnan(exp) & ~np.isnan(obs)
        p = np.ones_like(obs)
        p[valid] = _nb_sf(obs[valid], exp[valid], rules.complaint_dispersion)
        flags = valid & (obs >= min_count) & (obs >= min_ratio * np.nan_to_num(exp)) \
            & (p < (rules.region_p_max if kind == "region" else rules.p_max))
    return _merge(kind, keys, labels, flags, obs, exp, p, hour0, src, rules, w, extra, lo)


def _service_expected(hist: History, calendar: CalendarConfig, min_days: int = 28,
                      refit_days: int = 7, from_day: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hourly expected calls per series from the forecast model refitted weekly on the days
    before each week (as the live system would have known them), and the per-day dispersion."""
    n_days = hist.days
    exp = np.full(hist.counts.shape, np.nan)
    disp = np.full(hist.counts.shape, np.nan)
    daily = hist.daily()
    first = max(min_days, from_day)
    for w in range(first, n_days, refit_days):
        train = hist.head(w)
        lo_d = max(0, w - 364)
        tdays = train.dates[lo_d:]
        fdays = [hist.start + timedelta(days=d) for d in range(w, min(n_days, w + refit_days))]
        prof = _profiles(train, calendar)
        types = [DAY_TYPES.index(day_info(d, calendar).day_type) for d in fdays]
        for j in range(len(hist.names)):
            m = CalendarModel(calendar).fit(tdays, daily[lo_d:w, j])
            mu = m.predict(fdays)
            dd = m.dispersion(fdays)
            unseen = m.unseen(fdays)
            for i, t in enumerate(types):
                if unseen[i]:
                    continue    # a calendar event the history never showed: no expectation

                row = (w + i) * 24
                exp[row:row + 24, j] = mu[i] * prof[t, :, j]
                disp[row:row + 24, j] = dd[i]
    return exp, disp


def detect_history(hist: History, complaints: Complaints | None, src: Source, *,
                   rules: AlertRules = AlertRules(), calendar: CalendarConfig = CalendarConfig(),
                   since: datetime | None = None, topics: Any = None) -> list[Alert]:
    """Run the three detectors over a loaded history; alerts first raised at or after
    ``since`` (default: any). ``topics``: a fitted :class:`TopicModel` for the complaints."""
    hour0 = src.hour_number(src.day_start(hist.start))
    lo = 0 if since is None else max(0, src.hour_number(since) - hour0 - 1)
    alerts: list[Alert] = []
    # -- services
    names = [n for n in hist.names if n not in ("total", "handoffs")]
    cols = [hist.names.index(n) for n in names]
    exp_h, disp_h = _service_expected(hist, calendar, from_day=max(0, (lo - 96) // 24))
    for w in (24, 72):
        obs = _rolling(hist.counts[:, cols], w)
        exp = _rolling(exp_h[:, cols], w)
        alpha = disp_h[:, cols] * (24.0 / w)
        with np.errstate(invalid="ignore"):
            valid = ~np.isnan(exp) & ~np.isnan(obs)
            p = np.ones_like(obs)
            p[valid] = _nb_sf(obs[valid], exp[valid], alpha[valid])
            flags = valid & (obs >= rules.service_min_count) & (obs >= rules.service_min_ratio * np.nan_to_num(exp)) \
                & (p < rules.service_p_max)
        alerts += _merge("service", names, [f"Layanan {service_label(n)}" for n in names], flags, obs, exp, p,
                         hour0, src, rules, w, [{} for _ in names], lo)
    alerts = _dedupe(alerts, rules)
    if complaints is None or not len(complaints.hours):
        return sorted(alerts, key=lambda a: a.first_seen)
    n_hours = hist.counts.shape[0]
    rel = complaints.hours - hour0
    ok = (rel >= 0) & (rel < n_hours)
    # -- regions: kecamatan x category
    areas = load_areas()
    dcodes = [d.code for d in areas.districts]
    cats = list(CATEGORIES)
    keyidx = {(d, c): i for i, (d, c) in enumerate((d, c) for d in dcodes for c in cats)}
    counts = np.zeros((n_hours, len(keyidx)))
    for r, d, c, good in zip(rel, complaints.district, complaints.category, ok):
        if good and d is not None and c is not None and (d, c) in keyidx:
            counts[int(r), keyidx[(d, c)]] += 1
    keys = [f"{d}|{c}" for d in dcodes for c in cats]
    labels = [f"{category_label(c)} di {areas.name(d)}" for d in dcodes for c in cats]
    extra = [{"district": d, "category": c} for d in dcodes for c in cats]
    alerts += _baseline_alerts("region", counts, keys, labels, extra, hour0, src, rules,
                               rules.region_min_count, rules.region_min_ratio, lo, relative=True)
    # -- topics
    if topics is None:
        from ivr.analytics.topics import fit_topics

        topics = fit_topics(complaints.description, authors=complaints.reporters)
    if topics.topics:
        k = len(topics.topics)
        counts = np.zeros((n_hours, k))
        for r, t, good in zip(rel, topics.assignments, ok):
            if good and t >= 0:
                counts[r, t] += 1
        majority = []
        for t in range(k):
            cs = [c for c, a in zip(complaints.category, topics.assignments) if a == t and c]
            majority.append(max(set(cs), key=cs.count) if cs else None)
        alerts += _baseline_alerts("topic", counts, [str(t) for t in range(k)],
                                   [f"Topik: {topics.topics[t].label}" for t in range(k)],
                                   [{"category": majority[t]} for t in range(k)], hour0, src, rules,
                                   rules.topic_min_count, rules.topic_min_ratio, lo)
    return sorted(alerts, key=lambda a: a.first_seen)


def _dedupe(alerts: list[Alert], rules: AlertRules) -> list[Alert]:
    """Alerts of one (kind, key) from different windows that overlap become one (the earliest)."""
    out: list[Alert] = []
    for a in sorted(alerts, key=lambda a: (a.kind, a.key, a.first_seen)):
        prev = out[-1] if out else None
        if prev and prev.kind == a.kind and prev.key == a.key and \
                a.first_seen <= prev.last_seen + timedelta(hours=rules.merge_gap_h):
            if a.last_seen > prev.last_seen:
                out[-1] = Alert(**{**prev.__dict__, "last_seen": a.last_seen,
                                   "peak_observed": max(prev.peak_observed, a.peak_observed)})
            continue
        out.append(a)
    return out


def detect(src: Source, *, now: datetime | None = None, lookback_days: int = 7, history_days: int = 364,
           rules: AlertRules = AlertRules(), calendar: CalendarConfig = CalendarConfig(),
           hist: History | None = None, complaints: Complaints | None = None, topics: Any = None) -> list[Alert]:
    """Alerts raised in the last ``lookback_days`` up to the last complete hour before ``now``.
    ``hist``/``complaints``/``topics``: already loaded (a report shares them). Synchronous (a
    few seconds): run it off the event loop."""
    now = now or datetime.now(src.tz)
    today = now.astimezone(src.tz).date()
    if hist is None:
        hist = load_history(src, today - timedelta(days=history_days), today)
    hist = hist.trimmed()
    start = hist.start
    if complaints is None:
        complaints = load_complaints(src, today - timedelta(days=rules.baseline_days + lookback_days + 2), today)
        topics = None
    cut = src.hour_number(now) - src.hour_number(src.day_start(start))
    hist = History(hist.start, hist.names, hist.counts.copy())
    hist.counts[max(0, cut):] = 0      # the current hour is incomplete; later hours do not exist yet
    alerts = detect_history(hist, complaints, src, rules=rules, calendar=calendar,
                            since=now - timedelta(days=lookback_days), topics=topics)
    return [a for a in alerts if a.first_seen <= now]


def log_new_alerts(alerts: list[Alert], since: datetime) -> int:
    """Log (WARNING) each alert first raised after ``since``; returns how many."""
    n = 0
    for a in alerts:
        if a.first_seen > since:
            log.warning("surge alert", extra={"alert": a.to_json()})
            n += 1
    return n


# ---------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Score:
    incidents: int
    found: int
    delays_h: tuple[float, ...]            # per found incident, hours from its start
    false_alarms: int
    months: float
    missed: tuple[str, ...] = ()
    matched: dict[str, list[str]] = field(default_factory=dict)

    @property
    def false_alarms_per_month(self) -> float:
        return self.false_alarms / self.months if self.months > 0 else 0.0

    @property
    def median_delay_h(self) -> float | None:
        return float(np.median(self.delays_h)) if self.delays_h else None


def _matches(a: Alert, inc: Any) -> bool:
    if not (inc.start - timedelta(hours=6) <= a.first_seen <= inc.end + timedelta(hours=48)):
        return False
    if a.kind == "service":
        return bool(a.key == inc.service)
    if a.kind == "region":
        return bool(a.district in inc.districts) if inc.districts else bool(a.category == inc.category)
    if a.kind == "topic":
        return bool(a.category == inc.category)
    return False


def score_alerts(alerts: list[Alert], incidents: Any, start: datetime, end: datetime) -> Score:
    """Incidents found (some alert matches their service, district or category while they
    run), detection delay (first matching alert minus incident start), false alarms (alerts
    matching no incident) per month of the scored period."""
    delays: list[float] = []
    missed: list[str] = []
    matched: dict[str, list[str]] = {}
    used: set[int] = set()
    for inc in incidents:
        hits = [i for i, a in enumerate(alerts) if _matches(a, inc)]
        used.update(hits)
        if hits:
            first = min(alerts[i].first_seen for i in hits)
            delays.append(max(0.0, (first - inc.start).total_seconds() / 3600))
            matched[inc.kind] = [alerts[i].label for i in hits]
        else:
            missed.append(inc.kind)
    false = len(alerts) - len(used)
    months = (end - start).total_seconds() / 86400 / 30.44
    return Score(len(list(incidents)), len(delays), tuple(delays), false, months, tuple(missed), matched)
