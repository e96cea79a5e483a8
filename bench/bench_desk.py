"""The live desk under load: screen-pop latency from AgentConnect, wallboard update latency and
memory per connected desk, with 50 agent desks and a wallboard connected (server-sent events)
while 200 keypad calls run through the hotline.

    python bench/bench_desk.py                   # 50 desks, 200 keypad calls, 200 pops, 3 rounds
    python bench/bench_desk.py --desks 50 --calls 200 --pops 200 --rounds 3

Everything is real: the hotline's controller and dialog engine (as bench_calls.py builds it),
the Asterisk peer's AMI server (queue with 50 members, AgentConnect/AgentComplete), the desk
(:class:`ivr.desk.Desk`) and the web app under uvicorn in the hotline's process, as
``ivr serve`` runs them. The browsers are 51 SSE connections (httpx) in a child process, and the
keypad callers a simulated Asterisk in another, so the hotline's process is measured alone.

* pop latency: AgentConnect written by the AMI server -> the pop event read by the agent's
  desk (both clocks are this machine's wall clock);
* wallboard latency: the same AgentConnect -> the first wallboard ``board`` event showing that
  agent in a call;
* memory per desk: the hotline process' RSS with the 51 connections open minus before, / 51;
* keypad reply latency (last key -> first reply byte) with and without the desks, to show the
  desk does not slow calls.

Prints medians (with the spread over rounds) and one final JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_calls import Sampler, build, pct, remote_calls, rss_mb, turns_of  # noqa: E402


async def keypad(rt, peer, n: int, seen: set[str]) -> dict:
    """bench_calls.keypad, reading the turns again when a loaded machine's write timeouts have
    marked the store unavailable for a moment (the figures come from the stored turns)."""
    from ivr.storage import StoreUnavailable
    from telephony.peer import Dtmf, Hangup, Silence, WaitForPrompt

    steps = [WaitForPrompt(), Silence(0.6), Dtmf("1"), Silence(0.8), Dtmf("1"), Silence(0.8), Dtmf("9"),
             Silence(2.0), Hangup()]
    with Sampler() as s:
        results, _ = await remote_calls(peer.agi_port, [steps] * n, [f"0812{i:08d}" for i in range(n)])
        await asyncio.sleep(0.5)
    for attempt in range(30):
        try:
            turns, ids = await turns_of(rt.store, seen)
            break
        except StoreUnavailable:
            await asyncio.sleep(1.0)
    else:
        raise RuntimeError("the store stayed unavailable")
    seen |= ids
    lat = [t.reply_ms for t in turns if t.who == "caller" and t.source == "dtmf" and t.reply_ms is not None]
    ok = sum(1 for ended_by, _ in results if ended_by in ("agi_hangup", "caller_hangup"))
    return {"n": n, "turns": len(lat), "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "calls_ok": ok}



# ------------------------------------------------------------------ the browsers (child process)

def _browsers_main(base: str, tokens: dict[str, str], wallboard: str, ready, stop, out) -> None:
    import httpx

    async def one(client: httpx.AsyncClient, user: str, role_token: str, log: list, connected: list) -> None:
        headers = {"Authorization": f"Bearer {role_token}", "Accept": "text/event-stream"}
        async with client.stream("GET", f"{base}/desk/events", headers=headers, timeout=None) as r:
            kind, data = None, []
            connected.append(user)
            async for line in r.aiter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line == "" and kind is not None:
                    now = time.time()
                    if kind == "pop":
                        obj = json.loads("".join(data))
                        log.append(("pop", user, now, (obj.get("call_id"), bool(obj.get("degraded")))))
                    elif kind == "board" and user == wallboard:
                        obj = json.loads("".join(data))
                        busy = [a["name"] for a in obj.get("agents", []) if a.get("state") == "in_call"]
                        log.append(("board", user, now, busy))
                    kind, data = None, []

    async def main() -> list:
        log: list = []
        connected: list = []
        limits = httpx.Limits(max_connections=len(tokens) + 5)
        async with httpx.AsyncClient(limits=limits) as client:
            tasks = [asyncio.create_task(one(client, u, t, log, connected)) for u, t in tokens.items()]
            while len(connected) < len(tokens):
                await asyncio.sleep(0.05)
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.1)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return log

    log = asyncio.run(main())
    # the browsers' own CPU: on this machine they share the hotline's cores (real ones do not)
    log.append(("cpu", "", time.process_time(), ("", False)))
    out.send(log)
    out.close()


# ------------------------------------------------------------------ the hotline side

async def run(args) -> dict:
    import uvicorn

    from ivr.desk import Desk
    from ivr.web import create_app
    from telephony import AmiClient
    from telephony.peer import AmiServer

    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="bench-desk-"))
    rt, ctl, peer, router = await build(data_dir, agent_queues=["hotline"])
    store = rt.store
    server = AmiServer(queues=("hotline",))
    await server.start()
    ami = AmiClient("127.0.0.1", server.port, "ivr", "ivrsecret")
    await ami.connect()
    users = [f"agent{i:02d}" for i in range(args.desks)]
    tokens: dict[str, str] = {}

    async def account(name: str, role: str) -> str:
        acc = await store.accounts.create(name, role, None)   # token only (no Argon2 work)
        secret, _ = await store.accounts.create_token(acc.id, "bench")
        tokens[name] = secret
        return secret

    for u in users:
        await ami.action("QueueAdd", Queue="hotline", Interface=f"PJSIP/{u}", MemberName=u)
        await store.desk.map_agent(u, u)
        await account(u, "agent")
    await account("sup", "supervisor")
    idle = {f"idle{i:03d}": await account(f"idle{i:03d}", "agent") for i in range(args.mem_desks)}
    desk = await Desk(rt.settings, store, ami=ami,
                      live_calls=lambda: [(c.call_id, c.status().state or "-") for c in list(rt.active_calls)]).start()
    # the wallboard is a supervisor's: with role tokens only, an admin token
    settings = rt.settings
    app = create_app(settings, store, desk=desk)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off",
                                        access_log=False, ws="none"))
    web = asyncio.create_task(srv.serve())
    while not srv.started:
        await asyncio.sleep(0.05)
    base = f"http://127.0.0.1:{srv.servers[0].sockets[0].getsockname()[1]}"

    # calls that were handed over (records and contexts, as the transfer leaves them)
    call_ids = []
    for k in range(args.pops):
        cid = await store.calls.create(caller=f"0812{k:08d}", channel_id=f"bench-{uuid.uuid4().hex[:10]}")
        await store.calls.add_turn(cid, 0, "system", "Ada yang bisa kami bantu?", source="prompt")
        await store.calls.add_turn(cid, 1, "caller", "0", source="dtmf", intent="agent", confidence=1.0)
        await store.handoffs.save_context(cid, {"call_id": cid, "intent": "pengaduan", "reason": "caller_request",
                                                "slots": {"kelurahan": "Menteng"}, "queue": "hotline"})
        await store.handoffs.record(cid, "hotline", reason="caller_request")
        call_ids.append(cid)

    mem_kb = await measure_memory(base, idle)
    print(f"memory: {mem_kb:.1f} KiB per connected desk ({args.mem_desks} idle desks)", flush=True)
    seen: set[str] = set()
    rounds = []
    baseline = await keypad(rt, peer, args.calls, seen) if args.baseline else None
    for rnd in range(args.rounds):
        rounds.append(await one_round(args, rt, peer, server, desk, base, users, tokens, call_ids, seen, rnd))

    srv.should_exit = True
    await web
    await desk.close()
    await ami.close()
    await server.close()
    await ctl.close()
    await rt.aclose()
    await store.close()

    def med(key: str) -> float | None:
        xs = [r[key] for r in rounds if r.get(key) is not None]
        return round(statistics.median(xs), 1) if xs else None

    def spread(key: str) -> list[float]:
        xs = [r[key] for r in rounds if r.get(key) is not None]
        return [round(min(xs), 1), round(max(xs), 1)] if xs else []

    return {"desks": args.desks, "wallboards": 1, "keypad_calls": args.calls, "pops_per_round": args.pops,
            "rounds": args.rounds,
            "pop_p50_ms": med("pop_p50_ms"), "pop_p95_ms": med("pop_p95_ms"), "pop_p95_spread_ms": spread("pop_p95_ms"),
            "pops_received": [r["pops_received"] for r in rounds],
            "pops_without_context": [r["pops_without_context"] for r in rounds],
            "browsers_cpu_share": [r["browsers_cpu_share"] for r in rounds],
            "wallboard_p50_ms": med("wall_p50_ms"), "wallboard_p95_ms": med("wall_p95_ms"),
            "wallboard_p95_spread_ms": spread("wall_p95_ms"),
            "mem_kb_per_desk": round(mem_kb, 1), "mem_desks_measured": args.mem_desks,
            "keypad_with_desks_p50_ms": med("keypad_p50_ms"), "keypad_with_desks_p95_ms": med("keypad_p95_ms"),
            "keypad_without_desks_p50_ms": baseline and baseline["p50_ms"],
            "keypad_without_desks_p95_ms": baseline and baseline["p95_ms"],
            "slow_desks_dropped": desk.hub.dropped,
            "targets": {"pop_p95_ms": 500, "wallboard_ms": 2000}}


async def measure_memory(base: str, idle: dict[str, str]) -> float:
    """The hotline process' RSS growth with idle desks connected, per desk (KiB)."""
    import gc
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    recv, send = ctx.Pipe(duplex=False)
    n = len(idle)
    proc = ctx.Process(target=_browsers_main, args=(base, idle, "-", ready, stop, send), daemon=True)
    loop = asyncio.get_running_loop()
    gc.collect()
    await asyncio.sleep(1.0)
    rss0 = rss_mb()
    proc.start()
    send.close()
    await loop.run_in_executor(None, ready.wait, 120)
    await asyncio.sleep(3.0)
    gc.collect()
    rss1 = rss_mb()
    stop.set()
    await loop.run_in_executor(None, recv.recv)
    await loop.run_in_executor(None, proc.join, 30)
    return max(0.0, rss1 - rss0) * 1024 / n


