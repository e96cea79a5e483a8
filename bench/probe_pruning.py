"""What pruning the phrase scoring by the audio intent classifier costs in decisions and saves
in work, on dev, for many settings at once (``WhisperOptions.prune_labels``, ``prune_lead``,
``view_phrases``), with and without the script additions.

Each dev rendering is recognised once per setting by the real ``WhisperEngine.recognize``, but
every phrase's score in every hearing (and each hearing's encoder output and the transcript) is
computed once and remembered: a setting that scores a phrase already scored reads it, so the
results are exactly what the recognizer returns with that setting, for about the CPU of the
largest one. Per setting: the live hotline's figures (``bench_understanding``'s ``live``
variant and whole dialogs) and the phrases and tokens scored per main-menu turn (the work the
setting costs; the CPU itself is measured with ``--cpu``: fresh recognitions one after another).

    python bench/probe_pruning.py --out /tmp/prune_sim [--limit N] [--configs a,b]
    python bench/probe_pruning.py --out /tmp/prune_sim --figures   # from the saved results
    python bench/probe_pruning.py --cpu 25 --configs main,add_k4   # fresh CPU per utterance

Tuning on dev only: ``--parts`` refuses test and blind.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ADDITIONS = "bench/data/script_additions_callers8cov.yaml"


def configs() -> dict[str, tuple[bool, dict]]:
    """name -> (with the script additions, WhisperOptions changes)."""
    off = {"prune_labels": 0, "view_phrases": 0}  # phase 6's whole scoring
    out: dict[str, tuple[bool, dict]] = {"main": (False, off), "add": (True, off)}
    for k, lead in ((2, 1), (3, 1), (4, 0), (4, 1), (4, 2), (5, 1), (6, 1)):
        out[f"add_k{k}_l{lead}"] = (True, {"prune_labels": k, "prune_lead": lead, "view_phrases": 0})
    for k, v in ((3, 5), (4, 3), (4, 5), (5, 5)):
        out[f"add_k{k}_l1_v{v}"] = (True, {"prune_labels": k, "prune_lead": 1, "view_phrases": v})
    out["main_v5"] = (False, {"prune_labels": 0, "view_phrases": 5})
    out["add_v5"] = (True, {"prune_labels": 0, "view_phrases": 5})
    out["main_k4_l1_v5"] = (False, {"prune_labels": 4, "prune_lead": 1, "view_phrases": 5})
    return out


class Memo:
    """Encoder outputs, cross-attention keys/values, transcripts and phrase scores remembered
    per hearing (keyed by the audio), with the work each setting asked for counted."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.enc: dict[tuple, object] = {}
        self.kv: dict[bytes, object] = {}
        self.scores: dict[bytes, dict[tuple, float]] = {}
        self.text: dict[bytes, tuple] = {}
        self.count = {"phrases": 0, "tokens": 0, "view_phrases": 0, "view_tokens": 0, "encodes": 0}
        self.base_hearing: bytes = b""
        o_encode, o_kv, o_score, o_text = engine.encode, engine.scorer.cross_kv, engine.score_phrases, engine.greedy_text

        def encode(pcm16k, frames=None, fit=False):
            key = (hashlib.sha1(pcm16k).digest(), frames, fit)
            self.count["encodes"] += 1
            if key not in self.enc:
                self.enc[key] = o_encode(pcm16k, frames, fit)
            return self.enc[key]

        def cross_kv(enc_np):
            h = _hearing(enc_np)
            if h not in self.kv:
                self.kv[h] = o_kv(enc_np)
            return self.kv[h]

        def score_phrases(enc_np, prep, keep=None, seconds=None, kv=None):
            h = _hearing(enc_np)
            known = self.scores.setdefault(h, {})
            idx = np.arange(len(prep.seqs)) if keep is None else np.nonzero(keep)[0]
            view = h != self.base_hearing
            for i in idx:
                self.count["view_phrases" if view else "phrases"] += 1
                self.count["view_tokens" if view else "tokens"] += len(prep.seqs[i])
            miss = np.zeros(len(prep.seqs), dtype=bool)
            miss[[i for i in idx if tuple(prep.seqs[i]) not in known]] = True
            if miss.any():
                got = o_score(enc_np, prep, miss, seconds, kv)
                for i in np.nonzero(miss)[0]:
                    known[tuple(prep.seqs[i])] = float(got[i])
            out = np.full(len(prep.seqs), np.nan)
            for i in idx:
                out[i] = known[tuple(prep.seqs[i])]
            return out

        def greedy_text(kv, max_length, stop=None):
            if self.base_hearing not in self.text:
                self.text[self.base_hearing] = o_text(kv, max_length, stop)
            return self.text[self.base_hearing]

        engine.encode, engine.scorer.cross_kv, engine.score_phrases, engine.greedy_text = (
            encode, cross_kv, score_phrases, greedy_text)

    def clear(self) -> None:
        self.enc.clear()
        self.kv.clear()
        self.scores.clear()
        self.text.clear()


