"""The caller-script interpreter: runs a :mod:`~telephony.peer.script` step by step.

The caller sends a frame every 20 ms all the time (speech or silence), like a phone does; the
steps only decide what is in it. With ``silence_suppression`` silence is timed but not sent
(a phone or trunk with VAD/DTX on the caller's side). Waits on the controller (for a prompt, a
pause, a command) are timed in real seconds: the controller plays in real time whatever the
caller's speed-up.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Callable

from . import script as S
from .audio import FRAME_BYTES, RATE, frames_of, read_audio_8k, resample
from .channel import AudioItem, DtmfItem
from .result import FrameLog

if TYPE_CHECKING:  # pragma: no cover
    from .call import PeerCall

__all__ = ["CallerRunner", "SILENCE_FRAME"]

SILENCE_FRAME = b"\x00" * FRAME_BYTES


class CallerRunner:
    """Plays ``call.script`` (a live list: a ``Call`` step may append to it) into the channel."""

    def __init__(self, call: "PeerCall") -> None:
        self._call = call
        self._next_frame = 0.0
        self._sent = bytearray()
        self._cmd_cursor = 0

    @property
    def sent_pcm(self) -> bytes:
        """Everything the caller sent (speech and silence), 16-bit 8 kHz."""
        return bytes(self._sent)

    def _stopped(self) -> bool:
        return self._call.over or self._call.dead

    async def run(self) -> None:
        call = self._call
        self._next_frame = asyncio.get_running_loop().time()
        try:
            for step in call.script:
                if self._stopped():
                    return
                await self.run_step(step)
            while not self._stopped():
                await self._send_frame(SILENCE_FRAME, False)
        except asyncio.CancelledError:
            pass

    async def _send_frame(self, frame: bytes, speech: bool) -> None:
        loop = asyncio.get_running_loop()
        self._next_frame += self._call.real(0.02)
        delay = self._next_frame - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -1.0:
            self._next_frame = loop.time()  # stalled: start afresh
        if self._stopped():
            return
        self._sent += frame
        if speech or not self._call.silence_suppression:
            self._call.media.emit(AudioItem(frame, speech))

    async def _say(self, pcm8k: bytes) -> None:
        call = self._call
        call.result_obj.speech_starts.append(call.now())
        call.event("caller_speech_start", seconds=round(len(pcm8k) / 2 / RATE, 3))
        for fr in frames_of(pcm8k):
            if self._stopped():
                return
            await self._send_frame(fr, True)
        call.result_obj.speech_ends.append(call.now())
        call.event("caller_speech_end")

    async def _silence_until(self, cond: Callable[[], bool], timeout_s: float, what: str) -> None:
        call = self._call
        start = call.now()
        while not cond():
            if self._stopped():
                return
            # The controller plays in real time whatever the caller's speed-up, so a wait on
            # the controller is timed in real seconds.
            if call.now() - start >= timeout_s:
                call.warn(f"{what}: timed out after {timeout_s}s")
                return
            await self._send_frame(SILENCE_FRAME, False)

    async def run_step(self, step: S.Step) -> None:
        call = self._call
        media = call.media
        if isinstance(step, S.SayPcm):
            await self._say(resample(step.pcm, step.rate, RATE))
        elif isinstance(step, S.SayWav):
            await self._say(read_audio_8k(step.path))
        elif isinstance(step, S.Silence):
            for _ in range(max(0, round(step.seconds / 0.02))):
                if self._stopped():
                    return
                await self._send_frame(SILENCE_FRAME, False)
        elif isinstance(step, S.Dtmf):
            for d in step.digits:
                call.result_obj.frames.append(FrameLog(call.now(), "out", "dtmf", 1))
                call.event("dtmf_sent", digit=d)
                media.emit(DtmfItem(d))
                for _ in range(max(1, round((step.digit_ms + step.gap_ms) / 20))):
                    if self._stopped():
                        return
                    await self._send_frame(SILENCE_FRAME, False)
        elif isinstance(step, S.Hangup):
            call.caller_hangup()
        elif isinstance(step, S.WaitForPrompt):
            start = call.now()

            def prompt_started() -> bool:
                return media.last_heard is not None and media.last_heard >= start

            await self._silence_until(prompt_started, step.timeout, "WaitForPrompt")
        elif isinstance(step, S.WaitForSilence):
            await self._wait_for_silence(step)
        elif isinstance(step, S.WaitForCommand):
            pfx = step.prefix.upper()
            lines = call.agi.command_lines

            def seen() -> bool:
                # Commands are consumed in order, so a command that arrived while an earlier
                # step was still running is not missed.
                while self._cmd_cursor < len(lines):
                    line = lines[self._cmd_cursor]
                    self._cmd_cursor += 1
                    if line.upper().startswith(pfx):
                        return True
                return False

            await self._silence_until(seen, step.timeout, "WaitForCommand")
        elif isinstance(step, S.Call):
            r = step.fn(call)
            if inspect.isawaitable(r):
                await r
        else:
            raise TypeError(f"unknown caller step {step!r}")

    async def _wait_for_silence(self, step: S.WaitForSilence) -> None:
        call = self._call
        media = call.media
        start = call.now()
        # the controller talks in real time whatever the caller's speed-up: its pauses are
        # measured in real seconds too
        need = max(step.min_seconds, 0.1)
        playing_at_start = media.last_heard is not None and start - media.last_heard < need

        def quiet() -> bool:
            lh = media.last_heard
            if step.require_audio and not playing_at_start and (lh is None or lh < start):
                return False
            ref = start if lh is None or lh < start else lh
            return call.now() - ref >= need

        await self._silence_until(quiet, step.timeout, "WaitForSilence")
