"""Caller scripts for the simulated Asterisk: what the caller says, presses and when.

A script is a list of steps run in order while the call is up. The caller sends a frame every
20 ms all the time (speech or silence), like a phone does; steps only decide what is in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable, Union

if TYPE_CHECKING:  # pragma: no cover
    from .call import PeerCall


@dataclass(frozen=True)
class SayPcm:
    """Speak 16-bit mono PCM at ``rate`` (resampled to 8 kHz)."""

    pcm: bytes = field(repr=False)
    rate: int = 8000


@dataclass(frozen=True)
class SayWav:
    """Speak a WAV file (16-bit mono, any rate)."""

    path: str | Path


@dataclass(frozen=True)
class Silence:
    """Stay silent for ``seconds`` (silence frames keep flowing)."""

    seconds: float


@dataclass(frozen=True)
class Dtmf:
    """Press keys; each digit lasts ``digit_ms`` with ``gap_ms`` after it (SendDTMF defaults)."""

    digits: str
    digit_ms: int = 100
    gap_ms: int = 250


@dataclass(frozen=True)
class Hangup:
    """The caller hangs up."""


@dataclass(frozen=True)
class WaitForPrompt:
    """Stay silent until the controller starts playing audio (or ``timeout`` passes)."""

    timeout: float = 30.0


@dataclass(frozen=True)
class WaitForSilence:
    """Stay silent until the controller has played nothing for ``min_seconds``.

    With ``require_audio`` (default) the wait first needs some audio from the controller after
    the step started (or audio still playing when it started), so "wait for the prompt to end"
    does not fire before the prompt begins. ``min_seconds`` and ``timeout`` are real seconds
    even in a sped-up call, since the controller plays in real time. Digital silence
    (keep-alive frames) is not counted as the controller speaking.
    """

    min_seconds: float = 0.8
    timeout: float = 30.0
    require_audio: bool = True


@dataclass(frozen=True)
class WaitForCommand:
    """Stay silent until the controller sends an AGI command starting with ``prefix``."""

    prefix: str
    timeout: float = 30.0


@dataclass(frozen=True)
class Call:
    """Run ``fn(call)`` (sync or async) — an escape hatch for tests."""

    fn: Callable[["PeerCall"], Union[None, Awaitable[None]]]


Step = Union[SayPcm, SayWav, Silence, Dtmf, Hangup, WaitForPrompt, WaitForSilence, WaitForCommand, Call]
#: a caller script: the steps in order
CallerScript = list[Step]