async def one_round(args, rt, peer, server, desk, base, users, tokens, call_ids, seen, rnd) -> dict:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    recv, send = ctx.Pipe(duplex=False)
    wallboard = "sup"
    proc = ctx.Process(target=_browsers_main, args=(base, {u: tokens[u] for u in users + [wallboard]}, wallboard,
                                                    ready, stop, send), daemon=True)
    loop = asyncio.get_running_loop()
    t_round0 = time.time()
    proc.start()
    send.close()
    await loop.run_in_executor(None, ready.wait, 120)
    await asyncio.sleep(1.0)

    emitted: dict[str, tuple[str, float]] = {}   # call id -> (agent, time)

    async def pops() -> None:
        await asyncio.sleep(args.pop_delay_s)   # the keypad calls are under way
        async def one(k: int, cid: str) -> None:
            user = users[k % len(users)]
            uid = f"u{rnd}-{k}"
            hdr = [("Privilege", "agent,all"), ("Channel", f"PJSIP/trunk-{k:08x}"), ("Uniqueid", uid),
                   ("Linkedid", uid), ("ChanVariable", f"IVR_CALL_ID={cid}"), ("Queue", "hotline"),
                   ("Interface", f"PJSIP/{user}"), ("MemberName", user)]
            # as app_queue.c: the caller joins, a member rings, then the connection
            server.emit("QueueCallerJoin", *hdr[:5], ("Queue", "hotline"), ("Position", "1"), ("Count", "1"))
            await asyncio.sleep(args.ring_s)
            emitted[cid] = (user, time.time())
            server.emit("AgentConnect", *hdr, HoldTime="5", RingTime="2")
            loop.call_later(args.talk_s, server.emit, "AgentComplete", *hdr, ("HoldTime", "5"),
                            ("TalkTime", "3"), ("Reason", "agent"))

        jobs = []
        for k, cid in enumerate(call_ids):
            jobs.append(asyncio.create_task(one(k, cid)))
            await asyncio.sleep(args.pop_interval_s)
        await asyncio.gather(*jobs)

    pop_task = asyncio.create_task(pops())
    kp = await keypad(rt, peer, args.calls, seen)
    await pop_task
    await asyncio.sleep(args.talk_s + 1.0)
    stop.set()
    t_round = time.time() - t_round0
    log = await loop.run_in_executor(None, recv.recv)
    browsers_cpu = sum(t for kind, _, t, _ in log if kind == "cpu")
    await loop.run_in_executor(None, proc.join, 30)

    pops, first = [], set()
    for kind, user, t, (cid, degraded) in (x for x in log if x[0] == "pop"):
        if (user, cid) not in first:     # a pop sent again with its context is not a new pop
            first.add((user, cid))
            pops.append((user, t, cid, degraded))
    pop_lat = [(t - emitted[cid][1]) * 1000 for user, t, cid, _ in pops if cid in emitted and emitted[cid][0] == user]
    degraded = sum(1 for user, t, cid, d in pops if d and cid in emitted and emitted[cid][0] == user)
    boards = sorted((t, set(busy)) for kind, _, t, busy in log if kind == "board")
    wall_lat = []
    for cid, (user, t0) in emitted.items():
        hit = next((t for t, busy in boards if t >= t0 and user in busy), None)
        if hit is not None:
            wall_lat.append((hit - t0) * 1000)
    r = {"pops_received": len(pop_lat), "pops_without_context": degraded,
         "browsers_cpu_share": round(browsers_cpu / max(t_round, 1e-9), 2), "pop_p50_ms": pct(pop_lat, 50), "pop_p95_ms": pct(pop_lat, 95),
         "wall_p50_ms": pct(wall_lat, 50), "wall_p95_ms": pct(wall_lat, 95), "wall_seen": len(wall_lat),
         "keypad_p50_ms": kp["p50_ms"], "keypad_p95_ms": kp["p95_ms"], "keypad_calls_ok": kp["calls_ok"]}
    print(f"round {rnd + 1}: pops {r['pops_received']}/{len(call_ids)} ({degraded} without context) p50 {_f(r['pop_p50_ms'])} ms "
          f"p95 {_f(r['pop_p95_ms'])} ms; wallboard p50 {_f(r['wall_p50_ms'])} p95 {_f(r['wall_p95_ms'])} ms "
          f"({r['wall_seen']}); keypad p50 {_f(kp['p50_ms'])} "
          f"p95 {_f(kp['p95_ms'])} ms ({kp['calls_ok']}/{args.calls} ok); the simulated browsers used "
          f"{r['browsers_cpu_share']:.2f} of a core", flush=True)
    return r


