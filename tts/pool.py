"""A synthesizer on a pool of worker processes, one engine per process.

libespeak-ng is not thread-safe, so one process can synthesise one prompt at a time; a hotline
that reads ticket numbers back to hundreds of callers at once needs more. ``PooledSynthesizer``
runs ``synthesize_sync`` of a synthesizer built by ``factory`` (picklable: a class or a
``functools.partial`` of one) in ``workers`` processes (default: the cores), started with
``spawn`` so no thread of the parent (asyncio, the recognizer's) is forked.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable

from tts.base import Audio, Synthesizer

__all__ = ["PooledSynthesizer"]

_worker: Synthesizer | None = None


def _init(factory: Callable[[], Synthesizer]) -> None:
    global _worker
    _worker = factory()


def _synthesize(text: str) -> tuple[bytes, int]:
    assert _worker is not None
    audio = _worker.synthesize_sync(text)
    return audio.pcm, audio.sample_rate


class PooledSynthesizer(Synthesizer):
    def __init__(self, factory: Callable[[], Synthesizer], workers: int | None = None) -> None:
        self.local = factory()  # settings, sample rate, and synthesis in the calling thread
        self.name = self.local.name
        self.voice = self.local.voice
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init, initargs=(factory,))

    @property
    def _executor(self) -> concurrent.futures.Executor:
        return self._pool

    def synthesize_sync(self, text: str) -> Audio:
        return self.local.synthesize_sync(text)

    async def synthesize(self, text: str) -> Audio:
        loop = asyncio.get_running_loop()
        pcm, rate = await loop.run_in_executor(self._pool, _synthesize, text)
        return Audio(pcm, rate)

    async def warm(self) -> None:
        """Start every worker (each loads its engine) before the first call needs one."""
        await asyncio.gather(*(self.synthesize("halo") for _ in range(self.workers)))

    def settings_key(self) -> str:
        return self.local.settings_key()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __repr__(self) -> str:
        return f"PooledSynthesizer({self.local!r}, workers={self.workers})"
