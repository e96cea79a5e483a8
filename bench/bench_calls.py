"""Whole calls through the simulated Asterisk on this machine: turn latency, CPU and memory per
call, the largest load that keeps p95 <= 1.5 s, and task success of speaking callers.

    python bench/bench_calls.py                       # everything, default sizes
    python bench/bench_calls.py --keypad 50,100,200 --speaking 1,2,4 --rounds 3 --task 20

Scenarios (all real: FastAGI + AudioSocket controller, dialog engine, default script, prompt
cache, SQLite store; Whisper-base for speech):

* keypad: N concurrent callers navigating by keys in real time (main menu -> sub-menu ->
  answer -> goodbye, pressing over the prompts). Latency = last key -> first byte of the reply
  audio, as the hotline stores it per turn (``reply_ms``).
* speaking: N concurrent callers saying one request (espeak-ng voices at telephone quality) in
  real time. Latency = end of caller speech (VAD's estimate of the last voiced frame) -> first
  reply byte; the caller's own view (last speech frame sent -> next audio frame received) is
  printed beside it. Each turn's stages are printed as medians, in ms after the end of speech:
  the speculative decode submitted (``spec``), started on the pool (``run``) and done
  (``done``), the end-of-turn decision's read of it (``early_read``), the turn's end
  (``turn_end``), the stream finished (``finish``), the transcript, the dialog's intent
  (``decided``), the heard event, the first reply byte (``reply``); and the decode's own
  durations (encoder, first stage, wait for the transcript, second stage, extra hearings, in
  all), how many speculative decodes a turn started, whether the final reused one, the
  reply's audio preparation, and how many turns were answered from a first pass
  (``first_pass``/``second_pass``, IVR_TURN_FIRST_PASS). ``--runs N`` repeats each N and
  gives the median over runs with min-max.
* task: callers speaking synthesised requests for the script's services in several voices,
  answering confirmations truthfully and using the keypad when it is offered; success = they
  reach the right service's answer. Share and turns taken.

The simulated Asterisk runs in a child process, as a real Asterisk does: CPU and memory are the
hotline's process alone, and the two share the machine's cores as they would in production.
(Run in the same process, the simulator's own frame pacing shared the hotline's event loop: on
a slower 2-core machine, 200 keypad callers then measured the simulator as much as the hotline.)
The task-success callers, which react to what they hear, keep an in-process peer.
Prints medians per scenario and one final JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REQUESTS = [
    ("ktp", "saya mau mengurus KTP yang hilang"),
    ("kk", "bagaimana cara membuat kartu keluarga baru"),
    ("akta_kelahiran", "saya ingin membuat akta kelahiran anak saya"),
    ("akta_kematian", "mau mengurus akta kematian bapak saya"),
    ("pindah_domisili", "saya mau pindah domisili ke kota lain"),
    ("pajak_kendaraan", "saya mau bayar pajak motor"),
    ("pbb", "tagihan pajak bumi dan bangunan rumah saya"),
    ("retribusi", "saya mau tanya retribusi sampah pasar"),
    ("bpjs_kesehatan", "kartu bpjs saya tidak aktif"),
    ("layanan_kesehatan", "jadwal imunisasi di puskesmas"),
    ("bansos", "saya belum menerima bantuan sosial"),
    ("status_pengaduan", "saya mau cek status pengaduan saya"),
]


# requests said with a pause inside (a caller looking for words): (first part, pause s, rest)
PAUSED = [
    ("saya mau", 0.9, "urus KTP yang hilang"),
    ("bagaimana cara membuat", 0.8, "kartu keluarga baru"),
    ("saya ingin, eh", 1.0, "membuat akta kelahiran anak saya"),
    ("kartu bpjs saya", 0.9, "tidak aktif lagi"),
    ("saya mau bayar pajak", 0.7, "motor saya"),
    ("jadwal imunisasi", 0.8, "di puskesmas kapan ya"),
]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))
    return xs[k]


class Sampler:
    """Peak RSS and CPU seconds of this process while a scenario runs."""

    def __init__(self) -> None:
        self.peak = rss_mb()
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, rss_mb())
            await asyncio.sleep(0.1)

    def __enter__(self) -> "Sampler":
        self.base = rss_mb()
        self.cpu0 = time.process_time()
        self.t0 = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc) -> None:
        assert self._task is not None
        self._task.cancel()
        self.cpu = time.process_time() - self.cpu0
        self.wall = time.monotonic() - self.t0
        self.peak = max(self.peak, rss_mb())


async def build(data_dir: Path, **overrides):
    from dialogs import default_script_path, load_script
    from ivr.calls.controller import Controller
    from ivr.calls.handoff import Handoff
    from ivr.calls.engines import build_recognizer
    from ivr.calls.runtime import Runtime
    from ivr.config.settings import load_settings
    from ivr.simulation.simcaller import EventRouter
    from ivr.storage import Store
    from telephony.peer import AsteriskPeer
    from tts import EspeakSynthesizer, PromptCache

    settings = load_settings(data_dir=data_dir, office_hours="always", log_level="ERROR", **overrides)
    settings.ensure_dirs()
    store = Store(settings.database_url, outbox_dir=settings.outbox_dir)
    await store.amigrate()
    synth = EspeakSynthesizer(voice=settings.tts_voice, rate=settings.tts_rate, pitch=settings.tts_pitch)
    script = load_script(default_script_path())
    rt = Runtime(settings=settings, script=script, recognizer=build_recognizer(settings), synthesizer=synth,
                 prompts=PromptCache(settings.prompt_cache_dir, synth), store=store,
                 handoff=Handoff(settings, store.handoffs), script_name=script.name, script_version="bench")
    await rt.prerender()
    ctl = await Controller(rt, agi_port=0, audiosocket_port=0).start()
    peer = AsteriskPeer("127.0.0.1", ctl.agi_server.port)
    return rt, ctl, peer, EventRouter(rt)


def _peer_main(port: int, scripts: list, caller_ids: list[str], out) -> None:
    """Child process: place the calls at once through a simulated Asterisk; send back, per
    call, how it ended and the caller's view of the response latencies."""
    from telephony.peer import AsteriskPeer

    async def calls():
        peer = AsteriskPeer("127.0.0.1", port)
        results = await asyncio.gather(*[peer.place_call(steps, caller_id=cid, realtime=True)
                                         for steps, cid in zip(scripts, caller_ids, strict=True)])
        return [(r.ended_by, list(r.response_latencies())) for r in results]

    results = asyncio.run(calls())
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    out.send((results, ru.ru_utime + ru.ru_stime))
    out.close()


