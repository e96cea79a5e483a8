"""What every page of the web app shares: the Jinja2 environment (templates in
``ivr/web/templates``), Indonesian labels for codes, :func:`render` and :func:`remote`.

Routers import from here, never from :mod:`ivr.web.app` (which imports the routers)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

import ivr
from ivr.storage.ticket_ids import format_ticket_id
from ivr.web.auth import client_address, current

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

ROLE_LABELS = {"admin": "Admin", "supervisor": "Supervisor", "agent": "Petugas"}
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


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
    )

    def dt(value: datetime | None, tz: tzinfo | None = None) -> str:
        if value is None:
            return "-"
        return value.astimezone(tz).strftime("%d-%m-%Y %H:%M") if tz else value.strftime("%d-%m-%Y %H:%M")

    env.filters["dt"] = dt
    env.filters["ticket"] = format_ticket_id
    env.globals.update(STATUS_LABELS=STATUS_LABELS, ROLE_LABELS=ROLE_LABELS, KIND_LABELS=KIND_LABELS, OUTCOME_LABELS=OUTCOME_LABELS,
                       version=ivr.__version__)
    return env


def render(request: Request, template: str, context: dict[str, object], status_code: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    env: jinja2.Environment = request.app.state.templates
    principal = current(request)
    html = env.get_template(template).render(request=request, principal=principal, tz=request.app.state.tz,
                                             **context)
    return HTMLResponse(html, status_code=status_code, headers=headers)


def remote(request: Request) -> str | None:
    """The client's address for the audit log (see :func:`ivr.web.auth.client_address`)."""
    return client_address(request)
