"""What a second start reads back instead of computing (the int8 graph, the scorer's
vocabulary, every expectation's null scores) is checked before use: a damaged, unfinished or
stale file is computed again, never trusted, and the results are those computed afresh. The
quantisation keeps ONNX Runtime's log lines out of the application's log."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest

from asr import onnx_decoder
from asr.disk_cache import ArrayCache
from asr.phrase_scorer import WhisperDecoderScorer
from tests.asr.test_int8_scorer import tiny_variables

needs_onnx = pytest.mark.skipif(not onnx_decoder.available(), reason="onnxruntime/onnx not installed")


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture()
def root_records():
    """Every record reaching the root logger's handlers at INFO, as ``ivr serve`` logs."""
    root = logging.getLogger()
    handler = Records()
    level, filters = root.level, list(root.filters)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler.records
    root.removeHandler(handler)
    root.setLevel(level)
    assert root.filters == filters  # the quantiser's filter does not outlive the quantisation


def tiny_scorer(seed: int = 7) -> WhisperDecoderScorer:
    return WhisperDecoderScorer(None, num_heads=2, workers=2, variables=tiny_variables(np.random.default_rng(seed)))


@needs_onnx
def test_quantisation_keeps_onnx_runtime_out_of_the_log(root_records, tmp_path):
    sc = tiny_scorer()
    assert sc.enable_int8(tmp_path / "fresh")  # built and quantised now
    ort_dir = os.sep + "onnxruntime" + os.sep
    noise = [r for r in root_records if (ort_dir in r.pathname or r.name.startswith("onnxruntime"))]
    assert noise == [], [r.getMessage()[:80] for r in noise[:5]]
    # our own records still get through
    assert any(r.name == "asr.onnx_decoder" and r.getMessage() == "int8 decoder built" for r in root_records)
    # and the root logger passes other code's records as before
    logging.getLogger().info("after the quantisation")
    assert root_records[-1].getMessage() == "after the quantisation"


@needs_onnx
def test_graph_altered_in_place_is_detected_by_its_stamp(tmp_path):
    sc = tiny_scorer()
    rng = np.random.default_rng(3)
    kv = sc.cross_kv(rng.standard_normal((30, 64)).astype(np.float32))
    seqs = [[5, 9, 11], [40, 41, 42, 43, 44], [7, 8]]
    assert sc.enable_int8(tmp_path)
    want = sc.token_logprobs([1, 2, 3], seqs, kv)
    (graph,) = tmp_path.glob("decoder-int8-*.onnx")
    data = bytearray(graph.read_bytes())
    # flip bits inside the weights: the file keeps its size and still loads in ONNX Runtime
    mid = len(data) // 2
    data[mid:mid + 64] = bytes(b ^ 0x5A for b in data[mid:mid + 64])
    graph.write_bytes(bytes(data))
    again = tiny_scorer()
    assert again.enable_int8(tmp_path)
    assert graph.read_bytes() != bytes(data)  # rebuilt
    got = again.token_logprobs([1, 2, 3], seqs, kv)
    assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
    assert again._int8.digest == sc._int8.digest


@needs_onnx
def test_graph_without_its_stamp_is_rebuilt(tmp_path):
    sc = tiny_scorer()
    assert sc.enable_int8(tmp_path)
    (stamp,) = tmp_path.glob("decoder-int8-*.json")
    stamp.unlink()  # as after a crash between the graph and its stamp
    again = tiny_scorer()
    assert again.enable_int8(tmp_path)
    assert stamp.is_file() and again._int8.digest == sc._int8.digest


# ------------------------------------------------------------------ the verified array cache

