"""Real calls while 2,000 hostile connections sit on the FastAGI port (issue #15 item 4).

Three processes, all started by this one before anything runs out of descriptors. The
controller is the real FastAgiServer + AudioSocketServer with a small handler: ANSWER, EXEC AudioSocket, a 0.3 s greeting, then for every key the caller
presses a 0.2 s reply, then it ends the call. The attacker keeps ``--hostile`` connections open
for the whole run, a third each of:

* ``silent``: a valid ``agi_*`` header, then nothing (never answers a command);
* ``half``: half a header, then nothing;
* ``slowloris``: the header one byte a second;

and reconnects every one the server closes. The caller (the simulated Asterisk) places
``--calls`` concurrent calls back to back, each pressing ``--keys`` keys, and times each reply
as the caller hears it: from sending the key to the first audio frame of the reply.

Printed per run: real calls completed / refused / failed, reply p50/p95/max (target p95 < 150
ms), hostile connections the server closed, and the controller's log (lines and bytes written
by the telephony servers during the run); medians over runs with min-max, and one JSON line.
``--nofile 1024`` starts the controller with that soft open-files limit (the common default;
``--no-raise`` keeps it there instead of raising it at start).

Runs against any checkout: the knobs the servers gained for this are only passed when asked
(``--command-timeout``), so ``PYTHONPATH=<old checkout> python bench/...`` measures the old code.

    python bench/bench_telephony_hostile.py [--hostile 2000] [--calls 20] [--keys 5] [--seconds 30]
                                            [--runs 3] [--nofile N] [--no-raise]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import math
import multiprocessing as mp
import resource
import statistics
import struct
import time
from typing import Any

from telephony import AgiSession, AudioSocketServer, CallChannel, FastAgiServer

ENV = (b"agi_network: yes\nagi_network_script: hotline\nagi_request: agi://127.0.0.1/hotline\n"
       b"agi_channel: PJSIP/hostile-00000001\nagi_language: en\nagi_type: PJSIP\nagi_uniqueid: 1795829510.1\n"
       b"agi_version: 22.10.1\nagi_callerid: 081234567890\nagi_calleridname: unknown\nagi_context: hotline\n"
       b"agi_extension: s\nagi_priority: 4\nagi_accountcode: \nagi_threadid: 140428859901632\n\n")


def _tone(seconds: float, freq: float, rate: int = 8000) -> bytes:
    n = int(seconds * rate)
    return struct.pack(f"<{n}h", *(int(6000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(n)))


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# -- the attacker (own process) -----------------------------------------------------------------
def _attacker(port: int, n: int, stop: Any, ready: Any, out: Any) -> None:
    _raise_nofile()
    kinds = ["silent", "half", "slowloris"]
    stats = {"opened": 0, "closed_by_server": 0, "connect_errors": 0}

    async def one(kind: str) -> None:
        while not stop.is_set():
            try:
                r, w = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                stats["connect_errors"] += 1
                await asyncio.sleep(0.5)
                continue
            stats["opened"] += 1
            reader = asyncio.ensure_future(_drain(r))
            try:
                if kind == "silent":
                    w.write(ENV)
                elif kind == "half":
                    w.write(ENV[:60])
                else:
                    for b in ENV[:-1]:
                        if reader.done() or stop.is_set():
                            break
                        w.write(bytes([b]))
                        await asyncio.wait({reader}, timeout=1.0)
                while not reader.done() and not stop.is_set():
                    await asyncio.wait({reader}, timeout=0.5)
                if reader.done():
                    stats["closed_by_server"] += 1
            except OSError:
                stats["closed_by_server"] += 1
            finally:
                reader.cancel()
                w.close()

    async def _drain(r: asyncio.StreamReader) -> None:
        try:
            while await r.read(65536):
                pass
        except OSError:
            pass

    async def main() -> None:
        tasks = []
        for i in range(n):
            tasks.append(asyncio.ensure_future(one(kinds[i % 3])))
            if i % 200 == 199:
                await asyncio.sleep(0.05)
        while stats["opened"] < n:
            await asyncio.sleep(0.05)
        ready.set()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, stop.wait)
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    out.put(stats)


# -- the callers (own process) --------------------------------------------------------------------
def _callers(port: int, calls: int, keys: int, seconds: float, out: Any) -> None:
    from telephony.peer import AsteriskPeer, Dtmf, Step, WaitForPrompt, WaitForSilence

    script: list[Step] = [WaitForPrompt(timeout=10), WaitForSilence(0.7, timeout=10)]
    for i in range(keys):
        script += [Dtmf(str(i % 10)), WaitForSilence(0.7, timeout=10)]

    async def main() -> dict[str, Any]:
        peer = AsteriskPeer("127.0.0.1", port)
        lat: list[float] = []
        res = {"completed": 0, "refused": 0, "failed": 0, "missing_replies": 0}
        end = time.monotonic() + seconds

        async def caller() -> None:
            while time.monotonic() < end:
                r = await peer.place_call(script, realtime=1.0, max_seconds=60)
                if r.ended_by == "agi_failed" or not r.commands:     # not connected, or closed at once
                    res["refused"] += 1
                    await asyncio.sleep(0.2)
                    continue
                sent = [e.t for e in r.events if e.kind == "dtmf_sent"]
                got = [next((t for t in r.heard_times if t > s), None) for s in sent]
                lat.extend(t - s for s, t in zip(sent, got) if t is not None)
                res["missing_replies"] += sum(1 for t in got if t is None)
                ok = r.ended_by == "agi_ended" and len(sent) == keys and None not in got
                res["completed" if ok else "failed"] += 1

        await asyncio.gather(*(caller() for _ in range(calls)))
        return {**res, "latencies": lat}

    out.put(asyncio.run(main()))


# -- the controller (own process) ----------------------------------------------------------------
class _LogMeter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines = 0
        self.bytes = 0
        self.samples: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        msg = self.format(record)
        self.lines += 1
        self.bytes += len(msg) + 1
        key = record.getMessage()[:60]
        self.samples[key] = self.samples.get(key, 0) + 1


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


async def _serve(a: argparse.Namespace, stop: Any, out: Any) -> None:
    greeting, reply = _tone(0.3, 440), _tone(0.2, 660)
    agi_kw: dict[str, Any] = {}
    as_kw: dict[str, Any] = {}
    if a.command_timeout is not None:
        agi_kw["command_timeout"] = a.command_timeout
    if "raise_open_files" in inspect.signature(FastAgiServer).parameters:
        agi_kw["raise_open_files"] = as_kw["raise_open_files"] = not a.no_raise
    meter = _LogMeter()
    meter.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(meter)
    root.setLevel(logging.INFO)
    audio = AudioSocketServer(port=0, **as_kw)
    await audio.start()

    async def handler(s: AgiSession) -> None:
        await s.answer()
        ch: CallChannel = await audio.open_channel(s, timeout=5)

        async def listen() -> None:          # a controller reads the caller's audio all along
            async for _ in ch.frames():
                pass

        listening = asyncio.ensure_future(listen())
        try:
            await ch.play(greeting)
            n = 0
            async for _ in ch.dtmf():
                await ch.play(reply)
                n += 1
                if n >= a.keys:
                    break
            await ch.close()
        finally:
            listening.cancel()

    srv = FastAgiServer(handler, port=0, **agi_kw)
    await srv.start()
    out.put({"port": srv.port, "soft_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0]})
    meter.lines = meter.bytes = 0
    meter.samples.clear()
    await asyncio.get_running_loop().run_in_executor(None, stop.wait)
    lines, nbytes, samples = meter.lines, meter.bytes, dict(meter.samples)
    root.removeHandler(meter)
    stats = {"log_lines": lines, "log_bytes": nbytes, "log_top": sorted(samples.items(), key=lambda kv: -kv[1])[:4],
             "sessions_reaped": getattr(srv, "sessions_reaped", None),
             "accept_errors": getattr(srv, "accept_errors", None)}
    await srv.close()
    await audio.close()
    out.put(stats)


def _controller(a: argparse.Namespace, stop: Any, out: Any) -> None:
    if a.nofile:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (a.nofile, hard))
    asyncio.run(_serve(a, stop, out))


def run_once(a: argparse.Namespace) -> dict[str, Any]:
    """One run; every process is started from here, before the controller runs out of anything."""
    ctx = mp.get_context("spawn")
    stop_ctl, stop, ready = ctx.Event(), ctx.Event(), ctx.Event()
    q_ctl, q_att, q_call = ctx.Queue(), ctx.Queue(), ctx.Queue()
    ctl = ctx.Process(target=_controller, args=(a, stop_ctl, q_ctl))
    ctl.start()
    info = q_ctl.get()
    port = info["port"]
    t0 = time.monotonic()
    att = ctx.Process(target=_attacker, args=(port, a.hostile, stop, ready, q_att))
    if a.hostile:
        att.start()
        if not ready.wait(120):
            print(f"the attacker did not get its {a.hostile} connections open within 120 s; calls start anyway")
    ramp = time.monotonic() - t0
    callers = ctx.Process(target=_callers, args=(port, a.calls, a.keys, a.seconds, q_call))
    callers.start()
    calls = q_call.get()
    callers.join()
    stop.set()
    attack: dict[str, int] = q_att.get() if a.hostile else {}
    if a.hostile:
        att.join()
    stop_ctl.set()
    stats = q_ctl.get()
    ctl.join()
    lat = calls.pop("latencies")
    return {**calls, **stats, "reply_p50_ms": pct(lat, 0.5) * 1000, "reply_p95_ms": pct(lat, 0.95) * 1000,
            "reply_max_ms": max(lat) * 1000 if lat else float("nan"), "replies": len(lat),
            "attack": attack, "ramp_s": ramp, "soft_limit": info["soft_limit"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hostile", type=int, default=2000)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--keys", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--nofile", type=int, default=0, help="soft open-files limit of the controller")
    ap.add_argument("--no-raise", action="store_true", help="do not raise the open-files limit at start")
    ap.add_argument("--command-timeout", type=float, default=None)
    a = ap.parse_args()
    runs = []
    for i in range(a.runs):
        r = run_once(a)                                   # a fresh controller process per run
        runs.append(r)
        print(f"run {i + 1}: calls completed {r['completed']}, refused {r['refused']}, failed {r['failed']}; "
              f"reply p50 {r['reply_p50_ms']:.0f} ms, p95 {r['reply_p95_ms']:.0f} ms, max {r['reply_max_ms']:.0f} ms "
              f"({r['replies']} replies); hostile opened {r['attack'].get('opened')}, closed by the server "
              f"{r['attack'].get('closed_by_server')}; log {r['log_lines']} lines / {r['log_bytes']} bytes; "
              f"accept errors {r['accept_errors']}")
        for msg, n in r["log_top"]:
            print(f"    {n:7d} x {msg}")

    def med(k: str) -> float:
        return float(statistics.median(float(r[k]) for r in runs))

    def spread(k: str) -> str:
        xs = [r[k] for r in runs]
        return f"{min(xs):.0f}-{max(xs):.0f}"

    res = {"bench": "telephony_hostile", "hostile": a.hostile, "calls": a.calls, "keys": a.keys,
           "seconds": a.seconds, "runs": a.runs, "nofile": a.nofile or None, "raise_open_files": not a.no_raise,
           "reply_p50_ms_median": round(med("reply_p50_ms"), 1), "reply_p95_ms_median": round(med("reply_p95_ms"), 1),
           "reply_p95_ms_spread": spread("reply_p95_ms"),
           "completed_median": med("completed"), "refused_median": med("refused"), "failed_median": med("failed"),
           "log_lines_median": med("log_lines"), "log_bytes_median": med("log_bytes"),
           "target_reply_p95_ms": 150}
    res["meets_target"] = res["reply_p95_ms_median"] < 150 and res["refused_median"] == 0 and res["failed_median"] == 0
    print(f"median of {a.runs}: reply p95 {res['reply_p95_ms_median']} ms ({res['reply_p95_ms_spread']}), "
          f"p50 {res['reply_p50_ms_median']} ms; calls completed {res['completed_median']}, refused "
          f"{res['refused_median']}, failed {res['failed_median']}; log {res['log_lines_median']} lines, "
          f"{res['log_bytes_median']} bytes")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
