"""Speech endpointing on webrtcvad: speech start (for barge-in), speech end, maximum length.

A small hysteresis state machine over fixed VAD frames (10, 20 or 30 ms):

- QUIET -> SPEAKING when at least ``start_ratio`` of the frames in the last ``start_ms`` are
  voiced; the start time is the first voiced frame of that window (so the reported start is
  not delayed by the hangover).
- SPEAKING -> QUIET after ``end_ms`` of continuous non-speech; the end time is the end of the
  last voiced frame.
- ``max_ms`` of speech without an end gives MAX_LENGTH (the utterance is cut there).

Frames quieter than ``min_dbfs``, or less than ``gate_db`` above an adaptive noise floor,
count as non-speech whatever webrtcvad says (line hiss, which webrtcvad often calls speech).
webrtcvad keeps flagging speech for a few frames after it stops (its own smoothing), so the
reported end is refined to the last frame within ``tail_db`` of the utterance's median
voiced level.
Sans-IO: bytes in, events out; the caller decides what to do with them.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import webrtcvad

from .base import AudioFormatError


class VadEvent(enum.Enum):
    SPEECH_START = "speech_start"
    SPEECH_END = "speech_end"
    MAX_LENGTH = "max_length"


@dataclass(frozen=True)
class VadMark:
    event: VadEvent
    at: float  # stream time (s) the event refers to: speech onset, or end of the last voiced frame
    detected: float  # stream time (s) at which the endpointer could tell


class Endpointer:
    def __init__(
        self,
        sample_rate: int = 8000,
        aggressiveness: int = 2,
        start_ms: int = 120,
        end_ms: int = 500,
        max_ms: int = 15000,
        frame_ms: int = 20,
        start_ratio: float = 0.8,
        min_dbfs: float = -50.0,
        tail_db: float = 25.0,
        gate_db: float = 9.0,
    ) -> None:
        if sample_rate not in (8000, 16000, 32000, 48000):
            raise AudioFormatError(f"webrtcvad needs 8, 16, 32 or 48 kHz audio, not {sample_rate} Hz")
        if frame_ms not in (10, 20, 30):
            raise ValueError("frame_ms must be 10, 20 or 30")
        if not 0 <= aggressiveness <= 3:
            raise ValueError("aggressiveness must be 0..3")
        if start_ms < frame_ms or end_ms < frame_ms or max_ms <= start_ms:
            raise ValueError("need frame_ms <= start_ms, frame_ms <= end_ms and start_ms < max_ms")
        self.sample_rate = sample_rate
        self.frame_ms = frame_ms
        self._vad = webrtcvad.Vad(aggressiveness)
        self._frame_bytes = sample_rate * frame_ms // 1000 * 2
        self._start_frames = max(1, start_ms // frame_ms)
        self._end_frames = max(1, end_ms // frame_ms)
        self._max_frames = max(1, max_ms // frame_ms)
        self._need = max(1, math.ceil(start_ratio * self._start_frames))
        self._min_rms = 32768.0 * 10 ** (min_dbfs / 20)
        self._tail = 10 ** (-tail_db / 20)
        self._gate = 10 ** (gate_db / 20)
        self._floor: float | None = None  # adaptive line-noise level
        self.reset()

    def reset(self) -> None:
        """Back to QUIET, stream time kept."""
        self._buf = b""
        self._window: deque[bool] = deque(maxlen=self._start_frames)
        self._speaking = False
        self._silence_run = 0
        self._speech_frames = 0
        self._last_voiced_end = 0.0
        self._levels: deque[tuple[float, float, bool]] = deque(maxlen=self._max_frames + self._start_frames)
        if not hasattr(self, "_frames_seen"):
            self._frames_seen = 0
        self.speech_start: float | None = None
        self.speech_end: float | None = None

    @property
    def speaking(self) -> bool:
        return self._speaking

    @property
    def time(self) -> float:
        """Stream time (s) of the audio consumed so far."""
        return self._frames_seen * self.frame_ms / 1000

    @property
    def silence_ms(self) -> int:
        """While speaking: the trailing silence heard so far (0 otherwise)."""
        return self._silence_run * self.frame_ms if self._speaking else 0

    def end_now(self) -> VadMark | None:
        """End the utterance here (the caller decided the turn is over before ``end_ms``):
        the SPEECH_END mark, refined as usual; None when not speaking."""
        if not self._speaking:
            return None
        return self._end(VadEvent.SPEECH_END, self.time)

    def is_speech(self, frame: bytes) -> bool:
        return self._classify(frame)[0]

    def _classify(self, frame: bytes) -> tuple[bool, float]:
        samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
        # a dot product: np.mean's generic reduction cost ~10 us a frame, this ~2 (it runs on
        # every frame of every call, for barge-in)
        rms = math.sqrt(float(np.dot(samples, samples)) / max(1, samples.size))
        # noise floor: follows quiet frames down at once, creeps up ~3 dB/s otherwise
        if self._floor is None or rms < self._floor:
            self._floor = max(rms, 1.0)
        else:
            self._floor *= 1.0 + 0.35 * self.frame_ms / 1000
        if rms < self._min_rms or rms < self._floor * self._gate:
            return False, rms
        return self._vad.is_speech(frame, self.sample_rate), rms

    def feed(self, pcm: bytes) -> list[VadEvent]:
        """Feed 16-bit PCM of any length; returns the events it completes."""
        return [m.event for m in self.feed_timed(pcm)]

    def feed_timed(self, pcm: bytes) -> list[VadMark]:
        if len(pcm) % 2:
            raise AudioFormatError("16-bit PCM must have an even byte count")
        self._buf += pcm
        marks: list[VadMark] = []
        fb = self._frame_bytes
        while len(self._buf) >= fb:
            frame, self._buf = self._buf[:fb], self._buf[fb:]
            voiced, rms = self._classify(frame)
            self._levels.append((self._frames_seen * self.frame_ms / 1000, rms, voiced))
            marks.extend(self._step(voiced))
        return marks

    def _step(self, voiced: bool) -> list[VadMark]:
        f = self.frame_ms / 1000
        t0 = self._frames_seen * f  # start time of this frame
        self._frames_seen += 1
        now = self._frames_seen * f
        if not self._speaking:
            self._window.append(voiced)
            if sum(self._window) >= self._need:
                first = next(i for i, v in enumerate(self._window) if v)
                onset = self._refined_start(now - (len(self._window) - first) * f)
                self._speaking = True
                self._silence_run = 0
                self._speech_frames = len(self._window) - first
                self._last_voiced_end = now
                self.speech_start, self.speech_end = onset, None
                self._window.clear()
                return [VadMark(VadEvent.SPEECH_START, onset, now)]
            return []
        self._speech_frames += 1
        if voiced:
            self._silence_run = 0
            self._last_voiced_end = t0 + f
        else:
            self._silence_run += 1
        if self._silence_run >= self._end_frames:
            return [self._end(VadEvent.SPEECH_END, now)]
        if self._speech_frames >= self._max_frames:
            return [self._end(VadEvent.MAX_LENGTH, now)]
        return []

    def _refined_start(self, onset: float, max_back: float = 0.2) -> float:
        """Move the onset back over the quiet attack webrtcvad does not call speech yet."""
        gate = max(self._min_rms, (self._floor or 0.0) * self._gate)
        for t0, rms, _ in reversed(self._levels):
            if t0 >= onset - 1e-9:
                continue
            if rms < gate or onset - t0 > max_back + 1e-9:
                break
            onset = t0
        return onset

    def _refined_end(self) -> float:
        f = self.frame_ms / 1000
        frames = [x for x in self._levels if x[0] >= (self.speech_start or 0.0) - 1e-9 and x[0] < self._last_voiced_end]
        voiced = [rms for _, rms, v in frames if v]
        if not voiced:
            return self._last_voiced_end
        floor = max(self._min_rms, float(np.median(voiced)) * self._tail, (self._floor or 0.0) * self._gate)
        for t0, rms, _ in reversed(frames):
            if rms >= floor:
                return t0 + f
        return self._last_voiced_end

    def _end(self, event: VadEvent, now: float) -> VadMark:
        end = self._refined_end() if event is VadEvent.SPEECH_END else now
        self._speaking = False
        self._silence_run = 0
        self._speech_frames = 0
        self.speech_end = end
        self._window.clear()
        return VadMark(event, end, now)
