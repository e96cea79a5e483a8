"""PromptCache on real espeak-ng audio and a real directory."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.tts.conftest import median_f0
from tts import Audio, EspeakSynthesizer, PromptCache, read_wav
from tts.audio import resample

PROMPTS = [
    "Selamat datang di layanan pengaduan masyarakat.",
    "Tekan 1 untuk KTP, tekan 2 untuk Kartu Keluarga.",
    "Mohon sebutkan NIK Anda.",
]


@pytest.fixture
def cache(tmp_path: Path, espeak: EspeakSynthesizer) -> PromptCache:
    return PromptCache(tmp_path / "prompts", espeak)


async def test_render_gives_8k_speech_and_hits_are_identical(cache: PromptCache) -> None:
    assert cache.get(PROMPTS[0]) is None
    audio = await cache.render(PROMPTS[0])
    assert audio.sample_rate == 8000
    assert 1.5 < audio.duration < 6
    assert cache.get(PROMPTS[0]) == audio  # memory hit
    cache.clear_memory()
    assert cache.get(PROMPTS[0]) == audio  # disk hit
    assert await cache.render(PROMPTS[0]) == audio  # no re-synthesis: espeak would differ slightly


async def test_hits_survive_a_new_cache_object(cache: PromptCache, espeak: EspeakSynthesizer) -> None:
    rendered = await cache.render_all(PROMPTS)
    fresh = PromptCache(cache.directory, EspeakSynthesizer("id"))
    for text in PROMPTS:
        assert fresh.get(text) == rendered[text]
    assert fresh.get("  Mohon   sebutkan NIK Anda. ") == rendered[PROMPTS[2]]  # whitespace-insensitive


async def test_key_depends_on_voice_and_settings(tmp_path: Path) -> None:
    female = PromptCache(tmp_path, EspeakSynthesizer("id+f2"))
    male = PromptCache(tmp_path, EspeakSynthesizer("id+m3"))
    slow = PromptCache(tmp_path, EspeakSynthesizer("id+m3", rate=120))
    text = PROMPTS[1]
    assert len({female.key(text), male.key(text), slow.key(text)}) == 3
    a_female, a_male = await female.render(text), await male.render(text)
    assert male.get(text) == a_male and female.get(text) == a_female
    assert slow.get(text) is None
    assert median_f0(a_female.pcm, 8000) > 1.3 * median_f0(a_male.pcm, 8000)


async def test_resampling_keeps_the_speech_band(cache: PromptCache, espeak: EspeakSynthesizer) -> None:
    audio = await cache.render(PROMPTS[0])
    x = np.frombuffer(audio.pcm, dtype="<i2").astype(float)
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / 8000)
    speech = spectrum[(freqs > 300) & (freqs < 3400)].sum()
    assert speech / spectrum.sum() > 0.8
    # no aliasing: the energy just below Nyquist is tiny compared with the speech band
    assert spectrum[freqs > 3900].sum() < 1e-3 * speech


async def test_wav_and_sln_files_hold_the_same_audio(cache: PromptCache) -> None:
    audio = await cache.render(PROMPTS[2])
    wav = cache.wav_path(PROMPTS[2])
    assert wav.suffix == ".wav" and read_wav(wav) == audio
    assert wav.with_suffix(".sln").read_bytes() == audio.pcm
    meta = json.loads(wav.with_suffix(".json").read_text())
    assert meta["text"] == PROMPTS[2] and meta["sample_rate"] == 8000
    with pytest.raises(KeyError, match="not rendered"):
        cache.wav_path("Teks yang belum pernah dirender.")


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete_meta", "garbage_meta"])
async def test_corrupt_entries_are_detected_and_rerendered(cache: PromptCache, damage: str) -> None:
    audio = await cache.render(PROMPTS[0])
    sln = cache.wav_path(PROMPTS[0]).with_suffix(".sln")
    meta = sln.with_suffix(".json")
    if damage == "truncate":
        sln.write_bytes(sln.read_bytes()[:1000])
    elif damage == "flip":
        data = bytearray(sln.read_bytes())
        data[len(data) // 2] ^= 0xFF
        sln.write_bytes(bytes(data))
    elif damage == "delete_meta":
        meta.unlink()
    else:
        meta.write_text("{not json")
    cache.clear_memory()
    assert cache.get(PROMPTS[0]) is None
    again = await cache.render(PROMPTS[0])
    assert again.sample_rate == 8000 and abs(again.samples - audio.samples) < 0.01 * audio.samples
    cache.clear_memory()
    assert cache.get(PROMPTS[0]) == again


async def test_metadata_never_holds_long_numbers_in_clear(cache: PromptCache) -> None:
    text = "NIK Anda 3201234567890001, telepon 0812-3456-7890."
    await cache.render(text)
    meta = cache.wav_path(text).with_suffix(".json").read_text()
    assert "3201234567890001" not in meta and "7890" not in meta
    assert "NIK Anda <number>, telepon <number>." in meta


async def test_damaged_wav_is_rewritten(cache: PromptCache) -> None:
    audio = await cache.render(PROMPTS[1])
    wav = cache.wav_path(PROMPTS[1])
    wav.write_bytes(b"RIFF garbage")
    assert read_wav(cache.wav_path(PROMPTS[1])) == audio


async def test_writes_are_atomic_and_leave_no_temp_files(cache: PromptCache) -> None:
    await cache.render_all(PROMPTS)
    names = [p.name for p in cache.directory.rglob("*") if p.is_file()]
    assert len(names) == 3 * len(PROMPTS)
    assert not [n for n in names if n.endswith(".tmp")]


async def test_concurrent_renders_of_one_prompt_share_one_synthesis(cache: PromptCache) -> None:
    calls = 0
    synth = cache.synthesizer
    original = synth.synthesize_sync

    def counting(text: str) -> Audio:
        nonlocal calls
        calls += 1
        return original(text)

    synth.synthesize_sync = counting  # type: ignore[method-assign]
    try:
        results = await asyncio.gather(*(cache.render(PROMPTS[0]) for _ in range(5)))
    finally:
        del synth.synthesize_sync
    assert calls == 1
    assert all(r == results[0] for r in results)


async def test_memory_is_bounded(tmp_path: Path, espeak: EspeakSynthesizer) -> None:
    small = PromptCache(tmp_path, espeak, memory_items=2)
    for text in PROMPTS:
        await small.render(text)
    assert len(small._memory) == 2
    assert all(small.get(t) is not None for t in PROMPTS)  # older ones come back from disk


async def test_bad_text_is_refused_and_stores_nothing(cache: PromptCache) -> None:
    from tts import SynthesisError

    with pytest.raises(SynthesisError):
        await cache.render("   ")
    assert not [p for p in cache.directory.rglob("*") if p.is_file()]


def test_resample_rejects_nonsense_and_passes_through() -> None:
    audio = Audio(b"\x00\x01" * 100, 8000)
    assert resample(audio, 8000) is audio
    with pytest.raises(ValueError):
        resample(audio, 0)
    with pytest.raises(ValueError):
        Audio(b"\x00", 8000)


def test_cache_directory_is_created(tmp_path: Path, espeak: EspeakSynthesizer) -> None:
    target = tmp_path / "a" / "b"
    PromptCache(target, espeak)
    assert target.is_dir() and os.access(target, os.W_OK)
