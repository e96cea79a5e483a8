"""Fixtures for whole-call tests: the real engines, shared per session, and a live hotline.

* ``engines`` (session): the bundled Whisper-base recognizer, espeak-ng, the default script and a
  prompt cache with every static prompt pre-rendered - loaded once for the whole run.
* ``hotline`` (per test): a fresh SQLite store, a :class:`ivr.calls.runtime.Runtime` on the shared
  engines, the FastAGI + AudioSocket controller on ephemeral ports and an Asterisk peer aimed
  at it, plus an event router for reactive simulated callers.
* ``caller_speech(text, voice=1)``: telephone-quality caller audio (espeak-ng voice, 300-3400 Hz,
  8 kHz, mu-law round trip), cached.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest


@dataclass
class Engines:
    recognizer: Any
    synthesizer: Any
    script: Any
    prompts: Any


@pytest.fixture(scope="session")
def engines(tmp_path_factory) -> Engines:
    from asr import create_recognizer
    from dialogs import default_script_path, load_script
    from tts import EspeakSynthesizer, PromptCache

    recognizer = create_recognizer("whisper")
    synthesizer = EspeakSynthesizer(voice="id", rate=165, pitch=50)
    script = load_script(default_script_path())
    prompts = PromptCache(tmp_path_factory.mktemp("prompts"), synthesizer)

    async def render() -> None:
        for text in script.static_prompts():
            await prompts.render(text)

    asyncio.run(render())
    yield Engines(recognizer, synthesizer, script, prompts)
    recognizer.close()


@functools.lru_cache(maxsize=256)
def _speech(text: str, voice: int) -> bytes:
    from tests.speechgen import VOICES, synthesize, telephone

    name, rate, pitch = VOICES[voice % len(VOICES)]
    samples, sr = synthesize(text, name, rate, pitch)
    return telephone(samples, sr, level_dbfs=-24.0, seed=voice)


@pytest.fixture(scope="session")
def caller_speech():
    """``caller_speech(text, voice=1) -> bytes``: 8 kHz 16-bit caller audio."""

    def make(text: str, voice: int = 1) -> bytes:
        return _speech(text, voice)

    return make


@dataclass
class Hotline:
    settings: Any
    runtime: Any
    controller: Any
    store: Any
    peer: Any
    router: Any
    events: list = field(default_factory=list)  # (monotonic time, session, kind, data)

    def by_kind(self, kind: str) -> list[dict]:
        return [d for (_, _, k, d) in self.events if k == kind]


async def make_hotline(engines: Engines, tmp_path: Path, ami: Any = None, store: Any = None,
                       **overrides: Any) -> Hotline:
    import time

    from ivr.calls.controller import Controller
    from ivr.calls.handoff import Handoff
    from ivr.calls.runtime import Runtime
    from ivr.config.settings import load_settings
    from ivr.simulation.simcaller import EventRouter
    from ivr.storage import Store
    from telephony.peer import AsteriskPeer

    opts = {"data_dir": tmp_path / "var", "office_hours": "always", "log_level": "WARNING"}
    opts.update(overrides)
    settings = load_settings(**opts)
    settings.ensure_dirs()
    if store is None:
        store = Store(f"sqlite:///{tmp_path / 'ivr.sqlite3'}", outbox_dir=settings.outbox_dir,
                      recordings_dir=settings.recordings_dir)
        await store.amigrate()
    handoff = Handoff(settings, store.handoffs, ami=ami)
    handoff.subscribe()
    rt = Runtime(settings=settings, script=engines.script, recognizer=engines.recognizer,
                 synthesizer=engines.synthesizer, prompts=engines.prompts, store=store, handoff=handoff,
                 script_name=engines.script.name, script_version="test")
    ctl = await Controller(rt, agi_port=0, audiosocket_port=0).start()
    peer = AsteriskPeer("127.0.0.1", ctl.agi_server.port, sounds_dir=settings.sounds_dir)
    router = EventRouter(rt)
    hl = Hotline(settings, rt, ctl, store, peer, router)
    rt.call_listeners.append(lambda s, kind, data: hl.events.append((time.monotonic(), s, kind, data)))
    return hl


#: settings under which the hotline ends no turn inside a caller's speech shorter than 5 s: every
#: end-of-turn wait, and the endpointer's own, is 5 s of silence (the longest the settings
#: allow). A test that needs the caller's speech to be still under way at some point (a hang-up
#: or a key in the middle of it) uses them, so a pause in the speech (espeak leaves up to 0.2 s)
#: or a gap the media fills with silence can never end the turn first, however fast or slow
#: the machine (the defaults end a confident turn after 0.25 s)
NO_TURN_END_INSIDE: dict[str, int] = {"turn_short_ms": 5000, "turn_unsure_ms": 5000, "turn_long_ms": 5000,
                                      "vad_end_ms": 5000}


async def close_hotline(hl: Hotline) -> None:
    hl.router.close()
    await hl.controller.close()
    await hl.runtime.aclose()
    await hl.store.close()


@pytest.fixture
async def hotline(engines, tmp_path):
    hl = await make_hotline(engines, tmp_path)
    try:
        yield hl
    finally:
        await close_hotline(hl)


# ------------------------------------------------------------------ heard-audio checks

RATE = 8000


def frames_found(heard: bytes, prompt: bytes, start_s: float = 0.0, end_s: float = 3.0,
                 frame_bytes: int = 320, exclude: bytes = b"") -> float:
    """Share of the prompt's non-silent 20 ms frames (as the controller sends them: slices of
    the prompt from its start) found byte for byte in what the caller heard. Frames that also
    occur in ``exclude`` (another prompt sharing its first words, rendered identically) are
    left out, so "this prompt was not played" is not fooled by the words they share."""
    first = int(start_s * 50)
    last = int(end_s * 50)
    frames = [prompt[i * frame_bytes:(i + 1) * frame_bytes] for i in range(first, last)]
    frames = [f for f in frames if len(f) == frame_bytes and np.abs(np.frombuffer(f, "<i2")).max() > 300
              and f not in exclude]
    if not frames:
        return 0.0
    return sum(1 for f in frames if f in heard) / len(frames)
