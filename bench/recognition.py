"""Recognition results of the bench set, computed once per recognizer and kept on disk.

Every bench item is recognised with the main menu's expectation (the state where callers
state their request) or, for the pause set, with what its row expects. What the recognizer
returns (transcript, label posteriors, the free decoding's confidence) plus what it saw inside
(each extra hearing's scores of the leading labels) is stored as one JSON line per item under
``<bench cache>/results/<recognizer fingerprint>.jsonl``, keyed by a hash of the audio and the
expectation: the analysis (fusion, calibration, emergencies, end of turn) then runs in seconds
and can be repeated without decoding again. The fingerprint covers the model, the recognizer's
code and libraries (``WhisperEngine.fingerprint``) and its options, so a change there
recomputes.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bench import speechset


@dataclass
class Result:
    key: str  # audio + expectation hash
    text: str
    scores: dict[str, float]  # label -> posterior
    text_confidence: float  # the free decoding's own confidence (Word.confidence)
    audio_s: float
    cpu_s: float
    # extra hearings: label -> [score in the base hearing, at each speed] for the leading labels
    views: dict[str, list[float]] = field(default_factory=dict)
    emergency_audio: list[float] | None = None  # asr.EmergencyAudio (head, intent), asr.audio_emergency

    @property
    def best(self) -> str | None:
        return max(self.scores, key=self.scores.__getitem__) if self.scores else None

    def transcript(self):
        from asr import EmergencyAudio, Transcript, Word

        words = tuple(Word(w, confidence=self.text_confidence) for w in self.text.split())
        return Transcript(text=self.text, confidence=max(self.scores.values()) if self.scores else self.text_confidence,
                          words=words, scores=dict(self.scores), audio_seconds=self.audio_s,
                          emergency_audio=EmergencyAudio(*self.emergency_audio) if self.emergency_audio else None)


def load_bench_script(additions: str | Path | None = None):
    """The default script, or a copy with ``additions`` (a YAML file with
    ``intents: {id: {examples: [...], keywords: [...]}}``) appended to its intents."""
    from dialogs import default_script_path, load_script

    if not additions:
        return load_script(default_script_path())
    import tempfile

    import yaml

    lines = Path(default_script_path()).read_text(encoding="utf-8").splitlines()
    extra = yaml.safe_load(Path(additions).read_text(encoding="utf-8"))
    for intent, more in (extra.get("intents") or {}).items():
        # text insertion: the script's YAML uses keys (on, yes, no) that a generic dump mangles
        head = lines.index(f"  {intent}:")
        at = next(i for i in range(head + 1, len(lines)) if lines[i] == "    examples:")
        end = at + 1
        while end < len(lines) and lines[end].startswith("      - "):
            end += 1
        lines[end:end] = [f"      - {p}" for p in more.get("examples", [])]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False, encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    try:
        return load_script(f.name)
    finally:
        Path(f.name).unlink()


def expectation_for(script, expect: str):
    """An asr.Expectation for a row's ``expect`` field (intent: the main menu)."""
    from asr import Expectation

    if expect == "intent":
        return Expectation(script.expectations("main_menu"), kind="intent")
    if expect == "yesno":
        return Expectation(script.listen_action("yesno").expect, kind="yesno")
    if expect.startswith("digits"):
        return Expectation({}, kind="digits")
    return Expectation({}, kind="free")


