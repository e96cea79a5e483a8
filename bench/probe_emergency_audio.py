"""The audio's emergency readings (``Transcript.emergency_audio``) against the thresholds of
``ivr.calls.understand.heard_emergency``, on the live hotline's main-menu decision (what
``bench/bench_understanding.py`` calls ``voice_live``), for a grid of thresholds, on one part:

    python bench/probe_emergency_audio.py --part dev --derive-from <fp> --derive-base <npz> \
        [--heads 0.5,0.6] [--intents 0.2,0.5] [--dump /tmp/readings.json]

Prints the borderline turns (``dialogs.emergency`` "maybe", not vetoed) with both readings and
the intent reading of the derive-from results (the frozen copy's, when those were made before
phase 6 emerg3) with ``--rows``, why each emergency is or is not acted on at once with
``--buckets``, then per threshold pair: emergencies acted on at once, false emergencies,
passing mentions routed on the first turn, decision accuracy, accepted precision (medians over
the replicas, live / calm / panic). Choose on dev only (``--part`` refuses blind's rows).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import speechset  # noqa: E402
from bench.understanding import Case, by_replica  # noqa: E402

SHOW = ("emergency_acted_at_once", "false_emergencies", "passing_routed_first_turn", "decision_accuracy",
        "accepted_precision", "emergency_number_first_reply")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", default="dev")
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--derive-from", default="")
    ap.add_argument("--derive-base", default="")
    ap.add_argument("--heads", default="0.3,0.4,0.5,0.6,0.7,0.8")
    ap.add_argument("--intents", default="0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8")
    ap.add_argument("--rows", action="store_true", help="print the borderline turns (not for blind)")
    ap.add_argument("--buckets", action="store_true",
                    help="count the part's spoken emergencies by why they are (not) acted on at once")
    ap.add_argument("--reasons", default="maybe",
                    help="the detector's readings the rule may act on (maybe, or maybe,near)")
    args = ap.parse_args()
    if args.rows and args.part == "blind":
        raise SystemExit("the blind part is not inspected item by item")
    import ivr.calls.understand as und

    und.EMERGENCY_AUDIO_REASONS = tuple(args.reasons.split(","))
    from asr.calibration import DEFAULT_PATH, Calibrator
    from dialogs.emergency import DEFAULT as detector
    from dialogs.emergency import VETO_REASONS

    from bench.bench_understanding import KEYS, Hotline
    from bench.recognition import Recognition, load_bench_script

    script = load_bench_script("")
    items = speechset.load(args.part, args.replicas)
    hot = Hotline(script, Calibrator.load(DEFAULT_PATH), detector, emergency_audio=True)
    rec = Recognition(script, derive_from=args.derive_from, derive_base=args.derive_base)
    res = {it.key: rec.run(it.pcm, "intent") for it in items}
    if args.rows:
        for it in items:
            r = res[it.key]
            fu = hot.understander.fused(r.transcript(), hot.listen)
            v = detector.from_speech(fu.text, fu.scores)
            if v.reason not in und.EMERGENCY_AUDIO_REASONS or r.emergency_audio is None:
                continue
            base = rec.base.get(it.key)
            old = base.emergency_audio[1] if base is not None and base.emergency_audio else None
            print(f"  {it.key:12s} {it.row.kind:10s} {it.row.label:14s} vetoed={int(detector.audio_vetoed(fu.text))} "
                  f"head={r.emergency_audio[0]:.3f} intent={r.emergency_audio[1]:.3f} old_intent={old} "
                  f"| {it.row.text[:60]} | heard: {fu.text[:50]}")

    if args.buckets:
        for key, n in sorted(buckets(items, res, hot, detector, und).items()):
            print(f"  {n:4d}  {key}")

    def run(variant: str) -> dict:
        def cases_of(rep: int) -> list[Case]:
            cs = []
            for it in items:
                if it.replica != rep:
                    continue
                if it.row.kind == "emergency" and variant in ("calm", "panic") \
                        and ("panic" in it.row.tags) != (variant == "panic"):
                    continue
                guess, decided, o = hot.live(res[it.key])
                cs.append(Case(it.key, it.row.label, it.row.kind, guess, decided, o))
            return cs
        return by_replica(cases_of, args.replicas, KEYS)

    def cell(v: dict) -> str:
        return str(v["median"]) if v.get("min") == v.get("max") else f"{v['median']} [{v['min']}-{v['max']}]"

    grid = [(None, None)] + [(float(h), float(i)) for h in args.heads.split(",") for i in args.intents.split(",")]
    for h, i in grid:
        hot.understander.emergency_audio = h is not None
        if h is not None:
            und.EMERGENCY_HEAD_AT, und.EMERGENCY_INTENT_AT = h, i
        line = []
        for variant in ("live", "calm", "panic"):
            f = run(variant)
            keys = SHOW if variant == "live" else SHOW[:1]
            line.append(f"{variant}: " + " ".join(f"{k.split('_')[0]}={cell(f[k])}" for k in keys))
        print(f"head>={h} intent>={i} | " + " | ".join(line), flush=True)


def buckets(items, res, hot, detector, und) -> dict[str, int]:
    """Why each spoken emergency is, or is not, acted on at once (live hotline, the audio rule at
    the module's thresholds): the words, the scores, the detector's "maybe" / "near" zones and which
    audio reading is short, the words' veto."""
    from collections import Counter

    out: Counter[str] = Counter()
    for it in items:
        if it.row.kind != "emergency":
            continue
        r = res[it.key]
        fu = hot.understander.fused(r.transcript(), hot.listen)
        v = detector.from_speech(fu.text, fu.scores)
        head, intent = r.emergency_audio if r.emergency_audio else (0.0, 0.0)
        acts = und.heard_emergency(r.transcript().emergency_audio, v.reason, detector.audio_vetoed(fu.text))
        low = [name for name, short in (("head", head < und.EMERGENCY_HEAD_AT),
                                         ("intent", intent < und.EMERGENCY_INTENT_AT)) if short]
        if v.emergency:
            key = f"acted on at once by default ({v.reason})"
        elif v.reason in VETO_REASONS:
            key = "vetoed by the words"
        elif v.reason in ("maybe", "near"):
            key = f"{v.reason}: " + ("the audio rule acts" if acts else
                                     "audio vetoed by a request word" if detector.audio_vetoed(fu.text) else
                                     ("low: " + " and ".join(low) if low else "readings high, zone not taken"))
        else:
            key = "nothing (darurat under near_min)"
        out[key] += 1
    return dict(out)


if __name__ == "__main__":
    main()
