"""Login and logout for the staff pages."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ivr.web.pages import remote, render
from ivr.web.auth import SESSION_COOKIE, authenticate, role_for_token

router = APIRouter()


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/tickets"


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    settings = request.app.state.settings
    enabled = settings.admin_token is not None or settings.agent_token is not None
    return render(request, "login.html", {"next": _safe_next(next), "error": None, "enabled": enabled})


@router.post("/login")
async def login(request: Request, token: str = Form(""), name: str = Form(""), next: str = Form("/tickets")) -> Response:
    settings = request.app.state.settings
    role = role_for_token(settings, token.strip())
    if role is None:
        await asyncio.sleep(0.25)  # slow down guessing
        enabled = settings.admin_token is not None or settings.agent_token is not None
        return render(request, "login.html", {"next": _safe_next(next), "enabled": enabled,
                                              "error": "Token tidak valid."}, 401)
    sid = request.app.state.sessions.create(role, name)
    principal = request.app.state.sessions.get(sid)
    await request.app.state.store.audit.record(principal.actor, role, "login", "staff", None, remote=remote(request))
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=8 * 3600, path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    principal = authenticate(request)
    if principal is not None and principal.via == "session":
        request.app.state.sessions.drop(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
