"""A caller whose phone sends no frames while quiet (silence suppression / DTX, or a Local
channel): Asterisk forwards nothing then, and app_audiosocket.c ends AudioSocket after 2000 ms
without traffic either way (EXEC returns -1, the call is lost). The call must survive quiet
stretches longer than that and still find the end of the caller's speech with no trailing
frames (the endpointer gets the pause as silence)."""

from __future__ import annotations

import pytest

from telephony.peer import SayPcm, Silence, WaitForSilence

pytestmark = pytest.mark.slow


async def test_quiet_caller_keeps_the_media_and_is_answered(hotline, caller_speech):
    speech = caller_speech("saya mau bicara dengan petugas", 1)
    script = [WaitForSilence(min_seconds=0.5, timeout=60),
              Silence(3.0),               # nothing sent either way for longer than 2 s
              SayPcm(speech, 8000),
              Silence(6.0)]               # and no frames at all after the speech
    res = await hotline.peer.place_call(script, realtime=True, silence_suppression=True, max_seconds=90)
    ends = [(a.how, a.exec_result) for a in res.audiosockets]
    assert ("inactivity", -1) not in ends, (ends, res.warnings)
    spoke_end = res.speech_ends[0]
    replies = [t for t in res.heard_times if t > spoke_end]
    assert replies, "no reply after the caller spoke"
    # the end of speech was found from the pause alone: the utterance the recognizer got is the
    # caller's ~2 s of speech, not one cut at the 15 s cap after running on into the quiet
    heard = hotline.by_kind("heard")
    assert heard, "the utterance never reached the dialog"
    assert heard[0]["speech_s"] < len(speech) / 2 / 8000 + 1.5 < hotline.settings.max_utterance_s
