"""Fault bench (issue #15): callback requests by keys through the Asterisk peer against a real
``ivr serve`` subprocess on PostgreSQL, while faults are injected.

Each scenario places ``--calls`` calls (``--parallel`` at a time; keys only: 0 for an agent ->
no agent (AMI, no queue member) -> 1 "call me back" -> 1 "this number") and injects one fault
while they run:

* ``baseline``: none;
* ``db_refusing``: the database refuses connections (a TCP proxy in front of PostgreSQL is
  stopped) from the first call on, and comes back after the calls;
* ``db_hanging``: the database accepts and never answers (the proxy forwards nothing);
* ``sigkill_restart``: the database is down, the controller is SIGKILLed in the middle of the
  calls and started again (the line must answer within 5 s of the restart);
* ``ami_drop``: the AMI server goes away (calls are queued without the agent check);
* ``audiosocket_reset``: the media connections of the live calls are reset (TCP RST) mid-call;
* ``peer_flood``: ``--flood`` FastAGI connections (2,000) that send a header and then nothing;
* ``disk_full``: both journals' directories are full disks (a filled 64 KiB tmpfs each; needs
  root) and the database is down during the calls (writes are held in memory).

Per scenario: calls answered (the caller heard audio), callbacks filed (the caller completed the
request) versus stored (in the database once it is back and every journal is replayed and
every interrupted call recovered), caller silence p95 and max (each key that expects a reply
to the first audio of the reply; seconds), recovery time (fault over -> ``/healthz`` ok with an
empty journal; restart -> FastAGI answers). Prints one line per scenario, then one JSON line.

Each run starts a fresh database and ``ivr serve`` and goes through every scenario; ``--runs``
runs (default 3) give each figure as a median with its spread (min-max). Also per run: seconds
from SIGTERM to the process's exit after the scenarios (the drain). The summary gives the
flood scenario's real-call reply p95 (target < 0.15 s) and the restart-in-outage answer time
(target < 5 s). Prints one JSON line per scenario and run, the table, then one JSON line.

    PYTHONPATH=. python bench/bench_faults.py [--runs 3] [--calls 8] [--parallel 4] [--flood 2000]
        [--only db_hanging,...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from telephony.peer import AmiServer, AsteriskPeer, Call, Dtmf, Hangup, Silence, WaitForPrompt, WaitForSilence  # noqa: E402
from tests.ivr.dbfaults import TcpProxy, fresh_database  # noqa: E402
from tests.ivr.serveproc import ServeProcess, free_port  # noqa: E402

SCENARIOS = ("baseline", "db_refusing", "db_hanging", "sigkill_restart", "ami_drop", "audiosocket_reset",
             "peer_flood", "disk_full")


def callback_steps(mark: Any = None) -> list[Any]:
    steps: list[Any] = [WaitForPrompt(), Dtmf("0"), WaitForSilence(1.0), Dtmf("1"), WaitForSilence(1.0)]
    if mark is not None:
        steps.append(Call(mark))
    steps += [Dtmf("1"), WaitForSilence(1.5), Silence(0.5), Hangup()]
    return steps


@dataclass
class Outcome:
    answered: bool = False
    completed: bool = False  # the caller pressed the last key of the request
    done: bool = False       # IVR_DONE=1
    transferred: bool = False
    silences: list[float] = field(default_factory=list)
    error: str | None = None


def silences_of(res: Any) -> list[float]:
    """Key press -> first audio of the reply (seconds) for each key the caller pressed."""
    keys = [f.t for f in res.frames if f.direction == "out" and f.kind == "dtmf"]
    heard = sorted(res.heard_times)
    out = []
    for k in keys:
        nxt = next((h for h in heard if h > k), None)
        if nxt is not None:
            out.append(nxt - k)
    return out


async def one_call(port: int, caller: str, mark: Any = None) -> Outcome:
    o = Outcome()
    pressed = {"n": 0}

    def last_key(_c: Any) -> None:
        pressed["n"] = 1
        if mark is not None:
            mark(_c)

    try:
        res = await AsteriskPeer("127.0.0.1", port).place_call(callback_steps(last_key), caller_id=caller,
                                                              realtime=3.0, max_seconds=120)
    except Exception as exc:
        o.error = type(exc).__name__
        return o
    o.answered = res.heard_seconds > 0.5
    sent_last = sum(1 for f in res.frames if f.direction == "out" and f.kind == "dtmf") >= 3
    o.completed = bool(pressed["n"]) and sent_last
    o.done = res.variables.get("IVR_DONE") == "1"
    o.transferred = res.transferred
    o.silences = silences_of(res)
    return o


async def run_calls(port: int, n: int, parallel: int, tag: int, mark: Any = None) -> list[Outcome]:
    sem = asyncio.Semaphore(parallel)

    async def go(i: int) -> Outcome:
        async with sem:
            return await one_call(port, f"0812{tag:02d}{i:06d}", mark)

    return list(await asyncio.gather(*(go(i) for i in range(n))))


def pctl(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))], 3)


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path, dbname: str) -> None:
        self.args = args
        self.work = work
        self.dbname = dbname
        self.proxy = TcpProxy.to_postgres()
        self.as_proxy: TcpProxy | None = None
        self.ami: AmiServer | None = None
        self.serve: ServeProcess | None = None

    def count_callbacks(self) -> int:
        from tests.ivr.dbfaults import PG_URL
        from sqlalchemy.engine import make_url

        url = make_url(PG_URL).set(database=self.dbname).set(drivername="postgresql+psycopg2")
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM tickets WHERE kind = 'callback'")).scalar() or 0)
        finally:
            engine.dispose()

    async def start_serve(self, name: str, env: dict[str, str] | None = None, preexec: Any = None) -> float:
        as_port = free_port()
        self.as_proxy = TcpProxy("127.0.0.1", as_port)
        await self.as_proxy.start()
        assert self.ami is not None
        base = {"IVR_AMI_URL": f"ami://ivr:ivrsecret@127.0.0.1:{self.ami.port}",
                "IVR_AUDIOSOCKET_ADVERTISE": f"127.0.0.1:{self.as_proxy.port}", "IVR_LOG_LEVEL": "WARNING"}
        self.serve = ServeProcess(self.work / name / "var", self.proxy.url(self.dbname), env={**base, **(env or {})},
                                  audiosocket_port=as_port)
        self.serve.quiet = preexec is not None
        t0 = _start(self.serve, preexec)
        t1 = await asyncio.to_thread(self.serve.wait_ready)
        return t1 - t0

    async def settle(self, timeout: float = 120.0) -> float | None:
        """Seconds until /healthz says ok with an empty journal."""
        assert self.serve is not None
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            try:
                h = await asyncio.to_thread(self.serve.health)
                if h["status"] == "ok" and h["outbox_backlog"] == 0:
                    return round(time.monotonic() - t0, 2)
            except Exception:
                pass
            await asyncio.sleep(0.2)
        return None


def _start(serve: ServeProcess, preexec: Any) -> float:
    if preexec is None:
        return serve.start()
    import subprocess

    real = subprocess.Popen

    def popen(*a: Any, **kw: Any) -> Any:
        kw["preexec_fn"] = preexec
        return real(*a, **kw)

    subprocess.Popen = popen  # type: ignore[misc]
    try:
        return serve.start()
    finally:
        subprocess.Popen = real  # type: ignore[misc]


async def scenario(b: Bench, name: str, tag: int) -> dict[str, Any]:
    a = b.args
    assert b.serve is not None
    before = b.count_callbacks()
    recovery: float | None = None
    restart_answer_s: float | None = None
    extra: dict[str, Any] = {}
    port = b.serve.agi_port
    if name == "baseline":
        outs = await run_calls(port, a.calls, a.parallel, tag)
    elif name == "db_refusing":
        await b.proxy.stop()
        outs = await run_calls(port, a.calls, a.parallel, tag)
        await b.proxy.start()
        recovery = await b.settle()
    elif name == "db_hanging":
        b.proxy.hang()
        outs = await run_calls(port, a.calls, a.parallel, tag)
        b.proxy.resume()
        recovery = await b.settle()
    elif name == "disk_full":
        await b.proxy.stop()
        outs = await run_calls(port, a.calls, a.parallel, tag)
        try:
            extra["held_writes"] = (await asyncio.to_thread(b.serve.health)).get("held_writes")
        except Exception:
            extra["held_writes"] = None
        await b.proxy.start()
        recovery = await b.settle()
    elif name == "ami_drop":
        assert b.ami is not None
        ami_port = b.ami.port
        await b.ami.close()
        outs = await run_calls(port, a.calls, a.parallel, tag)
        b.ami = AmiServer(port=ami_port, queues=("hotline",))
        await b.ami.start()
        # recovery: until the controller has logged in again (the next scenario's agent checks
        # would otherwise still find no AMI and queue every caller)
        t_back = time.monotonic()
        while time.monotonic() - t_back < 60 and not any(c.authed for c in list(b.ami._conns)):
            await asyncio.sleep(0.1)
        recovery = round(time.monotonic() - t_back, 2)
    elif name == "audiosocket_reset":
        assert b.as_proxy is not None
        proxy = b.as_proxy

        def reset(_c: Any) -> None:
            for w in list(proxy.writers):
                w.transport.abort()

        half = max(1, a.calls // 2)
        outs = await run_calls(port, half, a.parallel, tag, mark=reset)
        outs += await run_calls(port, a.calls - half, a.parallel, tag + 50)
        extra["reset_calls"] = half
    elif name == "peer_flood":
        writers = []
        for _ in range(a.flood):
            try:
                _r, w = await asyncio.open_connection("127.0.0.1", port)
                w.write(b"agi_network: yes\nagi_request: agi://x/hotline\nagi_channel: SIP/flood\n")
                writers.append(w)
            except OSError:
                break
        extra["flood_connections"] = len(writers)
        outs = await run_calls(port, a.calls, a.parallel, tag)
        for w in writers:
            w.transport.abort()
    elif name == "sigkill_restart":
        await b.proxy.stop()  # a crash during a database outage
        serve = b.serve
        killed: dict[str, float] = {}

        async def killer() -> None:
            await asyncio.sleep(a.kill_after_s)
            serve.kill()
            killed["at"] = time.monotonic()
            serve.start()
            t1 = await asyncio.to_thread(serve.wait_ready)
            killed["answer_s"] = t1 - killed["at"]

        k = asyncio.create_task(killer())
        first = await run_calls(port, a.calls, a.parallel, tag)
        await k
        restart_answer_s = round(killed["answer_s"], 2)
        second = await run_calls(port, a.calls, a.parallel, tag + 50)
        outs = first + second
        await b.proxy.start()
        recovery = await b.settle()
        extra["killed_mid_call"] = sum(1 for o in first if o.answered and not o.done)
    else:
        raise ValueError(name)
    if recovery is None:
        await b.settle()
    stored = b.count_callbacks() - before
    # filed: the caller pressed the last key and the controller took it (ended on purpose); after
    # a SIGKILL, a completed request counts even unconfirmed (the call journal has it). A caller
    # whose media was reset before the last key never made the request (the dialplan queues them)
    filed = sum(1 for o in outs if o.completed and (o.done or name == "sigkill_restart") and not o.transferred)
    silences = [s for o in outs for s in o.silences]
    return {
        "scenario": name, "calls": len(outs), "answered": sum(o.answered for o in outs),
        "ended_on_purpose": sum(o.done for o in outs), "transferred": sum(o.transferred for o in outs),
        "callbacks_filed": filed, "callbacks_stored": stored, "lost": max(0, filed - stored),
        "silence_p50_s": pctl(silences, 0.5), "silence_p95_s": pctl(silences, 0.95),
        "silence_max_s": round(max(silences), 3) if silences else None,
        "recovery_s": recovery, "restart_answer_s": restart_answer_s, **extra,
    }


#: per scenario, the figures summarised over runs (median and spread)
FIGURES = ("answered", "callbacks_filed", "callbacks_stored", "lost", "silence_p50_s", "silence_p95_s",
           "silence_max_s", "recovery_s", "restart_answer_s", "sigterm_exit_s")


def spread(values: list[Any]) -> dict[str, Any] | None:
    """Median, min and max of the runs' values (None values left out)."""
    xs = [v for v in values if v is not None]
    if not xs:
        return None
    return {"median": round(statistics.median(xs), 3), "min": min(xs), "max": max(xs), "n": len(xs)}


