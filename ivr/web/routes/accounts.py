"""Accounts: one's own (change password, logout everywhere, personal API tokens) and, for
admins, everyone's (add, disable, enable, reset password, change role). Every change is audited."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from ivr.storage import ROLES, Account, AccountError, Store
from ivr.web.auth import SESSION_COOKIE, STAFF, Principal, require
from ivr.web.pages import remote, render
from ivr.web.routes.login import start_session

router = APIRouter()


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def _audit(request: Request, principal: Principal, action: str, username: str, detail: str | None = None) -> None:
    await _store(request).audit.record(principal.actor, principal.role, action, "staff", username,
                                       detail=detail, remote=remote(request))


# ----------------------------------------------------------------------------- one's own account


async def _own_page(request: Request, principal: Principal, *, message: str | None = None,
                    error: str | None = None, status: int = 200) -> Response:
    store = _store(request)
    assert principal.account_id is not None
    account = await store.accounts.get_by_id(principal.account_id)
    sessions = await store.accounts.session_count(principal.account_id)
    return render(request, "account.html", {"account": account, "sessions": sessions,
                                            "message": message, "error": error}, status)


@router.get("/account")
async def account_page(request: Request, principal: Principal = Depends(require(*STAFF))) -> Response:
    return await _own_page(request, principal)


@router.post("/account/password")
async def change_password(request: Request, current: str = Form(""), password: str = Form(""),
                          password2: str = Form(""), principal: Principal = Depends(require(*STAFF))) -> Response:
    """Change one's own password: every other session of the account ends, this one goes on."""
    store = _store(request)
    assert principal.account_id is not None
    if password != password2:
        return await _own_page(request, principal, error="Kedua kata sandi baru tidak sama.", status=422)
    address = remote(request)
    wait = await store.accounts.wait_before_attempt(principal.username, address)
    if wait > 0:
        return await _own_page(request, principal, error="Terlalu banyak percobaan. Coba lagi nanti.", status=429)
    attempt = await store.accounts.begin_attempt(principal.username, address)
    if await store.accounts.verify(principal.username, current) is None:
        await _audit(request, principal, "change_password", principal.username, "wrong current password")
        return await _own_page(request, principal, error="Kata sandi sekarang salah.", status=403)
    await store.accounts.succeeded(attempt)
    try:
        await store.accounts.set_password(principal.username, password)
    except AccountError as exc:
        return await _own_page(request, principal, error=str(exc), status=422)
    await _audit(request, principal, "change_password", principal.username)
    sid = await store.accounts.open_session(principal.account_id, via="password", remote=address)
    response = RedirectResponse("/account?changed=1", status_code=303)
    start_session(request, response, sid)
    return response


# ----------------------------------------------------------------------------- personal API tokens


async def _tokens_page(request: Request, principal: Principal, *, secret: str | None = None,
                       status: int = 200) -> Response:
    assert principal.account_id is not None
    tokens = await _store(request).accounts.tokens(principal.account_id)
    return render(request, "tokens.html", {"tokens": tokens, "secret": secret}, status)


@router.get("/account/tokens")
async def tokens_page(request: Request, principal: Principal = Depends(require(*STAFF))) -> Response:
    return await _tokens_page(request, principal)


@router.post("/account/tokens")
async def create_token(request: Request, name: str = Form(""),
                       principal: Principal = Depends(require(*STAFF))) -> Response:
    """A new token of one's own account, shown once on the answer page."""
    assert principal.account_id is not None
    secret, token = await _store(request).accounts.create_token(principal.account_id, name or "token")
    await _audit(request, principal, "create_api_token", principal.username, f"token={token.prefix} name={token.name}")
    return await _tokens_page(request, principal, secret=secret, status=201)


@router.post("/account/tokens/{token_id}/revoke")
async def revoke_token(request: Request, token_id: int, principal: Principal = Depends(require(*STAFF))) -> Response:
    assert principal.account_id is not None
    if await _store(request).accounts.revoke_token(token_id, account_id=principal.account_id):
        await _audit(request, principal, "revoke_api_token", principal.username, f"token_id={token_id}")
    return RedirectResponse("/account/tokens", status_code=303)


