"""`ivr serve`'s engine (ivr.serve.serve) on embedded defaults: it starts FastAGI, AudioSocket and
the web status page, takes a call, and on stop lets the live call finish before exiting."""

from __future__ import annotations

import asyncio
import gc

import httpx

from asr.whisper_model import default_cache_dir
from ivr.serve import ready_message, serve
from ivr.config.settings import load_settings
from telephony.peer import AsteriskPeer, Dtmf, Hangup, Silence, WaitForPrompt
from tests.waiting import eventually


async def test_serve_takes_calls_reports_status_and_drains_on_stop(tmp_path):
    settings = load_settings(data_dir=tmp_path / "var", agi_port=0, audiosocket_port=0, web_port=0,
                             office_hours="always", whisper_cache_dir=default_cache_dir(),
                             shutdown_grace_s=30, log_level="WARNING")
    stop = asyncio.Event()
    info: dict = {}
    ready = asyncio.Event()

    def on_ready(i: dict) -> None:
        info.update(i)
        ready.set()

    gc.unfreeze()
    server = asyncio.create_task(serve(settings, ready=on_ready, stop=stop, warm_up=False))
    done, _ = await asyncio.wait({server, asyncio.ensure_future(ready.wait())}, timeout=120,
                                 return_when=asyncio.FIRST_COMPLETED)
    assert ready.is_set(), server.exception() if server.done() else "serve did not start"
    # the start-up heap is out of the collector's view (short pauses of the loop under load)
    assert gc.get_freeze_count() > 10_000
    gc.unfreeze()
    assert info["prompts"] > 20
    host, port = info["agi"].rsplit(":", 1)
    assert host == "127.0.0.1"
    # the ready line gives what goes into the dialplan and where staff log in
    assert info["agi_url"] == f"agi://127.0.0.1:{port}/hotline"
    message = ready_message(info)
    assert f"AGI(agi://127.0.0.1:{port}/hotline)" in message
    assert f"http://{info['web']}/" in message
    # a fresh install: no admin yet, so a one-time link creates the first one
    assert info["staff_login"] is False and info["setup_url"].startswith(f"http://{info['web']}/setup/")
    assert info["setup_url"] in message and "first admin" in message
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"http://{info['web']}/status")).status_code == 401  # staff only
        # the link opens the form that creates the first admin, who is then logged in
        page = await client.get(info["setup_url"])
        assert page.status_code == 200 and 'id="setup"' in page.text
        pw = "kata-sandi-admin-1"
        r = await client.post(info["setup_url"], data={"username": "admin", "password": pw, "password2": pw})
        assert r.status_code == 303
        assert (await client.get(f"http://{info['web']}/api/me")).json()["role"] == "admin"
        peer = AsteriskPeer(host, int(port))
        live = peer.start_call([WaitForPrompt(), Silence(0.5), Dtmf("1"), Silence(1.0), Dtmf("9"), Silence(5),
                                Hangup()], realtime=True)

        async def live_calls() -> int:
            r = await client.get(f"http://{info['web']}/status")
            assert r.status_code == 200
            return r.json()["live_calls"]

        # the status page shows the call once it is live
        await eventually(live_calls, "/status to show the live call", interval=0.05)

        # so do the Prometheus metrics (loopback client): the call in progress, its key turns
        async def metric(line: str) -> bool:
            r = await client.get(f"http://{info['web']}/metrics")
            assert r.status_code == 200
            return line in r.text

        await eventually(lambda: metric("ivr_calls_in_progress 1.0"), "/metrics to show the live call")
        await eventually(lambda: metric('ivr_turns_total{kind="keys"} 2.0'), "/metrics to count both key turns")
    stop.set()  # like SIGTERM while a call is live
    res = await live.result()
    assert res.ended_by in ("agi_hangup", "caller_hangup")
    await asyncio.wait_for(server, 60)
    # the live call finished normally and is on record
    from ivr.storage import Store

    store = Store.from_settings(settings)
    try:
        calls = await store.calls.recent()
        assert len(calls) == 1 and calls[0].ended_at is not None
        full = await store.calls.get(calls[0].id)
        assert [t.text for t in full.turns if t.who == "caller"] == ["1", "9"]
    finally:
        await store.close()


def test_ready_message_says_how_to_log_in():
    info = {"startup_s": 3.2, "prompts": 120, "agi_url": "agi://127.0.0.1:4573/hotline",
            "audiosocket": "127.0.0.1:9092", "web_url": "http://127.0.0.1:8080/", "staff_login": False,
            "setup_url": "http://127.0.0.1:8080/setup/abc", "retired_tokens": False}
    message = ready_message(info)
    assert "AGI(agi://127.0.0.1:4573/hotline)" in message
    assert "http://127.0.0.1:8080/" in message and "http://127.0.0.1:8080/docs" in message
    assert "http://127.0.0.1:8080/setup/abc" in message and "ivr users add" in message
    with_admin = ready_message(dict(info, staff_login=True, setup_url=None))
    assert "setup" not in with_admin and "http://127.0.0.1:8080/login" in with_admin
    assert "IVR_ADMIN_TOKEN" not in with_admin
    assert "retired" in ready_message(dict(info, retired_tokens=True))
