"""Prometheus metrics at /metrics: fed by the calls' events, readable from loopback (or with
the metrics token), refused to anyone else, free of callers' data."""

from __future__ import annotations

import httpx
import pytest

from ivr.config.settings import load_settings
from ivr.observability import Metrics
from ivr.storage import Store
from ivr.web import create_app


@pytest.fixture
async def app(tmp_path, monkeypatch):
    monkeypatch.delenv("IVR_CONFIG_FILE", raising=False)
    settings = load_settings(data_dir=tmp_path / "data")
    store = Store.from_settings(settings)
    await store.amigrate()
    app = create_app(settings, store)
    yield app
    await store.close()


def _client(app, host: str = "127.0.0.1", **kw) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(host, 40000)), base_url="http://t", **kw)


def _value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{") and line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics:\n{text}")


async def test_call_events_become_metrics(app):
    m = Metrics()
    live: set[object] = {object(), object()}
    m.watch(live, lambda: 3)
    app.state.metrics = m
    call = object()
    m.listener(call, "call_started", {"caller": "081234567890"})
    m.listener(call, "heard", {"text": "nik saya 3174012345670001", "intent": "cek_ktp", "confidence": 0.82,
                               "asr_ms": 420.0, "state": "menu"})
    m.listener(call, "heard", {"text": "eh", "intent": None, "confidence": 0.2, "asr_ms": 300.0})
    m.listener(call, "pressed", {"digits": "1"})
    m.listener(call, "noinput", {"waited_s": 5})
    m.listener(call, "reply", {"reply_ms": 650.0, "text": "Baik"})
    m.listener(call, "transfer", {"queue": "kependudukan", "call_id": "x"})
    m.listener(call, "transfer_failed", {"queue": "pajak", "reason": "no agents"})
    m.listener(call, "call_ended", {"reason": "transferred", "turns": 4, "seconds": 75.0})
    async with _client(app) as c:
        r = await c.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    t = r.text
    assert _value(t, "ivr_calls_in_progress") == 2
    assert _value(t, "ivr_outbox_backlog") == 3
    assert 'ivr_turns_total{kind="speech"} 2.0' in t and 'ivr_turns_total{kind="keys"} 1.0' in t
    assert 'ivr_turns_total{kind="noinput"} 1.0' in t
    assert 'ivr_recognitions_total{result="intent"} 1.0' in t and 'ivr_recognitions_total{result="no_intent"} 1.0' in t
    assert 'ivr_handoffs_total{queue="kependudukan",result="transferred"} 1.0' in t
    assert 'ivr_handoffs_total{queue="pajak",result="failed"} 1.0' in t
    assert 'ivr_calls_total{reason="transferred"} 1.0' in t
    assert _value(t, "ivr_asr_seconds_count") == 2 and _value(t, "ivr_reply_seconds_count") == 1
    assert 'ivr_reply_seconds_bucket{le="0.75"} 1.0' in t
    assert "3174012345670001" not in t and "081234567890" not in t and "Baik" not in t


async def test_metrics_refused_to_remote_clients(app):
    async with _client(app, host="192.0.2.7") as c:
        assert (await c.get("/metrics")).status_code == 403
    async with _client(app) as c:
        r = await c.get("/metrics")
        assert r.status_code == 200 and "ivr_outbox_backlog 0.0" in r.text


async def test_metrics_token_required_when_set(tmp_path, monkeypatch):
    monkeypatch.delenv("IVR_CONFIG_FILE", raising=False)
    settings = load_settings(data_dir=tmp_path / "data", metrics_token="scrape-me")
    store = Store.from_settings(settings)
    await store.amigrate()
    try:
        app = create_app(settings, store)
        async with _client(app) as c:
            assert (await c.get("/metrics")).status_code == 403          # loopback is not enough now
            assert (await c.get("/metrics", headers={"Authorization": "Bearer nope"})).status_code == 403
        async with _client(app, host="192.0.2.7", headers={"Authorization": "Bearer scrape-me"}) as c:
            assert (await c.get("/metrics")).status_code == 200
    finally:
        await store.close()
