"""The wallboard names the dialog steps live calls are in as supervisors read them (labels
from the live script: "Menu utama", "Informasi KTP elektronik", "Pengaduan: menyebutkan
lokasi kejadian"), never the raw state ids; in a real browser (Debian's chromium)."""

from __future__ import annotations

import asyncio
import os

import pytest

from dialogs import default_script_path, load_script
from ivr.desk.steps import NO_STATE, StepLabels
from tests.browser import launch, log_in, needs_chromium, watch_errors
from tests.ivr.staff import DEFAULT_PASSWORD, make_account
from tests.ivr.test_desk import Rig
from tests.waiting import eventually

LIVE = [("c1", "main_menu"), ("c2", "info_ktp"), ("c3", "complaint_location"), ("c4", "complaint_location"),
        ("c5", "izin_usaha_tanya"), ("c6", "-")]
IDS = ("main_menu", "info_ktp", "complaint_location", "izin_usaha_tanya")


def test_states_of_the_default_script_have_staff_labels():
    script = load_script(default_script_path())
    labels = StepLabels.from_script(script)
    assert labels.label("main_menu") == "Menu utama"
    assert labels.label("menu_kependudukan") == "Menu kependudukan"
    assert labels.label("info_ktp") == "Informasi KTP elektronik"
    assert labels.label("complaint_location") == "Pengaduan: menyebutkan lokasi kejadian"
    assert labels.label("status_found") == labels.label("status_ask")
    assert labels.label("izin_usaha_tanya") == "Langkah «izin usaha tanya»"   # a state no script names
    assert labels.label("-") == NO_STATE
    for sid in script.states:   # never a raw id
        assert labels.label(sid) != sid and "_" not in labels.label(sid), sid


@pytest.fixture
async def board(tmp_path):
    rig = await Rig(tmp_path).start()
    rig.desk.live_calls = lambda: LIVE
    try:
        yield rig
    finally:
        await rig.close()


async def test_the_board_model_counts_calls_per_step(board):
    await board.desk.refresh_figures()   # reads the live script's labels
    steps = {s["label"]: s["calls"] for s in board.desk.model()["calls"]["by_step"]}
    assert steps["Pengaduan: menyebutkan lokasi kejadian"] == 2
    assert steps["Menu utama"] == steps["Informasi KTP elektronik"] == steps[NO_STATE] == 1


@needs_chromium
async def test_the_wallboard_shows_steps_in_staff_words(board, tmp_path):
    import uvicorn

    playwright_api = pytest.importorskip("playwright.async_api")
    from ivr.web import create_app

    await make_account(board.store, "supervisor", "sinta")
    app = create_app(board.settings, board.store, desk=board.desk)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off",
                                        ws="none", http="h11", access_log=False))
    task = asyncio.create_task(srv.serve())
    await eventually(lambda: srv.started, "uvicorn to start")
    base = f"http://127.0.0.1:{srv.servers[0].sockets[0].getsockname()[1]}"
    pw = await playwright_api.async_playwright().start()
    browser = await launch(pw)
    try:
        page = await (await browser.new_context(viewport={"width": 1100, "height": 900})).new_page()
        errors = watch_errors(page, responses=True)
        await log_in(page, base, "sinta", DEFAULT_PASSWORD, "/wallboard")
        await page.wait_for_selector("#dialog-states tbody tr:has-text('Menu utama')")
        rows = await page.eval_on_selector_all(
            "#dialog-states tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
        assert dict(rows) == {"Baru tersambung": "1", "Informasi KTP elektronik": "1", "Langkah «izin usaha tanya»": "1",
                              "Menu utama": "1", "Pengaduan: menyebutkan lokasi kejadian": "2"}, rows
        text = await page.text_content("main") or ""
        assert not [i for i in IDS if i in text]
        shot = os.environ.get("WALLBOARD_SHOT") or str(tmp_path / "wallboard.png")
        await page.screenshot(path=shot, full_page=True)
        assert not errors, errors
    finally:
        await browser.close()
        await pw.stop()
        srv.should_exit = True
        await task
