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


def test_validate_and_test_script_default_to_the_active_script(app, tmp_path, monkeypatch):
    monkeypatch.delenv("IVR_CONFIG_FILE", raising=False)
    monkeypatch.delenv("IVR_SCRIPT", raising=False)
    res = runner.invoke(app, ["validate"])
    assert res.exit_code == 0, res.output
    assert "OK" in res.output and default_script_path().name in res.output.replace("\n", "")
    res = runner.invoke(app, ["test-script"])
    assert res.exit_code == 0, res.output
    assert " 0 failed" in res.output
    # IVR_SCRIPT names the script the hotline runs: both commands check that one
    mine = tmp_path / "mine.yaml"
    mine.write_text("version: 1\nname: x\nstart: a\nstates:\n  a:\n    say: halo\n    next: nowhere\n",
                    encoding="utf-8")
    monkeypatch.setenv("IVR_SCRIPT", str(mine))
    for cmd in (["validate"], ["test-script"]):
        res = runner.invoke(app, cmd)
        assert res.exit_code == 1, (cmd, res.output)
        assert "mine.yaml" in res.output and "unknown state 'nowhere'" in res.output, res.output
    # an explicit argument still wins
    res = runner.invoke(app, ["validate", str(default_script_path())])
    assert res.exit_code == 0, res.output


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


