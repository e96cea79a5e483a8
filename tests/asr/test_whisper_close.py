"""Closing a Whisper recognizer ends its threads and those of the engine it built; an engine it
was given (shared) stays open for its owner."""

from __future__ import annotations

import threading

import pytest

from tests import speechgen
from tests.waiting import eventually_sync

pytestmark = pytest.mark.slow

#: thread name prefixes: the recognizer's pool, the engine's free decoding, extra hearings, scorer
PREFIXES = ("whisper_", "whisper-text_", "whisper-view_", "scorer_")


def _menu_speech() -> bytes:
    return speechgen.phone_utterance("saya mau mengurus KTP yang hilang", "id", 160, 50, level_dbfs=-26,
                                     snr_db=25.0, seed=0)


def _busy(engine) -> None:
    """Make sure each of the engine's pools has started a thread (a recognition starts some of
    them, depending on its options and load)."""
    for pool in (engine._side, engine._views, engine.scorer._pool):
        assert pool.submit(lambda: 1).result(timeout=60) == 1


async def test_closing_a_recognizer_ends_the_threads_of_the_engine_it_built(main_menu):
    from asr.whisper_backend import WhisperRecognizer

    before = set(threading.enumerate())
    rec = WhisperRecognizer(workers=1)
    try:
        result = await rec.recognize(_menu_speech(), 8000, main_menu)
        assert result.text.strip(), result
        _busy(rec.engine)
        mine = [t for t in threading.enumerate() if t not in before and t.name.startswith(PREFIXES)]
        started = {p for p in PREFIXES if any(t.name.startswith(p) for t in mine)}
        assert started == set(PREFIXES), [t.name for t in mine]
    finally:
        rec.close()
    # (before: the engine's pools were never shut down, their idle threads waited for ever)
    eventually_sync(lambda: not [t for t in mine if t.is_alive()], "the recognizer's and its engine's threads to end",
                    timeout=20)
    assert rec.owns_engine
    rec.close()  # idempotent
    rec.engine.close()
    with pytest.raises(RuntimeError):
        rec.engine._side.submit(lambda: 1)


async def test_a_recognizer_on_a_shared_engine_leaves_it_to_its_owner(whisper, main_menu):
    from asr.whisper_backend import WhisperRecognizer

    with pytest.raises(ValueError):
        WhisperRecognizer(options=whisper.engine.options, engine=whisper.engine)
    borrower = WhisperRecognizer(workers=1, engine=whisper.engine)
    assert not borrower.owns_engine and borrower.engine is whisper.engine
    first = await borrower.recognize(_menu_speech(), 8000, main_menu)
    borrower.close()
    with pytest.raises(RuntimeError):
        borrower.pool.submit(lambda: 1)  # its own pool is shut down
    # the owner's recognizer still recognises on the engine, with all its threads
    _busy(whisper.engine)
    again = await whisper.recognize(_menu_speech(), 8000, main_menu)
    assert again.text == first.text and again.best_label == first.best_label, (first, again)
