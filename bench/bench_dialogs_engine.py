"""Dialog engine throughput: turns (events handled) per second, on realistic calls.

Each simulated call starts, then the caller speaks an utterance from the intent test set
(matched by the engine's own matcher), presses keys, stays silent now and then, and goes
through the complaint and callback flows. Repeated 5 times; medians reported. A second
measure has the engine match every turn (speech only). Wall-clock rates depend on what else
runs on the machine; the per-CPU-second rates do not.
Prints figures and, last, one JSON line.

    python bench/bench_dialogs_engine.py [--calls 400]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from dialogs.lang.normalize import normalize
from dialogs.matcher import _query
from dialogs import (CallStarted, DialogEngine, Heard, NoInput, Pressed, TicketCreated, TransferFailed,
                     default_script_path, load_script)

DATA = Path(__file__).parent / "data" / "intents_test.tsv"


def utterances() -> list[str]:
    out = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and not line.startswith("text\t"):
            out.append(line.split("\t")[0])
    return out


def call_events(i: int, texts: list[str]) -> list[object]:
    t = texts
    n = len(t)
    flows = [
        [Heard(t[i % n]), Heard(t[(i * 7) % n]), Pressed("1"), Heard(t[(i * 13) % n]), Heard("selesai")],
        [NoInput(), Heard(t[i % n], 0.5), Pressed("1"), Heard("ulangi"), Pressed("9")],
        [Pressed("5"), Heard("jalan rusak"), Heard("dekat pasar baru"), Heard("berlubang sejak minggu lalu"),
         Heard("ya"), Heard("Budi"), Pressed("3273014508950001"), Heard("ya"), Pressed("1"),
         TicketCreated(str(100000 + i)), Heard("selesai")],
        [Heard("petugas"), TransferFailed("no_agents"), Heard("ya"), Heard("iya benar"),
         TicketCreated(str(200000 + i))],
        [Pressed("6"), Heard("satu dua tiga empat lima enam"), Heard(t[(i * 3) % n]), Pressed("0")],
    ]
    return flows[i % len(flows)]


def run_once(script, calls: int, texts: list[str]) -> tuple[int, float, float]:
    turns = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    for i in range(calls):
        e = DialogEngine(script)
        e.handle(CallStarted(caller_number="081234567890", call_id=str(i), today="2026-11-28"))
        turns += 1
        for ev in call_events(i, texts):
            e.handle(ev)
            turns += 1
    return turns, time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--passes", type=int, default=5, help="passes over the utterances per speech run")
    args = ap.parse_args()
    t0 = time.perf_counter()
    script = load_script(default_script_path())
    load_s = time.perf_counter() - t0
    texts = utterances()
    run_once(script, 50, texts)  # warm the caches (stemmer, normaliser) as a running server has
    rates, heard_rates, cpu_rates, heard_cpu_rates = [], [], [], []
    # The per-utterance normalisation cache is cleared before every run, so that repeated
    # texts do not flatter the figures; per-word caches (stems, phonetic keys) stay warm as
    # they do in a running server.
    for _ in range(args.repeats):
        normalize.cache_clear()
        _query.cache_clear()
        turns, secs, cpu = run_once(script, args.calls, texts)
        rates.append(turns / secs)
        cpu_rates.append(turns / cpu)
    # speech-only turns: every event is a Heard matched by the engine. Each run goes through
    # the utterances `passes` times, clearing the per-utterance caches before every pass
    # (a run of one pass lasts only a few tens of milliseconds: too short to time reliably).
    for _ in range(args.repeats):
        e = DialogEngine(script)
        e.start()
        t1 = time.perf_counter()
        c1 = time.process_time()
        for _pass in range(args.passes):
            normalize.cache_clear()
            _query.cache_clear()
            for text in texts:
                if e.ended or e.phase not in ("listening", "confirming"):
                    e = DialogEngine(script)
                    e.start()
                e.handle(Heard(text))
        n = len(texts) * args.passes
        heard_rates.append(n / (time.perf_counter() - t1))
        heard_cpu_rates.append(n / (time.process_time() - c1))
    result = {
        "bench": "dialogs_engine",
        "turns_per_s_median": round(statistics.median(rates)),
        "speech_turns_per_s_median": round(statistics.median(heard_rates)),
        "turns_per_cpu_s_median": round(statistics.median(cpu_rates)),
        "speech_turns_per_cpu_s_median": round(statistics.median(heard_cpu_rates)),
        "calls_per_run": args.calls,
        "speech_turns_per_run": len(texts) * args.passes,
        "repeats": args.repeats,
        "script_load_s": round(load_s, 3),
    }
    print(f"script load {load_s:.2f} s (matcher precomputation included)")
    print(f"mixed turns/s: median {result['turns_per_s_median']} (runs: {[round(r) for r in rates]})")
    print(f"speech turns/s (every turn matched): median {result['speech_turns_per_s_median']}")
    print(f"per CPU second (not affected by other processes on the machine): mixed "
          f"{result['turns_per_cpu_s_median']}, speech {result['speech_turns_per_cpu_s_median']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
