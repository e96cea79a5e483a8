"""Whisper recognition (faster-whisper / CTranslate2, CPU, int8, Indonesian) that uses what
the dialog expects.

Method (measured in bench/bench_asr.py; see docs in the module of each step).

Figures: accuracies below are bench_asr's "hotline decision" (``intent_accuracy_with_dialog_
matcher``: the recognizer fused with the dialog's matcher, as ivr.calls.understand does) on the
default script's main menu, test set (68) and holdout set (68, written blind). With everything
below, int8 scorer, ``scoring="auto"`` (2026-12 run): test 79.4%, holdout 82.4% (recognizer
alone 77.9% / 80.9%). A step's own "a -> b" is what it changed when it was introduced, in the
order spoken phrases (step 3), then views (step 3b); later changes (int8 scoring, greedy
transcript) moved the sets by about one utterance each.

1. The utterance is padded to a short encoder window instead of Whisper's 30 s: for large
   expectations a window sized to the utterance (``window_steps_s``: the smallest of 4, 6, 8,
   10 s that leaves at least 1 s after the speech), read by both the free decoding (step 2)
   and the phrase scoring (step 3): one encoder pass of 30-40 ms. (A fixed 10 s window for the
   free decoding gave the same accuracy over 170 bench utterances, 129 right each, for a
   second encoder pass of ~75 ms.) Small expectations
   (yes/no) use the 10 s window: very short answers ("ya") were recognised worse in a 4 s
   window (bench: 95% -> 85%), and scoring them is cheap anyway.
2. Free decoding (greedy for large expectations, ``prompted_beam_size``; beam ``beam_size``
   for small ones; temperature 0, no timestamps, length capped by the
   audio's duration so a repetition loop cannot run long) -> transcript; a fuzzy match of that
   transcript against the expected phrases gives text evidence per label. (A prompt listing the
   expectation's vocabulary made Whisper copy prompt words into the transcript and cost 6-12
   points on our dev set; it is only used for ``digits`` expectations without phrases.)
3. Constrained scoring: expected phrases are scored as forced continuations by our own copy of
   the Whisper decoder (``asr.phrase_scorer``; int8 on ONNX Runtime by default,
   ``asr.onnx_decoder``, float32 numpy otherwise) that shares the encoder output and
   cross-attention keys/values across all phrases (batches). Each token's log-probability is
   corrected by the same token's log-probability given a null input (low-level line noise,
   computed once per expectation and window, and kept on disk for later starts under the
   identity of everything it was computed from: ``WhisperEngine.null_scores``):
   ``sum(max(lp(t|audio) - 0.8 lp(t|null), -1)) / len^0.3``, end-of-text included.
   Large expectations (the main menu: 254 phrases) are scored in two stages: the first
   ``stage1_phrases`` phrases of every label, then (``scoring="auto"``, the default) every
   other phrase when no other utterance waits for the CPU, or the remaining phrases of the
   ``stage2_labels`` labels that lead after fusing with the text evidence while some do
   (``"fast"``: always; labels not rescored keep their first-stage score, so they still take
   their share of the posterior). ``"full"`` scores every phrase in one pass. ``"fast"`` (the
   leading labels only, and no views) costs less than half the CPU but is less accurate
   (bench_asr ``--scoring fast``, same run as the figures above: test 77.9% vs 79.4%, holdout
   72.1% vs 82.4%; CPU per utterance 0.41-0.47 s vs 0.98-1.1 s). Pruning by the beginning of
   phrases (a beam over their prefix tree) was measured too and lost more (beam 32: 57% on the
   test set): the words that tell intents apart come late. Phrases are written as they are
   said (``phrase_style="spoken"``): abbreviations letter by letter ("ktp" -> "ka te pe").
3b. Views (``views``, large expectations, when the utterance has the cores to itself): the
   utterance is heard again at 0.9 and 1.1 times its speed, and the three labels leading after
   fusion get the mean of their scores over the three hearings (``_with_views``). Whisper-base's
   scores move with small changes of the audio; the mean is steadier (when introduced, after
   the spoken phrases: test 76% -> 81%, holdout 74% -> 82%, for about a quarter more CPU).
4. Fusion: label score = best phrase score + ``text_weight`` (5) * text evidence;
   posterior = softmax / T. (Weight on the dev set, hotline decision: 0 -> 73.5%, 5 -> 73.5%,
   10 -> 70.6%; 5 also on the test and holdout sets was within one utterance of the best.)
   The reported confidence is the top label's posterior.

Latency: while the caller speaks, nothing heavy runs (partial text every
``partial_every_s`` only when enabled); as soon as the stream hears trailing silence it starts
the final decode speculatively. When ``finish`` comes (after the endpointer's hangover) the
result is usually ready; it is only recomputed if speech resumed after the speculative snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import audio
from .base import (
    AudioFormatError, EmergencyAudio, Expectation, ModelCorruptError, RecognitionStream, Recognizer, Stage,
    Transcript, Word, default_workers,
)
from .textmatch import PhraseMatcher
from .disk_cache import SUFFIX, ArrayCache, Fingerprint, file_digest
from .whisper_model import default_cache_dir, model_digest, resolve_model_dir

log = logging.getLogger(__name__)
RATE = 16000
DIGIT_WORDS = "nol satu dua tiga empat lima enam tujuh delapan sembilan sepuluh belas puluh ratus ribu"


@dataclass
class WhisperOptions:
    window_s: float = 10.0  # longest fixed encoder window (small expectations always use it)
    window_steps_s: tuple[float, ...] = (4.0, 6.0, 8.0, 10.0)  # windows sized to the utterance
    window_margin_s: float = 1.0  # audio after the speech inside the window, at least
    fit_window_above: int = 40  # expectations with more phrases use the fitted window
    beam_size: int = 5  # free decoding without expectations (transcription)
    prompted_beam_size: int = 1  # free decoding beside the scoring of large expectations (small
    # ones use beam_size): greedy was as accurate as beam 5 on the bench (hotline decision over
    # 170 utterances: 128 vs 124 right) for 120 ms less CPU per utterance
    tokens_per_s: float = 12.0  # free decoding length cap: 12 tokens per second of audio + 16
    null_alpha: float = 0.8
    token_floor: float = -1.0
    length_power: float = 0.3
    text_weight: float = 5.0  # text evidence weight for large expectations (menus)
    text_weight_small: float = 10.0  # and for small ones (yes/no: 5 made 53% -> 40% of answers
    # reliable enough to act on, no wrong one either way; 10 is where it was tuned)
    temperature: float = 2.0  # softmax temperature turning fused scores into posteriors
    scoring: str = "auto"  # "full": every expected phrase in one pass; "fast": two stages for
    # large expectations, the second for the leading labels only (less CPU, less accurate: see
    # the module docstring); "auto": two stages, the second for every other phrase unless other
    # utterances wait for the CPU (see WhisperRecognizer.busy)
    prune_above: int = 40  # "fast"/"auto": expectations with more phrases can use two stages
    stage1_phrases: int = 4  # first stage: this many phrases (the first ones) of every label
    stage2_labels: int = 5  # second stage: all phrases of this many leading labels
    partial_every_s: float = 0.0  # >0: decode the audio so far this often during speech (partial
    # text); off by default: nothing in the hotline reads partials and it costs CPU per second
    speculate_after_ms: int = 160  # trailing silence that starts the final decode early
    speculate_idle_ms: int = 120  # ... when no final decode is in flight, this stream's own stale
    # one included: it still holds the cores until its encoder pass ends (0: always the above). A pause inside a request longer than this starts a decode that speech then makes
    # stale; on idle cores that costs nothing the caller waits for, so a lone turn starts 40 ms
    # sooner (bench_calls, one caller: p50 486 -> 445 ms in one quiet round, the same number of
    # speculations per turn with and without pauses; docs/decisions.md phase 11)
    wide_encoder: bool = True  # an utterance decoded alone: its encoder pass runs on every core
    # (a second CTranslate2 instance with one intra-op thread per core, ~120 MB; same output)
    max_prompt_tokens: int = 120  # vocabulary prompt of a digits expectation without phrases
    phrase_style: str = "spoken"  # how phrases are written for scoring: "spoken" (abbreviations
    # as their letters are said) or "as_is" (the script's spelling; see styled_phrase)
    scorer_precision: str = "int8"  # phrase scoring: "int8" (ONNX Runtime) or "float32" (numpy)
    pack_phrases: int = 8  # int8 scoring: this many phrases (neighbours in token order) share a
    # row of a batch as a tree of their shared first tokens, two rows a batch (0/1: one phrase a
    # row, eight a batch). Main menu: 15-17% fewer positions, ~20% less CPU on an AVX2 EPYC;
    # scores move like the int8 batch jitter (docs/decisions.md, phase 13 helper avx2)
    text_decoder: str = "auto"  # greedy free decoding: "auto" (on the int8 scoring graph when it
    # runs), "int8" (same) or "ctranslate2"; beam searches always run on CTranslate2
    views: tuple[float, ...] = (0.9, 1.1)  # large expectations: the utterance is also heard
    # at these speeds (tape-speed change) and the leading labels' scores are averaged over the
    # views (see _with_views); skipped while other utterances wait for the CPU (scoring "auto")
    # and always with "fast"
    view_labels: int = 3  # labels rescored in the other views: the leading ones after fusion
    view_phrases: int = 0  # >0: in the other views, only each leading label's this many best
    # phrases of the first hearing are scored (0: all its phrases)
    views_early: bool = False  # an utterance decoded alone: its fastest view is resampled and
    # encoded beside its own encoder pass (single-threaded: the other core is idle then), before
    # it is known whether the views will run (same scores; wasted when they do not). Off: on a
    # loaded 2-core machine it took the views 20% faster but made turns that skip them (every
    # turn of bench_calls' lone caller) 8% slower (docs/decisions.md, phase 9 helper latency)
    views_parallel: bool = True  # the views are encoded and scored at once (one on the calling
    # thread, the others on their own threads) instead of one after the other (same scores)
    prune_labels: int = 0  # >0 (large expectations the audio classifier covers, nobody waiting):
    # the second stage scores the other phrases only of the classifier's this many leading
    # labels, the ``prune_keep`` labels and the ``prune_lead`` labels leading after the first
    # stage; the others keep their first-stage score (see PreparedExpectation.kept)
    prune_keep: tuple[str, ...] = ("darurat",)  # never pruned (the emergency label)
    prune_lead: int = 1  # the first stage's own leaders, never pruned
    audio_intent: bool = True  # large expectations whose labels asr/audio_intent.npz knows: the
    # posteriors are multiplied by the audio classifier's (asr.audio_intent), raised to its weight
    audio_emergency: bool = True  # expectations offering asr/audio_emergency.npz's label: its
    # probability that the caller asks for help now goes on the transcript (asr.audio_emergency)
    vocabulary_subset: bool = True  # softmax normaliser over Indonesian word pieces only
    # (measured against the full vocabulary: same dev accuracy, 40% less scoring work)


class PreparedExpectation:
    """Per-expectation data, cached by ``WhisperEngine.prepared``: token sequences, null
    scores, prompt, matcher. Build one directly only to score with options other than the
    engine's (tests, benches)."""

    def __init__(self, engine: WhisperEngine, expect: Expectation) -> None:
        self.expect = expect
        self.items = expect.all_phrases()  # (label, phrase)
        self.labels = list(expect.labels)
        tok = engine.tokenizer
        style = engine.options.phrase_style
        self.seqs = [tok.encode(" " + styled_phrase(p, style)) + [tok.eot] for _, p in self.items]
        self.label_of = np.array([self.labels.index(lab) for lab, _ in self.items], dtype=np.int64)
        engine.scorer.add_tokens({t for s in self.seqs for t in s})
        self.matcher = PhraseMatcher(expect.phrases)
        vocab: list[str] = []
        seen = set()
        text = " ".join(p for _, p in self.items) if self.items else ""
        if expect.kind == "digits":
            text = (text + " " + DIGIT_WORDS).strip()
        for w in text.split():
            lw = w.strip(".,?!").lower()
            if lw and lw not in seen:
                seen.add(lw)
                vocab.append(lw)
        ids = tok.encode(" " + " ".join(vocab)) if vocab else []
        self.prompt = ids[-engine.options.max_prompt_tokens:]
        o = engine.options
        self.large = o.scoring != "full" and len(self.items) > o.prune_above
        self.fit_window = len(self.items) > o.fit_window_above
        # first stage of the two-stage scoring: the first phrases of every label (the script
        # lists a label's plainest phrasings first)
        self.stage1 = np.zeros(len(self.items), dtype=bool)
        for li in range(len(self.labels)):
            self.stage1[np.nonzero(self.label_of == li)[0][: o.stage1_phrases]] = True
        self.null_lp: dict[int, list[np.ndarray]] = {}
        self.lock = threading.Lock()

    def windows(self, engine: WhisperEngine) -> list[int]:
        """Encoder windows (mel frames) this expectation can be scored in (for warm-up)."""
        o = engine.options
        steps = o.window_steps_s if self.fit_window else (o.window_s,)
        return sorted({int(w * 100) for w in steps})

    def null_scores(self, engine: WhisperEngine, frames: int) -> list[np.ndarray]:
        with self.lock:
            if frames not in self.null_lp:
                self.null_lp[frames] = engine.null_scores(self.seqs, frames)
            return self.null_lp[frames]

    def kept(self, options: WhisperOptions, audio_adj: np.ndarray, first: np.ndarray) -> np.ndarray:
        """Mask of the phrases whose labels the pruned second stage scores: the audio
        classifier's ``prune_labels`` leading labels (``audio_adj``: its log-posteriors times its
        weight, one per label), every ``prune_keep`` label of the expectation and the
        ``prune_lead`` labels leading in ``first`` (the first stage's fused scores)."""
        take = set(np.argsort(-audio_adj, kind="stable")[: options.prune_labels].tolist())
        take |= {i for i, lab in enumerate(self.labels) if lab in options.prune_keep}
        take |= set(np.argsort(-first, kind="stable")[: options.prune_lead].tolist())
        return np.isin(self.label_of, sorted(take))

    def label_scores(self, phrase_scores: np.ndarray) -> np.ndarray:
        """Phrase scores -> one score per label: its best phrase (NaN phrases, not scored,
        ignored; -inf for a label without any)."""
        out = np.full(len(self.labels), -np.inf)
        for li in range(len(self.labels)):
            v = phrase_scores[(self.label_of == li) & ~np.isnan(phrase_scores)]
            if v.size:
                out[li] = float(v.max())
        return out


