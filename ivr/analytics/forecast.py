"""Demand forecast per service and in total, daily and hourly, with prediction intervals.

The model (why, and how it compares with statsforecast, in docs/analytics.md): per series, a
count regression of the daily calls on the calendar, fitted with statsmodels' GLM (Poisson
IRLS), with a negative-binomial dispersion estimated from the residuals for the intervals:

    log E[calls on day d] = intercept + weekday + trend + the calendar features of d
                            (holiday or cuti bersama, Ramadan, after Idul Fitri, payday, bansos
                            waves, PBB due date, SPPT delivery, vehicle-tax amnesty, school
                            enrolment, rainy season, first day after a long break)

Days far above the fit (incidents, Pearson residual > 3.5) are left out of a second fit, so one
flood does not raise next month's forecast. Features absent from the history (a first Ramadan)
are left out: the forecast then says nothing about them rather than guessing. The hourly
forecast spreads each day over its hours with the hour-of-day profile of its day type (office,
Ramadan office, weekend, holiday) from the series' recent weeks, shrunk towards the total's.

Honest evaluation: :func:`backtest` refits on rolling origins and compares the forecast with
the seasonal-naive one (same hour or day last week) by MASE, and checks interval coverage.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select

from ivr.analytics.calendar import CalendarConfig, day_info, features
from ivr.analytics.catalog import SERVICE_NAMES, service_label
from ivr.analytics.db import Source, local_hour, table
from ivr.storage.models import CallRow, HandoffRow

__all__ = ["History", "load_history", "CalendarModel", "ForecastPoint", "SeriesForecast", "Forecast",
           "forecast", "forecast_history", "BacktestRow", "Backtest", "backtest", "DAY_TYPES"]

TOTAL = "total"
HANDOFFS = "handoffs"
DAY_TYPES = ("office", "ramadan_office", "weekend", "holiday")
LEVEL = 0.8


# ---------------------------------------------------------------------------- history


@dataclass(frozen=True, eq=False)
class History:
    """Hourly counts per series over whole local days: ``counts[hour, series]``."""

    start: date                      # first local day
    names: tuple[str, ...]           # services..., "total", "handoffs"
    counts: np.ndarray               # shape (days * 24, len(names))

    @property
    def days(self) -> int:
        return int(self.counts.shape[0]) // 24

    @property
    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def daily(self) -> np.ndarray:
        return np.asarray(self.counts.reshape(self.days, 24, -1).sum(axis=1))

    def column(self, name: str) -> np.ndarray:
        return self.counts[:, self.names.index(name)]

    def head(self, days: int) -> "History":
        return History(self.start, self.names, self.counts[: days * 24])

    def trimmed(self) -> "History":
        """Without the days before the first call and after the last one (a young hotline's
        history; a database whose calls stop before today, such as a demo)."""
        daily = self.counts.reshape(self.days, 24, -1).sum(axis=(1, 2))
        nz = np.flatnonzero(daily)
        if not len(nz):
            return History(self.start, self.names, self.counts[-24:] if self.days else self.counts)
        first, last = int(nz[0]), int(nz[-1])
        return History(self.start + timedelta(days=first), self.names, self.counts[first * 24:(last + 1) * 24])


def load_history(src: Source, start: date, end: date) -> History:
    """Calls per local hour and service (plus total and hand-offs requested) for the local
    days ``start`` .. ``end`` inclusive. One grouped query per table."""
    calls, hand = table(CallRow), table(HandoffRow)
    a, b = src.day_start(start), src.day_start(end + timedelta(days=1))
    first = src.hour_number(a)
    n_days = (end - start).days + 1
    names = (*SERVICE_NAMES, TOTAL, HANDOFFS)
    index = {n: i for i, n in enumerate(names)}
    counts = np.zeros((n_days * 24, len(names)))
    hour = local_hour(calls.c.started_at, src.offset_s).label("h")
    q = (select(calls.c.service, hour, func.count()).where(calls.c.started_at >= a, calls.c.started_at < b)
         .group_by(calls.c.service, hour))
    hh = local_hour(hand.c.requested_at, src.offset_s).label("h")
    q2 = (select(hh, func.count()).where(hand.c.requested_at >= a, hand.c.requested_at < b).group_by(hh))
    with src.engine.connect() as conn:
        for service, h, n in conn.execute(q):
            i = int(h) - first
            if 0 <= i < counts.shape[0]:
                counts[i, index[TOTAL]] += n
                if service in index:
                    counts[i, index[service]] += n
        for h, n in conn.execute(q2):
            i = int(h) - first
            if 0 <= i < counts.shape[0]:
                counts[i, index[HANDOFFS]] += n
    return History(start, names, counts)


# ---------------------------------------------------------------------------- the model


def _design(days: list[date], origin: date, cal: CalendarConfig) -> np.ndarray:
    rows = []
    for d in days:
        info = day_info(d, cal)
        dow = [1.0 if d.weekday() == k else 0.0 for k in range(1, 7)]
        rows.append([1.0, *dow, (d - origin).days / 365.0, *features(info)])
    return np.asarray(rows)


def _nb_quantile(q: float, mu: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    from scipy import stats

    mu = np.maximum(np.asarray(mu, dtype=float), 1e-9)
    a = np.broadcast_to(np.maximum(np.asarray(alpha, dtype=float), 1e-6), mu.shape)
    n = 1.0 / a
    return np.asarray(stats.nbinom.ppf(q, n, n / (n + mu)))


@dataclass(eq=False)
class CalendarModel:
    """Count regression of daily calls on the calendar (statsmodels GLM, Poisson IRLS) with a
    negative-binomial dispersion for the intervals."""

    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    outlier_z: float = 3.5
    ridge: float = 0.02
    params: np.ndarray | None = None
    keep: np.ndarray | None = None
    alpha: float = 0.0
    origin: date | None = None
    cov: np.ndarray | None = None

    def fit(self, days: list[date], y: np.ndarray) -> "CalendarModel":
        import statsmodels.api as sm

        self.origin = days[0]
        X = _design(days, self.origin, self.calendar)
        # a feature needs two days to be estimated (the ridge penalty keeps a rare one bounded)
        nz = (X != 0).sum(axis=0)
        keep = (nz >= 2) & ((X != X[0]).any(axis=0) | (np.arange(X.shape[1]) == 0))
        if len(days) < 56:
            keep[7] = False       # no trend from less than eight weeks
        keep[0] = True            # the intercept, even from one day (a new hotline, no calls yet)
        self.keep = keep
        Xk = X[:, keep]
        y = np.asarray(y, dtype=float)
        if y.sum() == 0:
            self.params = np.zeros(Xk.shape[1])
            self.params[0] = -20.0
            self.alpha = 0.0
            self.cov = np.zeros((Xk.shape[1], Xk.shape[1]))
            return self
        w = np.ones_like(y)
        # ridge penalty on the calendar effects (not on intercept and weekdays): a feature seen
        # on a few days only cannot run away when the forecast extrapolates it
        pen = np.where(np.arange(X.shape[1]) < 7, 0.0, self.ridge)[keep]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(2):
                model = sm.GLM(y[w > 0], Xk[w > 0], family=sm.families.Poisson())
                res = model.fit_regularized(method="elastic_net", alpha=pen, L1_wt=0.0, maxiter=200,
                                            start_params=None)
                params = np.asarray(res.params)
                mu = np.exp(np.clip(Xk @ params, -30, 30))
                alpha = max(0.0, float(np.sum(w * ((y - mu) ** 2 - mu)) / max(np.sum(w * mu ** 2), 1e-9)))
                z = (y - mu) / np.sqrt(mu + alpha * mu ** 2 + 1e-9)
                w = (z < self.outlier_z).astype(float)
        self.params = params
        # the dispersion counts every day, surges included: intervals must hold real weeks
        self.alpha = max(0.0, float(np.sum((y - mu) ** 2 - mu) / max(np.sum(mu ** 2), 1e-9)))
        # parameter uncertainty from the penalised Hessian (scaled by the over-dispersion)
        n = max(1, int(w.sum()))
        hess = (Xk * (mu * w)[:, None]).T @ Xk + n * np.diag(pen)
        scale = max(1.0, float(np.sum(w * (y - mu) ** 2 / np.maximum(mu, 1e-9)) / max(n - Xk.shape[1], 1)))
        self.cov = np.linalg.pinv(hess) * scale
        return self

    def predict(self, days: list[date]) -> np.ndarray:
        assert self.params is not None and self.keep is not None and self.origin is not None
        X = _design(days, self.origin, self.calendar)[:, self.keep]
        return np.asarray(np.exp(np.clip(X @ self.params, -30, 30)))

    def unseen(self, days: list[date]) -> np.ndarray:
        """Days on which a calendar feature is active that the history never showed (a first
        Ramadan, a first PBB due date): the forecast has no estimate of its effect there."""
        assert self.keep is not None and self.origin is not None
        X = _design(days, self.origin, self.calendar)
        dropped = ~self.keep.copy()
        dropped[:8] = False          # intercept, weekdays, trend
        return np.asarray((X[:, dropped] != 0).any(axis=1))

    def dispersion(self, days: list[date]) -> np.ndarray:
        """Per-day negative-binomial dispersion: the residual one plus the variance of the
        fitted log mean (parameter uncertainty, larger far from the history)."""
        assert self.cov is not None and self.keep is not None and self.origin is not None
        X = _design(days, self.origin, self.calendar)[:, self.keep]
        se2 = np.einsum("ij,jk,ik->i", X, self.cov, X)
        return np.asarray(self.alpha + np.clip(se2, 0.0, 4.0))

    def interval(self, mu: np.ndarray, level: float = LEVEL,
                 alpha: np.ndarray | float | None = None) -> tuple[np.ndarray, np.ndarray]:
        lo = (1 - level) / 2
        a = self.alpha if alpha is None else alpha
        return _nb_quantile(lo, mu, a), _nb_quantile(1 - lo, mu, a)


def _profiles(hist: History, cal: CalendarConfig, weeks: int = 8, k: float = 60.0) -> np.ndarray:
    """Hour-of-day shares per day type and series: shape (4, 24, series). Recent ``weeks``
    first; a day type missing there comes from the whole history; shrunk to the total's."""
    dates = hist.dates
    h = hist.counts.reshape(hist.days, 24, -1)
    types = np.asarray([DAY_TYPES.index(day_info(d, cal).day_type) for d in dates])
    recent = np.arange(hist.days) >= hist.days - weeks * 7
    out = np.zeros((len(DAY_TYPES), 24, len(hist.names)))
    total_i = hist.names.index(TOTAL)
    for t in range(len(DAY_TYPES)):
        sel = (types == t) & recent
        if h[sel].sum() == 0:
            sel = types == t
        if h[sel].sum() == 0:
            sel = types == DAY_TYPES.index("office") if t == 1 else (types != -1)
        sums = h[sel].sum(axis=0)                          # 24 x series
        tot = sums[:, total_i]
        base = tot / tot.sum() if tot.sum() > 0 else np.full(24, 1 / 24)
        n = sums.sum(axis=0)                               # per series
        out[t] = (sums + k * base[:, None]) / (n + k)[None, :]
    return out