class Recognition:
    """Runs the Whisper recognizer synchronously on bench items, with the result cache."""

    def __init__(self, script, root: Path | None = None, derive_from: str = "", derive_base: str = "",
                 base_has_intent: bool = False, text_only_from=None) -> None:
        from asr.whisper_backend import WhisperRecognizer

        self.script = script
        # text_only_from (a script without the additions): the recognizer scores only that
        # script's phrases against the audio, while the transcript is matched against all of
        # ``script``'s (the additions reach the text evidence only); its own cache keys
        self.text_only_from = text_only_from
        self.rec = WhisperRecognizer()
        self.engine = self.rec.engine
        opts = json.dumps(asdict(self.engine.options), sort_keys=True, default=str)
        self.fingerprint = hashlib.sha256((self.engine.fingerprint() + opts).encode()).hexdigest()[:16]
        root = Path(root or speechset.cache_dir()) / "results"
        root.mkdir(parents=True, exist_ok=True)
        self.path = root / f"{self.fingerprint}.jsonl"
        self.known: dict[str, Result] = {}
        # <fingerprint>.jsonl, and <fingerprint>.w<k>.jsonl written by parallel workers (--jobs)
        for path in sorted(root.glob(f"{self.fingerprint}*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    with_views = json.loads(line)
                except json.JSONDecodeError:  # a line cut by a killed run: recomputed
                    continue
                self.known[with_views["key"]] = Result(**with_views)
        # derive_from: another recognizer fingerprint whose results, plus the audio intent
        # classifier applied here, are exactly what this recognizer returns (see derived())
        self.base: dict[str, Result] = {}
        for path in sorted(root.glob(f"{derive_from}*.jsonl")) if derive_from else ():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    d = json.loads(line)
                except json.JSONDecodeError:
                    continue
                self.base[d["key"]] = Result(**d)
        # base_has_intent: the base recognizer had this audio intent classifier already (only
        # what came after it, the audio emergency head, is derived)
        self.base_has_intent = base_has_intent
        self.derived_count = 0
        # derive_base: the audio intent classifier (.npz) already inside derive_from's results
        # (main's recognizer has one): undone (AudioIntentModel.unfuse) before this one is applied
        from asr.audio_intent import AudioIntentModel

        self.base_model = AudioIntentModel.load(derive_base) if derive_base else None
        if derive_base and self.base_model is None:
            raise SystemExit(f"no classifier at {derive_base}")
        self.unfuse_ambiguous = 0
        self._views: dict[str, list[float]] = {}
        self._wrap_views()
        self.computed = 0

    def _wrap_views(self) -> None:
        """Record each hearing's scores of the leading labels (the recognizer averages them)."""
        from asr import whisper_backend as wb

        engine = self.engine
        original = engine._with_views  # noqa: SLF001

        def with_views(pcm16k, prep, label_scores, text, stale, phrase_scores=None, early=None):
            o = engine.options
            lead, keep = wb.view_plan(o, prep, label_scores + text, phrase_scores)
            per = {prep.labels[i]: [float(label_scores[i])] for i in lead}
            for factor in o.views:
                pcm = wb.audio.change_speed(pcm16k, factor)
                seconds = len(pcm) / 2 / wb.RATE
                enc_np = np.asarray(engine.encode(pcm, engine.frames_for(seconds, prep.fit_window)))[0]
                scores = engine.score_phrases(enc_np, prep, keep, seconds)
                ls = prep.label_scores(scores)
                for i in lead:
                    per[prep.labels[i]].append(float(ls[i]))
            self._views = per
            out = label_scores.copy()
            for i in lead:
                out[i] = float(np.mean(per[prep.labels[i]]))
            return out

        engine._with_views = with_views  # noqa: SLF001
        self._original_views = original

    def key(self, pcm: bytes, expect) -> str:
        salt = "|additions-text-only" if self.text_only_from is not None else ""
        return hashlib.sha256(pcm + (repr(expect.key()) + salt).encode()).hexdigest()[:24]

    def _prepared(self, expect, expect_name: str):
        if self.text_only_from is None:
            return self.engine.prepared(expect)
        import copy

        from asr.textmatch import PhraseMatcher

        prep = copy.copy(self.engine.prepared(expectation_for(self.text_only_from, expect_name)))
        prep.matcher = PhraseMatcher(expect.phrases)
        return prep

    def run(self, pcm: bytes, expect_name: str) -> Result:
        from asr import audio

        expect = expectation_for(self.script, expect_name)
        key = self.key(pcm, expect)
        got = self.known.get(key)
        if got is not None:
            return got
        if key in self.base:
            return self.derived(pcm, expect, self.base[key])
        prep = self._prepared(expect, expect_name) if (expect.all_phrases() or expect.kind == "digits") else None
        self._views = {}
        c0 = time.process_time()
        tr = self.engine.recognize(audio.resample(pcm, 8000, 16000), prep)
        cpu = time.process_time() - c0
        conf = tr.words[0].confidence if tr.words else 0.0
        res = Result(key=key, text=tr.text, scores={k: round(float(v), 6) for k, v in (tr.scores or {}).items()},
                     text_confidence=round(float(conf), 6), audio_s=round(len(pcm) / 16000, 3), cpu_s=round(cpu, 3),
                     views=self._views, emergency_audio=_pair(tr.emergency_audio))
        self.known[key] = res
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(res), ensure_ascii=False) + "\n")
        self.computed += 1
        return res

    def derived(self, pcm: bytes, expect, base: Result) -> Result:
        """``base`` (a recognition by the same recognizer without the audio intent classifier)
        with the classifier applied as ``WhisperEngine._transcript`` applies it
        (``AudioIntentModel.fuse`` on the posteriors). Exact: the classifier reads only the
        utterance's encoder output and changes nothing before the final softmax (checked
        against real recognitions with ``bench/embed_intent.py --check``). Not stored."""
        import dataclasses

        from asr import audio

        engine = self.engine
        prep = engine.prepared(expect)
        model = None if self.base_has_intent else engine.audio_intent
        old = self.base_model
        head = engine.audio_emergency
        if not prep.fit_window or not ((model is not None and model.covers(prep.labels))
                                       or (old is not None and old.covers(prep.labels))
                                       or (head is not None and head.label in prep.labels)):
            return base
        pcm16k = audio.resample(pcm, 8000, 16000)
        seconds = len(pcm16k) / 2 / 16000
        enc_np = np.asarray(engine.encode(pcm16k, engine.frames_for(seconds, prep.fit_window)))[0]
        out = dataclasses.replace(base, emergency_audio=_pair(engine.emergency_audio(enc_np, seconds, prep)))
        post = np.array([base.scores.get(lab, 0.0) for lab in prep.labels])
        old_adj = old.adjustment(enc_np, seconds, prep.labels) if old is not None else None
        if old is not None and old_adj is not None:
            # results fused with ``old``: undo it (ambiguous when fusing the result again would
            # make darurat lead: counted, read as fused)
            undone = old.unfuse(post, prep.labels, old_adj)
            if not np.array_equal(undone, post) and old.fuse(post, prep.labels, old_adj) is post:
                self.unfuse_ambiguous += 1
            post = undone
        adj = model.adjustment(enc_np, seconds, prep.labels) if model is not None else None
        if adj is not None and model is not None:
            post = model.fuse(post, prep.labels, adj)
        self.derived_count += 1
        if old_adj is None and adj is None:
            return out
        return dataclasses.replace(out, scores={k: round(float(v), 6) for k, v in zip(prep.labels, post, strict=True)})

    def close(self) -> None:
        self.rec.close()


