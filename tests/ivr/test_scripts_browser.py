"""The script pages in a real browser (Playwright driving Debian's chromium): edit a prompt in
the form view, see the validation in the YAML editor (errors marked on their lines as you
type), run the tests, publish, roll back; a hostile script is refused without a crash."""

from __future__ import annotations

import asyncio

import pytest

from ivr.web import create_app
from tests.ivr.staff import DEFAULT_PASSWORD, make_account, staff_store
from tests.ivr.test_scripts_storage import TESTS, YAML
from tests.waiting import eventually
from tests.browser import launch, log_in, needs_chromium, watch_errors

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = needs_chromium


@pytest.fixture
async def server(tmp_path, monkeypatch):
    import uvicorn

    settings, store = await staff_store(tmp_path, monkeypatch)
    await store.scripts.import_file("default", YAML, TESTS)
    await make_account(store, "admin", "andi")
    app = create_app(settings, store)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off", ws="none",
                                        http="h11", access_log=False))
    task = asyncio.create_task(srv.serve())
    await eventually(lambda: srv.started, "uvicorn to start")
    port = srv.servers[0].sockets[0].getsockname()[1]
    yield {"base": f"http://127.0.0.1:{port}", "store": store}
    srv.should_exit = True
    await task
    await store.close()


async def test_edit_in_form_validate_test_publish_and_roll_back(server):
    base, store = server["base"], server["store"]
    async with playwright_api.async_playwright() as pw:
        browser = await launch(pw)
        page = await browser.new_page()
        errors = watch_errors(page, responses=True)
        try:
            await log_in(page, base, "andi", DEFAULT_PASSWORD, "/admin/scripts")
            await page.goto(f"{base}/admin/scripts")
            await page.click("#live >> text=Ubah lewat formulir")
            await page.fill("textarea[name='say.welcome']", "Selamat siang dari <hotline> uji. Darurat? Hubungi 112.")
            await page.fill("input[name=comment]", "sapaan siang")
            await page.click("#form-save")
            # the new draft opens in the YAML editor, checked by the server as the page loads
            await page.wait_for_selector("#validity.ok")
            assert "Selamat siang dari <hotline> uji." in await page.evaluate("window.scriptEditor.getValue()")
            # a mistake typed in the editor is marked on its line, in Indonesian
            await page.evaluate("""() => { const cm = window.scriptEditor;
                const n = cm.getValue().split('\\n').findIndex(l => l.trim() === 'next: main_menu');
                cm.setCursor({line: n, ch: 0}); cm.replaceRange('    next: menu_keliru', {line: n, ch: 0}, {line: n}); }""")
            await page.wait_for_selector("#validity.bad")
            problem = await page.inner_text("#problems li")
            assert "menu_keliru" in problem and "tidak ada" in problem
            assert await page.locator(".CodeMirror .line-error").count() >= 1
            await page.evaluate("window.scriptEditor.undo()")
            await page.wait_for_selector("#validity.ok")
            await page.click("text=Jalankan uji")
            summary = await page.inner_text("#test-summary")
            assert "kasus lulus" in summary
            await page.go_back()
            await page.click("#publish button")
            await page.wait_for_selector("#message")
            assert "sudah diterbitkan" in await page.inner_text("#message")
            live = await store.scripts.live("default")
            assert live.number == 2 and live.published_by == "admin:andi"
            await page.click("#rollback button")
            await page.wait_for_selector("#message")
            assert "Dikembalikan ke versi 1" in await page.inner_text("#message")
            assert (await store.scripts.live("default")).number == 1
            # a hostile script: refused with its line, saved as a draft that cannot be published
            await page.goto(f"{base}/admin/scripts/{live.version_id}/edit")
            await page.evaluate("window.scriptEditor.setValue('a: &a [' + Array(40).fill('*a').join(',') + ']\\n')")
            await page.wait_for_selector("#validity.bad")
            await page.click("#save")
            await page.wait_for_selector("#not-publishable")
            assert (await store.scripts.live("default")).number == 1
            assert errors == [], errors
        finally:
            await browser.close()