def summarise(runs: list[list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for run in runs:
        for r in run:
            s = out.setdefault(r["scenario"], {"calls": r["calls"], "values": {k: [] for k in FIGURES}})
            for k in FIGURES:
                s["values"][k].append(r.get(k))
    return {name: {"calls": s["calls"], **{k: spread(v) for k, v in s["values"].items()}} for name, s in out.items()}


def fmt(x: dict[str, Any] | None, unit: str = "") -> str:
    if x is None:
        return "-"
    med, lo, hi = x["median"], x["min"], x["max"]
    if lo == hi:
        return f"{med:g}{unit}"
    return f"{med:g}{unit} [{lo:g}-{hi:g}]"


def print_table(summary: dict[str, dict[str, Any]], runs: int) -> None:
    print(f"\nmedian [min-max] over {runs} run(s):", file=sys.stderr)
    head = ("scenario", "calls", "answered", "filed", "stored", "lost", "silence p50", "silence p95", "recovery",
            "restart answers")
    print(" | ".join(head), file=sys.stderr)
    for name, s in summary.items():
        row = (name, str(s["calls"]), fmt(s["answered"]), fmt(s["callbacks_filed"]), fmt(s["callbacks_stored"]),
               fmt(s["lost"]), fmt(s["silence_p50_s"], " s"), fmt(s["silence_p95_s"], " s"),
               fmt(s["recovery_s"], " s"), fmt(s["restart_answer_s"], " s"))
        print(" | ".join(row), file=sys.stderr)


def raise_open_files() -> int:
    """The flood needs a socket per hostile connection on the bench's side too."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def one_run(a: argparse.Namespace, names: list[str], run_no: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with fresh_database("bench_faults") as dbname:
        b = Bench(a, a.work / f"run-{os.getpid()}-{run_no}", dbname)
        await b.proxy.start()
        b.ami = AmiServer(queues=("hotline",))
        await b.ami.start()
        main_names = [n for n in names if n != "disk_full"]
        try:
            if main_names:
                start_s = await b.start_serve("main")
                print(f"run {run_no}: ivr serve ready in {start_s:.1f} s", file=sys.stderr)
                for i, name in enumerate(main_names):
                    r = await scenario(b, name, i + 10)
                    r["run"] = run_no
                    results.append(r)
                    print(json.dumps(r), flush=True)
                assert b.serve is not None
                exit_s = await sigterm_exit(b.serve)
                print(f"run {run_no}: SIGTERM -> exit in {exit_s} s", file=sys.stderr)
                for r in results:
                    r["sigterm_exit_s"] = exit_s
            if "disk_full" in names:
                if b.serve is not None:
                    b.serve.kill()
                try:
                    with full_disks(b.work / "diskfull" / "var", ("outbox", "calls")) as fill:
                        await b.start_serve("diskfull")
                        fill()
                        r = await scenario_disk_full(b)
                except Exception as exc:  # reported, the other runs go on
                    print(f"run {run_no}: disk_full failed: {exc!r}", file=sys.stderr)
                else:
                    r["run"] = run_no
                    results.append(r)
                    print(json.dumps(r), flush=True)
        finally:
            if b.serve is not None:
                b.serve.kill()
            if b.ami is not None:
                await b.ami.close()
            if b.proxy.server is not None:
                await b.proxy.stop()
    return results


async def sigterm_exit(serve: ServeProcess, timeout: float = 120.0) -> float | None:
    """Seconds from SIGTERM to the process's exit (None: still running after ``timeout``)."""
    t = time.monotonic()
    try:
        await asyncio.to_thread(serve.terminate, timeout)
    except Exception:
        return None
    return round(time.monotonic() - t, 2)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="whole runs (a fresh ivr serve and database each)")
    ap.add_argument("--calls", type=int, default=8, help="calls per scenario")
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--flood", type=int, default=2000, help="hostile FastAGI connections in peer_flood")
    ap.add_argument("--kill-after-s", type=float, default=6.0)
    ap.add_argument("--only", default="")
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench-faults"))
    a = ap.parse_args()
    names = [n for n in SCENARIOS if not a.only or n in a.only.split(",")]
    a.work.mkdir(parents=True, exist_ok=True)
    nofile = raise_open_files()
    load0 = os.getloadavg()
    runs = []
    for run_no in range(1, a.runs + 1):
        runs.append(await one_run(a, names, run_no))
    load1 = os.getloadavg()
    summary = summarise(runs)
    print_table(summary, a.runs)
    flood = summary.get("peer_flood")
    restart = summary.get("sigkill_restart")
    out = {
        "bench": "faults", "runs": a.runs, "calls_per_scenario": a.calls, "parallel": a.parallel,
        "flood_connections": a.flood, "bench_open_files": nofile,
        "load_before": [round(x, 2) for x in load0], "load_after": [round(x, 2) for x in load1],
        "lost_total": sum(r["lost"] for run in runs for r in run),
        "worst_silence_db_fault_s": max([r["silence_max_s"] or 0 for run in runs for r in run
                                         if r["scenario"] in ("db_refusing", "db_hanging")] or [0]),
        "flood_reply_p95_s": flood["silence_p95_s"] if flood else None,
        "restart_answer_s": restart["restart_answer_s"] if restart else None,
        "sigterm_exit_s": spread([run[0].get("sigterm_exit_s") for run in runs if run]),
        "summary": summary,
    }
    print(json.dumps(out))


@contextlib.contextmanager
def full_disks(data_dir: Path, subdirs: tuple[str, ...]) -> Iterator[Callable[[], None]]:
    """A 64 KiB tmpfs on each journal directory of ``data_dir`` (root only); yields a function
    that fills them up (called once the controller has started: it needs its lock files)."""
    mounted = []
    try:
        for sub in subdirs:
            d = data_dir / sub
            d.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(d)], check=True)
            mounted.append(d)

        def fill() -> None:
            for d in mounted:
                with open(d / "filler", "ab", buffering=0) as f:
                    try:
                        while True:
                            f.write(b"\0" * 512)
                    except OSError:
                        pass

        yield fill
    finally:
        for d in mounted:
            subprocess.run(["umount", "-l", str(d)], check=False)


async def scenario_disk_full(b: Bench) -> dict[str, Any]:
    """Both journals' disks are full (a filled tmpfs each) and the database is down:
    the writes are held in memory and reach the database once it is back."""
    r = await scenario(b, "disk_full", 90)
    return r


if __name__ == "__main__":
    asyncio.run(main())
