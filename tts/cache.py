"""Pre-rendered 8 kHz prompts: an in-memory LRU over an on-disk store.

Layout under `directory` (keys include the engine and its settings, so several synthesizers
can share one directory):

    <key[:2]>/<key>.sln    raw 16-bit signed little-endian mono 8 kHz (AudioSocket; also
                           Asterisk's own "sln" format)
    <key[:2]>/<key>.wav    the same audio as a WAV file (AGI-only mode, STREAM FILE)
    <key[:2]>/<key>.json   text (long digit runs masked), engine settings, sample count and
                           SHA-256 of the PCM; written last, so an entry exists only once all
                           its files are complete

`key` is the SHA-256 of (format version, engine name, voice, the engine's settings key, output
rate, text). Every file is written to a temporary name, flushed and renamed (atomic on POSIX).
A file that is missing, truncated or fails its checksum is treated as absent: `get` returns
None and `render` synthesises it again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path

from tts.audio import TELEPHONE_RATE, read_wav, resample, wav_bytes
from tts.base import Audio, SynthesisError, Synthesizer, check_text

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
_LONG_NUMBER = re.compile(r"\d(?:[\d .-]*\d){5,}")  # NIK, phone or account numbers


class PromptCache:
    """Prompt audio at 8 kHz for one synthesizer; `get` is a memory or disk lookup (<= 1 ms)."""

    def __init__(
        self,
        directory: str | Path,
        synthesizer: Synthesizer,
        *,
        sample_rate: int = TELEPHONE_RATE,
        memory_items: int = 1024,
        write_wav: bool = True,
    ) -> None:
        if memory_items < 1:
            raise ValueError("memory_items must be at least 1")
        self.directory = Path(directory)
        self.synthesizer = synthesizer
        self.sample_rate = sample_rate
        self.memory_items = memory_items
        self.write_wav = write_wav
        self._identity = json.dumps(
            [FORMAT_VERSION, synthesizer.name, synthesizer.voice, synthesizer.settings_key(), sample_rate],
            ensure_ascii=False,
        )
        self._memory: OrderedDict[str, Audio] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[str, asyncio.Future[Audio]] = {}
        self.directory.mkdir(parents=True, exist_ok=True)

    # ---- keys and paths -------------------------------------------------------------------
    @staticmethod
    def _normalise(text: str) -> str:
        return " ".join(check_text(text).split())

    def key(self, text: str) -> str:
        """The cache key of `text` for this synthesizer and rate."""
        payload = self._identity + "\0" + self._normalise(text)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def _paths(self, key: str) -> tuple[Path, Path, Path]:
        base = self.directory / key[:2] / key
        return base.with_suffix(".sln"), base.with_suffix(".wav"), base.with_suffix(".json")

    # ---- lookup ----------------------------------------------------------------------------
    def get(self, text: str) -> Audio | None:
        """Cached 8 kHz audio for `text`, or None. Never synthesises."""
        key = self.key(text)
        with self._lock:
            audio = self._memory.get(key)
            if audio is not None:
                self._memory.move_to_end(key)
                return audio
        audio = self._load(key)
        if audio is not None:
            self._remember(key, audio)
        return audio

    def __contains__(self, text: str) -> bool:
        return self.get(text) is not None

    def _remember(self, key: str, audio: Audio) -> None:
        with self._lock:
            self._memory[key] = audio
            self._memory.move_to_end(key)
            while len(self._memory) > self.memory_items:
                self._memory.popitem(last=False)

    def _load(self, key: str) -> Audio | None:
        sln, _wav, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text("utf-8"))
            pcm = sln.read_bytes()
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("prompt cache entry %s unreadable (%s); it will be re-rendered", key[:12], exc)
            return None
        if (
            not isinstance(meta, dict)
            or meta.get("version") != FORMAT_VERSION
            or meta.get("sample_rate") != self.sample_rate
            or meta.get("bytes") != len(pcm)
            or meta.get("sha256") != hashlib.sha256(pcm).hexdigest()
        ):
            log.warning("prompt cache entry %s is corrupt; it will be re-rendered", key[:12])
            return None
        return Audio(pcm, self.sample_rate)

    # ---- rendering ---------------------------------------------------------------------------
    async def render(self, text: str) -> Audio:
        """Cached audio for `text`, synthesising, resampling to 8 kHz and storing it if needed."""
        cached = self.get(text)
        if cached is not None:
            return cached
        key = self.key(text)
        pending = self._inflight.get(key)
        if pending is not None:  # the same prompt is being rendered: share the result
            return await asyncio.shield(pending)
        future: asyncio.Future[Audio] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            audio = await self.synthesizer.synthesize(text)
            audio = await asyncio.to_thread(self._store, key, text, audio)
            future.set_result(audio)
            return audio
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it re-raised, no "never retrieved" warning
            raise
        finally:
            del self._inflight[key]

    async def render_all(
        self, texts: Iterable[str], progress: Callable[[str, bool], None] | None = None
    ) -> dict[str, Audio]:
        """Render every text (one at a time; espeak has one worker anyway).

        `progress(text, was_cached)` is called after each text.
        """
        rendered: dict[str, Audio] = {}
        for text in dict.fromkeys(texts):
            was_cached = self.get(text) is not None
            rendered[text] = await self.render(text)
            if progress is not None:
                progress(text, was_cached)
        return rendered

    def _store(self, key: str, text: str, audio: Audio) -> Audio:
        if audio.samples == 0:
            raise SynthesisError(f"{self.synthesizer.name} produced no audio for {text!r}")
        audio = resample(audio, self.sample_rate)
        sln, wav, meta_path = self._paths(key)
        sln.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(sln, audio.pcm)
        if self.write_wav:
            _atomic_write(wav, wav_bytes(audio))
        meta = {
            "version": FORMAT_VERSION,
            "text": _LONG_NUMBER.sub("<number>", self._normalise(text)),  # never personal data in clear
            "engine": self.synthesizer.name,
            "voice": self.synthesizer.voice,
            "settings": self.synthesizer.settings_key(),
            "sample_rate": audio.sample_rate,
            "bytes": len(audio.pcm),
            "sha256": hashlib.sha256(audio.pcm).hexdigest(),
        }
        _atomic_write(meta_path, json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8"))
        self._remember(key, audio)
        return audio

    # ---- AGI-only mode -------------------------------------------------------------------------
    def wav_path(self, text: str) -> Path:
        """The 8 kHz WAV of a rendered prompt (for STREAM FILE, pass it without ".wav").

        Raises KeyError when the prompt has not been rendered; a missing or damaged WAV next to
        a valid entry is rewritten from the PCM.
        """
        key = self.key(text)
        audio = self.get(text)
        if audio is None:
            raise KeyError(f"prompt not rendered yet (run `ivr prompts render`): {self._normalise(text)[:60]!r}")
        _sln, wav, _meta = self._paths(key)
        try:
            ok = read_wav(wav) == audio
        except (OSError, ValueError):
            ok = False
        if not ok:
            _atomic_write(wav, wav_bytes(audio))
        return wav

    def clear_memory(self) -> None:
        """Forget the in-memory copies (the disk store stays)."""
        with self._lock:
            self._memory.clear()


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
