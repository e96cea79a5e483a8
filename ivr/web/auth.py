"""Staff authentication for the web app: bearer tokens for the JSON API, a login form with
an in-memory session cookie for the pages. Two roles: ``admin`` and ``agent``; the tokens come
from ``IVR_ADMIN_TOKEN`` / ``IVR_AGENT_TOKEN`` only. With no token configured nobody can log in.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from ivr.config.settings import Settings

SESSION_COOKIE = "ivr_session"
SESSION_TTL_S = 8 * 3600
ROLES = ("admin", "agent")


@dataclass(frozen=True)
class Principal:
    role: str            # admin | agent
    actor: str           # who, for the audit log ("agent:Rina", "admin:api")
    via: str             # bearer | session
    csrf: str = ""


class LoginRequired(Exception):
    """No valid credentials: pages redirect to /login, the API answers 401."""

    def __init__(self, api: bool):
        self.api = api


class Forbidden(Exception):
    """Valid credentials, but the role may not do this."""


def _clean_name(name: str | None) -> str:
    name = re.sub(r"[^\w .@-]", "", (name or "").strip())[:48]
    return name or "staff"


def role_for_token(settings: Settings, token: str | None) -> str | None:
    if not token:
        return None
    given = token.encode()
    for role, secret in (("admin", settings.admin_token), ("agent", settings.agent_token)):
        if secret is not None and hmac.compare_digest(given, secret.get_secret_value().encode()):
            return role
    return None


class Sessions:
    """Server-side sessions (one process): cookie -> principal, with expiry and CSRF token."""

    def __init__(self, ttl_s: float = SESSION_TTL_S):
        self.ttl_s = ttl_s
        self._data: dict[str, tuple[Principal, float]] = {}

    def create(self, role: str, name: str) -> str:
        self._expire()
        sid = secrets.token_urlsafe(32)
        principal = Principal(role, f"{role}:{_clean_name(name)}", "session", secrets.token_urlsafe(24))
        self._data[sid] = (principal, time.monotonic() + self.ttl_s)
        return sid

    def get(self, sid: str | None) -> Principal | None:
        if not sid:
            return None
        item = self._data.get(sid)
        if item is None:
            return None
        principal, expires = item
        if time.monotonic() > expires:
            self._data.pop(sid, None)
            return None
        return principal

    def drop(self, sid: str | None) -> None:
        if sid:
            self._data.pop(sid, None)

    def _expire(self) -> None:
        now = time.monotonic()
        for sid in [s for s, (_, exp) in self._data.items() if exp < now]:
            del self._data[sid]


def authenticate(request: Request) -> Principal | None:
    settings: Settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        role = role_for_token(settings, header[7:].strip())
        if role is None:
            return None
        actor = _clean_name(request.headers.get("x-actor") or "api")
        return Principal(role, f"{role}:{actor}", "bearer")
    sessions: Sessions = request.app.state.sessions
    return sessions.get(request.cookies.get(SESSION_COOKIE))


def require(*roles: str, api: bool = False) -> Callable[[Request], Awaitable[Principal]]:
    """FastAPI dependency: the request's principal, which must have one of ``roles``."""

    async def dependency(request: Request) -> Principal:
        principal = authenticate(request)
        if principal is None:
            raise LoginRequired(api)
        if principal.role not in roles:
            raise Forbidden()
        return principal

    return dependency


def check_csrf(principal: Principal, token: str | None) -> bool:
    """Forms posted with a session cookie must carry the session's CSRF token."""
    if principal.via == "bearer":
        return True
    return token is not None and bool(token) and hmac.compare_digest(token.encode(), principal.csrf.encode())


def may_reveal(settings: Settings, principal: Principal, confidential: bool = False) -> bool:
    """May this person see personal data in clear? Confidential reports: admins only."""
    if confidential and principal.role != "admin":
        return False
    return principal.role in settings.reveal_roles
