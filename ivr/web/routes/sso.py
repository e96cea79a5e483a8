"""Single sign-on over OpenID Connect (optional: ``IVR_OIDC_ISSUER`` and ``IVR_OIDC_CLIENT_ID``).

``/login/sso`` sends the browser to the office's identity provider; ``/login/sso/callback``
checks its answer (:mod:`ivr.web.oidc`), finds or creates the person's account (linked by the
issuer's subject, never by a name alone) with the role the provider's claim gives, and opens a
session as the login form does."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ivr.storage import Account, AccountError, Store
from ivr.web.oidc import STATE_COOKIE, STATE_TTL_S, OidcClient, SsoError, SsoIdentity
from ivr.web.pages import remote, render
from ivr.web.routes.login import safe_next, start_session

router = APIRouter()


def _redirect_uri(request: Request) -> str:
    base = request.app.state.settings.public_url or str(request.base_url)
    return base.rstrip("/") + "/login/sso/callback"


def _failed(request: Request, message: str, status: int = 403) -> Response:
    response = render(request, "error.html", {"title": "Masuk dengan SSO gagal", "message": message}, status)
    response.delete_cookie(STATE_COOKIE, path="/login/sso")
    return response


@router.get("/login/sso", include_in_schema=False)
async def sso_start(request: Request, next: str | None = None) -> Response:
    oidc: OidcClient | None = request.app.state.oidc
    if oidc is None:
        return render(request, "error.html", {"title": "SSO tidak diaktifkan",
                                              "message": "Masuk dengan nama pengguna dan kata sandi."}, 404)
    try:
        url, cookie = await oidc.begin(_redirect_uri(request), safe_next(next))
    except SsoError as exc:
        return _failed(request, str(exc), 502)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(STATE_COOKIE, cookie, max_age=STATE_TTL_S, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/login/sso")
    return response


@router.get("/login/sso/callback", include_in_schema=False)
async def sso_callback(request: Request, code: str | None = None, state: str | None = None,
                       error: str | None = None) -> Response:
    oidc: OidcClient | None = request.app.state.oidc
    store: Store = request.app.state.store
    address = remote(request)
    if oidc is None:
        return _failed(request, "SSO tidak diaktifkan.", 404)
    try:
        pending = oidc.pending(request.cookies.get(STATE_COOKIE), state)
        if error or not code:
            raise SsoError("Penyedia SSO tidak mengizinkan masuk.")
        identity = await oidc.finish(_redirect_uri(request), code, pending)
        account = await _account_for(store, identity)
    except (SsoError, AccountError) as exc:
        await store.audit.record("anonymous", "-", "login_failed", "staff", None, detail=f"sso: {exc}"[:200],
                                 remote=address)
        return _failed(request, str(exc))
    await store.accounts.touch_login(account.id)
    sid = await store.accounts.open_session(account.id, via="oidc", remote=address)
    await store.audit.record(f"{account.role}:{account.username}", account.role, "login", "staff",
                             account.username, detail="sso", remote=address)
    response = RedirectResponse(safe_next(str(pending.get("next") or "/")), status_code=303)
    response.delete_cookie(STATE_COOKIE, path="/login/sso")
    start_session(request, response, sid)
    return response


async def _account_for(store: Store, identity: SsoIdentity) -> Account:
    account = await store.accounts.get_by_subject(identity.subject)
    if account is not None:
        if account.disabled:
            raise SsoError("Akun Anda dinonaktifkan. Hubungi admin.")
        if account.role != identity.role:  # the provider's claim decides, at every login
            account = await store.accounts.set_role(account.username, identity.role)
        return account
    name = re.sub(r"[^a-z0-9._-]", "-", identity.username.split("@", 1)[0])[:64].strip("-._")
    if len(name) < 2:
        raise SsoError("Penyedia SSO tidak memberi nama pengguna.")
    if await store.accounts.get(name) is not None:
        raise SsoError(f"Nama pengguna {name!r} sudah dipakai akun lain di hotline. Hubungi admin.")
    return await store.accounts.create(name, identity.role, None, display_name=identity.display_name,
                                       oidc_subject=identity.subject)
