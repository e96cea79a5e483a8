"""The dialog commands, on a typer app of their own (independent of the other groups)."""

import json
import sys
import types

import pytest
import typer
from typer.testing import CliRunner

from dialogs import default_script_path
from ivr.cli import dialog_cmds


@pytest.fixture(scope="module")
def app():
    a = typer.Typer(pretty_exceptions_enable=False)
    dialog_cmds.register(a)
    return a


runner = CliRunner()


def test_validate_ok(app):
    res = runner.invoke(app, ["validate", str(default_script_path())])
    assert res.exit_code == 0, res.output
    assert "OK" in res.output and "57 states" in res.output.replace("\n", " ")


def test_validate_schema(app):
    res = runner.invoke(app, ["validate", "--schema"])
    assert res.exit_code == 0
    schema = json.loads(res.output)
    assert schema["additionalProperties"] is False and "states" in schema["properties"]


def test_validate_reports_all_errors_cleanly(app, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nstart: a\nstates:\n  a:\n    say: halo {who}\n    next: b\n"
                   "    color: red\n", encoding="utf-8")
    res = runner.invoke(app, ["validate", str(bad)])
    assert res.exit_code == 1
    out = res.output
    assert "Traceback" not in out
    assert "states.a.color" in out and "unknown key" in out
    assert "unknown state 'b'" in out and "unknown variable '{who}'" in out
    assert "line 6" in out and "line 8" in out
    broken = tmp_path / "broken.yaml"
    broken.write_text("states: [unclosed\n", encoding="utf-8")
    res = runner.invoke(app, ["validate", str(broken)])
    assert res.exit_code == 1 and "YAML syntax error" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["validate", str(tmp_path / "missing.yaml")])
    assert res.exit_code == 1 and "cannot read file" in res.output


def test_nlu_argument_and_stdin(app):
    res = runner.invoke(app, ["nlu", "ktp saya ilang"])
    assert res.exit_code == 0
    obj = json.loads(res.output)
    assert obj["intent"] == "ktp" and 0 < obj["confidence"] <= 1 and obj["slots"] == {}
    res = runner.invoke(app, ["nlu"], input="bayar pajak motor\nharga emas hari ini\nNIK 3273014508950001\n")
    lines = [json.loads(x) for x in res.output.strip().splitlines()]
    assert [x["intent"] for x in lines[:2]] == ["pajak_kendaraan", None]
    assert lines[2]["slots"]["nik"] == "3273014508950001"
    assert len(lines) == 3


def test_nlu_with_state(app):
    res = runner.invoke(app, ["nlu", "--state", "complaint_identity", "iya boleh"])
    assert json.loads(res.output)["intent"] == "yes"
    res = runner.invoke(app, ["nlu", "--state", "callback_number_ask", "kosong delapan satu satu dua dua tiga tiga empat empat"])
    assert json.loads(res.output)["slots"]["callback_number"] == "0811223344"
    res = runner.invoke(app, ["nlu", "--state", "nowhere", "x"])
    assert res.exit_code == 1 and "Traceback" not in res.output


def test_nlu_audio_calls_the_speech_module(app, tmp_path, monkeypatch):
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"RIFF")
    seen = {}

    def nlu_audio(files, script_path, state):
        seen.update(files=files, script=script_path, state=state)
        return [{"intent": "ktp", "confidence": 0.8, "slots": {}, "file": str(files[0])}]

    monkeypatch.setitem(sys.modules, "ivr.speech_nlu", types.SimpleNamespace(nlu_audio=nlu_audio))
    res = runner.invoke(app, ["nlu", "--audio", str(wav), "--state", "main_menu"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["intent"] == "ktp"
    assert seen["state"] == "main_menu" and seen["files"] == [wav] and seen["script"] is None
    res = runner.invoke(app, ["nlu", "--audio", str(tmp_path / "none.wav")])
    assert res.exit_code == 1


def test_test_script_passes_and_fails(app, tmp_path):
    res = runner.invoke(app, ["test-script", str(default_script_path())])
    assert res.exit_code == 0, res.output
    assert "0 failed" in res.output
    cases = tmp_path / "cases.yaml"
    cases.write_text("cases:\n  - name: wrong expectation\n    steps:\n      - say: bayar pbb\n"
                     "        expect: {state: info_ktp}\n", encoding="utf-8")
    res = runner.invoke(app, ["test-script", str(default_script_path()), "--cases", str(cases)])
    assert res.exit_code == 1
    assert "FAIL wrong expectation" in res.output and "info_pbb" in res.output
    cases.write_text("cases:\n  - name: x\n    steps:\n      - say: a\n        press: '1'\n", encoding="utf-8")
    res = runner.invoke(app, ["test-script", str(default_script_path()), "--cases", str(cases)])
    assert res.exit_code == 1 and "exactly one event" in res.output and "line 4" in res.output


def test_chat_conversation(app):
    res = runner.invoke(app, ["chat"], input="bikin ktp\n/press 0\n/fail no_agents\nya\n1\n")
    assert res.exit_code == 0, res.output
    out = res.output
    assert "state=info_ktp" in out and "intent=ktp" in out
    assert "transfer to queue 'kependudukan'" in out
    assert "ticket callback created: 100001" in out
    assert "call ended (callback_created)" in out
