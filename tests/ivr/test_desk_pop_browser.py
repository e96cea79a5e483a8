"""The desk's screen pop in a real browser (Playwright driving Debian's chromium), without the
whole hotline: the desk on the AMI peer, a call on record, Asterisk's ``AgentConnect``. A caller
turn told "di luar layanan" shows the topic in the live script's words as a badge.

Skipped when Playwright or chromium is missing (CI installs both).
"""

from __future__ import annotations

import asyncio

import pytest

from ivr.web import create_app
from tests.browser import launch, log_in, needs_chromium, watch_errors
from tests.ivr.staff import DEFAULT_PASSWORD, make_account
from tests.ivr.test_desk import Rig, _agent_connect
from tests.waiting import eventually

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = needs_chromium


async def test_the_pop_shows_the_out_of_scope_topic_as_a_badge(tmp_path, monkeypatch):
    import uvicorn

    monkeypatch.delenv("IVR_CONFIG_FILE", raising=False)
    rig = await Rig(tmp_path).start()
    store = rig.store
    await make_account(store, "agent", "rina")
    await store.desk.map_agent("rina", "agent1")
    await rig.desk.reload_agents()
    cid = await store.calls.create(caller="081234567890")
    await store.calls.add_turn(cid, 0, "system", "Ada yang bisa kami bantu?", source="prompt")
    await store.calls.add_turn(cid, 1, "caller", "saya mau perpanjang paspor", outcome="no_match", beyond="paspor")
    await store.calls.add_turn(cid, 2, "caller", "petugas saja", intent="operator", outcome="accepted")
    await store.handoffs.record(cid, "hotline", reason="caller_asked")
    app = create_app(rig.settings, store, desk=rig.desk)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off", ws="none",
                                        http="h11", access_log=False))
    task = asyncio.create_task(srv.serve())
    pw = await playwright_api.async_playwright().start()
    browser = await launch(pw)
    try:
        await eventually(lambda: srv.started, "uvicorn to start")
        base = f"http://127.0.0.1:{srv.servers[0].sockets[0].getsockname()[1]}"
        page = await browser.new_page()
        errors = watch_errors(page)
        await log_in(page, base, "rina", DEFAULT_PASSWORD, "/desk")
        await page.wait_for_selector("#link[data-state=open]")
        _agent_connect(rig.server, cid, "PJSIP/agent1", "rina")
        await page.wait_for_selector("#pop:not([hidden])", timeout=15000)
        said = await page.eval_on_selector_all("#pop-transcript tbody tr td:nth-child(2)",
                                               "cells => cells.map(c => c.textContent)")
        assert said == ["Ada yang bisa kami bantu?", "saya mau perpanjang paspor Di luar layanan: Paspor dan imigrasi",
                        "petugas saja"]
        badge = page.locator("#pop-transcript .badge.beyond")
        assert await badge.count() == 1 and await badge.text_content() == "Di luar layanan: Paspor dan imigrasi"
        assert await badge.evaluate("b => getComputedStyle(b).borderTopStyle") == "solid"   # drawn as a badge
        assert not errors
    finally:
        await browser.close()
        await pw.stop()
        srv.should_exit = True
        await task
        await rig.close()
