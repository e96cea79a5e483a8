"""FastAPI app factory: health and status, staff pages (tickets, the agent's call view, admin)
and a JSON API. Server-rendered HTML (Jinja2, autoescaped); JavaScript only from files under
/static (CSP ``script-src 'self'``, no inline scripts). Staff log in with personal accounts
(:mod:`ivr.web.auth`).

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
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

import ivr
from ivr.config.settings import Settings
from ivr.desk import Desk
from ivr.storage import Store, StoreUnavailable
from ivr.web.auth import CsrfRejected, Forbidden, LoginRequired, TooManyAttempts
from ivr.web.pages import STATIC_DIR, render, templates
from ivr.web.oidc import OidcClient
from ivr.web.routes import accounts, analytics, audit, calls, login, metrics, scripts, service, sso, tickets
from ivr.web.routes import desk as desk_pages
from ivr.web.routes import desk_phones
from ivr.web.routes.desk import DeskNotRunning
from ivr.web.script_tools import ScriptTools

log = logging.getLogger(__name__)

#: the runtime's live state for /status: a zero-argument callable returning a dict, e.g.
#: ``{"live_calls": 2, "calls": [...], "queues": {...}, ...}`` (see :func:`ivr.serve.live_status`)
LiveState = Callable[[], Mapping[str, object]]


def create_app(settings: Settings, store: Store, live_state: LiveState | None = None,
               desk: Desk | None = None, script_tools: ScriptTools | None = None) -> FastAPI:
    """The web app. ``live_state`` describes the runtime (live calls, queues, ...); it is
    merged into /status with personal data masked. ``desk``: the live desk and wallboard
    (:class:`ivr.desk.Desk`; None: those pages say the live view is off)."""
    app = FastAPI(title="Hotline IVR", version=ivr.__version__, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json",
                  description="JSON API of the hotline's web app. Authenticate with a personal API token "
                              "(Authorization: Bearer ivr_..., created on the page /account/tokens). "
                              "Pages for staff are at /.")
    app.state.settings = settings
    app.state.store = store
    app.state.live_state = live_state
    #: the running call core's TTS and recognizer for the script pages (None: no audio there)
    app.state.script_tools = script_tools
    app.state.oidc = OidcClient.from_settings(settings)  # single sign-on, when configured
    app.state.desk = desk
    if settings.admin_token is not None or settings.agent_token is not None:
        log.warning("IVR_ADMIN_TOKEN / IVR_AGENT_TOKEN are retired and ignored: staff log in with personal "
                    "accounts. Create them with `ivr users add NAME --role admin|supervisor|agent`, then unset "
                    "the variables (docs/web.md, 'Moving from shared tokens').")
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
        # same-origin: no address leaks to other sites, and our own form posts carry a real
        # Origin (with no-referrer browsers send "Origin: null"), which the login checks
        response.headers.setdefault("Referrer-Policy", "same-origin")
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

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # a bad query or body is the client's mistake: 400 with what was wrong, never a 500
        # (e.g. a page number beyond 64 bits, which the database would refuse)
        if request.url.path.startswith("/api/"):
            errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()]
            return JSONResponse({"error": "invalid request", "detail": errors}, status_code=400)
        return render(request, "error.html", {"title": "Permintaan tidak valid",
                                              "message": "Periksa kembali alamat atau isian formulir."}, 400)

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, exc: CsrfRejected) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "CSRF token missing or wrong (send X-CSRF-Token, or use a bearer token)"},
                                status_code=403)
        return render(request, "error.html", {"title": "Formulir kedaluwarsa",
                                              "message": "Muat ulang halaman lalu coba lagi."}, 403)

    @app.exception_handler(DeskNotRunning)
    async def _no_desk(request: Request, exc: DeskNotRunning) -> Response:
        return JSONResponse({"error": "Meja petugas langsung tidak berjalan di proses ini."}, status_code=503)

    @app.exception_handler(TooManyAttempts)
    async def _too_many(request: Request, exc: TooManyAttempts) -> Response:
        wait = str(max(1, int(exc.retry_after_s + 0.999)))
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "too many failed attempts from this address"}, status_code=429,
                                headers={"Retry-After": wait})
        return render(request, "error.html", {"title": "Terlalu banyak percobaan",
                                              "message": "Coba lagi beberapa menit lagi."}, 429,
                      headers={"Retry-After": wait})

    @app.exception_handler(StoreUnavailable)
    async def _unavailable(request: Request, exc: StoreUnavailable) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "database unavailable"}, status_code=503)
        return render(request, "error.html", {"title": "Basis data tidak tersedia",
                                              "message": "Coba lagi beberapa saat lagi."}, 503)

    for area in (service, login, sso, accounts, tickets, calls, scripts, audit, desk_pages, desk_phones, analytics,
                 metrics):
        app.include_router(area.router)
    _describe_bearer_auth(app)
    return app


def _describe_bearer_auth(app: FastAPI) -> None:
    """/openapi.json names the personal API token as the API's authentication, so /docs offers
    "Authorize" for it."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            components = schema.setdefault("components", {})
            components["securitySchemes"] = {"personalToken": {
                "type": "http", "scheme": "bearer",
                "description": "A personal API token (ivr_...), from the page /account/tokens or `ivr users token`."}}
            schema["security"] = [{"personalToken": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_CSP_PAGES = ("default-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
              "frame-ancestors 'none'; form-action 'self'")
# Swagger UI sets style attributes and draws icons from data: URIs; its own page only.
_CSP_API_DOCS = ("default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self'; "
                 "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")


# The script editor's lint marks are data: images (CodeMirror's lint.css).
_CSP_SCRIPT_PAGES = ("default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
                     "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def _csp(path: str) -> str:
    if path.startswith("/admin/scripts"):
        return _CSP_SCRIPT_PAGES
    return _CSP_API_DOCS if path == "/docs" else _CSP_PAGES
