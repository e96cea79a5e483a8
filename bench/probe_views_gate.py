"""When can the extra hearings be skipped? Offline, from the cached recognitions.

    python bench/probe_views_gate.py [--parts dev,test,blind] [--replicas 2]

The recognizer asks ``RecognitionStream.enough`` with the second stage's result before the
extra hearings (0.9x and 1.1x speed: ~220 ms of a ~540 ms decode); a yes returns that result
as is. That result is exactly what ``bench_understanding.without_views`` derives from a cached
recognition's per-hearing scores. For each cached item of the main menu this compares the live
decision (``Understander.decide`` -> the dialog engine's outcome) with and without the
hearings, grouped by a gate read on the result without them (the calibrated probability of
its decision on the script's ladder, ``Understood.confidence``, or an emergency), and with
the live gate itself (``Understander.decisive`` on the second pass). A gate is safe when no item it
passes changes the dialog's outcome. Prints, per gate bar: items passed (views skipped),
outcomes changed among them, and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataclasses import replace  # noqa: E402

from bench import speechset  # noqa: E402

BARS = (0.6, 0.62, 0.65, 0.7, 0.75, 0.8, 0.9, 0.99)  # on the script's ladder (accept: 0.6)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="dev")
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--verbose", action="store_true", help="list the changed outcomes (dev only)")
    args = ap.parse_args()
    from asr.calibration import Calibrator
    from bench.bench_understanding import Hotline, without_views
    from bench.recognition import Recognition, expectation_for, load_bench_script
    from bench.understanding import outcome
    from dialogs.emergency import DEFAULT as detector

    script = load_bench_script()
    hot = Hotline(script, Calibrator.load(), detector)
    rec = Recognition(script)
    exp = expectation_for(script, "intent")
    temperature = rec.engine.options.temperature
    enough = hot.understander.decisive(hot.listen)  # the live gate (second pass: SECOND_PASS_AT)
    out: dict = {"bench": "views_gate", "recognizer": rec.fingerprint, "parts": {}}
    for part in args.parts.split(","):
        items = [it for it in speechset.load(part, args.replicas) if rec.key(it.pcm, exp) in rec.known]
        rows = []
        for it in items:
            res = rec.run(it.pcm, "intent")
            nv = without_views(res, temperature)
            u_v = hot.understander.decide(res.transcript(), hot.listen)
            u_nv = hot.understander.decide(nv.transcript(), hot.listen)
            o_v = outcome(script, u_v.text, u_v.confidence, u_v.intent, u_v.emergency)
            o_nv = outcome(script, u_nv.text, u_nv.confidence, u_nv.intent, u_nv.emergency)
            gate = 2.0 if u_nv.emergency == "now" else (u_nv.confidence if u_nv.intent is not None else 0.0)
            live = enough(replace(nv.transcript(), stage="second"))
            rows.append((it, gate, live, o_v, o_nv, u_v, u_nv))
        res_part = {"items": len(rows), "changed_anyway": sum(r[3] != r[4] for r in rows), "bars": []}
        for bar in BARS:
            passed = [r for r in rows if r[1] >= bar]
            changed = [r for r in passed if r[3] != r[4]]
            worse = [r for r in changed if (r[3].intent == r[0].row.label) and r[4].intent != r[0].row.label]
            res_part["bars"].append({"bar": bar, "skipped": round(len(passed) / max(1, len(rows)), 3),
                                     "changed": len(changed), "changed_for_worse": len(worse)})
            if args.verbose and part == "dev":
                for r in changed:
                    print(f"  bar {bar}: {r[0].key} {r[0].row.label}: with {r[3]} / without {r[4]} p={r[1]:.3f}")
        passed = [r for r in rows if r[2]]
        for r in passed:  # what the live gate changes (any part: the gate was chosen on dev)
            if r[3] != r[4]:
                print(f"  live gate changed {r[0].key} ({r[0].row.kind}, truth {r[0].row.label}): "
                      f"with hearings {r[3].how}:{r[3].intent} / without {r[4].how}:{r[4].intent}")
        res_part["live_gate"] = {"skipped": round(len(passed) / max(1, len(rows)), 3),
                                 "changed": sum(r[3] != r[4] for r in passed),
                                 "changed_emergency": sum(r[3] != r[4] and r[6].emergency == "now" for r in passed)}
        out["parts"][part] = res_part
        print(f"== {part}: {len(rows)} cached items; outcome changed by the hearings: {res_part['changed_anyway']}")
        for b in res_part["bars"]:
            print(f"  ladder >= {b['bar']:<5} skipped {b['skipped']:.3f}  changed {b['changed']} (for worse {b['changed_for_worse']})")
        print(f"  live gate (Understander.decisive, second pass): {res_part['live_gate']}")
    rec.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
