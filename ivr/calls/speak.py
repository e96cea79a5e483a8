"""Audio for the dialog's ``Say`` actions: prompt cache first, synthesis otherwise.

Static prompts (no variables) come from the prompt cache, pre-rendered at start-up, in well
under a millisecond. Dynamic prompts (with a ticket number, say) are cut into fragments that
repeat from call to call (:mod:`tts.fragments`: clauses, and each digit of a number read digit
by digit); each fragment is synthesised once (on a pool of worker processes in ``ivr serve``),
resampled to the line rate on a thread and kept trimmed in a fragment cache, and the prompt is
the fragments joined with pauses. So a ticket read-back costs no synthesis once the digits and
the clauses around them have been said once. Whole dynamic prompts are also kept in a small
LRU because a reprompt often repeats them.
Pre-recorded prompt files (``Say.audio_file``) are read once and resampled to the line rate.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from pathlib import Path

from asr.audio import read_wav, resample, write_wav
from tts import PromptCache, Synthesizer
from tts.fragments import fragments, join, trim

log = logging.getLogger(__name__)


class Speaker:
    """The :class:`ivr.calls.ports.SpeakerPort` of every call."""

    def __init__(self, prompts: PromptCache, synthesizer: Synthesizer, *, sample_rate: int = 8000,
                 sounds_dir: Path | None = None, lru_size: int = 256,
                 script_dir: Path | None = None, dynamic: Synthesizer | None = None,
                 fragments_size: int = 4096) -> None:
        self.prompts = prompts
        self.synthesizer = synthesizer
        #: what synthesises dynamic prompts' fragments: a pool of worker processes in
        #: ``ivr serve`` (:class:`tts.pool.PooledSynthesizer`), else the synthesizer itself
        self.dynamic = dynamic or synthesizer
        self._fragments: OrderedDict[str, bytes] = OrderedDict()
        self._fragments_size = fragments_size
        self.sample_rate = sample_rate
        self.sounds_dir = sounds_dir
        self.script_dir = script_dir
        self._lru: OrderedDict[str, bytes] = OrderedDict()
        self._lru_size = lru_size
        self._files: dict[str, bytes] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def pcm(self, text: str, *, static: bool = True, audio_file: str | None = None) -> bytes:
        """8 kHz (line rate) 16-bit PCM for one prompt."""
        if audio_file:
            try:
                return await self._file(audio_file)
            except Exception as exc:  # a broken recording: say the text instead
                log.warning("prompt file %s unusable (%s); synthesising its text", audio_file, exc)
        audio = self.prompts.get(text)
        if audio is not None and audio.sample_rate == self.sample_rate:
            return audio.pcm
        if static:
            audio = await self.prompts.render(text)
            if audio.sample_rate == self.sample_rate:
                return audio.pcm
            return await asyncio.to_thread(resample, audio.pcm, audio.sample_rate, self.sample_rate)
        hit = self._lru.get(text)
        if hit is not None:
            self._lru.move_to_end(text)
            return hit
        parts = fragments(text)
        if len(parts) > 1:
            unique = list(dict.fromkeys(f.text for f in parts))
            pieces = dict(zip(unique, await asyncio.gather(*(self._fragment(t) for t in unique))))
            pcm = join([(pieces[f.text], f.pause_s) for f in parts], self.sample_rate)
        else:
            pcm = await self._synthesize(text, self._lru, trimmed=False)
        self._remember(self._lru, text, pcm, self._lru_size)
        return pcm

    async def _fragment(self, text: str) -> bytes:
        """One fragment of a dynamic prompt (a clause, a digit), trimmed, from the fragment
        cache or synthesised once."""
        hit = self._fragments.get(text)
        if hit is not None:
            self._fragments.move_to_end(text)
            return hit
        return await self._synthesize(text, self._fragments, trimmed=True)

    async def _synthesize(self, text: str, cache: OrderedDict[str, bytes], *, trimmed: bool) -> bytes:
        lock = self._locks.setdefault(text, asyncio.Lock())
        async with lock:
            hit = cache.get(text)
            if hit is not None:
                return hit
            audio = await self.dynamic.synthesize(text)
            pcm = audio.pcm
            if audio.sample_rate != self.sample_rate:
                pcm = await asyncio.to_thread(resample, pcm, audio.sample_rate, self.sample_rate)
            if trimmed:
                pcm = trim(pcm, self.sample_rate)
                self._remember(cache, text, pcm, self._fragments_size)
        self._locks.pop(text, None)
        return pcm

    @staticmethod
    def _remember(cache: OrderedDict[str, bytes], key: str, pcm: bytes, size: int) -> None:
        cache[key] = pcm
        while len(cache) > size:
            cache.popitem(last=False)

    async def _file(self, name: str) -> bytes:
        if name in self._files:
            return self._files[name]
        path = Path(name)
        if not path.is_absolute() and self.script_dir is not None:
            path = self.script_dir / path
        pcm, rate = await asyncio.to_thread(read_wav, path)
        if rate != self.sample_rate:
            pcm = await asyncio.to_thread(resample, pcm, rate, self.sample_rate)
        self._files[name] = pcm
        return pcm

    async def wav_path(self, text: str | None, pcm: bytes) -> Path:
        """A WAV file of ``pcm`` inside the sounds directory Asterisk shares (AGI-only mode):
        the prompt cache's own WAV when the cache lives there, else a copy named by content."""
        assert self.sounds_dir is not None, "AGI-only mode needs a sounds directory"
        sounds = Path(self.sounds_dir).resolve()
        if text:
            try:
                p = self.prompts.wav_path(text).resolve()
            except KeyError:  # not cached: write our own below
                p = None
            if p is not None and p.is_file() and sounds in p.parents:
                return p
        digest = hashlib.sha256(pcm).hexdigest()[:24]
        path = sounds / "ivr-prompts" / f"{digest}.wav"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{digest}.{id(pcm)}.tmp.wav")
            await asyncio.to_thread(write_wav, tmp, pcm, self.sample_rate)
            tmp.replace(path)
        return path
