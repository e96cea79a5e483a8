"""Analytics on a large regency's year: about a million demo calls, SQLite and PostgreSQL.

Measures (medians of repeated runs, with min-max): demo generation, dashboard queries (the
week's overview, a day's overview, calls per day of a quarter), the daily report (figures plus
HTML, PDF and CSV), the weekly brief, a forecast refresh of every service (daily and hourly,
14 days); and the quality figures: rolling-origin backtest MASE per service against the
seasonal naive with 80% interval coverage, and the surge alerts scored on the injected
incidents (incidents found, detection delay, false alarms per month).

    PYTHONPATH=$PWD nice -n 19 python bench/bench_analytics.py --backend sqlite --db-dir /tmp/bench-an
    PYTHONPATH=$PWD nice -n 19 python bench/bench_analytics.py --backend postgres --reuse

Targets (issue #14): dashboard <= 1 s, daily report <= 10 s, weekly brief <= 30 s, forecast
refresh <= 60 s. Prints figures and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
KEY = "q0dwPAL2WKdZfMLnbBgQFGSo4Qdl0d2Ex95uF_Tz9wY="   # bench-only key


def timed(fn: Callable[[], Any], runs: int) -> tuple[dict[str, float], Any]:
    xs, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        xs.append(time.perf_counter() - t)
    return {"median_s": round(statistics.median(xs), 3), "min_s": round(min(xs), 3), "max_s": round(max(xs), 3)}, out


def open_store(backend: str, db_dir: Path, schema: str | None):
    from ivr.privacy.pii import Pii
    from ivr.storage import Store

    pii = Pii("mask", KEY)
    if backend == "sqlite":
        return Store(f"sqlite:///{db_dir / 'bench-analytics.sqlite3'}", pii=pii)
    return Store(PG_URL, pii=pii, schema=schema)


def run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    from ivr.analytics.alerts import detect_history, load_complaints, score_alerts
    from ivr.analytics.brief import weekly_brief
    from ivr.analytics.calendar import holiday_dates
    from ivr.analytics.db import Source
    from ivr.analytics.demo import DemoConfig, count_demo, generate_demo, plan_demo
    from ivr.analytics.forecast import backtest, forecast, load_history
    from ivr.analytics.queries import daily_calls, overview
    from ivr.analytics.reports import build_report, render_csv, render_html, render_pdf
    from ivr.config.calendar import OfficeHours

    end = date.fromisoformat(args.end)
    cfg = DemoConfig(start=end - timedelta(days=args.days - 1), days=args.days, seed=args.seed,
                     calls_per_day=args.calls_per_day)
    db_dir = Path(args.db_dir)
    db_dir.mkdir(parents=True, exist_ok=True)
    schema = args.pg_schema
    store = open_store(backend, db_dir, schema)
    store.migrate()
    out: dict[str, Any] = {"backend": backend}
    have = count_demo(store.database.engine)
    if have and args.reuse:
        print(f"[{backend}] reusing {have} demo calls")
        out["calls"] = have
    else:
        if have:
            from ivr.analytics.demo import delete_demo

            delete_demo(store.database.engine)
        res = generate_demo(store.database.engine, store.pii, cfg)
        out.update(calls=res.calls, turns=res.turns, tickets=res.tickets, generate_s=round(res.seconds, 1))
        print(f"[{backend}] generated {res.calls} calls, {res.turns} turns, {res.handoffs} hand-offs, "
              f"{res.tickets} tickets in {res.seconds:.0f} s ({res.calls / res.seconds:.0f} calls/s)")
    hol = holiday_dates(cfg.start - timedelta(days=30), end + timedelta(days=60))
    src = Source(store.database.engine, store.tickets.tz, hol, 14, OfficeHours.parse("Mon-Fri 08:00-16:00 Asia/Jakarta", hol))

    week = (end - timedelta(days=6), end)
    t_week, _ = timed(lambda: overview(src, *week), args.runs)
    t_day, _ = timed(lambda: overview(src, end, end), args.runs)
    t_quarter, _ = timed(lambda: daily_calls(src, end - timedelta(days=90), end), args.runs)
    out["dashboard"] = {"week_overview": t_week, "day_overview": t_day, "quarter_daily_calls": t_quarter}
    print(f"[{backend}] dashboard: week overview {t_week['median_s']:.3f} s, day {t_day['median_s']:.3f} s, "
          f"90 days per day {t_quarter['median_s']:.3f} s")

    def daily_report() -> int:
        r = build_report(src, end, end)
        return len(render_html(r)) + len(render_pdf(r)) + len(render_csv(r))

    t_rep, _ = timed(daily_report, max(1, args.runs // 2))
    out["daily_report"] = t_rep
    print(f"[{backend}] daily report (figures + HTML + PDF + CSV): {t_rep['median_s']:.2f} s")
    t_brief, brief = timed(lambda: weekly_brief(src, end), max(1, args.runs // 2))
    out["weekly_brief"] = {**t_brief, "findings": len(brief.findings)}
    print(f"[{backend}] weekly brief: {t_brief['median_s']:.2f} s, {len(brief.findings)} findings")
    t_fc, fc = timed(lambda: forecast(src, today=end + timedelta(days=1)), max(1, args.runs // 2))
    out["forecast_refresh"] = {**t_fc, "series": len(fc.daily)}
    print(f"[{backend}] forecast refresh ({len(fc.daily)} series, daily + hourly, 14 days): {t_fc['median_s']:.2f} s")

    if args.quality:
        hist = load_history(src, cfg.start, end)
        t = time.perf_counter()
        bt = backtest(hist, origins=args.origins)
        bt_s = time.perf_counter() - t
        rows = {}
        for r in bt.rows:
            rows.setdefault(r.series, {})[r.granularity] = {
                "mase": round(r.mase, 3), "mase_naive": round(r.mase_naive, 3), "relative": round(r.relative, 3),
                "coverage80": round(r.coverage, 3)}
        print(f"[{backend}] backtest ({args.origins} origins, 14 days ahead, {bt_s:.1f} s):")
        for name, g in rows.items():
            print(f"    {name:18} day MASE {g['day']['mase']:.3f} vs naive {g['day']['mase_naive']:.3f} "
                  f"cov {g['day']['coverage80']:.2f} | hour MASE {g['hour']['mase']:.3f} vs naive "
                  f"{g['hour']['mase_naive']:.3f} cov {g['hour']['coverage80']:.2f}")
        out["backtest"] = {"origins": args.origins, "seconds": round(bt_s, 1), "series": rows,
                           "beating_naive_day": round(bt.share_beating("day"), 3),
                           "beating_naive_hour": round(bt.share_beating("hour"), 3)}
        print(f"[{backend}] services beating seasonal naive: daily {bt.share_beating('day'):.0%}, "
              f"hourly {bt.share_beating('hour'):.0%}")
        t = time.perf_counter()
        comp = load_complaints(src, cfg.start, end)
        alerts = detect_history(hist, comp, src)
        al_s = time.perf_counter() - t
        plan = plan_demo(cfg)
        score = score_alerts(alerts, plan.incidents, src.day_start(cfg.start + timedelta(days=28)), src.day_start(end))
        out["alerts"] = {"seconds": round(al_s, 1), "alerts": len(alerts), "incidents": score.incidents,
                         "found": score.found, "delays_h": [round(x, 1) for x in score.delays_h],
                         "median_delay_h": score.median_delay_h, "false_alarms": score.false_alarms,
                         "false_alarms_per_month": round(score.false_alarms_per_month, 3),
                         "missed": list(score.missed)}
        print(f"[{backend}] alerts over the year ({al_s:.1f} s): {score.found}/{score.incidents} incidents found, "
              f"delays {[round(x) for x in score.delays_h]} h, {score.false_alarms} false alarms "
              f"({score.false_alarms_per_month:.2f} per month)")
    store.database.engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--calls-per-day", type=float, default=3000.0, help="3000 gives about a million calls a year")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--end", default="2026-11-30")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--origins", type=int, default=8)
    ap.add_argument("--db-dir", default="/tmp/bench-analytics")
    ap.add_argument("--pg-schema", default="bench_analytics")
    ap.add_argument("--reuse", action="store_true", help="keep a demo history already in the database")
    ap.add_argument("--no-quality", dest="quality", action="store_false")
    args = ap.parse_args()
    results = []
    for backend in (("sqlite", "postgres") if args.backend == "both" else (args.backend,)):
        results.append(run(backend, args))
    print(json.dumps({"bench": "analytics", "days": args.days, "calls_per_day": args.calls_per_day,
                      "results": results}))


if __name__ == "__main__":
    main()
