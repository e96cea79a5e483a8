"""How often the main menu tells a spoken request "di luar layanan kami" (the out_of_scope
prompt), by kind of request: out-of-scope ones should, services, globals and emergencies
should not. Dev part of the spoken set (bench/speechset.py), live understander, the engine
given the transcript and the recognizer's decision.

    PYTHONPATH=. python bench/probe_out_of_scope.py [--part dev] [--replicas 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", default="dev")
    ap.add_argument("--replicas", type=int, default=1)
    args = ap.parse_args()

    from asr import audio
    from bench import speechset
    from dialogs import CallStarted, DialogEngine, Heard, Say, default_script_path, load_script
    from ivr.calls.engines import build_recognizer
    from ivr.calls.understand import live_understander
    from ivr.config.settings import load_settings

    script = load_script(default_script_path())
    told = script.settings.prompts["out_of_scope"][0].text
    items = speechset.load(args.part, replicas=args.replicas)
    rec = build_recognizer(load_settings())
    und = live_understander(rec, script)
    listen = script.listen_action("main_menu")
    counts: Counter[tuple[str, str]] = Counter()
    lines: list[str] = []
    t0 = time.monotonic()

    async def run() -> None:
        for it in items:
            res = await und.understand_pcm(audio.resample(it.pcm, 8000, 16000), 16000, listen)
            e = DialogEngine(script)
            e.handle(CallStarted())
            out = e.handle(Heard(res.text, res.confidence, intent=res.intent, emergency=res.emergency))
            said = " ".join(a.text for a in out if isinstance(a, Say))
            kind = it.row.kind
            counts[(kind, "n")] += 1
            if told in said:
                counts[(kind, "told")] += 1
                lines.append(f"  {kind} {it.row.id} {it.row.text!r} -> {res.intent} {res.confidence:.2f} {res.text!r}")

    try:
        asyncio.run(run())
    finally:
        rec.close()
    kinds = sorted({k for k, _ in counts})
    for k in kinds:
        print(f"{k}: told out of scope {counts[(k, 'told')]} of {counts[(k, 'n')]}")
    print(f"({time.monotonic() - t0:.0f} s)")
    for line in lines:
        print(line)
    print(json.dumps({"bench": "probe_out_of_scope", "part": args.part, "replicas": args.replicas,
                      "counts": {f"{k}_{m}": v for (k, m), v in counts.items()}}))


if __name__ == "__main__":
    main()