def _pair(reading) -> list[float] | None:
    """An asr.EmergencyAudio as stored in a Result (JSON)."""
    return None if reading is None else [reading.head, reading.intent]


def main() -> None:
    """Fill the caches: ``python bench/recognition.py [--parts dev,test,blind] [--replicas 2]``."""
    import argparse
    import sys

    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="dev,test,blind")
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1, help="processes rendering speech")
    ap.add_argument("--script-additions", default="", help="YAML of example phrases added to the script")
    ap.add_argument("--jobs", type=int, default=1, help="recognizer processes (each takes every n-th item)")
    ap.add_argument("--additions-text-only", action="store_true",
                    help="the additions reach only the transcript's match, not the phrases scored on the audio")
    args = ap.parse_args()
    script = load_bench_script(args.script_additions)
    if args.additions_text_only:
        if args.jobs != 1:
            raise SystemExit("--additions-text-only: --jobs 1 only")
        rec = Recognition(script, text_only_from=load_bench_script())
        cache = speechset.AudioCache(workers=args.workers)
        _recognize(script, {p: speechset.load(p, args.replicas, cache) for p in args.parts.split(",")}, 0, 1, rec)
        return
    cache = speechset.AudioCache(workers=args.workers)
    parts = {p: speechset.load(p, args.replicas, cache) for p in args.parts.split(",")}
    print(f"audio: {cache.rendered} renderings made, cache {cache.root}", flush=True)
    jobs = max(1, args.jobs)
    if jobs == 1:
        _recognize(script, parts, 0, 1)
        return
    del parts  # each worker reads the (now cached) audio itself
    import multiprocessing

    # spawned, not forked: this process has loaded espeak-ng and numpy's threads
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(args.parts, args.replicas, args.script_additions, k, jobs))
             for k in range(jobs)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    failed = [p.exitcode for p in procs if p.exitcode]
    if failed:
        raise SystemExit(f"recognition workers failed: {failed}")


def _worker(part_names: str, replicas: int, additions: str, k: int, jobs: int) -> None:
    script = load_bench_script(additions)
    parts = {p: speechset.load(p, replicas) for p in part_names.split(",")}
    _recognize(script, parts, k, jobs)


def _recognize(script, parts: dict, k: int, jobs: int, rec: Recognition | None = None) -> None:
    """Recognise every ``jobs``-th item from the ``k``-th (results in their own file when
    parallel, so no two processes append to one file)."""
    import sys

    rec = rec or Recognition(script)
    if jobs > 1:
        rec.path = rec.path.with_name(f"{rec.fingerprint}.w{k}.jsonl")
    for part, items in parts.items():
        t0 = time.perf_counter()
        mine = items[k::jobs]
        todo = sum(rec.key(it.pcm, expectation_for(script, it.row.expect)) not in rec.known for it in mine)
        print(f"[{k}] {part}: {len(mine)} items, {todo} to recognise", flush=True, file=sys.stderr)
        for i, it in enumerate(mine):
            rec.run(it.pcm, it.row.expect)
            if i % 50 == 0:
                print(f"[{k}] {part} {i}/{len(mine)} {time.perf_counter() - t0:.0f}s", flush=True, file=sys.stderr)
    print(f"[{k}] recognition: {rec.computed} computed, results {rec.path}", flush=True)
    rec.close()


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
