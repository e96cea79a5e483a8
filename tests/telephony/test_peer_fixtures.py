"""The simulated Asterisk reproduces the Asterisk 22 transcripts line by line."""

from __future__ import annotations

import wave


from telephony.peer import Dtmf, Hangup, SayPcm, Silence, WaitForCommand

from .conftest import tone
from .replay import replay_agi

SPEECH = tone(2.68, 220, 5000)


def played_samples(res) -> int:
    """Samples of prompt audio the peer played to the caller (content, not the timeline)."""
    return sum(f.length for f in res.frames if f.direction == "in" and f.kind == "audio") // 2


def check(rep):
    assert not rep.mismatches, "\n".join(rep.mismatches)
    assert rep.lines_checked > 0


async def test_full_session(sounds_dir, tmp_path):
    script = [
        WaitForCommand("STREAM FILE ivr/welcome"), Silence(0.8), Dtmf("5"),
        WaitForCommand("GET DATA ivr/enter_digits"), Silence(0.3), Dtmf("4321#"),
        WaitForCommand("GET DATA ivr/thanks 3000 6"), Silence(0.2), Dtmf("12"),
        WaitForCommand("GET DATA ivr/thanks 3000 4"), Dtmf("9876"),
        WaitForCommand("WAIT FOR DIGIT 5000"), Silence(0.4), Dtmf("7"),
        WaitForCommand("RECORD FILE"), Silence(0.5), SayPcm(SPEECH),
        WaitForCommand("RECORD FILE"), SayPcm(tone(1.0, 250)), Dtmf("#"),
        WaitForCommand("SAY DIGITS 98765"), Silence(0.2), Dtmf("9"),
    ]
    rep = await replay_agi("agi-full-session.jsonl", sounds_dir, tmp_path, script)
    check(rep)
    assert rep.raw_env.count(b"agi_accountcode: \n") == 1       # empty value keeps its space
    res = rep.result
    # AGISTATUS=FAILURE because a STREAM FILE of a missing file failed; the transfer still happens
    assert res.agi_status == "FAILURE" and res.ended_by == "transfer"
    assert any("does not exist in any format" in w for w in res.warnings)
    assert any("Could not find application (NoSuchApplication)" in w for w in res.warnings)
    # the four AudioSocket sessions ended as recorded: close, FIN, 0x00 -> 0; bad kind -> -1 + reset
    endings = {k[-2:]: v for k, v in rep.audiosockets.items()}
    results = [a.exec_result for a in res.audiosockets]
    assert results[0] in (0, -1) and results[1:] == [0, 0, -1]    # [0]: bare close(), may RST
    assert endings["12"].ending == "eof" and endings["14"].ending == "eof"   # 0x00 / half-close: Asterisk closes
    assert endings["13"].ending == "reset"                                    # invalid kind: TCP reset
    assert all(v.frames_from_peer > 0 and v.bad_frames == 0 for v in rep.audiosockets.values())
    # RECORD FILE ended by silence keeps about one second of the trailing silence
    with wave.open(str(tmp_path / "ivr" / "fx-agi-full-silence.wav")) as w:
        secs = w.getnframes() / w.getframerate()
    assert 2.68 + 0.6 < secs < 2.68 + 1.4
    assert (tmp_path / "fixture-relative-timeout.wav").is_file()


async def test_caller_hangup_during_command(sounds_dir, tmp_path):
    rep = await replay_agi("agi-caller-hangup-during-command.jsonl", sounds_dir, tmp_path,
                           [WaitForCommand("STREAM FILE ivr/welcome"), Silence(1.5), Hangup()])
    check(rep)
    assert rep.result.ended_by == "caller_hangup" and rep.result.agi_status == "HANGUP"
    # HANGUP is written after the interrupted command's reply, in a write of its own ~40 ms
    # later (a simulated delay: it can only come later on a slow machine, never sooner)
    reply_t = next(c.replied_at for c in rep.result.commands if c.command.startswith("STREAM FILE ivr/welcome"))
    assert rep.result.hangup_notices[0] - reply_t >= 0.03


async def test_caller_hangup_during_record(sounds_dir, tmp_path):
    rep = await replay_agi("agi-caller-hangup-during-record.jsonl", sounds_dir, tmp_path,
                           [WaitForCommand("RECORD FILE"), SayPcm(tone(2.0, 200)), Hangup()])
    check(rep)
    assert rep.result.recordings and rep.result.ended_by == "caller_hangup"


async def test_caller_hangup_idle(sounds_dir, tmp_path):
    rep = await replay_agi("agi-caller-hangup-idle.jsonl", sounds_dir, tmp_path,
                           [WaitForCommand("GET VARIABLE CALL_ID"), Silence(0.3), Hangup()])
    check(rep)
    assert rep.result.agi_status == "HANGUP"


async def test_agi_hangup_command(sounds_dir, tmp_path):
    rep = await replay_agi("agi-hangup-command.jsonl", sounds_dir, tmp_path, [])
    check(rep)
    assert rep.result.ended_by == "agi_hangup"


async def test_server_close_idle(sounds_dir, tmp_path):
    rep = await replay_agi("agi-server-close-idle.jsonl", sounds_dir, tmp_path, [])
    check(rep)
    assert rep.result.agi_status == "SUCCESS" and rep.result.ended_by == "agi_ended"
    assert played_samples(rep.result) == 11098                  # ivr/thanks, whole (endpos=11098)


async def test_server_close_during_command_aborts_playback(sounds_dir, tmp_path):
    rep = await replay_agi("agi-server-close-during-command.jsonl", sounds_dir, tmp_path, [])
    check(rep)
    assert rep.result.agi_status == "SUCCESS"
    # the playback was aborted by the close: no reply was ever written and the 3 s prompt
    # (24000 samples) was not played to its end
    assert (rep.result.commands[-1].command, rep.result.commands[-1].reply) == ('STREAM FILE ivr/welcome ""', "")
    assert played_samples(rep.result) < 24000


async def test_status_missing_file(sounds_dir, tmp_path):
    rep = await replay_agi("agi-status-missing-file.jsonl", sounds_dir, tmp_path, [])
    check(rep)
    assert rep.result.agi_status == "FAILURE"


async def test_status_exec_errors(sounds_dir, tmp_path):
    rep = await replay_agi("agi-status-exec-errors.jsonl", sounds_dir, tmp_path, [])
    check(rep)
    # EXEC of a missing app (-2) and a failed AudioSocket (-1) do not set FAILURE
    assert rep.result.agi_status == "SUCCESS"
    assert list(rep.audiosockets.values())[0].ending == "reset"


async def test_transfer_simple(sounds_dir, tmp_path):
    rep = await replay_agi("agi-transfer-simple.jsonl", sounds_dir, tmp_path,
                           [WaitForCommand("GET DATA"), Silence(0.5), Dtmf("12#")])
    check(rep)
    assert rep.result.ended_by == "transfer" and rep.result.variables["IVR_DIGITS"] == "12"