# ---------------------------------------------------------------------------- forecasts


@dataclass(frozen=True)
class ForecastPoint:
    start: datetime        # local start of the hour or day
    mean: float
    lo: float              # prediction interval at ``level``
    hi: float


@dataclass(frozen=True)
class SeriesForecast:
    series: str            # service name, "total" or "handoffs"
    label: str
    granularity: str       # hour | day
    level: float
    points: tuple[ForecastPoint, ...]


@dataclass(frozen=True)
class Forecast:
    generated_at: datetime
    history_start: date
    history_end: date
    horizon_days: int
    model: str
    daily: tuple[SeriesForecast, ...]
    hourly: tuple[SeriesForecast, ...]

    def series(self, name: str, granularity: str = "day") -> SeriesForecast:
        for s in (self.daily if granularity == "day" else self.hourly):
            if s.series == name:
                return s
        raise KeyError(name)


MODEL_NAME = "statsmodels GLM (Poisson, calendar regressors) + negative-binomial intervals"


def _label(name: str) -> str:
    return {TOTAL: "Semua layanan", HANDOFFS: "Sambungan ke petugas"}.get(name) or service_label(name)


def _fit_predict(hist: History, j: int, fdays: list[date], cal: CalendarConfig,
                 profiles: np.ndarray, level: float) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray],
                                                            np.ndarray, tuple[np.ndarray, np.ndarray]]:
    y = hist.daily()[:, j]
    m = CalendarModel(cal).fit(hist.dates, y)
    mu = m.predict(fdays)
    disp = m.dispersion(fdays)
    lo, hi = m.interval(mu, level, disp)
    types = [DAY_TYPES.index(day_info(d, cal).day_type) for d in fdays]
    mu_h = np.concatenate([mu[i] * profiles[t, :, j] for i, t in enumerate(types)])
    lo_h, hi_h = m.interval(mu_h, level, np.repeat(disp, 24))
    return mu, (lo, hi), mu_h, (lo_h, hi_h)