def _hearing(enc_np) -> bytes:
    return hashlib.sha1(np.ascontiguousarray(enc_np).tobytes()).digest()


def recognise(engine, memo: Memo, pcm16k: bytes, prep):
    """The engine's recognition with each hearing's leading-label scores recorded (as
    bench/recognition.py stores them), plus the work counted."""
    from asr import whisper_backend as wb

    per: dict[str, list[float]] = {}
    original = engine._with_views  # noqa: SLF001

    def with_views(pcm, prep, label_scores, text, stale, phrase_scores=None, early=None):
        o = engine.options
        lead, keep = wb.view_plan(o, prep, label_scores + text, phrase_scores)
        per.update({prep.labels[i]: [float(label_scores[i])] for i in lead})
        for factor in o.views:
            sped = wb.audio.change_speed(pcm, factor)
            seconds = len(sped) / 2 / wb.RATE
            enc_np = np.asarray(engine.encode(sped, engine.frames_for(seconds, prep.fit_window)))[0]
            ls = prep.label_scores(engine.score_phrases(enc_np, prep, keep, seconds))
            for i in lead:
                per[prep.labels[i]].append(float(ls[i]))
        out = label_scores.copy()
        for i in lead:
            out[i] = float(np.mean(per[prep.labels[i]]))
        return out

    engine._with_views = with_views  # noqa: SLF001
    before = dict(memo.count)
    try:
        # the base hearing's encoder output, known before the recognizer asks for it
        seconds = len(pcm16k) / 2 / wb.RATE
        enc = engine.encode(pcm16k, engine.frames_for(seconds, prep.fit_window))
        memo.count["encodes"] -= 1
        memo.base_hearing = _hearing(np.asarray(enc)[0])
        tr = engine.recognize(pcm16k, prep)
    finally:
        engine._with_views = original  # noqa: SLF001
    work = {k: memo.count[k] - before[k] for k in memo.count}
    return tr, per, work


