"""The audio an utterance hands to the recognizer does not depend on the machine's scheduling.

``AudioSocketMedia`` fills a pause in caller frames with silence (a silence-suppressing phone
sends nothing while quiet). A stalled event loop also leaves a pause, but the frames of that
time are there (in the socket, or queued by a sender in the same loop) and come right after:
filling that pause first would put made-up silence in the middle of the caller's words (on a
loaded machine, about half a second per utterance, which moved a spoken turn's emergency
reading across its threshold). Here a sender in the same loop is held up by a blocking stall
in mid-sentence, like the test peer on a busy machine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from asr import Endpointer
from ivr.calls.media.audiosocket import AudioSocketMedia
from ivr.calls.ports import ListenSpec

FRAME = 320  # 20 ms at 8 kHz, 16-bit


class _Channel:
    """The media's side of a channel: caller frames pushed by the test, nothing played."""

    sample_rate = 8000
    playing = False

    def __init__(self) -> None:
        self._frames: list[bytes] = []
        self._waiter: asyncio.Future[None] | None = None
        self.ended = False

    def push(self, frame: bytes) -> None:
        self._frames.append(frame)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def frames(self) -> AsyncIterator[bytes]:
        while True:
            if self._frames:
                yield self._frames.pop(0)
                continue
            if self.ended:
                return
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter

    async def dtmf(self) -> AsyncIterator[str]:
        await asyncio.Event().wait()
        yield ""

    async def play(self, pcm: bytes) -> bool:
        return True

    def stop_playback(self) -> None:
        pass

    async def close(self) -> None:
        self.ended = True
        self.push(b"")


async def _send(channel: _Channel, pcm: bytes, mid: asyncio.Event, at: int, late_s: float = 0.0) -> None:
    """Frames every 20 ms on the loop's clock (frames that fell behind go out at once, as the
    peer's caller sends them); ``mid`` is set after frame ``at``, and the frames after it are
    held back ``late_s`` (the loop runs on: a network delay, not a stall)."""
    loop = asyncio.get_running_loop()
    due = loop.time()
    for i in range(0, len(pcm), FRAME):
        due += 0.02
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        channel.push(pcm[i:i + FRAME])
        if i // FRAME == at:
            mid.set()
            if late_s:
                await asyncio.sleep(late_s)


async def _stall(mid: asyncio.Event, seconds: float) -> None:
    """A busy machine: once ``mid`` is set, nothing in this process runs for ``seconds``."""
    await mid.wait()
    time.sleep(seconds)  # noqa: ASYNC251 - the stall under test blocks the loop on purpose


async def _heard(sent: bytes, at: int, late_s: float = 0.0, stall_s: float | None = None):
    """What the media hands over (the listen's result, and the media for its counters) when a
    sender in this loop sends ``sent`` (see ``_send``), the loop stalling ``stall_s`` at frame
    ``at`` when given."""
    channel = _Channel()
    media = AudioSocketMedia(channel, lambda rate: Endpointer(sample_rate=rate, end_ms=600))  # type: ignore[arg-type]
    await media.start()
    try:
        mid = asyncio.Event()
        sender = asyncio.ensure_future(_send(channel, sent, mid, at=at, late_s=late_s))
        stall = asyncio.ensure_future(_stall(mid, stall_s)) if stall_s is not None else None
        got = await media.listen(ListenSpec(timeout_s=30.0))
        await sender
        if stall is not None:
            await stall
    finally:
        await media.close()
    return got, media


@pytest.mark.parametrize("stall_s", [0.15, 0.4])
async def test_a_stalled_loop_puts_no_silence_into_the_callers_words(caller_speech, stall_s):
    speech = caller_speech("rumah saya dulu kebanjiran, sekarang mau urus KK baru", 1)
    quiet = bytes(FRAME * 25)
    sent = quiet + speech + bytes(FRAME * 60)
    sent = sent[:len(sent) // FRAME * FRAME]
    # the stall falls in mid-sentence, 1.5 s into the speech
    got, media = await _heard(sent, at=25 + 75, stall_s=stall_s)
    assert got.kind == "speech" and got.utterance is not None
    pcm = got.utterance.pcm
    # the utterance is a stretch of what the caller sent, byte for byte (no silence inserted)
    exact = pcm in sent
    assert exact and len(pcm) > len(speech) // 2, (len(pcm), len(speech), media.frames_filled)


@pytest.mark.parametrize("late_s", [0.15, 0.19])
async def test_frames_late_over_the_network_join_the_callers_words_without_silence(caller_speech, late_s):
    """Frames held up on the way for less than ``FILL_AFTER_S`` (0.2 s; the filler used to fill
    after 0.1 s) come in a burst; no silence was made up for them, so the recognizer gets the
    words as sent. (Frames later than that still follow filled silence: docs/decisions.md.)"""
    speech = caller_speech("rumah saya dulu kebanjiran, sekarang mau urus KK baru", 1)
    sent = bytes(FRAME * 25) + speech + bytes(FRAME * 60)
    sent = sent[:len(sent) // FRAME * FRAME]
    got, media = await _heard(sent, at=25 + 75, late_s=late_s)
    assert got.kind == "speech" and got.utterance is not None
    pcm = got.utterance.pcm
    assert pcm in sent and len(pcm) > len(speech) // 2, (len(pcm), len(speech), media.frames_filled)


async def test_a_phone_that_stops_sending_after_speaking_still_ends_its_turn(caller_speech):
    """Silence suppression: no frame after the words; the gap is filled and the turn ends."""
    speech = caller_speech("saya mau bicara dengan petugas", 1)
    sent = bytes(FRAME * 25) + speech
    sent = sent[:len(sent) // FRAME * FRAME]
    got, media = await _heard(sent, at=-1)
    assert got.kind == "speech" and got.utterance is not None
    assert media.frames_filled > 0 and got.utterance.pcm[:len(sent) // 2] in sent
