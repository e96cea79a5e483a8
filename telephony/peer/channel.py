"""The simulated channel's media: what the caller sends, and what the caller hears.

Caller -> Asterisk: the caller's frames and keys go to whichever application reads the channel
now (an :class:`Inbox`: a playing ``STREAM FILE``, a ``RECORD FILE``, ``AudioSocket()``...), one
reader at a time. Keys pressed while nobody reads wait on the channel (like DTMF frames queued
on a real channel) and go to the next reader; audio is dropped then.

Asterisk -> caller: everything played to the caller lands on one timeline (``heard_pcm``).
Prompts played by Asterisk itself are placed where they are played; frames written by the
AudioSocket server go through the channel's voice queue first, as in ``main/channel.c``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from .audio import RATE
from .result import FrameLog

if TYPE_CHECKING:  # pragma: no cover
    from .call import PeerCall

__all__ = ["Inbox", "ChannelMedia", "AudioItem", "DtmfItem", "HangupItem", "SocketClosedItem", "InboxItem"]

#: ``main/channel.c``: voice frames allowed in a channel's queue before it drops them all
VOICE_QUEUE_LIMIT = 96


@dataclass(frozen=True, slots=True)
class AudioItem:
    """A 20 ms frame from the caller; ``speech`` is false for silence."""

    pcm: bytes
    speech: bool


@dataclass(frozen=True, slots=True)
class DtmfItem:
    """A key the caller pressed."""

    digit: str


@dataclass(frozen=True, slots=True)
class HangupItem:
    """The caller hung up."""


@dataclass(frozen=True, slots=True)
class SocketClosedItem:
    """The AudioSocket connection ended (``how``: hangup_frame, eof, protocol_error, reset, ...)."""

    how: str


InboxItem = Union[AudioItem, DtmfItem, HangupItem, SocketClosedItem]


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class Inbox:
    """Caller media for whoever reads the channel now (one reader at a time)."""

    __slots__ = ("items", "waiter")

    def __init__(self) -> None:
        self.items: deque[InboxItem] = deque()
        self.waiter: asyncio.Future[None] | None = None

    def put(self, item: InboxItem) -> None:
        self.items.append(item)
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def get(self, until: float | None) -> InboxItem | None:
        """The next item, or None once the loop time ``until`` has passed (None: wait for ever)."""
        loop = asyncio.get_running_loop()
        while not self.items:
            if until is not None and loop.time() >= until:
                return None
            fut: asyncio.Future[None] = loop.create_future()
            self.waiter = fut
            h = loop.call_at(until, _wake, fut) if until is not None else None
            try:
                await fut
            finally:
                if h is not None:
                    h.cancel()
                self.waiter = None
        return self.items.popleft()

    def drop_audio(self) -> None:
        """Forget caller audio queued so far (keys and hang-ups stay)."""
        self.items = deque(i for i in self.items if not isinstance(i, AudioItem))


class ChannelMedia:
    """One call's media in both directions (see the module docstring)."""

    def __init__(self, call: "PeerCall") -> None:
        self._call = call
        self._inbox: Inbox | None = None
        self._dtmf_backlog: deque[str] = deque(maxlen=32)
        self._heard = bytearray()
        self._voiceq: deque[bytes] = deque()
        self._vq_head = 0.0
        self._vq_end = 0.0
        #: frames lost to the channel voice-queue limit (a burst from the AudioSocket server)
        self.dropped_voice_frames = 0
        #: call time of the last controller audio the caller heard (None: nothing yet)
        self.last_heard: float | None = None

    # -- caller -> Asterisk ----------------------------------------------------------------
    def emit(self, item: InboxItem) -> None:
        """The caller sends ``item``; it goes to the current reader, keys wait for the next one."""
        if self._inbox is not None:
            self._inbox.put(item)
        elif isinstance(item, DtmfItem):
            self._dtmf_backlog.append(item.digit)

    def hangup(self) -> None:
        """Tell the current reader that the caller hung up."""
        if self._inbox is not None:
            self._inbox.put(HangupItem())

    def attach(self) -> Inbox:
        """Start reading the channel: keys waiting on it come first."""
        box = Inbox()
        while self._dtmf_backlog:
            box.put(DtmfItem(self._dtmf_backlog.popleft()))
        if self._call.dead:
            box.put(HangupItem())
        self._inbox = box
        return box

    def detach(self, box: Inbox) -> None:
        """Stop reading; undelivered keys stay queued on the channel."""
        if self._inbox is box:
            self._inbox = None
        for item in box.items:
            if isinstance(item, DtmfItem):
                self._dtmf_backlog.append(item.digit)

    # -- Asterisk -> caller ----------------------------------------------------------------
    def on_heard(self, pcm: bytes, source: str, at: float | None = None) -> None:
        """Put audio played by Asterisk itself on the heard timeline at ``at`` (default: now)."""
        call = self._call
        t = call.now()
        start = t if at is None else at
        pos = int(start * RATE) * 2
        if pos > len(self._heard):
            self._heard.extend(bytes(pos - len(self._heard)))
        self._heard += pcm
        gap = self.last_heard is None or t - self.last_heard > 0.1
        self.last_heard = t
        call.result_obj.heard_times.append(t)
        call.result_obj.frames.append(FrameLog(t, "in", "audio", len(pcm)))
        if gap:
            call.event("heard_start", source=source)

    def on_media_frame(self, pcm: bytes) -> None:
        """A frame written to the channel by the AudioSocket server.

        ``apps/app_audiosocket.c`` writes it to the channel at once, without pacing; it then
        waits in the channel's voice queue and is heard at 20 ms per frame. ``main/channel.c``
        (``__ast_queue_frame``) allows 96 voice frames outstanding: beyond that it logs
        "Exceptionally long voice queue length" and drops the queued voice frames, which is
        why a burst from the server loses audio (the fixtures lost frames 1-128 of 250).
        """
        call = self._call
        t = call.now()
        self._play_voiceq(t)
        q = self._voiceq
        if len(q) >= VOICE_QUEUE_LIMIT:
            n = len(q) + 1
            call.warn(f"Exceptionally long voice queue length ({n} voice / {n} total) queuing to {call.channel}")
            self.dropped_voice_frames += len(q)
            q.clear()
        if not q:
            self._vq_head = max(t, self._vq_end)
        q.append(pcm)
        call.result_obj.frames.append(FrameLog(t, "in", "audio", len(pcm)))
        if not pcm.strip(b"\x00"):
            # digital silence (a keep-alive frame): heard as silence, not as the controller
            # speaking, so it neither counts as a reply nor delays "wait for the prompt"
            self._play_voiceq(t)
            return
        call.result_obj.heard_times.append(t)
        # when this frame will be heard (after what is queued before it)
        frame_start = self._vq_head + (sum(len(p) for p in q) - len(pcm)) / (2 * RATE)
        if self.last_heard is None or frame_start - self.last_heard > 0.5:  # not a pause inside a prompt
            call.event("heard_start", source="audiosocket")
        self.last_heard = frame_start
        self._play_voiceq(t)

    def _play_voiceq(self, t: float) -> None:
        q = self._voiceq
        while q and self._vq_head <= t + 1e-9:
            pcm = q.popleft()
            self._place_heard(pcm, self._vq_head)
            self._vq_head += len(pcm) / (2 * RATE)
            self._vq_end = self._vq_head

    def _place_heard(self, pcm: bytes, at: float) -> None:
        pos = int(at * RATE) * 2
        if pos > len(self._heard):
            self._heard.extend(bytes(pos - len(self._heard)))
        self._heard += pcm

    def heard_pcm(self) -> bytes:
        """The whole heard timeline, the voice queue played out to its end."""
        self._play_voiceq(float("inf"))
        return bytes(self._heard)
