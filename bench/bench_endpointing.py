"""End of turn, offline: how often a caller who pauses mid-request would be cut off, and how
much of the fixed hangover a content-aware decision saves on complete requests.

    python bench/bench_endpointing.py [--part pauses-dev|pauses-test|pauses] [--replicas 2]

For every request of bench/data/speech_pauses.tsv (pauses after fillers, before numbers, after
words that need a continuation, between clauses; lengths drawn per replica) the recognizer's
speculative result is computed as the live stream computes it: on the audio up to 160 ms of
trailing silence, at each pause and at the end of speech. ``asr.endpointing.EndOfTurn`` turns
that early result into the trailing silence the turn needs (``wait_ms``):

* a pause longer than the wait is a cut-off (the caller is interrupted mid-request); "harmful"
  when the early result's decision differs from the whole request's;
* at the end of speech the wait is the hangover spent (today: a fixed 600 ms);
* with a second look (``IVR_TURN_SECOND_LOOK_MS``, ``--second-look``), speech that resumes
  within the grace after the decision joins the turn: a pause is a cut-off only when it is
  longer than the wait plus the grace (the end waits do not change).

The intent confidence the decision reads is the calibrated probability (asr/calibration.json)
when present, else the fused posterior. The same is measured on the complete requests of the
understanding set (``--fluent``: no pauses, the whole utterance's result) for the hangover.
Figures are medians with min-max over the replicas; one JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import speechset  # noqa: E402
from bench.understanding import spread  # noqa: E402

SPECULATE_S = 0.16
FIXED_MS = 600


def expectation(row) -> "TurnExpectation":  # noqa: F821 - imported lazily
    from asr.endpointing import TurnExpectation

    kind = row.expect.split(":")[0]
    if kind == "digits":
        lo, _, hi = row.expect.split(":")[1].partition("-")
        return TurnExpectation("digits", int(lo), int(hi or lo))
    return TurnExpectation(kind)


class Early:
    """The early result of a prefix and the decision it leads to."""

    def __init__(self, script, rec, calibrator) -> None:
        from bench.bench_understanding import Hotline

        self.script = script
        self.rec = rec
        self.hot = Hotline(script)
        self.calibrator = calibrator

    def __call__(self, pcm: bytes, row):
        from asr.endpointing import EarlyResult
        from asr.prosody import ending

        end = ending(pcm)  # how the voice ends (the live media reads the same audio)
        cont = bool(end and end.continues)
        res = self.rec.run(pcm, row.expect.split(":")[0] if not row.expect.startswith("digits") else "digits")
        kind = row.expect.split(":")[0]
        seconds = len(pcm) / 2 / 8000  # the audio decoded (the live stream's early.audio_seconds)
        if kind == "intent":
            fu, ev = self.hot.evidence(res)
            conf = self.calibrator.probability(ev) if self.calibrator else fu.confidence
            return EarlyResult(res.text, conf, seconds, cont), fu.intent
        if kind == "yesno":
            from dialogs.engine import yes_or_no

            return EarlyResult(res.text, 1.0 if yes_or_no(res.text) else 0.0, seconds, cont), yes_or_no(res.text)
        return EarlyResult(res.text, 0.0, seconds, cont), res.text


def observe(part: str, replicas: int, early) -> list[tuple]:
    """Per request: (item, expectation, early result at the end, its decision, [(early result
    at a pause, its decision, pause length ms)])."""
    rows = []
    for it in speechset.load(part, replicas):
        exp = expectation(it.row)
        end, decision = early(_prefix(it.pcm, it.speech_end_s), it.row)
        mids = [(*early(_prefix(it.pcm, a), it.row), (b - a) * 1000) for a, b in it.pauses]
        rows.append((it, exp, end, decision, mids))
    return rows


def evaluate(rows: list[tuple], replicas: int, decider, verbose: bool = False, grace_ms: int = 0) -> dict:
    """``grace_ms``: the second look (speech resuming this long after the decision joins the turn)."""
    per_rep: dict[int, dict] = {}
    for rep in range(replicas):
        n_utt = cut_utt = cut_fixed = harm = n_pause = cut_pause = 0
        ends, reasons = [], {}
        for it, exp, end_res, whole_decision, mids in rows:
            if it.replica != rep:
                continue
            end = decider.decide(end_res, exp)
            ends.append(end.wait_ms)
            reasons[end.reason] = reasons.get(end.reason, 0) + 1
            n_utt += 1
            cut_here = harm_here = fixed_here = False
            for res, decision, length_ms in mids:
                n_pause += 1
                d = decider.decide(res, exp)
                if length_ms > d.wait_ms + grace_ms:
                    cut_pause += 1
                    cut_here = True
                    harm_here |= decision != whole_decision
                    if verbose:
                        print(f"  CUT {it.key} pause {length_ms:.0f} ms > {d.wait_ms}+{grace_ms} ({d.reason}) "
                              f"early={res.text!r} conf={res.confidence:.2f} continues={res.continues} "
                              f"| {it.row.text}")
                fixed_here |= length_ms > FIXED_MS
            cut_utt += cut_here
            harm += harm_here
            cut_fixed += fixed_here
        per_rep[rep] = {
            "requests": n_utt, "pauses": n_pause,
            "cut_off_requests": round(cut_utt / n_utt, 3), "cut_off_pauses": round(cut_pause / max(1, n_pause), 3),
            "harmful_cut_off_requests": round(harm / n_utt, 3),
            "fixed_600_cut_off_requests": round(cut_fixed / n_utt, 3),
            "end_wait_ms_median": statistics.median(ends), "end_wait_ms_mean": round(statistics.mean(ends)),
            "end_saved_ms_mean": round(FIXED_MS - statistics.mean(ends)),
            "end_short_share": round(sum(e == decider.short_ms for e in ends) / len(ends), 3),
            "end_reasons": reasons,
        }
    keys = [k for k, v in per_rep[0].items() if isinstance(v, int | float)]
    out = {k: spread(per_rep[r][k] for r in per_rep) for k in keys}
    out["end_reasons_replica0"] = per_rep[0]["end_reasons"]
    return out


def fluent(replicas: int, deciders: dict, early) -> dict:
    """Complete requests of the understanding set (dev and test): the hangover at their end."""
    from asr.endpointing import TurnExpectation

    out = {}
    for part in ("dev", "test"):
        items = speechset.load(part, replicas)
        results = [(it.replica, early(it.pcm, it.row)[0]) for it in items]
        for name, decider in deciders.items():
            waits = [[] for _ in range(replicas)]
            for rep, res in results:
                waits[rep].append(decider.decide(res, TurnExpectation("intent")).wait_ms)
            out[f"{part}_{name}"] = {
                "end_wait_ms_mean": spread(statistics.mean(w) for w in waits),
                "short_share": spread(sum(x == decider.short_ms for x in w) / len(w) for w in waits),
                "long_share": spread(sum(x == decider.long_ms for x in w) / len(w) for w in waits)}
    return out


def _prefix(pcm: bytes, at_s: float) -> bytes:
    n = int((at_s + SPECULATE_S) * 8000) * 2
    return pcm[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", default="pauses-dev")
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--verbose", action="store_true", help="print every cut-off (not for the held-out part)")
    ap.add_argument("--fluent", action="store_true", help="also the hangover on the complete requests")
    ap.add_argument("--sweep", action="store_true", help="also the trade-off over decider settings")
    ap.add_argument("--second-look", default="",
                    help="graces (ms, comma-separated) of the second look to measure (default: the "
                         "IVR_TURN_SECOND_LOOK_MS setting's default and 100-500)")
    ap.add_argument("--derive-from", default="",
                    help="another recognizer fingerprint whose cached results, with this audio intent classifier "
                         "applied, are this recognizer's (bench/recognition.py Recognition.derived)")
    ap.add_argument("--derive-base", default="",
                    help="the audio intent classifier (.npz) inside --derive-from's results, undone first")
    args = ap.parse_args()
    from asr.calibration import DEFAULT_PATH, Calibrator
    from asr.endpointing import EndOfTurn
    from dialogs import default_script_path, load_script

    from bench.recognition import Recognition

    if args.verbose and args.part != "pauses-dev":
        raise SystemExit("--verbose only on pauses-dev (the rules are chosen there)")
    script = load_script(default_script_path())
    speechset.load(args.part, args.replicas)  # render before the recognizer loads
    rec = Recognition(script, derive_from=args.derive_from, derive_base=args.derive_base)
    calibrator = Calibrator.load() if DEFAULT_PATH.exists() else None
    from ivr.config.settings import Settings

    decider = EndOfTurn()
    early = Early(script, rec, calibrator)
    rows = observe(args.part, args.replicas, early)
    grace = int(Settings.model_fields["turn_second_look_ms"].default)
    graces = [int(g) for g in args.second_look.split(",") if g] or sorted({grace, 100, 200, 300, 400, 500})
    result = {"bench": "endpointing", "part": args.part, "replicas": args.replicas,
              "decider": decider.__dict__, "calibrated": calibrator is not None,
              "pauses": evaluate(rows, args.replicas, decider, args.verbose),
              # the second look at the setting's default (the decider as above)
              "second_look": {"grace_ms": grace, **evaluate(rows, args.replicas, decider, args.verbose, grace)},
              # phase 5's decider: the words, the confidence and the audio's length, not the voice
              "no_prosody": evaluate(rows, args.replicas, EndOfTurn(prosody=False)),
              "fixed_600": evaluate(rows, args.replicas, EndOfTurn(short_ms=600, normal_ms=600, long_ms=600,
                                                                    free_ms=600, confident_at=2.0, brief_s=0.0)),
              # phase 3's waits: 250 ms when confident (>= 0.6), 1,300 ms otherwise (its word lists
              # are today's: "saya" no longer looks cut)
              "phase3": evaluate(rows, args.replicas, EndOfTurn(short_ms=250, normal_ms=1300, long_ms=1300,
                                                                free_ms=1300, confident_at=0.6, brief_s=0.0))}
    if args.sweep:
        import itertools

        result["sweep"] = []
        for unsure, long_ms, brief in itertools.product((900, 1000, 1300), (1300, 1600), (0.0, 1.6, 2.0, 2.4, 2.8)):
            d = EndOfTurn(normal_ms=unsure, long_ms=long_ms, brief_s=brief)
            f = evaluate(rows, args.replicas, d)
            result["sweep"].append({"unsure_ms": unsure, "long_ms": long_ms, "brief_s": brief,
                                    **{k: f[k]["median"] for k in ("cut_off_requests", "harmful_cut_off_requests",
                                                                   "end_wait_ms_mean", "end_short_share")}})
    result["second_look_graces"] = {
        g: {k: evaluate(rows, args.replicas, decider, grace_ms=g)[k]
            for k in ("cut_off_requests", "harmful_cut_off_requests", "cut_off_pauses")}
        for g in graces}
    result["second_look_no_prosody"] = {
        g: evaluate(rows, args.replicas, EndOfTurn(prosody=False), grace_ms=g)["cut_off_requests"] for g in graces}
    if args.fluent:
        result["fluent"] = fluent(args.replicas, {"now": decider, "no_prosody": EndOfTurn(prosody=False)}, early)
    rec.close()
    for k, v in result.items():
        print(f"{k}: {v}")
    result["recognitions"] = {"computed": rec.computed, "derived": rec.derived_count, "derived_from": args.derive_from or None}
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
