"""Single sign-on over OpenID Connect against a minimal identity provider run in the test on
127.0.0.1 (discovery, authorize, token with client secret and PKCE, JWKS; RS256 ID tokens)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ivr.config.settings import load_settings
from ivr.storage import Store
from ivr.web import create_app
from tests.ivr.staff import asgi_client, make_account
from tests.waiting import eventually

CLIENT_ID, CLIENT_SECRET = "hotline", "rahasia-klien-123"


class Idp:
    """Just enough of an OpenID provider: the person logged in at the provider is ``self.user``."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
        self.base = ""
        self.codes: dict[str, dict] = {}
        self.user = {"sub": "u-1", "preferred_username": "Dewi.S", "name": "Dewi Sartika", "roles": ["cc-agent"]}
        self.tamper: str | None = None  # "nonce", "aud", "expired", "key"
        self.app = Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/authorize", self.authorize),
            Route("/token", self.token, methods=["POST"]),
            Route("/jwks", self.jwks),
        ])

    async def discovery(self, request: Request) -> Response:
        return JSONResponse({"issuer": self.base, "authorization_endpoint": f"{self.base}/authorize",
                             "token_endpoint": f"{self.base}/token", "jwks_uri": f"{self.base}/jwks",
                             "response_types_supported": ["code"], "id_token_signing_alg_values_supported": ["RS256"]})

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        assert q["client_id"] == CLIENT_ID and q["response_type"] == "code" and "openid" in q["scope"].split()
        assert q["code_challenge_method"] == "S256" and q["nonce"]
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": q["nonce"], "challenge": q["code_challenge"], "redirect_uri": q["redirect_uri"],
                            "user": dict(self.user)}
        return RedirectResponse(f"{q['redirect_uri']}?code={code}&state={q['state']}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        auth = request.headers.get("authorization", "")
        given = base64.b64decode(auth[6:]).decode() if auth.startswith("Basic ") else \
            f"{form.get('client_id')}:{form.get('client_secret')}"
        if given != f"{CLIENT_ID}:{CLIENT_SECRET}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.codes.pop(str(form.get("code")), None)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
        now = int(time.time())
        claims = {"iss": self.base, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": grant["nonce"],
                  **grant["user"]}
        if self.tamper == "nonce":
            claims["nonce"] = "another"
        elif self.tamper == "aud":
            claims["aud"] = "another-client"
        elif self.tamper == "expired":
            claims["exp"] = now - 600
        key = self.other_key if self.tamper == "key" else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
        return JSONResponse({"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": id_token})

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})


@pytest.fixture
async def idp():
    import uvicorn

    provider = Idp()
    server = uvicorn.Server(uvicorn.Config(provider.app, host="127.0.0.1", port=0, log_config=None, lifespan="off",
                                           access_log=False))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, "the identity provider to start")
    provider.base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    yield provider
    server.should_exit = True
    await task


