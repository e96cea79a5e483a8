"""The end-of-turn policy reads the audio its early result was decoded from: the media hands
it over (how the voice ends is read from it, asr.prosody), byte for byte what the recognition
stream had when it decoded."""

from __future__ import annotations

import asyncio

from asr import Endpointer, Transcript
from asr.endpointing import TurnDecision
from ivr.calls.media.audiosocket import AudioSocketMedia
from ivr.calls.ports import ListenSpec
from tests.ivr.test_media_gaps import FRAME, _Channel, _send


class _Stream:
    """A recognition stream whose speculative result is decoded from the audio it holds when
    first asked after ``after_s`` of audio."""

    def __init__(self, after_s: float) -> None:
        self.pcm = bytearray()
        self.after = int(after_s * 8000) * 2
        self.snapshot: int | None = None

    def accept(self, pcm: bytes) -> None:
        self.pcm += pcm

    def early(self) -> Transcript | None:
        if self.snapshot is None and len(self.pcm) >= self.after:
            self.snapshot = len(self.pcm)
        if self.snapshot is None:
            return None
        return Transcript(text="saya mau bikin ktp", confidence=0.9, audio_seconds=self.snapshot / 2 / 8000)

    def close(self) -> None:
        pass


async def test_the_policy_gets_the_audio_the_early_result_was_decoded_from(caller_speech):
    speech = caller_speech("saya mau bikin KTP elektronik", 1)
    sent = bytes(FRAME * 25) + speech + bytes(FRAME * 60)
    sent = sent[:len(sent) // FRAME * FRAME]
    channel = _Channel()
    media = AudioSocketMedia(channel, lambda rate: Endpointer(sample_rate=rate, end_ms=1500))  # type: ignore[arg-type]
    streams: list[_Stream] = []
    asked: list[tuple[float, bytes, int]] = []

    def factory() -> _Stream:
        streams.append(_Stream(after_s=len(speech) / 2 / 8000))
        return streams[-1]

    def policy(early: Transcript, audio: bytes, sample_rate: int) -> TurnDecision:
        asked.append((early.audio_seconds, audio, sample_rate))
        return TurnDecision(250, "complete")

    media.stream_factory = factory  # type: ignore[assignment]
    media.turn_policy = policy
    await media.start()
    try:
        sender = asyncio.ensure_future(_send(channel, sent, asyncio.Event(), at=-1))
        got = await media.listen(ListenSpec(timeout_s=30.0))
        await sender
    finally:
        await media.close()
    assert got.kind == "speech" and got.utterance is not None
    assert got.utterance.turn == "complete"  # ended on the policy's wait, not the endpointer's
    assert asked, "the policy was never asked"
    seconds, audio, rate = asked[0]
    stream = streams[-1]
    assert rate == 8000 and len(audio) == stream.snapshot == int(seconds * 8000) * 2
    assert audio == bytes(stream.pcm[:len(audio)]) and audio in sent


async def test_a_second_look_joins_resumed_speech_to_the_turn_without_a_gap_or_a_repeat(caller_speech):
    """Speech that resumes after the turn was decided, joined to it (``join``): the next listen
    hands over one utterance from the first one's onset, the caller's audio as sent (the first
    half, the pause, the rest: no frame lost or doubled), heard by a new stream from its start."""
    first, rest = caller_speech("saya mau bikin KTP elektronik", 1), caller_speech("yang hilang kemarin", 1)
    sent = bytes(FRAME * 25) + first + bytes(FRAME * 20) + rest + bytes(FRAME * 60)
    sent = sent[:len(sent) // FRAME * FRAME]
    channel = _Channel()
    media = AudioSocketMedia(channel, lambda rate: Endpointer(sample_rate=rate, end_ms=1500))  # type: ignore[arg-type]
    streams: list[_Stream] = []

    def factory() -> _Stream:
        streams.append(_Stream(after_s=len(first) / 2 / 8000))
        return streams[-1]

    media.stream_factory = factory  # type: ignore[assignment]
    media.turn_policy = lambda early, audio, sample_rate: TurnDecision(250, "complete")
    await media.start()
    try:
        sender = asyncio.ensure_future(_send(channel, sent, asyncio.Event(), at=-1))
        got = await media.listen(ListenSpec(timeout_s=30.0))
        assert got.utterance is not None and got.utterance.turn == "complete"
        one = got.utterance
        assert media.resumed() is None  # nothing said since
        while media.resumed() is None:
            await asyncio.sleep(0.01)
        onset = media.resumed()
        assert onset is not None and onset >= one.detected_at
        assert media.join(one)
        got = await media.listen(ListenSpec(timeout_s=30.0))
        await sender
    finally:
        await media.close()
    assert got.utterance is not None
    both = got.utterance
    assert both.onset_at == one.onset_at and both.pcm.startswith(one.pcm)
    assert both.pcm in sent and len(both.pcm) > len(one.pcm) + len(rest) // 2
    # the stream that heard it was opened at the join and got all of it
    assert bytes(streams[-1].pcm) == both.pcm and len(streams) >= 2
