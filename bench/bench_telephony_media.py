"""Added latency of the AudioSocket path at 100 concurrent streams, and the pacing of play().

A separate process plays Asterisk: 100 AudioSocket connections, each sending one 320-byte
slin frame every 20 ms (absolute schedule) and timing when the same frame comes back. The
controller is the real AudioSocketServer/CallChannel with an echo handler
(``async for f in ch.frames(): ch.send_frame(f)``), i.e. frame in -> handler -> frame out.
The headline "added" figure is measured inside the controller: from the moment the protocol
hands a frame to the CallChannel to the moment the handler has written it back (frame in ->
handler -> frame out), including event-loop scheduling. For context the fake Asterisk also
times the full round trip (two loopback TCP hops and its own overhead), and each run measures
a bare asyncio echo server the same way (on a shared 2-core box the OS scheduler dominates
round-trip p99).
(``play()`` is not used for the echo: it paces prompts on an absolute schedule, so relaying an
already real-time stream through it adds its schedule as buffering by design; live relays use
``send_frame``.)

Pacing (``--what pacing``; the timing the tests in tests/telephony/test_audiosocket_channel.py
do not assert, since they check order and content only): the real CallChannel in calls placed
by the simulated Asterisk (``--pacing-calls`` at once), each playing three prompts back to back
(0.5 + 0.3 + 0.2 s = 50 frames):

* gap between frame writes: median, p95, max (target 20 ms); ``ahead``: how far a frame was
  written before its slot start + i x 20 ms (never more than timer resolution); ``drift``: the
  last frame's write time minus its slot (the schedule is absolute, so late timers catch up);
  ``elapsed``: the three ``play()`` calls together (1.0 s of audio);
* ``stop_playback()``: delay until ``play()`` returns, and frames written after the stop (0);
* the idle keep-alive: gaps between silent frames on an idle channel (``keepalive`` 0.5 s;
  Asterisk ends AudioSocket after 2 s without traffic).

Prints per-run figures, medians with their spread (min-max over runs) and one JSON line.

    python bench/bench_telephony_media.py [--what all|echo|pacing] [--streams 100] [--seconds 10]
                                          [--runs 5] [--pacing-calls 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import statistics
import struct
import time
import uuid
from collections import deque

from telephony import AgiSession, AudioSocketServer, CallChannel, FastAgiServer
from telephony.audiosocket_codec import encode_audio, encode_uuid
from telephony.peer import AsteriskPeer


def _tone(seconds: float, freq: float, rate: int = 8000) -> bytes:
    import math

    n = int(seconds * rate)
    return struct.pack(f"<{n}h", *(int(6000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(n)))


def _uuid(i: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"bench-{i}")


def _asterisk(port: int, streams: int, seconds: float, q) -> None:
    async def one(i: int, t_start: float, lat: list[float]) -> None:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(encode_uuid(_uuid(i)))
        sent: dict[int, float] = {}
        loop = asyncio.get_running_loop()
        n = int(seconds / 0.02)

        async def reader():
            got = 0
            while got < n:
                hdr = await r.readexactly(3)
                payload = await r.readexactly(int.from_bytes(hdr[1:], "big"))
                seq = struct.unpack_from("<I", payload)[0]
                dt = time.perf_counter() - sent.pop(seq)
                if seq >= 25:          # skip the first 0.5 s (connection set-up, warm-up)
                    lat.append(dt)
                got += 1

        rt = loop.create_task(reader())
        for k in range(n):
            await asyncio.sleep(max(0.0, t_start + i * 0.0002 + k * 0.02 - loop.time()))
            sent[k] = time.perf_counter()
            w.write(encode_audio(struct.pack("<I", k) + bytes(316)))
        await asyncio.wait_for(rt, 10)
        w.close()

    async def main():
        lat: list[float] = []
        loop = asyncio.get_running_loop()
        t0 = loop.time() + 0.5
        await asyncio.gather(*(one(i, t0, lat) for i in range(streams)))
        q.put(lat)

    asyncio.run(main())


class _RawEcho(asyncio.Protocol):
    """Baseline: the cheapest possible asyncio echo (no codec, no channel), same machine."""

    def connection_made(self, t) -> None:
        self.t = t
        self.skip = 19                      # the UUID frame is not echoed

    def data_received(self, data: bytes) -> None:
        if self.skip:
            cut = min(self.skip, len(data))
            self.skip -= cut
            data = data[cut:]
        if data:
            self.t.write(data)


async def run_baseline(streams: int, seconds: float) -> list[float]:
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(_RawEcho, "127.0.0.1", 0)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_asterisk, args=(srv.sockets[0].getsockname()[1], streams, seconds, q))
    p.start()
    lat = await loop.run_in_executor(None, q.get)
    p.join(30)
    srv.close()
    return lat


_IN_TIMES: dict[int, deque] = {}


def _instrument() -> None:
    """Time-stamp each frame when the protocol hands it to the channel (frame in)."""
    orig = CallChannel._on_audio

    def on_audio(self, f):  # type: ignore[no-untyped-def]
        _IN_TIMES.setdefault(id(self), deque()).append(time.perf_counter())
        orig(self, f)

    CallChannel._on_audio = on_audio  # type: ignore[method-assign]


async def run(streams: int, seconds: float, paced: bool, inside: list[float] | None = None) -> list[float]:
    # streams relay continuously; idle keep-alive frames (no sequence number) are off here
    audio = AudioSocketServer(port=0, keepalive=None)
    await audio.start()
    futs = [audio.expect(_uuid(i))[1] for i in range(streams)]

    async def echo(ch: CallChannel) -> None:
        tin = _IN_TIMES.setdefault(id(ch), deque())
        n = 0
        async for f in ch.frames():
            t_in = tin.popleft() if tin else None
            if paced:
                await ch.play(f)
            else:
                ch.send_frame(f)
                n += 1
                if inside is not None and t_in is not None and n > 25:
                    inside.append(time.perf_counter() - t_in)     # frame in -> handler -> frame out

    async def serve():
        chans = await asyncio.gather(*futs)
        await asyncio.gather(*(echo(c) for c in chans))

    server_task = asyncio.ensure_future(serve())
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_asterisk, args=(audio.port, streams, seconds, q))
    p.start()
    loop = asyncio.get_running_loop()
    lat = await loop.run_in_executor(None, q.get)
    p.join(30)
    server_task.cancel()
    await audio.close()
    return lat


# -- pacing of play(), stop_playback() and the idle keep-alive ----------------------------------

async def _with_calls(n: int, media, keepalive: float | None = 0.5) -> None:
    """Place ``n`` simulated calls at once; ``media(channel)`` runs on each call's CallChannel."""
    audio = AudioSocketServer(port=0, keepalive=keepalive)
    await audio.start()

    async def handler(s: AgiSession) -> None:
        ch = await audio.open_channel(s)
        await media(ch)
        if not ch.closed.is_set():
            await ch.close()

    srv = FastAgiServer(handler, port=0)
    await srv.start()
    peer = AsteriskPeer("127.0.0.1", srv.port)
    await asyncio.gather(*(peer.place_call([], realtime=True, max_seconds=60) for _ in range(n)))
    await srv.close()
    await audio.close()