def test_array_cache_round_trip_and_rejections(tmp_path):
    cache = ArrayCache(tmp_path)
    arrays = {"lp": np.arange(7, dtype=np.float32) / 3, "lengths": np.array([3, 4])}
    assert cache.load("entry", "k1") is None and cache.misses == 1
    assert cache.store("entry", "k1", arrays)
    got = cache.load("entry", "k1")
    assert got is not None and all(np.array_equal(got[k], arrays[k]) for k in arrays)
    assert got["lp"].dtype == np.float32
    assert cache.load("entry", "k2") is None  # computed for other inputs: stale
    path = cache.path("entry")
    raw = bytearray(path.read_bytes())
    raw[-20] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert cache.load("entry", "k1") is None  # damaged: checksum
    path.write_bytes(bytes(raw[: len(raw) // 2]))
    assert cache.load("entry", "k1") is None  # truncated
    path.write_bytes(b"not a cache file")
    assert cache.load("entry", "k1") is None
    assert cache.rejected == 4 and cache.hits == 1


def test_array_cache_in_an_unwritable_place_does_not_raise(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = ArrayCache(blocker / "cache")
    assert not cache.store("entry", "k", {"a": np.zeros(3)})
    assert cache.load("entry", "k") is None


# ------------------------------------------------------------------ the real engine's caches

@pytest.fixture()
def engine_cache(whisper, tmp_path, monkeypatch):
    """The session recognizer's engine with its derived-data cache in a fresh directory."""
    eng = whisper.engine
    monkeypatch.setattr(eng, "cache", ArrayCache(tmp_path / "scorer"))
    return eng


def test_null_scores_are_read_back_exactly_and_recomputed_when_damaged(engine_cache, yesno):
    eng = engine_cache
    seqs = eng.prepared(yesno).seqs[:12]
    fresh = eng.scorer.token_logprobs(eng.prefix, seqs, eng.null_kv(400))
    first = eng.null_scores(seqs, 400)
    assert eng.cache.misses == 1 and eng.cache.hits == 0
    (entry,) = eng.cache.directory.glob("null-*.npc")
    again = eng.null_scores(seqs, 400)
    assert eng.cache.hits == 1
    for got in (first, again):
        assert [g.dtype for g in got] == [np.float32] * len(seqs)
        assert all(np.array_equal(a, b) for a, b in zip(got, fresh, strict=True))
    # damaged on disk: detected, computed again (same values) and written back whole
    raw = bytearray(entry.read_bytes())
    raw[-30] ^= 0x01
    entry.write_bytes(bytes(raw))
    repaired = eng.null_scores(seqs, 400)
    assert eng.cache.rejected == 1
    assert all(np.array_equal(a, b) for a, b in zip(repaired, fresh, strict=True))
    assert eng.null_scores(seqs, 400) is not None and eng.cache.hits == 2


def test_null_scores_of_other_inputs_are_not_taken(engine_cache, yesno):
    eng = engine_cache
    seqs = eng.prepared(yesno).seqs[:6]
    eng.null_scores(seqs, 400)
    (entry,) = eng.cache.directory.glob("null-*.npc")
    other = eng.null_scores(seqs[:5], 400)  # other sequences: their own entry
    assert len(list(eng.cache.directory.glob("null-*.npc"))) == 2
    # an entry put under another's name (copied, renamed) is refused by its recorded key
    (second,) = set(eng.cache.directory.glob("null-*.npc")) - {entry}
    second.write_bytes(entry.read_bytes())
    got = eng.null_scores(seqs[:5], 400)
    assert eng.cache.rejected == 1
    assert all(np.array_equal(a, b) for a, b in zip(got, other, strict=True))
    # the window is part of what the scores were computed for
    assert eng._null_key(seqs, 400) != eng._null_key(seqs, 600)


def test_vocabulary_cache_is_checked(engine_cache):
    import tokenizers

    from asr.whisper_backend import _indonesian_token_ids

    eng = engine_cache
    tk = eng.model_dir / "tokenizer.json"
    hf = tokenizers.Tokenizer.from_file(str(tk))
    want = _indonesian_token_ids(hf)
    assert eng._indonesian_ids(hf, tk) == want
    path = eng.cache.path("vocabulary")
    raw = bytearray(path.read_bytes())
    raw[-40] ^= 0x10
    path.write_bytes(bytes(raw))
    assert eng._indonesian_ids(hf, tk) == want and eng.cache.rejected == 1
    assert eng._indonesian_ids(hf, tk) == want and eng.cache.hits == 1


def test_null_scores_of_earlier_versions_are_removed(engine_cache, yesno, monkeypatch):
    eng = engine_cache
    directory = eng.cache.directory
    directory.mkdir(parents=True)
    old = directory / "null-000000000000-old.npc"  # another fingerprint, written long ago
    recent = directory / "null-000000000000-recent.npc"  # another checkout's, written today
    for path in (old, recent):
        path.write_bytes(b"x")
    os.utime(old, (1_600_000_000, 1_600_000_000))
    monkeypatch.setattr(eng, "_pruned", False)
    eng.null_scores(eng.prepared(yesno).seqs[:3], 400)
    assert not old.exists() and recent.exists()
    assert len(list(directory.glob(f"null-{eng.fingerprint()[:12]}-*.npc"))) == 1
