"""Speech synthesis speed: espeak-ng per 12-word sentence, cached prompt lookups, Coqui.

Targets (issue 4): espeak <= 20 ms per 12-word sentence; a cached prompt <= 1 ms.
Coqui: a real model when IVR_COQUI_MODEL_PATH is set, otherwise the tiny random-weight VITS
of tests/tts/coqui_tiny_model.py (its speed says little about a real voice); skipped when
coqui-tts is not importable here nor via IVR_COQUI_PYTHON.
Medians over repeated runs; prints the figures and one final JSON line.

    python bench/bench_tts.py [--repeat 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tts import CoquiSynthesizer, EspeakSynthesizer, PromptCache, coqui_available

REPO = Path(__file__).resolve().parent.parent
SENTENCES = [  # 12 words each, as written in the script (numbers and abbreviations included)
    "Silakan sebutkan keperluan Anda, misalnya KTP hilang atau BPJS tidak aktif sekarang.",
    "Pengaduan Anda sudah kami terima dan akan diproses dalam 14 hari kerja.",
    "Untuk layanan kependudukan tekan 1, untuk pajak dan retribusi daerah tekan 2.",
    "Nomor tiket Anda adalah 48213, mohon dicatat untuk mengecek status pengaduan nanti.",
    "Kantor layanan Samsat buka setiap hari kerja pukul 08.00 sampai 15.00 WIB.",
]


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def bench_espeak(repeat: int) -> dict:
    synth = EspeakSynthesizer("id")
    for s in SENTENCES:  # warm-up: voice load, respeller memo
        synth.synthesize_sync(s)
    times, audio_seconds = [], []
    for _ in range(repeat):
        for s in SENTENCES:
            t = time.perf_counter()
            audio = synth.synthesize_sync(s)
            times.append(time.perf_counter() - t)
            audio_seconds.append(audio.duration)
    async def via_worker() -> list[float]:
        out = []
        for _ in range(repeat):
            for s in SENTENCES:
                t = time.perf_counter()
                await synth.synthesize(s)
                out.append(time.perf_counter() - t)
        return out
    async_times = asyncio.run(via_worker())
    return {
        "espeak_ms_per_sentence": median_ms(times),
        "espeak_async_ms_per_sentence": median_ms(async_times),
        "espeak_audio_seconds_per_sentence": round(statistics.median(audio_seconds), 2),
        "espeak_realtime_factor": round(statistics.median(times) / statistics.median(audio_seconds), 5),
    }


def bench_cache(repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as d:
        cache = PromptCache(d, EspeakSynthesizer("id"))
        asyncio.run(cache.render_all(SENTENCES))
        mem, disk = [], []
        for _ in range(repeat * 20):
            for s in SENTENCES:
                t = time.perf_counter()
                cache.get(s)
                mem.append(time.perf_counter() - t)
        for _ in range(repeat):
            for s in SENTENCES:
                cache.clear_memory()
                t = time.perf_counter()
                cache.get(s)
                disk.append(time.perf_counter() - t)
        return {"cache_get_memory_ms": median_ms(mem), "cache_get_disk_ms": median_ms(disk),
                "cache_get_disk_max_ms": round(max(disk) * 1000, 3)}


def _coqui_python() -> str | None | bool:
    if coqui_available():
        return None
    for candidate in (os.environ.get("IVR_COQUI_PYTHON"), str(REPO.parent / "coqui-venv" / "bin" / "python")):
        if candidate and Path(candidate).exists():
            if subprocess.run([candidate, "-c", "import TTS"], capture_output=True).returncode == 0:
                return candidate
    return False


def bench_coqui(repeat: int) -> dict:
    python = _coqui_python()
    if python is False:
        print("coqui: skipped (coqui-tts not importable here nor via IVR_COQUI_PYTHON)")
        return {"coqui": "skipped"}
    with tempfile.TemporaryDirectory() as d:
        model = os.environ.get("IVR_COQUI_MODEL_PATH")
        kind = "configured model"
        if not model:
            kind = "tiny random-weight VITS"
            subprocess.run([python or sys.executable, str(REPO / "tests/tts/coqui_tiny_model.py"), d], check=True,
                           capture_output=True)
            model = d
        t = time.perf_counter()
        synth = CoquiSynthesizer(model, python=python)
        synth.load()
        load = time.perf_counter() - t
        times = []
        for _ in range(max(1, repeat // 5)):
            for s in SENTENCES:
                t = time.perf_counter()
                synth.synthesize_sync(s)
                times.append(time.perf_counter() - t)
        synth.close()
    return {"coqui_model": kind, "coqui_mode": "worker process" if python else "in-process",
            "coqui_load_s": round(load, 2), "coqui_ms_per_sentence": median_ms(times)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    result = {"bench": "tts", "sentence_words": 12}
    result |= bench_espeak(args.repeat)
    print(f"espeak: {result['espeak_ms_per_sentence']} ms per 12-word sentence "
          f"({result['espeak_audio_seconds_per_sentence']} s of audio; via worker "
          f"{result['espeak_async_ms_per_sentence']} ms)  target <= 20 ms")
    result |= bench_cache(args.repeat)
    print(f"prompt cache get: memory {result['cache_get_memory_ms']} ms, disk {result['cache_get_disk_ms']} ms "
          f"(max {result['cache_get_disk_max_ms']} ms)  target <= 1 ms")
    result |= bench_coqui(args.repeat)
    if "coqui_ms_per_sentence" in result:
        print(f"coqui ({result['coqui_model']}, {result['coqui_mode']}): load {result['coqui_load_s']} s, "
              f"{result['coqui_ms_per_sentence']} ms per sentence")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
