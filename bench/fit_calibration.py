"""Fit the confidence calibrator (asr/calibration.py) on the dev part of the bench set and
write asr/calibration.json; report it on the held-out parts.

    python bench/fit_calibration.py [--replicas 2] [--precision 0.97] [--write]

Target: whether the hotline's intent decision (``ivr.calls.understand.fuse``) in the main menu is
the caller's intent (out-of-scope requests are never right). Model: scikit-learn's
LogisticRegression (L2, C chosen by grouped cross-validation on dev: the replicas of one text
stay in one fold), on standardised features. The accept threshold is the lowest calibrated
probability at which the dev part's out-of-fold predictions, accepted from the top, still have
the wanted precision; the confirm threshold
is ``--confirm-precision`` itself (a calibrated probability is the precision of the turns
around it: at 0.4, a confirmation question is answered "yes" at least 40% of the time; below
that, asking again costs the caller fewer turns than a question answered "no" and the
question after it). Test and blind are only
measured. Also printed: isotonic regression on the fused posterior alone, for comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import speechset  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "asr" / "calibration.json"
# the extra hearings' agreement and the free decoding's confidence added nothing on dev once
# the transcript's match to the phrases was in (out-of-fold log-loss 0.4657 with them, 0.4643
# without), and leaving them out keeps the recognizer's interface as it is
DEFAULT_FEATURES = ("p_fused,log_margin,p_asr,asr_agrees,matcher_agrees,matcher_confidence,text_match,"
                    "text_margin,log_words,repeated_words,log_seconds")


def dataset(part: str, replicas: int, hot, rec):
    from asr.calibration import features

    X, y, groups, names = [], [], [], None
    for it in speechset.load(part, replicas):
        res = rec.run(it.pcm, "intent")
        fu, ev = hot.evidence(res)
        f = features(ev)
        names = names or list(f)
        X.append([f[n] for n in names])
        y.append(int(fu.intent == it.row.label))
        groups.append(it.row.id)
    return np.array(X, dtype=np.float64), np.array(y), np.array(groups), names


def threshold_for(p: np.ndarray, y: np.ndarray, precision: float, min_accepted: int = 10) -> float:
    """The lowest probability t whose accepted set {p >= t} has at least ``precision`` (the
    largest such set from the top; at least ``min_accepted`` turns, else 1.0)."""
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    cum = np.cumsum(ys) / np.arange(1, len(ys) + 1)
    ok = np.nonzero(cum >= precision)[0]
    ok = ok[ok >= min_accepted - 1]
    if ok.size == 0:
        return 1.0
    k = int(ok[-1])
    # ties: all turns at that probability are accepted together
    return float(ps[k])


def report(name: str, p: np.ndarray, y: np.ndarray, t: float) -> dict:
    acc = p >= t
    return {"set": name, "n": int(len(y)), "right": round(float(y.mean()), 3),
            "accepted": round(float(acc.mean()), 3),
            "accepted_precision": round(float(y[acc].mean()), 3) if acc.any() else None,
            "accepted_wrong": int((acc & (y == 0)).sum())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--precision", type=float, default=0.97)
    ap.add_argument("--confirm-precision", type=float, default=0.4)
    ap.add_argument("--features", default=DEFAULT_FEATURES, help="comma-separated subset ('' for all)")
    ap.add_argument("--write", action="store_true", help="write asr/calibration.json")
    ap.add_argument("--out", default="", help="with --write: write the calibrator here instead of asr/calibration.json")
    ap.add_argument("--held-out", default="test,blind", help="parts measured with the fit ('' for none)")
    ap.add_argument("--min-accept-at", type=float, default=0.0,
                    help="a floor on the accept threshold (the dev curve can be too flat to place it: "
                         "docs/understanding.md, helper embed)")
    ap.add_argument("--dump", default="", help="save the dev out-of-fold and held-out probabilities and "
                    "outcomes to this .npz (for precision curves)")
    ap.add_argument("--derive-from", default="",
                    help="recognizer fingerprint whose cached results, with the audio intent classifier "
                         "(asr/audio_intent.npz) applied, give this recognizer's results exactly "
                         "(bench/recognition.py Recognition.derived): no decoding again")
    ap.add_argument("--derive-base", default="",
                    help="the audio intent classifier (.npz) inside --derive-from's results (main's "
                         "recognizer has one), undone before this recognizer's is applied; e.g. "
                         "`git show 611b51d:asr/audio_intent.npz > /tmp/base.npz` for ebb7dcc957ee2744")
    ap.add_argument("--script-additions", default="",
                    help="YAML of example phrases added to the script (bench/recognition.py --script-additions); "
                         "the recognitions of that script must be cached")
    args = ap.parse_args()
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    from asr.calibration import Calibrator
    from bench.bench_understanding import Hotline
    from bench.recognition import Recognition, load_bench_script

    script = load_bench_script(args.script_additions)
    hot = Hotline(script)
    rec = Recognition(script, derive_from=args.derive_from, derive_base=args.derive_base)
    Xd, yd, gd, names = dataset("dev", args.replicas, hot, rec)
    held = {p: dataset(p, args.replicas, hot, rec)[:2] for p in args.held_out.split(",") if p}
    rec.close()
    keep = [names.index(n) for n in args.features.split(",")] if args.features else list(range(len(names)))
    names = [names[i] for i in keep]
    Xd = Xd[:, keep]
    held = {p: (X[:, keep], y) for p, (X, y) in held.items()}
    mean, scale = Xd.mean(axis=0), Xd.std(axis=0) + 1e-9
    Z = (Xd - mean) / scale
    folds = GroupKFold(n_splits=5)
    best = None
    for C in (0.03, 0.1, 0.3, 1.0, 3.0):
        oof = np.zeros(len(yd))
        for tr, te in folds.split(Z, yd, gd):
            m = LogisticRegression(C=C, max_iter=1000).fit(Z[tr], yd[tr])
            oof[te] = m.predict_proba(Z[te])[:, 1]
        ll = -np.mean(yd * np.log(oof + 1e-9) + (1 - yd) * np.log(1 - oof + 1e-9))
        print(f"C={C}: out-of-fold log-loss {ll:.4f}")
        if best is None or ll < best[0]:
            best = (ll, C, oof)
    _, C, oof = best
    accept_at = max(threshold_for(oof, yd, args.precision), args.min_accept_at)
    # a calibrated probability is the precision of the turns around it: confirm where at
    # least ``confirm_precision`` of the questions would be answered "yes"
    confirm_at = min(args.confirm_precision, accept_at)
    model = LogisticRegression(C=C, max_iter=1000).fit(Z, yd)
    cal = Calibrator(names=tuple(names), mean=tuple(map(float, mean)), scale=tuple(map(float, scale)),
                     coef=tuple(map(float, model.coef_[0])), intercept=float(model.intercept_[0]),
                     accept_at=round(accept_at, 4), confirm_at=round(confirm_at, 4), info={})
    figs = {"dev_out_of_fold": report("dev (out of fold)", oof, yd, accept_at)}
    for p, (X, y) in held.items():
        figs[p] = report(p, np.array([cal.probability(dict(zip(names, row, strict=True))) for row in X]), y, accept_at)
    # comparison: today's fused confidence at the script's accept threshold, and isotonic on it
    i_fused = names.index("p_fused") if "p_fused" in names else None
    if i_fused is not None:
        figs["today_dev"] = report("dev today (fused >= 0.6)", Xd[:, i_fused], yd, 0.6)
        for p, (X, y) in held.items():
            figs[f"today_{p}"] = report(f"{p} today", X[:, i_fused], y, 0.6)
        oof_iso = np.zeros(len(yd))
        for tr, te in folds.split(Z, yd, gd):
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(Xd[tr, i_fused], yd[tr])
            oof_iso[te] = iso.predict(Xd[te, i_fused])
        t_iso = threshold_for(oof_iso, yd, args.precision)
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(Xd[:, i_fused], yd)
        figs["isotonic_dev_out_of_fold"] = report("dev isotonic(fused) oof", oof_iso, yd, t_iso)
        for p, (X, y) in held.items():
            figs[f"isotonic_{p}"] = report(f"{p} isotonic(fused)", iso.predict(X[:, i_fused]), y, t_iso)
    if args.dump:
        np.savez(args.dump, dev_p=oof, dev_y=yd, **{f"{p}_p": np.array([cal.probability(dict(zip(names, row, strict=True)))
                                                                      for row in X]) for p, (X, _) in held.items()},
                 **{f"{p}_y": y for p, (_, y) in held.items()})
    for k, v in figs.items():
        print(f"{k:28s} {v}")
    print("weights:", {n: round(w, 3) for n, w in zip(names, cal.coef, strict=True)})
    print(f"accept_at={cal.accept_at} confirm_at={cal.confirm_at} C={C}")
    info = {"fitted_on": f"bench/data/speech_dev.tsv x {args.replicas} replicas ({len(yd)} turns)",
            "model": f"sklearn LogisticRegression C={C}", "target_precision": args.precision, "min_accept_at": args.min_accept_at,
            "confirm_precision": args.confirm_precision,
            "figures": {k: v for k, v in figs.items() if not k.startswith("isotonic")}}
    cal = Calibrator(**{**cal.__dict__, "info": info})
    if args.write:
        (Path(args.out) if args.out else OUT).write_text(cal.to_json() + "\n", encoding="utf-8")
        print(f"wrote {args.out or OUT}")
    print(json.dumps({"bench": "fit_calibration", "C": C, "accept_at": cal.accept_at, "confirm_at": cal.confirm_at,
                      **figs}, ensure_ascii=False))


if __name__ == "__main__":
    main()
