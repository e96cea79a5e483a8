"""What every page of the web app shares: the Jinja2 environment (templates in
``ivr/web/templates``) with the Indonesian labels of :mod:`ivr.web.labels`, :func:`render`
and :func:`remote`.

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
from ivr.desk.marks import CUT_NOTE, INCOMPLETE_BADGE, hangup_marks
from ivr.web.labels import KIND_LABELS, OUTCOME_LABELS, ROLE_LABELS, STATUS_LABELS, label

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
#: the highest page number a list accepts (beyond it: 400, never a database overflow)
MAX_PAGE = 100_000
#: the highest offset the JSON API accepts
MAX_OFFSET = 10_000_000


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
    env.filters["label"] = label
    env.globals.update(STATUS_LABELS=STATUS_LABELS, ROLE_LABELS=ROLE_LABELS, KIND_LABELS=KIND_LABELS, OUTCOME_LABELS=OUTCOME_LABELS,
                       version=ivr.__version__, hangup_marks=hangup_marks, CUT_NOTE=CUT_NOTE,
                       INCOMPLETE_BADGE=INCOMPLETE_BADGE)
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