def forecast_history(hist: History, src: Source, horizon_days: int = 14, *, level: float = LEVEL,
                     calendar: CalendarConfig = CalendarConfig(), series: tuple[str, ...] | None = None,
                     now: datetime | None = None) -> Forecast:
    first = hist.start + timedelta(days=hist.days)
    fdays = [first + timedelta(days=i) for i in range(horizon_days)]
    profiles = _profiles(hist, calendar)
    daily: list[SeriesForecast] = []
    hourly: list[SeriesForecast] = []
    for j, name in enumerate(hist.names):
        if series is not None and name not in series:
            continue
        mu, (lo, hi), mu_h, (lo_h, hi_h) = _fit_predict(hist, j, fdays, calendar, profiles, level)
        pts = tuple(ForecastPoint(datetime(d.year, d.month, d.day, tzinfo=src.tz), float(mu[i]), float(lo[i]),
                                  float(hi[i])) for i, d in enumerate(fdays))
        daily.append(SeriesForecast(name, _label(name), "day", level, pts))
        h0 = src.hour_number(src.day_start(first))
        hpts = tuple(ForecastPoint(src.hour_start(h0 + i), float(mu_h[i]), float(lo_h[i]), float(hi_h[i]))
                     for i in range(len(mu_h)))
        hourly.append(SeriesForecast(name, _label(name), "hour", level, hpts))
    return Forecast(now or datetime.now(src.tz), hist.start, first - timedelta(days=1), horizon_days, MODEL_NAME,
                    tuple(daily), tuple(hourly))


