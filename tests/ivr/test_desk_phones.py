"""Admins map staff accounts to their phones (issue 13): the page in a real browser (Playwright
driving Debian's chromium) lists, adds, changes and removes mappings, in Indonesian, audited;
the JSON API does the same with a bearer token; agents may not, and a form without the CSRF
token is refused. The live desk logs an agent in to the queues of their mapping."""

from __future__ import annotations

import asyncio

import pytest

from ivr.web import create_app
from tests.ivr.staff import DEFAULT_PASSWORD, api_token, asgi_client, make_account, sign_in, staff_store
from tests.waiting import eventually
from tests.browser import launch, needs_chromium



@pytest.fixture
async def app_store(tmp_path, monkeypatch):
    settings, store = await staff_store(tmp_path, monkeypatch, agent_queues=["pengaduan", "informasi"])
    await make_account(store, "admin", "andi")
    await make_account(store, "agent", "rina", display_name="Rina Wati")
    await make_account(store, "agent", "budi")
    yield create_app(settings, store), store
    await store.close()


async def test_api_maps_changes_and_removes_a_phone_with_queues(app_store):
    app, store = app_store
    admin = await api_token(store, "andi")
    async with asgi_client(app, admin) as c:
        r = await c.post("/api/desk/agents", json={"username": "rina", "extension": "2001",
                                                   "queues": ["pengaduan"]})
        assert r.status_code == 200 and r.json() == {"ok": True, "interface": "PJSIP/2001", "queues": ["pengaduan"]}
        r = await c.post("/api/desk/agents", json={"username": "rina", "extension": "2001", "interface": "SIP/2001"})
        assert r.json()["interface"] == "SIP/2001" and r.json()["queues"] == []
        r = await c.post("/api/desk/agents", json={"username": "budi", "extension": "2002",
                                                   "interface": "PJSIP/2002 & evil"})
        assert r.status_code == 400
        agents = (await c.get("/api/desk/agents")).json()["agents"]
        assert [(a["username"], a["interface"]) for a in agents] == [("rina", "SIP/2001")]
        assert (await c.delete("/api/desk/agents/rina")).status_code == 200
        assert (await c.delete("/api/desk/agents/rina")).status_code == 404
    assert await store.desk.agents() == []
    actions = [e.action for e in await store.audit.entries(subject_type="agent", subject_id="rina")]
    assert actions == ["remove_agent_phone", "map_agent_phone", "map_agent_phone"]
    async with asgi_client(app, await api_token(store, "budi")) as c:
        assert (await c.post("/api/desk/agents", json={"username": "budi", "extension": "9"})).status_code == 403
        assert (await c.delete("/api/desk/agents/rina")).status_code == 403


async def test_page_refuses_agents_and_forms_without_csrf(app_store):
    app, store = app_store
    async with asgi_client(app) as c:
        await sign_in(c, "budi")
        assert (await c.get("/admin/desk-phones")).status_code == 403
    async with asgi_client(app) as c:
        csrf = await sign_in(c, "andi")
        page = await c.get("/admin/desk-phones")
        assert page.status_code == 200 and "Belum ada telepon petugas yang terdaftar." in page.text
        assert 'href="/admin/desk-phones"' in page.text   # in the admin menu
        r = await c.post("/admin/desk-phones", data={"username": "rina", "extension": "2001"})
        assert r.status_code == 403 and await store.desk.agents() == []
        r = await c.post("/admin/desk-phones", data={"username": "tidakada", "extension": "2001", "csrf": csrf})
        assert r.status_code == 422 and "Pilih akun petugas yang aktif." in r.text
        r = await c.post("/admin/desk-phones", data={"username": "rina", "extension": "20 01", "csrf": csrf})
        assert r.status_code == 422 and "Ekstensi hanya boleh" in r.text
        assert await store.desk.agents() == []


@needs_chromium
async def test_admin_adds_changes_and_removes_a_phone_in_the_browser(app_store):
    playwright_api = pytest.importorskip("playwright.async_api")
    import uvicorn

    app, store = app_store
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off", ws="none",
                                        http="h11", access_log=False))
    task = asyncio.create_task(srv.serve())
    await eventually(lambda: srv.started, "uvicorn to start")
    base = f"http://127.0.0.1:{srv.servers[0].sockets[0].getsockname()[1]}"
    try:
        async with playwright_api.async_playwright() as pw:
            browser = await launch(pw)
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
            try:
                await page.goto(f"{base}/login?next=/tickets")
                await page.fill("#username", "andi")
                await page.fill("#password", DEFAULT_PASSWORD)
                await page.click("#login button[type=submit]")
                await page.wait_for_selector("#nav-desk-phones")
                await page.click("#nav-desk-phones")
                await page.wait_for_selector("#no-phones")
                # add: rina on 2001, the "pengaduan" queue only
                await page.select_option("#save-phone select[name=username]", "rina")
                await page.fill("#save-phone input[name=extension]", "2001")
                await page.check("#queues input[value=pengaduan]")
                await page.click("#save-phone button[type=submit]")
                await page.wait_for_selector("#message")
                assert "Telepon rina (PJSIP/2001) ditambahkan." == await page.inner_text("#message")
                row = page.locator("tr[data-phone=rina]")
                assert await row.locator(".interface").inner_text() == "PJSIP/2001"
                assert await row.locator(".queues").inner_text() == "pengaduan"
                # change: another extension and every configured queue (none ticked)
                await row.locator("a.edit").click()
                await page.wait_for_selector("text=Ubah telepon petugas")
                assert await page.input_value("#save-phone input[name=extension]") == "2001"
                assert await page.is_checked("#queues input[value=pengaduan]")
                await page.fill("#save-phone input[name=extension]", "2002")
                await page.uncheck("#queues input[value=pengaduan]")
                await page.click("#save-phone button[type=submit]")
                await page.wait_for_selector("#message")
                assert "diubah" in await page.inner_text("#message")
                row = page.locator("tr[data-phone=rina]")
                assert await row.locator(".interface").inner_text() == "PJSIP/2002"
                assert "Semua antrean (bawaan): pengaduan, informasi" == await row.locator(".queues").inner_text()
                mapped = await store.desk.agent("rina")
                assert mapped is not None and (mapped.interface, mapped.queues) == ("PJSIP/2002", ())
                # remove (confirmed in the dialog)
                await row.locator("form.remove button").click()
                await page.wait_for_selector("#no-phones")
                assert "Telepon rina dihapus dari daftar." == await page.inner_text("#message")
                assert errors == [], errors
            finally:
                await browser.close()
    finally:
        srv.should_exit = True
        await task
    assert await store.desk.agent("rina") is None
    audit = [(e.actor, e.action, e.detail) for e in await store.audit.entries(subject_type="agent", subject_id="rina")]
    assert audit == [("admin:andi", "remove_agent_phone", "PJSIP/2002"),
                     ("admin:andi", "change_agent_phone", "PJSIP/2001 -> PJSIP/2002 queues=-"),
                     ("admin:andi", "map_agent_phone", "PJSIP/2001 queues=pengaduan")]