async def measure_pacing(calls: int) -> dict:
    prompts = [_tone(0.5, 440), _tone(0.3, 500), _tone(0.2, 600)]
    gaps: list[float] = []
    ahead: list[float] = []
    drift: list[float] = []
    elapsed: list[float] = []

    async def play(ch: CallChannel) -> None:
        loop = asyncio.get_running_loop()
        sent: list[float] = []
        send = ch._proto.send
        ch._proto.send = lambda data: (sent.append(loop.time()), send(data))  # type: ignore[method-assign]
        t = loop.time()
        for pcm in prompts:
            await ch.play(pcm)
        elapsed.append(loop.time() - t)
        gaps.extend(b - a for a, b in zip(sent, sent[1:]))
        ahead.append(max(sent[0] + i * 0.02 - x for i, x in enumerate(sent)))
        drift.append(sent[-1] - (sent[0] + (len(sent) - 1) * 0.02))

    await _with_calls(calls, play, keepalive=None)
    stop_delay: list[float] = []
    after_stop: list[int] = []

    async def stop(ch: CallChannel) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(ch.play(_tone(3.0, 440)))
        await asyncio.sleep(0.5)
        ch.stop_playback()
        n, t = ch.frames_sent, loop.time()
        await task
        stop_delay.append(loop.time() - t)
        await asyncio.sleep(0.3)
        after_stop.append(ch.frames_sent - n)

    await _with_calls(calls, stop)
    ka_gaps: list[float] = []

    async def idle(ch: CallChannel) -> None:
        loop = asyncio.get_running_loop()
        stamps: list[float] = []
        send = ch._proto.send
        ch._proto.send = lambda data: (stamps.append(loop.time()), send(data))  # type: ignore[method-assign]
        await asyncio.sleep(3.0)
        ka_gaps.extend(b - a for a, b in zip(stamps, stamps[1:]))

    await _with_calls(calls, idle)
    return {"gap_p50_ms": pct(gaps, 0.5) * 1000, "gap_p95_ms": pct(gaps, 0.95) * 1000, "gap_max_ms": max(gaps) * 1000,
            "ahead_max_ms": max(ahead) * 1000, "drift_max_ms": max(drift) * 1000, "elapsed_max_s": max(elapsed),
            "stop_return_max_ms": max(stop_delay) * 1000, "frames_after_stop_max": max(after_stop),
            "keepalive_gap_p50_s": pct(ka_gaps, 0.5), "keepalive_gap_max_s": max(ka_gaps)}


