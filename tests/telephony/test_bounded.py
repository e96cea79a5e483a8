"""Hostile or stalled peers cost a bounded time and a bounded log (issue #15, telephony items).

A FastAGI peer that sends its header and then nothing, an AudioSocket that never connects or
goes silent, an EXEC that never returns, a flood of keys nobody reads, a flood of broken
connections, a process out of file descriptors: each is closed after its deadline with a log
line (at most one per interval), and a real call waiting on a long prompt or recording is not
cut. Nothing here measures time; deadlines are set short and waits are for conditions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from telephony import AgiHangup, AgiSession, AudioSocketServer, CallChannel, ChannelClosed, FastAgiServer
from telephony.audiosocket_codec import encode_dtmf, encode_uuid
from telephony.limits import OpenFiles, connection_cap
from telephony.peer import AsteriskPeer, SayPcm, WaitForCommand
from tests.waiting import eventually

from .conftest import tone

ROOT = Path(__file__).resolve().parents[2]
ENV = (b"agi_network: yes\nagi_network_script: hotline\nagi_request: agi://127.0.0.1/hotline\n"
       b"agi_channel: PJSIP/hostile-00000001\nagi_uniqueid: 1795829510.1\nagi_callerid: 0811\n\n")


async def read_until_closed(r: asyncio.StreamReader) -> bytes:
    """Everything the server writes until it closes (a reset counts as closed)."""
    out = b""
    try:
        while chunk := await asyncio.wait_for(r.read(65536), 30):   # a bound for a failing test only
            out += chunk
    except ConnectionError:
        pass
    return out


async def test_a_session_that_sends_its_header_and_then_nothing_is_reaped(caplog):
    outcome: list[str] = []

    async def handler(s: AgiSession) -> None:
        try:
            await s.answer()
            outcome.append("answered")
        except AgiHangup as exc:
            outcome.append(str(exc))

    srv = FastAgiServer(handler, port=0, command_timeout=0.2)
    await srv.start()
    with caplog.at_level(logging.WARNING, logger="telephony.agi"):
        r, w = await asyncio.open_connection("127.0.0.1", srv.port)
        w.write(ENV)
        written = await read_until_closed(r)          # we never answer ANSWER
        w.close()
        await eventually(lambda: outcome and srv.active_sessions == 0, "the session reaped")
    await srv.close()
    assert written == b"ANSWER\n"
    assert outcome == ["no reply to ANSWER within 0.2 s"]
    assert srv.sessions_reaped == 1
    assert "no reply to ANSWER within 0.2 s" in caplog.text and "1795829510.1" in caplog.text


async def test_long_prompts_and_recordings_are_not_cut_by_the_command_deadline(sounds_dir, tmp_path):
    """Deadlines per command kind: STREAM FILE, RECORD FILE and WAIT FOR DIGIT outlast the
    control-command deadline (a real call waiting on them must not be cut)."""
    seen: dict[str, object] = {}

    async def handler(s: AgiSession) -> None:
        await s.answer()
        seen["stream"] = await s.stream_file("ivr/enter_digits")          # 1 s of prompt
        seen["record"] = await s.record_file(str(tmp_path / "rec"), timeout_ms=800)
        seen["digit"] = await s.wait_for_digit(700)
        seen["after"] = await s.get_variable("CALLERID(num)")

    # every other command must answer at once: the deadline of control commands is tiny
    srv = FastAgiServer(handler, port=0, command_timeout=0.001, timeout_margin=5.0,
                        command_timeouts={"ANSWER": None, "GET VARIABLE": None})
    await srv.start()
    res = await AsteriskPeer("127.0.0.1", srv.port, sounds_dir, tmp_path).place_call(
        [WaitForCommand("RECORD FILE"), SayPcm(tone(1.5, 200))], realtime=1.0)
    await srv.close()
    assert seen["stream"].endpos == 8000 and seen["stream"].result == 0      # type: ignore[attr-defined]
    assert seen["record"].data == "timeout" and seen["record"].endpos > 0    # type: ignore[attr-defined]
    assert seen["digit"].result == 0 and seen["after"] == "08123456789"      # type: ignore[attr-defined]
    assert srv.sessions_reaped == 0 and res.agi_status == "SUCCESS"


def test_deadlines_per_command_kind_are_configurable():
    d = FastAgiServer(lambda s: asyncio.sleep(0), command_timeout=3, media_timeout=100, timeout_margin=2,
                      command_timeouts={"stream file": None, "EXEC": 50}).deadlines
    assert d.for_command("ANSWER") == 3 and d.for_command("SET VARIABLE") == 3
    assert d.for_command("GET DATA") == 100 and d.for_command("SAY DIGITS") == 100
    assert d.for_command("STREAM FILE") is None and d.for_command("EXEC") == 50
    assert d.for_command("RECORD FILE", 30.0) == 32 and d.for_command("WAIT FOR DIGIT", 5.0) == 7
    assert d.for_command("RECORD FILE", None) == 100                  # no own timeout: the media one


async def _hostile_agi_for_audiosocket(port: int, *, connect: bool) -> tuple[list[bytes], bytes]:
    """Header, then: read EXEC AudioSocket; optionally connect and send the UUID; never reply."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(ENV)
    line = await asyncio.wait_for(r.readline(), 30)
    writers = [w]
    if connect:
        uid, _, addr = line.decode().split()[2].partition(",")
        host, _, p = addr.rpartition(":")
        r2, w2 = await asyncio.open_connection(host, int(p))
        w2.write(encode_uuid(uuid.UUID(uid)))
        writers.append(w2)
    rest = await read_until_closed(r)
    for x in writers:
        x.close()
    return [line], rest