class WhisperEngine:
    """The loaded model, shared by every stream: CTranslate2 encoder/decoder, tokenizer,
    feature extractor, numpy phrase scorer and per-expectation caches."""

    def __init__(self, model_dir: str | Path | None = None, cache_dir: str | Path | None = None,
                 sha256: str | None = None, threads: int | None = None,
                 options: WhisperOptions | None = None, compute_type: str = "int8") -> None:
        import ctranslate2
        import tokenizers
        from faster_whisper.feature_extractor import FeatureExtractor
        from faster_whisper.tokenizer import Tokenizer

        from .phrase_scorer import WhisperDecoderScorer

        self.options = options or WhisperOptions()
        from threadpoolctl import threadpool_limits

        # one BLAS thread per caller thread: parallelism comes from our own threads (see
        # asr.phrase_scorer); process-wide, as BLAS thread counts are
        self._blas_limit = threadpool_limits(limits=1, user_api="blas")
        self.model_dir = resolve_model_dir(model_dir, cache_dir, sha256)
        self.compute_type = compute_type
        cores = threads or default_workers()
        try:
            self.model = ctranslate2.models.Whisper(
                str(self.model_dir), device="cpu", compute_type=compute_type, intra_threads=1, inter_threads=cores)
            # the same model with an intra-op thread per core, for the encoder pass of an
            # utterance decoded alone (WhisperOptions.wide_encoder; same output)
            self._wide = (ctranslate2.models.Whisper(str(self.model_dir), device="cpu", compute_type=compute_type,
                                                     intra_threads=cores, inter_threads=1)
                          if self.options.wide_encoder and cores > 1 else None)
            tk = self.model_dir / "tokenizer.json"
            hf = tokenizers.Tokenizer.from_file(str(tk))
            self.scorer = WhisperDecoderScorer(str(self.model_dir / "model.bin"), workers=cores)
        except Exception as exc:  # noqa: BLE001 - ctranslate2 and tokenizers raise several kinds
            if isinstance(exc, ModelCorruptError):
                raise
            raise ModelCorruptError(f"cannot load the Whisper model in {self.model_dir}: {exc}") from exc
        self.tokenizer = Tokenizer(hf, self.model.is_multilingual, task="transcribe", language="id")
        # derived data kept across starts (int8 graph, vocabulary, null scores), each checked
        # against what it was computed from before use
        self.cache_dir = Path(cache_dir or default_cache_dir()) / "scorer"
        self.cache = ArrayCache(self.cache_dir)
        self._fingerprint: str | None = None
        if self.options.vocabulary_subset:
            self.scorer.use_vocabulary(self._indonesian_ids(hf, tk) | {self.tokenizer.eot})
        if self.options.scorer_precision == "int8":
            # the phrase scorer in int8 (asr.onnx_decoder): 40% of the CPU, same accuracy on
            # the bench; float32 numpy when ONNX Runtime is missing or the graph cannot be built
            try:
                if not self.scorer.enable_int8(self.cache_dir):
                    log.warning("onnxruntime or onnx not installed: phrase scoring runs in float32")
                self.scorer.pack = max(1, self.options.pack_phrases)
            except Exception as exc:  # noqa: BLE001 - a slower scorer beats no recognizer
                log.warning("int8 phrase scorer unavailable (%s): phrase scoring runs in float32", exc)
        self.n_mels = self.model.n_mels
        self.features = FeatureExtractor(feature_size=self.n_mels)
        from .audio_intent import AudioIntentModel

        self.audio_intent = AudioIntentModel.load() if self.options.audio_intent else None
        from .audio_emergency import AudioEmergencyModel

        self.audio_emergency = AudioEmergencyModel.load() if self.options.audio_emergency else None
        tok = self.tokenizer
        self.prefix = [tok.sot, tok.language, tok.transcribe, tok.no_timestamps]
        self._prepared: OrderedDict[tuple, PreparedExpectation] = OrderedDict()
        self._null: dict[int, list] = {}
        self._primed = self._pruned = False
        self._lock = threading.Lock()
        # CTranslate2 runs one thread per call and up to `cores` calls at once (inter_threads):
        # with several callers, whole utterances in parallel beat one utterance on all cores, and
        # intra-op threads spin while they wait (measured: beam-5 decoding 0.18 -> 0.09 CPU-s)
        self._model_lock = threading.BoundedSemaphore(cores)
        self._side = ThreadPoolExecutor(max_workers=2, thread_name_prefix="whisper-text")
        # the extra hearings' own threads (early encodes, views in parallel), apart from the
        # free decoding's so that they never make a transcript wait
        self._views = ThreadPoolExecutor(max_workers=max(2, cores), thread_name_prefix="whisper-view")
        self._wide_lock = threading.Lock()  # one encoder pass at a time on the wide instance
        self._active = 0  # recognitions with expected phrases under way (see views_early)
        self._active_lock = threading.Lock()

    def close(self) -> None:
        """Shut down the engine's own threads: the free decoding's (``whisper-text``), the extra
        hearings' (``whisper-view``) and the phrase scorer's (``scorer``). Work not yet started
        is cancelled; work under way is not waited for (as with the recognizer's own
        pool). Idempotent. The engine recognises nothing afterwards; close it once nothing
        uses it (its owner does: ``WhisperRecognizer.close`` for the engine it built): a decode
        still under way then fails (its next batch or job cannot be submitted)."""
        self._side.shutdown(wait=False, cancel_futures=True)
        self._views.shutdown(wait=False, cancel_futures=True)
        self.scorer.close()

    # -- building blocks ------------------------------------------------------------------
    def frames_for(self, seconds: float, fit: bool = False) -> int:
        """Mel frames (100 per second) of the encoder window for an utterance: the fixed
        ``window_s`` or (``fit``) the smallest of ``window_steps_s`` leaving the margin."""
        o = self.options
        win = o.window_s
        if fit:
            win = next((w for w in sorted(o.window_steps_s) if w >= seconds + o.window_margin_s), o.window_s)
        if seconds > win:
            win = min(30.0, math.ceil(seconds + 0.5))
        return int(win * 100)

    def encode(self, pcm16k: bytes, frames: int | None = None, fit: bool = False, wide: bool = False):
        """The encoder output; ``wide``: on every core (the wide instance, when loaded and
        free; the caller knows nothing else is being decoded)."""
        import ctranslate2

        x = audio.pcm_to_float(pcm16k)
        frames = frames or self.frames_for(x.size / RATE, fit)
        n = frames * 160
        padded = np.zeros(n + 160, dtype=np.float32)
        padded[: min(x.size, n)] = x[:n]
        mel = self.features(padded)[:, :frames]
        sv = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None], dtype=np.float32))
        with self._model_lock:
            if wide and self._wide is not None and self._wide_lock.acquire(blocking=False):
                try:
                    return self._wide.encode(sv, to_cpu=True)
                finally:
                    self._wide_lock.release()
            return self.model.encode(sv, to_cpu=True)

    def null_kv(self, frames: int):
        with self._lock:
            if frames not in self._null:
                rng = np.random.default_rng(1234)
                noise = rng.standard_normal(frames * 160).astype(np.float32) * 10 ** (-55 / 20)
                pcm = audio.ulaw_decode(audio.ulaw_encode(audio.float_to_pcm(noise)))
                enc = np.asarray(self.encode(pcm, frames))[0]
                self._null[frames] = self.scorer.cross_kv(enc)
            return self._null[frames]

    def _indonesian_ids(self, hf, tokenizer_json: Path) -> set[int]:
        """``_indonesian_token_ids`` (0.6 s of start-up) cached under the tokenizer's and the
        word list's contents."""
        words = _word_list()
        import tokenizers

        key = Fingerprint(_code_digest(), tokenizers.__version__, tokenizer_json.read_bytes(),
                          words.read_bytes() if words is not None else "-").hexdigest()
        got = self.cache.load("vocabulary", key)
        if got is not None and got.get("ids") is not None and got["ids"].dtype == np.int64:
            return set(got["ids"].tolist())
        ids = _indonesian_token_ids(hf)
        self.cache.store("vocabulary", key, {"ids": np.array(sorted(ids), dtype=np.int64)})
        return ids

    def fingerprint(self) -> str:
        """Everything outside the inputs that recognition results depend on: the weights
        (model.bin's SHA-256), the code of this package's computations, the numeric libraries'
        versions and the CPU's instruction set (kernels differ by it)."""
        if self._fingerprint is None:
            import ctranslate2
            import faster_whisper
            import scipy

            versions = [ctranslate2.__version__, faster_whisper.__version__, np.__version__, scipy.__version__]
            if self.scorer.precision == "int8":
                import onnxruntime

                versions.append(onnxruntime.__version__)
            self._fingerprint = Fingerprint(model_digest(self.model_dir), _code_digest(), *versions,
                                            _cpu_flags(), self.compute_type).hexdigest()
        return self._fingerprint

    def null_scores(self, seqs: list[list[int]], frames: int) -> list[np.ndarray]:
        """Token log-probabilities of ``seqs`` given the null input in a window of ``frames``
        (seconds of CPU for a menu's four windows), from the disk cache when an entry computed
        from exactly the same weights, code, libraries, vocabulary and sequences is there."""
        key = self._null_key(seqs, frames)
        # the file name leads with the engine's fingerprint: entries of other models, code or
        # library versions can be told apart (and removed: _prune_nulls)
        name = f"null-{self.fingerprint()[:12]}-{key[:32]}"
        got = self.cache.load(name, key)
        if got is not None:
            lps = _split_rows(got, seqs)
            if lps is not None:
                return lps
        lps = self.scorer.token_logprobs(self.prefix, seqs, self.null_kv(frames))
        if self._null_key(seqs, frames) == key:  # no tokens joined the vocabulary meanwhile
            if self.cache.store(name, key, {"lp": np.concatenate(lps).astype(np.float32, copy=False),
                                            "lengths": np.array([len(x) for x in lps], dtype=np.int64)}):
                self._prune_nulls()
        return lps

    def _prune_nulls(self, older_than_s: float = 86400.0) -> None:
        """Remove null-score entries of other fingerprints not written for a day (left by
        earlier versions; a day spares other checkouts sharing the cache). Once per engine."""
        with self._lock:
            if self._pruned:
                return
            self._pruned = True
        mine = f"null-{self.fingerprint()[:12]}-"
        limit = time.time() - older_than_s
        for path in self.cache.directory.glob("null-*" + SUFFIX):
            with contextlib.suppress(OSError):
                if not path.name.startswith(mine) and path.stat().st_mtime < limit:
                    path.unlink()

    def prime(self) -> None:
        """Encode one window and score one phrase, once per engine: the first run of the
        encoder and of the int8 graph sets up their buffers and kernels (~0.1 s), which the
        first caller would otherwise wait for now that the null scores come from the disk."""
        with self._lock:
            if self._primed:
                return
            self._primed = True
        frames = min(int(w * 100) for w in (*self.options.window_steps_s, self.options.window_s))
        tok = self.tokenizer
        self.scorer.token_logprobs(self.prefix, [[*tok.encode(" ya"), tok.eot]], self.null_kv(frames))
        if self._wide is not None:  # the wide instance's first run too (a lone caller's first turn)
            self.encode(bytes(frames * 320), frames, wide=True)

    def _null_key(self, seqs: list[list[int]], frames: int) -> str:
        flat = np.array([t for s in seqs for t in s], dtype=np.int64)
        lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        return Fingerprint(self.fingerprint(), self.scorer.state_digest(), np.array(self.prefix, dtype=np.int64),
                           flat, lengths, f"frames={frames}").hexdigest()

    def prepared(self, expect: Expectation) -> PreparedExpectation:
        key = expect.key()
        with self._lock:
            p = self._prepared.get(key)
            if p is None:
                p = self._prepared[key] = PreparedExpectation(self, expect)
                while len(self._prepared) > 64:
                    self._prepared.popitem(last=False)
            else:
                self._prepared.move_to_end(key)
            return p

    def decode_text(self, enc, prompt: Sequence[int] = (), beam_size: int = 5, max_length: int = 120) -> tuple[str, float]:
        texts, conf = self.decode_nbest(enc, prompt, beam_size, 1, max_length)
        return texts[0], conf

    def decode_nbest(self, enc, prompt: Sequence[int] = (), beam_size: int = 5, n: int = 1,
                     max_length: int = 120) -> tuple[list[str], float]:
        """Free decoding; ``max_length`` caps the generated tokens (a repetition loop on noise
        otherwise runs to the cap: ~0.5 s of CPU for nothing)."""
        tok = self.tokenizer
        full = ([tok.sot_prev, *prompt] if prompt else []) + self.prefix
        with self._model_lock:
            res = self.model.generate(enc, [full], beam_size=max(beam_size, n), num_hypotheses=n,
                                      max_length=len(full) + max_length, return_scores=True,
                                      return_no_speech_prob=True, suppress_blank=True)
        r = res[0]
        others = [tok.decode([t for t in seq if t < tok.eot]).strip() for seq in r.sequences_ids[1:]]
        ids = [t for t in (r.sequences_ids[0] if r.sequences_ids else []) if t < tok.eot]
        text = tok.decode(ids).strip()
        score = float(r.scores[0]) if r.scores else -10.0  # length-normalised log-probability
        conf = float(math.exp(score)) * (1.0 - float(getattr(r, "no_speech_prob", 0.0)))
        return [text, *others], max(0.0, min(1.0, conf))

    def greedy_text(self, kv, max_length: int, stop=None) -> tuple[list[str], float]:
        """Greedy free decoding on the int8 scoring graph (``WhisperDecoderScorer.greedy``),
        with the suppression rules of CTranslate2's search; same return as ``decode_nbest``."""
        tok = self.tokenizer
        blank = tok.encode(" ")
        ids, mean_lp, p_none = self.scorer.greedy(
            self.prefix, kv, max_length, tok.eot, suppress=self._non_speech,
            suppress_at_start=[tok.eot, *blank], no_speech=tok.no_speech, stop=stop)
        conf = math.exp(mean_lp) * (1.0 - p_none)
        return [tok.decode(ids).strip()], max(0.0, min(1.0, conf))

    @functools.cached_property
    def _non_speech(self) -> tuple[int, ...]:
        return tuple(self.tokenizer.non_speech_tokens)

    def use_graph_text(self, beam: int, prompt: Sequence[int]) -> bool:
        """Whether the free decoding runs greedily on the int8 graph instead of CTranslate2."""
        # "int8" and "auto" alike: without the int8 graph (no ONNX Runtime) CTranslate2 decodes
        return (self.options.text_decoder != "ctranslate2" and beam == 1 and not prompt
                and self.scorer.precision == "int8")

    def score_phrases(self, enc_np: np.ndarray, prep: PreparedExpectation, keep: np.ndarray | None = None,
                      seconds: float | None = None, kv=None, stale: threading.Event | None = None) -> np.ndarray:
        """Null-corrected scores for the expectation's phrases (NaN for phrases not kept);
        :class:`Stale` as soon as ``stale`` is set (checked before each batch)."""
        o = self.options
        frames = enc_np.shape[0] * 2
        null = prep.null_scores(self, frames)
        idx = np.arange(len(prep.seqs)) if keep is None else np.nonzero(keep)[0]
        out = np.full(len(prep.seqs), np.nan, dtype=np.float64)
        if idx.size == 0:
            return out
        kv = kv if kv is not None else self.scorer.cross_kv(enc_np)
        from .phrase_scorer import Stopped

        try:
            lps = self.scorer.token_logprobs(self.prefix, [prep.seqs[i] for i in idx], kv,
                                             stop=None if stale is None else stale.is_set)
        except Stopped:
            raise Stale() from None
        for i, lp in zip(idx, lps, strict=True):
            corrected = np.maximum(lp - o.null_alpha * null[i], o.token_floor)
            out[i] = float(corrected.sum()) / (len(lp) ** o.length_power)
        return out

    # -- whole recognitions -------------------------------------------------------------
    def transcribe(self, pcm16k: bytes) -> tuple[str, float]:
        """Free transcription (no expectation), in 30 s windows for long audio."""
        seconds = len(pcm16k) / 2 / RATE
        if seconds <= 30:
            enc = self.encode(pcm16k)
            return self.decode_text(enc, beam_size=self.options.beam_size)
        texts, confs = [], []
        step = 28 * RATE * 2
        for start in range(0, len(pcm16k), step):
            chunk = pcm16k[start:start + step]
            if len(chunk) < RATE * 2 * 0.3:
                continue
            t, c = self.decode_text(self.encode(chunk, 3000), beam_size=self.options.beam_size)
            texts.append(t)
            confs.append(c)
        return " ".join(t for t in texts if t), float(np.mean(confs)) if confs else 0.0

    def max_tokens(self, seconds: float) -> int:
        return int(16 + self.options.tokens_per_s * seconds)

    def recognize(self, pcm16k: bytes, prep: PreparedExpectation | None,
                  stale: threading.Event | None = None, busy=None,
                  enough: Callable[[Transcript], bool] | None = None) -> Transcript:
        """``stale``: set when the result is no longer wanted (a speculative decode whose
        caller went on speaking); the phrase scoring then stops early with ``Stale``.
        ``busy``: a callable telling whether other utterances wait for the CPU (scoring "auto"
        then limits the second stage to the leading labels).
        ``enough``: for a staged (large) expectation, called with the first pass's result (the
        first stage and the transcript: about a third of the work) and, before the extra
        hearings, with the second stage's (``Transcript.stage``: "first", "second"); true returns
        that result as is, without the rest (``timings["first_pass"]`` or ``["second_pass"]`` = 1). The caller decides what is
        decisive (``ivr.calls.understand.Understander.decisive``); without it every utterance
        gets the whole scoring."""
        t0 = time.perf_counter()
        seconds = len(pcm16k) / 2 / RATE
        # every recognition counts (a free-text or digits one uses the cores too): an utterance
        # is decoded alone (wide encoder, parallel keys, early view) only when it is the one
        with self._active_lock:
            self._active += 1
        try:
            if prep is None or not prep.items:
                if prep is not None and prep.prompt:  # e.g. digits: free decoding with a vocabulary prompt
                    enc = self.encode(pcm16k)
                    text, conf = self.decode_text(enc, prep.prompt, beam_size=self.options.beam_size,
                                                  max_length=self.max_tokens(seconds))
                else:
                    text, conf = self.transcribe(pcm16k)
                return Transcript(text=text, confidence=conf, words=_words(text, conf), audio_seconds=seconds,
                                  decode_seconds=time.perf_counter() - t0)
            return self._recognize_phrases(pcm16k, prep, seconds, t0, stale, busy, enough)
        finally:
            with self._active_lock:
                self._active -= 1

    def _wants_views(self, prep: PreparedExpectation, busy) -> bool:
        o = self.options
        return bool(o.views and prep.fit_window and o.scoring != "fast"
                    and not (o.scoring == "auto" and busy is not None and busy()))

    def _recognize_phrases(self, pcm16k: bytes, prep: PreparedExpectation, seconds: float, t0: float,
                           stale: threading.Event | None, busy, enough) -> Transcript:
        o = self.options
        tm: dict[str, float] = {}
        frames = self.frames_for(seconds, prep.fit_window)
        early: Future | None = None
        with self._active_lock:
            alone = self._active == 1  # no other recognition under way (see recognize)
        if o.views_early and self._wants_views(prep, busy):
            if alone:
                # the fastest view's encoder pass (the shortest audio: it ends about when the
                # utterance's own does) on the core this one leaves idle
                early = self._views.submit(self._view_encoding, pcm16k, max(o.views), prep, stale)
        try:
            return self._decode_phrases(pcm16k, prep, seconds, t0, tm, frames, stale, busy, enough, early, alone)
        finally:
            if early is not None:
                early.cancel()  # not started yet: never will (a running one ends with its encode)

    def _decode_phrases(self, pcm16k: bytes, prep: PreparedExpectation, seconds: float, t0: float,
                        tm: dict[str, float], frames: int, stale: threading.Event | None, busy, enough,
                        early: Future | None, alone: bool) -> Transcript:
        """``alone``: no other recognition was under way when this one began (its encoder pass
        and cross-attention keys then use every core)."""
        o = self.options
        enc = self.encode(pcm16k, frames, wide=alone and early is None)
        tm["encode_ms"] = _ms(t0)
        # free decoding (CTranslate2 or the int8 graph, both release the GIL) runs beside the
        # phrase scoring
        # greedy beside a menu's scoring; short answers (yes/no) keep the wider beam: their
        # transcript's words often decide, and greedy left 10 points more of them unsure
        beam = o.prompted_beam_size if prep.fit_window else o.beam_size
        enc_np = np.asarray(enc)[0]
        # the audio classifier's share of the posteriors (asr.audio_intent): a product of
        # ~0.1 ms, applied to the posteriors in _transcript only, so it does not change
        # which labels the second stage and the extra hearings rescore
        # (its log-posteriors computed once: the emergency readings read darurat's from them)
        audio_lp = (self.audio_intent.log_posteriors(enc_np, seconds, prep.labels)
                    if self.audio_intent is not None and prep.fit_window else None)
        audio_adj = self.audio_intent.adjustment_of(audio_lp) if self.audio_intent is not None else None
        emergency_audio = self.emergency_audio(enc_np, seconds, prep, audio_lp)
        kv = self.scorer.cross_kv(enc_np, parallel=alone)
        if self.use_graph_text(beam, ()):
            text_job = self._side.submit(self.greedy_text, kv, self.max_tokens(seconds),
                                         None if stale is None else stale.is_set)
        else:
            text_job = self._side.submit(self.decode_nbest, enc, (), beam, 1, self.max_tokens(seconds))
        if stale is not None and stale.is_set():
            raise Stale()
        # two stages for large expectations unless scoring is "full"; "auto" decides after the
        # first stage, when it knows best whether others are waiting, how far the second goes
        staged = prep.large and o.scoring in ("fast", "auto")
        t1 = time.perf_counter()
        phrase_scores = self.score_phrases(enc_np, prep, prep.stage1 if staged else None, seconds, kv, stale=stale)
        tm["score1_ms"] = _ms(t1)
        texts, text_conf = text_job.result()
        tm["text_wait_ms"] = _ms(t1) - tm["score1_ms"]
        text = texts[0]
        text_scores = prep.matcher.scores(text)
        text_vec = np.array([text_scores.get(lab, 0.0) for lab in prep.labels])
        text_weight = o.text_weight if prep.fit_window else o.text_weight_small
        if stale is not None and stale.is_set():
            raise Stale()
        if staged and enough is not None:
            first = self._transcript(prep, prep.label_scores(phrase_scores) + text_weight * text_vec, text,
                                     text_conf, seconds, t0, tm, audio_adj, emergency_audio, stage="first")
            if enough(first):
                return replace(first, timings={**first.timings, "first_pass": 1.0})
        scored_second = False
        if staged:
            if o.scoring == "auto" and not (busy is not None and busy()):
                more = ~prep.stage1  # nobody waiting: every other phrase too (= full scoring)
                if o.prune_labels > 0 and audio_adj is not None:
                    # ... of the labels the audio classifier, the emergency rule or the first
                    # stage leaves in play; the others keep their first-stage score
                    more &= prep.kept(o, audio_adj, prep.label_scores(phrase_scores) + text_weight * text_vec)
            else:
                # second stage: every phrase of the labels leading after the first stage
                first = prep.label_scores(phrase_scores) + text_weight * text_vec
                more = _leading(first, prep, o.stage2_labels)[1] & ~prep.stage1
            if more.any():
                t2 = time.perf_counter()
                extra = self.score_phrases(enc_np, prep, more, seconds, kv, stale=stale)
                phrase_scores = np.where(more, extra, phrase_scores)
                tm["score2_ms"] = _ms(t2)
                scored_second = True
        label_scores = prep.label_scores(phrase_scores)
        if self._wants_views(prep, busy):
            if staged and enough is not None:
                # a second stage that scored nothing left the first pass's result as it was
                second = self._transcript(prep, label_scores + text_weight * text_vec, text, text_conf, seconds,
                                          t0, tm, audio_adj, emergency_audio,
                                          stage="second" if scored_second else "first")
                if enough(second):
                    return replace(second, timings={**second.timings, "second_pass": 1.0})
            t3 = time.perf_counter()
            # (``early`` passed only when there is one: benches wrap _with_views without it)
            label_scores = self._with_views(pcm16k, prep, label_scores, text_weight * text_vec, stale,
                                            phrase_scores, **({} if early is None else {"early": early}))
            tm["views_ms"] = _ms(t3)
        return self._transcript(prep, label_scores + text_weight * text_vec, text, text_conf, seconds, t0, tm,
                                audio_adj, emergency_audio)

    def _transcript(self, prep: PreparedExpectation, fused: np.ndarray, text: str, text_conf: float,
                    seconds: float, t0: float, tm: dict[str, float],
                    audio_adj: np.ndarray | None = None, emergency_audio: EmergencyAudio | None = None,
                    stage: Stage = "whole") -> Transcript:
        """The result from the fused label scores (label scores + weighted text evidence),
        times the audio classifier's posteriors to their weight when ``audio_adj`` is given."""
        post = _softmax(fused / self.options.temperature)
        if audio_adj is not None and self.audio_intent is not None:
            post = self.audio_intent.fuse(post, prep.labels, audio_adj)
        scores = {lab: float(p) for lab, p in zip(prep.labels, post, strict=True)}
        best = int(np.argmax(post))
        tm = {**tm, "decode_ms": _ms(t0)}
        return Transcript(text=text, confidence=float(post[best]), words=_words(text, text_conf), scores=scores,
                          audio_seconds=seconds, decode_seconds=time.perf_counter() - t0, timings=tm,
                          emergency_audio=emergency_audio, stage=stage)

    def emergency_audio(self, enc_np: np.ndarray, seconds: float, prep: PreparedExpectation,
                        audio_lp: np.ndarray | None = None) -> EmergencyAudio | None:
        """What the audio says of an emergency (``asr.audio_emergency``; two dot products on the
        encoder output already computed), for a menu's fitted window that offers its label.
        ``audio_lp``: the audio intent classifier's log-posteriors of ``prep.labels`` when
        already computed (``AudioIntentModel.log_posteriors``), so it does not run again."""
        head = self.audio_emergency
        if head is None or not prep.fit_window or head.label not in prep.labels:
            return None
        # its intent reading: the audio intent classifier's own posterior of the label (the
        # frozen copy inside the head only when there is no classifier for these labels)
        return head.of_encoding(enc_np, seconds, self.audio_intent, prep.labels, audio_lp)

    def _view_encoding(self, pcm16k: bytes, factor: float, prep: PreparedExpectation,
                       stale: threading.Event | None = None):
        """The utterance played at ``factor`` times its speed: its encoder output and the
        scorer's cross-attention keys/values (None when ``stale`` is set before it starts)."""
        if stale is not None and stale.is_set():
            return None
        pcm = audio.change_speed(pcm16k, factor)
        seconds = len(pcm) / 2 / RATE
        enc_np = np.asarray(self.encode(pcm, self.frames_for(seconds, prep.fit_window)))[0]
        return enc_np, self.scorer.cross_kv(enc_np)

    def _view_scores(self, pcm16k: bytes, factor: float, prep: PreparedExpectation, lead: np.ndarray,
                     keep: np.ndarray, stale: threading.Event | None, encoding=None) -> np.ndarray:
        """The ``lead`` labels' scores on one view (``encoding``: its ``_view_encoding`` when
        already computed)."""
        if stale is not None and stale.is_set():
            raise Stale()
        if encoding is None:
            encoding = self._view_encoding(pcm16k, factor, prep)
        enc_np, kv = encoding
        scores = self.score_phrases(enc_np, prep, keep, kv=kv, stale=stale)
        return prep.label_scores(scores)[lead]

    def _with_views(self, pcm16k: bytes, prep: PreparedExpectation, label_scores: np.ndarray, text: np.ndarray,
                    stale: threading.Event | None, phrase_scores: np.ndarray | None = None,
                    early: Future | None = None) -> np.ndarray:
        """Test-time speed perturbation: the ``view_labels`` labels leading after fusion are
        scored again on the utterance played at each of ``views`` speeds, and their label
        scores become the mean over all views; the other labels keep theirs. Whisper-base's
        scores of a phrase move with small changes of the audio; the average is steadier.
        Offline, on the dumped scores of 170 bench utterances, every single extra view of five
        tried (speed 0.9 or 1.1, 100 or 200 ms of leading silence, a 10 s window) gained 2-5
        utterances and the pair 0.9/1.1 gained 7; rescoring only the three leading labels gave
        the same decisions as rescoring all, for about a sixth of the work."""
        o = self.options
        lead, keep = view_plan(o, prep, label_scores + text, phrase_scores)
        views = [label_scores[lead]]
        # ``early``: the fastest view's encoding, started beside the utterance's own encoder pass
        ready = early.result() if early is not None and not early.cancelled() else None
        pre = {} if ready is None else {o.views.index(max(o.views)): ready}
        if not o.views_parallel:
            for i, factor in enumerate(o.views):
                views.append(self._view_scores(pcm16k, factor, prep, lead, keep, stale, pre.get(i)))
        else:
            # the other views on their own threads while this one scores the view already
            # encoded, or the first (the encoder is single-threaded and the scorer's batches
            # leave gaps); the mean is taken in the views' order: same scores
            if stale is not None and stale.is_set():
                raise Stale()
            mine = next(iter(pre), 0)
            jobs = {i: self._views.submit(self._view_scores, pcm16k, f, prep, lead, keep, stale)
                    for i, f in enumerate(o.views) if i != mine}
            try:
                got = {mine: self._view_scores(pcm16k, o.views[mine], prep, lead, keep, stale, pre.get(mine))}
                got.update({i: job.result() for i, job in jobs.items()})
            finally:
                for job in jobs.values():
                    job.cancel()
            views.extend(got[i] for i in range(len(o.views)))
        out = label_scores.copy()
        out[lead] = np.mean(views, axis=0)
        return out

    def partial_text(self, pcm16k: bytes, prep: PreparedExpectation | None) -> str:
        """Greedy decoding of the audio so far (partial text)."""
        seconds = len(pcm16k) / 2 / RATE
        enc = self.encode(pcm16k, fit=prep is not None and prep.fit_window)
        text, _ = self.decode_text(enc, (), beam_size=1, max_length=min(60, self.max_tokens(seconds)))
        return text


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)


