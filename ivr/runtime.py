"""Everything calls share, built once per process: models, prompt cache, store, hand-off.

``await Runtime.build(settings)`` loads the dialog script, the recognizer (Whisper-base by
default), the synthesizer (espeak-ng) and the prompt cache, opens the store and (optionally)
AMI for hand-offs. ``await runtime.prerender()`` renders every static prompt of the script
into the prompt cache, so cached prompts play within a millisecond.

Blocking work never runs on the event loop: ``runtime.db(fn, *args, **kw)`` runs a store call
on the DB executor; recognition and synthesis run on their engines' own pools.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ivr.clock import Clock, system_clock

log = logging.getLogger("ivr.runtime")


@dataclass
class HeardResult:
    text: str
    confidence: float
    intent: str | None = None
    slots: dict[str, Any] | None = None


@dataclass
class Runtime:
    settings: Any
    script: Any
    recognizer: Any
    synthesizer: Any
    prompts: Any
    store: Any
    audiosocket: Any = None
    handoff: Any = None
    script_name: str | None = None
    script_version: str | None = None
    sample_rate: int = 8000
    db_workers: int = 4
    active_calls: set = field(default_factory=set)
    call_listeners: list[Callable] = field(default_factory=list)
    accepting: bool = True
    speaker: Any = None
    clock: Clock = system_clock
    _db_pool: ThreadPoolExecutor | None = None
    _understander: Any = None

    def __post_init__(self) -> None:
        from ivr.speak import Speaker

        if self.speaker is None:
            script_dir = None
            path = getattr(self.script, "path", None) or getattr(self.script, "source", None)
            if path:
                with _suppress():
                    script_dir = Path(path).parent
            self.speaker = Speaker(self.prompts, self.synthesizer, sample_rate=self.sample_rate,
                                   sounds_dir=self.settings.sounds_dir, script_dir=script_dir)
        if self._db_pool is None:
            self._db_pool = ThreadPoolExecutor(max_workers=self.db_workers, thread_name_prefix="ivr-db")

    # ------------------------------------------------------------------ building
    @classmethod
    async def build(cls, settings: Any, *, recognizer: Any = None, synthesizer: Any = None,
                    store: Any = None, prompts: Any = None, script: Any = None,
                    audiosocket: Any = None, connect_ami: bool = True,
                    timings: dict[str, float] | None = None,
                    clock: Clock = system_clock) -> "Runtime":
        """Load what calls share: the script first (a mistake in it shows at once), then the
        recognizer (the longest part) in one thread while the synthesizer and the store are
        built in another. ``timings`` receives each part's seconds."""
        settings.ensure_dirs()
        script_path = settings.script_path()
        spent = timings if timings is not None else {}

        async def timed(name: str, fn: Callable, *args: Any) -> Any:
            t0 = time.monotonic()
            try:
                return await asyncio.to_thread(fn, *args)
            finally:
                spent[name + "_s"] = round(time.monotonic() - t0, 3)

        if script is None:
            from dialogs import load_script

            script = await timed("script", load_script, script_path)

        async def the_rest() -> tuple[Any, Any]:
            nonlocal synthesizer, store
            if synthesizer is None:
                synthesizer = await timed("synthesizer", build_synthesizer, settings)
            if store is None:
                store = await timed("store", build_store, settings, clock)
            return synthesizer, store

        if recognizer is None:
            rec_task = asyncio.ensure_future(timed("recognizer", build_recognizer, settings))
            try:
                synthesizer, store = await the_rest()
            except BaseException:
                rec_task.add_done_callback(_close_built)  # no runtime will own it
                raise
            recognizer = await rec_task
        else:
            synthesizer, store = await the_rest()
        if prompts is None:
            from tts import PromptCache

            prompts = PromptCache(settings.prompt_cache_dir, synthesizer)
        with _suppress():
            store.start_replayer()
        rt = cls(settings=settings, script=script, recognizer=recognizer, synthesizer=synthesizer,
                 prompts=prompts, store=store, audiosocket=audiosocket, clock=clock,
                 script_name=_script_name(script, script_path), script_version=_script_version(script, script_path))
        from ivr.handoff import Handoff

        t0 = time.monotonic()
        if connect_ami:
            rt.handoff = await Handoff.create(settings, store, clock=clock)
        else:
            rt.handoff = Handoff(settings, store, clock=clock)
        spent["handoff_s"] = round(time.monotonic() - t0, 3)
        return rt

    async def prerender(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Render every static prompt of the script into the cache; returns how many."""
        texts = list(dict.fromkeys(self.script.static_prompts()))
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

    def listen_actions(self) -> list[Any]:
        """Every Listen the script can emit (one per listening state, plus yes/no)."""
        out = []
        states = getattr(self.script, "states", {}) or {}
        for sid, st in states.items():
            if getattr(st, "listen", None) is not None:
                with _suppress():
                    out.append(self.script.listen_action(sid))
        with _suppress():
            out.append(self.script.listen_action("yesno"))
        return out

    async def warm_up(self) -> int:
        """Build the recognizer's per-expectation caches ahead of the first call."""
        warm = getattr(self.recognizer, "warm_up", None)
        if warm is None:
            return 0
        seen: set = set()
        n = 0
        t0 = time.monotonic()
        for listen in self.listen_actions():
            try:
                exp = self.expectation(listen)
                key = exp.key()
                if key in seen:
                    continue
                seen.add(key)
                await asyncio.to_thread(warm, exp)
                n += 1
            except Exception:
                log.exception("recognizer warm-up failed for a state")
        log.info("recognizer warmed up", extra={"expectations": n, "seconds": round(time.monotonic() - t0, 2)})
        return n

    # ------------------------------------------------------------------ services for sessions
    async def db(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run a blocking store call on the DB executor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db_pool, functools.partial(fn, *args, **kwargs))

    def endpointer(self, sample_rate: int) -> Any:
        from asr import Endpointer

        s = self.settings
        return Endpointer(sample_rate=sample_rate, aggressiveness=s.vad_aggressiveness,
                          start_ms=s.vad_start_ms, end_ms=s.vad_end_ms,
                          max_ms=int(s.max_utterance_s * 1000))

    def new_engine(self) -> Any:
        from dialogs import DialogEngine

        return DialogEngine(self.script)

    def open_stream(self, listen: Any, sample_rate: int) -> Any:
        """A recognition stream for what ``listen`` expects (fed while the caller speaks)."""
        return self.recognizer.open_stream(sample_rate, self.expectation(listen))

    @staticmethod
    def expectation(listen: Any) -> Any:
        from ivr.understand import expectation_for

        return expectation_for(listen)

    async def understand(self, utt: Any, listen: Any) -> HeardResult:
        """Recognise one utterance with what the dialog expects and decide the intent."""
        stream = getattr(utt, "stream", None)
        und = self._get_understander()
        if und is not None:
            res = await und(utt, listen)
            return HeardResult(text=getattr(res, "text", ""), confidence=float(getattr(res, "confidence", 0.0)),
                               intent=getattr(res, "intent", None), slots=getattr(res, "slots", None) or None)
        if stream is not None:
            tr = await stream.finish()
        else:
            tr = await self.recognizer.recognize(utt.pcm, utt.sample_rate, self.expectation(listen))
        return heard_from_transcript(tr, listen)

    def _get_understander(self) -> Any:
        if self._understander is None:
            try:
                from ivr import understand as mod
            except ImportError:
                self._understander = False
                return None
            self._understander = _adapt_understand(mod, self)
        return self._understander or None

    async def aclose(self) -> None:
        if self.handoff is not None:
            await self.handoff.close()
        if self._db_pool is not None:
            self._db_pool.shutdown(wait=False)
        close = getattr(self.store, "close", None)
        if close is not None:
            with _suppress():
                await close()


def freeze_startup_heap() -> None:
    """Take everything loaded at start-up (the script, tokenizers, libraries, caches) out of the
    garbage collector's view.

    A full collection walks every tracked object while the event loop waits: with 200 calls
    live on a busy 2-core machine, collections were seen pausing the loop for up to 207 ms.
    Frozen objects are never collected (nor freed), which is what start-up state is for;
    objects made by calls are collected as before."""
    gc.collect()
    gc.freeze()


def heard_from_transcript(tr: Any, listen: Any) -> HeardResult:
    """Without ivr.understand: the recognizer's best constrained label becomes the intent for
    choice-like listens; slot and free listens pass the text to the engine's own parsers."""
    kind = getattr(listen, "kind", "intent")
    scores = dict(getattr(tr, "scores", None) or {})
    intent = None
    confidence = float(getattr(tr, "confidence", 0.0) or 0.0)
    if scores and kind in ("intent", "yesno", "choice"):
        intent = max(scores, key=scores.__getitem__)
    return HeardResult(text=getattr(tr, "text", "") or "", confidence=confidence, intent=intent)


def _adapt_understand(mod: Any, rt: Runtime) -> Any:
    """The fusion of recognizer scores with the dialog's matcher (ivr/understand.py)."""
    factory = getattr(mod, "Understander", None)
    if factory is None:
        return False
    obj = factory(rt.recognizer, rt.script)

    async def call(utt: Any, listen: Any) -> Any:
        return await obj.understand(utt, listen)

    return call


def _close_built(task: "asyncio.Future[Any]") -> None:
    if not task.cancelled() and task.exception() is None:
        close = getattr(task.result(), "close", None)
        if close is not None:
            with _suppress():
                close()


def build_synthesizer(settings: Any) -> Any:
    if settings.tts_engine == "coqui":
        from tts import CoquiSynthesizer  # type: ignore[attr-defined]

        return CoquiSynthesizer(model_path=settings.coqui_model_path, config_path=settings.coqui_config_path)
    from tts import EspeakSynthesizer

    return EspeakSynthesizer(voice=settings.tts_voice, rate=settings.tts_rate, pitch=settings.tts_pitch)


def build_recognizer(settings: Any) -> Any:
    from asr import create_recognizer

    return create_recognizer(settings.asr_engine, vosk_model_dir=settings.vosk_model_dir,
                             whisper_model_dir=settings.whisper_model_dir,
                             whisper_cache_dir=settings.whisper_cache_dir, **settings.recognizer_options())


def build_store(settings: Any, clock: Clock = system_clock) -> Any:
    from ivr.storage import Store

    store = Store.from_settings(settings, clock=clock)
    store.migrate()
    return store


def _script_name(script: Any, path: Any) -> str | None:
    return getattr(script, "name", None) or (Path(path).stem if path else None)


def _script_version(script: Any, path: Any) -> str | None:
    v = getattr(script, "version", None)
    if v:
        return str(v)
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    except (OSError, TypeError):
        return None


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> bool:
        return True
