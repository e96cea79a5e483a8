"""Memory per idle session: FastAGI sessions (and AGI + AudioSocket channels) held open.

A separate process opens N connections that send the AGI env block and then stay silent
(Asterisk waiting in a call); the controller's handler waits for the hang-up. We measure the
controller process' RSS and its Python heap (tracemalloc) before and after, per session;
every measurement runs in a fresh process.
With ``--media`` each session also opens a CallChannel (EXEC AudioSocket -> connect -> idle).

    python bench/bench_telephony_memory.py [--sessions 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import statistics
import tracemalloc
import uuid

from telephony import AgiSession, AudioSocketServer, FastAgiServer
from telephony.audiosocket_codec import encode_uuid

ENV = (b"agi_network: yes\nagi_network_script: hotline\nagi_request: agi://127.0.0.1/hotline\n"
       b"agi_channel: PJSIP/bench-00000001\nagi_language: en\nagi_type: PJSIP\nagi_uniqueid: 1795829510.1\n"
       b"agi_version: 22.10.1\nagi_callerid: 081234567890\nagi_calleridname: unknown\nagi_context: hotline\n"
       b"agi_extension: s\nagi_priority: 4\nagi_accountcode: \nagi_threadid: 140428859901632\n\n")


def _clients(port: int, n: int, media: bool, ready, stop) -> None:
    async def one(keep: list):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(ENV)
        keep.append(w)
        if media:
            line = await r.readline()                      # EXEC AudioSocket <uuid>,<host:port>
            uid, _, addr = line.decode().split()[2].partition(",")
            host, _, p = addr.rpartition(":")
            r2, w2 = await asyncio.open_connection(host, int(p))
            w2.write(encode_uuid(uuid.UUID(uid)))
            keep.append(w2)

    async def main():
        keep: list = []
        for i in range(0, n, 100):
            await asyncio.gather(*(one(keep) for _ in range(min(100, n - i))))
        ready.set()
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        for w in keep:
            w.close()

    asyncio.run(main())


def rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


async def run(n: int, media: bool) -> tuple[float, float]:
    audio = AudioSocketServer(port=0)
    await audio.start()
    opened = 0
    all_open = asyncio.Event()

    async def handler(s: AgiSession) -> None:
        nonlocal opened
        ch = await audio.open_channel(s, timeout=30) if media else None
        opened += 1
        if opened == n:
            all_open.set()
        await s.hangup_event.wait()
        if ch is not None:
            await ch.closed.wait()

    srv = FastAgiServer(handler, port=0, max_connections=n + 10)
    await srv.start()
    gc.collect()
    tracemalloc.start()
    heap0, rss0 = tracemalloc.get_traced_memory()[0], rss_kb()
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    p = ctx.Process(target=_clients, args=(srv.port, n, media, ready, stop))
    p.start()
    await asyncio.wait_for(all_open.wait(), 120)
    await asyncio.sleep(0.5)
    gc.collect()
    heap1, rss1 = tracemalloc.get_traced_memory()[0], rss_kb()
    tracemalloc.stop()
    stop.set()
    await srv.close()
    await audio.close()
    p.join(30)
    return (heap1 - heap0) / n / 1024, (rss1 - rss0) / n


def _measure(n: int, media: bool, q) -> None:
    q.put(asyncio.run(run(n, media)))


def measure_fresh(n: int, media: bool) -> tuple[float, float]:
    """Each measurement in a fresh process, so RSS is not hidden by memory freed earlier."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_measure, args=(n, media, q))
    p.start()
    out = q.get(timeout=300)
    p.join(60)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    res: dict = {"bench": "telephony_memory", "sessions": a.sessions, "runs": a.runs, "target_kb": 50}
    for media in (False, True):
        heaps, rsss = [], []
        for i in range(a.runs):
            h, r = measure_fresh(a.sessions, media)
            heaps.append(h)
            rsss.append(r)
            print(f"{'AGI+AudioSocket' if media else 'AGI only'} run {i + 1}: python heap {h:.1f} KB/session, "
                  f"RSS {r:.1f} KB/session")
        key = "agi_audiosocket" if media else "agi"
        res[f"{key}_heap_kb_median"] = round(statistics.median(heaps), 1)
        res[f"{key}_rss_kb_median"] = round(statistics.median(rsss), 1)
    res["meets_target"] = max(res["agi_heap_kb_median"], res["agi_rss_kb_median"]) <= 50
    print(f"median per idle session: AGI {res['agi_heap_kb_median']} KB heap / {res['agi_rss_kb_median']} KB RSS; "
          f"AGI+AudioSocket {res['agi_audiosocket_heap_kb_median']} KB heap / "
          f"{res['agi_audiosocket_rss_kb_median']} KB RSS (target <= 50 KB)")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
