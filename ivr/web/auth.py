"""Staff authentication for the web app, from per-person accounts (:mod:`ivr.storage.accounts`).

* Pages: a login form (name and password, or single sign-on) opens a session kept in the
  database (cookie ``ivr_session``: HttpOnly, SameSite=Strict), with expiry and a CSRF token.
* JSON API: a personal API token (``Authorization: Bearer ivr_...``), or the page session with
  the CSRF token in ``X-CSRF-Token`` for changes.

Roles: ``admin`` (everything: scripts, accounts, the access log), ``supervisor`` (all tickets
and dashboards), ``agent`` (the desk and tickets). The actor in the audit log is
``<role>:<username>`` of the account, never a name the client sends. The client's address is
the connection's, unless it comes from one of ``IVR_TRUSTED_PROXIES``.

Every state-changing request (POST, PUT, PATCH, DELETE) made with a session cookie must carry the
session's CSRF token: form field ``csrf`` or header ``X-CSRF-Token``, pages and JSON API alike
(a same-site ``Origin`` is not enough: one rule, the stricter). Bearer tokens need none.
:func:`require` enforces it for every route that uses it. A few page routes (script publishing,
ticket status, forecast schedule) still check the form field themselves, which is stricter (the
field, not the header) and left as is; new routes rely on :func:`require` alone.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from ivr.config.settings import Settings
from ivr.storage import Store

SESSION_COOKIE = "ivr_session"
CSRF_HEADER = "x-csrf-token"
ROLES = ("admin", "supervisor", "agent")
#: everyone on the staff
STAFF = ROLES
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_UNSET = object()


@dataclass(frozen=True)
class Principal:
    role: str                      # admin | supervisor | agent
    actor: str                     # who, for the audit log: "<role>:<username>"
    via: str                       # bearer | session
    csrf: str = ""                 # the session's CSRF token ("" for bearer tokens)
    username: str = ""
    account_id: int | None = None


class LoginRequired(Exception):
    """No valid credentials: pages redirect to /login, the API answers 401."""

    def __init__(self, api: bool):
        self.api = api


class Forbidden(Exception):
    """Valid credentials, but the role may not do this."""


class CsrfRejected(Exception):
    """A state-changing request with a session cookie but without the session's CSRF token."""


class TooManyAttempts(Exception):
    """Too many failed logins or bearer guesses from this address (or for this name)."""

    def __init__(self, retry_after_s: float):
        self.retry_after_s = retry_after_s


def client_address(request: Request) -> str | None:
    """The client's address: the connection's, or, when that is a trusted reverse proxy, the
    nearest untrusted address in ``X-Forwarded-For``."""
    peer = request.client.host if request.client else None
    settings: Settings = request.app.state.settings
    trusted = set(settings.trusted_proxies)
    if peer is None or peer not in trusted:
        return peer
    forwarded = [p.strip() for p in request.headers.get("x-forwarded-for", "").split(",") if p.strip()]
    for hop in reversed(forwarded):
        if hop not in trusted:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return peer


def _principal(role: str, username: str, via: str, csrf: str, account_id: int) -> Principal:
    return Principal(role, f"{role}:{username}", via, csrf, username, account_id)


async def authenticate(request: Request) -> Principal | None:
    """The request's principal (bearer token or session cookie), looked up once per request."""
    cached = getattr(request.state, "principal", _UNSET)
    if cached is not _UNSET:
        assert cached is None or isinstance(cached, Principal)
        return cached
    principal = await _authenticate(request)
    request.state.principal = principal
    return principal


async def _authenticate(request: Request) -> Principal | None:
    store: Store = request.app.state.store
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        address = client_address(request)
        wait = await store.accounts.wait_before_attempt(None, address)
        if wait > 0:
            raise TooManyAttempts(wait)
        found = await store.accounts.token_account(header[7:].strip())
        if found is None:
            await store.accounts.begin_attempt(None, address)
            await store.audit.record("anonymous", "-", "api_token_failed", "staff", None, remote=address)
            return None
        account, _token = found
        return _principal(account.role, account.username, "bearer", "", account.id)
    session = await store.accounts.session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    acc = session.account
    return _principal(acc.role, acc.username, "session", session.csrf, acc.id)


def current(request: Request) -> Principal | None:
    """The principal already looked up for this request (templates), without a new look-up."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


def require(*roles: str, api: bool = False) -> Callable[[Request], Awaitable[Principal]]:
    """FastAPI dependency: the request's principal, which must have one of ``roles``; for a
    state-changing request with a session cookie, the CSRF token must match too."""

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if principal is None:
            raise LoginRequired(api)
        if principal.role not in roles:
            raise Forbidden()
        if request.method not in SAFE_METHODS and principal.via == "session":
            await _check_csrf(request, principal)
        return principal

    return dependency


async def _check_csrf(request: Request, principal: Principal) -> None:
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").split(";")[0].strip() in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        field = form.get("csrf")
        given = field if isinstance(field, str) else None
    if not check_csrf(principal, given):
        raise CsrfRejected()


def cross_site(request: Request) -> bool:
    """A browser says this request comes from another site (``Origin`` of another host).
    Forms posted before login (login, first-admin link) are refused then: no login CSRF."""
    origin = request.headers.get("origin")
    return origin is not None and not _same_origin(request)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return False
    return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


def check_csrf(principal: Principal, token: str | None) -> bool:
    """Does ``token`` match the session's CSRF token? (Bearer requests need none.)"""
    if principal.via == "bearer":
        return True
    return bool(token) and bool(principal.csrf) and hmac.compare_digest(
        (token or "").encode(), principal.csrf.encode())


def may_reveal(settings: Settings, principal: Principal, confidential: bool = False) -> bool:
    """May this person see personal data in clear? Confidential reports: admins only."""
    if confidential and principal.role != "admin":
        return False
    return principal.role in settings.reveal_roles