async def remote_calls(port: int, scripts: list, caller_ids: list[str]) -> tuple[list[tuple[str, list[float]]], float]:
    """Run calls from a simulated Asterisk in a child process (see the module docstring);
    returns per call (how it ended, the caller's view of response latencies) and the child's
    CPU seconds."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_peer_main, args=(port, scripts, caller_ids, send), daemon=True)
    proc.start()
    send.close()
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(None, recv.recv)
    finally:
        await loop.run_in_executor(None, proc.join, 30)


async def turns_of(store, since_calls: set[str]) -> tuple[list, set[str]]:
    out = []
    ids = set()
    for c in await store.calls.recent(limit=10000):
        if c.id in since_calls:
            continue
        ids.add(c.id)
        full = await store.calls.get(c.id)
        out.extend(full.turns)
    return out, ids


async def keypad(rt, peer, n: int, seen: set[str]) -> dict:
    from telephony.peer import Dtmf, Hangup, Silence, WaitForPrompt

    steps = [WaitForPrompt(), Silence(0.6), Dtmf("1"), Silence(0.8), Dtmf("1"), Silence(0.8), Dtmf("9"),
             Silence(2.0), Hangup()]
    with Sampler() as s:
        results, peer_cpu = await remote_calls(peer.agi_port, [steps] * n, [f"0812{i:08d}" for i in range(n)])
        await asyncio.sleep(0.5)
    turns, ids = await turns_of(rt.store, seen)
    seen |= ids
    lat = [t.reply_ms for t in turns if t.who == "caller" and t.source == "dtmf" and t.reply_ms is not None]
    ok = sum(1 for ended_by, _ in results if ended_by in ("agi_hangup", "caller_hangup"))
    return {"n": n, "turns": len(lat), "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "calls_ok": ok,
            "cpu_s_per_call": s.cpu / n, "mem_mb_per_call": max(0.0, s.peak - s.base) / n,
            "wall_s": s.wall, "simulated_asterisk_cpu_s_per_call": peer_cpu / n}


async def speaking(rt, peer, speech: list, n: int, seen: set[str], offset: int = 0) -> dict:
    """``speech``: per request its audio, or (audio, pause s, audio) for a request with a pause."""
    from telephony.peer import Hangup, SayPcm, Silence, WaitForPrompt

    def said(req) -> list:
        if isinstance(req, tuple):
            a, pause, b = req
            return [SayPcm(a, 8000), Silence(pause), SayPcm(b, 8000)]
        return [SayPcm(req, 8000)]

    scripts = [[WaitForPrompt(), Silence(0.8), *said(speech[(offset + i) % len(speech)]), Silence(6.0),
                Hangup()] for i in range(n)]
    with Sampler() as s:
        results, _ = await remote_calls(peer.agi_port, scripts, [f"0813{i:08d}" for i in range(n)])
        await asyncio.sleep(0.5)
    turns, ids = await turns_of(rt.store, seen)
    seen |= ids
    lat = [t.reply_ms for t in turns if t.who == "caller" and t.source == "speech" and t.reply_ms is not None]
    asr = [t.asr_ms for t in turns if t.who == "caller" and t.source == "speech" and t.asr_ms is not None]
    peer_view = [x * 1000 for _, lats in results for x in lats]
    # a caller who made one request and was heard as two (or more) turns was cut off mid-request
    per_call: dict[str, int] = {}
    for t in turns:
        if t.who == "caller" and t.source == "speech":
            per_call[t.call_id] = per_call.get(t.call_id, 0) + 1
    cut = sum(1 for v in per_call.values() if v > 1)
    return {"n": n, "turns": len(lat), "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95),
            "calls": len(per_call), "cut_off_calls": cut,
            "asr_p50_ms": pct(asr, 50), "peer_p50_ms": pct(peer_view, 50),
            "cpu_s_per_call": s.cpu / n, "mem_mb_per_call": max(0.0, s.peak - s.base) / n, "wall_s": s.wall,
            "_lat": lat, "_asr": asr, "_peer": peer_view}


#: the stages of a spoken turn, in milliseconds after the end of the caller's speech (VAD's last
#: voiced frame), in the order they happen (``ivr.calls.session._stages``; ``reply_at`` is the
#: turn's ``reply_ms``)
STAGES = ("spec_at", "run_at", "done_at", "early_read_at", "turn_end_at", "finish_at", "transcript_at",
          "decided_at", "heard_at", "reply_at")
#: the recognizer's own durations (ms) and counts for the decode that gave the transcript
DECODE = ("encode_ms", "score1_ms", "text_wait_ms", "score2_ms", "views_ms", "decode_ms", "speculations",
          "reused", "prep_ms")
#: turns answered from the recognizer's first or second pass (shares, not medians)
PASSES = ("first_pass", "second_pass")


class TurnEnds:
    """How the live turns ended (the media's ``speech_end`` events), the confirmations asked,
    and each spoken turn's stages (its ``heard`` event joined with the ``reply`` that follows)."""

    def __init__(self) -> None:
        self.reasons: dict[str, int] = {}
        self.confirmations = 0
        self.denied = 0
        self.stages: list[dict[str, float]] = []
        self._heard: dict[int, dict[str, float]] = {}

    def __call__(self, session, kind: str, data: dict) -> None:
        if kind == "speech_end":
            r = str(data.get("turn"))
            self.reasons[r] = self.reasons.get(r, 0) + 1
        elif kind == "second_look":
            # a decision dropped: the caller went on within IVR_TURN_SECOND_LOOK_MS (one turn)
            self.reasons["second_look"] = self.reasons.get("second_look", 0) + 1
        elif kind == "confirm_asked":
            self.confirmations += 1
        elif kind == "confirm_denied":
            self.denied += 1
        elif kind == "heard" and isinstance(data.get("stages"), dict):
            self._heard[id(session)] = dict(data["stages"])
        elif kind == "reply":
            st = self._heard.pop(id(session), None)
            if st is not None:
                st["reply_at"] = float(data["reply_ms"])
                st["prep_ms"] = float(data.get("prep_ms") or 0.0)
                self.stages.append(st)

    def take(self) -> dict:
        out = {"turn_ends": dict(self.reasons), "confirmations": self.confirmations, "denied": self.denied,
               "stages": stage_medians(self.stages), "_stages": self.stages}
        self.__init__()
        return out


def stage_medians(rows: list[dict[str, float]]) -> dict[str, float]:
    """Median of every stage over the turns that have it (a stage a turn skipped is absent)."""
    out = {}
    for k in (*STAGES, *DECODE):
        xs = [r[k] for r in rows if k in r]
        if xs:
            out[k] = round(statistics.median(xs), 1)
    for k in PASSES:
        if rows:
            out[k + "_share"] = round(sum(1 for r in rows if r.get(k)) / len(rows), 3)
    return out


def print_stages(med: dict[str, float]) -> None:
    at = "  ".join(f"{k[:-3]} {med[k]:.0f}" for k in STAGES if k in med)
    dur = "  ".join(f"{k.removesuffix('_ms')} {med[k]:.0f}" for k in DECODE if k in med)
    dur += "  " + "  ".join(f"{k} {med[k + '_share']:.0%}" for k in PASSES if k + "_share" in med)
    print(f"    stages (ms after end of speech, medians): {at}", flush=True)
    print(f"    decode (ms, medians): {dur}", flush=True)


def spread(xs: list[float]) -> dict[str, float | None]:
    xs = [x for x in xs if x is not None]
    if not xs:
        return {"median": None, "min": None, "max": None}
    return {"median": round(statistics.median(xs), 1), "min": round(min(xs), 1), "max": round(max(xs), 1)}


def _pool_rounds(rounds: list[dict]) -> dict:
    """One speaking figure from several rounds of N concurrent callers: percentiles over all
    their turns, CPU and memory per call as medians of the rounds."""
    lat = [x for r in rounds for x in r["_lat"]]
    asr = [x for r in rounds for x in r["_asr"]]
    peer_view = [x for r in rounds for x in r["_peer"]]
    calls = sum(r["calls"] for r in rounds)
    return {"n": rounds[0]["n"], "rounds": len(rounds), "turns": len(lat), "p50_ms": pct(lat, 50),
            "calls": calls, "cut_off_calls": sum(r["cut_off_calls"] for r in rounds),
            "cut_off_share": round(sum(r["cut_off_calls"] for r in rounds) / max(1, calls), 3),
            "p50_by_round": [r["p50_ms"] for r in rounds], "p95_by_round": [r["p95_ms"] for r in rounds],
            "p95_ms": pct(lat, 95), "asr_p50_ms": pct(asr, 50), "peer_p50_ms": pct(peer_view, 50),
            "cpu_s_per_call": statistics.median(r["cpu_s_per_call"] for r in rounds),
            "mem_mb_per_call": statistics.median(r["mem_mb_per_call"] for r in rounds),
            "wall_s": sum(r["wall_s"] for r in rounds)}


def _pool_runs(runs: list[dict]) -> dict:
    """Several runs of one speaking N: each figure's median over the runs with min-max, the
    stages' medians over every turn of every run."""
    out = dict(runs[0])
    for k in ("p50_ms", "p95_ms", "asr_p50_ms", "peer_p50_ms", "cpu_s_per_call"):
        out[k + "_runs"] = spread([r[k] for r in runs])
        out[k] = out[k + "_runs"]["median"]
    for k in ("turns", "calls", "cut_off_calls", "confirmations", "denied"):
        out[k] = sum(r[k] for r in runs)
    out["cut_off_share"] = round(out["cut_off_calls"] / max(1, out["calls"]), 3)
    out["turn_ends"] = {}
    for r in runs:
        for k, v in r["turn_ends"].items():
            out["turn_ends"][k] = out["turn_ends"].get(k, 0) + v
    out["runs"] = len(runs)
    out["load_by_run"] = [r["load"] for r in runs]
    out["stages"] = stage_medians([s for r in runs for s in r["_stages"]])
    out["stages_p50_by_run"] = [r["stages"] for r in runs]
    return out


def _spread_s(sp: dict) -> str:
    if sp["median"] is None:
        return "n/a"
    return f"{sp['median']:.0f} [{sp['min']:.0f}-{sp['max']:.0f}]"


async def task_success(rt, peer, router, speech_for, n: int, concurrency: int) -> dict:
    from ivr.simulation.simcaller import Goal, ReactiveCaller, run_caller, service_state

    sem = asyncio.Semaphore(concurrency)
    outcomes = []

    async def one(i: int) -> None:
        intent, text = REQUESTS[i % len(REQUESTS)]
        voice = i % 5
        alt = (voice + 2) % 5
        goal = Goal(intent=intent, speech=[speech_for(text, voice), speech_for(text, alt)],
                    yes=speech_for("ya", voice), no=speech_for("tidak", voice),
                    success_state=service_state(rt.script, intent), barge_in_after_s=1.0, max_turns=8)
        caller = ReactiveCaller(rt.script, goal, speed=1.0)
        async with sem:
            await run_caller(peer, router, caller, caller_id=f"0814{i:08d}", max_seconds=240)
        outcomes.append((intent, caller.outcome))

    await asyncio.gather(*[one(i) for i in range(n)])
    ok = [o for _, o in outcomes if o.success]
    return {"callers": n, "success": len(ok) / n if n else None,
            "turns_median": statistics.median(o.turns for o in ok) if ok else None,
            "keypad_share": sum(1 for o in ok if o.keypad_used) / len(ok) if ok else None,
            "confirmations_median": statistics.median(o.confirmations for o in ok) if ok else None,
            "failed": sorted({i for i, o in outcomes if not o.success}),
            "failures": [{"intent": i, "turns": o.turns, "states": o.states[-6:], "said": o.said[-4:]}
                         for i, o in outcomes if not o.success][:10]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keypad", default="50,100,200", help="concurrent keypad callers to try")
    ap.add_argument("--speaking", default="1,2,4", help="concurrent speaking callers to try")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of each speaking N (pooled percentiles)")
    ap.add_argument("--runs", type=int, default=1,
                    help="repeat each speaking N this many times (each run: --rounds rounds); figures are "
                         "the median over runs with min-max")
    ap.add_argument("--task", type=int, default=24, help="task-success callers (0 = skip)")
    ap.add_argument("--task-concurrency", type=int, default=2)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--vad-end-ms", type=int, default=None,
                    help="silence that ends an utterance (default: the IVR_VAD_END_MS setting, 600)")
    ap.add_argument("--turn-taking", choices=["on", "off"], default=None,
                    help="end turns by what was said (default: the IVR_TURN_TAKING setting, on)")
    ap.add_argument("--pauses", action="store_true",
                    help="speaking callers make requests with a pause inside (cut-offs)")
    ap.add_argument("--asr-workers", type=int, default=None,
                    help="utterances decoded at once (default: the IVR_ASR_WORKERS setting, 0 = cores)")
    ap.add_argument("--whisper-scoring", choices=["auto", "full", "fast"], default=None,
                    help="default: the IVR_WHISPER_SCORING setting (auto)")
    args = ap.parse_args()
    out = asyncio.run(run(args))
    print(json.dumps(out, separators=(",", ":")))


async def run(args) -> dict:
    import functools
    import logging

    logging.basicConfig(level=logging.ERROR)
    from tests.speechgen import VOICES, synthesize, telephone

    @functools.lru_cache(maxsize=512)
    def speech_for(text: str, voice: int) -> bytes:
        name, rate, pitch = VOICES[voice % len(VOICES)]
        samples, sr = synthesize(text, name, rate, pitch)
        return telephone(samples, sr, level_dbfs=-24.0, snr_db=25.0, seed=voice)

    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="bench-calls-"))
    t0 = time.monotonic()
    base_rss = rss_mb()
    overrides = {k: v for k, v in (("vad_end_ms", args.vad_end_ms), ("asr_workers", args.asr_workers),
                                   ("whisper_scoring", args.whisper_scoring)) if v is not None}
    if args.turn_taking is not None:
        overrides["turn_taking"] = args.turn_taking == "on"
    rt, ctl, peer, router = await build(data_dir, **overrides)
    models_mb = rss_mb() - base_rss
    print(f"hotline ready in {time.monotonic() - t0:.1f} s; models and caches {models_mb:.0f} MB; "
          f"{os.cpu_count()} CPUs", flush=True)
    # calls already in the store (a reused --data-dir) are not this run's
    seen: set[str] = {c.id for c in await rt.store.calls.recent(limit=100000)}
    result: dict = {"bench": "calls", "cpus": os.cpu_count(), "models_mb": round(models_mb, 1),
                    "vad_end_ms": rt.settings.vad_end_ms, "asr_workers": rt.settings.asr_workers,
                    "whisper_scoring": rt.settings.whisper_scoring, "turn_taking": rt.settings.turn_taking,
                    "pauses": args.pauses, "load_before": os.getloadavg()}
    ends = TurnEnds()
    rt.call_listeners.append(ends)
    # warm the recognizer's per-expectation caches for the main menu (as `ivr serve` does)
    await rt.warm_up()
    from ivr.serve import freeze_startup_heap

    freeze_startup_heap()  # as `ivr serve` does once started

    kp = []
    for n in [int(x) for x in args.keypad.split(",") if x]:
        r = await keypad(rt, peer, n, seen)
        kp.append(r)
        print(f"keypad   N={n:4d}: key->reply p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms over {r['turns']} turns; "
              f"CPU {r['cpu_s_per_call']:.3f} s/call (simulated Asterisk {r['simulated_asterisk_cpu_s_per_call']:.3f}), "
              f"memory {r['mem_mb_per_call']:.2f} MB/call; {r['calls_ok']}/{n} calls completed", flush=True)
    result["keypad"] = [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()} for r in kp]
    ok_kp = [r["n"] for r in kp if r["p95_ms"] is not None and r["p95_ms"] <= 1500]
    result["keypad_max_n_p95_le_1500ms"] = max(ok_kp) if ok_kp else 0

    speech: list = [speech_for(text, i) for i, (_, text) in enumerate(REQUESTS[:4])]
    if args.pauses:
        speech = [(speech_for(a, i), pause, speech_for(b, i)) for i, (a, pause, b) in enumerate(PAUSED)]
    sp = []
    ends.take()
    for n in [int(x) for x in args.speaking.split(",") if x]:
        runs = []
        for run_i in range(args.runs):
            # several rounds per N: one round of N callers gives only N turns to take medians of
            rounds = [await speaking(rt, peer, speech, n, seen, offset=k * n) for k in range(args.rounds)]
            r = _pool_rounds(rounds)
            r.update(ends.take())
            r["load"] = os.getloadavg()[0]
            runs.append(r)
            print(f"speaking N={n:4d} run {run_i + 1}/{args.runs}: speech end->reply p50 {_f(r['p50_ms'])} ms, "
                  f"p95 {_f(r['p95_ms'])} ms (recognition p50 {_f(r['asr_p50_ms'])} ms; caller's view p50 "
                  f"{_f(r['peer_p50_ms'])} ms); CPU {r['cpu_s_per_call']:.2f} s/call, memory "
                  f"{r['mem_mb_per_call']:.2f} MB/call; cut off {r['cut_off_calls']}/{r['calls']}; turn ends "
                  f"{r['turn_ends']}; confirmations {r['confirmations']} (no: {r['denied']}); load {r['load']:.1f}",
                  flush=True)
            print_stages(r["stages"])
        r = dict(runs[-1]) if len(runs) == 1 else _pool_runs(runs)
        sp.append(r)
        if len(runs) > 1:
            print(f"speaking N={n:4d} over {len(runs)} runs: p50 {_spread_s(r['p50_ms_runs'])} ms, "
                  f"p95 {_spread_s(r['p95_ms_runs'])} ms (median [min-max] of the runs); cut off "
                  f"{r['cut_off_calls']}/{r['calls']}", flush=True)
            print_stages(r["stages"])
    result["speaking"] = [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()
                           if not k.startswith("_")} for r in sp]
    ok_sp = [r["n"] for r in sp if r["p95_ms"] is not None and r["p95_ms"] <= 1500]
    result["speaking_max_n_p95_le_1500ms"] = max(ok_sp) if ok_sp else 0

    if args.task:
        ts = await task_success(rt, peer, router, speech_for, args.task, args.task_concurrency)
        print(f"task success: {ts['success']:.0%} of {ts['callers']} speaking callers reached the right service; "
              f"median {ts['turns_median']} turns, {ts['confirmations_median']} confirmations; "
              f"keypad used by {_pc(ts['keypad_share'])} of the successful; failed intents: {ts['failed']}", flush=True)
        result["task"] = ts
    result["load_after"] = os.getloadavg()
    router.close()
    await ctl.close()
    await rt.aclose()
    await rt.store.close()  # the Store made by build()
    return result


def _f(v) -> str:
    return "n/a" if v is None else f"{v:.0f}"


def _pc(v) -> str:
    return "n/a" if v is None else f"{v:.0%}"


if __name__ == "__main__":
    main()
