"""`ivr call` against a running hotline (--controller) and its error handling; `ivr serve`'s
command line. The call goes through the real controller, store and prompt cache."""

from __future__ import annotations

import asyncio
import json
import wave

from typer.testing import CliRunner

from ivr.cli import app


async def test_ivr_call_against_a_running_controller(hotline, tmp_path):
    host, port = hotline.controller.agi_address
    out = tmp_path / "heard.wav"
    env = {"IVR_DATABASE_URL": hotline.store.url, "IVR_DATA_DIR": str(tmp_path / "cli"), "IVR_LOG_LEVEL": "WARNING"}
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke, app,
        ["call", "wait:1", "dtmf:1", "wait:0.5", "dtmf:2", "wait:3", "hangup", "--controller", f"{host}:{port}",
         "--json", "-o", str(out), "--fast", "--caller-id", "081200001111"],
        env=env)
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "call_started" and "call_ended" in kinds and kinds[-1] == "summary"
    assert [e["digits"] for e in events if e["event"] == "caller_keys"] == ["1", "2"]
    assert "hotline_audio" in kinds
    summary = events[-1]
    assert summary["ended_by"] == "caller_hangup"
    # what the hotline said, from its own records (this CLI shares its database)
    said = [t["text"] for t in summary["turns"] if t["who"] == "system"]
    assert any("Kartu Keluarga" in s for s in said)
    keys = [t for t in summary["turns"] if t["who"] == "caller"]
    assert [t["text"] for t in keys] == ["1", "2"] and all(t["reply_ms"] is not None for t in keys)
    with wave.open(str(out)) as w:
        assert w.getframerate() == 8000 and w.getnframes() > 800


def test_ivr_call_rejects_bad_steps_and_addresses():
    runner = CliRunner()
    r = runner.invoke(app, ["call", "dtmf:1x"])
    assert r.exit_code == 2 and "dtmf" in r.output
    r = runner.invoke(app, ["call", "missing.wav"])
    assert r.exit_code == 2 and "no such WAV" in r.output
    r = runner.invoke(app, ["call", "dtmf:1", "--controller", "nohost"])
    assert r.exit_code == 2 and "host:port" in r.output


def test_ivr_call_reports_a_hotline_that_is_not_there(tmp_path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = CliRunner().invoke(app, ["call", "dtmf:1", "--controller", f"127.0.0.1:{port}"],
                           env={"IVR_DATA_DIR": str(tmp_path)})
    assert r.exit_code == 1 and "no hotline answers" in r.output


def test_serve_and_call_are_registered():
    r = CliRunner().invoke(app, ["serve", "--help"])
    assert r.exit_code == 0 and "--agi-port" in r.output
    r = CliRunner().invoke(app, ["call", "--help"])
    assert r.exit_code == 0 and "--controller" in r.output
