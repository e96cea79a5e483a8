"""Prometheus metrics at ``/metrics`` (:mod:`ivr.observability.metrics`), for operators.

Protected: with ``IVR_METRICS_TOKEN`` set, only requests bearing it; without, only clients on
the loopback address (the web app binds 127.0.0.1 by default; a Prometheus elsewhere needs the
token). Metrics carry counts and codes, never a caller's data."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from ivr.observability.metrics import CONTENT_TYPE, Metrics, metrics_allowed
from ivr.web.pages import remote

router = APIRouter()


def app_metrics(request: Request) -> Metrics:
    """The app's metrics (``ivr serve`` feeds them from the runtime); made on first use."""
    m = getattr(request.app.state, "metrics", None)
    if m is None:
        store = request.app.state.store
        m = Metrics()
        m.watch((), lambda: int(store.outbox_backlog))
        request.app.state.metrics = m
    assert isinstance(m, Metrics)
    return m


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    settings = request.app.state.settings
    token = settings.metrics_token.get_secret_value() if settings.metrics_token is not None else None
    if not metrics_allowed(remote(request), request.headers.get("authorization"), token):
        return PlainTextResponse("forbidden\n", status_code=403)
    return Response(app_metrics(request).render(), media_type=CONTENT_TYPE)