def forecast(src: Source, *, today: date | None = None, history_days: int = 364, horizon_days: int = 14,
             level: float = LEVEL, calendar: CalendarConfig = CalendarConfig(),
             hist: History | None = None) -> Forecast:
    """Fit on the complete local days before ``today`` (default: the local date now) and
    forecast ``horizon_days`` from ``today`` on (from the day after the last call when the
    calls stop earlier, as in a demo database). Synchronous: run it off the event loop."""
    today = today or datetime.now(src.tz).date()
    if hist is None:
        hist = load_history(src, today - timedelta(days=history_days), today - timedelta(days=1))
    else:        # an already loaded history (a report shares one): the days before ``today``
        hist = hist.head(max(1, (today - hist.start).days))
    hist = hist.trimmed()
    return forecast_history(hist, src, horizon_days, level=level, calendar=calendar)


# ---------------------------------------------------------------------------- backtest


@dataclass(frozen=True)
class BacktestRow:
    series: str
    label: str
    granularity: str           # hour | day
    mase: float                # the model's
    mase_naive: float          # the seasonal-naive forecast's (same hour/day last week)
    coverage: float            # share of actual values inside the interval
    level: float
    mean_actual: float

    @property
    def relative(self) -> float:
        """MASE ratio model / seasonal naive (< 1: the model is better)."""
        return self.mase / self.mase_naive if self.mase_naive > 0 else math.inf

    @property
    def beats_naive(self) -> bool:
        return self.mase < self.mase_naive


@dataclass(frozen=True)
class Backtest:
    origins: tuple[date, ...]
    horizon_days: int
    rows: tuple[BacktestRow, ...]

    def row(self, series: str, granularity: str = "day") -> BacktestRow:
        for r in self.rows:
            if r.series == series and r.granularity == granularity:
                return r
        raise KeyError(series)

    def share_beating(self, granularity: str = "day", services_only: bool = True) -> float:
        rows = [r for r in self.rows if r.granularity == granularity
                and (not services_only or r.series not in (TOTAL, HANDOFFS))]
        return sum(r.beats_naive for r in rows) / len(rows) if rows else 0.0


