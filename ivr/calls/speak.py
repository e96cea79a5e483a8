"""Audio for the dialog's ``Say`` actions: prompt cache first, synthesis otherwise.

Static prompts (no variables) come from the prompt cache, pre-rendered at start-up, in well
under a millisecond. Dynamic prompts (with a ticket number, say) are synthesised on the
synthesizer's worker and resampled to the line rate on a thread, so the event loop never
blocks; they are kept in a small in-memory LRU because a reprompt often repeats them.
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

log = logging.getLogger(__name__)


class Speaker:
    """The :class:`ivr.calls.ports.SpeakerPort` of every call."""

    def __init__(self, prompts: PromptCache, synthesizer: Synthesizer, *, sample_rate: int = 8000,
                 sounds_dir: Path | None = None, lru_size: int = 256,
                 script_dir: Path | None = None) -> None:
        self.prompts = prompts
        self.synthesizer = synthesizer
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
        lock = self._locks.setdefault(text, asyncio.Lock())
        async with lock:
            hit = self._lru.get(text)
            if hit is not None:
                return hit
            audio = await self.synthesizer.synthesize(text)
            pcm = audio.pcm
            if audio.sample_rate != self.sample_rate:
                pcm = await asyncio.to_thread(resample, pcm, audio.sample_rate, self.sample_rate)
            self._lru[text] = pcm
            while len(self._lru) > self._lru_size:
                self._lru.popitem(last=False)
        self._locks.pop(text, None)
        return pcm

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
