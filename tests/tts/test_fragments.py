"""Dynamic prompts as cached fragments, and the pool of synthesis processes (issue 15.7)."""

from __future__ import annotations

import asyncio
import functools

import numpy as np

from tts import EspeakSynthesizer
from tts.fragments import fragments, join, trim
from tts.pool import PooledSynthesizer


def test_a_ticket_number_is_cut_into_digits_and_clauses():
    parts = [f.text for f in fragments("Nomor tiket Anda 2611-00042-7. Sekali lagi, 2611-00042-7.")]
    assert parts[:5] == ["Nomor tiket Anda", "dua", "enam", "satu", "satu"]
    assert "Sekali lagi," in parts and parts.count("tujuh") == 2
    # numbers said as numbers stay inside their phrase
    assert [f.text for f in fragments("Kami menanggapi paling lambat 14 hari kerja.")] == [
        "Kami menanggapi paling lambat empat belas hari kerja."]
    # groups of digits pause longer between groups than inside one
    f = fragments("Nomor tiket Anda 2611-00042-7.")
    assert f[4].pause_s > f[1].pause_s


def test_join_trims_and_pauses():
    tone = (np.sin(np.arange(800) / 3) * 8000).astype(np.int16).tobytes()
    padded = b"\x00\x00" * 400 + tone + b"\x00\x00" * 400
    assert len(trim(padded, 8000)) < len(padded)
    out = join([(padded, 0.1), (padded, 0.0)], 8000)
    assert len(out) == 2 * len(trim(padded, 8000)) + 2 * 800


def test_the_pool_synthesises_in_worker_processes():
    async def run() -> tuple[int, int, float]:
        pool = PooledSynthesizer(functools.partial(EspeakSynthesizer), workers=2)
        try:
            a, b = await asyncio.gather(pool.synthesize("satu dua tiga"), pool.synthesize("empat lima"))
            return len(a.pcm), len(b.pcm), a.sample_rate
        finally:
            pool.close()

    la, lb, rate = asyncio.run(run())
    assert la > 0 and lb > 0 and rate == EspeakSynthesizer().sample_rate
