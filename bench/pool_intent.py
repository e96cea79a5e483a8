"""Experiment (issue 16, phase 6, helper pool): poolings of the encoder output that keep some
order (where in the utterance a sound came) for the audio intent classifier, on the frames
cached by bench/pool_frames.py.

    python bench/pool_intent.py --segments 0,2,3,4 [--c 0.003,0.01,0.03] --fingerprint FP \
        --base-classifier <main's npz> [--write]

For each pooling (``asr.audio_intent.pool`` with ``segments``): the regularisation by the
classifier's dev accuracy alone, then the fusion weight by the fused dev accuracy (dev figure
out of fold, two folds by row, as bench/embed_intent.py); test and blind printed beside.
``--write`` stores the pooling chosen on dev (fused dev out-of-fold top-1) as
asr/audio_intent.npz. ``--models a.npz,b.npz+c.npz+d.npz``: fitted models (and ensembles of
several, phase 7) evaluated the same way, with ``untouched_floor`` 0.06 unless told. Prints figures and one JSON line per pooling.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asr.audio_intent import AudioIntentModel, pool  # noqa: E402
from bench import embed_intent, speechset  # noqa: E402

WEIGHTS = [0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0]


def load_frames(name: str) -> dict:
    root = speechset.cache_dir() / "embed"
    paths = sorted(root.glob(f"frames-{name}.*.npz"), key=lambda p: p.stat().st_mtime)
    if not paths:
        raise SystemExit(f"no frames of {name}: run bench/pool_frames.py")
    z = np.load(paths[-1])
    return {k: z[k] for k in z.files}


def load_model(spec: str) -> AudioIntentModel:
    """The model in a file, or the ensemble of files joined by '+'."""
    models = [AudioIntentModel.load(v) for v in spec.split("+")]
    if any(m is None for m in models):
        raise SystemExit(f"no model in {spec}")
    ok = [m for m in models if m is not None]
    return ok[0] if len(ok) == 1 else AudioIntentModel.ensemble(ok)


def pooled(fr: dict, segments: int, model: AudioIntentModel | None = None) -> np.ndarray:
    """Each utterance's features (``pool`` with ``segments``, or ``model.features``)."""
    off = fr["offsets"]
    f = fr["frames"]
    if model is not None:
        return np.stack([model.features(f[off[i]:off[i + 1]], 1e9) for i in range(len(off) - 1)])
    return np.stack([pool(f[off[i]:off[i + 1]], 1e9, segments) for i in range(len(off) - 1)])


def bench_posteriors(parts: list[str], fp: str, labels: list[str], base: AudioIntentModel | None,
                     frames: dict) -> dict:
    """part -> in-scope renderings with cached recognition: indices, recognizer posteriors
    (the base classifier undone), true label index, rows, held-out voice."""
    from bench.recognition import expectation_for, load_bench_script

    script = load_bench_script()
    results = embed_intent.cached_results(fp)
    ekey = repr(expectation_for(script, "intent").key()).encode()
    cache = speechset.AudioCache()
    out = {}
    for p in parts:
        items = speechset.load(p, 2, cache)
        assert len(items) == len(frames[p]["offsets"]) - 1
        keys = [hashlib.sha256(it.pcm + ekey).hexdigest()[:24] for it in items]
        keep = [i for i, it in enumerate(items) if it.row.label != "none" and keys[i] in results]
        post = np.array([[results[keys[i]]["scores"].get(lab, 0.0) for lab in labels] for i in keep])
        if base is not None and keep:
            x0 = pooled(frames[p], base.segments)[keep]
            adj0 = base.weight * base.log_proba(x0, labels)
            post = np.stack([base.unfuse(row, labels, a) for row, a in zip(post, adj0, strict=True)])
        out[p] = {"idx": np.array(keep), "post": post, "y": np.array([labels.index(items[i].row.label) for i in keep]),
                  "rows": [items[i].row.id for i in keep],
                  "held": np.array([embed_intent.voice_of(items[i]) in embed_intent.HELD_OUT for i in keep]),
                  "in_scope": np.array([i for i, it in enumerate(items) if it.row.label != "none"]),
                  "y_all": np.array([labels.index(it.row.label) if it.row.label != "none" else -1 for it in items])}
        print(f"{p}: {len(keep)} of {len(out[p]['in_scope'])} in-scope renderings have cached recognition ({fp})",
              flush=True)
    return out