# ----------------------------------------------------------------------------- admins: everyone's accounts


async def _accounts_page(request: Request, *, message: str | None = None, error: str | None = None,
                         status: int = 200, form: dict[str, str] | None = None) -> Response:
    accounts = await _store(request).accounts.all()
    return render(request, "accounts.html", {"accounts": accounts, "roles": ROLES, "message": message,
                                             "error": error, "form": form or {}}, status)


@router.get("/admin/accounts")
async def accounts_page(request: Request, principal: Principal = Depends(require("admin"))) -> Response:
    return await _accounts_page(request)


@router.post("/admin/accounts")
async def add_account(request: Request, username: str = Form(""), role: str = Form("agent"),
                      display_name: str = Form(""), password: str = Form(""),
                      principal: Principal = Depends(require("admin"))) -> Response:
    try:
        account = await _store(request).accounts.create(username, role, password,
                                                        display_name=display_name.strip()[:128] or None)
    except AccountError as exc:
        return await _accounts_page(request, error=str(exc), status=422,
                                    form={"username": username, "role": role, "display_name": display_name})
    await _audit(request, principal, "create_account", account.username, f"role={account.role}")
    return await _accounts_page(request, message=f"Akun {account.username} dibuat.", status=201)


async def _other_admins(request: Request, username: str) -> int:
    return sum(1 for a in await _store(request).accounts.all()
               if a.role == "admin" and not a.disabled and a.username != username)


async def _target(request: Request, username: str) -> Account | None:
    return await _store(request).accounts.get(username)


@router.post("/admin/accounts/{username}/disable")
async def disable_account(request: Request, username: str, principal: Principal = Depends(require("admin"))) -> Response:
    account = await _target(request, username)
    if account is None:
        return await _accounts_page(request, error="Akun tidak ditemukan.", status=404)
    if account.role == "admin" and not await _other_admins(request, account.username):
        return await _accounts_page(request, error="Admin terakhir tidak bisa dinonaktifkan.", status=409)
    await _store(request).accounts.set_disabled(account.username, True)
    await _audit(request, principal, "disable_account", account.username)
    return await _accounts_page(request, message=f"Akun {account.username} dinonaktifkan.")


@router.post("/admin/accounts/{username}/enable")
async def enable_account(request: Request, username: str, principal: Principal = Depends(require("admin"))) -> Response:
    account = await _target(request, username)
    if account is None:
        return await _accounts_page(request, error="Akun tidak ditemukan.", status=404)
    await _store(request).accounts.set_disabled(account.username, False)
    await _audit(request, principal, "enable_account", account.username)
    return await _accounts_page(request, message=f"Akun {account.username} diaktifkan.")


@router.post("/admin/accounts/{username}/password")
async def reset_password(request: Request, username: str, password: str = Form(""),
                         principal: Principal = Depends(require("admin"))) -> Response:
    """Set a new password for someone who forgot theirs (their sessions end)."""
    account = await _target(request, username)
    if account is None:
        return await _accounts_page(request, error="Akun tidak ditemukan.", status=404)
    try:
        await _store(request).accounts.set_password(account.username, password)
    except AccountError as exc:
        return await _accounts_page(request, error=str(exc), status=422)
    await _audit(request, principal, "reset_password", account.username)
    response = await _accounts_page(request, message=f"Kata sandi {account.username} diganti.")
    if account.username == principal.username:  # one's own sessions ended too
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/admin/accounts/{username}/role")
async def change_role(request: Request, username: str, role: str = Form(""),
                      principal: Principal = Depends(require("admin"))) -> Response:
    account = await _target(request, username)
    if account is None:
        return await _accounts_page(request, error="Akun tidak ditemukan.", status=404)
    if account.role == "admin" and role != "admin" and not await _other_admins(request, account.username):
        return await _accounts_page(request, error="Admin terakhir tidak bisa diganti perannya.", status=409)
    try:
        await _store(request).accounts.set_role(account.username, role)
    except AccountError as exc:
        return await _accounts_page(request, error=str(exc), status=422)
    await _audit(request, principal, "change_role", account.username, f"{account.role}->{role}")
    return await _accounts_page(request, message=f"Peran {account.username} diganti.")
