"""The analytics pages in a real browser (Playwright driving Debian's Chromium) on the demo
history: log in, every page draws its charts with the vendored ECharts under the pages' CSP
(no console error, no CSP violation), a table downloads as CSV, the schedule form saves, a
stuck state links to the script pages, and the follow-up questions show per service."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, time

import pytest

from tests.analytics.conftest import END
from tests.analytics.test_pages import app_for
from tests.ivr.staff import DEFAULT_PASSWORD, make_account
from tests.waiting import eventually
from tests.browser import launch, needs_chromium

pytestmark = needs_chromium


@pytest.fixture
async def server(demo_factory, tmp_path, monkeypatch):
    import uvicorn

    demo = demo_factory("sqlite")
    app, store, settings = app_for(demo, tmp_path, monkeypatch, datetime.combine(END, time(20), tzinfo=demo.src.tz))
    user, _ = await make_account(store, "supervisor", f"spv-{uuid.uuid4().hex[:8]}")
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off", ws="none",
                            http="h11", access_log=False)
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    await eventually(lambda: srv.started, "uvicorn to start")
    port = srv.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", user
    srv.should_exit = True
    await task
    store.database.engine.dispose()


async def test_analytics_pages_in_chromium(server, tmp_path):
    from playwright.async_api import async_playwright

    server, user = server

    async with async_playwright() as pw:
        browser = await launch(pw)
        try:
            ctx = await browser.new_context(accept_downloads=True)
            page = await ctx.new_page()
            problems: list[str] = []
            # console errors (CSP violations are reported there) and failed loads (but the favicon)
            page.on("console", lambda m: problems.append(m.text)
                    if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            await page.goto(f"{server}/login?next=/analytics")
            await page.fill("#username", user)
            await page.fill("#password", DEFAULT_PASSWORD)
            await page.click("#login button[type=submit]")
            await page.wait_for_url(f"{server}/analytics")
            day = f"?tanggal={END.isoformat()}"
            for path, charts in (("/analytics", 2), ("/analytics/forecast", 2), ("/analytics/complaints", 3),
                                 ("/analytics/stuck", 1), ("/analytics/asks", 1), ("/analytics/beyond", 1),
                                 ("/analytics/alerts", 0),
                                 ("/analytics/reports", 0)):
                await page.goto(f"{server}{path}{day if charts else ''}", timeout=120_000)
                assert await page.locator("h1").count() == 1
                assert await page.locator("div.chart").count() == charts, path
                if charts:
                    await page.locator('div.chart[data-drawn="1"] svg').nth(charts - 1).wait_for()
                assert problems == [], (path, problems)
            # what callers asked after the answers, per service in staff words
            await page.goto(f"{server}/analytics/asks{day}")
            asks = await page.inner_text("#table-pertanyaan_lanjutan")
            assert "KTP elektronik" in asks and "Menanyakan tempat pengurusan" in asks
            # what callers asked for that the hotline does not handle, per topic in staff words
            await page.goto(f"{server}/analytics/beyond{day}")
            await page.locator('div.chart[data-drawn="1"] svg').first.wait_for()
            beyond = await page.inner_text("#table-di_luar_layanan")
            assert "Paspor dan imigrasi" in beyond and "Semua topik" in beyond
            assert await page.get_attribute('nav a[href="/analytics/beyond"]', "aria-current") == "page"
            await page.screenshot(path=str(tmp_path / "beyond.png"), full_page=True)
            # the heat map labels its small cells "<5"
            await page.goto(f"{server}/analytics/complaints{day}")
            await page.wait_for_selector("#chart-peta_panas svg")
            heat = await page.inner_text("#table-kecamatan_kategori")
            assert "<5" in heat
            # a table downloads as CSV
            async with page.expect_download() as info:
                await page.click("#table-kategori a.csv")
            dl = await info.value
            path = tmp_path / dl.suggested_filename
            await dl.save_as(path)
            assert dl.suggested_filename == "complaints-kategori.csv"
            assert "Tidak memuat NIK" in path.read_text("utf-8")
            # the schedule form saves (CSRF from the session) and the staffing table follows
            await page.goto(f"{server}/analytics/forecast")
            await page.fill("#schedule-text", "Mon-Sun 00-24=9")
            await page.click("#schedule button[type=submit]")
            await page.wait_for_url(f"{server}/analytics/forecast")
            assert await page.input_value("#schedule-text") == "Mon-Sun 00-24=9"
            assert "9" in await page.inner_text("#table-jadwal_petugas tbody tr:first-child")
            # stuck states link to the state in the script pages
            await page.goto(f"{server}/analytics/stuck{day}")
            href = await page.get_attribute("#table-keadaan tbody tr:first-child a", "href")
            assert href is not None and href.startswith("/admin/scripts/") and "#state-" in href
            assert problems == [], problems
        finally:
            await browser.close()