def simulate(args) -> None:
    from asr import audio
    from asr.whisper_backend import WhisperRecognizer

    from bench import speechset
    from bench.recognition import expectation_for, load_bench_script

    cfgs = configs()
    if args.configs:
        cfgs = {k: cfgs[k] for k in args.configs.split(",")}
    scripts = {False: load_bench_script(), True: load_bench_script(ADDITIONS)}
    rec = WhisperRecognizer()
    engine = rec.engine
    base = engine.options
    preps = {a: engine.prepared(expectation_for(s, "intent")) for a, s in scripts.items()}
    memo = Memo(engine)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    done: set[str] = set()
    done_path = out / "done.txt"
    if done_path.exists():
        done = set(done_path.read_text().split())
    files = {name: open(out / f"{name}.jsonl", "a", encoding="utf-8") for name in cfgs}
    items = [it for p in args.parts.split(",") for it in speechset.load(p, args.replicas)]
    if args.kinds:  # these kinds of rows first (e.g. emergency,passing), then the others
        first = set(args.kinds.split(","))
        items = [it for it in items if it.row.kind in first] + [it for it in items if it.row.kind not in first]
    if args.limit:
        items = items[: args.limit]
    t0 = time.perf_counter()
    c0 = time.process_time()
    for n, it in enumerate(items):
        if it.key in done:
            continue
        pcm16k = audio.resample(it.pcm, 8000, 16000)
        adj_rank = None
        for name, (add, changes) in cfgs.items():
            engine.options = dataclasses.replace(base, **changes)
            tr, per, work = recognise(engine, memo, pcm16k, preps[add])
            if adj_rank is None and engine.audio_intent is not None:
                labels = preps[add].labels
                enc_np = np.asarray(engine.encode(pcm16k, engine.frames_for(len(pcm16k) / 32000, True)))[0]
                adj = engine.audio_intent.adjustment(enc_np, len(pcm16k) / 32000, labels)
                order = [labels[i] for i in np.argsort(-adj, kind="stable")]
                adj_rank = order.index(it.row.label) + 1 if it.row.label in order else None
            conf = tr.words[0].confidence if tr.words else 0.0
            files[name].write(json.dumps({
                "item": it.key, "label": it.row.label, "classifier_rank": adj_rank, "work": work,
                "result": {"key": it.key, "text": tr.text,
                           "scores": {k: round(float(v), 6) for k, v in (tr.scores or {}).items()},
                           "text_confidence": round(float(conf), 6), "audio_s": round(len(it.pcm) / 16000, 3),
                           "cpu_s": 0.0, "views": per,
                           "emergency_audio": None if tr.emergency_audio is None else
                           [tr.emergency_audio.head, tr.emergency_audio.intent]}}, ensure_ascii=False) + "\n")
        engine.options = base
        memo.clear()
        for f in files.values():
            f.flush()
        with open(done_path, "a") as f:
            f.write(it.key + "\n")
        if n % 20 == 0:
            print(f"{n}/{len(items)} {time.perf_counter() - t0:.0f}s wall {time.process_time() - c0:.0f}s cpu",
                  flush=True, file=sys.stderr)
    rec.close()


def figures(args) -> None:
    from asr.calibration import DEFAULT_PATH, Calibrator
    from dialogs.emergency import DEFAULT as detector

    from bench import speechset
    from bench.bench_understanding import KEYS, Hotline, _tasks
    from bench.recognition import Result, load_bench_script
    from bench.understanding import Case, by_replica

    cal = Path(args.calibration) if args.calibration else DEFAULT_PATH
    calibrator = Calibrator.load(cal)
    cfgs = configs()
    names = args.configs.split(",") if args.configs else [n for n in cfgs if (Path(args.out) / f"{n}.jsonl").exists()]
    scripts = {False: load_bench_script(), True: load_bench_script(ADDITIONS)}
    hots = {a: Hotline(s, calibrator, detector, False) for a, s in scripts.items()}
    items = [it for p in args.parts.split(",") for it in speechset.load(p, args.replicas)]
    rows = [r for p in args.parts.split(",") for r in speechset.read_rows(p)]
    table = []
    loaded = {name: {r["item"]: r for r in (json.loads(x) for x in (Path(args.out) / f"{name}.jsonl").read_text()
                                              .splitlines() if x.strip())} for name in names}
    common = set.intersection(*(set(v) for v in loaded.values()))  # the items every setting has
    for name in names:
        add = cfgs[name][0]
        got = {k: r for k, r in loaded[name].items() if k in common}
        recs = list(got.values())
        its = [it for it in items if it.key in got]
        res = {k: Result(**r["result"]) for k, r in got.items()}
        hot = hots[add]

        def cases_of(rep: int, its=its, res=res, hot=hot):
            cs = []
            for it in its:
                if it.replica != rep:
                    continue
                guess, decided, o = hot.live(res[it.key])
                cs.append(Case(it.key, it.row.label, it.row.kind, guess, decided, o))
            return cs

        live = by_replica(cases_of, args.replicas, KEYS)
        tasks = _tasks(scripts[add], hot, its, res, [r for r in rows if any(i.row.id == r.id for i in its)],
                       args.replicas)
        work = {k: float(np.mean([r["work"][k] for r in recs])) for k in recs[0]["work"]}
        med = lambda v: v["median"] if isinstance(v, dict) else v  # noqa: E731
        row = {"config": name, "n": len(its), **{k: med(live[k]) for k in (
            "decision_accuracy", "guess_accuracy", "accepted_without_confirmation", "accepted_precision",
            "emergency_number_first_reply", "emergency_acted_at_once", "false_emergencies", "emergency_asked")},
            "task_success": med(tasks["task_success"]), "one_turn": med(tasks["one_turn"]),
            "phrases": round(work["phrases"], 1), "tokens": round(work["tokens"], 1),
            "view_phrases": round(work["view_phrases"], 1), "view_tokens": round(work["view_tokens"], 1)}
        table.append(row)
        print(json.dumps(row), flush=True)
    ranks = [r["classifier_rank"] for r in recs if r["classifier_rank"]]
    if ranks:
        print("classifier top-k recall (in-menu labels):",
              {k: round(float(np.mean([x <= k for x in ranks])), 3) for k in (1, 2, 3, 4, 5, 6, 8)},
              f"n={len(ranks)}")


