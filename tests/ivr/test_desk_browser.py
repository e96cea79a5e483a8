"""The live desk in a real browser (Playwright driving Debian's chromium) against the whole
hotline and the Asterisk peer: two agent desks and a wallboard open, a caller presses 0 for an
agent, the right desk pops, the agent files a ticket and wraps up, the wallboard counts it;
pause and queue login show on the wallboard; AMI drops and comes back; a callback from the list
rings through Originate.

Skipped when Playwright or chromium is missing (CI installs both).
"""

from __future__ import annotations

import asyncio

import pytest

from ivr.desk import Desk
from ivr.privacy.pii import Pii
from ivr.simulation.simcaller import Answer, Goal, ReactiveCaller, run_caller
from ivr.storage import Store
from ivr.web import create_app
from tests.conftest import PII_TEST_KEY
from tests.ivr.conftest import close_hotline, make_hotline
from tests.ivr.staff import DEFAULT_PASSWORD, make_account
from tests.waiting import eventually
from tests.browser import launch, needs_chromium

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = needs_chromium



@pytest.fixture
async def live(engines, tmp_path, monkeypatch):
    import uvicorn

    from telephony import AmiClient
    from telephony.peer import AmiServer

    monkeypatch.delenv("IVR_CONFIG_FILE", raising=False)
    server = AmiServer(queues=("hotline",), login_failure_delay=0.05, agent_talk_seconds=60.0)
    await server.start()
    ami = AmiClient("127.0.0.1", server.port, "ivr", "ivrsecret", backoff_initial=0.1, backoff_max=0.3)
    await ami.connect()
    store = Store(f"sqlite:///{tmp_path / 'ivr.sqlite3'}", pii=Pii("mask", PII_TEST_KEY))
    await store.amigrate()
    hl = await make_hotline(engines, tmp_path, ami=ami, store=store, agent_queues=["hotline"])
    server.attach_peer(hl.peer)
    hl.peer.ami = server
    desk = await Desk(hl.settings, store, ami=ami, figures_interval_s=0.5, board_interval_s=0.1,
                      live_calls=lambda: [(c.call_id, c.status().state or "-") for c in hl.runtime.active_calls]).start()
    for name, role in (("rina", "agent"), ("budi", "agent"), ("sinta", "supervisor")):
        await make_account(store, role, name)
    await store.desk.map_agent("rina", "agent1")
    await store.desk.map_agent("budi", "agent2")
    await desk.reload_agents()
    app = create_app(hl.settings, store, desk=desk)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off", ws="none",
                            http="h11", access_log=False)
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    await eventually(lambda: srv.started, "uvicorn to start")
    port = srv.servers[0].sockets[0].getsockname()[1]
    pw = await playwright_api.async_playwright().start()
    browser = await launch(pw)
    try:
        yield {"base": f"http://127.0.0.1:{port}", "hl": hl, "server": server, "desk": desk, "store": store,
               "browser": browser, "ami": ami}
    finally:
        await browser.close()
        await pw.stop()
        srv.should_exit = True
        await task
        await desk.close()
        await close_hotline(hl)
        await ami.close()
        await server.close()


async def _open(live, name: str, path: str):
    ctx = await live["browser"].new_context()
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    await page.goto(f"{live['base']}/login?next={path}")
    await page.fill("#username", name)
    await page.fill("#password", DEFAULT_PASSWORD)
    await page.click("#login button[type=submit]")
    await page.wait_for_url(f"**{path}")
    await page.wait_for_selector("#link[data-state=open]")
    page.errors = errors
    return page


async def _text(page, sel: str) -> str:
    return (await page.text_content(sel)) or ""


