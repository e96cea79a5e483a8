"""Web app through its ASGI interface: health/status, auth, tickets, agent screen, admin, audit."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import httpx
import pytest

from ivr.config.clock import fixed_clock
from ivr.config.settings import load_settings
from ivr.storage import Store, format_ticket_id
from ivr.web import create_app
from tests.conftest import PII_TEST_KEY

ADMIN, AGENT = "admin-token-123", "agent-token-456"
NIK, PHONE = "3174012345670001", "081234567890"
#: the store's clock: ticket numbers begin with the year and month of filing (YYMM)
FILED_AT = datetime(2027, 3, 15, 2, 30, tzinfo=timezone.utc)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    for k in ("IVR_CONFIG_FILE", "IVR_PII_KEY", "IVR_ADMIN_TOKEN", "IVR_AGENT_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("IVR_ADMIN_TOKEN", ADMIN)
    monkeypatch.setenv("IVR_AGENT_TOKEN", AGENT)
    monkeypatch.setenv("IVR_PII_KEY", PII_TEST_KEY)
    return load_settings(data_dir=tmp_path, pii_mode="encrypt")


@pytest.fixture
async def web_store(settings):
    st = Store.from_settings(settings, clock=fixed_clock(FILED_AT))
    await st.amigrate()
    yield st
    await st.close()


class Live:
    def __init__(self, calls):
        self.calls = calls

    def snapshot(self):
        return {"calls": self.calls, "queues": {"hotline": {"agents_logged_in": 0, "waiting": 1}}}


@pytest.fixture
async def seeded(web_store):
    st = web_store
    cid = await st.calls.create(caller=PHONE, script_name="default", script_version="abc")
    await st.calls.add_turn(cid, 0, "system", "Selamat datang", source="prompt")
    await st.calls.add_turn(cid, 1, "caller", f"NIK saya {NIK}", intent="ktp_hilang", confidence=0.8)
    tid = await st.tickets.create("complaint", category="jalan", location="Jl. Merdeka",
                                 description="lubang <script>alert(1)</script>",
                                 reporter_name="Siti Aminah", reporter_nik=NIK, reporter_phone=PHONE,
                                 call_id=cid)
    secret = await st.tickets.create("complaint", category="pungli", description="oknum minta uang",
                                    reporter_name="Budi", reporter_phone="081298765432", confidential=True)
    await st.handoffs.record(cid, "hotline", reason="caller_asked")
    await st.handoffs.save_context(cid, {
        "transcript": [{"who": "caller", "text": f"NIK saya {NIK}"}, {"who": "system", "text": "Baik"}],
        "intent": "ktp_hilang", "slots": {"kecamatan": "Tebet", "nik": NIK}, "ticket": tid,
        "caller": PHONE, "queue": "hotline", "reason": "caller_asked"})
    return {"call": cid, "ticket": tid, "secret": secret}


def client(app, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                             headers=headers, follow_redirects=False)


async def login(c, token, name="Rina"):
    r = await c.post("/login", data={"token": token, "name": name, "next": "/tickets"})
    assert r.status_code == 303, r.text
    return r


async def test_health_and_status(settings, web_store):
    app = create_app(settings, web_store, Live([{"id": "c1", "state": "menu", "caller": PHONE,
                                                 "note": f"NIK {NIK}"}]).snapshot)
    async with client(app) as c:
        r = await c.get("/healthz")
        health = r.json()
        assert {k: health[k] for k in ("status", "db", "schema_ready", "outbox_backlog")} == \
            {"status": "ok", "db": True, "schema_ready": True, "outbox_backlog": 0}
        body = (await c.get("/status")).json()
    assert body["db_ok"] is True and body["live_calls"] == 1 and body["outbox_backlog"] == 0
    assert body["queues"]["hotline"]["waiting"] == 1
    assert body["calls"][0]["caller"] == "[REDACTED]" and body["calls"][0]["note"] == "NIK [NIK]"
    assert PHONE not in r.text + str(body)


async def test_health_alias_and_api_description(settings, web_store):
    """The README's "health" is served at /healthz and /health; /docs and /openapi.json
    describe the JSON API, with Swagger UI served from the package (no CDN)."""
    app = create_app(settings, web_store)
    async with client(app) as c:
        assert (await c.get("/health")).json() == (await c.get("/healthz")).json()
        spec = (await c.get("/openapi.json")).json()
        assert spec["info"]["title"] == "Hotline IVR"
        assert "/api/tickets" in spec["paths"] and "/healthz" in spec["paths"]
        docs = await c.get("/docs")
        assert docs.status_code == 200 and 'data-spec="/openapi.json"' in docs.text
        scripts = re.findall(r'<script src="([^"]+)"', docs.text)
        links = re.findall(r'<link rel="stylesheet" href="([^"]+)"', docs.text)
        assert scripts and links and all(u.startswith("/static/") for u in scripts + links)
        for url in scripts + links:
            assert (await c.get(url)).status_code == 200, url
        assert "script-src 'self'" in docs.headers["content-security-policy"]
        # other pages keep the strict policy
        assert "script-src 'none'" in (await c.get("/login")).headers["content-security-policy"]


def test_vendored_front_end_files_match_their_manifest():
    """Front-end libraries are vendored from npm with their hashes (tools/vendor_web.py)."""
    import hashlib
    import json
    from pathlib import Path

    import ivr.web

    vendor = Path(ivr.web.__file__).parent / "static" / "vendor"
    manifest = json.loads((vendor / "vendor.json").read_text())
    assert manifest["packages"]
    for entry in manifest["packages"]:
        assert set(entry["sha256"]) == set(entry["files"].values()), entry["npm"]
        assert any(name.startswith("LICENSE") for name in entry["sha256"]), entry["npm"]
        for name, digest in entry["sha256"].items():
            data = (vendor / entry["dir"] / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest, f"{entry['dir']}/{name}"


async def test_status_when_database_is_unreachable(settings, tmp_path):
    st = Store("postgresql://postgres@127.0.0.1:1/none", outbox_dir=tmp_path / "ob")  # nothing listens
    app = create_app(settings, st)
    try:
        async with client(app, ADMIN) as c:
            assert (await c.get("/healthz")).json()["status"] == "degraded"
            assert (await c.get("/status")).json()["db_ok"] is False
            assert (await c.get("/api/tickets")).status_code == 503
            r = await c.get("/tickets")
            assert r.status_code == 503 and "Basis data tidak tersedia" in r.text
    finally:
        await st.close()


async def test_authentication(settings, seeded, web_store):
    app = create_app(settings, web_store)
    async with client(app) as c:
        r = await c.get("/tickets?status=open")
        assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Ftickets%3Fstatus%3Dopen"
        assert (await c.get("/api/tickets")).status_code == 401
        assert (await c.get("/api/tickets", headers={"Authorization": "Bearer nope"})).status_code == 401
        r = await c.post("/login", data={"token": "wrong", "name": "x", "next": "/tickets"})
        assert r.status_code == 401 and "Token tidak valid" in r.text
        r = await c.post("/login", data={"token": AGENT, "name": "Rina", "next": "//evil.example/"})
        assert r.headers["location"] == "/tickets"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert (await c.get("/tickets")).status_code == 200
        assert (await c.get("/admin/scripts")).status_code == 403  # agents are not admins
        await c.post("/logout")
        assert (await c.get("/tickets")).status_code == 303
    async with client(app, AGENT) as c:
        assert (await c.get("/api/tickets")).status_code == 200


async def test_login_disabled_without_tokens(tmp_path, monkeypatch, web_store):
    for k in ("IVR_ADMIN_TOKEN", "IVR_AGENT_TOKEN", "IVR_PII_KEY"):
        monkeypatch.delenv(k, raising=False)
    app = create_app(load_settings(data_dir=tmp_path), web_store)
    async with client(app) as c:
        assert "Login belum diaktifkan" in (await c.get("/login")).text
        assert (await c.post("/login", data={"token": "", "name": ""})).status_code == 401


async def test_ticket_pages_masked_escaped_and_audited(settings, seeded, web_store):
    app = create_app(settings, web_store)
    tid = seeded["ticket"]
    async with client(app) as c:
        await login(c, AGENT)
        page = (await c.get("/tickets")).text
        assert tid.startswith("2703")
        assert f'data-ticket="{tid}"' in page and format_ticket_id(tid) in page
        r = await c.get(f"/tickets/{tid}?reveal=1")  # agents may not reveal (default reveal_roles=admin)
        assert r.status_code == 200
        assert "3174**********01" in r.text and NIK not in r.text and PHONE not in r.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text and "<script>alert" not in r.text
        assert 'id="reveal"' not in r.text
        assert r.headers["cache-control"] == "no-store"
        assert "script-src 'none'" in r.headers["content-security-policy"]
        assert (await c.get("/tickets/2611000997")).status_code == 404
    async with client(app) as c:
        await login(c, ADMIN, "Andi")
        r = await c.get(f"/tickets/{tid}")
        assert 'id="reveal"' in r.text and NIK not in r.text
        r = await c.get(f"/tickets/{tid}?reveal=1")
        assert NIK in r.text and PHONE in r.text and "Siti Aminah" in r.text and 'id="revealed"' in r.text
    audit = await web_store.audit.entries(subject_type="ticket", subject_id=tid)
    views = [(a.actor, a.action, a.revealed) for a in audit if a.action == "view_ticket"]
    assert ("agent:Rina", "view_ticket", False) in views
    assert ("admin:Andi", "view_ticket", True) in views
    assert all(a.remote for a in audit)


async def test_confidential_reporters_stay_hidden_from_agents(tmp_path, monkeypatch, seeded, web_store):
    monkeypatch.setenv("IVR_REVEAL_ROLES", "admin,agent")
    settings = load_settings(data_dir=tmp_path, pii_mode="encrypt")
    app = create_app(settings, web_store)
    async with client(app, AGENT) as c:
        normal = (await c.get(f"/api/tickets/{seeded['ticket']}?reveal=1")).json()
        secret = (await c.get(f"/api/tickets/{seeded['secret']}?reveal=1")).json()
    assert normal["reporter_nik"] == NIK and normal["revealed"] is True
    assert secret["reporter_phone"] == "0812*****432" and secret["reporter_name"] == "B***"
    async with client(app, ADMIN) as c:
        assert (await c.get(f"/api/tickets/{seeded['secret']}?reveal=1")).json()["reporter_name"] == "Budi"


async def test_status_change_by_form_needs_csrf(settings, seeded, web_store):
    app = create_app(settings, web_store)
    tid = seeded["ticket"]
    async with client(app) as c:
        await login(c, AGENT)
        r = await c.post(f"/tickets/{tid}/status", data={"status": "in_progress", "note": "x"})
        assert r.status_code == 403
        page = (await c.get(f"/tickets/{tid}")).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        r = await c.post(f"/tickets/{tid}/status", data={"status": "in_progress", "note": "ke dinas", "csrf": csrf})
        assert r.status_code == 303 and r.headers["location"] == f"/tickets/{tid}"
        r = await c.post(f"/tickets/{tid}/status", data={"status": "in_progress", "csrf": csrf})
        assert r.status_code == 409 and "cannot move" in r.text
    t = await web_store.tickets.get(tid)
    assert t.status == "in_progress" and t.history[-1].actor == "agent:Rina" and t.history[-1].note == "ke dinas"


async def test_json_api(settings, seeded, web_store):
    app = create_app(settings, web_store)
    tid = seeded["ticket"]
    async with client(app, ADMIN) as c:
        listed = (await c.get("/api/tickets?kind=complaint")).json()["tickets"]
        assert {t["public_id"] for t in listed} == {tid, seeded["secret"]}
        assert all(t["reporter_phone"].count("*") for t in listed)
        one = (await c.get(f"/api/tickets/{tid[:4]}-{tid[4:9]}-{tid[9]}")).json()
        assert one["category"] == "jalan" and one["sla_due"] and one["history"][0]["to_status"] == "open"
        # the bare number is the machine key; the written form travels with it
        assert one["public_id"] == tid and one["display_id"] == f"{tid[:4]}-{tid[4:9]}-{tid[9]}"
        assert all(t["display_id"] == format_ticket_id(t["public_id"]) for t in listed)
        r = await c.post(f"/api/tickets/{tid}/status", json={"status": "resolved", "note": "sudah diperbaiki"},
                         headers={"X-Actor": "dinas-pu"})
        assert r.status_code == 200 and r.json()["status"] == "resolved"
        assert r.json()["history"][-1]["actor"] == "admin:dinas-pu"
        r = await c.post(f"/api/tickets/{tid}/status", json={"status": "rejected"})
        assert r.status_code == 409
        assert (await c.post("/api/tickets/2611000997/status", json={"status": "closed"})).status_code == 404
        assert (await c.get("/api/tickets/123")).status_code == 404
        assert (await c.get("/api/tickets/status=open")).status_code == 404


async def test_agent_screen(settings, seeded, web_store):
    app = create_app(settings, web_store)
    cid = seeded["call"]
    async with client(app) as c:
        await login(c, AGENT)
        r = await c.get(f"/agent/calls/{cid}")
        assert r.status_code == 200
        html = r.text
        assert '<dd id="caller">0812*****890</dd>' in html
        assert '<dd id="intent">ktp_hilang</dd>' in html and '<dd id="queue">hotline</dd>' in html
        assert "NIK saya [NIK]" in html and "<th>kecamatan</th><td>Tebet</td>" in html
        assert f'href="/tickets/{seeded["ticket"]}"' in html
        assert NIK not in html and PHONE not in html
        assert (await c.get("/agent/calls/unknown")).status_code == 404
        assert cid in (await c.get("/agent")).text
    async with client(app, ADMIN) as c:
        data = (await c.get(f"/api/calls/{cid}?reveal=1")).json()
    assert data["revealed"] is True and data["context"]["slots"]["nik"] == NIK and data["call"]["caller"] == PHONE
    assert data["tickets"] == [seeded["ticket"]]
    assert data["ticket_display_ids"] == [format_ticket_id(seeded["ticket"])]
    audit = await web_store.audit.entries(subject_type="call", subject_id=cid)
    assert [(a.role, a.revealed) for a in audit] == [("admin", True), ("agent", False)]


async def test_admin_scripts_and_audit_pages(settings, seeded, web_store):
    pytest.importorskip("dialogs.loader")
    app = create_app(settings, web_store)
    async with client(app) as c:
        await login(c, ADMIN, "Andi")
        r = await c.get("/admin/scripts")
        assert r.status_code == 200 and "default.yaml" in r.text and "aktif" in r.text
        assert 'class="ok"' in r.text, r.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
        r = await c.post("/admin/scripts/validate", data={"source": "version: 1\nname: x\nstates: [\n", "csrf": csrf})
        assert r.status_code == 422 and 'id="issues"' in r.text
        good = (await __import__("asyncio").to_thread(
            lambda: __import__("dialogs").default_script_path().read_text()))
        r = await c.post("/admin/scripts/validate", data={"source": good, "csrf": csrf})
        assert r.status_code == 200 and "Skrip valid" in r.text
        assert (await c.post("/admin/scripts/validate", data={"source": good})).status_code == 403
        await c.get(f"/tickets/{seeded['ticket']}")
        r = await c.get("/admin/audit")
        assert "admin:Andi" in r.text and "view_ticket" in r.text and "login" in r.text


async def test_runtime_status_hook_and_context_shape(settings, web_store):
    """The runtime passes ``live_state=`` (a callable) and saves contexts with ticket_id and keys."""
    def hook():
        return {"accepting": True, "live_calls": 3, "script": "default", "caller": PHONE}

    st = web_store
    cid = await st.calls.create(caller=PHONE)
    tid = await st.tickets.create("callback", reporter_phone=PHONE, call_id=cid)
    await st.handoffs.save_context(cid, {
        "call_id": cid, "caller": PHONE, "intent": "minta_petugas", "state": "menu",
        "slots": {}, "ticket_id": tid,
        "transcript": [{"who": "system", "text": "Tekan satu"}, {"who": "caller", "keys": "1", "state": "menu"},
                       {"who": "caller", "keys": NIK}]})
    app = create_app(settings=settings, store=st, live_state=hook)
    async with client(app) as c:
        body = (await c.get("/status")).json()
        assert body["live_calls"] == 3 and body["accepting"] is True and body["script"] == "default"
        assert body["caller"] == "[REDACTED]"
        await login(c, AGENT)
        html = (await c.get(f"/agent/calls/{cid}")).text
    assert "[tombol 1]" in html and "[tombol [NIK]]" in html and NIK not in html
    assert f'href="/tickets/{tid}">{tid[:4]}-{tid[4:9]}-{tid[9]}</a>' in html  # people read the written form


async def test_broken_status_hook_does_not_break_status(settings, web_store):
    def hook():
        raise RuntimeError("boom")

    app = create_app(settings, web_store, hook)
    async with client(app) as c:
        r = await c.get("/status")
    assert r.status_code == 200 and r.json()["live_state_error"] is True


async def test_ticket_search(settings, seeded, web_store):
    app = create_app(settings, web_store)
    tid = seeded["ticket"]
    async with client(app) as c:
        await login(c, AGENT)
        r = await c.get("/tickets", params={"q": f"{tid[:4]}-{tid[4:9]}-{tid[9]}"})
        assert r.status_code == 303 and r.headers["location"] == f"/tickets/{tid}"
        html = (await c.get("/tickets", params={"q": "+62 812-3456-7890"})).text
        assert f'data-ticket="{tid}"' in html and f'data-ticket="{seeded["secret"]}"' not in html
        html = (await c.get("/tickets", params={"q": NIK})).text
        assert f'data-ticket="{tid}"' in html
        html = (await c.get("/tickets", params={"q": "3174012345670009"})).text
        assert 'id="empty"' in html
        html = (await c.get("/tickets", params={"q": "jalan"})).text
        assert 'id="notice"' in html
    audit = await web_store.audit.entries(subject_type="ticket")
    assert any(a.action == "search_tickets" and "reporter_phone" in a.detail for a in audit)
    assert not any(PHONE in (a.detail or "") or NIK in (a.detail or "") for a in audit)
