"""`ivr say` and `ivr prompts render` through the real typer app, espeak and the default script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivr.cli import app
from tts import EspeakSynthesizer, PromptCache, read_wav

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IVR_CONFIG_FILE", "IVR_TTS_ENGINE", "IVR_TTS_VOICE", "IVR_TTS_RATE", "IVR_TTS_PITCH", "IVR_SCRIPT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IVR_DATA_DIR", str(tmp_path / "var"))


def last_json(output: str) -> dict:
    return json.loads([line for line in output.splitlines() if line.startswith("{")][-1])


def test_say_writes_a_wav(tmp_path: Path) -> None:
    out = tmp_path / "out" / "halo.wav"
    result = runner.invoke(app, ["say", "Nomor tiket Anda 48213.", "-o", str(out), "--show-text"])
    assert result.exit_code == 0, result.output
    record = last_json(result.stdout)
    audio = read_wav(out)
    assert audio.sample_rate == 22050 == record["sample_rate"]
    assert abs(audio.duration - record["audio_seconds"]) < 0.01
    assert record["spoken_text"] == "Nomor tiket Anda empat delapan dua satu tiga."


def test_say_voice_rate_and_sample_rate(tmp_path: Path) -> None:
    slow, fast = tmp_path / "slow.wav", tmp_path / "fast.wav"
    text = "Selamat datang di layanan informasi publik."
    for path, rate in ((slow, "120"), (fast, "240")):
        result = runner.invoke(app, ["say", text, "-o", str(path), "--voice", "id+f2", "--rate", rate,
                                     "--sample-rate", "8000"])
        assert result.exit_code == 0, result.output
        assert last_json(result.stdout)["voice"] == "id+f2"
    a, b = read_wav(slow), read_wav(fast)
    assert a.sample_rate == b.sample_rate == 8000
    assert b.duration < 0.7 * a.duration


@pytest.mark.parametrize(
    "args, message",
    [
        (["--voice", "zz-nope"], "not found"),
        (["--engine", "festival"], "engine must be one of"),
        (["--engine", "coqui"], "coqui-model"),
    ],
)
def test_say_bad_options_fail_clearly(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "x.wav"
    result = runner.invoke(app, ["say", "Halo.", "-o", str(out), *args])
    assert result.exit_code != 0
    assert message in result.output
    assert not out.exists()


def test_prompts_render_fills_the_cache(tmp_path: Path) -> None:
    from dialogs import default_script_path, load_script

    cache_dir = tmp_path / "prompts"
    result = runner.invoke(app, ["prompts", "render", "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    summary = last_json(result.stdout)
    texts = load_script(default_script_path()).static_prompts()
    assert summary["prompts"] == len(texts) > 10
    assert summary["rendered"] == len(texts) and summary["cached"] == 0
    settings = default_settings()
    cache = PromptCache(cache_dir, EspeakSynthesizer(settings.tts_voice, rate=settings.tts_rate, pitch=settings.tts_pitch))
    for text in texts:
        audio = cache.get(text)
        assert audio is not None and audio.sample_rate == 8000, text
        assert cache.wav_path(text).is_file()
    again = runner.invoke(app, ["prompts", "render", "--cache-dir", str(cache_dir)])
    assert again.exit_code == 0
    assert last_json(again.stdout)["cached"] == len(texts)


def default_settings():  # type: ignore[no-untyped-def]
    from ivr.config.settings import load_settings

    return load_settings()


def test_prompts_render_with_a_broken_script(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("this: is: not a script\n")
    result = runner.invoke(app, ["prompts", "render", "--script", str(bad), "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code != 0
    assert "cannot load script" in result.output