async def test_an_audiosocket_that_never_connects_ends_the_agi_session(caplog):
    outcome: list[str] = []
    audio = AudioSocketServer(port=0, exec_timeout=0.1)
    await audio.start()

    async def handler(s: AgiSession) -> None:
        try:
            await audio.open_channel(s, timeout=0.2)
        except ChannelClosed as exc:
            outcome.append(f"media: {exc}")
        try:
            await s.set_variable("IVR_TRANSFER", "1")        # queued behind the pending EXEC
        except AgiHangup as exc:
            outcome.append(f"agi: {exc}")

    srv = FastAgiServer(handler, port=0)
    await srv.start()
    with caplog.at_level(logging.WARNING):
        lines, rest = await _hostile_agi_for_audiosocket(srv.port, connect=False)
        await eventually(lambda: len(outcome) == 2, "the handler saw both ends")
    await srv.close()
    await audio.close()
    assert lines[0].startswith(b"EXEC AudioSocket ") and rest == b""      # SET VARIABLE never went out
    assert outcome[0].startswith("media: Asterisk did not connect")
    assert outcome[1].startswith("agi: EXEC AudioSocket") and "neither connected nor returned" in outcome[1]
    assert "never connected" in caplog.text


async def test_an_exec_that_never_returns_after_the_media_ended_ends_the_agi_session():
    outcome: list[str] = []
    audio = AudioSocketServer(port=0, exec_timeout=0.1, keepalive=None)
    await audio.start()

    async def handler(s: AgiSession) -> None:
        ch = await audio.open_channel(s, timeout=30)           # the client connects at once: a bound only
        await ch.close(timeout=0.1)                           # 0x00 + half-close; Asterisk never answers
        try:
            await s.set_variable("IVR_TRANSFER", "1")
        except AgiHangup as exc:
            outcome.append(str(exc))

    srv = FastAgiServer(handler, port=0)
    await srv.start()
    await _hostile_agi_for_audiosocket(srv.port, connect=True)
    await eventually(lambda: outcome, "the handler's next command failed")
    await srv.close()
    await audio.close()
    assert "did not return within 0.1 s after the media ended" in outcome[0]


async def test_a_paired_audiosocket_that_goes_silent_is_closed(caplog):
    audio = AudioSocketServer(port=0, idle_timeout=0.2, keepalive=None)
    await audio.start()
    uid, fut = audio.expect()
    with caplog.at_level(logging.WARNING, logger="telephony.audiosocket"):
        r, w = await asyncio.open_connection("127.0.0.1", audio.port)
        w.write(encode_uuid(uid))
        ch: CallChannel = await asyncio.wait_for(fut, 30)
        await asyncio.wait_for(ch.closed.wait(), 30)
        written = await read_until_closed(r)
        w.close()
    await audio.close()
    assert ch.hung_up and isinstance(ch.error, ChannelClosed) and written == b""
    assert audio.connections_reaped == 1 and "nothing received" in caplog.text


async def test_a_burst_of_unread_keys_is_one_warning_with_a_count(caplog):
    audio = AudioSocketServer(port=0, keepalive=None)
    await audio.start()
    uid, fut = audio.expect()
    with caplog.at_level(logging.WARNING, logger="telephony.audiosocket"):
        r, w = await asyncio.open_connection("127.0.0.1", audio.port)
        w.write(encode_uuid(uid) + b"".join(encode_dtmf("0123456789"[i % 10]) for i in range(500)))
        ch: CallChannel = await asyncio.wait_for(fut, 30)
        await eventually(lambda: ch.dropped_digits == 436, "the burst arrived (nobody reads the keys)")
        w.close()
        await asyncio.wait_for(ch.closed.wait(), 30)
    await audio.close()
    lines = [rec.getMessage() for rec in caplog.records if "DTMF" in rec.getMessage()]
    assert len(lines) == 2, lines
    assert "dropped a digit" in lines[0] and "dropped 435 more digits" in lines[1]