def _f(v) -> str:
    return "-" if v is None else f"{v:.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--desks", type=int, default=50)
    ap.add_argument("--calls", type=int, default=200, help="concurrent keypad calls")
    ap.add_argument("--pops", type=int, default=200, help="AgentConnect events per round")
    ap.add_argument("--pop-interval-s", type=float, default=0.05)
    ap.add_argument("--talk-s", type=float, default=1.0, help="AgentConnect -> AgentComplete")
    ap.add_argument("--pop-delay-s", type=float, default=2.0,
                    help="keypad calls start -> first pop (2 s: during their set-up burst)")
    ap.add_argument("--ring-s", type=float, default=0.5, help="QueueCallerJoin -> AgentConnect")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-baseline", dest="baseline", action="store_false",
                    help="skip the keypad round without desks")
    ap.add_argument("--mem-desks", type=int, default=200, help="idle desks connected to measure memory")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    res = asyncio.run(run(args))
    print(f"pop latency p50 {_f(res['pop_p50_ms'])} ms, p95 {_f(res['pop_p95_ms'])} ms "
          f"(rounds {res['pop_p95_spread_ms']}); wallboard p50 {_f(res['wallboard_p50_ms'])} ms, "
          f"p95 {_f(res['wallboard_p95_ms'])} ms; {_f(res['mem_kb_per_desk'])} KiB per desk; keypad p95 "
          f"{_f(res['keypad_with_desks_p95_ms'])} ms with desks, {_f(res['keypad_without_desks_p95_ms'])} ms without")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
