"""CoquiSynthesizer with a real coqui-tts model.

The model is a tiny VITS built by `coqui_tiny_model.py` from a Coqui config with RANDOM
weights (no trained Indonesian voice may be downloaded here). It proves that a checkpoint and
config load and synthesise through our code (in-process or in the worker process), that
synthesis never blocks the event loop and that failures are clear; it says nothing about
voice quality.

Runs when coqui-tts is importable in this interpreter, or in the interpreter named by
IVR_COQUI_PYTHON (default: ../coqui-venv/bin/python next to the checkout); skipped otherwise.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.tts.conftest import rms_dbfs
from tts import CoquiSynthesizer, PromptCache, SynthesisError, coqui_available

HERE = Path(__file__).parent
REPO = HERE.parent.parent


def _coqui_python() -> str | None:
    """None = in-process; else the interpreter that has coqui-tts. Skips if there is none."""
    if coqui_available():
        return None
    candidates = [os.environ.get("IVR_COQUI_PYTHON"), str(REPO.parent / "coqui-venv" / "bin" / "python")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            probe = subprocess.run([candidate, "-c", "import TTS"], capture_output=True, timeout=120)
            if probe.returncode == 0:
                return candidate
    pytest.skip("coqui-tts is not importable here nor via IVR_COQUI_PYTHON (install recipe: docs/speech.md)")


@pytest.fixture(scope="module")
def coqui_python() -> str | None:
    return _coqui_python()


@pytest.fixture(scope="module")
def tiny_model(coqui_python: str | None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny-vits")
    python = coqui_python or sys.executable
    subprocess.run([python, str(HERE / "coqui_tiny_model.py"), str(out)], check=True, capture_output=True, timeout=300)
    return out


@pytest.fixture(scope="module")
def coqui(tiny_model: Path, coqui_python: str | None):
    synth = CoquiSynthesizer(tiny_model, python=coqui_python)
    synth.load()
    yield synth
    synth.close()


def test_loads_and_synthesizes(coqui: CoquiSynthesizer) -> None:
    audio = coqui.synthesize_sync("Selamat datang di layanan pengaduan masyarakat.")
    assert audio.sample_rate == 16000  # from the model's config
    assert audio.duration > 0.5
    assert rms_dbfs(audio.pcm) > -70  # random weights: not speech, but not silence either
    assert coqui.name == "coqui" and "model=" in coqui.settings_key()


def test_text_is_prepared_and_longer_text_is_longer(coqui: CoquiSynthesizer) -> None:
    short = coqui.synthesize_sync("Tekan 1.")
    long = coqui.synthesize_sync("Tekan 1. Nomor tiket Anda 48213. Biaya Rp 50.000.")
    assert long.duration > 2 * short.duration


async def test_async_synthesis_leaves_the_loop_free(coqui: CoquiSynthesizer) -> None:
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            await asyncio.sleep(0.002)
            ticks += 1

    task = asyncio.create_task(ticker())
    audio = await coqui.synthesize("Selamat datang di layanan pengaduan masyarakat. " * 4)
    during = ticks
    done.set()
    await task
    assert audio.duration > 1
    assert during > 0  # the loop kept running while the model worked


async def test_prompt_cache_stores_coqui_audio_at_8k(coqui: CoquiSynthesizer, tmp_path: Path) -> None:
    cache = PromptCache(tmp_path, coqui)
    audio = await cache.render("Terima kasih telah menelepon.")
    assert audio.sample_rate == 8000
    cache.clear_memory()
    assert cache.get("Terima kasih telah menelepon.") == audio


def test_missing_model_is_a_clear_error(tmp_path: Path, coqui_python: str | None) -> None:
    with pytest.raises(SynthesisError, match="not found"):
        CoquiSynthesizer(tmp_path / "nope", python=coqui_python)


def test_corrupt_checkpoint_is_a_clear_error(tiny_model: Path, tmp_path: Path, coqui_python: str | None) -> None:
    shutil.copy(tiny_model / "config.json", tmp_path / "config.json")
    (tmp_path / "model.pth").write_bytes(b"this is not a torch checkpoint" * 100)
    synth = CoquiSynthesizer(tmp_path, python=coqui_python)
    try:
        with pytest.raises(SynthesisError, match="cannot load Coqui model"):
            synth.synthesize_sync("Halo.")
    finally:
        synth.close()


def test_crashed_worker_is_restarted(coqui: CoquiSynthesizer, coqui_python: str | None) -> None:
    if coqui_python is None:
        pytest.skip("in-process mode has no worker process")
    first = coqui.synthesize_sync("Halo, apa kabar?")
    assert coqui._proc is not None
    coqui._proc.kill()
    coqui._proc.wait()
    again = coqui.synthesize_sync("Halo, apa kabar?")
    assert again.sample_rate == first.sample_rate
    assert abs(again.samples - first.samples) <= 0.05 * first.samples
    assert np.any(np.frombuffer(again.pcm, dtype="<i2") != 0)


def test_cli_say_with_coqui(tiny_model: Path, coqui_python: str | None, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ivr.cli import app
    from tts import read_wav

    monkeypatch.setenv("IVR_DATA_DIR", str(tmp_path / "var"))
    out = tmp_path / "coqui.wav"
    args = ["say", "Terima kasih.", "-o", str(out), "--engine", "coqui", "--coqui-model", str(tiny_model)]
    if coqui_python:
        args += ["--coqui-python", coqui_python]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert read_wav(out).sample_rate == 16000
    assert '"engine": "coqui"' in result.stdout
