"""Replay an Asterisk 22 transcript against the simulated Asterisk.

The test plays *our* side of a recorded session (the FastAGI script and, for ``EXEC
AudioSocket``, the AudioSocket server) line by line in the recorded order, and checks that the
simulated Asterisk answers with the same lines. Values that depend on timing (``endpos`` of an
interrupted prompt, the milliseconds left after a silence-ended ``RECORD FILE``) are compared by
form; everything else must match exactly.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path

from telephony.audiosocket_codec import encode_frame
from telephony.peer import AsteriskPeer, CallResult

from .conftest import fixtures_dir, load_jsonl

EXACT_ENDPOS = {"200 result=0 endpos=11098", "200 result=-1 endpos=0"}
ENV_VALUE_KEYS = ["network", "network_script", "language", "callerid", "calleridname", "callingpres",
                  "callingani2", "callington", "callingtns", "dnid", "rdnis", "context", "extension",
                  "priority", "enhanced", "accountcode", "version"]


def norm(line: str) -> str:
    if line.rstrip("\n") in EXACT_ENDPOS:
        return line
    line = re.sub(r"endpos=\d+", "endpos=N", line)
    return re.sub(r"result=[1-9]\d* \(timeout\) endpos", "result=POS (timeout) endpos", line)


@dataclass
class AsOutcome:
    uuid: str
    frames_from_peer: int = 0
    bad_frames: int = 0
    ending: str = ""


@dataclass
class Replay:
    mismatches: list[str] = field(default_factory=list)
    env_order: list[str] = field(default_factory=list)
    raw_env: bytes = b""
    audiosockets: dict[str, AsOutcome] = field(default_factory=dict)
    result: CallResult | None = None
    lines_checked: int = 0


def _env(rows: list[dict]) -> dict[str, str]:
    env = {}
    for r in rows:
        d = r.get("data", "")
        if r.get("dir") == "ast->us" and d.startswith("agi_"):
            k, _, v = d.rstrip("\n").partition(": ")
            env[k[4:]] = v
    return env


def plain_close(rows: list[dict]) -> bool:
    """True if our side ended the AudioSocket with a bare close() (no 0x00, no FIN first)."""
    ours = [r for r in rows if r.get("dir") == "us->ast"]
    return bool(ours) and ours[-1].get("event") == "close" and not any(
        r.get("event") == "half_close" or r.get("data", {}).get("kind") in ("0x00", "0x01") for r in ours)


def _audiosocket_scripts() -> dict[str, list[dict]]:
    out = {}
    for p in sorted(fixtures_dir().glob("audiosocket-*.jsonl")):
        rows = load_jsonl(p.name)
        first = next((r for r in rows if r.get("dir") == "ast->us" and "data" in r), None)
        if first and first["data"]["kind"] == "0x01" and ("agi-exec" in p.name or "status" in p.name):
            out[first["data"]["payload_hex"]] = rows
    return out


async def _audiosocket_side(reader, writer, scripts, speed, rep: Replay) -> None:
    hdr = await reader.readexactly(19)
    assert hdr[:3] == b"\x01\x00\x10", hdr
    key = hdr[3:].hex()
    out = rep.audiosockets[key] = AsOutcome(key)
    rows = scripts[key]

    async def drain():
        try:
            while True:
                h = await reader.readexactly(3)
                n = int.from_bytes(h[1:], "big")
                await reader.readexactly(n)
                out.frames_from_peer += 1
                if h[0] != 0x10 or n != 320:
                    out.bad_frames += 1
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                out.ending = out.ending or "eof"
        except ConnectionResetError:
            out.ending = "reset"

    dr = asyncio.get_running_loop().create_task(drain())
    t0 = asyncio.get_running_loop().time()
    closing = False  # the recording ends with our bare close(): the peer is not expected to end it
    for r in rows:
        if r.get("dir") != "us->ast":
            continue
        await asyncio.sleep(max(0.0, t0 + r["t"] / speed - asyncio.get_running_loop().time()))
        if "data" in r:
            d = r["data"]
            writer.write(encode_frame(int(d["kind"], 16), bytes.fromhex(d["payload_hex"]).ljust(d["len"], b"\0")))
        elif r["event"] == "half_close":
            writer.write_eof()
        elif r["event"] == "close":
            closing = True
            break
    try:
        # the peer ends the session it was asked to end (0x00, half-close, a bad kind): the bound
        # only stops a failing test, so it allows a loaded machine's delay
        await asyncio.wait_for(dr, 3.0 if closing else 30.0)
    except asyncio.TimeoutError:
        out.ending = "open"
    writer.close()


async def replay_agi(name: str, sounds_dir: Path, tmp_path: Path, script: list, speed: float = 6.0) -> Replay:
    rows = load_jsonl(name)
    env = _env(rows)
    rep = Replay()
    scripts = _audiosocket_scripts()
    as_tasks: list[asyncio.Task] = []
    (tmp_path / "ivr").mkdir(exist_ok=True)

    async def on_audiosocket(reader, writer):
        as_tasks.append(asyncio.current_task())  # type: ignore[arg-type]
        await _audiosocket_side(reader, writer, scripts, speed, rep)

    as_server = await asyncio.start_server(on_audiosocket, "127.0.0.1", 0)
    as_addr = f"127.0.0.1:{as_server.sockets[0].getsockname()[1]}"
    done = asyncio.get_running_loop().create_future()

    async def on_agi(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            raw = b""
            while True:
                line = await asyncio.wait_for(reader.readline(), 10)
                raw += line
                if line == b"\n":
                    break
                rep.env_order.append(line.decode().split(":", 1)[0][4:])
            rep.raw_env = raw
            last_cmd = ""
            body = [r for r in rows if not (r.get("dir") == "ast->us" and
                                            (r.get("data", "").startswith("agi_") or r.get("data") == "\n"))
                    and r.get("event") != "connected"]
            for r in body:
                if r.get("dir") == "us->ast" and "data" in r:
                    last_cmd = r["data"]
                    cmd = r["data"].replace("127.0.0.1:9092", as_addr)
                    cmd = cmd.replace("/opt/asterisk/var/spool/asterisk/ivr/", f"{tmp_path}/ivr/")
                    writer.write(cmd.encode())
                elif r.get("dir") == "ast->us" and "data" in r:
                    got = (await asyncio.wait_for(reader.readline(), 15)).decode()
                    rep.lines_checked += 1
                    if (got in ("200 result=0\n", "200 result=-1\n") and last_cmd.startswith("EXEC AudioSocket")
                            and plain_close(scripts.get(last_cmd.split()[2].split(",")[0].replace("-", ""), []))):
                        # A bare close() while Asterisk is still writing may RST the socket, and
                        # then Asterisk reports -1 (seen once on the real box, see the README).
                        continue
                    if norm(got) != norm(r["data"]):
                        rep.mismatches.append(f"expected {r['data']!r}, got {got!r}")
                elif r.get("event") == "half_close":
                    writer.write_eof()
                elif r.get("event") == "close":
                    writer.close()
                    break
                elif r.get("event") == "eof" and r["dir"] == "ast->us":
                    rest = await asyncio.wait_for(reader.read(), 30)
                    if rest:
                        rep.mismatches.append(f"expected EOF, got {rest!r}")
        except Exception as exc:  # surface harness failures as mismatches
            rep.mismatches.append(f"harness: {exc!r}")
        finally:
            writer.close()
            if not done.done():
                done.set_result(None)

    agi_server = await asyncio.start_server(on_agi, "127.0.0.1", 0)
    peer = AsteriskPeer("127.0.0.1", agi_server.sockets[0].getsockname()[1], sounds_dir, tmp_path,
                        script=env["network_script"], context=env["context"])
    args = [env[k] for k in sorted((k for k in env if k.startswith("arg_")), key=lambda k: int(k[4:]))]
    try:
        rep.result = await asyncio.wait_for(peer.place_call(
            script, caller_id=env["callerid"], caller_name=env["calleridname"], args=args, realtime=speed,
            variables={"CALL_ID": env["uniqueid"].removesuffix("-ivr")}, channel=env["channel"],
            max_seconds=30), 60)
        await asyncio.wait_for(done, 10)
    finally:
        agi_server.close()
        as_server.close()
        for t in as_tasks:
            t.cancel()
    # the environment block: same keys in the same order, same values where not host-specific
    expected_order = [r["data"].split(":", 1)[0][4:] for r in rows
                      if r.get("dir") == "ast->us" and r.get("data", "").startswith("agi_")]
    if rep.env_order != expected_order:
        rep.mismatches.append(f"env order {rep.env_order} != {expected_order}")
    got_env = dict(line.split(": ", 1) for line in rep.raw_env.decode().splitlines() if line)
    for k in ENV_VALUE_KEYS:
        if got_env.get("agi_" + k) != env.get(k):
            rep.mismatches.append(f"env {k}: {got_env.get('agi_' + k)!r} != {env.get(k)!r}")
    return rep
