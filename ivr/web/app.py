"""FastAPI app factory: health and status, staff pages (tickets, agent screen, admin) and a
JSON API. Server-rendered HTML (Jinja2, autoescaped), no JavaScript, strict CSP.

Every view of a caller's data writes an audit entry (who, what, whether shown in clear).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

import ivr
from ivr.logging import mask_value
from ivr.settings import Settings
from ivr.storage import Store, StoreUnavailable
from ivr.storage.ticket_ids import format_ticket_id
from ivr.web.auth import Forbidden, LoginRequired, Sessions, authenticate

HERE = Path(__file__).parent
log = logging.getLogger(__name__)

STATUS_LABELS = {
    "open": "Baru",
    "in_progress": "Diproses",
    "resolved": "Selesai",
    "closed": "Ditutup",
    "rejected": "Ditolak",
}
KIND_LABELS = {"complaint": "Pengaduan", "callback": "Minta ditelepon"}
OUTCOME_LABELS = {
    "pending": "Menunggu",
    "connected": "Tersambung",
    "abandoned": "Penelepon menutup",
    "no_agents": "Tidak ada petugas",
    "closed_hours": "Di luar jam layanan",
    "failed": "Gagal",
}


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
    )

    def dt(value: Any, tz: Any = None) -> str:
        if value is None:
            return "-"
        return value.astimezone(tz).strftime("%d-%m-%Y %H:%M") if tz else value.strftime("%d-%m-%Y %H:%M")

    env.filters["dt"] = dt
    env.filters["ticket"] = format_ticket_id
    env.globals.update(STATUS_LABELS=STATUS_LABELS, KIND_LABELS=KIND_LABELS, OUTCOME_LABELS=OUTCOME_LABELS,
                       version=ivr.__version__)
    return env


def _snapshot(live_state: Any) -> dict[str, Any]:
    if live_state is None:
        return {}
    snap = live_state.snapshot() if hasattr(live_state, "snapshot") else live_state()
    return dict(snap or {})


def create_app(settings: Settings, store: Store, live_state: Any = None, *, status: Any = None) -> FastAPI:
    """The web app. ``live_state`` (or its alias ``status``): optional object with
    ``snapshot() -> dict``, or a callable returning a dict, describing the runtime: live calls
    (``"calls": [...]`` and/or ``"live_calls": n``), agent queues (``"queues": {...}``) and any
    other keys; it is merged into /status with personal data masked."""
    if live_state is None:
        live_state = status
    app = FastAPI(title="Hotline IVR", version=ivr.__version__, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json",
                  description="JSON API of the hotline's web app. Authenticate with a bearer token "
                              "(Authorization: Bearer ...). Pages for staff are at /.")
    app.state.settings = settings
    app.state.store = store
    app.state.live_state = live_state
    app.state.sessions = Sessions()
    app.state.templates = _templates()
    app.state.started = time.monotonic()
    app.state.tz = settings.hours().tz

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", _csp(request.url.path))
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired):
        if exc.api or request.url.path.startswith("/api/"):
            return JSONResponse({"error": "authentication required"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "forbidden for this role"}, status_code=403)
        return render(request, "error.html", {"title": "Akses ditolak",
                                              "message": "Peran Anda tidak boleh membuka halaman ini."}, 403)

    @app.exception_handler(StoreUnavailable)
    async def _unavailable(request: Request, exc: StoreUnavailable):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "database unavailable"}, status_code=503)
        return render(request, "error.html", {"title": "Basis data tidak tersedia",
                                              "message": "Coba lagi beberapa saat lagi."}, 503)

    @app.get("/healthz")
    @app.get("/health", include_in_schema=False)
    async def healthz() -> JSONResponse:
        """Liveness and database reachability: ``ok`` or ``degraded`` (database down)."""
        db_ok = await store.ping()
        return JSONResponse({"status": "ok" if db_ok else "degraded", "db": db_ok,
                             "outbox_backlog": store.outbox_backlog})

    @app.get("/status")
    async def status_view() -> JSONResponse:
        db_ok = await store.ping()
        try:
            snap = mask_value(_snapshot(live_state))
        except Exception:  # a broken hook must not take the status page down
            log.exception("live state snapshot failed")
            snap = {"live_state_error": True}
        calls = snap.get("calls", [])
        calls = calls if isinstance(calls, list) else []
        body = {
            "status": "ok" if db_ok else "degraded",
            "version": ivr.__version__,
            "uptime_s": round(time.monotonic() - app.state.started, 1),
            "db_ok": db_ok,
            "outbox_backlog": store.outbox_backlog,
            "live_calls": snap.get("live_calls", len(calls)),
            "calls": calls,
            "queues": snap.get("queues", {}),
            "office_open": settings.hours().is_open(),
            "media_mode": settings.media_mode,
        }
        for key, value in snap.items():
            body.setdefault(key, value)
        return JSONResponse(body)

    @app.get("/docs", include_in_schema=False)
    async def api_docs(request: Request) -> HTMLResponse:
        """The JSON API's OpenAPI description, browsable (Swagger UI shipped in the package)."""
        html = request.app.state.templates.get_template("api_docs.html").render(version=ivr.__version__)
        return HTMLResponse(html)

    @app.get("/", include_in_schema=False)
    async def root(request: Request):
        principal = authenticate(request)
        if principal is None:
            return RedirectResponse("/login", status_code=303)
        return RedirectResponse("/tickets", status_code=303)

    from ivr.web import routes_admin, routes_agent, routes_login, routes_tickets

    app.include_router(routes_login.router)
    app.include_router(routes_tickets.router)
    app.include_router(routes_agent.router)
    app.include_router(routes_admin.router)
    return app


_CSP_PAGES = ("default-src 'self'; style-src 'self'; script-src 'none'; "
              "frame-ancestors 'none'; form-action 'self'")
# Swagger UI sets style attributes and draws icons from data: URIs; its own page only.
_CSP_API_DOCS = ("default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self'; "
                 "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")


def _csp(path: str) -> str:
    return _CSP_API_DOCS if path == "/docs" else _CSP_PAGES


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    env: jinja2.Environment = request.app.state.templates
    principal = authenticate(request)
    html = env.get_template(template).render(request=request, principal=principal, tz=request.app.state.tz,
                                             **context)
    return HTMLResponse(html, status_code=status_code)


def remote(request: Request) -> str | None:
    return request.client.host if request.client else None