def cpu(args) -> None:
    """Fresh recognitions (no memo), one after another: CPU per utterance for each setting,
    the first utterance as warm-up, settings interleaved utterance by utterance."""
    from asr import audio
    from asr.whisper_backend import WhisperRecognizer

    from bench import speechset
    from bench.recognition import expectation_for, load_bench_script

    cfgs = configs()
    names = args.configs.split(",")
    scripts = {False: load_bench_script(), True: load_bench_script(ADDITIONS)}
    rec = WhisperRecognizer()
    engine = rec.engine
    base = engine.options
    preps = {a: engine.prepared(expectation_for(s, "intent")) for a, s in scripts.items()}
    items = [it for it in speechset.load("dev", 1)][: args.cpu + 1]
    per: dict[str, list[float]] = {n: [] for n in names}
    stages: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    for k, it in enumerate(items):
        pcm16k = audio.resample(it.pcm, 8000, 16000)
        for name in names:
            add, changes = cfgs[name]
            engine.options = dataclasses.replace(base, **changes)
            c0 = time.process_time()
            tr = engine.recognize(pcm16k, preps[add])
            if k:
                per[name].append(time.process_time() - c0)
                for s, v in (tr.timings or {}).items():
                    stages[name].setdefault(s, []).append(v)
    rec.close()
    for name in names:
        st = {s: round(float(np.median(v)), 1) for s, v in stages[name].items()}
        print(json.dumps({"config": name, "n": len(per[name]), "cpu_ms_median": round(1000 * float(np.median(per[name]))),
                          "cpu_ms_mean": round(1000 * float(np.mean(per[name]))), "stages_ms_median": st}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/prune_sim")
    ap.add_argument("--parts", default="dev")
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--configs", default="")
    ap.add_argument("--kinds", default="", help="simulate the rows of these kinds first")
    ap.add_argument("--figures", action="store_true")
    ap.add_argument("--calibration", default="")
    ap.add_argument("--cpu", type=int, default=0, help="fresh CPU per utterance over this many dev renderings")
    args = ap.parse_args()
    if set(args.parts.split(",")) - {"dev"}:
        raise SystemExit("dev only: settings are chosen on dev")
    if args.cpu:
        cpu(args)
    elif args.figures:
        figures(args)
    else:
        simulate(args)


if __name__ == "__main__":
    main()
