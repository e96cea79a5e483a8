"""The analytics pages through the web app (uvicorn on 127.0.0.1, HTTP, a supervisor's API token) on
a demo history: time to the full HTML of each page, cold (the page cache emptied before each
request: the figures are computed) and warm (cached), and each page's CSV.

    # a year of about a million calls (about 6 minutes on SQLite), then the pages
    IVR_DATA_DIR=/tmp/an-bench/var ivr demo-data --days 365 --calls-per-day 3000 --end 2026-11-30 --seed 14
    PYTHONPATH=$PWD nice -n 19 python bench/bench_analytics_web.py --url sqlite:////tmp/an-bench/var/ivr.sqlite3

Target (issue #14): dashboard <= 1 s on a million calls. Prints figures and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from datetime import date, datetime, time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo



def stats(xs: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(xs), 3), "min_s": round(min(xs), 3), "max_s": round(max(xs), 3)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx
    import uvicorn
    from sqlalchemy import func, select

    from ivr.analytics.db import table
    from ivr.analytics.service import PageCache
    from ivr.config.clock import fixed_clock
    from ivr.config.settings import load_settings
    from ivr.storage import Store
    from ivr.storage.models import CallRow
    from ivr.web import create_app

    end = date.fromisoformat(args.end)
    tz = ZoneInfo("Asia/Jakarta")
    at = datetime.combine(end, dtime(20), tzinfo=tz)
    data = Path(tempfile.mkdtemp(prefix="bench-an-web-"))
    settings = load_settings(data_dir=data, database_url=args.url)
    store = Store(args.url, clock=fixed_clock(at), schema=args.schema)
    await store.amigrate()
    # a supervisor account with a personal API token (bearer)
    account = await store.accounts.create(f"bench-{uuid.uuid4().hex[:8]}", "supervisor", "bench-password-123")
    token, _ = await store.accounts.create_token(account.id, "bench")
    with store.database.engine.connect() as conn:
        n_calls = int(conn.execute(select(func.count()).select_from(table(CallRow))).scalar() or 0)
    app = create_app(settings, store)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off",
                                        ws="none", http="h11", access_log=False))
    task = asyncio.create_task(srv.serve())
    while not srv.started:
        await asyncio.sleep(0.05)
    port = srv.servers[0].sockets[0].getsockname()[1]
    out: dict[str, Any] = {"calls": n_calls, "url_kind": args.url.split(":", 1)[0], "runs": args.runs}
    q = f"?tanggal={end.isoformat()}"
    pages = {"dashboard": ("/analytics", "ringkasan"), "complaints": ("/analytics/complaints", "kecamatan_kategori"),
             "stuck": ("/analytics/stuck", "keadaan"), "forecast": ("/analytics/forecast", "kebutuhan_petugas")}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=600,
                                     headers={"Authorization": f"Bearer {token}"}) as c:
            r = await c.get("/analytics" + q)          # warms imports and the service object
            assert r.status_code == 200, r.text[:300]
            svc = app.state.analytics
            for name in args.pages.split(","):
                path, tbl = pages[name]
                cold, warm = [], []
                runs = args.forecast_runs if name == "forecast" else args.runs
                for _ in range(runs):
                    svc.cache = PageCache()
                    t = time.perf_counter()
                    r = await c.get(path + q)
                    cold.append(time.perf_counter() - t)
                    assert r.status_code == 200, (path, r.status_code)
                    t = time.perf_counter()
                    r = await c.get(path + q)
                    warm.append(time.perf_counter() - t)
                html_kb = round(len(r.content) / 1024, 1)
                t = time.perf_counter()
                r = await c.get(f"/analytics/{name}/{tbl}.csv" + q)
                csv_s = time.perf_counter() - t
                assert r.status_code == 200
                out[name] = {"cold": stats(cold), "warm": stats(warm), "csv_cached_s": round(csv_s, 3),
                             "html_kb": html_kb}
                print(f"{name:10} cold {out[name]['cold']['median_s']:.3f} s "
                      f"[{out[name]['cold']['min_s']:.3f}-{out[name]['cold']['max_s']:.3f}]  "
                      f"warm {out[name]['warm']['median_s']:.3f} s  csv {csv_s:.3f} s", flush=True)
    finally:
        srv.should_exit = True
        await task
        await store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="sqlite:////tmp/an-bench/var/ivr.sqlite3")
    ap.add_argument("--schema", default=None, help="PostgreSQL schema holding the demo")
    ap.add_argument("--end", default="2026-11-30")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--forecast-runs", type=int, default=2)
    ap.add_argument("--pages", default="dashboard,complaints,stuck,forecast")
    args = ap.parse_args()
    res = asyncio.run(run(args))
    print(json.dumps({"bench": "analytics_web", **res}))


if __name__ == "__main__":
    main()
