"""The staff pages in a real browser (headless Chromium): render, log in, change a status.

Needs Debian's chromium: `apt-get install -y chromium` (CI installs it). Skipped, with the
reason, when no chromium binary is found.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path

import httpx
import pytest

from ivr.config.settings import load_settings
from ivr.storage import Store
from ivr.web import create_app
from tests.conftest import PII_TEST_KEY
from tests.ivr.staff import DEFAULT_PASSWORD, make_account
from tests.waiting import eventually
from tests.browser import CHROMIUM, needs_chromium

pytestmark = needs_chromium

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--no-default-browser-check",
         "--disable-extensions"]
AGENT = "rina"


@pytest.fixture
async def server(tmp_path, monkeypatch):
    """The real app under uvicorn on an ephemeral port, with one call and one ticket."""
    import uvicorn

    for k in ("IVR_CONFIG_FILE", "IVR_ADMIN_TOKEN", "IVR_AGENT_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("IVR_PII_KEY", PII_TEST_KEY)
    settings = load_settings(data_dir=tmp_path / "data", pii_mode="encrypt")
    store = Store.from_settings(settings)
    await store.amigrate()
    await make_account(store, "agent", AGENT)
    await make_account(store, "supervisor", "sari")
    await make_account(store, "admin", "andi")
    cid = await store.calls.create(caller="081234567890")
    await store.handoffs.save_context(cid, {"intent": "pengaduan_jalan", "transcript": [
        {"who": "caller", "text": "jalan di depan rumah saya rusak"}], "slots": {"kelurahan": "Menteng"}})
    tid = await store.tickets.create("complaint", category="jalan", description="jalan rusak & berlubang",
                                    reporter_nik="3174012345670001", call_id=cid)
    # a call whose caller asked for something outside the hotline's services
    beyond = await store.calls.create(caller="081298765432")
    await store.calls.add_turn(beyond, 0, "caller", "saya mau perpanjang paspor", outcome="no_match", beyond="paspor")
    await store.calls.add_turn(beyond, 1, "caller", "bayar zakat di mana", outcome="no_match", beyond="zakat_fitrah")
    app = create_app(settings, store)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off", ws="none",
                            http="h11", access_log=False)
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    await eventually(lambda: srv.started, "uvicorn to start")
    port = srv.servers[0].sockets[0].getsockname()[1]
    yield {"base": f"http://127.0.0.1:{port}", "ticket": tid, "call": cid, "store": store, "beyond_call": beyond}
    srv.should_exit = True
    await task
    await store.close()


async def _chromium(*args: str, profile: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)


async def test_login_page_renders(server, tmp_path):
    proc = await _chromium("--dump-dom", f"{server['base']}/login?next=/tickets", profile=tmp_path / "p1")
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    dom = out.decode()
    assert proc.returncode == 0
    assert '<form method="post" action="/login" id="login">' in dom
    assert 'value="/tickets"' in dom and "Masuk petugas" in dom
    assert 'id="username"' in dom and 'id="password"' in dom


class Cdp:
    """Just enough of the Chrome DevTools Protocol for one page."""

    def __init__(self, ws):
        self.ws = ws
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future] = {}
        self.events: asyncio.Queue = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def _read(self):
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                if "id" in msg and msg["id"] in self.pending:
                    self.pending.pop(msg["id"]).set_result(msg)
                elif "method" in msg:
                    await self.events.put(msg)
        except ConnectionClosed:
            pass

    async def close(self):
        self.reader.cancel()
        try:
            await self.reader
        except asyncio.CancelledError:
            pass

    async def call(self, method, **params):
        i = next(self.ids)
        fut = asyncio.get_running_loop().create_future()
        self.pending[i] = fut
        await self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        msg = await asyncio.wait_for(fut, 30)
        if "error" in msg:
            raise RuntimeError(f"{method}: {msg['error']}")
        return msg["result"]

    async def wait_event(self, method, timeout=30):
        async def loop():
            while True:
                ev = await self.events.get()
                if ev["method"] == method:
                    return ev
        return await asyncio.wait_for(loop(), timeout)

    async def eval(self, expr):
        res = await self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        return res["result"].get("value")

    async def navigate(self, url):
        await self.call("Page.navigate", url=url)
        await self.wait_event("Page.loadEventFired")

    async def submit(self, form_selector):
        # a real click on the form's submit button, then wait for the next page
        await self.eval(f"document.querySelector('{form_selector} button[type=submit]').click()")
        await self.wait_event("Page.loadEventFired")


class Browser:
    """A headless Chromium driven over the DevTools protocol: ``async with Browser(profile) as cdp``."""

    def __init__(self, profile: Path):
        self.profile = profile

    async def __aenter__(self) -> Cdp:
        websockets = pytest.importorskip("websockets.asyncio.client")
        self.proc = await _chromium("--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
                                    "about:blank", profile=self.profile)
        port_file = self.profile / "DevToolsActivePort"
        await eventually(lambda: port_file.exists() and port_file.read_text().strip(), "Chromium's DevTools port")
        port = int(port_file.read_text().split()[0])
        async with httpx.AsyncClient() as http:
            targets = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
        page = next(t for t in targets if t["type"] == "page")
        self.ws = await websockets.connect(page["webSocketDebuggerUrl"], max_size=None)
        self.cdp = Cdp(self.ws)
        await self.cdp.call("Page.enable")
        return self.cdp

    async def __aexit__(self, *exc) -> None:
        await self.cdp.close()
        await self.ws.close()
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def log_in(cdp: Cdp, base: str, username: str) -> None:
    await cdp.navigate(f"{base}/login")
    await cdp.eval(f"document.getElementById('username').value = '{username}';"
                   f"document.getElementById('password').value = '{DEFAULT_PASSWORD}'")
    await cdp.submit("#login")


async def test_each_role_logs_in_and_sees_only_what_it_may(server, tmp_path):
    """Admin, supervisor and agent log in with the form; the menu shows their areas only, the
    others answer "Akses ditolak"; the status page's script (from /static, under the CSP)
    refreshes it; logging out ends the session."""
    base = server["base"]
    menus = {"andi": ["nav-tickets", "nav-calls", "nav-desk", "nav-wallboard", "nav-status", "nav-analytics",
                      "nav-scripts", "nav-accounts", "nav-desk-phones", "nav-audit"],
             "sari": ["nav-tickets", "nav-calls", "nav-desk", "nav-wallboard", "nav-status", "nav-analytics"],
             "rina": ["nav-tickets", "nav-calls", "nav-desk"]}
    admin_only = ["/admin/accounts", "/admin/audit", "/admin/scripts", "/admin/desk-phones"]
    for i, (user, menu) in enumerate(menus.items()):
        async with Browser(tmp_path / f"role{i}") as cdp:
            await log_in(cdp, base, user)
            assert await cdp.eval("location.pathname") == "/tickets"
            assert await cdp.eval("[...document.querySelectorAll('#nav a')].map(a => a.id)") == menu
            for path in admin_only + ["/service"]:
                await cdp.navigate(base + path)
                title = await cdp.eval("document.title")
                allowed = user == "andi" or (path == "/service" and user == "sari")
                assert ("Akses ditolak" in title) != allowed, (user, path, title)
            if "nav-status" in menu:
                await cdp.navigate(base + "/service")
                await eventually(lambda: cdp.eval("document.getElementById('refreshed').textContent"),
                                 "status.js to refresh the status page")
                assert await cdp.eval("document.querySelector('[data-field=db_ok]').textContent") == "Tersambung"
            await cdp.navigate(base + "/tickets")
            await cdp.submit("#logout")
            assert await cdp.eval("location.pathname") == "/login"
            await cdp.navigate(base + "/tickets")
            assert await cdp.eval("location.pathname") == "/login"


async def test_agent_logs_in_and_changes_a_ticket_status(server, tmp_path):
    websockets = pytest.importorskip("websockets.asyncio.client")
    profile = tmp_path / "p2"
    proc = await _chromium("--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", "about:blank",
                           profile=profile)
    try:
        port_file = profile / "DevToolsActivePort"
        await eventually(lambda: port_file.exists() and port_file.read_text().strip(), "Chromium's DevTools port")
        port = int(port_file.read_text().split()[0])
        async with httpx.AsyncClient() as http:
            targets = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
        page = next(t for t in targets if t["type"] == "page")
        async with websockets.connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
            cdp = Cdp(ws)
            await cdp.call("Page.enable")
            tid = server["ticket"]
            # an unauthenticated visit lands on the login form, remembering where to go
            await cdp.navigate(f"{server['base']}/tickets/{tid}")
            assert await cdp.eval("location.pathname") == "/login"
            assert await cdp.eval("document.querySelector('input[name=next]').value") == f"/tickets/{tid}"
            await cdp.eval(f"document.getElementById('username').value = '{AGENT}';"
                           f"document.getElementById('password').value = '{DEFAULT_PASSWORD}'")
            await cdp.submit("#login")
            assert await cdp.eval("location.pathname") == f"/tickets/{tid}"
            assert await cdp.eval("document.getElementById('who').textContent") == "agent:rina"
            assert await cdp.eval("document.getElementById('status').textContent") == "Baru"
            assert await cdp.eval("document.getElementById('description').textContent") == "jalan rusak & berlubang"
            assert await cdp.eval("document.getElementById('reporter-nik').textContent") == "3174**********01"
            # the stylesheet loaded under the CSP (header is a dark bar)
            assert await cdp.eval("getComputedStyle(document.querySelector('header')).backgroundColor") == "rgb(11, 79, 108)"
            await cdp.eval("document.getElementById('new-status').value = 'in_progress';"
                           "document.querySelector('#status-form input[name=note]').value = 'diteruskan'")
            await cdp.submit("#status-form")
            assert await cdp.eval("document.getElementById('status').textContent") == "Diproses"
            history = await cdp.eval("[...document.querySelectorAll('#history li')].map(li => li.textContent)")
            assert len(history) == 2 and "diteruskan" in history[1] and "agent:rina" in history[1]
            # the agent screen of the call behind the ticket
            await cdp.navigate(f"{server['base']}/agent/calls/{server['call']}")
            assert await cdp.eval("document.getElementById('caller').textContent") == "0812*****890"
            assert await cdp.eval("document.getElementById('intent').textContent") == "pengaduan_jalan"
            first_line = await cdp.eval("document.querySelector('#transcript li').textContent")
            assert first_line == "Penelepon: jalan di depan rumah saya rusak"
            # a turn told "di luar layanan": the topic's label from the live script, as a badge;
            # a topic the script no longer has: its name in words
            await cdp.navigate(f"{server['base']}/agent/calls/{server['beyond_call']}")
            lines = await cdp.eval("[...document.querySelectorAll('#transcript li')].map(li => li.textContent)")
            assert lines == ["Penelepon: saya mau perpanjang paspor Di luar layanan: Paspor dan imigrasi",
                             "Penelepon: bayar zakat di mana Di luar layanan: Zakat fitrah"]
            badge = "getComputedStyle(document.querySelector('#transcript .badge.beyond'))"
            assert await cdp.eval(f"{badge}.borderTopStyle") == "solid"      # styled apart from the words
            await cdp.close()
        t = await server["store"].tickets.get(tid)
        assert t.status == "in_progress" and t.history[-1].actor == "agent:rina"
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
