"""Experiment (issue 16, deliverable 3): an intent classifier on the audio itself, fused with
the recognizer's phrase-score posteriors.

Features: the Whisper-base encoder output the recognizer already computes for an utterance
(the same fitted window), pooled over the frames that hold the audio (mean, max and standard
deviation per channel: 3 x 512 values). Classifier: multinomial logistic regression over the
standardised features (scikit-learn at fit time; applying it is one matrix product).

Training audio is made from the default script's own example phrases of the main menu (never
from the bench TSV texts), each said in several conditions drawn like the bench's
(bench/speechset.py: espeak-ng voice variant, rate, pitch, level, noise, echo, clipping, codec,
packet loss) but from voice variants of which a quarter (``HELD_OUT``) is never used for
training, so that accuracy on bench items in those voices tells whether the classifier learnt
Indonesian or the synthesiser. Some renderings wrap the example in a carrier ("halo, ...",
"eh, ...", "..., pak").

Evaluation on dev, test and blind (main menu, in-scope items: label != none), with the
recognizer's cached results (bench/recognition.py, read only): top-1 of (a) the phrase-score
posterior alone, (b) the classifier alone, (c) the fusion ``log p_asr + w log p_clf`` with
``w`` chosen on dev (dev figure out of fold: two folds by row).

    python bench/embed_intent.py --replicas 24 [--parts dev,test,blind] [--fingerprint FP] [--write]
    python bench/embed_intent.py --check 12 --fingerprint FP

Since phase 5 the training speech also holds ``--phrases`` (bench/data/intent_training.tsv,
``--phrase-replicas`` renderings each), and results cached by a recognizer that already had a
classifier are read through ``--base-classifier`` (that classifier undone). The shipped file:

    git show 611b51d:asr/audio_intent.npz > /tmp/base.npz
    python bench/embed_intent.py --replicas 24 --phrase-replicas 12 --fingerprint ebb7dcc957ee2744 \
        --base-classifier /tmp/base.npz --c 0.01 --weight 0.3 --write

``--write`` stores the classifier with the chosen weight as asr/audio_intent.npz (the shipped
one: ``--replicas 24`` on the results of fingerprint 891ffa87864b7401); ``--check`` compares
real recognitions with the shipped file to the results derived from FP's. Features are cached
under ``<bench cache>/embed/``. Prints figures and one JSON line.

Since phase 6 the shipped file is not this script's logistic model but a convolution over the
encoder frames (bench/pool_frames.py, bench/pool_conv.py, bench/pool_intent.py; see
docs/understanding.md, "Phase 6 (helper pool)"); ``--write`` here would replace it.
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

from asr.audio_intent import AudioIntentModel  # noqa: E402
from bench import speechchain, speechset  # noqa: E402

HELD_OUT = tuple(v for i, v in enumerate(speechset.VARIANTS) if i % 4 == 3)
TRAIN_VARIANTS = tuple(v for v in speechset.VARIANTS if v not in HELD_OUT)
CARRIERS = ("{x}", "halo, {x}", "eh, {x}", "{x}, pak", "permisi bu, {x}", "saya mau tanya, {x}",
            "anu... {x}", "{x}, tolong dibantu")
FEATURE_REV = 1


def voice_of(item) -> str:
    v = item.voice.voice
    return v.partition("+")[2]


PHRASES = Path(__file__).resolve().parent / "data" / "intent_training.tsv"


def load_phrases(path: str | Path) -> dict[str, list[str]]:
    """label -> phrases of a training-phrase file (``label<TAB>text``; ``#`` comments, a header)."""
    out: dict[str, list[str]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line == "label\ttext":
            continue
        label, _, text = line.partition("\t")
        out.setdefault(label.strip(), []).append(text.strip())
    return out


def training_items(script, replicas: int, cache: speechset.AudioCache,
                   phrases: dict[str, list[str]] | None = None, prefix: str = "train") -> list:
    """The script's main-menu examples (or ``phrases``, label -> texts), ``replicas``
    renderings each, in training voices only."""
    exp = phrases if phrases is not None else script.expectations("main_menu")
    items = []
    for label, texts in exp.items():
        for i, phrase in enumerate(texts):
            for rep in range(replicas):
                carrier = CARRIERS[0] if rep == 0 else CARRIERS[1 + (i + rep) % (len(CARRIERS) - 1)]
                tags = ("panic",) if label == "darurat" and rep % 2 else ()
                row = speechset.Row(id=f"{prefix}:{label}:{i}", part="train", label=label, kind="train", tags=tags,
                                    text=carrier.format(x=phrase))
                voice, chain = speechset.condition(row, rep)
                r = speechset._seeded("train-voice", row.id, rep)  # noqa: SLF001
                variant = r.choice(TRAIN_VARIANTS)
                voice = replace(voice, voice="id" + (f"+{variant}" if variant else ""))
                items.append(speechset.Item(row, rep, voice, chain))
    babble, babble_keys = speechset._babble(cache)  # noqa: SLF001
    cleans = cache.clean_many([(it.row.text, it.voice) for it in items])
    for it, (x, rate) in zip(items, cleans, strict=True):
        parts = {"clean": speechset._clean_key(it.row.text, it.voice, cache.version),  # noqa: SLF001
                 "chain": it.chain.key(), "babble": babble_keys if it.chain.noise == "babble" else None}
        it.pcm = cache.line(parts, lambda x=x, rate=rate, it=it: speechchain.apply(x, rate, it.chain, babble))
    return items


class Features:
    """Pooled encoder output of an utterance, as the recognizer encodes it for the main menu."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def __call__(self, pcm8k: bytes) -> np.ndarray:
        from asr import audio

        pcm16k = audio.resample(pcm8k, 8000, 16000)
        seconds = len(pcm16k) / 2 / 16000
        frames = self.engine.frames_for(seconds, True)
        enc = np.asarray(self.engine.encode(pcm16k, frames))[0]
        from asr.audio_intent import pool

        return pool(enc, seconds)


def featurise(items, feats: Features, root: Path, name: str) -> np.ndarray:
    """Features of ``items``, cached under ``root`` by the audio's hash."""
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(b"".join(hashlib.sha256(it.pcm).digest() for it in items)).hexdigest()[:16]
    path = root / f"{name}.{digest}.r{FEATURE_REV}.npy"
    if path.exists():
        return np.load(path)
    t0 = time.perf_counter()
    c0 = time.process_time()
    out = np.stack([feats(it.pcm) for it in items])
    cpu = time.process_time() - c0
    print(f"features {name}: {len(items)} in {time.perf_counter() - t0:.0f} s, {cpu / len(items) * 1000:.0f} CPU-ms each",
          flush=True)
    np.save(path, out)
    return out


def cached_results(fingerprint: str) -> dict[str, dict]:
    root = speechset.cache_dir() / "results"
    out: dict[str, dict] = {}
    for path in sorted(root.glob(f"{fingerprint}*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                d = json.loads(line)
            except json.JSONDecodeError:
                continue
            out[d["key"]] = d
    return out


def latest_fingerprint() -> str:
    root = speechset.cache_dir() / "results"
    paths = sorted(root.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    if not paths:
        raise SystemExit("no cached recognition results")
    return paths[-1].name.split(".")[0]


def fit_classifier(x: np.ndarray, y: list[str], labels: list[str], c: float) -> AudioIntentModel:
    """Standardise, then multinomial logistic regression (scikit-learn); an AudioIntentModel
    (weight 1 until the fusion weight is chosen)."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(0)
    scale = x.std(0) + 1e-6
    yi = np.array([labels.index(v) for v in y])
    m = LogisticRegression(C=c, max_iter=3000)
    m.fit((x - mean) / scale, yi)
    coef = np.zeros((len(labels), x.shape[1]))
    bias = np.full(len(labels), -30.0)
    coef[m.classes_] = m.coef_
    bias[m.classes_] = m.intercept_
    return AudioIntentModel(tuple(labels), mean.astype(np.float32), scale.astype(np.float32),
                            coef.astype(np.float32), bias.astype(np.float32), 1.0)


def fit_mlp(x: np.ndarray, y: list[str], labels: list[str], hidden: int, alpha: float,
            seed: int = 0) -> AudioIntentModel:
    """Standardise, then a one-hidden-layer perceptron (ReLU; scikit-learn's MLPClassifier at
    fit time, applied as two matrix products by AudioIntentModel)."""
    from sklearn.neural_network import MLPClassifier

    mean = x.mean(0)
    scale = x.std(0) + 1e-6
    yi = np.array([labels.index(v) for v in y])
    m = MLPClassifier(hidden_layer_sizes=(hidden,), alpha=alpha, max_iter=300, early_stopping=False,
                      random_state=seed, batch_size=256, learning_rate_init=1e-3)
    m.fit((x - mean) / scale, yi)
    coef = np.zeros((len(labels), hidden))
    bias = np.full(len(labels), -30.0)
    coef[m.classes_] = m.coefs_[1].T
    bias[m.classes_] = m.intercepts_[1]
    return AudioIntentModel(tuple(labels), mean.astype(np.float32), scale.astype(np.float32),
                            coef.astype(np.float32), bias.astype(np.float32), 1.0,
                            hidden_coef=m.coefs_[0].T.astype(np.float32), hidden_bias=m.intercepts_[0].astype(np.float32))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", type=int, default=6, help="renderings of each script example")
    ap.add_argument("--parts", default="dev,test,blind")
    ap.add_argument("--fingerprint", default="", help="recognizer results to fuse with (default: latest)")
    ap.add_argument("--c", default="0.003,0.01,0.03,0.1,0.3,1", help="regularisation grid (chosen on dev)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--untouched", default="darurat",
                    help="labels whose posterior the fusion leaves as the recognizer's (comma-separated)")
    ap.add_argument("--phrases", default=str(PHRASES),
                    help="training-phrase file (label<TAB>text) added to the script's examples ('' for none)")
    ap.add_argument("--phrase-replicas", type=int, default=12, help="renderings of each training phrase")
    ap.add_argument("--base-classifier", default="",
                    help="the classifier (.npz) already inside --fingerprint's results (main's recognizer "
                         "has one): undone (AudioIntentModel.unfuse) before fusing; e.g. `git show "
                         "611b51d:asr/audio_intent.npz` for ebb7dcc957ee2744")
    ap.add_argument("--weight", type=float, default=-1.0,
                    help="fusion weight to ship instead of the dev-best one (e.g. a safety criterion on dev)")
    ap.add_argument("--model", default="logreg", help="logreg, or mlp:<hidden>[,<hidden>...] (grid, chosen on dev)")
    ap.add_argument("--alpha", default="0.1,1,3", help="MLP L2 grid (chosen on dev)")
    ap.add_argument("--write", action="store_true", help="write asr/audio_intent.npz (classifier + chosen weight)")
    ap.add_argument("--check", type=int, default=0,
                    help="only check, on this many dev renderings, that real recognition with the shipped "
                         "asr/audio_intent.npz equals the results derived from --fingerprint's")
    args = ap.parse_args()
    if args.check:
        check(args.check, args.fingerprint or latest_fingerprint(), args.base_classifier)
        return

    from bench.recognition import expectation_for, load_bench_script

    script = load_bench_script()
    labels = list(script.expectations("main_menu"))
    cache = speechset.AudioCache(workers=args.workers)
    t0 = time.perf_counter()
    train = training_items(script, args.replicas, cache)
    extra = load_phrases(args.phrases) if args.phrases else {}
    unknown = set(extra) - set(labels)
    if unknown:
        raise SystemExit(f"training phrases of labels the main menu lacks: {sorted(unknown)}")
    more = training_items(script, args.phrase_replicas, cache, extra, prefix="phr") if extra else []
    parts = {p: speechset.load(p, 2, cache) for p in args.parts.split(",")}
    print(f"audio: {len(train)} + {len(more)} training renderings, {cache.rendered} made, {time.perf_counter() - t0:.0f} s", flush=True)

    from asr.whisper_backend import WhisperEngine

    engine = WhisperEngine()
    feats = Features(engine)
    root = speechset.cache_dir() / "embed"
    xtr = featurise(train, feats, root, f"train{args.replicas}")
    ytr = [it.row.label for it in train]
    if more:
        xtr = np.concatenate([xtr, featurise(more, feats, root, f"phrases{args.phrase_replicas}")])
        ytr += [it.row.label for it in more]
    xs = {p: featurise(items, feats, root, p) for p, items in parts.items()}

    fp = args.fingerprint or latest_fingerprint()
    results = cached_results(fp)
    expect = expectation_for(script, "intent")
    ekey = repr(expect.key()).encode()

    def rkey(pcm: bytes) -> str:
        return hashlib.sha256(pcm + ekey).hexdigest()[:24]

    base = AudioIntentModel.load(args.base_classifier) if args.base_classifier else None
    data = {}
    for p, items in parts.items():
        keep = [i for i, it in enumerate(items) if it.row.label != "none" and rkey(it.pcm) in results]
        asr = np.array([[results[rkey(items[i].pcm)]["scores"].get(lab, 0.0) for lab in labels] for i in keep])
        if base is not None and len(keep):
            # the cached posteriors hold the base classifier's share: undone
            adj0 = base.weight * base.log_proba(xs[p][keep], labels)
            asr = np.stack([base.unfuse(row, labels, a) for row, a in zip(asr, adj0, strict=True)])
        data[p] = {"idx": keep, "x": xs[p][keep], "y": np.array([labels.index(items[i].row.label) for i in keep]),
                   "asr": np.log(np.clip(asr, 1e-9, None)), "post": asr, "rows": [items[i].row.id for i in keep],
                   "held": np.array([voice_of(items[i]) in HELD_OUT for i in keep]),
                   "total": sum(it.row.label != "none" for it in items)}
        print(f"{p}: {len(keep)} of {data[p]['total']} in-scope renderings have cached recognition ({fp})")

    # the regularisation: dev accuracy of the classifier alone
    best = None
    dev_in = [i for i, it in enumerate(parts["dev"]) if it.row.label != "none"]
    dev_y = np.array([labels.index(parts["dev"][i].row.label) for i in dev_in])
    if args.model == "logreg":
        grid = [(f"C={c}", lambda c=c: fit_classifier(xtr, ytr, labels, c)) for c in map(float, args.c.split(","))]
    else:
        hidden = [int(v) for v in args.model.partition(":")[2].split(",")]
        grid = [(f"mlp h={h} alpha={a}", lambda h=h, a=a: fit_mlp(xtr, ytr, labels, h, a))
                for h in hidden for a in map(float, args.alpha.split(","))]
    for name, make in grid:
        t_fit = time.perf_counter()
        clf = make()
        acc = float(np.mean(clf.log_proba(xs["dev"][dev_in]).argmax(1) == dev_y))
        print(f"{name}: classifier alone, dev top-1 {acc:.3f} (fit {time.perf_counter() - t_fit:.0f} s)", flush=True)
        if best is None or acc > best[0]:
            best = (acc, name, clf)
    _, c, clf = best
    weights = [0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0]

    untouched = tuple(v for v in args.untouched.split(",") if v)

    def fused(d, w):
        """Fused posteriors as the recognizer computes them (AudioIntentModel.fuse)."""
        m = replace(clf, weight=w, untouched=untouched)
        adj = w * clf.log_proba(d["x"])
        return np.stack([m.fuse(p, labels, a) for p, a in zip(d["post"], adj, strict=True)])

    def fused_acc(d, w, mask=None):
        ok = fused(d, w).argmax(1) == d["y"]
        return float(ok[mask].mean()) if mask is not None else float(ok.mean())

    dev = data["dev"]
    w_all = max(weights, key=lambda w: fused_acc(dev, w)) if args.weight < 0 else args.weight
    for p, d in data.items():
        if len(d["y"]):
            print(f"fusion weight sweep {p}: " + " ".join(f"{w}:{fused_acc(d, w):.3f}" for w in weights))
    # dev out of fold: w chosen on the other half of the rows
    rows = sorted(set(dev["rows"]))
    fold = np.array([rows.index(r) % 2 for r in dev["rows"]])
    oof = np.zeros(len(fold), dtype=bool)
    for k in (0, 1):
        w_k = max(weights, key=lambda w: fused_acc(dev, w, fold != k))
        oof[fold == k] = (fused(dev, w_k).argmax(1) == dev["y"])[fold == k]
    report = {"C": c, "w": w_all, "untouched": untouched, "replicas": args.replicas, "train": len(train),
              "phrases": len(more), "fingerprint": fp, "base_classifier": args.base_classifier or None}
    # the apply cost per utterance (pooled features in hand, as in the recognizer)
    one = xs["dev"][0]
    c0 = time.process_time()
    for _ in range(2000):
        clf.log_proba(one, labels)
    report["apply_cpu_ms"] = round((time.process_time() - c0) / 2000 * 1000, 3)
    print(f"apply: {report['apply_cpu_ms']} CPU-ms per utterance (pooled features given)")
    print(f"\nchosen {c}, fusion weight w={w_all} (dev); held-out voices: {', '.join(v or 'default' for v in HELD_OUT)}")
    print(f"{'part':6} {'n':>5} {'(a) phrase':>11} {'(b) audio clf':>14} {'(c) fused':>10}   held-out voices n (a)/(b)/(c)")
    for p, d in data.items():
        if not len(d["y"]):
            continue
        a = d["asr"].argmax(1) == d["y"]
        b = clf.log_proba(d["x"]).argmax(1) == d["y"]
        cc = oof if p == "dev" else fused(d, w_all).argmax(1) == d["y"]
        h = d["held"]
        row = {"n": int(len(a)), "phrase": round(float(a.mean()), 3), "classifier": round(float(b.mean()), 3),
               "fused": round(float(cc.mean()), 3), "held_n": int(h.sum()),
               "held": [round(float(v[h].mean()), 3) if h.any() else None for v in (a, b, cc)],
               "seen": [round(float(v[~h].mean()), 3) if (~h).any() else None for v in (a, b, cc)]}
        report[p] = row
        print(f"{p:6} {row['n']:>5} {row['phrase']:>11} {row['classifier']:>14} {row['fused']:>10}   "
              f"{row['held_n']} {row['held']} (seen voices {row['seen']})")
    if args.write:
        from asr.audio_intent import DEFAULT_PATH

        replace(clf, weight=float(w_all), untouched=untouched).save(DEFAULT_PATH)
        print(f"wrote {DEFAULT_PATH} ({DEFAULT_PATH.stat().st_size} bytes)")
    print(json.dumps(report))


def check(n: int, fingerprint: str, base_classifier: str = "") -> None:
    """Real recognitions (this code, the shipped classifier) against the derived results."""
    from asr import audio
    from bench.recognition import Recognition, expectation_for, load_bench_script

    script = load_bench_script()
    rec = Recognition(script, derive_from=fingerprint, derive_base=base_classifier)
    expect = expectation_for(script, "intent")
    prep = rec.engine.prepared(expect)
    items = speechset.load("dev", 2)[::max(1, 372 // n)][:n]
    worst, same = 0.0, 0
    for it in items:
        key = rec.key(it.pcm, expect)
        if key not in rec.base:
            continue
        derived = rec.derived(it.pcm, expect, rec.base[key])
        real = rec.engine.recognize(audio.resample(it.pcm, 8000, 16000), prep)
        diff = max(abs(real.scores[k] - derived.scores[k]) for k in derived.scores)
        worst = max(worst, diff)
        same += max(real.scores, key=real.scores.__getitem__) == derived.best
        print(f"{it.key}: largest difference {diff:.2e}, real {max(real.scores, key=real.scores.__getitem__)} "
              f"derived {derived.best} base {rec.base[key].best}", flush=True)
    print(json.dumps({"check": len(items), "same_label": same, "largest_difference": worst}))
    rec.close()


if __name__ == "__main__":
    main()
