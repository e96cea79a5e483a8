"""Prometheus metrics of the running hotline, served at ``/metrics`` by the web app.

* ``ivr_calls_in_progress`` (gauge), ``ivr_calls_total{reason}``, ``ivr_call_duration_seconds``;
* ``ivr_turns_total{kind}`` (speech, keys, noinput);
* ``ivr_recognitions_total{result}`` (intent, no_intent), ``ivr_recognition_confidence``,
  ``ivr_asr_seconds`` (recognition time), ``ivr_reply_seconds`` (end of the caller's turn to
  the first byte of the reply);
* ``ivr_handoffs_total{queue,result}`` (transferred, failed);
* ``ivr_outbox_backlog`` (writes waiting in the journal for the database).

Fed by the runtime's call listeners (:attr:`ivr.calls.runtime.Runtime.call_listeners`): the
events calls already emit, so nothing in a call waits on metrics. Labels hold codes, never a
caller's data. Each :class:`Metrics` has its own registry (several apps in one test process).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sized

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["Metrics", "metrics_allowed", "CONTENT_TYPE"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: noise here
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.in_progress = Gauge("ivr_calls_in_progress", "Calls being served now.", registry=r)
        self.calls = Counter("ivr_calls", "Calls ended, by end reason.", ["reason"], registry=r)
        self.duration = Histogram("ivr_call_duration_seconds", "Call length with the IVR.",
                                  buckets=(10, 30, 60, 120, 180, 300, 600, 1200), registry=r)
        self.turns = Counter("ivr_turns", "Caller turns, by kind (speech, keys, noinput).", ["kind"], registry=r)
        self.recognitions = Counter("ivr_recognitions", "Spoken turns recognised, by result (intent, no_intent).",
                                    ["result"], registry=r)
        self.confidence = Histogram("ivr_recognition_confidence", "Confidence of recognised turns.",
                                    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0), registry=r)
        self.asr = Histogram("ivr_asr_seconds", "Recognition time of a spoken turn.", buckets=_LATENCY, registry=r)
        self.reply = Histogram("ivr_reply_seconds", "End of the caller's turn to the first reply audio.",
                               buckets=_LATENCY, registry=r)
        self.handoffs = Counter("ivr_handoffs", "Transfers to agents, by queue and result.", ["queue", "result"],
                                registry=r)
        self.outbox = Gauge("ivr_outbox_backlog", "Writes journaled on disk, waiting for the database.", registry=r)
        self._started: dict[int, None] = {}

    # ------------------------------------------------------------------ wiring
    def watch(self, active_calls: Sized, outbox_backlog: Callable[[], int]) -> None:
        """Read the live figures when scraped: calls in progress, outbox backlog."""
        self.in_progress.set_function(lambda: float(len(active_calls)))
        self.outbox.set_function(lambda: float(outbox_backlog()))

    def listener(self, call: object, kind: str, data: dict[str, object]) -> None:
        """A call listener (:data:`ivr.calls.ports.CallListener`)."""
        if kind == "heard":
            self.turns.labels("speech").inc()
            self.recognitions.labels("intent" if data.get("intent") else "no_intent").inc()
            conf = data.get("confidence")
            if isinstance(conf, (int, float)):
                self.confidence.observe(float(conf))
            asr_ms = data.get("asr_ms")
            if isinstance(asr_ms, (int, float)):
                self.asr.observe(float(asr_ms) / 1000.0)
        elif kind == "pressed":
            self.turns.labels("keys").inc()
        elif kind == "noinput":
            self.turns.labels("noinput").inc()
        elif kind == "reply":
            ms = data.get("reply_ms")
            if isinstance(ms, (int, float)):
                self.reply.observe(float(ms) / 1000.0)
        elif kind == "transfer":
            self.handoffs.labels(_code(data.get("queue")), "transferred").inc()
        elif kind == "transfer_failed":
            self.handoffs.labels(_code(data.get("queue")), "failed").inc()
        elif kind == "call_ended":
            self.calls.labels(_code(data.get("reason"))).inc()
            seconds = data.get("seconds")
            if isinstance(seconds, (int, float)):
                self.duration.observe(float(seconds))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _code(value: object) -> str:
    """A label value: a short code (queue or reason names), never free text."""
    text = str(value or "none")
    return "".join(ch for ch in text if ch.isalnum() or ch in "_-")[:32] or "none"


def metrics_allowed(client_host: str | None, authorization: str | None, token: str | None) -> bool:
    """Who may scrape: with ``token`` set, a request bearing it; without, loopback clients only
    (a Prometheus on the same machine, or behind a reverse proxy that adds the token)."""
    import hmac

    if token:
        given = authorization[7:].strip() if authorization and authorization[:7].lower() == "bearer " else ""
        return bool(given) and hmac.compare_digest(given.encode(), token.encode())
    try:
        return client_host is not None and ipaddress.ip_address(client_host).is_loopback
    except ValueError:
        return False