@pytest.fixture
async def sso_app(idp, tmp_path, monkeypatch):
    for k in ("IVR_CONFIG_FILE", "IVR_PII_KEY", "IVR_ADMIN_TOKEN", "IVR_AGENT_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("IVR_OIDC_CLIENT_SECRET", CLIENT_SECRET)
    settings = load_settings(data_dir=tmp_path, oidc_issuer=idp.base, oidc_client_id=CLIENT_ID,
                             oidc_role_map="cc-admin=admin,cc-spv=supervisor,cc-agent=agent")
    store = Store.from_settings(settings)
    await store.amigrate()
    yield create_app(settings, store), store
    await store.close()


async def sso_login(c: httpx.AsyncClient, next_url: str = "/tickets") -> httpx.Response:
    """Our login link -> the provider -> back to our callback, as a browser would follow them."""
    start = await c.get(f"/login/sso?next={next_url}")
    assert start.status_code == 303, start.text
    async with httpx.AsyncClient() as browser:
        at_idp = await browser.get(start.headers["location"])
    assert at_idp.status_code == 302
    back = urlsplit(at_idp.headers["location"])
    assert back.path == "/login/sso/callback"
    return await c.get(f"{back.path}?{back.query}")


async def test_single_sign_on_creates_and_updates_accounts(idp, sso_app):
    app, store = sso_app
    async with asgi_client(app) as c:
        assert 'id="sso"' in (await c.get("/login")).text
        r = await sso_login(c, "/agent")
        assert r.status_code == 303 and r.headers["location"] == "/agent", r.text
        me = (await c.get("/api/me")).json()
        assert me["username"] == "dewi.s" and me["role"] == "agent"
    account = await store.accounts.get("dewi.s")
    assert account.display_name == "Dewi Sartika" and not account.has_password
    assert account.oidc_subject == f"{idp.base}|u-1"
    # the provider's claim decides the role at every login
    idp.user["roles"] = ["cc-agent", "cc-spv"]
    async with asgi_client(app) as c:
        assert (await sso_login(c)).status_code == 303
        assert (await c.get("/api/me")).json()["role"] == "supervisor"
    entries = await store.audit.entries(subject_type="staff", action="login")
    assert [(e.actor, e.detail) for e in entries] == [("supervisor:dewi.s", "sso"), ("agent:dewi.s", "sso")]
    # a disabled account stays out
    await store.accounts.set_disabled("dewi.s")
    async with asgi_client(app) as c:
        r = await sso_login(c)
        assert r.status_code == 403 and "dinonaktifkan" in r.text


async def test_single_sign_on_refuses_what_it_must(idp, sso_app):
    app, store = sso_app
    # no hotline role in the claim
    idp.user = {"sub": "u-2", "preferred_username": "tamu", "roles": ["staff-keuangan"]}
    async with asgi_client(app) as c:
        r = await sso_login(c)
        assert r.status_code == 403 and "belum diberi peran" in r.text
        assert (await c.get("/api/me")).status_code == 401
    # a local account of the same name is never taken over by a provider's name
    await make_account(store, "admin", "budi")
    idp.user = {"sub": "u-3", "preferred_username": "budi", "roles": ["cc-admin"]}
    async with asgi_client(app) as c:
        r = await sso_login(c)
        assert r.status_code == 403 and "sudah dipakai" in r.text
    # tampered tokens
    idp.user = {"sub": "u-4", "preferred_username": "eka", "roles": ["cc-agent"]}
    for tamper in ("nonce", "aud", "expired", "key"):
        idp.tamper = tamper
        async with asgi_client(app) as c:
            r = await sso_login(c)
            assert r.status_code == 403, tamper
            assert (await c.get("/api/me")).status_code == 401, tamper
    idp.tamper = None
    # an answer that does not belong to this browser's login (state), or a replayed code
    async with asgi_client(app) as c:
        start = await c.get("/login/sso")
        async with httpx.AsyncClient() as browser:
            back = urlsplit((await browser.get(start.headers["location"])).headers["location"])
        code = parse_qs(back.query)["code"][0]
        r = await c.get(f"/login/sso/callback?code={code}&state=forged")
        assert r.status_code == 403 and "tidak cocok" in r.text
    async with asgi_client(app) as other:  # another browser, without the state cookie
        r = await other.get(f"{back.path}?{back.query}")
        assert r.status_code == 403
    failed = [e for e in await store.audit.entries(subject_type="staff") if e.action == "login_failed"]
    assert len(failed) >= 7 and all((e.detail or "").startswith("sso") for e in failed)
    assert await store.accounts.get("eka") is None


async def test_no_sso_without_settings(tmp_path, monkeypatch):
    monkeypatch.delenv("IVR_CONFIG_FILE", raising=False)
    settings = load_settings(data_dir=tmp_path)
    store = Store.from_settings(settings)
    await store.amigrate()
    try:
        async with asgi_client(create_app(settings, store)) as c:
            assert 'id="sso"' not in (await c.get("/login")).text
            assert (await c.get("/login/sso")).status_code == 404
            assert (await c.get("/login/sso/callback?code=x&state=y")).status_code == 404
    finally:
        await store.close()
