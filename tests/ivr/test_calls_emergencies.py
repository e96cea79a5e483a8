"""Issue 16 item 4 through the Asterisk peer with the real models: a spoken emergency of each
hazard gets the emergency message as its very first reply; one the recognizer only half heard
gets the safety question, which names the emergency numbers before asking; a fire mentioned in
passing is not sent away.

The emergencies acted on at once are the ones the script's `darurat` examples in the callers'
words (fire, collapse, crash, violence) brought above the detector's threshold: with the
script's sixteen examples of before, the beating below was only asked "Apakah ini keadaan
darurat?" (darurat 0.14-0.15 on these voices; checked through the peer), and the crash sat on
the edge (0.20-0.24: asked when recognised alone, acted on through the peer);
bench/bench_understanding.py measures the whole set."""

from __future__ import annotations

import pytest

from tests.ivr.conftest import make_hotline
from tests.waiting import eventually

pytestmark = pytest.mark.slow


def _steps(hotline, pcm: bytes):
    from telephony.peer import Call, Hangup, SayPcm, Silence, WaitForPrompt, WaitForSilence

    async def replied(_call) -> None:
        def done() -> bool:
            kinds = [k for (_, _, k, _) in hotline.events if k in ("heard", "say")]
            return "heard" in kinds and "say" in kinds[kinds.index("heard"):]
        await eventually(done, "the reply to the caller", timeout=90)

    # the welcome and the menu play to the end; then the caller speaks into the listen
    return [WaitForPrompt(), WaitForSilence(min_seconds=0.8, timeout=60.0), SayPcm(pcm, 8000), Silence(0.5),
            Call(replied), Silence(0.5), Hangup()]


async def _first_reply(engines, tmp_path, pcm: bytes, **settings) -> tuple[dict, dict, list[dict]]:
    """(the main menu's heard turn, the first reply after it, every say of the call)."""
    from tests.ivr.conftest import close_hotline

    hl = await make_hotline(engines, tmp_path, **settings)
    try:
        call = hl.peer.start_call(_steps(hl, pcm), realtime=1.0, max_seconds=240.0)
        await call.result()
        kinds = [(k, d) for (_, _, k, d) in hl.events if k in ("heard", "say")]
        first = next(i for i, (k, d) in enumerate(kinds) if k == "heard" and d.get("state") == "main_menu")
        reply = next(d for k, d in kinds[first + 1:] if k == "say")
        return kinds[first][1], reply, hl.by_kind("say")
    finally:
        await close_hotline(hl)


@pytest.mark.parametrize("text", [
    "tolong, rumah saya kebakaran",  # fire
    "ada tanah longsor, rumah tertimbun",  # collapse
    "tolong, ada orang ketabrak mobil",  # crash
    "tolong, saya dipukuli suami saya",  # violence
])
async def test_a_spoken_emergency_is_acted_on_at_once(engines, tmp_path, caller_speech, text):
    heard, reply, _ = await _first_reply(engines, tmp_path, caller_speech(text, 1))
    # the very first reply is the emergency message: no question, no "Maaf, saya belum mengerti"
    assert reply.get("state") == "emergency" and "112" in reply["text"], (heard.get("text"), reply)


async def test_a_half_heard_emergency_hears_the_emergency_numbers_first(engines, tmp_path, caller_speech):
    # a heart attack the recognizer garbles ("Bukhaya kelas rangan tantun ...", or on another
    # CPU "Kibu Saya kehasaraan dan tun ..."): darurat leads under the threshold of acting at once
    # (the safety question: 112 and 119), or is only near the lead (the confirmation opens with
    # 112). Which of the two depends on float rounding that differs between CPUs, so the test
    # asserts what both guarantee: 112 in the very first reply, never "Maaf, saya belum
    # mengerti". A child carried off by a river ("Anak-anak, ayo, tri sunyai") sits on the edge:
    # asked, or taken for akta kelahiran, from run to run, so it is not a case here
    heard, reply, _ = await _first_reply(
        engines, tmp_path, caller_speech("ibu saya kena serangan jantung, tolong kirim ambulans", 1))
    assert "112" in reply["text"], (heard.get("text"), reply)
    assert reply.get("prompt_id") in ("settings.confirm_emergency[0]", "settings.confirm_intent_emergency[0]"), reply
    assert "Maaf" not in reply["text"], reply


async def test_a_fire_mentioned_in_passing_is_not_sent_away(engines, tmp_path, caller_speech):
    heard, reply, says = await _first_reply(
        engines, tmp_path, caller_speech("KTP saya hilang waktu kebakaran tahun lalu, mau buat baru", 1))
    assert not [d for d in says if d.get("state") == "emergency"], (heard.get("text"), reply)
    assert reply.get("prompt_id") != "settings.confirm_emergency[0]", reply


# settings.emergency_audio (off by default), the audio's own emergency readings
# (asr.audio_emergency): a flood mentioned in passing is still not sent away. (Acting at once on
# a borderline emergency through them is tested on the decision, tests/ivr/test_emergency_audio.py:
# through the peer, the candidates tried were either acted on at once without the setting too, or
# changed outcome with espeak-ng's output, which depends on what the process synthesised before.)
@pytest.mark.parametrize("voice", [1, 2])
async def test_with_the_audio_readings_a_flood_mentioned_in_passing_is_not_sent_away(engines, tmp_path, caller_speech,
                                                                                      voice):
    text = "rumah saya dulu kebanjiran, sekarang mau urus akta kelahiran"
    heard, reply, says = await _first_reply(engines, tmp_path, caller_speech(text, voice), emergency_audio=True)
    assert not [d for d in says if d.get("state") == "emergency"], (heard.get("text"), reply)


async def test_a_caller_asking_about_floods_is_not_sent_away(engines, tmp_path, caller_speech):
    """Issue 16: an enquiry about floods names a hazard but asks for information; it is not an
    emergency (the old detector read "banjir" as one and gave the emergency message first)."""
    heard, reply, says = await _first_reply(engines, tmp_path, caller_speech("saya mau tanya soal banjir", 1))
    assert not [d for d in says if d.get("state") == "emergency"], (heard.get("text"), reply)
    assert reply.get("prompt_id") != "settings.confirm_emergency[0]", (heard.get("text"), reply)
