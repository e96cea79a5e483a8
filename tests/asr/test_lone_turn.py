"""What a lone caller's turn waits for: the encoder pass and the cross-attention keys on every
core, and a stale decode that stops between batches."""

from __future__ import annotations

import threading

import pytest

from asr import audio
from tests import speechgen
from tests.waiting import eventually_sync


def _pcm16(text: str = "saya mau bayar pajak motor") -> bytes:
    return audio.resample(speechgen.phone_utterance(text, "id+m3", 150, 40, level_dbfs=-26, snr_db=25), 8000, 16000)


class _Spy:
    """Stands for a CTranslate2 model: counts its encoder passes."""

    def __init__(self, model) -> None:
        self.model, self.encodes = model, 0

    def encode(self, *a, **kw):
        self.encodes += 1
        return self.model.encode(*a, **kw)


@pytest.mark.slow
def test_a_lone_utterance_is_encoded_on_every_core_with_the_same_scores(whisper, main_menu, monkeypatch):
    eng = whisper.engine
    assert eng.options.wide_encoder and eng._wide is not None  # this machine has two cores or more
    prep = eng.prepared(main_menu)
    whisper.warm_up(main_menu)
    pcm = _pcm16()
    wide, narrow = _Spy(eng._wide), _Spy(eng.model)
    monkeypatch.setattr(eng, "_wide", wide)
    monkeypatch.setattr(eng, "model", narrow)
    eventually_sync(lambda: eng._active == 0, "no other recognition under way")
    alone = eng.recognize(pcm, prep, busy=lambda: False)
    assert wide.encodes == 1  # the utterance's own pass (the views' passes stay on one core)
    monkeypatch.setattr(eng, "_wide", None)  # as with wide_encoder off
    one_core = eng.recognize(pcm, prep, busy=lambda: False)
    assert alone.scores == one_core.scores and alone.text == one_core.text
    # another recognition under way: its core is not taken
    monkeypatch.setattr(eng, "_wide", wide)
    monkeypatch.setattr(eng, "_active", 1)
    shared = eng.recognize(pcm, prep, busy=lambda: False)
    assert wide.encodes == 1 and shared.scores == one_core.scores


@pytest.mark.slow
def test_a_stale_decode_stops_at_the_next_batch_of_its_phrase_scoring(whisper, main_menu, monkeypatch):
    """The caller's next word (``stale`` set) stops the phrase scoring between batches, not
    only between stages: a speculation started early costs little when it was wrong."""
    from asr.whisper_backend import Stale

    eng = whisper.engine
    dec = eng.scorer._int8
    assert dec is not None
    prep = eng.prepared(main_menu)
    whisper.warm_up(main_menu)
    pcm = _pcm16()
    runs = []
    real = dec.run
    eventually_sync(lambda: eng._active == 0, "no other recognition under way")
    eng.recognize(pcm, prep, busy=lambda: False)  # the whole decode's batches, for comparison
    monkeypatch.setattr(dec, "run", lambda *a: runs.append(1) or real(*a))
    eng.recognize(pcm, prep, busy=lambda: False)
    whole = len(runs)
    stale = threading.Event()
    runs.clear()

    def run_then_go_stale(*a):
        runs.append(1)
        stale.set()  # the caller spoke again while the first batch ran
        return real(*a)

    monkeypatch.setattr(dec, "run", run_then_go_stale)
    with pytest.raises(Stale):
        eng.recognize(pcm, prep, stale, busy=lambda: False)
    # the batches already begun finish (one per scorer thread at most); no other starts
    assert 1 <= len(runs) <= eng.scorer._pool._max_workers < whole, (len(runs), whole)


def test_the_cross_attention_keys_are_computed_on_the_scorer_threads_alike(whisper):
    """The layers' keys/values on the scorer's threads (an utterance decoded alone) are the
    products computed one after the other (and a scorer thread computes them itself, never
    waiting on its own pool); otherwise they are computed on the calling thread."""
    import numpy as np

    scorer = whisper.engine.scorer
    enc = np.random.default_rng(3).standard_normal((200, scorer.d)).astype(np.float32)
    threads: set[str] = set()
    real_map = scorer._pool.map

    def spy_map(fn, items):
        if items is not scorer.layers:  # another recognition's batches (one an earlier test left)
            return real_map(fn, items)

        def traced(x):
            threads.add(threading.current_thread().name)
            return fn(x)
        return real_map(traced, items)

    scorer._pool.map = spy_map
    try:
        parallel = scorer.cross_kv(enc, parallel=True)
    finally:
        del scorer._pool.map
    assert threads and all(n.startswith("scorer") for n in threads)
    inside = scorer._pool.submit(scorer.cross_kv, enc, True).result(timeout=60)
    threads.clear()
    scorer._pool.map = spy_map
    try:
        serial = scorer.cross_kv(enc)  # another utterance under way: not queued behind its batches
    finally:
        del scorer._pool.map
    assert not threads
    assert len(parallel) == len(inside) == len(serial) == len(scorer.layers)
    for (k1, v1), (k2, v2), (k3, v3) in zip(parallel, inside, serial, strict=True):
        assert np.array_equal(k1, k2) and np.array_equal(v1, v2)
        assert np.array_equal(k1, k3) and np.array_equal(v1, v3)


def test_the_settings_turn_the_wide_encoder_off(tmp_path, monkeypatch):
    from asr import create_recognizer, whisper_backend
    from ivr.config.settings import load_settings

    got = []
    monkeypatch.setattr(whisper_backend, "WhisperRecognizer", lambda *a, options=None, **k: got.append(options))
    create_recognizer("whisper", **load_settings(data_dir=tmp_path).recognizer_options())
    assert got[-1].wide_encoder is True
    create_recognizer("whisper", **load_settings(data_dir=tmp_path, whisper_wide_encoder="false").recognizer_options())
    assert got[-1].wide_encoder is False