def run_pacing(runs: int, calls: int) -> dict:
    per_run = []
    for i in range(runs):
        m = asyncio.run(measure_pacing(calls))
        per_run.append(m)
        print(f"pacing run {i + 1} ({calls} call(s)): frame gap p50 {m['gap_p50_ms']:.2f} ms, p95 {m['gap_p95_ms']:.2f} ms, "
              f"max {m['gap_max_ms']:.2f} ms | ahead of slot max {m['ahead_max_ms']:.2f} ms | drift max "
              f"{m['drift_max_ms']:.2f} ms | 1.0 s of prompts took max {m['elapsed_max_s']:.3f} s | stop_playback "
              f"returns in max {m['stop_return_max_ms']:.2f} ms, frames after stop {m['frames_after_stop_max']} | "
              f"idle keep-alive gap p50 {m['keepalive_gap_p50_s']:.3f} s, max {m['keepalive_gap_max_s']:.3f} s")
    out: dict = {"pacing_calls": calls}
    for k in per_run[0]:
        xs = [m[k] for m in per_run]
        out[f"pacing_{k}_median"] = round(statistics.median(xs), 4)
        out[f"pacing_{k}_spread"] = [round(min(xs), 4), round(max(xs), 4)]
    print("pacing, median of runs (spread min-max): " + ", ".join(
        f"{k[len('pacing_'):-len('_median')]} {v} {out[k[:-len('_median')] + '_spread']}"
        for k, v in out.items() if k.endswith("_median")))
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def run_echo(a: argparse.Namespace) -> dict:
    _instrument()
    p50s, p99s, base99, base50, in50, in99 = [], [], [], [], [], []
    for i in range(a.runs):
        base = asyncio.run(run_baseline(a.streams, a.seconds))
        base50.append(pct(base, 0.5) * 1000)
        base99.append(pct(base, 0.99) * 1000)
        inside: list[float] = []
        lat = asyncio.run(run(a.streams, a.seconds, paced=False, inside=inside))
        p50s.append(pct(lat, 0.5) * 1000)
        p99s.append(pct(lat, 0.99) * 1000)
        in50.append(pct(inside, 0.5) * 1000)
        in99.append(pct(inside, 0.99) * 1000)
        over = sum(1 for x in inside if x > 0.002) / max(1, len(inside)) * 100
        print(f"run {i + 1}: in-process frame in->handler->out p50 {in50[-1]:.3f} ms, p99 {in99[-1]:.3f} ms "
              f"({len(inside)} frames, {over:.2f}% over 2 ms) | echo round trip p50 {p50s[-1]:.3f} ms, p99 {p99s[-1]:.3f} ms | "
              f"bare asyncio echo round trip p50 {base50[-1]:.3f} ms, p99 {base99[-1]:.3f} ms")
    res = {"streams": a.streams,
           "added_p50_ms_median": round(statistics.median(in50), 3),
           "added_p99_ms_median": round(statistics.median(in99), 3),
           "p50_ms_median": round(statistics.median(p50s), 3),
           "p99_ms_median": round(statistics.median(p99s), 3),
           "baseline_raw_echo_p50_ms": round(statistics.median(base50), 3),
           "baseline_raw_echo_p99_ms": round(statistics.median(base99), 3),
           "roundtrip_minus_bare_echo_p99_ms": round(statistics.median(p99s) - statistics.median(base99), 3),
           "target_p99_ms": 2.0, "meets_target": statistics.median(in99) <= 2.0}
    print(f"median of runs: added (in-process) p50 {res['added_p50_ms_median']} ms, p99 {res['added_p99_ms_median']} ms "
          f"(target p99 <= 2 ms); round trip p99 {res['p99_ms_median']} ms vs bare echo {res['baseline_raw_echo_p99_ms']} ms")
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--what", choices=("all", "echo", "pacing"), default="all")
    ap.add_argument("--pacing-calls", type=int, default=1)
    a = ap.parse_args()
    res: dict = {"bench": "telephony_media", "runs": a.runs}
    if a.what in ("all", "echo"):
        res.update(run_echo(a))
    if a.what in ("all", "pacing"):
        res.update(run_pacing(a.runs, a.pacing_calls))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
