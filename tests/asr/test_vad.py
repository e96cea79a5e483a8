import pytest

from asr import AudioFormatError, Endpointer, VadEvent
from tests import speechgen


@pytest.fixture(scope="module")
def call():
    return speechgen.call_timeline(
        [1.0, "selamat pagi, saya mau bertanya tentang pajak kendaraan", 1.2, "terima kasih banyak", 1.5],
        voice="id+m3", snr_db=25.0, seed=3)


def run(ep: Endpointer, pcm: bytes, chunk: int):
    marks = []
    for i in range(0, len(pcm), chunk):
        marks.extend(ep.feed_timed(pcm[i:i + chunk]))
    return marks


@pytest.mark.parametrize("chunk", [320, 160, 1000, 7])
def test_finds_speech_start_and_end_within_100ms(call, chunk):
    chunk += chunk % 2  # whole samples, any framing
    ep = Endpointer(sample_rate=8000, aggressiveness=2, start_ms=100, end_ms=400, max_ms=15000)
    marks = run(ep, call.pcm, chunk)
    starts = [m for m in marks if m.event is VadEvent.SPEECH_START]
    ends = [m for m in marks if m.event is VadEvent.SPEECH_END]
    assert len(starts) == len(ends) == len(call.segments) == 2
    for (s, e), ms, me in zip(call.segments, starts, ends, strict=True):
        assert abs(ms.at - s) <= 0.1, (ms.at, s)
        assert abs(me.at - e) <= 0.1, (me.at, e)
        # reported no later than the configured hangovers allow
        assert ms.detected - s <= 0.1 + 0.1
        assert me.detected - e <= 0.4 + 0.25  # end_ms plus webrtcvad's own smoothing


def test_feed_returns_bare_events_and_tracks_state(call):
    ep = Endpointer(sample_rate=8000)
    events = ep.feed(call.pcm[: 8000 * 2 * 2])  # first 2 s: silence then speech
    assert events == [VadEvent.SPEECH_START]
    assert ep.speaking and ep.speech_start is not None


def test_silence_and_line_noise_give_no_events():
    tl = speechgen.call_timeline([3.0], snr_db=None)
    assert Endpointer(8000).feed(tl.pcm) == []


def test_max_length_cuts_long_speech(call):
    ep = Endpointer(sample_rate=8000, start_ms=100, end_ms=400, max_ms=1000)
    events = ep.feed(call.pcm)
    assert VadEvent.MAX_LENGTH in events
    assert events[0] is VadEvent.SPEECH_START


def test_16k_audio():
    from asr import audio

    tl = speechgen.call_timeline([0.5, "halo", 0.8], snr_db=None)
    pcm16 = audio.resample(tl.pcm, 8000, 16000)
    marks = Endpointer(sample_rate=16000).feed_timed(pcm16)
    assert [m.event for m in marks] == [VadEvent.SPEECH_START, VadEvent.SPEECH_END]
    assert abs(marks[0].at - tl.segments[0][0]) <= 0.1


def test_bad_configuration_is_refused():
    with pytest.raises(AudioFormatError):
        Endpointer(sample_rate=11025)
    with pytest.raises(ValueError):
        Endpointer(aggressiveness=4)
    with pytest.raises(ValueError):
        Endpointer(frame_ms=25)
    with pytest.raises(AudioFormatError):
        Endpointer().feed(b"\x00")


def test_end_now_closes_the_utterance_inside_the_hangover(call):
    # the media ends a turn before end_ms when the end-of-turn decision says it is complete
    ep = Endpointer(sample_rate=8000, start_ms=100, end_ms=1300, max_ms=15000)
    (s, e) = call.segments[0]
    upto = int((e + 0.3) * 8000) * 2
    marks = run(ep, call.pcm[:upto], 320)
    assert [m.event for m in marks] == [VadEvent.SPEECH_START]
    assert ep.speaking and 200 <= ep.silence_ms <= 400 + 100  # webrtcvad's smoothing
    mark = ep.end_now()
    assert mark is not None and mark.event is VadEvent.SPEECH_END
    assert abs(mark.at - e) <= 0.1, (mark.at, e)
    assert not ep.speaking and ep.silence_ms == 0 and ep.end_now() is None
    # the rest of the call goes on as usual: the second utterance starts and ends
    rest = run(ep, call.pcm[upto:], 320)
    assert [m.event for m in rest] == [VadEvent.SPEECH_START, VadEvent.SPEECH_END]
