"""FastAPI app factory: health and status, staff pages (tickets, the agent's call view, admin)
and a JSON API. Server-rendered HTML (Jinja2, autoescaped), no JavaScript, strict CSP.

One router module per area under :mod:`ivr.web.routes`; what pages share lives in
:mod:`ivr.web.pages` (routers never import this module). Every view of a caller's data writes
an audit entry (who, what, whether shown in clear).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

import ivr
from ivr.config.settings import Settings
from ivr.storage import Store, StoreUnavailable
from ivr.web.auth import Forbidden, LoginRequired, Sessions
from ivr.web.pages import STATIC_DIR, render, templates
from ivr.web.script_tools import ScriptTools
from ivr.web.routes import audit, calls, login, scripts, service, tickets

log = logging.getLogger(__name__)

#: the runtime's live state for /status: a zero-argument callable returning a dict, e.g.
#: ``{"live_calls": 2, "calls": [...], "queues": {...}, ...}`` (see :func:`ivr.serve.live_status`)
LiveState = Callable[[], Mapping[str, object]]


def create_app(settings: Settings, store: Store, live_state: LiveState | None = None,
               script_tools: ScriptTools | None = None) -> FastAPI:
    """The web app. ``live_state`` describes the runtime (live calls, queues, ...); it is
    merged into /status with personal data masked."""
    app = FastAPI(title="Hotline IVR", version=ivr.__version__, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json",
                  description="JSON API of the hotline's web app. Authenticate with a bearer token "
                              "(Authorization: Bearer ...). Pages for staff are at /.")
    app.state.settings = settings
    app.state.store = store
    app.state.live_state = live_state
    #: the running call core's TTS and recognizer for the script pages (None: no audio there)
    app.state.script_tools = script_tools
    app.state.sessions = Sessions()
    app.state.templates = templates()
    app.state.started = time.monotonic()
    app.state.tz = settings.hours().tz

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", _csp(request.url.path))
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if exc.api or request.url.path.startswith("/api/"):
            return JSONResponse({"error": "authentication required"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "forbidden for this role"}, status_code=403)
        return render(request, "error.html", {"title": "Akses ditolak",
                                              "message": "Peran Anda tidak boleh membuka halaman ini."}, 403)

    @app.exception_handler(StoreUnavailable)
    async def _unavailable(request: Request, exc: StoreUnavailable) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "database unavailable"}, status_code=503)
        return render(request, "error.html", {"title": "Basis data tidak tersedia",
                                              "message": "Coba lagi beberapa saat lagi."}, 503)

    for area in (service, login, tickets, calls, scripts, audit):
        app.include_router(area.router)
    return app


_CSP_PAGES = ("default-src 'self'; style-src 'self'; script-src 'none'; "
              "frame-ancestors 'none'; form-action 'self'")
# Swagger UI sets style attributes and draws icons from data: URIs; its own page only.
_CSP_API_DOCS = ("default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self'; "
                 "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")


# The script editor and simulator run their own files (no inline scripts, no eval).
_CSP_SCRIPT_PAGES = ("default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
                     "frame-ancestors 'none'; form-action 'self'")


def _csp(path: str) -> str:
    if path.startswith("/admin/scripts"):
        return _CSP_SCRIPT_PAGES
    return _CSP_API_DOCS if path == "/docs" else _CSP_PAGES
