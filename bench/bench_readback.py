"""Ticket read-back when many callers finish at once (issue 15.7).

N callers file a complaint at the same moment; each then hears the script's read-back prompt
("Terima kasih, ... Nomor tiket Anda 2611-00042-7. Sekali lagi, 2611-00042-7. ...") with its
own ticket number. Measured: from the moment all N prompts are asked for (the last key) to the
moment each prompt's audio is ready to play, p50/p95/max over the N callers, for

* ``main``: what the hotline did before: the whole prompt synthesised on espeak's one worker
  thread, one caller after another;
* ``pool-cold``: fragments (clauses and digits, :mod:`tts.fragments`) synthesised on a pool of
  worker processes sized to the cores, the fragment cache empty (the first read-back after a
  start);
* ``pool-warm``: the same with the fragment cache holding what earlier read-backs said (every
  read-back after the first ones of the day).

Only the prompt's audio is measured (the ticket write goes to the store's pool before it and is
measured by bench_calls.py). Medians of ``--repeat`` runs with the spread (min-max).

    python bench/bench_readback.py [--callers 100,300] [--repeat 3] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from asr.audio import resample
from dialogs import default_script_path, load_script
from dialogs.templates import render
from ivr.calls.speak import Speaker
from tts import EspeakSynthesizer, PromptCache
from tts.pool import PooledSynthesizer


def readback_texts(n: int, seed: int) -> list[str]:
    script = load_script(default_script_path())
    template = script.states["complaint_done"].say[0].text
    return [render(template, {"ticket_id": f"2612-{(seed * 7919 + i * 104729) % 100000:05d}-{(i * 7) % 10}"}, {})
            for i in range(n)]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def run_main(texts: list[str]) -> list[float]:
    synth = EspeakSynthesizer()
    await synth.synthesize("halo")

    async def one(text: str, t0: float) -> float:
        audio = await synth.synthesize(text)
        await asyncio.to_thread(resample, audio.pcm, audio.sample_rate, 8000)
        return time.monotonic() - t0

    t0 = time.monotonic()
    return list(await asyncio.gather(*(one(t, t0) for t in texts)))


async def run_pool(texts: list[str], speaker: Speaker) -> list[float]:
    async def one(text: str, t0: float) -> float:
        await speaker.pcm(text, static=False)
        return time.monotonic() - t0

    t0 = time.monotonic()
    return list(await asyncio.gather(*(one(t, t0) for t in texts)))


def summary(lat: list[float]) -> dict[str, float]:
    return {"p50_s": round(pct(lat, 0.5), 3), "p95_s": round(pct(lat, 0.95), 3), "max_s": round(max(lat), 3)}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--callers", default="100,300")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-main", action="store_true", help="do not run the old one-thread path")
    args = ap.parse_args()
    counts = [int(c) for c in args.callers.split(",")]
    pool = PooledSynthesizer(functools.partial(EspeakSynthesizer), workers=args.workers)
    await pool.warm()
    local = EspeakSynthesizer()
    results: dict[str, dict[str, dict[str, float]]] = {}
    print(f"cores {os.cpu_count()}, pool workers {pool.workers}")
    for n in counts:
        for mode in (["main"] if not args.skip_main else []) + ["pool-cold", "pool-warm"]:
            runs = []
            for r in range(args.repeat):
                texts = readback_texts(n, seed=r + 1)
                if mode == "main":
                    lat = await run_main(texts)
                else:
                    speaker = Speaker(PromptCache(Path(tempfile.mkdtemp()), local), local, dynamic=pool)
                    if mode == "pool-warm":  # earlier read-backs said every fragment once
                        await run_pool(readback_texts(5, seed=1000 + r), speaker)
                    lat = await run_pool(texts, speaker)
                runs.append(summary(lat))
            key = {k: round(statistics.median(x[k] for x in runs), 3) for k in ("p50_s", "p95_s", "max_s")}
            spread = {k: [min(x[k] for x in runs), max(x[k] for x in runs)] for k in ("p50_s", "p95_s")}
            results.setdefault(str(n), {})[mode] = {**key, "spread": spread}  # type: ignore[dict-item]
            print(f"{n:4d} callers  {mode:10s}  p50 {key['p50_s']:7.3f} s  p95 {key['p95_s']:7.3f} s  "
                  f"max {key['max_s']:7.3f} s   (p95 over {args.repeat} runs: {spread['p95_s'][0]}-{spread['p95_s'][1]})")
    pool.close()
    print(json.dumps({"bench": "readback", "workers": pool.workers, "results": results}))


if __name__ == "__main__":
    asyncio.run(main())