async def test_two_desks_and_a_wallboard_follow_a_handed_over_call(live, engines):
    hl, server, store = live["hl"], live["server"], live["store"]
    rina = await _open(live, "rina", "/desk")
    budi = await _open(live, "budi", "/desk")
    board = await _open(live, "sinta", "/wallboard")
    # no callback waits, no call in the dialog: the tables say so rather than standing empty
    await rina.wait_for_selector("#callbacks tr.empty:has-text('Tidak ada permintaan telepon balik')")
    await board.wait_for_selector("#dialog-states tr.empty:has-text('Tidak ada panggilan dalam dialog')")

    # both log in to the queue from their desks; budi pauses for lunch
    await rina.click("#btn-login")
    await budi.click("#btn-login")
    await eventually(lambda: len(server.queues["hotline"]) == 2, "both agents in the queue")
    await budi.select_option("#pause-reason", "makan")
    await budi.click("#btn-pause")
    await board.wait_for_selector("#agents tr[data-agent=budi][data-state=paused]")
    await board.wait_for_selector("#agents tr[data-agent=rina][data-state=available]")
    assert "makan" in await _text(board, "#agents tr[data-agent=budi]")
    await rina.wait_for_selector("#my-state[data-state=available]")

    # a caller presses 0 for an agent: rina (the free one) gets the pop, budi does not
    goal = Goal(answers={"main_menu": Answer(keys="0")}, max_turns=3, barge_in_after_s=0.3)
    caller = ReactiveCaller(engines.script, goal, speed=20.0)
    call_task = asyncio.create_task(run_caller(hl.peer, hl.router, caller, caller_id="081298765432"))
    await rina.wait_for_selector("#pop:not([hidden])", timeout=30000)
    call_id = await _text(rina, "#pop-call")
    assert call_id and await rina.is_visible("#pop-transcript tbody tr")
    assert "0812" in await _text(rina, "#pop-caller") and "98765" not in await _text(rina, "#pop-caller")
    assert await _text(rina, "#pop-wait") != "-"
    assert "Rekaman suara penelepon tidak tersedia" in await _text(rina, "#pop-recordings")
    # the intent and the hand-off reason in staff words, not the script's codes
    assert (await _text(rina, "#pop-purpose"), await _text(rina, "#pop-reason")) == (
        "Minta petugas", "Penelepon meminta petugas")
    assert await budi.is_hidden("#pop")
    await board.wait_for_selector("#agents tr[data-agent=rina][data-state=in_call]")
    pop_lag = await rina.evaluate("window.deskEvents.filter(e => e.kind === 'pop').map(e => e.received - e.at)")
    assert len(pop_lag) == 1   # the figure itself is the bench's business (bench/bench_desk.py)

    # rina files the ticket from the pop and wraps up; the wallboard counts the complaint
    await rina.fill("#t-category", "jalan rusak")
    await rina.select_option("#t-agency", "DPUTR")
    await rina.fill("#t-location", "Jl. Melati 3, Menteng")
    await rina.fill("#t-description", "Lubang besar di tengah jalan")
    await rina.click("#t-save")
    await rina.wait_for_selector("#t-msg:has-text('Tiket tersimpan')")
    pid = (await _text(rina, "#t-msg")).rsplit(" ", 1)[-1]
    await board.wait_for_selector("#f-complaints:text-is('1')")
    await rina.select_option("#w-disposition", "ticket_filed")
    await rina.click("#w-save")
    await rina.wait_for_selector("#pop", state="hidden")
    t = await store.tickets.get(pid)
    assert t.call_id == call_id and t.agency == "DPUTR" and t.category == "jalan rusak"
    assert (await store.desk.assignment(pid))["assign_queue"] == "infrastruktur"
    assert (await store.desk.dispositions(call_id)) and (await store.desk.dispositions(call_id))[0][:2] == \
        ("rina", "ticket_filed")
    actions = {e.action for e in await store.audit.entries(limit=50)}
    assert {"file_ticket", "wrap_up", "queue_login", "pause"} <= actions
    call_task.cancel()

    # AMI drops: every page says so, and recovers from QueueStatus
    await server.drop_connections()
    await rina.wait_for_selector("#ami-status:not([hidden])")
    await board.wait_for_selector("#alerts li:has-text('AMI terputus')")
    await rina.wait_for_selector("#ami-status", state="hidden", timeout=30000)
    await board.wait_for_selector("#agents tr[data-agent=budi][data-state=paused]")
    for p in (rina, budi, board):
        assert not p.errors, p.errors


async def test_callback_requested_out_of_hours_is_dialled_from_the_list(live, engines):
    from ivr.config.calendar import OfficeHours

    hl, store, server = live["hl"], live["store"], live["server"]
    # evening: the office is closed, the caller asks to be called back (the script's offer)
    hl.runtime.handoff.hours = OfficeHours.parse("never")
    goal = Goal(answers={"main_menu": Answer(keys="0"), "callback_offer_closed": Answer(keys="1"),
                         "callback_number_confirm": Answer(keys="1")},
                success_state="callback_done", listen_after_success_s=0.5, max_turns=6, barge_in_after_s=0.3)
    caller = ReactiveCaller(engines.script, goal, speed=20.0)
    await run_caller(hl.peer, hl.router, caller, caller_id="081311112222")
    assert caller.outcome.success, caller.outcome
    [pid] = [t.public_id for t in await store.tickets.query(kind="callback")]
    bad = await store.tickets.create("callback", reporter_phone="112")
    # next morning: the agent opens the desk; the number is masked, and dialled by Asterisk
    hl.runtime.handoff.hours = OfficeHours.parse("always")
    rina = await _open(live, "rina", "/desk")
    row = f"#callbacks tr[data-ticket='{pid}']"
    await rina.wait_for_selector(row)
    assert "3111" not in await _text(rina, row) and "222" in await _text(rina, row)
    # staff words, not stored codes: the ticket as people write it, the last attempt in words
    cells = await rina.eval_on_selector_all(f"{row} td", "tds => tds.map(td => td.textContent)")
    assert cells[0] == f"{pid[:4]}-{pid[4:9]}-{pid[9:]}" and cells[7] == "Belum dicoba", cells
    assert cells[4] == "Belum ditentukan", cells            # no queue, no agency yet: not "- · -"
    await rina.click(f"#callbacks tr[data-ticket='{bad}'] button.dial")
    await rina.wait_for_selector("#cb-msg:has-text('darurat')")
    refused = f"#callbacks tr[data-ticket='{bad}'][data-outcome=invalid]"
    await rina.wait_for_selector(refused)
    assert "Nomor tidak dapat ditelepon" in await _text(rina, refused)
    assert "invalid" not in await _text(rina, refused)
    await rina.click(f"{row} button.dial")
    orig = await eventually(lambda: server.originations, "the Originate")
    assert orig[0].channel == "Local/agent1@hotline-agent-ring" and orig[0].exten == "081311112222"
    await rina.wait_for_selector(row, state="detached", timeout=30000)   # answered: the request is closed
    assert (await store.tickets.get(pid)).status == "resolved"
    assert [a.outcome for a in await store.desk.attempts(pid)] == ["answered"]
    assert [e.split(" ")[0] for e in rina.errors] == ["422"], rina.errors       # the refused 112 only