def backtest(hist: History, *, origins: int = 6, step_days: int = 7, horizon_days: int = 14,
             min_train_days: int = 42, level: float = LEVEL, calendar: CalendarConfig = CalendarConfig(),
             series: tuple[str, ...] | None = None) -> Backtest:
    """Rolling-origin evaluation: at each origin, fit on the days before it and forecast the
    next ``horizon_days``; compare with the seasonal-naive forecast (the last week repeated)
    by MASE (errors scaled by the in-sample seasonal-naive error) and count interval coverage."""
    last_origin = hist.days - horizon_days
    starts = [last_origin - k * step_days for k in range(origins)]
    starts = sorted(s for s in starts if s >= max(min_train_days, 14))
    if not starts:
        raise ValueError("history too short for a backtest")
    daily = hist.daily()
    acc: dict[tuple[str, str], dict[str, float]] = {}
    for o in starts:
        train = hist.head(o)
        profiles = _profiles(train, calendar)
        fdays = [hist.start + timedelta(days=o + i) for i in range(horizon_days)]
        for j, name in enumerate(hist.names):
            if series is not None and name not in series:
                continue
            mu, (lo, hi), mu_h, (lo_h, hi_h) = _fit_predict(train, j, fdays, calendar, profiles, level)
            # daily
            y = daily[o:o + horizon_days, j]
            yt = daily[:o, j]
            naive = np.asarray([daily[o - 7 + (i % 7), j] for i in range(horizon_days)])
            scale = np.mean(np.abs(yt[7:] - yt[:-7])) if o > 7 else 1.0
            _acc(acc, (name, "day"), y, mu, naive, lo, hi, scale)
            # hourly
            yh = hist.counts[o * 24:(o + horizon_days) * 24, j]
            yth = hist.counts[:o * 24, j]
            naive_h = np.asarray([hist.counts[o * 24 - 168 + (i % 168), j] for i in range(horizon_days * 24)])
            scale_h = np.mean(np.abs(yth[168:] - yth[:-168])) if o > 7 else 1.0
            _acc(acc, (name, "hour"), yh, mu_h, naive_h, lo_h, hi_h, scale_h)
    rows = []
    for (name, gran), a in acc.items():
        rows.append(BacktestRow(name, _label(name), gran, a["ae"] / a["n"] / max(a["scale"] / a["k"], 1e-9),
                                a["ae_n"] / a["n"] / max(a["scale"] / a["k"], 1e-9), a["cov"] / a["n"], level,
                                a["y"] / a["n"]))
    return Backtest(tuple(hist.start + timedelta(days=s) for s in starts), horizon_days, tuple(rows))


def _acc(acc: dict[tuple[str, str], dict[str, float]], key: tuple[str, str], y: np.ndarray, mu: np.ndarray,
         naive: np.ndarray, lo: np.ndarray, hi: np.ndarray, scale: float) -> None:
    a = acc.setdefault(key, {"ae": 0.0, "ae_n": 0.0, "cov": 0.0, "n": 0.0, "scale": 0.0, "k": 0.0, "y": 0.0})
    a["ae"] += float(np.abs(y - mu).sum())
    a["ae_n"] += float(np.abs(y - naive).sum())
    a["cov"] += float(((y >= lo) & (y <= hi)).sum())
    a["n"] += len(y)
    a["y"] += float(y.sum())
    a["scale"] += float(scale)
    a["k"] += 1


def describe_quality(bt: Backtest) -> dict[str, Any]:
    """Summary figures for a page or a report: services beating seasonal naive, median ratio,
    mean coverage."""
    out: dict[str, Any] = {}
    for gran in ("day", "hour"):
        rows = [r for r in bt.rows if r.granularity == gran and r.series not in (TOTAL, HANDOFFS)]
        if not rows:
            continue
        out[gran] = {
            "services": len(rows),
            "beating_naive": sum(r.beats_naive for r in rows),
            "median_relative_mase": float(np.median([r.relative for r in rows])),
            "coverage": float(np.mean([r.coverage for r in rows])),
        }
    return out
