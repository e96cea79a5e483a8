"""AGI-only media, for Asterisk without AudioSocket: prompts are WAV files played with
``STREAM FILE`` (DTMF interrupts a barge-in prompt), speech is taken with ``RECORD FILE`` ending
on silence, keys with ``WAIT FOR DIGIT``. Speech cannot interrupt a prompt in this mode
(Asterisk gives us no audio while it plays a file).

Times are ``time.monotonic()`` seconds. Audio is 16-bit mono PCM at ``sample_rate``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from asr import Endpointer, VadEvent
from asr.audio import read_wav, resample
from ivr.calls.hangups import CALLER_GONE, MediaHangup
from ivr.calls.ports import KEYPAD, AgiPort, CallerInput, ListenSpec, PlayResult, StreamFactory, TurnPolicy, Utterance

log = logging.getLogger(__name__)

T = TypeVar("T")

#: (prompt text, pcm) -> the path of a WAV file Asterisk can play
WavFor = Callable[[str | None, bytes], Awaitable[Path]]


@dataclass
class AgiMedia:
    """AGI-only media: STREAM FILE, RECORD FILE, GET DATA / WAIT FOR DIGIT.

    ``sounds_dir`` is shared with Asterisk: prompts are written there as 8 kHz WAV files and
    named to STREAM FILE without the extension; recordings are written there by Asterisk.
    ``wav_for`` turns (text, pcm) into the path of a WAV Asterisk can play.
    """

    agi: AgiPort
    sounds_dir: Path
    wav_for: WavFor
    endpointer_factory: Callable[[int], Endpointer]
    call_id: str = "call"
    sample_rate: int = 8000
    silence_s: int = 2
    hung_up: bool = False
    #: never used: Asterisk sends no audio while it plays a file (a Media port member)
    stream_factory: StreamFactory | None = None
    turn_policy: TurnPolicy | None = None  # AGI-only media record whole utterances: no early end
    #: the caller is heard only while a listen records: no second look (the session holds no turn)
    joins: bool = field(default=False, init=False)
    _typeahead: str = ""
    _n: int = 0
    #: (terminator, until): see AudioSocketMedia._absorb
    _absorb: tuple[str, float] | None = None

    async def start(self) -> None:
        self.sounds_dir.mkdir(parents=True, exist_ok=True)

    async def close(self) -> None:
        return None

    def drop_pending(self) -> None:
        self._typeahead = ""

    def resumed(self) -> float | None:
        """Never: the caller is heard only while a listen records (no second look)."""
        return None

    def keys_waiting(self) -> bool:
        return bool(self._typeahead)

    def join(self, first: Utterance) -> bool:
        return False

    def unheard(self) -> Utterance | None:
        return None

    async def _guard(self, coro: Awaitable[T]) -> T:
        try:
            return await coro
        except CALLER_GONE as exc:
            self.hung_up = True
            raise MediaHangup() from exc

    async def play(self, pcm: bytes, *, barge_in: bool, text: str | None = None,
                   typeahead: bool = True) -> PlayResult:
        if self.hung_up:
            raise MediaHangup()
        path = await self.wav_for(text, pcm)
        now = time.monotonic()
        info = PlayResult(completed=False, started_at=now, ended_at=now)
        if barge_in and self._typeahead and typeahead:
            info.barged = "dtmf"
            return info
        escape = KEYPAD if barge_in else ""
        absorb = self._absorbing()
        if absorb is not None:  # the terminator of the digits just taken does not cut this prompt
            escape = escape.replace(absorb, "")
        res = await self._guard(
            self.agi.stream_file(str(Path(path).with_suffix("")), escape_digits=escape)
        )
        info.ended_at = time.monotonic()
        code = res.result
        if code > 0:
            self._typeahead += chr(code)
            info.barged = "dtmf"
            info.barge_detected_at = info.stopped_at = info.ended_at
        elif code < 0:
            # -1: hang-up during playback (HANGUP follows) or a missing file
            if self.agi.hung_up:
                self.hung_up = True
                raise MediaHangup()
            log.warning("STREAM FILE failed for %s", Path(path).name)
        else:
            info.completed = True
        return info

    async def listen(self, spec: ListenSpec) -> CallerInput:
        if self.hung_up:
            raise MediaHangup()
        began = time.monotonic()
        if self._typeahead:
            first, self._typeahead = self._typeahead[0], self._typeahead[1:]
            return await self._more_digits(spec, first, began)
        if not spec.speech:
            res = await self._guard(self.agi.wait_for_digit(int(spec.timeout_s * 1000)))
            code = res.result
            if code <= 0:
                if code < 0:
                    self.hung_up = True
                    raise MediaHangup()
                return CallerInput("noinput", waited_s=time.monotonic() - began)
            return await self._more_digits(spec, chr(code), began)
        deadline = began + spec.timeout_s
        while True:
            got = await self._record_once(spec, began)
            if got.kind != "noinput" or time.monotonic() >= deadline - 0.2:
                return got

    async def _record_once(self, spec: ListenSpec, began: float) -> CallerInput:
        """One RECORD FILE: ends on ``silence_s`` of silence (before or after speech), a key,
        the maximum length or a hang-up; the recording is checked for speech with the VAD."""
        self._n += 1
        base = self.sounds_dir / "rec" / f"{self.call_id}-{self._n}"
        base.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        wav = base.with_suffix(".wav")
        try:
            res = await self._guard(
                self.agi.record_file(
                    str(base), fmt="wav", escape_digits=KEYPAD,
                    timeout_ms=int((spec.timeout_s + spec.max_speech_s) * 1000),
                    silence_s=self.silence_s, beep=False,
                )
            )
        except BaseException:
            with contextlib.suppress(OSError):
                wav.unlink()
            raise
        ended = time.monotonic()
        data = res.data or ""
        code = res.result
        if ("dtmf" in data and code > 0) or code < 0 or "hangup" in data:
            with contextlib.suppress(OSError):
                wav.unlink()
        if "dtmf" in data and code > 0:
            return await self._more_digits(spec, chr(code), began)
        if code < 0 or "hangup" in data:
            self.hung_up = True
            raise MediaHangup()
        try:
            pcm, rate = await asyncio.to_thread(read_wav, wav)
            if rate != self.sample_rate:
                pcm = await asyncio.to_thread(resample, pcm, rate, self.sample_rate)
        except Exception as exc:
            log.warning("recording unreadable: %s", exc)
            return CallerInput("noinput", waited_s=ended - began)
        finally:
            with contextlib.suppress(OSError):
                wav.unlink()
        onset, end = _speech_bounds(pcm, self.sample_rate, self.endpointer_factory)
        if onset is None:
            return CallerInput("noinput", waited_s=ended - began)
        total = len(pcm) / 2 / self.sample_rate
        # the file ends where Asterisk's silence detector fired (minus what it trimmed):
        # the end of speech was the end of the file's voiced part
        end_at = ended - max(0.0, total - end) - max(0.0, self.silence_s - 1.0)
        utt = Utterance(pcm, self.sample_rate, onset_at=started + onset, end_at=max(started, end_at),
                        detected_at=ended)
        return CallerInput("speech", utterance=utt, waited_s=ended - began)

    def _absorbing(self) -> str | None:
        """The terminator still to be absorbed after a full digit string, if its window is open."""
        if self._absorb is not None and time.monotonic() > self._absorb[1]:
            self._absorb = None
        return self._absorb[0] if self._absorb is not None else None

    async def _more_digits(self, spec: ListenSpec, first: str, began: float) -> CallerInput:
        absorb, self._absorb = self._absorbing(), None
        if absorb is not None and first == absorb:  # the last string's terminator, come late
            return await self.listen(spec)
        digits = "" if (first == spec.terminator and spec.max_digits != 1) else first
        last = time.monotonic()
        while spec.max_digits is None or len(digits) < spec.max_digits:
            if self._typeahead:
                d, self._typeahead = self._typeahead[0], self._typeahead[1:]
            else:
                res = await self._guard(self.agi.wait_for_digit(int(spec.interdigit_s * 1000)))
                code = res.result
                if code < 0:
                    self.hung_up = True
                    raise MediaHangup()
                if code == 0:
                    break
                d = chr(code)
            last = time.monotonic()
            if d == spec.terminator:
                break
            digits += d
        else:  # the string is full: a terminator pressed after it is not the next answer
            if spec.max_digits is not None and spec.max_digits > 1:
                if self._typeahead[:1] == spec.terminator:
                    self._typeahead = self._typeahead[1:]
                else:
                    self._absorb = (spec.terminator, last + spec.interdigit_s)
        return CallerInput("dtmf", digits=digits, last_key_at=last, waited_s=last - began)


def _speech_bounds(pcm: bytes, rate: int, endpointer_factory: Callable[[int], Endpointer]) -> tuple[float | None, float]:
    """(onset, end) of the speech in a recording, seconds from its start; onset None if none."""
    ep = endpointer_factory(rate)
    onset: float | None = None
    end = 0.0
    for mark in ep.feed_timed(pcm):
        if mark.event is VadEvent.SPEECH_START:
            if onset is None:
                onset = mark.at
        else:
            end = mark.at
    if onset is not None and ep.speaking:
        end = len(pcm) / 2 / rate
    return onset, end
