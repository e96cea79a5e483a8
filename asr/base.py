"""The recognizer interface shared by every ASR backend.

Audio is 16-bit signed little-endian mono PCM ``bytes`` at the stream's sample rate.
``RecognitionStream.accept`` is cheap and never blocks for long; the heavy work runs on the
recognizer's worker pool, and ``finish`` awaits it without blocking the event loop.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from pcm import PcmError

EXPECTATION_KINDS = ("intent", "yesno", "digits", "free")

#: Which result of a recognition a transcript is. A backend that scores in stages hands
#: ``RecognitionStream.enough`` its ``"first"`` pass's result (first stage and transcript), then
#: the ``"second"`` stage's (before the extra hearings); a result returned there keeps its
#: stage. Every other result (the whole scoring, unstaged backends) is ``"whole"``.
Stage = Literal["first", "second", "whole"]


class AsrError(Exception):
    """Base class of every error raised by the asr package."""


class ModelNotFoundError(AsrError):
    """The speech model is not installed or not where the settings say."""


class ModelCorruptError(AsrError):
    """The speech model files exist but are damaged or incomplete."""


class AudioFormatError(AsrError, PcmError):
    """Audio that cannot be used (wrong sample rate, odd byte count, unreadable file)."""


@dataclass(frozen=True)
class Word:
    text: str
    start: float = 0.0  # seconds from the start of the stream
    end: float = 0.0
    confidence: float = 1.0


@dataclass(frozen=True)
class Expectation:
    """What the dialog expects now; built by ivr from the dialog's Listen action."""

    phrases: Mapping[str, Sequence[str]]  # label (an intent id, "yes", "no") -> example phrases
    kind: str = "intent"  # "intent" | "yesno" | "digits" | "free"

    def __post_init__(self) -> None:
        if self.kind not in EXPECTATION_KINDS:
            raise ValueError(f"unknown expectation kind {self.kind!r}; use one of {EXPECTATION_KINDS}")
        frozen = {str(k): tuple(str(p) for p in v) for k, v in dict(self.phrases).items()}
        object.__setattr__(self, "phrases", MappingProxyType(frozen))

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.phrases)

    def all_phrases(self) -> list[tuple[str, str]]:
        """(label, phrase) pairs, without empty phrases."""
        return [(label, p) for label, ps in self.phrases.items() for p in ps if p.strip()]

    def key(self) -> tuple:
        """Hashable identity, used to cache per-expectation work (grammars, null scores)."""
        return (self.kind, tuple((k, tuple(v)) for k, v in self.phrases.items()))


@dataclass(frozen=True)
class EmergencyAudio:
    """Two readings of an utterance's audio (``asr.audio_emergency``): ``head``, a binary
    "asking for help now" probability; ``intent``, the emergency label's posterior under the
    audio intent classifier."""

    head: float
    intent: float


@dataclass(frozen=True)
class Transcript:
    text: str
    confidence: float  # 0..1, honest enough to gate confirmation
    words: tuple[Word, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)  # label -> posterior 0..1
    audio_seconds: float = 0.0
    decode_seconds: float = 0.0
    #: where the time went (diagnostics, never read by decisions): per stage milliseconds
    #: (``encode_ms``, ``score1_ms``...) and, from a stream, monotonic instants (``*_at``)
    timings: Mapping[str, float] = field(default_factory=dict)
    stage: Stage = "whole"
    #: what the audio itself says of an emergency (``asr.audio_emergency``), where the
    #: expectation offers its label; None elsewhere
    emergency_audio: EmergencyAudio | None = None

    @property
    def best_label(self) -> str | None:
        """The label with the highest posterior, or None without constrained scores."""
        if not self.scores:
            return None
        return max(self.scores, key=self.scores.__getitem__)


class RecognitionStream(ABC):
    #: set by the caller before audio comes: whether a first, cheaper result is decisive
    #: enough to be the final one. Backends that score in stages (Whisper, large expectations)
    #: ask it after the first stage and then skip the rest; others ignore it. Whisper asks it
    #: again with the second stage's result (``Transcript.stage`` tells which) before the extra
    #: hearings, which a yes skips.
    enough: Callable[[Transcript], bool] | None = None

    @abstractmethod
    def accept(self, pcm: bytes) -> None:
        """Feed caller audio (16-bit PCM at the stream's rate). Cheap; never blocks long."""

    @abstractmethod
    def partial(self) -> str:
        """The best text so far (may lag behind the audio)."""

    @abstractmethod
    async def finish(self) -> Transcript:
        """End of the utterance: the final transcript. Never blocks the event loop."""

    def early(self) -> Transcript | None:
        """The speculative result for the audio so far, if the backend decodes inside the
        hangover and that result is ready and still stands; None otherwise (the default)."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Drop the stream without a result (caller hung up, barge-in cancelled)."""


class Recognizer(ABC):
    name: str = "asr"

    @abstractmethod
    def open_stream(self, sample_rate: int, expect: Expectation | None = None) -> RecognitionStream:
        """A new streaming session for one utterance."""

    async def recognize(self, pcm: bytes, sample_rate: int, expect: Expectation | None = None) -> Transcript:
        """Convenience: whole utterance in, transcript out."""
        stream = self.open_stream(sample_rate, expect)
        stream.accept(pcm)
        return await stream.finish()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release models and worker threads."""


def default_workers() -> int:
    """Worker threads for decoding: one per core."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
