"""Staff accounts for tests (issue 12): create an account, log a client in, get an API token.

Use these instead of the retired shared tokens::

    from tests.ivr.staff import make_account, sign_in, api_token, asgi_client

    user, pw = await make_account(store, "agent")            # ("agent1", DEFAULT_PASSWORD)
    async with asgi_client(app) as c:
        csrf = await sign_in(c, user, pw)                    # cookie session; returns its CSRF token
        await c.post("/tickets/.../status", data={"status": "in_progress", "csrf": csrf})
        await c.post("/api/...", json={...}, headers={"X-CSRF-Token": csrf})
    token = await api_token(store, user)                     # "ivr_..." for Authorization: Bearer
    async with asgi_client(app, token) as c: ...

The actor written to the audit log is ``"<role>:<username>"`` (e.g. ``"agent:agent1"``).
A browser signs in at /login with fields ``username`` and ``password`` (ids ``#username``,
``#password``, form ``#login``).
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import httpx
import pytest

from ivr.config.settings import Settings, load_settings
from ivr.storage import Store

#: long enough for the password rules (>= 10 characters)
DEFAULT_PASSWORD = "kata-sandi-uji-123"
_numbers = itertools.count(1)


async def make_account(store: Store, role: str, username: str | None = None,
                       password: str = DEFAULT_PASSWORD, *, display_name: str | None = None) -> tuple[str, str]:
    """Create an account with ``role`` ("admin", "supervisor" or "agent") in a migrated store;
    returns ``(username, password)``. Without ``username``: "<role><n>" (e.g. "agent1")."""
    name = username or f"{role}{next(_numbers)}"
    account = await store.accounts.create(name, role, password, display_name=display_name)
    return account.username, password


async def sign_in(client: httpx.AsyncClient, username: str, password: str = DEFAULT_PASSWORD) -> str:
    """Log ``client`` in through the login form (the session cookie stays in the client);
    returns the session's CSRF token (form field ``csrf`` / header ``X-CSRF-Token``)."""
    r = await client.post("/login", data={"username": username, "password": password, "next": "/"},
                          follow_redirects=False)
    assert r.status_code == 303, f"login of {username!r} failed: {r.status_code} {r.text[:300]}"
    me = await client.get("/api/me")
    assert me.status_code == 200, me.text
    csrf = me.json()["csrf"]
    assert isinstance(csrf, str) and csrf
    return csrf


async def api_token(store: Store, username: str, label: str = "test") -> str:
    """A new personal API token of ``username`` (for ``Authorization: Bearer <token>``)."""
    account = await store.accounts.get(username)
    assert account is not None, f"no account {username!r}"
    secret, _ = await store.accounts.create_token(account.id, label)
    return secret


def asgi_client(app: Any, token: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
    """An httpx client on the app's ASGI interface (no network), with a bearer token if given.
    Redirects are not followed (tests check them)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                             headers=headers, follow_redirects=False, **kwargs)


def csrf_from_page(html: str) -> str:
    """The CSRF token in a page's forms (``<input name="csrf" value="...">``)."""
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field in the page"
    return m.group(1)


async def staff_store(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> tuple[Settings, Store]:
    """Settings and a migrated store under ``tmp_path/data`` for a web-app test: no config file or
    retired shared tokens from the environment, the tests' personal-data key set."""
    from tests.conftest import PII_TEST_KEY

    for k in ("IVR_CONFIG_FILE", "IVR_AGENT_TOKEN", "IVR_ADMIN_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("IVR_PII_KEY", PII_TEST_KEY)
    loaded = load_settings(data_dir=tmp_path / "data", **settings)
    store = Store.from_settings(loaded)
    await store.amigrate()
    return loaded, store
