"""Logging in and out: the login form (name and password), logout and logout everywhere, and
the one-time setup link that creates the first admin on a fresh install.

Failed logins are written to the access log and backed off per name and per address in the
database (so several processes share the count); a wrong name and a wrong password get the same
answer after the same work."""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from ivr.storage import AccountError, Store
from ivr.storage.accounts import normalise_username
from ivr.web.auth import SESSION_COOKIE, STAFF, Principal, cross_site, require
from ivr.web.pages import remote, render

router = APIRouter()
BAD_LOGIN = "Nama pengguna atau kata sandi salah."


def safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _wait_text(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Terlalu banyak percobaan masuk. Coba lagi dalam {minutes} menit."


def start_session(request: Request, response: Response, sid: str) -> None:
    """Set the session cookie on ``response``."""
    ttl = int(request.app.state.store.accounts.session_ttl.total_seconds())
    response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=ttl, path="/")


def _login_page(request: Request, next_url: str, error: str | None, status: int = 200, username: str = "") -> Response:
    return render(request, "login.html", {"next": next_url, "error": error, "username": username,
                                          "oidc": request.app.state.oidc is not None}, status)


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, safe_next(next), None)


@router.post("/login")
async def login(request: Request, username: str = Form(""), password: str = Form(""),
                next: str = Form("/")) -> Response:
    store: Store = request.app.state.store
    accounts = store.accounts
    address = remote(request)
    if cross_site(request):
        return _login_page(request, "/", "Formulir masuk harus dikirim dari halaman ini.", 403)
    name = normalise_username(username)[:64]
    next_url = safe_next(next)
    wait = await accounts.wait_before_attempt(name or None, address)
    if wait > 0:
        await accounts.check_password(None, password)  # the same work as a real check
        await store.audit.record("anonymous", "-", "login_blocked", "staff", name or None,
                                 detail=f"retry_after_s={math.ceil(wait)}", remote=address)
        response = _login_page(request, next_url, _wait_text(wait), 429, name)
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    attempt = await accounts.begin_attempt(name or None, address)
    account = await accounts.verify(name, password) if name else None
    if account is None:
        if not name:
            await accounts.check_password(None, password)
        await store.audit.record("anonymous", "-", "login_failed", "staff", name or None, remote=address)
        return _login_page(request, next_url, BAD_LOGIN, 401, name)
    await accounts.succeeded(attempt)
    sid = await accounts.open_session(account.id, via="password", remote=address)
    await store.audit.record(f"{account.role}:{account.username}", account.role, "login", "staff",
                             account.username, remote=address)
    response = RedirectResponse(next_url, status_code=303)
    start_session(request, response, sid)
    return response


@router.post("/logout")
async def logout(request: Request, principal: Principal = Depends(require(*STAFF))) -> Response:
    store: Store = request.app.state.store
    if principal.via == "session":
        await store.accounts.close_session(request.cookies.get(SESSION_COOKIE))
    await store.audit.record(principal.actor, principal.role, "logout", "staff", principal.username,
                             remote=remote(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/logout/everywhere")
async def logout_everywhere(request: Request, principal: Principal = Depends(require(*STAFF))) -> Response:
    """End every session of this account (other browsers, other devices) and this one."""
    store: Store = request.app.state.store
    assert principal.account_id is not None
    n = await store.accounts.close_all_sessions(principal.account_id)
    await store.audit.record(principal.actor, principal.role, "logout_everywhere", "staff", principal.username,
                             detail=f"sessions={n}", remote=remote(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ----------------------------------------------------------------------------- first admin


@router.get("/setup/{token}")
async def setup_form(request: Request, token: str) -> Response:
    store: Store = request.app.state.store
    if len(token) > 128 or not await store.accounts.setup_token_valid(token):
        return render(request, "error.html", {
            "title": "Tautan penyiapan tidak berlaku",
            "message": "Tautan ini sudah dipakai, kedaluwarsa, atau admin sudah ada. Silakan masuk, "
                       "atau buat akun dengan perintah: ivr users add NAMA --role admin"}, 404)
    return render(request, "setup.html", {"token": token, "error": None, "username": ""})


@router.post("/setup/{token}")
async def setup(request: Request, token: str, username: str = Form(""), password: str = Form(""),
                password2: str = Form("")) -> Response:
    store: Store = request.app.state.store
    address = remote(request)
    if cross_site(request):
        return render(request, "error.html", {"title": "Formulir ditolak", "message": ""}, 403)
    if len(token) > 128:
        return render(request, "error.html", {"title": "Tautan penyiapan tidak berlaku", "message": ""}, 404)
    if password != password2:
        return render(request, "setup.html", {"token": token, "username": username,
                                              "error": "Kedua kata sandi tidak sama."}, 422)
    try:
        account = await store.accounts.create_first_admin(token, username, password)
    except AccountError as exc:
        await store.audit.record("anonymous", "-", "setup_failed", "staff", username.strip()[:64] or None,
                                 detail=str(exc)[:200], remote=address)
        return render(request, "setup.html", {"token": token, "username": username, "error": str(exc)}, 422)
    actor = f"{account.role}:{account.username}"
    await store.audit.record(actor, account.role, "create_first_admin", "staff", account.username, remote=address)
    sid = await store.accounts.open_session(account.id, via="setup", remote=address)
    response = RedirectResponse("/", status_code=303)
    start_session(request, response, sid)
    return response


@router.get("/api/me", response_model=None)
async def me(principal: Principal = Depends(require(*STAFF, api=True))) -> dict[str, object]:
    """Who is logged in: username, role, and (for a page session) the CSRF token that scripts
    send as ``X-CSRF-Token`` with changes."""
    return {"username": principal.username, "role": principal.role, "actor": principal.actor,
            "via": principal.via, "csrf": principal.csrf or None}
