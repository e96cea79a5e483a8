"""When a lone caller's final decode starts: the recognition stream's speculation after 160 ms of
trailing silence against after ``WhisperOptions.speculate_idle_ms`` (120) when no other final
decode is in flight, interleaved in one process (paired per utterance).

Each utterance (espeak-ng through the 8 kHz telephone chain, then 500 ms of silence) is fed to a
real ``WhisperStream`` 20 ms at a time in real time, as the media delivers it, with the
hotline's lone-caller stop after the second stage. Printed per way: the decode done after the
last voiced frame (what the reply waits for), the decode's own duration and the speculations a
turn started (a pause inside a request longer than the trigger starts one that speech then
makes stale). ``--pauses`` adds requests with a 130-150 ms pause between words, inside the
idle trigger's reach and not the old one's. Whole calls: ``bench/bench_calls.py``.

    python bench/bench_speculation.py [--reps 5] [--pauses]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TEXTS = ["saya mau mengurus KTP yang hilang", "bagaimana cara membuat kartu keluarga baru",
         "saya ingin membuat akta kelahiran anak saya", "mau mengurus akta kematian bapak saya"]
#: requests said with a short pause between two words (seconds): long enough for the idle
#: trigger (120 ms) and not for the usual one (160 ms)
PAUSED = [("saya mau bayar", 0.14, "pajak motor"), ("kartu bpjs saya", 0.13, "tidak aktif lagi")]
WAYS = {"160 ms": 0, "idle 120 ms": 120}


def _spread(xs: list[float]) -> dict[str, float]:
    q1, q3 = np.percentile(xs, [25, 75])
    return {"median": round(statistics.median(xs), 1), "q1": round(float(q1), 1), "q3": round(float(q3), 1)}


async def _turn(rec, menu, pcm: bytes, idle_ms: int) -> tuple[float, float, float]:
    rec.engine.options.speculate_idle_ms = idle_ms
    stream = rec.open_stream(8000, menu)
    stream.enough = lambda t: t.stage == "second"  # the hotline's lone caller: no extra hearings
    t0 = time.monotonic()
    last_voice = t0
    for k, i in enumerate(range(0, len(pcm), 320)):
        stream.accept(pcm[i:i + 320])
        if stream._trailing_ms == 0:
            last_voice = time.monotonic()
        if stream.ready():
            break
        await asyncio.sleep(max(0.0, t0 + (k + 1) * 0.02 - time.monotonic()))
    tr = await stream.finish()
    return ((tr.timings["done_at"] - last_voice) * 1000, tr.timings["decode_ms"], tr.timings["speculations"])


async def _main(args) -> None:
    from asr import Expectation
    from asr.whisper_backend import WhisperRecognizer
    from dialogs import default_script_path, load_script
    from tests import speechgen

    script = load_script(default_script_path())
    menu = Expectation(script.expectations(script.entry_menu), kind="intent")
    rec = WhisperRecognizer()
    rec.warm_up(menu)
    tail = bytes(8000)  # 500 ms of silence
    pcms = [speechgen.phone_utterance(t, "id+m3", 160, 50, level_dbfs=-24, snr_db=25, seed=i) + tail
            for i, t in enumerate(TEXTS)]
    if args.pauses:
        for i, (a, pause, b) in enumerate(PAUSED):
            pcms.append(speechgen.phone_utterance(a, "id+m3", 160, 50, level_dbfs=-24, snr_db=None, seed=i)
                        + bytes(int(pause * 8000) * 2)
                        + speechgen.phone_utterance(b, "id+m3", 160, 50, level_dbfs=-24, snr_db=None, seed=i) + tail)
    for pcm in pcms:  # warm both ways
        for ms in WAYS.values():
            await _turn(rec, menu, pcm, ms)
    load_before = os.getloadavg()[0]
    got: dict[str, list[tuple[float, float, float]]] = {w: [] for w in WAYS}
    saved: list[float] = []
    for rep in range(args.reps):
        for pcm in pcms:
            order = list(WAYS) if rep % 2 == 0 else list(WAYS)[::-1]
            pair = {}
            for w in order:
                pair[w] = await _turn(rec, menu, pcm, WAYS[w])
                got[w].append(pair[w])
            saved.append(pair["160 ms"][0] - pair["idle 120 ms"][0])
    out = {}
    for w, rows in got.items():
        done, dec = _spread([r[0] for r in rows]), _spread([r[1] for r in rows])
        specs = sum(r[2] for r in rows) / len(rows)
        out[w] = {"done_after_voice_ms": done, "decode_ms": dec, "speculations_per_turn": round(specs, 2)}
        print(f"{w:12s}: decode done {done['median']} ms after the last voiced frame [q1 {done['q1']} - q3 "
              f"{done['q3']}], decode {dec['median']} ms [{dec['q1']} - {dec['q3']}], "
              f"speculations per turn {specs:.2f}")
    s = _spread(saved)
    print(f"sooner per turn (paired): {s['median']} ms [q1 {s['q1']} - q3 {s['q3']}] over {len(saved)} pairs; "
          f"load {load_before:.2f} -> {os.getloadavg()[0]:.2f}")
    print(json.dumps({"bench": "speculation", "reps": args.reps, "pauses": args.pauses, "pairs": len(saved),
                      "ways": out, "sooner_ms": s, "load_before": load_before, "load_after": os.getloadavg()[0]}))
    rec.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5, help="turns of each utterance per way")
    ap.add_argument("--pauses", action="store_true", help="add requests with a 130-150 ms pause")
    asyncio.run(_main(ap.parse_args()))


if __name__ == "__main__":
    main()
