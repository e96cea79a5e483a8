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
from tests.ivr.staff import DEFAULT_PASSWORD, api_token, asgi_client, make_account, sign_in

NIK, PHONE = "3174012345670001", "081234567890"
#: the store's clock: ticket numbers begin with the year and month of filing (YYMM)
FILED_AT = datetime(2027, 3, 15, 2, 30, tzinfo=timezone.utc)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    for k in ("IVR_CONFIG_FILE", "IVR_PII_KEY", "IVR_ADMIN_TOKEN", "IVR_AGENT_TOKEN", "IVR_TRUSTED_PROXIES"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("IVR_PII_KEY", PII_TEST_KEY)
    return load_settings(data_dir=tmp_path, pii_mode="encrypt")


@pytest.fixture
async def web_store(settings):
    st = Store.from_settings(settings, clock=fixed_clock(FILED_AT))
    await st.amigrate()
    yield st
    await st.close()


@pytest.fixture
async def staff(web_store):
    """An admin (andi), a supervisor (sari) and an agent (rina), with an API token each."""
    for role, name in (("admin", "andi"), ("supervisor", "sari"), ("agent", "rina")):
        await make_account(web_store, role, name)
    return {"admin": "andi", "supervisor": "sari", "agent": "rina",
            "admin_token": await api_token(web_store, "andi"), "agent_token": await api_token(web_store, "rina")}


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


client = asgi_client


async def login(c, username):
    return await sign_in(c, username)


async def test_health_and_status(settings, web_store, staff):
    app = create_app(settings, web_store, Live([{"id": "c1", "state": "menu", "caller": PHONE,
                                                 "note": f"NIK {NIK}"}]).snapshot)
    async with client(app) as c:
        r = await c.get("/healthz")
        health = r.json()  # public: no call ids
        assert {k: health[k] for k in ("status", "db", "schema_ready", "outbox_backlog")} == \
            {"status": "ok", "db": True, "schema_ready": True, "outbox_backlog": 0}
        assert "calls" not in health and "live_calls" not in health
        assert (await c.get("/status")).status_code == 401  # the runtime's state is for staff
        assert (await c.get("/service")).status_code == 303
        body = (await c.get("/status", headers={"Authorization": f"Bearer {staff['agent_token']}"})).json()
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
        login_csp = (await c.get("/login")).headers["content-security-policy"]
        assert "script-src 'self'" in login_csp and "unsafe-inline" not in login_csp


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
        async with client(app, "ivr_" + "x" * 43) as c:
            assert (await c.get("/healthz")).json()["status"] == "degraded"
            assert (await c.get("/status")).status_code == 503  # staff cannot be checked without it
            assert (await c.get("/api/tickets")).status_code == 503
            r = await c.get("/tickets")
            assert r.status_code == 503 and "Basis data tidak tersedia" in r.text
    finally:
        await st.close()


async def test_authentication(settings, seeded, web_store, staff):
    app = create_app(settings, web_store)
    async with client(app) as c:
        r = await c.get("/tickets?status=open")
        assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Ftickets%3Fstatus%3Dopen"
        assert (await c.get("/api/tickets")).status_code == 401
        assert (await c.get("/api/tickets", headers={"Authorization": "Bearer nope"})).status_code == 401
        r = await c.post("/login", data={"username": "rina", "password": "salah-sekali-123", "next": "/tickets"})
        assert r.status_code == 401 and "Nama pengguna atau kata sandi salah" in r.text
        # an unknown name gets the same answer
        r2 = await c.post("/login", data={"username": "siapa", "password": "salah-sekali-123"})
        assert r2.status_code == 401 and r2.text.replace("siapa", "rina") == r.text.replace('value="/tickets"', 'value="/"')
        r = await c.post("/login", data={"username": "Rina", "password": DEFAULT_PASSWORD, "next": "//evil.example/"})
        assert r.status_code == 303 and r.headers["location"] == "/"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert (await c.get("/")).headers["location"] == "/tickets"
        assert (await c.get("/tickets")).status_code == 200
        assert (await c.get("/admin/scripts")).status_code == 403  # agents are not admins
        me = (await c.get("/api/me")).json()
        assert me["username"] == "rina" and me["role"] == "agent" and me["actor"] == "agent:rina"
        assert (await c.post("/logout")).status_code == 403  # a change without the CSRF token
        assert (await c.post("/logout", data={"csrf": me["csrf"]})).status_code == 303
        assert (await c.get("/tickets")).status_code == 303
    async with client(app, staff["agent_token"]) as c:
        assert (await c.get("/api/tickets")).status_code == 200
        assert (await c.get("/api/me")).json()["actor"] == "agent:rina"
    # failed logins are in the access log, with the address of the connection
    entries = await web_store.audit.entries(subject_type="staff")
    failed = [e for e in entries if e.action == "login_failed"]
    assert {e.subject_id for e in failed} == {"rina", "siapa"} and all(e.remote for e in failed)
    assert [e.actor for e in entries if e.action == "login"] == ["agent:rina"]


async def test_sessions_live_in_the_database(settings, web_store, staff):
    """A session survives a restart (a new app on the same database), is shared by several
    processes, and ends on logout everywhere."""
    first, second = create_app(settings, web_store), create_app(settings, web_store)
    async with client(first) as a, client(first) as b:
        csrf = await login(a, "sari")
        await login(b, "sari")
        cookie = a.cookies.get("ivr_session")
        async with client(second, cookies={"ivr_session": cookie}) as other:
            assert (await other.get("/tickets")).status_code == 200  # supervisors see tickets
            assert (await other.get("/admin/audit")).status_code == 403
        assert await web_store.accounts.session_count((await web_store.accounts.get("sari")).id) == 2
        assert (await a.post("/logout/everywhere", data={"csrf": csrf})).status_code == 303
        assert (await b.get("/tickets")).status_code == 303
        assert (await a.get("/tickets")).status_code == 303


async def test_sessions_expire(settings, tmp_path, staff):
    from datetime import timedelta

    now = [FILED_AT]
    st = Store.from_settings(settings, clock=lambda: now[0])
    try:
        app = create_app(settings, st)
        async with client(app) as c:
            await login(c, "rina")
            now[0] = FILED_AT + timedelta(hours=7, minutes=59)
            assert (await c.get("/tickets")).status_code == 200
            now[0] = FILED_AT + timedelta(hours=8, minutes=1)
            assert (await c.get("/tickets")).status_code == 303
    finally:
        await st.close()


async def test_failed_logins_back_off_per_account_and_address(settings, web_store, staff):
    app = create_app(settings, web_store)
    async with client(app) as c:
        for _ in range(5):
            r = await c.post("/login", data={"username": "rina", "password": "tebak-tebak-123"})
            assert r.status_code == 401
        # the sixth try waits, even with the right password
        r = await c.post("/login", data={"username": "rina", "password": DEFAULT_PASSWORD})
        assert r.status_code == 429 and "Terlalu banyak percobaan" in r.text and int(r.headers["retry-after"]) > 0
        # another account from the same address is not locked yet
        await login(c, "sari")
    # the back-off lives in the database: a second process sees it
    async with client(create_app(settings, web_store)) as c:
        r = await c.post("/login", data={"username": "RINA", "password": DEFAULT_PASSWORD})
        assert r.status_code == 429
    entries = await web_store.audit.entries(subject_type="staff", subject_id="rina")
    assert [e.action for e in entries].count("login_blocked") == 2


async def test_bearer_guesses_are_backed_off(settings, web_store, staff):
    app = create_app(settings, web_store)
    async with client(app) as c:
        for i in range(20):
            r = await c.get("/api/tickets", headers={"Authorization": f"Bearer ivr_{i:043d}"})
            assert r.status_code == 401
        r = await c.get("/api/tickets", headers={"Authorization": f"Bearer {staff['admin_token']}"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        # a short token is refused without a look-up, and counts as a guess as well
        assert (await c.get("/api/me", headers={"Authorization": "Bearer x"})).status_code == 429


async def test_x_forwarded_for_only_from_trusted_proxies(tmp_path, monkeypatch, web_store, staff):
    monkeypatch.setenv("IVR_PII_KEY", PII_TEST_KEY)
    for trusted, expected in (("", "127.0.0.1"), ("127.0.0.1", "203.0.113.7")):
        monkeypatch.setenv("IVR_TRUSTED_PROXIES", trusted)
        app = create_app(load_settings(data_dir=tmp_path, pii_mode="encrypt"), web_store)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            r = await c.post("/login", data={"username": "andi", "password": "salah-sekali-123"},
                             headers={"X-Forwarded-For": "203.0.113.7"})
            assert r.status_code == 401
        entry = (await web_store.audit.entries(subject_type="staff", subject_id="andi"))[0]
        assert entry.action == "login_failed" and entry.remote == expected


async def test_fresh_install_setup_link_creates_the_first_admin(settings, web_store):
    app = create_app(settings, web_store)
    assert not await web_store.accounts.has_admin()
    secret = await web_store.accounts.create_setup_token()
    async with client(app) as c:
        assert (await c.get("/setup/not-a-token")).status_code == 404
        page = await c.get(f"/setup/{secret}")
        assert page.status_code == 200 and 'id="setup"' in page.text
        r = await c.post(f"/setup/{secret}", data={"username": "kepala", "password": "pendek", "password2": "pendek"})
        assert r.status_code == 422 and "minimal 10" in r.text
        pw = "kata-sandi-admin-1"
        r = await c.post(f"/setup/{secret}", data={"username": "kepala", "password": pw, "password2": pw})
        assert r.status_code == 303
        assert (await c.get("/admin/audit")).status_code == 200  # logged in as the new admin
        # the link works once
        assert (await c.get(f"/setup/{secret}")).status_code == 404
    other = await web_store.accounts.create_setup_token()
    async with client(app) as c:
        r = await c.post(f"/setup/{other}", data={"username": "lain", "password": pw, "password2": pw})
        assert r.status_code == 422 and "sudah dibuat" in r.text
        r = await c.post("/login", data={"username": "kepala", "password": pw})
        assert r.status_code == 303
    account = await web_store.accounts.get("kepala")
    assert account.role == "admin"


async def test_passwords_and_tokens_are_stored_hashed(settings, web_store, staff):
    from sqlalchemy import select

    from ivr.storage.models import AccountRow, ApiTokenRow, SetupTokenRow, WebSessionRow

    setup = await web_store.accounts.create_setup_token()
    app = create_app(settings, web_store)
    async with client(app) as c:
        await login(c, "rina")
        cookie = c.cookies.get("ivr_session")

    def rows():
        with web_store.database.session() as s:
            return ([a.password_hash for a in s.scalars(select(AccountRow))],
                    [t.token_hash for t in s.scalars(select(ApiTokenRow))],
                    [w.id_hash for w in s.scalars(select(WebSessionRow))],
                    [t.token_hash for t in s.scalars(select(SetupTokenRow))])

    hashes, tokens, sessions, setups = await web_store.database.read(rows)
    assert all(h.startswith("$argon2id$") for h in hashes) and not any(DEFAULT_PASSWORD in h for h in hashes)
    stored = " ".join(tokens + sessions + setups)
    assert staff["admin_token"] not in stored and cookie not in stored and setup not in stored
    assert len(tokens) == 2 and len(sessions) == 1 and len(setups) == 1


async def test_retired_shared_tokens_warn_and_do_nothing(tmp_path, monkeypatch, web_store, caplog):
    monkeypatch.setenv("IVR_ADMIN_TOKEN", "old-shared-token")
    app = create_app(load_settings(data_dir=tmp_path), web_store)
    assert any("retired" in r.getMessage() and "ivr users add" in r.getMessage() for r in caplog.records)
    async with client(app, "old-shared-token") as c:
        assert (await c.get("/api/tickets")).status_code == 401
        r = await c.post("/login", data={"username": "admin", "password": "old-shared-token"})
        assert r.status_code == 401


async def test_ticket_pages_masked_escaped_and_audited(settings, seeded, web_store, staff):
    app = create_app(settings, web_store)
    tid = seeded["ticket"]
    async with client(app) as c:
        await login(c, "rina")
        page = (await c.get("/tickets")).text
        assert tid.startswith("2703")
        assert f'data-ticket="{tid}"' in page and format_ticket_id(tid) in page
        r = await c.get(f"/tickets/{tid}?reveal=1")  # agents may not reveal (default reveal_roles=admin)
        assert r.status_code == 200
        assert "3174**********01" in r.text and NIK not in r.text and PHONE not in r.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text and "<script>alert" not in r.text
        assert 'id="reveal"' not in r.text
        assert r.headers["cache-control"] == "no-store"
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert (await c.get("/tickets/2611000997")).status_code == 404
    async with client(app) as c:
        await login(c, "andi")
        r = await c.get(f"/tickets/{tid}")
        assert 'id="reveal"' in r.text and NIK not in r.text
        r = await c.get(f"/tickets/{tid}?reveal=1")
        assert NIK in r.text and PHONE in r.text and "Siti Aminah" in r.text and 'id="revealed"' in r.text
    audit = await web_store.audit.entries(subject_type="ticket", subject_id=tid)
    views = [(a.actor, a.action, a.revealed) for a in audit if a.action == "view_ticket"]
    assert ("agent:rina", "view_ticket", False) in views
    assert ("admin:andi", "view_ticket", True) in views
    assert all(a.remote for a in audit)


async def test_confidential_reporters_stay_hidden_from_agents(tmp_path, monkeypatch, seeded, web_store, staff):
    monkeypatch.setenv("IVR_REVEAL_ROLES", "admin,agent")
    settings = load_settings(data_dir=tmp_path, pii_mode="encrypt")
    app = create_app(settings, web_store)
    async with client(app, staff["agent_token"]) as c:
        normal = (await c.get(f"/api/tickets/{seeded['ticket']}?reveal=1")).json()
        secret = (await c.get(f"/api/tickets/{seeded['secret']}?reveal=1")).json()
    assert normal["reporter_nik"] == NIK and normal["revealed"] is True
    assert secret["reporter_phone"] == "0812*****432" and secret["reporter_name"] == "B***"
    async with client(app, staff["admin_token"]) as c:
        assert (await c.get(f"/api/tickets/{seeded['secret']}?reveal=1")).json()["reporter_name"] == "Budi"


async def test_status_change_by_form_needs_csrf(settings, seeded, web_store, staff):
    app = create_app(settings, web_store)
    tid = seeded["ticket"]
    async with client(app) as c:
        await login(c, "rina")
        r = await c.post(f"/tickets/{tid}/status", data={"status": "in_progress", "note": "x"})
        assert r.status_code == 403
        page = (await c.get(f"/tickets/{tid}")).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        r = await c.post(f"/tickets/{tid}/status", data={"status": "in_progress", "note": "ke dinas", "csrf": csrf})
        assert r.status_code == 303 and r.headers["location"] == f"/tickets/{tid}"
        r = await c.post(f"/tickets/{tid}/status", data={"status": "in_progress", "csrf": csrf})
        assert r.status_code == 409 and "cannot move" in r.text
    t = await web_store.tickets.get(tid)
    assert t.status == "in_progress" and t.history[-1].actor == "agent:rina" and t.history[-1].note == "ke dinas"


async def test_json_api(settings, seeded, web_store, staff):
    app = create_app(settings, web_store)
    tid = seeded["ticket"]
    async with client(app, staff["admin_token"]) as c:
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
        assert r.json()["history"][-1]["actor"] == "admin:andi"  # the account, never a client header
        r = await c.post(f"/api/tickets/{tid}/status", json={"status": "rejected"})
        assert r.status_code == 409
        assert (await c.post("/api/tickets/2611000997/status", json={"status": "closed"})).status_code == 404
        assert (await c.get("/api/tickets/123")).status_code == 404
        assert (await c.get("/api/tickets/status=open")).status_code == 404


async def test_json_api_with_a_session_needs_the_csrf_token(settings, seeded, web_store, staff):
    app = create_app(settings, web_store)
    tid = seeded["ticket"]
    async with client(app) as c:
        csrf = await login(c, "rina")
        url = f"/api/tickets/{tid}/status"
        r = await c.post(url, json={"status": "in_progress"})
        assert r.status_code == 403 and "CSRF" in r.json()["error"]
        r = await c.post(url, json={"status": "in_progress"}, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403
        r = await c.post(url, json={"status": "in_progress"}, headers={"X-CSRF-Token": "wrong"})
        assert r.status_code == 403
        assert (await web_store.tickets.get(tid)).status == "open"
        r = await c.post(url, json={"status": "in_progress"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200 and r.json()["history"][-1]["actor"] == "agent:rina"
        # one rule for pages and the API: a same-site Origin without the token is not enough
        r = await c.post(url, json={"status": "resolved"}, headers={"Origin": "http://testserver"})
        assert r.status_code == 403 and (await web_store.tickets.get(tid)).status == "in_progress"
        r = await c.post(url, json={"status": "resolved"},
                         headers={"Origin": "http://testserver", "X-CSRF-Token": csrf})
        assert r.status_code == 200


async def test_agent_screen(settings, seeded, web_store, staff):
    app = create_app(settings, web_store)
    cid = seeded["call"]
    async with client(app) as c:
        await login(c, "rina")
        r = await c.get(f"/agent/calls/{cid}")
        assert r.status_code == 200
        html = r.text
        assert '<dd id="caller">0812*****890</dd>' in html
        assert '<dd id="intent">ktp_hilang</dd>' in html and '<dd id="queue">hotline</dd>' in html
        assert "NIK saya [NIK]" in html and "<th>Kecamatan</th><td>Tebet</td>" in html
        assert f'href="/tickets/{seeded["ticket"]}"' in html
        assert NIK not in html and PHONE not in html
        assert (await c.get("/agent/calls/unknown")).status_code == 404
        assert cid in (await c.get("/agent")).text
    async with client(app, staff["admin_token"]) as c:
        data = (await c.get(f"/api/calls/{cid}?reveal=1")).json()
    assert data["revealed"] is True and data["context"]["slots"]["nik"] == NIK and data["call"]["caller"] == PHONE
    assert data["tickets"] == [seeded["ticket"]]
    assert data["ticket_display_ids"] == [format_ticket_id(seeded["ticket"])]
    audit = await web_store.audit.entries(subject_type="call", subject_id=cid)
    assert [(a.role, a.revealed) for a in audit] == [("admin", True), ("agent", False)]


async def test_admin_scripts_and_audit_pages(settings, seeded, web_store, staff):
    pytest.importorskip("dialogs.loader")
    app = create_app(settings, web_store)
    async with client(app) as c:
        await login(c, "andi")
        r = await c.get("/admin/scripts")  # the script pages: tests/ivr/test_scripts_web.py
        assert r.status_code == 200 and "Skrip dialog" in r.text
        await c.get(f"/tickets/{seeded['ticket']}")
        r = await c.get("/admin/audit")
        assert "admin:andi" in r.text and "view_ticket" in r.text and "login" in r.text


async def test_runtime_status_hook_and_context_shape(settings, web_store, staff):
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
        body = (await c.get("/status", headers={"Authorization": f"Bearer {staff['admin_token']}"})).json()
        assert body["live_calls"] == 3 and body["accepting"] is True and body["script"] == "default"
        assert body["caller"] == "[REDACTED]"
        await login(c, "rina")
        html = (await c.get(f"/agent/calls/{cid}")).text
    assert "[tombol 1]" in html and "[tombol [NIK]]" in html and NIK not in html
    assert f'href="/tickets/{tid}">{tid[:4]}-{tid[4:9]}-{tid[9]}</a>' in html  # people read the written form


async def test_broken_status_hook_does_not_break_status(settings, web_store, staff):
    def hook():
        raise RuntimeError("boom")

    app = create_app(settings, web_store, hook)
    async with client(app) as c:
        r = await c.get("/status", headers={"Authorization": f"Bearer {staff['admin_token']}"})
    assert r.status_code == 200 and r.json()["live_state_error"] is True


async def test_ticket_search(settings, seeded, web_store, staff):
    app = create_app(settings, web_store)
    tid = seeded["ticket"]
    async with client(app) as c:
        await login(c, "rina")
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


async def test_the_call_page_names_the_out_of_scope_topic_of_a_turn(settings, web_store, staff):
    """A caller turn told "di luar layanan" shows the topic's label from the live script; a
    topic the script no longer has reads as its name; other turns show nothing more."""
    from pathlib import Path

    st = web_store
    cid = await st.calls.create(caller=PHONE, script_name="default", script_version="abc")
    await st.calls.add_turn(cid, 0, "system", "Ada yang bisa kami bantu?", source="prompt")
    await st.calls.add_turn(cid, 1, "caller", "saya mau perpanjang paspor", outcome="no_match", beyond="paspor")
    await st.calls.add_turn(cid, 2, "system", "Maaf, itu di luar layanan kami.", source="prompt")
    await st.calls.add_turn(cid, 3, "caller", "(no input)", source="event", outcome="no_input")
    await st.calls.add_turn(cid, 4, "caller", "zakat fitrah berapa", outcome="no_match", beyond="zakat_fitrah")
    await st.calls.add_turn(cid, 5, "caller", "bikin KTP", intent="ktp", outcome="accepted")
    app = create_app(settings, st)
    async with client(app) as c:
        await login(c, "rina")
        html = (await c.get(f"/agent/calls/{cid}")).text
        lines = re.findall(r'<li class="caller">(.*?)</li>', html)
        assert lines == [
            '<b>Penelepon:</b> saya mau perpanjang paspor <span class="badge beyond">Di luar layanan: Paspor dan '
            'imigrasi</span>',
            '<b>Penelepon:</b> (no input)',
            '<b>Penelepon:</b> zakat fitrah berapa <span class="badge beyond">Di luar layanan: Zakat fitrah</span>',
            '<b>Penelepon:</b> bikin KTP']
        # the hand-off context's copy of the transcript: the same turns, in the same order (no
        # no-input event there); an entry saying other words than its turn gets no topic
        await st.handoffs.save_context(cid, {"transcript": [
            {"who": "system", "text": "Ada yang bisa kami bantu?"},
            {"who": "caller", "text": "saya mau perpanjang paspor", "state": "main_menu"},
            {"who": "caller", "text": "sesuatu yang lain"},
            {"who": "caller", "text": "bikin KTP"}]})
        html = (await c.get(f"/agent/calls/{cid}")).text
        assert html.count('class="badge beyond"') == 1 and "Di luar layanan: Paspor dan imigrasi" in html
        # the live script's label, as edited on the script pages
        path = Path(settings.script_path())
        text = path.read_text("utf-8").replace("label: Paspor dan imigrasi\n", "label: Paspor (imigrasi)\n", 1)
        await st.scripts.import_file(path.stem, text, None)
        html = (await c.get(f"/agent/calls/{cid}")).text
        assert "Di luar layanan: Paspor (imigrasi)</span>" in html