async def test_a_flood_of_stalled_connections_logs_a_few_lines_not_one_each(caplog):
    async def handler(s: AgiSession) -> None:
        await s.answer()

    srv = FastAgiServer(handler, port=0, header_timeout=0.1, log_interval=3600)
    await srv.start()
    with caplog.at_level(logging.WARNING, logger="telephony.agi"):
        conns = [await asyncio.open_connection("127.0.0.1", srv.port) for _ in range(60)]
        for _, w in conns:
            w.write(b"agi_network: yes\n")                    # half a header, then silence
        await asyncio.gather(*(read_until_closed(r) for r, _ in conns))
        for _, w in conns:
            w.close()
    await srv.close()
    assert srv.sessions_reaped == 60
    lines = [rec for rec in caplog.records if "not complete after" in rec.getMessage()]
    assert len(lines) == 1


def test_the_connection_cap_follows_the_open_files_limit():
    assert connection_cap(5000, limit=OpenFiles(1024, 1024)) == (1024 - 256) // 2
    assert connection_cap(5000, limit=OpenFiles(1 << 20, 1 << 20)) == 5000
    assert connection_cap(5000, limit=OpenFiles(100, 100)) == 1
    assert connection_cap(300, fds_per_connection=1, reserve=0, limit=OpenFiles(1024, 4096)) == 300


SERVER = textwrap.dedent("""
    import asyncio, json, logging, resource, sys
    soft = int(sys.argv[1]); raise_it = sys.argv[2] == "raise"
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    records = []
    class Keep(logging.Handler):
        def emit(self, rec): records.append(rec.getMessage())
    logging.getLogger().addHandler(Keep()); logging.getLogger().setLevel(logging.INFO)
    from telephony import FastAgiServer

    async def main():
        served = []
        async def handler(s):
            served.append(await s.get_variable("X"))
        srv = FastAgiServer(handler, port=0, header_timeout=300, raise_open_files=raise_it,
                            reserve_fds=0, fds_per_session=0.25)
        await srv.start()
        print(json.dumps({"port": srv.port, "soft": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
                          "cap": srv.max_sessions}), flush=True)
        loop = asyncio.get_running_loop()
        while (await loop.run_in_executor(None, sys.stdin.readline)).strip() != "stop":
            pass
        await srv.close()
        print(json.dumps({"served": served, "accept_errors": srv.accept_errors, "log": records}), flush=True)
    asyncio.run(main())
""")


def _server(soft: int, mode: str) -> tuple[subprocess.Popen[str], dict[str, int]]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(soft), mode], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def _finish(proc: subprocess.Popen[str]) -> dict[str, object]:
    out, _ = proc.communicate("stop\n", timeout=60)
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.skipif(resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 4096, reason="hard open-files limit below 4096")
def test_the_open_files_limit_is_raised_at_start():
    proc, info = _server(512, "raise")
    _finish(proc)
    assert info["soft"] >= 4096 and info["soft"] > 512


async def test_running_out_of_descriptors_pauses_accepting_and_logs_once():
    """With 64 descriptors, 150 quiet connections exhaust the server; it logs the accept
    failures once (asyncio's own loop logged ~1,000 lines per tick) and serves a real call once
    the quiet ones are gone."""
    proc, info = await asyncio.to_thread(_server, 64, "keep")
    assert info["soft"] == 64
    conns = []
    for _ in range(150):                                   # the kernel's backlog takes them all
        r, w = await asyncio.open_connection("127.0.0.1", info["port"])
        w.write(b"agi_network: yes\n")
        conns.append((r, w))
    await asyncio.sleep(0)
    for _, w in conns:                                     # ... and they go away
        w.close()
    r, w = await asyncio.open_connection("127.0.0.1", info["port"])
    w.write(ENV)
    assert await asyncio.wait_for(r.readline(), 30) == b"GET VARIABLE X\n"
    w.write(b"200 result=1 (served)\n")
    await read_until_closed(r)
    w.close()
    out = await asyncio.to_thread(_finish, proc)
    log = [line for line in out["log"] if "accept" in line]   # type: ignore[union-attr]
    assert out["served"] == ["served"]
    assert out["accept_errors"] >= 1 and 1 <= len(log) <= 3, log
    assert not any("out of system resource" in line for line in log)