def test_nlu_several_utterances_one_line_each(app):
    res = runner.invoke(app, ["nlu", "ktp saya ilang", "bayar pajak motor", "harga emas hari ini"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.output.strip().splitlines()]
    assert [x["intent"] for x in lines] == ["ktp", "pajak_kendaraan", None]


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

    monkeypatch.setitem(sys.modules, "ivr.simulation.speech_nlu", types.SimpleNamespace(nlu_audio=nlu_audio))
    res = runner.invoke(app, ["nlu", "--audio", str(wav), "--state", "main_menu"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["intent"] == "ktp"
    assert seen["state"] == "main_menu" and seen["files"] == [wav] and seen["script"] is None
    res = runner.invoke(app, ["nlu", "--audio", str(tmp_path / "none.wav")])
    assert res.exit_code == 1


def test_nlu_audio_takes_every_file_given(app, tmp_path, monkeypatch):
    """`ivr nlu --audio FILE...` as documented: every file is routed, in order, none dropped."""
    wavs = [tmp_path / f"{n}.wav" for n in ("a", "b", "c")]
    for w in wavs:
        w.write_bytes(b"RIFF")
    calls = []

    def nlu_audio(files, script_path, state):
        calls.append(list(files))
        return [{"file": str(f), "intent": None, "confidence": 0.0, "text": ""} for f in files]

    monkeypatch.setitem(sys.modules, "ivr.simulation.speech_nlu", types.SimpleNamespace(nlu_audio=nlu_audio))
    for args in (["--audio", *map(str, wavs)],                       # the documented form
                 ["--audio", str(wavs[0]), "--audio", str(wavs[1]), "--audio", str(wavs[2])],
                 [*map(str, wavs), "--audio", "--state", "main_menu"]):
        calls.clear()
        res = runner.invoke(app, ["nlu", *args])
        assert res.exit_code == 0, (args, res.output)
        assert calls == [wavs], args
        assert [json.loads(x)["file"] for x in res.output.strip().splitlines()] == [str(w) for w in wavs]
    # a missing file is named, nothing is routed
    calls.clear()
    res = runner.invoke(app, ["nlu", "--audio", str(wavs[0]), str(tmp_path / "gone.wav"), str(wavs[1])])
    assert res.exit_code == 1 and "gone.wav" in res.output and calls == []
    res = runner.invoke(app, ["nlu", "--audio"])
    assert res.exit_code == 2 and "audio files" in res.output


def test_nlu_audio_reports_unreadable_files_and_goes_on(app, tmp_path, monkeypatch):
    good, bad = tmp_path / "good.wav", tmp_path / "bad.wav"
    good.write_bytes(b"RIFF")
    bad.write_bytes(b"RIFF")

    def nlu_audio(files, script_path, state):
        return [{"file": str(files[0]), "intent": "ktp", "confidence": 0.8, "text": "ktp"},
                {"file": str(files[1]), "error": "bad.wav: not a WAV file"}]

    monkeypatch.setitem(sys.modules, "ivr.simulation.speech_nlu", types.SimpleNamespace(nlu_audio=nlu_audio))
    res = runner.invoke(app, ["nlu", "--audio", str(good), str(bad)])
    rows = [json.loads(x) for x in res.output.strip().splitlines()]
    assert res.exit_code == 1 and rows[0]["intent"] == "ktp" and "error" in rows[1]


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
    import re

    res = runner.invoke(app, ["chat"], input="bikin ktp\n/press 0\n/fail no_agents\nya\n1\n")
    assert res.exit_code == 0, res.output
    out = res.output
    assert re.search(r"turn in main_menu: intent=ktp confidence=[01]\.\d\d \(accepted\); now state=info_ktp", out)
    assert "transfer to queue 'kependudukan'" in out
    # the ticket number as people write it (YYMM-SSSSS-C), in the log line and in the prompt
    m = re.search(r"ticket callback created: (\d{4}-\d{5}-\d)\b", out)
    assert m, out
    assert f"nomor tiket {m.group(1)}." in out
    assert "call ended (callback_created)" in out


def _turn_lines(out: str) -> list[str]:
    """The per-turn lines of `ivr chat`."""
    return [line.strip() for line in out.splitlines() if line.strip().startswith("turn in ")]


def test_chat_shows_each_turns_own_intent_and_confidence(app):
    import re

    # an accepted request, then an utterance nothing matches: the second line must not carry
    # the first turn's intent
    res = runner.invoke(app, ["chat"], input="bikin ktp\nharga emas hari ini\n")
    turns = _turn_lines(res.output)
    assert re.match(r"turn in main_menu: intent=ktp confidence=[01]\.\d\d \(accepted\)", turns[0]), turns[0]
    assert turns[1].startswith("turn in info_ktp: intent=- (no_match"), turns[1]
    # a request heard with a confidence that asks back, then the answer
    res = runner.invoke(app, ["chat", "--confidence", "0.45"], input="bikin ktp\nya\nbikin ktp\ntidak\n")
    turns = _turn_lines(res.output)
    assert turns[0].startswith("turn in main_menu: intent=ktp confidence=0.45 (confirming); now state=main_menu")
    assert turns[1].startswith("turn in main_menu: intent=ktp confidence=0.45 (accepted); now state=info_ktp")
    assert turns[3].startswith("turn in info_ktp: intent=- (the caller said no to ktp)"), turns[3]
    # keys: the turn's own outcome too
    res = runner.invoke(app, ["chat"], input="bikin ktp\n/press 7\n/silence\n")
    turns = _turn_lines(res.output)
    assert turns[1].startswith("turn in info_ktp: intent=- confidence=- (no_match)"), turns[1]
    assert turns[2].startswith("turn in info_ktp: intent=- confidence=- (no_input)"), turns[2]


def test_chat_names_the_topic_of_a_request_outside_the_services(app):
    res = runner.invoke(app, ["chat"], input="mau bikin paspor\n")
    turns = _turn_lines(res.output)
    assert turns[0].startswith("turn in main_menu: intent=- (no_match; told it is outside the services: "
                               "topic paspor)"), turns[0]


def test_chat_a_typed_enquiry_about_floods_is_asked_again_not_sent_to_112(app):
    """Issue 16: typed text asking about floods is not an emergency (the old detector read
    "banjir" as one); the same caller in danger is."""
    res = runner.invoke(app, ["chat"], input="saya mau tanya soal banjir\ntolong, rumah saya kebanjiran\n")
    turns = _turn_lines(res.output)
    assert turns[0].startswith("turn in main_menu: intent=- (no_match"), turns[0]
    assert "Maaf, saya belum mengerti." in res.output
    assert turns[1].startswith("turn in main_menu: intent=darurat confidence=1.00 (accepted); now state=emergency"), \
        turns[1]


def test_chat_looks_up_a_ticket_by_either_written_form(app):
    import re

    res = runner.invoke(app, ["chat"], input="/press 5\n/press 2\n"
                                             "di jalan melati\nsampah menumpuk\ntidak\n1\n")
    m = re.search(r"ticket complaint created: (\d{4})-(\d{5})-(\d)\b", res.output)
    assert m, res.output
    # the same chat cannot file then look up across runs, so check the lookup echo of the keyed form
    res = runner.invoke(app, ["chat"], input=f"/press 6\n/press {''.join(m.groups())}#\n")
    assert f"lookup {'-'.join(m.groups())}: not found" in res.output
    assert f"nomor tiket {'-'.join(m.groups())} tidak kami temukan" in res.output