def evaluate(clf: AudioIntentModel, xs: dict, data: dict, labels: list[str], untouched: tuple[str, ...],
             weight: float = -1.0) -> dict:
    def fused(d, x, w):
        m = replace(clf, weight=w, untouched=untouched)
        adj = w * clf.log_proba(x, labels)
        return np.stack([m.fuse(p, labels, a) for p, a in zip(d["post"], adj, strict=True)])

    def acc(d, x, w, mask=None):
        ok = fused(d, x, w).argmax(1) == d["y"]
        return float(ok[mask].mean()) if mask is not None else float(ok.mean())

    dev = data["dev"]
    xdev = xs["dev"][dev["idx"]]
    w_all = max(WEIGHTS, key=lambda w: acc(dev, xdev, w)) if weight < 0 else weight
    rows = sorted(set(dev["rows"]))
    fold = np.array([rows.index(r) % 2 for r in dev["rows"]])
    oof = np.zeros(len(fold), dtype=bool)
    for k in (0, 1):
        w_k = max(WEIGHTS, key=lambda w: acc(dev, xdev, w, fold != k))
        oof[fold == k] = (fused(dev, xdev, w_k).argmax(1) == dev["y"])[fold == k]
    rep = {"w": w_all}
    for p, d in data.items():
        x = xs[p][d["idx"]]
        a = d["post"].argmax(1) == d["y"]
        b = clf.log_proba(x, labels).argmax(1) == d["y"]
        c = oof if p == "dev" else fused(d, x, w_all).argmax(1) == d["y"]
        h = d["held"]
        sweep = {w: round(acc(d, x, w), 3) for w in WEIGHTS}
        rep[p] = {"n": int(len(a)), "phrase": round(float(a.mean()), 3), "classifier": round(float(b.mean()), 3),
                  "fused": round(float(c.mean()), 3), "fused_in_sample": sweep[w_all], "held_n": int(h.sum()),
                  "held": [round(float(v[h].mean()), 3) for v in (a, b, c)],
                  "seen": [round(float(v[~h].mean()), 3) for v in (a, b, c)], "sweep": sweep}
    return rep


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--segments", default="0,2,3,4", help="poolings to fit logistic regressions on ('' none)")
    ap.add_argument("--models", default="", help="fitted models (.npz, e.g. bench/pool_conv.py's) to evaluate too; "
                    "a+b+c: the ensemble of those files (AudioIntentModel.ensemble)")
    ap.add_argument("--untouched-floor", type=float, default=0.06,
                    help="the models' untouched_floor (as shipped since phase 6); -1: each file's own")
    ap.add_argument("--c", default="0.003,0.01,0.03")
    ap.add_argument("--replicas", type=int, default=24)
    ap.add_argument("--phrase-replicas", type=int, default=12)
    ap.add_argument("--parts", default="dev,test,blind")
    ap.add_argument("--fingerprint", default="")
    ap.add_argument("--base-classifier", default="")
    ap.add_argument("--untouched", default="darurat")
    ap.add_argument("--weight", type=float, default=-1.0)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()

    from bench.recognition import load_bench_script

    labels = list(load_bench_script().expectations("main_menu"))
    parts = args.parts.split(",")
    frames = {p: load_frames(p) for p in parts}
    train = [load_frames(f"train{args.replicas}")] + ([load_frames(f"phrases{args.phrase_replicas}")]
                                                      if args.phrase_replicas else [])
    ytr = [str(v) for fr in train for v in fr["labels"]]
    fp = args.fingerprint or embed_intent.latest_fingerprint()
    base = AudioIntentModel.load(args.base_classifier) if args.base_classifier else None
    data = bench_posteriors(parts, fp, labels, base, frames)
    untouched = tuple(v for v in args.untouched.split(",") if v)
    best = None
    cands = ([("seg", int(v)) for v in args.segments.split(",") if v]
             + [("file", v) for v in args.models.split(",") if v])
    for kind, seg in cands:
        t0 = time.perf_counter()
        dev_in = data["dev"]["in_scope"]
        dev_y = data["dev"]["y_all"][dev_in]
        if kind == "file":
            clf = load_model(seg)
            if args.untouched_floor >= 0:
                clf = replace(clf, untouched_floor=args.untouched_floor)
            xs = {p: pooled(frames[p], 0, clf) for p in parts}
            c, xtr = seg, xs["dev"]
            print(f"{seg}: classifier alone, dev top-1 "
                  f"{float(np.mean(clf.log_proba(xs['dev'][dev_in], labels).argmax(1) == dev_y)):.3f}", flush=True)
        chosen = None
        for c in map(float, args.c.split(",") if kind == "seg" else ()):
            if chosen is None:
                xtr = np.concatenate([pooled(fr, seg) for fr in train])
                xs = {p: pooled(frames[p], seg) for p in parts}
            t1 = time.perf_counter()
            clf = replace(embed_intent.fit_classifier(xtr, ytr, labels, c), segments=seg)
            a = float(np.mean(clf.log_proba(xs["dev"][dev_in], labels).argmax(1) == dev_y))
            print(f"segments {seg} C={c}: classifier alone, dev top-1 {a:.3f} (fit {time.perf_counter() - t1:.0f} s)",
                  flush=True)
            if chosen is None or a > chosen[0]:
                chosen = (a, c, clf)
        if chosen is not None:
            _, c, clf = chosen
        rep = evaluate(clf, xs, data, labels, untouched, args.weight)
        one = np.asarray(np.random.default_rng(0).standard_normal((150, 512)), dtype=np.float32)
        c0 = time.process_time()
        for _ in range(500):
            clf.log_proba(clf.features(one, 3.0), labels)
        rep.update({"segments": seg, "C": c, "features": int(xtr.shape[1]), "fingerprint": fp,
                    "apply_cpu_ms": round((time.process_time() - c0) / 500 * 1000, 3),
                    "seconds": round(time.perf_counter() - t0)})
        for p in parts:
            r = rep[p]
            print(f"  {p:6} n {r['n']} (a) {r['phrase']} (b) {r['classifier']} (c) {r['fused']} "
                  f"[in sample {r['fused_in_sample']}]  held-out {r['held_n']}: {r['held']}  sweep {r['sweep']}")
        print(json.dumps(rep), flush=True)
        if best is None or rep["dev"]["fused"] > best[0]["dev"]["fused"]:
            best = (rep, clf)
    if args.write and best is not None:
        from asr.audio_intent import DEFAULT_PATH

        rep, clf = best
        replace(clf, weight=float(rep["w"]), untouched=untouched).save(DEFAULT_PATH)
        print(f"wrote {DEFAULT_PATH} (segments {rep['segments']}, C {rep['C']}, w {rep['w']}; "
              f"{DEFAULT_PATH.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
