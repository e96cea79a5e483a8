"""Which forecasting library: statsmodels (the calendar GLM the hotline ships) against
statsforecast (AutoARIMA and AutoETS, with the same calendar regressors for AutoARIMA).

Measures, on this machine, each in a fresh interpreter: import time, the first fit (any JIT or
compile happens there), a second fit, and daily rolling-origin accuracy (MASE against the
seasonal naive, 80% interval coverage) on a demo history.

    PYTHONPATH=$PWD nice -n 19 python bench/bench_analytics_forecast_libs.py \
        --db sqlite:///var/demo.sqlite3 [--sf-path /tmp/sfpkgs]

statsforecast is not a dependency of the hotline (it pins pandas < 3 and pulls fugue and
pyarrow); install it into a separate target directory and pass ``--sf-path`` to compare.
Prints figures and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CHILD = r'''
import json, sys, time, warnings
t0 = time.perf_counter()
lib = sys.argv[1]
if lib == "statsforecast":
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS
else:
    import statsmodels.api  # noqa: F401
t_import = time.perf_counter() - t0

from datetime import date, timedelta
import numpy as np
from sqlalchemy import create_engine
from ivr.analytics.db import Source
from ivr.analytics.forecast import load_history, CalendarModel, _design
from ivr.analytics.calendar import CalendarConfig

db, start, end, origins = sys.argv[2], date.fromisoformat(sys.argv[3]), date.fromisoformat(sys.argv[4]), int(sys.argv[5])
hist = load_history(Source(create_engine(db)), start, end)
daily = hist.daily()
names = [n for n in hist.names if n not in ("total", "handoffs")]
H = 14
cal = CalendarConfig()

def fit_all(o):
    train_days = hist.dates[:o]
    fdays = [hist.start + timedelta(days=o + i) for i in range(H)]
    out = {}
    if lib == "statsforecast":
        X = _design(train_days + fdays, train_days[0], cal)[:, 7:]   # trend + calendar features
        keep = (X[:o] != X[0]).any(axis=0)
        X = X[:, keep]
        rows, xrows = [], []
        for j, n in enumerate(hist.names):
            if n not in names:
                continue
            for i, d in enumerate(train_days):
                rows.append({"unique_id": n, "ds": pd.Timestamp(d), "y": float(daily[i, j]),
                             **{f"x{k}": X[i, k] for k in range(X.shape[1])}})
            for i, d in enumerate(fdays):
                xrows.append({"unique_id": n, "ds": pd.Timestamp(d), **{f"x{k}": X[o + i, k] for k in range(X.shape[1])}})
        df, xdf = pd.DataFrame(rows), pd.DataFrame(xrows)
        sf = StatsForecast(models=[AutoARIMA(season_length=7)], freq="D", n_jobs=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc = sf.forecast(df=df, h=H, X_df=xdf, level=[80])
        for n in names:
            f = fc[fc["unique_id"] == n]
            out[n] = (f["AutoARIMA"].to_numpy(), f["AutoARIMA-lo-80"].to_numpy(), f["AutoARIMA-hi-80"].to_numpy())
    else:
        for j, n in enumerate(hist.names):
            if n not in names:
                continue
            m = CalendarModel(cal).fit(train_days, daily[:o, j])
            mu = m.predict(fdays)
            lo, hi = m.interval(mu, 0.8, m.dispersion(fdays))
            out[n] = (mu, lo, hi)
    return out

last = hist.days - H
starts = sorted(last - 7 * k for k in range(origins))
t1 = time.perf_counter(); fit_all(starts[-1]); t_first = time.perf_counter() - t1
t1 = time.perf_counter(); fit_all(starts[-1]); t_second = time.perf_counter() - t1
ae = {n: 0.0 for n in names}; aen = {n: 0.0 for n in names}; cov = {n: 0 for n in names}; cnt = 0; sc = {n: 0.0 for n in names}
for o in starts:
    res = fit_all(o)
    for j, n in enumerate(hist.names):
        if n not in names:
            continue
        y = daily[o:o + H, j]; yt = daily[:o, j]
        naive = np.asarray([daily[o - 7 + (i % 7), j] for i in range(H)])
        mu, lo, hi = res[n]
        ae[n] += np.abs(y - mu).sum(); aen[n] += np.abs(y - naive).sum()
        cov[n] += int(((y >= lo) & (y <= hi)).sum())
        sc[n] += np.mean(np.abs(yt[7:] - yt[:-7]))
rel = {n: ae[n] / aen[n] for n in names}
mase = {n: ae[n] / (H * len(starts)) / (sc[n] / len(starts)) for n in names}
print(json.dumps({"lib": lib, "import_s": t_import, "first_fit_s": t_first, "second_fit_s": t_second,
                  "series": len(names), "relative_mase": rel, "mase": mase,
                  "coverage80": {n: cov[n] / (H * len(starts)) for n in names}}))
'''


def run(lib: str, args: argparse.Namespace) -> dict:
    env = dict(os.environ)
    path = [os.getcwd()]
    if lib == "statsforecast" and args.sf_path:
        path.insert(0, args.sf_path)
    env["PYTHONPATH"] = os.pathsep.join(path)
    out = subprocess.run([sys.executable, "-c", CHILD, lib, args.db, args.start, args.end, str(args.origins)],
                         env=env, capture_output=True, text=True, timeout=3000)
    if out.returncode != 0:
        return {"lib": lib, "error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--start", required=True, help="first day of the history (YYYY-MM-DD)")
    ap.add_argument("--end", required=True, help="last day of the history")
    ap.add_argument("--origins", type=int, default=6)
    ap.add_argument("--sf-path", default=None, help="directory where statsforecast is installed")
    args = ap.parse_args()
    results = [run("statsmodels", args)]
    results.append(run("statsforecast", args))
    summary = {}
    for r in results:
        if "error" in r:
            print(f"{r['lib']}: not measured ({r['error']})")
            summary[r["lib"]] = {"error": r["error"]}
            continue
        rel = sorted(r["relative_mase"].values())
        beat = sum(v < 1 for v in rel)
        cov = sum(r["coverage80"].values()) / len(r["coverage80"])
        print(f"{r['lib']:14} import {r['import_s']:.2f} s, first fit of {r['series']} series {r['first_fit_s']:.2f} s, "
              f"second {r['second_fit_s']:.2f} s; beats seasonal naive on {beat}/{len(rel)} services, "
              f"median relative MASE {rel[len(rel) // 2]:.2f}, 80% interval coverage {cov:.2f}")
        summary[r["lib"]] = {"import_s": round(r["import_s"], 3), "first_fit_s": round(r["first_fit_s"], 3),
                             "second_fit_s": round(r["second_fit_s"], 3), "beating_naive": beat,
                             "services": len(rel), "median_relative_mase": round(rel[len(rel) // 2], 3),
                             "coverage80": round(cov, 3)}
    print(json.dumps({"bench": "analytics_forecast_libs", "origins": args.origins, **summary}))


if __name__ == "__main__":
    main()
