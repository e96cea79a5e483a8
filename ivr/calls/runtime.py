"""Everything calls share, built once per process (by :func:`ivr.serve.build_runtime`): the
dialog script, the recognizer, the synthesizer and its prompt cache, the store's repositories
and the hand-off, plus the live calls and their observers.

``await runtime.prerender()`` renders every static prompt of the script into the prompt cache,
so cached prompts play within a millisecond; ``await runtime.warm_up()`` builds the
recognizer's per-expectation caches ahead of the first call.

Blocking work never runs on the event loop: recognition and synthesis run on their engines'
own pools, database work on the store's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from asr import Endpointer, Expectation, RecognitionStream, Recognizer, Transcript
from asr.endpointing import EndOfTurn
from dialogs import DialogEngine, Script
from dialogs.actions import Listen
from ivr.calls.journal import CallJournal
from ivr.calls.ports import CallListener, CallStore, ChannelOpener, HandoffPort, LiveCall, SpeakerPort, Understanding
from ivr.calls.speak import Speaker
from ivr.calls.turn_end import TurnTaking
from ivr.calls.understand import Understander, expectation_for, live_understander
from ivr.config.clock import Clock, system_clock
from ivr.config.settings import Settings
from ivr.privacy.fields import is_personal_field
from tts import PromptCache, Synthesizer

log = logging.getLogger(__name__)


@runtime_checkable
class WarmsUp(Protocol):
    """A recognizer that can build an expectation's caches ahead of time (Whisper's phrase
    scoring). TODO(R2 merge): a no-op ``warm_up`` on ``asr.Recognizer`` makes this go."""

    def warm_up(self, expect: Expectation | None = None) -> None: ...


@dataclass(frozen=True)
class ScriptRelease:
    """The script a call runs from start to end, with what is built from it: a call takes the
    runtime's current release when it starts, so a publish (:meth:`Runtime.install`) changes
    new calls only."""

    script: Script
    name: str
    version: str | None
    understander: Understanding
    #: the end-of-turn decision on this release's understander (None: turn taking is off)
    turn_taking: TurnTaking | None = None

    def new_engine(self) -> DialogEngine:
        return DialogEngine(self.script, personal_names=is_personal_field)


@dataclass
class Runtime:
    settings: Settings
    script: Script
    recognizer: Recognizer
    synthesizer: Synthesizer
    prompts: PromptCache
    store: CallStore
    handoff: HandoffPort
    script_name: str
    script_version: str | None = None
    #: the AudioSocket server (set by the controller once it listens); None in AGI-only use
    audiosocket: ChannelOpener | None = None
    sample_rate: int = 8000
    active_calls: set[LiveCall] = field(default_factory=set)
    call_listeners: list[CallListener] = field(default_factory=list)
    accepting: bool = True
    #: the live calls' journal (crash safety); None: calls are not journaled
    journal: CallJournal | None = None
    clock: Clock = system_clock
    #: synthesises dynamic prompts' fragments (a pool of processes in ``ivr serve``); None:
    #: the synthesizer itself
    dynamic_synthesizer: Synthesizer | None = None
    speaker: SpeakerPort = field(init=False)
    understander: Understanding = field(init=False)
    #: the end-of-turn decision of AudioSocket calls (None when settings.turn_taking is off)
    turn_taking: TurnTaking | None = field(init=False)

    def __post_init__(self) -> None:
        script_dir = self.script.path.parent if self.script.path is not None else None
        self.speaker = Speaker(self.prompts, self.synthesizer, sample_rate=self.sample_rate,
                               sounds_dir=self.settings.sounds_dir, script_dir=script_dir,
                               dynamic=self.dynamic_synthesizer)
        self.understander, self.turn_taking = self._understanding(self.script)

    def _understanding(self, script: Script) -> tuple[Understander, TurnTaking | None]:
        """What a release builds from its script: the live understander (calibrator, emergency
        detector) and, with ``settings.turn_taking``, the end-of-turn decision on it."""
        s = self.settings
        understander = live_understander(self.recognizer, script, emergency_audio=s.emergency_audio)
        if not s.turn_taking:
            return understander, None
        long_ms = max(s.turn_long_ms, s.turn_short_ms)
        decider = EndOfTurn(short_ms=s.turn_short_ms, normal_ms=min(s.turn_unsure_ms, long_ms), long_ms=long_ms,
                            free_ms=long_ms, prosody=s.turn_prosody)
        return understander, TurnTaking(understander, decider)

    # ------------------------------------------------------------------ the live script
    def release(self) -> ScriptRelease:
        """The script new calls run now (a call keeps the one it started with)."""
        return ScriptRelease(self.script, self.script_name, self.script_version, self.understander,
                             self.turn_taking)

    def install(self, script: Script, *, version: str | None, name: str | None = None) -> None:
        """Make ``script`` the one new calls run (no await inside: calls see the old release or
        the new one, never a mix). Prompts should be in the cache first (:meth:`prerender_script`)."""
        understander, taking = self._understanding(script)
        self.script, self.understander, self.turn_taking = script, understander, taking
        self.script_version = version
        if name is not None:
            self.script_name = name

    # ------------------------------------------------------------------ start-up
    async def prerender(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Render every static prompt of the script into the cache; returns how many."""
        return await self.prerender_script(self.script, progress)

    async def prerender_script(self, script: Script, progress: Callable[[int, int], None] | None = None) -> int:
        """Render every static prompt of ``script`` into the cache (those not there yet)."""
        texts = list(dict.fromkeys([*script.static_prompts(), self.settings.hold_prompt]))
        done = 0
        for text in texts:
            try:
                if self.prompts.get(text) is None:
                    await self.prompts.render(text)
            except Exception:
                log.exception("could not pre-render a prompt")
            done += 1
            if progress is not None:
                progress(done, len(texts))
        log.info("prompts pre-rendered", extra={"prompts": len(texts)})
        return len(texts)

    def listen_actions(self) -> list[Listen]:
        """Every Listen the script can emit (one per listening state, plus yes/no, plus the offer
        of a state's whole answer: its labels with yes/no, menu-sized, whose null scores took
        seconds at the first offer's answer when not warmed)."""
        script = self.script
        return [*(script.listen_action(sid) for sid in script.listening_states()),
                script.listen_action("yesno"), *(script.offer_listen(sid) for sid in script.offering_states())]

    async def warm_up(self) -> int:
        """Build the recognizer's per-expectation caches ahead of the first call."""
        rec = self.recognizer
        if not isinstance(rec, WarmsUp):
            return 0
        seen: set[tuple[object, ...]] = set()
        n = 0
        t0 = time.monotonic()
        for listen in self.listen_actions():
            try:
                exp = expectation_for(listen)
                key = exp.key()
                if key in seen:
                    continue
                seen.add(key)
                await asyncio.to_thread(rec.warm_up, exp)
                n += 1
            except Exception:
                log.exception("recognizer warm-up failed for a state")
        log.info("recognizer warmed up", extra={"expectations": n, "seconds": round(time.monotonic() - t0, 2)})
        return n

    # ------------------------------------------------------------------ services for sessions
    def endpointer(self, sample_rate: int) -> Endpointer:
        """The endpointer of AGI-only media (and of AudioSocket media without turn taking):
        ``vad_end_ms`` of silence ends an utterance."""
        s = self.settings
        return Endpointer(sample_rate=sample_rate, aggressiveness=s.vad_aggressiveness,
                          start_ms=s.vad_start_ms, end_ms=s.vad_end_ms,
                          max_ms=int(s.max_utterance_s * 1000))

    def turn_endpointer(self, sample_rate: int) -> Endpointer:
        """The endpointer of AudioSocket media: with turn taking its silence is the longest
        wait (the media ends a turn sooner when the end-of-turn decision says so)."""
        s = self.settings
        if not s.turn_taking:
            return self.endpointer(sample_rate)
        return Endpointer(sample_rate=sample_rate, aggressiveness=s.vad_aggressiveness,
                          start_ms=s.vad_start_ms, end_ms=max(s.turn_long_ms, s.turn_short_ms, s.vad_end_ms),
                          max_ms=int(s.max_utterance_s * 1000))

    def new_engine(self) -> DialogEngine:
        return DialogEngine(self.script, personal_names=is_personal_field)

    def open_stream(self, listen: Listen, sample_rate: int,
                    enough: Callable[[Transcript], bool] | None = None) -> RecognitionStream:
        """A recognition stream for what ``listen`` expects (fed while the caller speaks);
        ``enough``: when a first pass is final (``Understander.decisive``)."""
        stream = self.recognizer.open_stream(sample_rate, expectation_for(listen))
        if enough is not None:
            stream.enough = enough
        return stream

    async def aclose(self) -> None:
        """Close what the runtime owns (the hand-off's AMI connection); the store, the
        recognizer and the synthesizer belong to whoever built them."""
        await self.handoff.close()

