"""AudioSocket media: caller audio frames and DTMF arrive continuously on a ``CallChannel``.

One reader task feeds every frame to an ``asr.Endpointer`` (VAD) and keeps a short pre-roll, so
an utterance is captured from its onset even when the endpointer confirms it ``start_ms`` later.
Barge-in is decided *in the reader task*: when the endpointer reports speech start while a
barge-in prompt plays, ``stop_playback()`` is called at once (effective within one 20 ms
frame). DTMF is taken at any moment: during a prompt that allows barge-in it stops the prompt;
otherwise it is kept (type-ahead) for the next listen.

End of turn: with a ``turn_policy`` (set by the session with the stream factory) the reader
task reads the recognition stream's speculative result inside the hangover and ends the
utterance as soon as the trailing silence reaches the wait the policy decides (short for a
complete answer, long for one that looks cut); the endpointer's own ``end_ms`` is then the
longest wait. Without a policy (or a stream), ``hangover_ms`` (when given) ends it.

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
from dataclasses import replace

from asr import Endpointer, RecognitionStream, VadEvent
from asr.endpointing import TurnDecision
from ivr.calls.hangups import MediaHangup
from ivr.calls.ports import KEYPAD, CallerInput, ListenSpec, PlayResult, StreamFactory, TurnPolicy, Utterance
from telephony import CallChannel

log = logging.getLogger(__name__)

#: the key that skips the prompt playing (a long answer) to the next one
SKIP_KEY = "#"

#: event-loop passes a gap in caller frames waits before it is filled with silence: enough for
#: frames already in the socket (or just sent by a peer in the same loop) to reach the reader
SETTLE_PASSES = 4

#: seconds without caller frames before the gap is taken for silence and filled. Frames late by
#: less arrive before any silence was made up for them, so they join the caller's words as
#: sent; frames later than this follow the filled silence (AudioSocket frames carry no
#: timestamp, and filled silence is consumed at once by the endpointer and the recognition
#: stream: docs/decisions.md, "Helper tidy"). The cost: a phone that suppresses silence has its
#: pauses counted this much later (turn ends and no-input come later by up to this).
FILL_AFTER_S = 0.2

#: seconds of caller audio kept after an utterance ends (the pause a second look puts between
#: two halves of one turn; far longer than any grace)
SINCE_END_S = 5.0

#: ``listener(kind, data)`` for what the media notices (speech start/end, keys, barge-in)
MediaListener = Callable[[str, dict[str, object]], None]


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

    #: the caller is heard all the time: speech resumed after a turn's end can join it
    joins: bool = True

    def __init__(
        self,
        channel: CallChannel,
        endpointer_factory: Callable[[int], Endpointer],
        *,
        preroll_s: float = 0.3,
        on_event: MediaListener | None = None,
        hangover_ms: int | None = None,
        fill_after_s: float = FILL_AFTER_S,
    ) -> None:
        self.channel = channel
        self.sample_rate = channel.sample_rate
        self._ep = endpointer_factory(self.sample_rate)
        self._clock = _Clock()
        self._preroll: deque[tuple[float, bytes]] = deque()  # (stream start time, chunk)
        self._preroll_s = preroll_s
        self._utt: list[bytes] | None = None
        self._utt_onset = 0.0
        self._utt_over_prompt = False
        self._utt_lead = b""  # audio between the previous utterance's end and this one's first chunk
        self._since_end: deque[bytes] = deque()  # caller audio since the last utterance ended
        self._since_end_bytes = 0
        self._utterances: deque[Utterance] = deque()
        self._digits: deque[tuple[str, float]] = deque()
        #: (terminator, until): a digit string was complete at its last digit; the terminator
        #: the caller presses after it within the inter-digit window is theirs, not an answer
        #: to (or an interruption of) what comes next
        self._absorb: tuple[str, float] | None = None
        self._wake = asyncio.Event()  # something arrived (speech start/end, key, hang-up)
        self._mode = "idle"  # idle | prompt | prompt_barge | listen
        self._play_info: PlayResult | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._on_event = on_event
        self._stream: RecognitionStream | None = None
        #: opens a recognition stream for what the dialog expects next; set by the session
        self.stream_factory: StreamFactory | None = None
        #: decides from the stream's early result when the turn is over; set by the session
        self.turn_policy: TurnPolicy | None = None
        self._hangover_ms = hangover_ms  # fixed hangover of turns without a decision
        self._decision: tuple[float, TurnDecision] | None = None  # (early result's audio s, decision)
        self._early_at: float | None = None  # when the decision first read an early result
        self.hung_up = False
        self.speaking = False
        self.frames_in = 0
        self.frames_filled = 0
        self._last_frame_at = time.monotonic()
        self._fill_after_s = fill_after_s
        self._filling = False  # a gap is being filled (no real frame since it was taken for silence)

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

    def _emit(self, kind: str, /, **data: object) -> None:
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

    async def _fill_gaps(self, every: float = 0.05) -> None:
        """Treat a pause in caller frames as silence.

        Phones and trunks that suppress silence (and Local channels) send no frames while the
        caller is quiet; Asterisk forwards nothing then. Without frames the endpointer would
        never see the end of an utterance, so time without frames is fed to it as silence:
        once ``fill_after_s`` has passed without a frame (frames late by less come first), then
        every ``every`` seconds until a frame arrives."""
        frame = self.sample_rate * 2 // 50
        while not self.hung_up:
            await asyncio.sleep(every)
            wait = every if self._filling else self._fill_after_s
            if time.monotonic() - self._last_frame_at < wait:
                continue
            # The gap may be this process's own lateness: the loop stalled while the frames
            # sat in the socket (or a sender in this loop, the test peer, was held up too).
            # Let what has arrived reach the reader first, or late frames would come after
            # made-up silence and the recognizer would get the caller's words pulled apart.
            for _ in range(SETTLE_PASSES):
                await asyncio.sleep(0)
            now = time.monotonic()
            gap = now - self._last_frame_at
            if gap >= (every if self._filling else self._fill_after_s):
                self._filling = True
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
            self._filling = False
            self._last_frame_at = max(self._last_frame_at, now)
        start = self._clock.total
        self._clock.add(len(pcm) / 2 / self.sample_rate, now)
        if self._utt is not None:
            self._utt.append(pcm)
            self._feed(pcm)
        else:
            self._preroll.append((start, pcm))
            self._since_end.append(pcm)
            self._since_end_bytes += len(pcm)
            while self._since_end_bytes > SINCE_END_S * self.sample_rate * 2:
                self._since_end_bytes -= len(self._since_end.popleft())
            while self._preroll and self._preroll[0][0] < self._clock.total - self._preroll_s - 0.5:
                self._preroll.popleft()
        for mark in self._ep.feed_timed(pcm):
            if mark.event is VadEvent.SPEECH_START:
                self._speech_start(mark.at, now)
            else:
                self._speech_end(mark.at, now, cut=mark.event is VadEvent.MAX_LENGTH)
        if self._utt is not None and self._ep.silence_ms:
            self._check_turn(now)

    def _check_turn(self, now: float) -> None:
        """Inside the hangover: end the utterance when the trailing silence reaches what the
        end-of-turn decision (or the fixed hangover) asks for."""
        wait, reason = self._turn_wait()
        if wait is None or self._ep.silence_ms < wait:
            return
        mark = self._ep.end_now()
        if mark is not None:
            self._speech_end(mark.at, now, cut=False, turn=reason)

    def _turn_wait(self) -> tuple[int | None, str]:
        policy, stream = self.turn_policy, self._stream
        if policy is None or stream is None or self._utt_over_prompt:
            return self._hangover_ms, "fixed"
        early = stream.early()
        if early is None:
            return None, ""  # not decoded yet: the decision needs it (end_ms bounds the wait)
        cached = self._decision
        if cached is None or cached[0] != early.audio_seconds:
            try:
                # the audio the early result was decoded from: the stream got the utterance
                # from its first chunk on
                audio = b"".join(self._utt or ())[: int(early.audio_seconds * self.sample_rate) * 2]
                cached = (early.audio_seconds, policy(early, audio, self.sample_rate))
            except Exception:
                log.exception("end-of-turn decision failed; the fixed hangover applies")
                return self._hangover_ms, "fixed"
            self._decision = cached
            self._early_at = time.monotonic()
        return cached[1].wait_ms, cached[1].reason

    def _speech_start(self, onset_stream: float, now: float) -> None:
        self.speaking = True
        self._decision = None
        self._early_at = None
        margin = onset_stream - 0.15
        self._utt = [c for (t, c) in self._preroll if t + len(c) / 2 / self.sample_rate > margin]
        self._preroll.clear()
        # the pre-roll taken is the end of what came since the last utterance: the rest is the pause
        since = b"".join(self._since_end)
        self._utt_lead = since[: max(0, len(since) - sum(len(c) for c in self._utt))]
        self._since_end.clear()
        self._since_end_bytes = 0
        self._utt_onset = self._clock.wall(onset_stream)
        self._utt_over_prompt = self._mode == "prompt"
        self._open_stream()
        self._barge("speech", now, onset=self._utt_onset)
        self._emit("speech_start", onset=self._utt_onset, detected=now)
        self._wake.set()

    def _speech_end(self, end_stream: float, now: float, cut: bool, turn: str = "vad") -> None:
        self.speaking = False
        self._decision = None
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
            turn="max" if cut else turn,
            early_at=self._early_at,
            lead=self._utt_lead,
        )
        self._early_at = None
        self._utt_lead = b""
        self._since_end.clear()
        self._since_end_bytes = 0
        self._utterances.append(utt)
        self._emit("speech_end", end=utt.end_at, detected=now, seconds=utt.seconds, turn=utt.turn)
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
        if not digit or digit not in KEYPAD:
            return
        absorb, self._absorb = self._absorb, None
        if absorb is not None and digit == absorb[0] and now <= absorb[1]:
            self._emit("dtmf", digit=digit, at=now, absorbed=True)
            return
        if digit == SKIP_KEY and self._barge("skip", now):
            # '#' over a prompt skips it (the next one plays); it is no answer to anything
            return
        self._digits.append((digit, now))
        self._barge("dtmf", now)
        self._emit("dtmf", digit=digit, at=now)
        self._wake.set()

    def _barge(self, by: str, now: float, onset: float | None = None) -> bool:
        """Stop a barge-in prompt playing, ``by`` speech (its ``onset``), the skip key or a
        key; the prompt's result records the first of them. False when none was playing."""
        if self._mode != "prompt_barge" or not self.channel.playing:
            return False
        self.channel.stop_playback()
        info = self._play_info
        if info is not None and info.barged is None:
            info.barged = by
            info.barge_detected_at = now
            info.barge_onset_at = onset
            info.stopped_at = time.monotonic()
        if onset is None:
            self._emit("barge_in", by=by, detected=now)
        else:
            self._emit("barge_in", by=by, onset=onset, detected=now)
        return True

    # -- output
    async def play(self, pcm: bytes, *, barge_in: bool, text: str | None = None,
                   typeahead: bool = True) -> PlayResult:
        if self.hung_up:
            raise MediaHangup()
        now = time.monotonic()
        info = PlayResult(completed=False, started_at=now, ended_at=now)
        # a key pressed before this prompt (type-ahead, unless told to wait) or an utterance
        # already under way interrupts a barge-in prompt before it starts
        keys = bool(self._digits) and typeahead
        if barge_in and (keys or self.speaking or self._pending_utterance()):
            info.barged = "dtmf" if keys else "speech"
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

    # -- a second look: speech resumed just after the turn was decided joins it
    def resumed(self) -> float | None:
        # the oldest speech first: an utterance already queued came before the one under way
        for u in self._utterances:
            if not u.over_prompt:
                return u.onset_at
        if self._utt is not None and not self._utt_over_prompt:
            return self._utt_onset
        return None

    def join(self, first: Utterance) -> bool:
        head = first.pcm
        # the oldest speech first (as resumed())
        for i, u in enumerate(self._utterances):
            if u.over_prompt:
                continue
            # already ended: one utterance of both, decoded whole by a new stream
            pcm = head + u.lead + u.pcm
            _close_stream(u.stream)
            stream = None
            factory = self.stream_factory
            if factory is not None:
                try:
                    stream = factory()
                    if stream is not None:
                        stream.accept(pcm)
                except Exception:
                    log.exception("could not open a recognition stream; the joined utterance is decoded whole")
                    _close_stream(stream)
                    stream = None
            self._utterances[i] = replace(u, pcm=pcm, onset_at=first.onset_at, lead=first.lead, stream=stream)
            return True
        if self._utt is not None and not self._utt_over_prompt:
            # under way: the utterance now starts at ``first``'s onset; a new stream hears it all
            self._utt = [head, self._utt_lead, *self._utt]
            self._utt_onset = first.onset_at
            self._utt_lead = first.lead
            self._decision = None
            self._early_at = None
            self._open_stream()
            return True
        return False

    def keys_waiting(self) -> bool:
        return bool(self._digits)

    def unheard(self) -> Utterance | None:
        if self._utt is not None:
            # under way when the caller's audio stopped: it ends there
            self._speech_end(self._clock.total, time.monotonic(), cut=False, turn="hangup")
        while self._utterances:
            u = self._utterances.popleft()
            if not u.over_prompt:
                return u
            _close_stream(u.stream)
        return None

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
                if self._digits and spec.keys:
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
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the call's
                    # cancellation when a frame wakes it at that moment (decisions, phase 12 flake)
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
                except TimeoutError:
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
                    if spec.max_digits > 1:
                        self._absorb_terminator(spec.terminator, last + spec.interdigit_s)
                    return CallerInput("dtmf", digits=digits, last_key_at=last, waited_s=last - began)
            if self.hung_up:
                raise MediaHangup()
            remaining = last + spec.interdigit_s - time.monotonic()
            if remaining <= 0:
                return CallerInput("dtmf", digits=digits, last_key_at=last, waited_s=last - began)
            self._wake.clear()
            if self._digits:
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._wake.wait()


    def _absorb_terminator(self, key: str, until: float) -> None:
        """A full digit string: the terminator already queued after it, or arriving before
        ``until``, ends it (is consumed) instead of interrupting or answering what follows."""
        if self._digits and self._digits[0][0] == key and self._digits[0][1] <= until:
            self._digits.popleft()
        else:
            self._absorb = (key, until)


def _close_stream(stream: RecognitionStream | None) -> None:
    if stream is None:
        return
    try:
        stream.close()
    except Exception:  # closing is best effort
        log.debug("closing a recognition stream failed", exc_info=True)


