"""The synthesizer interface and the audio value it returns."""

from __future__ import annotations

import asyncio
import concurrent.futures
from abc import ABC, abstractmethod
from dataclasses import dataclass


class SynthesisError(RuntimeError):
    """A synthesizer could not turn the text into audio (bad input, engine failure)."""


@dataclass(frozen=True)
class Audio:
    """16-bit signed little-endian mono PCM with its sample rate."""

    pcm: bytes
    sample_rate: int

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")
        if len(self.pcm) % 2:
            raise ValueError("16-bit PCM must have an even number of bytes")

    @property
    def samples(self) -> int:
        return len(self.pcm) // 2

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples / self.sample_rate


class Synthesizer(ABC):
    """Turns written Indonesian into speech.

    Subclasses implement `synthesize_sync`; `synthesize` runs it on the engine's own worker
    (`_executor`) so the event loop never blocks. Both call `prepare_text` themselves, so
    callers pass text as written ("NIK 3201...", "Rp 50.000").
    """

    name: str
    voice: str

    @abstractmethod
    def synthesize_sync(self, text: str) -> Audio:
        """Synthesise in the calling thread (blocking)."""

    @property
    @abstractmethod
    def _executor(self) -> concurrent.futures.Executor:
        """The worker that runs `synthesize_sync` for `synthesize`."""

    async def synthesize(self, text: str) -> Audio:
        """Synthesise on the engine's worker; never blocks the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.synthesize_sync, text)

    def settings_key(self) -> str:
        """Every setting that changes the audio, as a stable string (part of cache keys)."""
        return f"{self.name}:{self.voice}"


def check_text(text: object) -> str:
    """Validate synthesizer input: a non-empty string after stripping."""
    if not isinstance(text, str):
        raise SynthesisError(f"text must be a str, got {type(text).__name__}")
    if not text.strip():
        raise SynthesisError("text is empty")
    return text
