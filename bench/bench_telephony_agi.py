"""AGI command round trips per second: one connection, and 500 concurrent sessions.

The controller side is the real FastAgiServer/AgiSession (``get_variable`` per round trip).
Asterisk's side is a minimal protocol-level client (env block, one ``200 result=1 (v)`` per
command line) running in a separate process, so its cost does not count against the server.
Prints figures per run, medians, and one final JSON line.

    python bench/bench_telephony_agi.py [--runs 3] [--single 20000] [--sessions 500] [--per-session 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import statistics
import time

from telephony import AgiSession, FastAgiServer

ENV = (b"agi_network: yes\nagi_network_script: hotline\nagi_request: agi://127.0.0.1/hotline\n"
       b"agi_channel: PJSIP/bench\nagi_uniqueid: bench\nagi_callerid: 0800\n\n")


class _FakeAsterisk(asyncio.BufferedProtocol):
    """Reads into a preallocated buffer: asyncio's plain ``data_received`` path allocates 256 KiB
    per read, whose cost depends on the process' malloc state (glibc's mmap threshold: 2 us or
    15 us per read depending on what the process imported before), which is not what we
    measure here."""

    def __init__(self, done: asyncio.Future) -> None:
        self.done = done
        self.buf = b""
        self.rbuf = memoryview(bytearray(65536))

    def connection_made(self, transport) -> None:
        self.t = transport
        transport.write(ENV)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.rbuf

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(self.rbuf[:nbytes].tobytes())

    def data_received(self, data: bytes) -> None:
        self.buf += data
        n = self.buf.count(b"\n")
        if n:
            self.buf = self.buf[self.buf.rfind(b"\n") + 1:]
            self.t.write(b"200 result=1 (value)\n" * n)

    def eof_received(self):
        self.t.write(b"HANGUP\n")
        return False

    def connection_lost(self, exc) -> None:
        if not self.done.done():
            self.done.set_result(None)


def _client(port: int, sessions: int) -> None:
    async def main():
        loop = asyncio.get_running_loop()
        futs = []
        for _ in range(sessions):
            f = loop.create_future()
            await loop.create_connection(lambda f=f: _FakeAsterisk(f), "127.0.0.1", port)
            futs.append(f)
        await asyncio.gather(*futs)
    asyncio.run(main())


async def run(sessions: int, per_session: int) -> float:
    started: list[float] = []
    finished = asyncio.Event()
    done_count = 0

    async def handler(s: AgiSession) -> None:
        nonlocal done_count
        if not started:
            started.append(time.perf_counter())
        for _ in range(per_session):
            await s.get_variable("X")
        done_count += 1
        if done_count == sessions:
            started.append(time.perf_counter())
            finished.set()

    srv = FastAgiServer(handler, port=0)
    await srv.start()
    proc = mp.get_context("spawn").Process(target=_client, args=(srv.port, sessions))
    proc.start()
    await asyncio.wait_for(finished.wait(), 600)
    elapsed = started[1] - started[0]
    await srv.close()
    proc.join(30)
    return sessions * per_session / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--single", type=int, default=20000)
    ap.add_argument("--sessions", type=int, default=500)
    ap.add_argument("--per-session", type=int, default=200)
    a = ap.parse_args()
    single, multi = [], []
    for i in range(a.runs):
        s = asyncio.run(run(1, a.single))
        m = asyncio.run(run(a.sessions, a.per_session))
        single.append(s)
        multi.append(m)
        print(f"run {i + 1}: one connection {s:,.0f} round trips/s; {a.sessions} sessions {m:,.0f} round trips/s")
    res = {"bench": "telephony_agi", "single_rps_median": round(statistics.median(single)),
           "concurrent_sessions": a.sessions, "concurrent_rps_median": round(statistics.median(multi)),
           "target_rps": 10000, "runs": a.runs,
           "meets_target": statistics.median(multi) >= 10000 and statistics.median(single) >= 10000}
    print(f"median: one connection {res['single_rps_median']:,} /s, {a.sessions} sessions "
          f"{res['concurrent_rps_median']:,} /s (target >= 10,000)")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
