"""Experiment (issue 16, deliverable 4): a binary audio head "emergency now or not" on the
pooled Whisper encoder output the recognizer already computes (the audio intent classifier's
features, ``asr.audio_intent.pool``), and the at-once decision that combines it with the
recognizer's ``darurat`` reading and the transcript's cues.

Training speech (never a bench text): ``bench/data/emergency_training.tsv`` (emergencies in
callers' words, and hazard words mentioned in passing or beside a service request, written for
this head) plus the default script's main-menu examples (``darurat``'s as emergencies, a
sample of every other label's as not). Rendered by ``bench/embed_intent.training_items`` (its
carriers, the bench's line conditions, the training voice variants only), with the "panic"
rendering (faster, higher) on every other replica of **both** classes, so that the head cannot
learn the bench's panic rule instead of the words.

Evaluation: dev (tuning), test and blind (figures only), from the recognizer's cached results
(``--fingerprint``, read only): the live decision (``ivr.calls.understand``) with and without
the head, thresholds chosen on dev at zero false emergencies, calm and panicked apart.

    python bench/embed_emergency.py --replicas 8 --fingerprint ebb7dcc957ee2744 [--parts dev] [--write]

``--write`` stores the head as asr/audio_emergency.npz. Prints figures and one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asr.audio_emergency import AudioEmergencyModel  # noqa: E402
from bench import speechset  # noqa: E402
from bench.embed_intent import Features, cached_results, featurise, training_items  # noqa: E402

TRAINING = Path(__file__).with_name("data") / "emergency_training.tsv"
SERVICE_SAMPLE = 1  # every n-th example of the other main-menu labels is a "not" phrase


@dataclass(frozen=True)
class _Phrases:
    """A stand-in for a script in ``training_items``: its "main menu" holds one label,
    ``darurat``, so every phrase gets the panic rendering on every other replica."""

    phrases: tuple[str, ...]

    def expectations(self, state: str) -> dict[str, list[str]]:
        return {"darurat": list(self.phrases)}


def training_phrases(script) -> tuple[list[str], list[str]]:
    """(emergency phrases, not-emergency phrases)."""
    emerg, other = [], []
    for line in TRAINING.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("id\t"):
            continue
        _, label, _, text = line.split("\t")
        (emerg if label == "emergency" else other).append(text)
    for label, phrases in script.expectations("main_menu").items():
        if label == "darurat":
            emerg += phrases
        else:
            other += phrases[::SERVICE_SAMPLE]
    return list(dict.fromkeys(emerg)), list(dict.fromkeys(other))


def render(phrases: list[str], replicas: int, cache, name: str) -> list:
    items = training_items(_Phrases(tuple(phrases)), replicas, cache)
    # the ids name the phrase's index only: tell the two sets apart (their renderings are
    # drawn alike, which keeps the conditions balanced between the classes)
    return [replace(it, row=replace(it.row, id=f"{name}:{it.row.id}")) for it in items]


def fit(x: np.ndarray, y: np.ndarray, c: float, label: str = "darurat") -> AudioEmergencyModel:
    """The head (standardise, then logistic regression, classes balanced) beside a frozen copy
    of the shipped audio intent classifier."""
    from sklearn.linear_model import LogisticRegression

    from asr.audio_intent import AudioIntentModel

    intent = AudioIntentModel.load()
    if intent is None or label not in intent.labels:
        raise SystemExit("asr/audio_intent.npz (with the emergency label) is needed")
    mean = x.mean(0)
    scale = x.std(0) + 1e-6
    m = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    m.fit((x - mean) / scale, y)
    return AudioEmergencyModel(label=label, mean=mean.astype(np.float32), scale=scale.astype(np.float32),
                               coef=m.coef_[0].astype(np.float32), bias=float(m.intercept_[0]),
                               intent_labels=intent.labels, intent_mean=intent.mean, intent_scale=intent.scale,
                               intent_coef=intent.coef, intent_bias=intent.bias)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", type=int, default=8)
    ap.add_argument("--parts", default="dev")
    ap.add_argument("--fingerprint", required=True, help="recognizer results (with the audio intent classifier)")
    ap.add_argument("--c", default="0.001,0.003,0.01,0.03,0.1")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--dump", default="", help="write per-rendering evidence of these parts (JSON lines) here")
    args = ap.parse_args()
    if "blind" in args.dump.split(",") or "test" in args.dump.split(","):
        raise SystemExit("only dev is inspected item by item")

    from bench.recognition import Result, expectation_for, load_bench_script

    script = load_bench_script()
    emerg, other = training_phrases(script)
    cache = speechset.AudioCache(workers=args.workers)
    t0 = time.perf_counter()
    train = render(emerg, args.replicas, cache, "emerg") + render(other, args.replicas, cache, "other")
    y = np.array([it.row.id.startswith("emerg:") for it in train], dtype=int)
    print(f"audio: {len(train)} training renderings ({y.sum()} emergencies, {len(emerg)} + {len(other)} phrases), "
          f"{cache.rendered} made, {time.perf_counter() - t0:.0f} s", flush=True)
    from asr.whisper_backend import WhisperEngine

    feats = Features(WhisperEngine())
    root = speechset.cache_dir() / "embed"
    xtr = featurise(train, feats, root, f"emergency{args.replicas}")
    parts = {p: speechset.load(p, 2, cache) for p in args.parts.split(",")}
    xs = {p: featurise(items, feats, root, p) for p, items in parts.items()}
    results = cached_results(args.fingerprint)
    ekey = repr(expectation_for(script, "intent").key()).encode()

    def res_of(it) -> Result | None:
        d = results.get(hashlib.sha256(it.pcm + ekey).hexdigest()[:24])
        return Result(**d) if d else None

    from ivr.calls.understand import live_understander

    und = live_understander(None, script)
    listen = script.listen_action("main_menu")
    report: dict = {"replicas": args.replicas, "train": len(train), "fingerprint": args.fingerprint}
    models = {}
    for c in (float(v) for v in args.c.split(",")):
        models[c] = fit(xtr, y, c)
    dev = parts.get("dev")
    for p, items in parts.items():
        is_e = np.array([it.row.kind == "emergency" for it in items])
        for c, m in models.items():
            pr = m.head(xs[p])
            auc = _auc(pr[is_e], pr[~is_e])
            top_other = np.sort(pr[~is_e])[-3:]
            print(f"{p} C={c}: AUC {auc:.3f}; emergencies p median {np.median(pr[is_e]):.2f}; "
                  f"highest non-emergencies {np.round(top_other, 2).tolist()}", flush=True)
    if dev is not None:
        c_best = max(models, key=lambda c: _auc(*_split(models[c].head(xs["dev"]), dev)))
        report["C"] = c_best
        print(f"chosen C={c_best} (dev AUC)")
        if args.write:
            from asr.audio_emergency import DEFAULT_PATH

            models[c_best].save(DEFAULT_PATH)
            print(f"wrote {DEFAULT_PATH} ({DEFAULT_PATH.stat().st_size} bytes)")
    if args.dump:
        m = models[report.get("C", max(models))]
        with open(args.dump, "w", encoding="utf-8") as f:
            for p, items in parts.items():
                if p != "dev":
                    continue
                pr = m.head(xs[p])
                for it, pa, x in zip(items, pr, xs[p], strict=True):
                    r = res_of(it)
                    if r is None:
                        continue
                    u = und.decide(r.transcript(), listen)
                    f.write(json.dumps({"key": it.key, "kind": it.row.kind, "label": it.row.label,
                                        "panic": "panic" in it.row.tags, "text": r.text, "scores": r.scores,
                                        "audio": round(float(pa), 4), "intent": round(float(m.intent(x)), 4),
                                        "decided": u.intent,
                                        "emergency": u.emergency}, ensure_ascii=False) + "\n")
    print(json.dumps(report))


def _split(pr: np.ndarray, items) -> tuple[np.ndarray, np.ndarray]:
    e = np.array([it.row.kind == "emergency" for it in items])
    return pr[e], pr[~e]


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    if not len(pos) or not len(neg):
        return float("nan")
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


if __name__ == "__main__":
    main()
