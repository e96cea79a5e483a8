"""Call media for one call: what the caller says and presses, what we play.

Two implementations share one small interface used by :class:`ivr.session.CallSession`:

* :class:`AudioSocketMedia` (default): caller audio frames and DTMF arrive continuously on a
  ``telephony.CallChannel``. One reader task feeds every frame to an ``asr.Endpointer`` (VAD)
  and keeps a short pre-roll, so an utterance is captured from its onset even when the
  endpointer confirms it ``start_ms`` later. Barge-in is decided *in the reader task*: when the
  endpointer reports speech start while a barge-in prompt plays, ``stop_playback()`` is called
  at once (effective within one 20 ms frame). DTMF is taken at any moment: during a prompt that
  allows barge-in it stops the prompt; otherwise it is kept (type-ahead) for the next listen.
* :class:`AgiMedia` (AGI-only mode, for Asterisk without AudioSocket): prompts are WAV files
  played with ``STREAM FILE`` (DTMF interrupts a barge-in prompt), speech is taken with
  ``RECORD FILE`` ending on silence, keys with ``GET DATA`` / ``WAIT FOR DIGIT``. Speech cannot
  interrupt a prompt in this mode (Asterisk gives us no audio while it plays a file).

Times are ``time.monotonic()`` seconds. Audio is 16-bit mono PCM at ``sample_rate``.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger("ivr.media")

DIGITS = "0123456789*#"


class MediaHangup(Exception):
    """The caller hung up (or the media connection is gone)."""


@dataclass
class PlayResult:
    """How one prompt ended."""

    completed: bool  # played to the end
    started_at: float  # monotonic time the first audio byte went out
    ended_at: float
    barged: str | None = None  # "speech" | "dtmf" when the caller interrupted it
    barge_detected_at: float | None = None  # when the interruption was detected
    barge_onset_at: float | None = None  # when the caller's speech actually began (estimate)
    stopped_at: float | None = None  # when playback was told to stop


@dataclass
class Utterance:
    pcm: bytes
    sample_rate: int
    onset_at: float  # wall (monotonic) time the speech began, estimated from frame arrivals
    end_at: float  # wall time of the end of the last voiced frame (true end of speech)
    detected_at: float  # wall time the endpointer decided the utterance was over
    cut: bool = False  # ended by the maximum length
    over_prompt: bool = False  # began while a prompt that forbids barge-in was playing
    stream: Any = None  # a recognition stream fed while the caller spoke (None: decode pcm)

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


@dataclass
class CallerInput:
    """What a listen produced."""

    kind: str  # "speech" | "dtmf" | "noinput"
    utterance: Utterance | None = None
    digits: str = ""
    last_key_at: float | None = None  # wall time of the last key
    waited_s: float = 0.0


@dataclass
class ListenSpec:
    timeout_s: float
    speech: bool = True  # accept speech
    max_digits: int | None = None  # None: keys until the terminator or the inter-digit timeout
    interdigit_s: float = 3.0
    terminator: str = "#"
    max_speech_s: float = 20.0


class Media(Protocol):
    sample_rate: int
    hung_up: bool

    async def start(self) -> None: ...
    async def play(self, pcm: bytes, *, barge_in: bool, text: str | None = None) -> PlayResult: ...
    async def listen(self, spec: ListenSpec) -> CallerInput: ...
    def drop_pending(self) -> None: ...
    async def close(self) -> None: ...


# --------------------------------------------------------------------------- AudioSocket


class _Clock:
    """Maps stream time (seconds of caller audio received) to the wall time it arrived."""

    def __init__(self, keep: int = 3000) -> None:
        self._ends: deque[float] = deque(maxlen=keep)
        self._walls: deque[float] = deque(maxlen=keep)
        self.total = 0.0

    def add(self, seconds: float, wall: float) -> None:
        self.total += seconds
        self._ends.append(self.total)
        self._walls.append(wall)

    def wall(self, stream_t: float) -> float:
        if not self._ends:
            return time.monotonic()
        i = bisect.bisect_left(self._ends, stream_t - 1e-9)
        if i >= len(self._walls):
            return self._walls[-1]
        return self._walls[i]


class AudioSocketMedia:
    """Media over an AudioSocket ``CallChannel`` with continuous VAD and barge-in."""

    def __init__(
        self,
        channel: Any,
        endpointer_factory: Callable[[int], Any],
        *,
        preroll_s: float = 0.3,
        on_event: Callable[[str, dict], None] | None = None,
    ) -> None:
        self.channel = channel
        self.sample_rate = int(getattr(channel, "sample_rate", 8000) or 8000)
        self._ep = endpointer_factory(self.sample_rate)
        self._clock = _Clock()
        self._preroll: deque[tuple[float, bytes]] = deque()  # (stream start time, chunk)
        self._preroll_s = preroll_s
        self._utt: list[bytes] | None = None
        self._utt_onset = 0.0
        self._utt_over_prompt = False
        self._utterances: deque[Utterance] = deque()
        self._digits: deque[tuple[str, float]] = deque()
        self._wake = asyncio.Event()  # something arrived (speech start/end, key, hang-up)
        self._mode = "idle"  # idle | prompt | prompt_barge | listen
        self._play_info: PlayResult | None = None
        self._tasks: list[asyncio.Task] = []
        self._on_event = on_event
        self._stream: Any = None
        #: () -> RecognitionStream | None, for what the dialog expects next; set by the session
        self.stream_factory: Callable[[], Any] | None = None
        self.hung_up = False
        self.speaking = False
        self.frames_in = 0
        self.frames_filled = 0
        self._last_frame_at = time.monotonic()

    # -- lifecycle
    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._read_frames(), name="media-frames"),
            asyncio.create_task(self._read_dtmf(), name="media-dtmf"),
            asyncio.create_task(self._fill_gaps(), name="media-gaps"),
        ]

    def drop_pending_speech(self) -> None:
        for u in self._utterances:
            _close_stream(u.stream)
        self._utterances.clear()

    async def close(self) -> None:
        if self._stream is not None:
            _close_stream(self._stream)
            self._stream = None
        self.drop_pending_speech()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        with contextlib.suppress(Exception):
            await self.channel.close()

    def _emit(self, kind: str, /, **data: Any) -> None:
        if self._on_event is not None:
            try:
                self._on_event(kind, data)
            except Exception:  # a listener never breaks the call
                log.exception("media event listener failed")

    def _set_hangup(self) -> None:
        if not self.hung_up:
            self.hung_up = True
            self._wake.set()
            with contextlib.suppress(Exception):
                self.channel.stop_playback()

    # -- readers
    async def _read_frames(self) -> None:
        try:
            async for pcm in self.channel.frames():
                self._on_frame(pcm, time.monotonic())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # ChannelClosed or a broken socket: the caller is gone
            log.debug("frame reader ended: %s", exc)
        self._set_hangup()

    async def _fill_gaps(self, every: float = 0.1) -> None:
        """Treat a pause in caller frames as silence.

        Phones and trunks that suppress silence (and Local channels) send no frames while the
        caller is quiet; Asterisk forwards nothing then. Without frames the endpointer would
        never see the end of an utterance, so time without frames is fed to it as silence."""
        frame = self.sample_rate * 2 // 50
        while not self.hung_up:
            await asyncio.sleep(every)
            now = time.monotonic()
            gap = now - self._last_frame_at
            if gap >= every:
                n = int(gap / 0.02)
                for _ in range(n):
                    self._on_frame(bytes(frame), now, filled=True)
                self.frames_filled += n
                self._last_frame_at += n * 0.02

    async def _read_dtmf(self) -> None:
        try:
            async for digit in self.channel.dtmf():
                self._on_digit(digit, time.monotonic())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.debug("dtmf reader ended: %s", exc)

    def _on_frame(self, pcm: bytes, now: float, filled: bool = False) -> None:
        if not pcm:
            return
        if not filled:
            self.frames_in += 1
            self._last_frame_at = max(self._last_frame_at, now)
        start = self._clock.total
        self._clock.add(len(pcm) / 2 / self.sample_rate, now)
        if self._utt is not None:
            self._utt.append(pcm)
            self._feed(pcm)
        else:
            self._preroll.append((start, pcm))
            while self._preroll and self._preroll[0][0] < self._clock.total - self._preroll_s - 0.5:
                self._preroll.popleft()
        for mark in self._ep.feed_timed(pcm):
            name = mark.event.value if hasattr(mark.event, "value") else str(mark.event)
            if name == "speech_start":
                self._speech_start(mark.at, now)
            else:
                self._speech_end(mark.at, now, cut=(name == "max_length"))

    def _speech_start(self, onset_stream: float, now: float) -> None:
        self.speaking = True
        margin = onset_stream - 0.15
        self._utt = [c for (t, c) in self._preroll if t + len(c) / 2 / self.sample_rate > margin]
        self._preroll.clear()
        self._utt_onset = self._clock.wall(onset_stream)
        self._utt_over_prompt = self._mode == "prompt"
        self._open_stream()
        if self._mode == "prompt_barge" and self.channel.playing:
            self.channel.stop_playback()
            info = self._play_info
            if info is not None and info.barged is None:
                info.barged = "speech"
                info.barge_detected_at = now
                info.barge_onset_at = self._utt_onset
                info.stopped_at = time.monotonic()
            self._emit("barge_in", by="speech", onset=self._utt_onset, detected=now)
        self._emit("speech_start", onset=self._utt_onset, detected=now)
        self._wake.set()

    def _speech_end(self, end_stream: float, now: float, cut: bool) -> None:
        self.speaking = False
        if self._utt is None:
            return
        pcm = b"".join(self._utt)
        self._utt = None
        stream, self._stream = self._stream, None
        if self._utt_over_prompt and stream is not None:
            _close_stream(stream)
            stream = None
        utt = Utterance(
            stream=stream,
            pcm=pcm,
            sample_rate=self.sample_rate,
            onset_at=self._utt_onset,
            end_at=self._clock.wall(end_stream),
            detected_at=now,
            cut=cut,
            over_prompt=self._utt_over_prompt,
        )
        self._utterances.append(utt)
        self._emit("speech_end", end=utt.end_at, detected=now, seconds=utt.seconds)
        self._wake.set()

    def _open_stream(self) -> None:
        if self._stream is not None:
            _close_stream(self._stream)
            self._stream = None
        factory = self.stream_factory
        if factory is None or self._utt_over_prompt:
            return
        try:
            self._stream = factory()
            if self._stream is not None and self._utt:
                self._stream.accept(b"".join(self._utt))
        except Exception:
            log.exception("could not open a recognition stream; the utterance is decoded whole")
            self._stream = None

    def _feed(self, pcm: bytes) -> None:
        if self._stream is not None:
            try:
                self._stream.accept(pcm)
            except Exception:
                log.exception("recognition stream refused audio; decoding the utterance whole")
                _close_stream(self._stream)
                self._stream = None

    def _on_digit(self, digit: str, now: float) -> None:
        if not digit or digit not in DIGITS:
            return
        self._digits.append((digit, now))
        if self._mode == "prompt_barge" and self.channel.playing:
            self.channel.stop_playback()
            info = self._play_info
            if info is not None and info.barged is None:
                info.barged = "dtmf"
                info.barge_detected_at = now
                info.stopped_at = time.monotonic()
            self._emit("barge_in", by="dtmf", detected=now)
        self._emit("dtmf", digit=digit, at=now)
        self._wake.set()

    # -- output
    async def play(self, pcm: bytes, *, barge_in: bool, text: str | None = None) -> PlayResult:
        if self.hung_up:
            raise MediaHangup()
        now = time.monotonic()
        info = PlayResult(completed=False, started_at=now, ended_at=now)
        # a key pressed before this prompt (type-ahead) or an utterance already under way
        # interrupts a barge-in prompt before it starts
        if barge_in and (self._digits or self.speaking or self._pending_utterance()):
            info.barged = "dtmf" if self._digits else "speech"
            info.barge_detected_at = now
            info.stopped_at = now
            return info
        self._play_info = info
        self._mode = "prompt_barge" if barge_in else "prompt"
        try:
            info.started_at = time.monotonic()
            finished = await self.channel.play(pcm)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                self.channel.stop_playback()
            raise
        except Exception as exc:
            self._set_hangup()
            raise MediaHangup() from exc
        finally:
            self._mode = "idle"
            self._play_info = None
        info.ended_at = time.monotonic()
        info.completed = bool(finished) and info.barged is None and not self.hung_up
        if self.hung_up:
            raise MediaHangup()
        return info

    def _pending_utterance(self) -> bool:
        return any(not u.over_prompt for u in self._utterances)

    def drop_pending(self) -> None:
        """Forget queued input (used after a transfer decision or when a state resets)."""
        for u in self._utterances:
            _close_stream(u.stream)
        self._utterances.clear()
        self._digits.clear()

    # -- input
    async def listen(self, spec: ListenSpec) -> CallerInput:
        if self.hung_up:
            raise MediaHangup()
        self._mode = "listen"
        began = time.monotonic()
        deadline = began + spec.timeout_s
        try:
            while True:
                if self.hung_up:
                    raise MediaHangup()
                # drop speech that began over a prompt that did not allow barge-in
                while self._utterances and self._utterances[0].over_prompt:
                    _close_stream(self._utterances.popleft().stream)
                if self._digits:
                    return await self._collect_digits(spec, began)
                if self._utterances and spec.speech:
                    utt = self._utterances.popleft()
                    return CallerInput("speech", utterance=utt, waited_s=time.monotonic() - began)
                if self._utterances and not spec.speech:
                    self.drop_pending_speech()
                in_speech = self.speaking and self._utt is not None and not self._utt_over_prompt
                if in_speech and spec.speech:
                    limit = self._utt_onset + spec.max_speech_s + 2.0
                    timeout = max(0.05, limit - time.monotonic())
                else:
                    timeout = deadline - time.monotonic()
                    if timeout <= 0:
                        return CallerInput("noinput", waited_s=time.monotonic() - began)
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout)
                except asyncio.TimeoutError:
                    if in_speech and spec.speech and self._utt is not None:
                        # the endpointer never closed the utterance: close it here
                        now = time.monotonic()
                        self._speech_end(self._clock.total, now, cut=True)
                        self._ep.reset()
        finally:
            self._mode = "idle"

    async def _collect_digits(self, spec: ListenSpec, began: float) -> CallerInput:
        digits = ""
        last = time.monotonic()
        while True:
            while self._digits:
                d, at = self._digits.popleft()
                last = at
                if d == spec.terminator and digits:
                    return CallerInput("dtmf", digits=digits, last_key_at=last, waited_s=last - began)
                if d == spec.terminator and spec.max_digits != 1:
                    continue  # a lone terminator means nothing in a digit string
                digits += d
                if spec.max_digits is not None and len(digits) >= spec.max_digits:
                    return CallerInput("dtmf", digits=digits, last_key_at=last, waited_s=last - began)
            if self.hung_up:
                raise MediaHangup()
            remaining = last + spec.interdigit_s - time.monotonic()
            if remaining <= 0:
                return CallerInput("dtmf", digits=digits, last_key_at=last, waited_s=last - began)
            self._wake.clear()
            if self._digits:
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), remaining)


# --------------------------------------------------------------------------- AGI only


@dataclass
class AgiMedia:
    """AGI-only media: STREAM FILE, RECORD FILE, GET DATA / WAIT FOR DIGIT.

    ``sounds_dir`` is shared with Asterisk: prompts are written there as 8 kHz WAV files and
    named to STREAM FILE without the extension; recordings are written there by Asterisk.
    ``wav_for`` turns (text, pcm) into the path of a WAV Asterisk can play.
    """

    agi: Any
    sounds_dir: Path
    wav_for: Callable[[str | None, bytes], "asyncio.Future[Path] | Any"]
    endpointer_factory: Callable[[int], Any]
    call_id: str = "call"
    sample_rate: int = 8000
    silence_s: int = 2
    hung_up: bool = False
    _typeahead: str = ""
    _n: int = 0
    _hangup_exc: tuple[type[BaseException], ...] = field(default_factory=tuple)

    async def start(self) -> None:
        from telephony import AgiHangup  # ivr may import telephony

        self._hangup_exc = (AgiHangup,)
        self.sounds_dir.mkdir(parents=True, exist_ok=True)

    async def close(self) -> None:
        return None

    def drop_pending(self) -> None:
        self._typeahead = ""

    async def _guard(self, coro):
        try:
            return await coro
        except self._hangup_exc as exc:
            self.hung_up = True
            raise MediaHangup() from exc

    async def play(self, pcm: bytes, *, barge_in: bool, text: str | None = None) -> PlayResult:
        if self.hung_up:
            raise MediaHangup()
        path = await self.wav_for(text, pcm)
        now = time.monotonic()
        info = PlayResult(completed=False, started_at=now, ended_at=now)
        if barge_in and self._typeahead:
            info.barged = "dtmf"
            return info
        res = await self._guard(
            self.agi.stream_file(str(Path(path).with_suffix("")), escape_digits=DIGITS if barge_in else "")
        )
        info.ended_at = time.monotonic()
        code = _int(getattr(res, "result", 0))
        if code > 0:
            self._typeahead += chr(code)
            info.barged = "dtmf"
            info.barge_detected_at = info.stopped_at = info.ended_at
        elif code < 0:
            # -1: hang-up during playback (HANGUP follows) or a missing file
            if getattr(self.agi, "hung_up", False):
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
            code = _int(getattr(res, "result", 0))
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
                    str(base), fmt="wav", escape_digits=DIGITS,
                    timeout_ms=int((spec.timeout_s + spec.max_speech_s) * 1000),
                    silence_s=self.silence_s, beep=False,
                )
            )
        except BaseException:
            with contextlib.suppress(OSError):
                wav.unlink()
            raise
        ended = time.monotonic()
        data = str(getattr(res, "data", "") or "")
        code = _int(getattr(res, "result", 0))
        if ("dtmf" in data and code > 0) or code < 0 or "hangup" in data:
            with contextlib.suppress(OSError):
                wav.unlink()
        if "dtmf" in data and code > 0:
            return await self._more_digits(spec, chr(code), began)
        if code < 0 or "hangup" in data:
            self.hung_up = True
            raise MediaHangup()
        try:
            from asr.audio import read_wav, resample

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

    async def _more_digits(self, spec: ListenSpec, first: str, began: float) -> CallerInput:
        digits = "" if (first == spec.terminator and spec.max_digits != 1) else first
        last = time.monotonic()
        while spec.max_digits is None or len(digits) < spec.max_digits:
            if self._typeahead:
                d, self._typeahead = self._typeahead[0], self._typeahead[1:]
            else:
                res = await self._guard(self.agi.wait_for_digit(int(spec.interdigit_s * 1000)))
                code = _int(getattr(res, "result", 0))
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
        return CallerInput("dtmf", digits=digits, last_key_at=last, waited_s=last - began)


def _close_stream(stream: Any) -> None:
    if stream is None:
        return
    try:
        stream.close()
    except Exception:  # closing is best effort
        pass


def _int(v: Any) -> int:
    try:
        return int(str(v).strip())
    except (TypeError, ValueError):
        return 0


def _speech_bounds(pcm: bytes, rate: int, endpointer_factory: Callable[[int], Any]) -> tuple[float | None, float]:
    """(onset, end) of the speech in a recording, seconds from its start; onset None if none."""
    ep = endpointer_factory(rate)
    onset: float | None = None
    end = 0.0
    for mark in ep.feed_timed(pcm):
        name = mark.event.value if hasattr(mark.event, "value") else str(mark.event)
        if name == "speech_start" and onset is None:
            onset = mark.at
        elif name != "speech_start":
            end = mark.at
    if onset is not None and ep.speaking:
        end = len(pcm) / 2 / rate
    return onset, end
