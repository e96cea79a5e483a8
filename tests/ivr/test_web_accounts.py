"""Account pages, personal API tokens, role limits, CSRF on every state-changing route, paging
limits and readable labels, through the app's ASGI interface."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from ivr.config.settings import load_settings
from ivr.storage import Store
from ivr.web import create_app
from tests.ivr.staff import DEFAULT_PASSWORD, api_token, asgi_client, csrf_from_page, make_account, sign_in

#: routes that take a POST before anyone is logged in (no session yet, so no CSRF token):
#: the login form and the one-time first-admin link, whose secret is in the URL
PRE_LOGIN = {"/login", "/setup/{token}"}


def api_routes(routes):
    """Every APIRoute of the app, also inside included routers (FastAPI >= 0.165 keeps them there)."""
    for r in routes:
        if isinstance(r, APIRoute):
            yield r
        elif hasattr(r, "original_router"):
            yield from api_routes(r.original_router.routes)


@pytest.fixture
async def env(tmp_path, monkeypatch):
    for k in ("IVR_CONFIG_FILE", "IVR_PII_KEY", "IVR_ADMIN_TOKEN", "IVR_AGENT_TOKEN", "IVR_TRUSTED_PROXIES"):
        monkeypatch.delenv(k, raising=False)
    settings = load_settings(data_dir=tmp_path)
    store = Store.from_settings(settings)
    await store.amigrate()
    for role, name in (("admin", "andi"), ("supervisor", "sari"), ("agent", "rina")):
        await make_account(store, role, name)
    yield settings, store, create_app(settings, store)
    await store.close()


async def test_every_state_changing_route_refuses_a_session_without_csrf(env):
    """Walks the app's routes: every POST/PUT/PATCH/DELETE made with an admin's session cookie
    but without the CSRF token is refused (403), and nothing changes."""
    _, store, app = env
    changing = [(m, r.path) for r in api_routes(app.routes) for m in sorted(r.methods - {"GET", "HEAD", "OPTIONS"})]
    assert ("POST", "/logout") in changing and ("POST", "/api/tickets/{ticket_id}/status") in changing
    tid = await store.tickets.create("complaint", category="jalan")
    values = {"ticket_id": tid, "token_id": "1", "username": "rina", "call_id": "x", "token": "x"}
    checked = []
    async with asgi_client(app) as c:
        await sign_in(c, "andi")
        for method, path in changing:
            if path in PRE_LOGIN:
                continue
            url = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "1"), path)
            for kind in ("form", "json"):
                kwargs = {"data": {"status": "closed", "password": "x" * 12}} if kind == "form" else \
                    {"json": {"status": "closed"}}
                r = await c.request(method, url, **kwargs)
                assert r.status_code == 403, (method, path, kind, r.status_code)
                # a token from another session does not count either
                r = await c.request(method, url, headers={"X-CSRF-Token": "x" * 32, **({} if kind == "form" else {})},
                                    **kwargs)
                assert r.status_code == 403, (method, path, kind, "wrong token")
            checked.append(path)
        assert (await c.get("/api/me")).status_code == 200  # still logged in: /logout was refused too
    assert len(checked) >= 10
    assert (await store.tickets.get(tid)).status == "open"
    assert not (await store.accounts.get("rina")).disabled


async def test_each_role_sees_only_what_it_may(env):
    _, _, app = env
    pages = {"/tickets": {"admin", "supervisor", "agent"}, "/agent": {"admin", "supervisor", "agent"},
             "/account": {"admin", "supervisor", "agent"}, "/account/tokens": {"admin", "supervisor", "agent"},
             "/service": {"admin", "supervisor"}, "/admin/scripts": {"admin"}, "/admin/accounts": {"admin"},
             "/admin/audit": {"admin"}}
    nav = {"admin": {"nav-tickets", "nav-calls", "nav-desk", "nav-wallboard", "nav-status", "nav-analytics",
                     "nav-scripts", "nav-accounts", "nav-audit"},
           "supervisor": {"nav-tickets", "nav-calls", "nav-desk", "nav-wallboard", "nav-status", "nav-analytics"},
           "agent": {"nav-tickets", "nav-calls", "nav-desk"}}
    for role, user in (("admin", "andi"), ("supervisor", "sari"), ("agent", "rina")):
        async with asgi_client(app) as c:
            await sign_in(c, user)
            for path, roles in pages.items():
                r = await c.get(path)
                assert r.status_code == (200 if role in roles else 403), (role, path, r.status_code)
            html = (await c.get("/tickets")).text
            assert set(re.findall(r'id="(nav-[a-z]+)"', html)) == nav[role]
            assert f'id="who" title="{ {"admin": "Admin", "supervisor": "Supervisor", "agent": "Petugas"}[role] }"' in html


async def test_admin_manages_accounts(env):
    _, store, app = env
    async with asgi_client(app) as admin, asgi_client(app) as budi:
        csrf = await sign_in(admin, "andi")
        r = await admin.post("/admin/accounts", data={"csrf": csrf, "username": "budi", "role": "supervisor",
                                                     "display_name": "Budi <b>", "password": "kata-sandi-budi-1"})
        assert r.status_code == 201 and 'data-account="budi"' in r.text and "Budi &lt;b&gt;" in r.text
        r = await admin.post("/admin/accounts", data={"csrf": csrf, "username": "budi", "role": "agent",
                                                     "password": "kata-sandi-budi-1"})
        assert r.status_code == 422 and "sudah dipakai" in r.text
        await sign_in(budi, "budi", "kata-sandi-budi-1")
        assert (await budi.get("/service")).status_code == 200
        # a new role ends the account's sessions
        r = await admin.post("/admin/accounts/budi/role", data={"csrf": csrf, "role": "agent"})
        assert r.status_code == 200 and (await store.accounts.get("budi")).role == "agent"
        assert (await budi.get("/tickets")).status_code == 303
        await sign_in(budi, "budi", "kata-sandi-budi-1")
        r = await admin.post("/admin/accounts/budi/disable", data={"csrf": csrf})
        assert r.status_code == 200 and "Nonaktif" in r.text
        assert (await budi.get("/tickets")).status_code == 303
        r = await budi.post("/login", data={"username": "budi", "password": "kata-sandi-budi-1"})
        assert r.status_code == 401
        await admin.post("/admin/accounts/budi/enable", data={"csrf": csrf})
        r = await admin.post("/admin/accounts/budi/password", data={"csrf": csrf, "password": "sandi-baru-budi-2"})
        assert r.status_code == 200
        await sign_in(budi, "budi", "sandi-baru-budi-2")
        # the last admin cannot lock everyone out
        r = await admin.post("/admin/accounts/andi/disable", data={"csrf": csrf})
        assert r.status_code == 409 and "Admin terakhir" in r.text
        r = await admin.post("/admin/accounts/andi/role", data={"csrf": csrf, "role": "agent"})
        assert r.status_code == 409
    actions = [(e.actor, e.action, e.subject_id) for e in await store.audit.entries(subject_type="staff")]
    for action in ("create_account", "change_role", "disable_account", "enable_account", "reset_password"):
        assert ("admin:andi", action, "budi") in actions


async def test_own_password_and_logout_everywhere(env):
    _, store, app = env
    async with asgi_client(app) as c, asgi_client(app) as other:
        csrf = await sign_in(c, "rina")
        await sign_in(other, "rina")
        page = await c.get("/account")
        assert page.status_code == 200 and 'id="sessions">2<' in page.text
        r = await c.post("/account/password", data={"csrf": csrf, "current": "salah-sekali-12",
                                                    "password": "sandi-baru-rina-2", "password2": "sandi-baru-rina-2"})
        assert r.status_code == 403 and "sekarang salah" in r.text
        r = await c.post("/account/password", data={"csrf": csrf, "current": DEFAULT_PASSWORD,
                                                    "password": "pendek", "password2": "pendek"})
        assert r.status_code == 422 and "minimal 10" in r.text
        r = await c.post("/account/password", data={"csrf": csrf, "current": DEFAULT_PASSWORD,
                                                    "password": "sandi-baru-rina-2", "password2": "sandi-baru-rina-2"})
        assert r.status_code == 303
        # this browser goes on with a new session; the other one is logged out
        page = await c.get("/account")
        assert page.status_code == 200 and 'id="sessions">1<' in page.text
        assert (await other.get("/tickets")).status_code == 303
        await sign_in(other, "rina", "sandi-baru-rina-2")
        r = await c.post("/logout/everywhere", data={"csrf": csrf_from_page(page.text)})
        assert r.status_code == 303
        assert (await c.get("/tickets")).status_code == 303 and (await other.get("/tickets")).status_code == 303


async def test_personal_api_tokens(env):
    _, store, app = env
    async with asgi_client(app) as c:
        csrf = await sign_in(c, "sari")
        r = await c.post("/account/tokens", data={"csrf": csrf, "name": "laporan harian"})
        assert r.status_code == 201
        secret = re.search(r'<code id="secret">([^<]+)</code>', r.text).group(1)
        assert secret.startswith("ivr_") and len(secret) >= 40
        page = (await c.get("/account/tokens")).text
        assert secret not in page and "laporan harian" in page and secret[:10] in page  # shown once
        token_id = re.search(r'data-token="(\d+)"', page).group(1)
    async with asgi_client(app, secret) as api:
        me = (await api.get("/api/me")).json()
        assert me == {"username": "sari", "role": "supervisor", "actor": "supervisor:sari", "via": "bearer",
                      "csrf": None}
        assert (await api.get("/status")).status_code == 200
    # someone else cannot revoke it; its owner can
    async with asgi_client(app) as other:
        csrf2 = await sign_in(other, "rina")
        await other.post(f"/account/tokens/{token_id}/revoke", data={"csrf": csrf2})
    async with asgi_client(app, secret) as api:
        assert (await api.get("/api/me")).status_code == 200
    async with asgi_client(app) as c:
        csrf = await sign_in(c, "sari")
        assert (await c.post(f"/account/tokens/{token_id}/revoke", data={"csrf": csrf})).status_code == 303
        assert "Dicabut" in (await c.get("/account/tokens")).text
    async with asgi_client(app, secret) as api:
        assert (await api.get("/api/me")).status_code == 401


async def test_huge_page_numbers_are_refused_cleanly(env):
    _, store, app = env
    token = await api_token(store, "andi")
    huge = str(2 ** 64 + 1)
    async with asgi_client(app, token) as api:
        for url in (f"/api/tickets?offset={huge}", f"/api/tickets?limit={huge}", "/api/tickets?offset=-1"):
            r = await api.get(url)
            assert r.status_code == 400 and r.json()["error"] == "invalid request", url
        assert (await api.get("/api/tickets?offset=10")).status_code == 200
    async with asgi_client(app) as c:
        await sign_in(c, "andi")
        for url in (f"/tickets?page={huge}", f"/agent?page={huge}", f"/admin/audit?page={huge}", "/tickets?page=0"):
            r = await c.get(url)
            assert r.status_code == 400 and "Permintaan tidak valid" in r.text, url


async def test_pages_show_labels_not_codes_and_page_through(env):
    _, store, app = env
    for i in range(35):
        cid = await store.calls.create(caller="081234567890")
        await store.calls.close(cid, "caller_hangup" if i % 2 else "completed")
    async with asgi_client(app) as c:
        await sign_in(c, "sari")
        first = await c.get("/agent")
        assert "caller_hangup" not in first.text.replace('value="caller_hangup"', "")
        assert "Penelepon menutup telepon" in first.text
        assert first.text.count('data-call="') == 30 and 'id="next"' in first.text and 'id="prev"' not in first.text
        second = await c.get("/agent?page=2")
        assert second.text.count('data-call="') == 5 and 'id="prev"' in second.text and 'id="next"' not in second.text
        only = await c.get("/agent?status=caller_hangup")
        assert only.text.count('data-call="') == 17
        assert "Penelepon menutup telepon" in only.text and 'class="end-reason">Selesai<' not in only.text
    async with asgi_client(app) as c:
        await sign_in(c, "andi")
        audit = (await c.get("/admin/audit?action=login")).text
        assert "Masuk" in audit and 'data-action="login"' in audit and 'data-action="list_calls"' not in audit


async def test_status_page_is_html_with_its_script_from_static(env):
    settings, store, _ = env
    app = create_app(settings, store, lambda: {"live_calls": 2, "calls": [{"call_id": "c-1", "caller": "081234567890"}],
                                               "queues": {"hotline": {"waiting": 1, "agents_logged_in": 0}}})
    async with asgi_client(app) as c:
        await sign_in(c, "sari")
        r = await c.get("/service")
    assert r.status_code == 200 and 'id="status"' in r.text and 'data-field="live_calls">2<' in r.text
    assert "menunggu: 1, petugas masuk: 0" in r.text and "081234567890" not in r.text
    assert '<script src="/static/status.js" defer></script>' in r.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", r.text)  # no inline script
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp


async def test_forms_before_login_refuse_other_sites(env):
    """No login CSRF: the login form and the first-admin link refuse a post from another site."""
    _, store, app = env
    secret = await store.accounts.create_setup_token()
    async with asgi_client(app) as c:
        r = await c.post("/login", data={"username": "rina", "password": DEFAULT_PASSWORD},
                         headers={"Origin": "http://evil.example"})
        assert r.status_code == 403 and "ivr_session" not in r.headers.get("set-cookie", "")
        r = await c.post("/login", data={"username": "rina", "password": DEFAULT_PASSWORD},
                         headers={"Origin": "null"})  # a page that hides where it is
        assert r.status_code == 403
        # the pages ask browsers to send their origin with our own forms (not "null")
        assert (await c.get("/login")).headers["referrer-policy"] == "same-origin"
        r = await c.post(f"/setup/{secret}", data={"username": "x1", "password": "a" * 12, "password2": "a" * 12},
                         headers={"Origin": "http://evil.example"})
        assert r.status_code == 403
        r = await c.post("/login", data={"username": "rina", "password": DEFAULT_PASSWORD},
                         headers={"Origin": "http://testserver"})
        assert r.status_code == 303


async def test_api_description_names_the_personal_token(env):
    _, _, app = env
    async with asgi_client(app) as c:
        spec = (await c.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["personalToken"]["scheme"] == "bearer"
    assert spec["security"] == [{"personalToken": []}]
    assert "/api/me" in spec["paths"] and "/login/sso" not in spec["paths"]
