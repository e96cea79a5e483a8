"""Scheduled reports and alert checks inside `ivr serve`: with two schedulers (two processes'
stores on one database) each period's job runs once; reports are kept under the data dir;
alerts are stored once however often they are found."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta

from ivr.analytics.scheduler import AnalyticsScheduler, SchedulerConfig
from ivr.config.clock import fixed_clock
from tests.analytics.conftest import END
from tests.analytics.test_pages import web_store


async def test_two_schedulers_make_each_report_once(demo, tmp_path):
    at = datetime.combine(END + timedelta(days=1), time(7, 5), tzinfo=demo.src.tz)   # Tuesday 07:05
    stores = [web_store(demo, at), web_store(demo, at)]
    cfg = SchedulerConfig(reports_dir=tmp_path / "reports", formats=("html", "csv"))
    s1, s2 = (AnalyticsScheduler(s, cfg, holder=f"proc{i}") for i, s in enumerate(stores))
    try:
        done = await asyncio.gather(s1.run_once(), s2.run_once())
        jobs = sorted(j.split(" ")[0] for d in done for j in d)
        assert jobs == ["alerts", "daily_report", "weekly_report"], done
        names = sorted(p.name for p in (tmp_path / "reports").iterdir())
        assert names == ["laporan-harian-2026-11-30.csv", "laporan-harian-2026-11-30.html",
                         "laporan-mingguan-2026-11-23-2026-11-29.csv", "laporan-mingguan-2026-11-23-2026-11-29.html"]
        html = (tmp_path / "reports" / "laporan-harian-2026-11-30.html").read_text("utf-8")
        assert "Laporan Harian" in html and "30 November 2026" in html
        runs = await stores[0].analytics.runs()
        assert sorted((r.job, r.period, r.status) for r in runs) == [
            ("alerts", "2026-12-01T07", "done"), ("daily_report", "2026-11-30", "done"),
            ("weekly_report", "2026-11-23..2026-11-29", "done")]
        # a later tick in the same hour: nothing is due any more, in either process
        assert await s1.run_once() == [] and await s2.run_once() == []
        # the next hour: one alert check, by one of them; alerts already stored are not stored again
        before = await stores[0].analytics.alerts()
        for s in stores:
            s.clock = fixed_clock(at + timedelta(hours=1))
            s.analytics.clock = s.clock
        done = await asyncio.gather(s1.run_once(), s2.run_once())
        assert sorted(j.split(" ")[0] for d in done for j in d) == ["alerts"]
        after = await stores[0].analytics.alerts()
        assert len({(a.kind, a.key, a.first_seen) for a in after}) == len(after) >= len(before)
    finally:
        for s in stores:
            s.database.engine.dispose()


async def test_stale_claim_is_taken_over_and_failures_retried(demo):
    at = datetime.combine(END, time(9), tzinfo=demo.src.tz)
    a, b = web_store(demo, at), web_store(demo, at)
    try:
        period = f"test-{id(a)}"
        assert await a.analytics.claim("daily_report", period, "A", lease_s=60)
        assert not await b.analytics.claim("daily_report", period, "B", lease_s=60)
        # A died: after its lease, B takes the run over
        b.analytics.clock = fixed_clock(at + timedelta(seconds=61))
        assert await b.analytics.claim("daily_report", period, "B", lease_s=60)
        await b.analytics.finish("daily_report", period, "B", ok=False, detail="boom", retry_after_s=600)
        assert not await a.analytics.claim("daily_report", period, "A")          # A's clock: too early
        b.analytics.clock = fixed_clock(at + timedelta(seconds=61 + 601))
        assert await b.analytics.claim("daily_report", period, "B")
        await b.analytics.finish("daily_report", period, "B", ok=True)
        b.analytics.clock = fixed_clock(at + timedelta(days=3))
        assert not await b.analytics.claim("daily_report", period, "B")          # done is done
    finally:
        a.database.engine.dispose()
        b.database.engine.dispose()


async def test_alerts_are_stored_once(demo):
    at = datetime.combine(END, time(9), tzinfo=demo.src.tz)
    st = web_store(demo, at)
    try:
        first = at - timedelta(hours=5)
        alert = {"kind": "region", "key": f"test|{id(st)}", "label": "Banjir di Kecamatan Uji", "first_seen": first,
                 "last_seen": first + timedelta(hours=1), "observed": 14, "expected": 3.1, "p_value": 1e-6}
        assert len(await st.analytics.record_alerts([alert])) == 1
        assert await st.analytics.record_alerts([alert]) == []
        # the same surge seen again an hour later, continuing: extended, not new
        later = dict(alert, first_seen=first + timedelta(hours=1), last_seen=first + timedelta(hours=3))
        assert await st.analytics.record_alerts([later]) == []
        mine = [a for a in await st.analytics.alerts() if a.key == alert["key"]]
        assert len(mine) == 1 and mine[0].last_seen == first + timedelta(hours=3)
    finally:
        st.database.engine.dispose()


async def test_a_new_hotline_without_calls_gets_its_reports_and_pages(tmp_path):
    """Day one of a real installation: no call yet. The scheduled reports are made (empty) and
    every analytics page answers."""
    from datetime import date
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from ivr.config.settings import load_settings
    from ivr.storage import Store
    from ivr.web import create_app
    from tests.ivr.staff import api_token, asgi_client, make_account

    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    st = Store(url, clock=fixed_clock(datetime(2026, 12, 1, 7, tzinfo=ZoneInfo("Asia/Jakarta"))))
    await st.amigrate()
    try:
        from dialogs import default_script_path

        s = AnalyticsScheduler(st, SchedulerConfig(reports_dir=tmp_path / "reports", formats=("html", "csv")),
                               script_path=Path(default_script_path()))
        done = await s.run_once()
        assert sorted(j.split(" ")[0] for j in done) == ["alerts", "daily_report", "weekly_report"]
        daily = tmp_path / "reports" / f"laporan-harian-{date(2026, 11, 30).isoformat()}.html"
        assert daily.is_file()
        # the live script's follow-up questions are counted (none yet: the section says so)
        assert "<h2>Pertanyaan lanjutan setelah jawaban</h2>\n<p>Tidak ada data.</p>" in daily.read_text("utf-8")
        app = create_app(load_settings(data_dir=tmp_path, database_url=url), st)
        user, _ = await make_account(st, "supervisor")
        async with asgi_client(app, await api_token(st, user)) as c:
            for path in ("/analytics", "/analytics/forecast", "/analytics/complaints", "/analytics/stuck",
                         "/analytics/asks", "/analytics/alerts", "/analytics/reports"):
                assert (await c.get(path)).status_code == 200, path
    finally:
        await st.close()
