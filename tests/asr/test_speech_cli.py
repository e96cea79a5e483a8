"""`ivr transcribe`, `nlu_audio` and the intent fusion, on real speech."""

import json

import pytest
from typer.testing import CliRunner

from asr import Transcript, audio, whisper_model
from tests import speechgen

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("speech") / "petugas.wav"
    audio.write_wav(path, speechgen.phone_utterance("tolong sambungkan ke petugas", "id+m3", 145, 40, snr_db=25), 8000)
    return path


def test_transcribe_prints_one_json_line_per_file(wav, tmp_path, monkeypatch):
    from ivr.cli import app

    monkeypatch.setenv("IVR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IVR_WHISPER_CACHE_DIR", str(whisper_model.default_cache_dir()))
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....nope")
    result = CliRunner().invoke(app, ["transcribe", str(wav), str(bad), "--engine", "whisper"])
    lines = [json.loads(x) for x in result.output.strip().splitlines()]
    assert result.exit_code == 1  # one file failed, the other was still transcribed
    assert lines[0]["file"] == str(wav) and lines[0]["text"].strip()  # free transcription: some text
    assert lines[0]["audio_seconds"] == pytest.approx(len(audio.read_wav(wav)[0]) / 16000, abs=0.01)
    assert lines[0]["decode_seconds"] > 0 and 0 <= lines[0]["confidence"] <= 1
    assert "error" in lines[1] and "RIFF" in lines[1]["error"]


def test_nlu_audio_routes_with_the_main_menu(wav, whisper):
    from ivr.simulation.speech_nlu import nlu_audio

    rows = nlu_audio([wav], None, None, recognizer=whisper)
    assert rows[0]["file"] == str(wav)
    assert rows[0]["intent"] == "petugas"
    assert 0 < rows[0]["confidence"] <= 1 and isinstance(rows[0]["text"], str)


def test_nlu_audio_keeps_every_file_in_order(wav, tmp_path, whisper):
    from ivr.simulation.speech_nlu import nlu_audio

    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....nope")
    rows = nlu_audio([wav, bad, wav], None, None, recognizer=whisper)
    assert [r["file"] for r in rows] == [str(wav), str(bad), str(wav)]
    assert "error" in rows[1] and rows[0]["intent"] == rows[2]["intent"] == "petugas"


def test_ivr_nlu_audio_routes_several_files(wav, tmp_path, monkeypatch):
    """The documented `ivr nlu --audio FILE...`, end to end with the settings' recognizer."""
    from ivr.cli import app

    monkeypatch.setenv("IVR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IVR_WHISPER_CACHE_DIR", str(whisper_model.default_cache_dir()))
    ya = tmp_path / "ya.wav"
    audio.write_wav(ya, speechgen.phone_utterance("iya, betul sekali", "id+f2", 170, 60, snr_db=25), 8000)
    result = CliRunner().invoke(app, ["nlu", "--audio", str(wav), str(ya), str(wav)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in result.stdout.strip().splitlines()]
    assert [r["file"] for r in rows] == [str(wav), str(ya), str(wav)]
    assert rows[0]["intent"] == rows[2]["intent"] == "petugas"


def test_nlu_audio_with_a_yes_no_state(tmp_path, whisper, script):
    from ivr.simulation.speech_nlu import nlu_audio

    p = tmp_path / "ya.wav"
    audio.write_wav(p, speechgen.phone_utterance("iya, betul sekali", "id+f2", 170, 60, snr_db=25), 8000)
    assert nlu_audio([p], None, "yesno", recognizer=whisper)[0]["intent"] == "yes"


def test_fusion_keeps_recognizer_decision_and_falls_back_to_matcher(script):
    from ivr.calls.understand import fuse

    labels = ["ktp", "kk", "petugas"]
    tr = Transcript(text="saya mau bicara dengan petugas", confidence=0.6,
                    scores={"ktp": 0.1, "kk": 0.2, "petugas": 0.7})
    u = fuse(tr, "intent", labels, script.matcher)
    assert u.intent == "petugas" and u.confidence > 0.6
    # no recognizer scores (e.g. a recognizer without constrained scoring): matcher decides
    u2 = fuse(Transcript(text="ktp saya hilang", confidence=0.5), "intent", labels, script.matcher)
    assert u2.intent == "ktp"
    # free and slot listens carry text only
    u3 = fuse(Transcript(text="3201", confidence=0.9), "digits", [], script.matcher)
    assert u3.intent is None and u3.text == "3201"