class Stale(Exception):
    """A speculative recognition dropped because the caller went on speaking."""


def _leading(fused: np.ndarray, prep: PreparedExpectation, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` leading labels by fused score (ties: the script's order) and the mask of
    their phrases."""
    lead = np.argsort(-fused, kind="stable")[:k]
    return lead, np.isin(prep.label_of, lead)


def view_plan(options: WhisperOptions, prep: PreparedExpectation, fused: np.ndarray,
              phrase_scores: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The labels the extra hearings rescore (the ``view_labels`` leading in ``fused``) and the
    mask of the phrases they score (all of those labels', or each one's ``view_phrases`` best)."""
    lead, keep = _leading(fused, prep, options.view_labels)
    if options.view_phrases > 0 and phrase_scores is not None:
        keep = _best_phrases(phrase_scores, prep, lead, options.view_phrases)
    return lead, keep


def _best_phrases(phrase_scores: np.ndarray, prep: PreparedExpectation, lead: np.ndarray, n: int) -> np.ndarray:
    """Mask of the ``n`` best-scored phrases (NaN: not scored, last) of each label in ``lead``."""
    keep = np.zeros(len(prep.items), dtype=bool)
    filled = np.where(np.isnan(phrase_scores), -np.inf, phrase_scores)
    for li in lead:
        idx = np.nonzero(prep.label_of == li)[0]
        keep[idx[np.argsort(-filled[idx], kind="stable")[:n]]] = True
    return keep


_VOWELS = set("aeiou")
# Indonesian letter names, as an abbreviation is said letter by letter ("KTP" = "ka te pe")
_LETTER_NAMES = dict(a="a", b="be", c="ce", d="de", e="e", f="ef", g="ge", h="ha", i="i", j="je", k="ka",
                     l="el", m="em", n="en", o="o", p="pe", q="ki", r="er", s="es", t="te", u="u", v="fe",
                     w="we", x="eks", y="ye", z="zet")
_WORD_PARTS = re.compile(r"([A-Za-z]+)")


def _is_abbreviation(word: str) -> bool:
    """A word said letter by letter: two to five letters with at most one vowel and no
    consonant-vowel pair (no pronounceable Indonesian syllable: "ktp", "bpjs", "stnk", "rt"),
    or two to four letters without a vowel. Acronyms said as words ("bansos", "pungli") have
    syllables and are left alone."""
    letters = word.lower()
    if not (letters.isascii() and letters.isalpha()):
        return False
    if 2 <= len(letters) <= 4 and not any(c in _VOWELS for c in letters):
        return True
    return (2 <= len(letters) <= 5 and sum(c in _VOWELS for c in letters) <= 1
            and not any(a not in _VOWELS and b in _VOWELS for a, b in zip(letters, letters[1:], strict=False)))


def styled_phrase(phrase: str, style: str = "spoken") -> str:
    """A phrase as it is written for scoring.

    ``spoken`` (the default): abbreviations as their letters are said in Indonesian ("ktp" ->
    "ka te pe", "e-ktp" -> "e-ka te pe"), which is how Whisper-base writes what it hears on the
    line (bench_asr hotline decision when introduced, before the views of step 3b: test
    72% -> 76%, holdout 72% -> 74%; see the module docstring for today's figures); ``as_is``:
    the script's spelling. (Capitals, "KTP", were measured no better than ``as_is`` and
    removed.)"""
    p = " ".join(phrase.strip().split())
    if not p or style == "as_is":
        return p
    if style != "spoken":
        raise ValueError(f"unknown phrase style {style!r}; use spoken or as_is")
    return _WORD_PARTS.sub(
        lambda m: " ".join(_LETTER_NAMES[c] for c in m.group(1).lower()) if _is_abbreviation(m.group(1))
        else m.group(1), p)


def _word_list() -> Path | None:
    """PySastrawi's Indonesian root-word list, if installed."""
    import importlib.util

    spec = importlib.util.find_spec("Sastrawi")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "Stemmer" / "data" / "kata-dasar.txt"
    return path if path.is_file() else None


def _indonesian_token_ids(hf) -> set[int]:
    """Token ids of an Indonesian root-word list (PySastrawi's kata-dasar) plus single bytes."""
    ids = set(range(256))
    path = _word_list()
    if path is None:
        return set(range(hf.get_vocab_size()))  # no word list: full vocabulary
    try:
        words = path.read_text(encoding="utf-8").split()
    except OSError:
        return set(range(hf.get_vocab_size()))
    for enc in hf.encode_batch([" " + w for w in words] + [" " + w.capitalize() for w in words],
                               add_special_tokens=False):
        ids.update(enc.ids)
    return ids


@functools.cache
def _code_digest() -> str:
    """SHA-256 of the modules whose code computes what is cached (any edit recomputes)."""
    import pcm.convert
    import pcm.g711

    from . import audio as audio_mod
    from . import audio_emergency, audio_intent, ct2_format, onnx_decoder, phrase_scorer

    files = [__file__, audio_mod.__file__, pcm.convert.__file__, pcm.g711.__file__, ct2_format.__file__,
             onnx_decoder.__file__, phrase_scorer.__file__, audio_intent.__file__]
    if audio_intent.DEFAULT_PATH.exists():  # the classifier's weights change the posteriors too
        files.append(str(audio_intent.DEFAULT_PATH))
    if audio_emergency.DEFAULT_PATH.exists():  # and the emergency head's what the transcript carries
        files += [audio_emergency.__file__, str(audio_emergency.DEFAULT_PATH)]
    return file_digest(files)


@functools.cache
def _cpu_flags() -> str:
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith(("flags", "Features"))), "")
    except OSError:
        flags = ""
    return platform.machine() + "|" + " ".join(sorted(flags.partition(":")[2].split()))


def _split_rows(entry: dict[str, np.ndarray], seqs: list[list[int]]) -> list[np.ndarray] | None:
    """A cached entry's concatenated rows, split per sequence; None when its shape does not
    fit the sequences."""
    lp, lengths = entry.get("lp"), entry.get("lengths")
    if lp is None or lengths is None or lp.dtype != np.float32 or lp.ndim != 1:
        return None
    if lengths.tolist() != [len(s) for s in seqs] or int(lengths.sum()) != lp.size:
        return None
    return np.split(lp, np.cumsum(lengths)[:-1])


def _softmax(x: np.ndarray) -> np.ndarray:
    x = np.where(np.isfinite(x), x, -1e9)
    e = np.exp(x - x.max())
    return e / e.sum()


def _words(text: str, conf: float) -> tuple[Word, ...]:
    return tuple(Word(w, confidence=conf) for w in text.split())


class WhisperRecognizer(Recognizer):
    """Indonesian Whisper recognizer; one loaded model shared by all streams."""

    name = "whisper"

    def __init__(self, model_dir: str | Path | None = None, cache_dir: str | Path | None = None,
                 sha256: str | None = None, workers: int | None = None,
                 options: WhisperOptions | None = None, threads: int | None = None,
                 compute_type: str = "int8", engine: WhisperEngine | None = None) -> None:
        """``engine``: an engine already loaded, shared with whoever built it (the model
        arguments then have nothing to load); this recognizer never closes it. Without it the
        recognizer builds its own and closes it in :meth:`close`."""
        if engine is not None and (model_dir is not None or cache_dir is not None or sha256 is not None
                                   or options is not None or threads is not None):
            raise ValueError("a shared engine is already loaded: give it or the model arguments, not both")
        #: whether this recognizer built its engine (and so closes it)
        self.owns_engine = engine is None
        self.engine = engine if engine is not None else WhisperEngine(
            model_dir, cache_dir, sha256, threads=threads, options=options, compute_type=compute_type)
        self.workers = workers or default_workers()
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="whisper")
        self._pending = 0  # final decodes submitted and not finished (running or waiting)
        self._pending_lock = threading.Lock()

    def submit(self, fn, *args) -> Future:
        """Run a final decode on the pool, counted while it runs or waits."""
        with self._pending_lock:
            self._pending += 1
        fut = self.pool.submit(fn, *args)
        fut.add_done_callback(self._done)
        return fut

    def _done(self, _fut: Future) -> None:
        with self._pending_lock:
            self._pending -= 1

    def idle(self) -> bool:
        """No final decode in flight (running or waiting, a stale speculation included: it holds
        the cores until its next check): a speculation may start early
        (``WhisperOptions.speculate_idle_ms``)."""
        with self._pending_lock:
            return self._pending == 0

    def busy(self) -> bool:
        """More final decodes in flight than half the pool: utterances share the cores (one
        decode uses two threads: the phrase scoring and the free decoding beside it)."""
        with self._pending_lock:
            return self._pending > max(1, self.workers // 2)

    def open_stream(self, sample_rate: int, expect: Expectation | None = None) -> WhisperStream:
        if sample_rate not in (8000, 16000):
            raise AudioFormatError(f"WhisperRecognizer takes 8 or 16 kHz audio, not {sample_rate} Hz")
        return WhisperStream(self, sample_rate, expect)

    def warm_up(self, expect: Expectation | None = None) -> None:
        """Load lazily built parts (null scores, per-expectation caches) ahead of a call, and
        run the encoder and the phrase scorer once (``WhisperEngine.prime``)."""
        if expect is not None and expect.all_phrases():
            prep = self.engine.prepared(expect)
            for frames in prep.windows(self.engine):
                prep.null_scores(self.engine, frames)
        self.engine.prime()

    def close(self) -> None:
        """Shut down the recognizer's threads, and its engine's when it built the engine (a
        shared engine is closed by whoever owns it). Idempotent."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self.owns_engine:
            self.engine.close()


class WhisperStream(RecognitionStream):
    def __init__(self, rec: WhisperRecognizer, sample_rate: int, expect: Expectation | None) -> None:
        import webrtcvad

        self.rec = rec
        self.engine = rec.engine
        self.sample_rate = sample_rate
        self.expect = expect
        self._prep = self.engine.prepared(expect) if expect is not None and (expect.all_phrases() or expect.kind == "digits") else None
        self._pcm = bytearray()
        self._vad = webrtcvad.Vad(2)
        self._frame = sample_rate // 50 * 2  # 20 ms
        self._vad_pos = 0
        self._voiced_ms = 0
        self._trailing_ms = 0
        self._partial = ""
        self._job: Future | None = None
        self._last_partial_at = 0
        self._spec: tuple[int, Future, threading.Event] | None = None
        self._specs = 0  # speculative decodes started (diagnostics)
        self._lock = threading.Lock()
        self._closed = False

    # accept() runs on the event loop: only bookkeeping and job submission happen here
    def accept(self, pcm: bytes) -> None:
        if self._closed:
            raise RuntimeError("stream already finished")
        if len(pcm) % 2:
            raise AudioFormatError("16-bit PCM must have an even byte count")
        self._pcm += pcm
        while self._vad_pos + self._frame <= len(self._pcm):
            frame = bytes(self._pcm[self._vad_pos:self._vad_pos + self._frame])
            self._vad_pos += self._frame
            if self._vad.is_speech(frame, self.sample_rate):
                self._voiced_ms += 20
                self._trailing_ms = 0
                if self._spec is not None:
                    self._spec[1].cancel()  # speech resumed: a snapshot not started yet is dropped
                    self._spec[2].set()  # and one already running stops before its phrase scoring
                    self._spec = None
            else:
                self._trailing_ms += 20
        self._schedule()

    def _schedule(self) -> None:
        o = self.engine.options
        if self._prep is None or self._voiced_ms < 300:
            return
        n = len(self._pcm)
        if self._spec is None and self._speculation_due(o):
            stale = threading.Event()
            self._specs += 1
            marks = {"spec_at": time.monotonic()}  # when the speculation was submitted, started, done
            self._spec = (n, self.rec.submit(self._final, bytes(self._pcm), stale, marks), stale)
            return
        if o.partial_every_s <= 0 or self._trailing_ms or (self._job is not None and not self._job.done()):
            return
        if (n - self._last_partial_at) >= o.partial_every_s * self.sample_rate * 2:
            self._last_partial_at = n
            self._job = self.rec.pool.submit(self._partial_pass, bytes(self._pcm))

    def _speculation_due(self, o: WhisperOptions) -> bool:
        """Enough trailing silence to start the final decode: ``speculate_after_ms``, or the
        shorter ``speculate_idle_ms`` while no final decode is in flight."""
        if self._trailing_ms >= o.speculate_after_ms:
            return True
        early = o.speculate_idle_ms
        return 0 < early <= self._trailing_ms and self.rec.idle()

    def _to16k(self, pcm: bytes) -> bytes:
        return audio.resample(pcm, self.sample_rate, RATE)

    def _partial_pass(self, pcm: bytes) -> None:
        text = self.engine.partial_text(self._to16k(pcm), self._prep)
        with self._lock:
            self._partial = text

    def _final(self, pcm: bytes, stale: threading.Event | None = None,
               marks: dict[str, float] | None = None) -> Transcript:
        marks = {} if marks is None else marks
        marks["run_at"] = time.monotonic()
        t = self.engine.recognize(self._to16k(pcm), self._prep, stale, self.rec.busy, self.enough)
        marks["done_at"] = time.monotonic()
        return replace(t, timings={**t.timings, **marks})

    def partial(self) -> str:
        with self._lock:
            return self._partial

    def ready(self) -> bool:
        """Whether the speculative final result for the audio so far is computed (``finish``
        would return at once)."""
        spec = self._spec
        return spec is not None and spec[1].done() and not spec[1].cancelled()

    def early(self) -> Transcript | None:
        """The speculative final result for the audio so far, when it is computed and still
        stands (no speech since its snapshot); None otherwise. Does not end the stream: the
        caller (the media loop) reads it inside the hangover to decide whether the turn is over."""
        spec = self._spec
        if spec is None or not spec[1].done() or spec[1].cancelled() or spec[1].exception() is not None:
            return None
        result = spec[1].result()
        return Transcript(text=result.text, confidence=result.confidence, words=result.words, scores=result.scores,
                          audio_seconds=spec[0] / 2 / self.sample_rate, decode_seconds=result.decode_seconds,
                          timings=result.timings, emergency_audio=result.emergency_audio)

    async def finish(self) -> Transcript:
        if self._closed:
            raise RuntimeError("stream already finished")
        self._closed = True
        t0 = time.perf_counter()
        seconds = len(self._pcm) / 2 / self.sample_rate
        if len(self._pcm) < self.sample_rate * 2 * 0.1:
            return Transcript(text="", confidence=0.0, audio_seconds=seconds)
        spec = self._spec
        finish_at = time.monotonic()
        if spec is not None and not spec[1].cancelled():
            # audio after the snapshot had no speech (any voiced frame cancels the speculation)
            result = await asyncio.wrap_future(spec[1])
            reused = 1.0
        else:
            marks = {"spec_at": finish_at}
            result = await asyncio.wrap_future(self.rec.submit(self._final, bytes(self._pcm), None, marks))
            reused = 0.0
        with self._lock:
            self._partial = result.text  # the best text so far is now the final one
        timings = {**result.timings, "finish_at": finish_at, "speculations": float(self._specs), "reused": reused}
        return Transcript(text=result.text, confidence=result.confidence, words=result.words, scores=result.scores,
                          audio_seconds=seconds, decode_seconds=time.perf_counter() - t0, timings=timings,
                          emergency_audio=result.emergency_audio)

    def close(self) -> None:
        self._closed = True
        if self._spec is not None:
            self._spec[2].set()
        for job in (self._job, self._spec[1] if self._spec else None):
            if job is not None:
                job.cancel()
