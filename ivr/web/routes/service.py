"""The service itself: liveness (/healthz, public, no call ids), the runtime's status (/status
JSON and /service page, staff only), the JSON API's browsable description (/docs) and the front
door (/)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

import ivr
from ivr.privacy.masking import mask_value
from ivr.storage import Store
from ivr.web.auth import STAFF, Principal, authenticate, require
from ivr.web.pages import render

log = logging.getLogger(__name__)
router = APIRouter()
#: where each role lands after logging in (helpers add their areas: desk, dashboards)
HOME_BY_ROLE = {"admin": "/tickets", "supervisor": "/tickets", "agent": "/tickets"}


@router.get("/healthz")
@router.get("/health", include_in_schema=False)
async def healthz(request: Request) -> JSONResponse:
    """Liveness and database reachability: ``ok`` or ``degraded`` (database down, its
    schema not migrated yet, or writes held in memory because the journal's disk is full),
    with the reasons. Never waits on the database: the store's background probe answers (its
    age in ``db_checked_s_ago``)."""
    store: Store = request.app.state.store
    h = await store.health()
    return JSONResponse({"status": h.status, "reasons": h.reasons, "db": h.db, "schema_ready": h.schema_ready,
                         "outbox_backlog": h.outbox_backlog, "held_writes": h.held_writes,
                         "db_checked_s_ago": h.age_s})


async def status_snapshot(request: Request) -> dict[str, object]:
    """The runtime's state: database, journal, live calls (masked), queues, office hours."""
    store: Store = request.app.state.store
    settings = request.app.state.settings
    health = await store.health()
    db_ok = health.db
    snap: dict[str, object]
    try:
        live = request.app.state.live_state
        snap = _masked(live() if live is not None else {})
    except Exception:  # a broken hook must not take the status page down
        log.exception("live state snapshot failed")
        snap = {"live_state_error": True}
    calls = snap.get("calls", [])
    calls = calls if isinstance(calls, list) else []
    body: dict[str, object] = {
        "status": health.status,
        "version": ivr.__version__,
        "uptime_s": round(time.monotonic() - request.app.state.started, 1),
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
    return body


@router.get("/status")
async def status_view(request: Request, principal: Principal = Depends(require(*STAFF, api=True))) -> JSONResponse:
    """The runtime's state as JSON, for staff (a personal API token or a page session); the
    public liveness check is /healthz."""
    return JSONResponse(await status_snapshot(request))


@router.get("/service", include_in_schema=False)
async def status_page(request: Request, principal: Principal = Depends(require("admin", "supervisor"))) -> Response:
    """The status page: the same figures as /status, refreshed every few seconds by
    /static/status.js (no inline script)."""
    return render(request, "status.html", {"s": await status_snapshot(request)})


def _masked(snapshot: Mapping[str, object]) -> dict[str, object]:
    masked = mask_value(dict(snapshot))
    assert isinstance(masked, dict)
    return masked


@router.get("/docs", include_in_schema=False)
async def api_docs(request: Request) -> HTMLResponse:
    """The JSON API's OpenAPI description, browsable (Swagger UI shipped in the package)."""
    html = request.app.state.templates.get_template("api_docs.html").render(version=ivr.__version__)
    return HTMLResponse(html)


@router.get("/", include_in_schema=False)
async def root(request: Request) -> RedirectResponse:
    """The front door: the login form, or the first page of the person's role."""
    principal = await authenticate(request)
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(HOME_BY_ROLE.get(principal.role, "/tickets"), status_code=303)
