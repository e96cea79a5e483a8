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
    assert summary["ended_by"] == "caller_hangup" and summary["error"] is None
    assert summary["view"] == "caller_side"
    # what the hotline said, from its own records (this CLI shares its database)
    said = [t["text"] for t in summary["turns"] if t["who"] == "system"]
    # the (20x fast) caller hung up 0.15 s into the KK answer: it is not on record as said
    # in full (prompts are stored as far as they were played, issue 16.6)
    assert not any("Kartu Keluarga" in s and not s.endswith(" …") for s in said), said
    keys = [t for t in summary["turns"] if t["who"] == "caller"]
    assert [t["text"] for t in keys] == ["1", "2"] and all(t["reply_ms"] is not None for t in keys)
    # the caller's side cannot know which intent the hotline chose: no turn claims one
    assert all("intent" not in t for t in summary["turns"])
    with wave.open(str(out)) as w:
        assert w.getframerate() == 8000 and w.getnframes() > 800


async def test_controller_mode_does_not_print_intents_it_cannot_know(hotline, caller_speech, tmp_path):
    """Against a running hotline the CLI is in Asterisk's place: it shows what was said and heard
    (the hotline's records, with the recognition confidence) and says that the intent is not
    visible, instead of printing the recognizer's reading as if the hotline had acted on it."""
    from telephony.peer.audio import write_wav

    speech = tmp_path / "emas.wav"
    write_wav(speech, caller_speech("berapa harga emas hari ini", 1))
    host, port = hotline.controller.agi_address
    env = {"IVR_DATABASE_URL": hotline.store.url, "IVR_DATA_DIR": str(tmp_path / "cli"), "IVR_LOG_LEVEL": "WARNING"}
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["call", "wait:1", str(speech), "wait:6", "hangup", "--controller", f"{host}:{port}"],
        env=env)
    assert result.exit_code == 0, result.output
    out = result.stdout
    heard = [d for d in hotline.by_kind("heard")]
    assert heard, out  # the hotline did hear the caller
    spoken = [line for line in out.splitlines() if line.strip().startswith("caller :") and "[recognised" in line]
    assert spoken, out
    assert any(f"confidence {float(d['confidence'] or 0):.2f}" in line for d in heard for line in spoken), out
    assert "[intent" not in out, out
    assert "intents: not visible from the caller's side" in out


async def test_ivr_call_fails_when_the_hotline_refuses_the_call(hotline, tmp_path):
    hotline.runtime.accepting = False  # as while `ivr serve` shuts down
    host, port = hotline.controller.agi_address
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["call", "wait:1", "dtmf:1", "wait:1", "--controller", f"{host}:{port}", "--fast"],
        env={"IVR_DATA_DIR": str(tmp_path / "cli"), "IVR_LOG_LEVEL": "WARNING"})
    assert hotline.controller.calls_refused == 1
    assert result.exit_code == 1, result.output
    assert "did not take the call" in result.output and "without a single command" in result.output


def test_ivr_call_fails_when_what_answers_is_not_a_hotline(tmp_path):
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(10)
    port = srv.getsockname()[1]

    def answer_and_hang_up() -> None:
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        with conn:
            conn.recv(4096)  # the AGI environment, then nothing

    th = threading.Thread(target=answer_and_hang_up)
    th.start()
    try:
        r = CliRunner().invoke(app, ["call", "wait:1", "dtmf:1", "--controller", f"127.0.0.1:{port}", "--fast", "--json"],
                               env={"IVR_DATA_DIR": str(tmp_path)})
    finally:
        th.join(15)
        srv.close()
    assert r.exit_code == 1, r.output
    assert f"the hotline at 127.0.0.1:{port} did not take the call" in r.output
    summary = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")][-1]
    assert summary["event"] == "summary" and "did not take the call" in summary["error"]


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
