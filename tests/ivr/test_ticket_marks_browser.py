"""An unfinished complaint (filed when the caller hung up) in a real browser (Playwright driving
Debian's chromium): an agent sees its "Belum lengkap" badge in the list, filters the list down to
such complaints, opens one and reads where the caller stopped and which field was cut; the
desk's pop shows the same for the call's ticket (its status in words), and, in the caller's
history, the complaint they left unfinished in an earlier call."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from ivr.calls.tickets import file_ticket
from ivr.desk import Desk
from ivr.desk.pop import build_pop
from ivr.web import create_app
from tests.browser import launch, log_in, needs_chromium, watch_errors
from tests.ivr.staff import DEFAULT_PASSWORD, make_account, staff_store
from tests.ivr.test_ticket_marks import CALLER, hangup_fields
from tests.waiting import eventually

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = needs_chromium


@pytest.fixture
async def server(tmp_path, monkeypatch):
    import uvicorn

    settings, store = await staff_store(tmp_path, monkeypatch, pii_mode="encrypt", agent_queues=["hotline"])
    await make_account(store, "agent", "rina")
    # an earlier call: the caller hung up at the identity question (no number on that complaint)
    before = store.clock() - timedelta(days=2)
    earlier_call = await store.calls.create(caller=CALLER, started_at=before)
    earlier = await file_ticket(store.tickets, "complaint", hangup_fields("complaint_identity", None),
                                call_id=earlier_call, client_id=f"{earlier_call}-t1")
    call = await store.calls.create(caller=CALLER)
    cut = await file_ticket(store.tickets, "complaint",
                            hangup_fields("complaint_description", "sampahnya menumpuk sudah dua"),
                            call_id=call, client_id=f"{call}-t1")
    done = await store.tickets.create("complaint", category="kebersihan", location="Jl. Melati",
                                      description="sampah menumpuk")
    desk = await Desk(settings, store, board_interval_s=0.1, live_interval_s=0.5, figures_interval_s=5,
                      housekeeping_interval_s=3600).start()
    # the call is on rina's desk (as AgentConnect would have popped it)
    desk._active["rina"] = await build_pop(store, call, queue="hotline", hold_s=4, member=None)
    srv = uvicorn.Server(uvicorn.Config(create_app(settings, store, desk=desk), host="127.0.0.1", port=0,
                                        log_config=None, lifespan="off", ws="none", http="h11", access_log=False))
    task = asyncio.create_task(srv.serve())
    await eventually(lambda: srv.started, "uvicorn to start")
    port = srv.servers[0].sockets[0].getsockname()[1]
    yield {"base": f"http://127.0.0.1:{port}", "cut": cut, "done": done, "earlier": earlier}
    srv.should_exit = True
    await task
    await desk.close()
    await store.close()


async def test_an_agent_finds_an_unfinished_complaint_and_reads_where_the_caller_stopped(server):
    base, cut, done = server["base"], server["cut"], server["done"]
    async with playwright_api.async_playwright() as pw:
        browser = await launch(pw)
        page = await browser.new_page()
        errors = watch_errors(page)
        try:
            await log_in(page, base, "rina", DEFAULT_PASSWORD, "/tickets")
            await page.wait_for_url(f"{base}/tickets")
            badge = page.locator(f"tr[data-ticket='{cut}'] .badge.incomplete")
            assert await badge.is_visible() and await badge.inner_text() == "Belum lengkap"
            assert await page.locator(f"tr[data-ticket='{done}'] .badge.incomplete").count() == 0

            # the filter keeps only the unfinished ones
            await page.check("#f-incomplete")
            await page.click(".filters button[type=submit]")
            await page.wait_for_url("**/tickets?*incomplete=1*")
            kept = await page.locator("#tickets tbody tr[data-ticket]").evaluate_all(
                "rs => rs.map(r => r.dataset.ticket)")
            assert sorted(kept) == sorted([cut, server["earlier"]])
            assert await page.is_checked("#f-incomplete")

            await page.click(f"tr[data-ticket='{cut}'] a")
            await page.wait_for_url(f"{base}/tickets/{cut}")
            marks = page.locator("#hangup-marks")
            assert await marks.is_visible()
            said = await marks.inner_text()
            assert "Belum lengkap" in said and "Penelepon menutup telepon saat menceritakan kejadiannya." in said
            assert "complaint_description" not in said
            cut_mark = page.locator("#description .badge.cut")
            assert await cut_mark.is_visible()
            assert await cut_mark.inner_text() == "terpotong saat penelepon menutup telepon"
            assert (await page.inner_text("#description")).startswith("sampahnya menumpuk sudah dua …")

            # the desk's pop: the call's ticket says it is unfinished and what was cut
            await page.goto(f"{base}/desk")
            await page.wait_for_selector("#pop:not([hidden])", timeout=30000)
            item = page.locator("#pop-tickets li").first
            await item.locator(".badge.incomplete").wait_for()
            text = await item.inner_text()
            assert "Penelepon menutup telepon saat menceritakan kejadiannya." in text
            assert "Isian uraian kejadian terpotong saat penelepon menutup telepon." in text
            # its status in the words of the ticket pages, not the stored code
            assert " · Baru" in text and "open" not in text
            # the complaint the caller left unfinished in an earlier call (no number on it)
            past = page.locator(f"#pop-history li[data-id='{server['earlier']}']")
            said = await past.inner_text()
            assert "Pengaduan / Kebersihan / Baru / Belum lengkap" in said, said
            assert "Penelepon menutup telepon saat ditanya kesediaan mencantumkan nama dan nomor telepon." in said
            assert "complaint" not in said and "open" not in said
            assert await page.locator("#pop-history li[data-kind=call]").count() == 1
            assert errors == []
        finally:
            await browser.close()
