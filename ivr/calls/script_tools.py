"""What the web app's script pages need from the call core, on the running runtime: pre-render
a version's prompts, speak a prompt as callers hear it (WAV), and route a caller's recording
through the real recognizer in a chosen state. Passed to :func:`ivr.web.create_app` by
:mod:`ivr.serve` (the web app never imports the call core)."""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import Awaitable, Callable
from typing import Any

from asr.audio import resample
from dialogs import Script
from ivr.calls.runtime import Runtime
from ivr.calls.understand import live_understander


class RuntimeScriptTools:
    def __init__(self, runtime: Runtime, refresh: Callable[[], Awaitable[bool]] | None = None) -> None:
        self.rt = runtime
        self._refresh = refresh

    async def refresh(self) -> None:
        """Install a new live version now (after a publish in this process) rather than at the
        next poll."""
        if self._refresh is not None:
            await self._refresh()

    async def prerender(self, script: Script) -> int:
        return await self.rt.prerender_script(script)

    async def speak_wav(self, text: str) -> bytes:
        """The prompt as a caller hears it: line-rate (8 kHz) 16-bit mono WAV."""
        pcm = await self.rt.speaker.pcm(text, static=True)
        return await asyncio.to_thread(_wav, pcm, self.rt.sample_rate)

    async def route_audio(self, script: Script, state: str, pcm: bytes, sample_rate: int) -> dict[str, Any]:
        """How the recognizer and the intent matcher take ``pcm`` in ``state`` of ``script``."""
        listen = script.listen_action(state)
        if sample_rate not in (8000, 16000):
            pcm = await asyncio.to_thread(resample, pcm, sample_rate, 16000)
            sample_rate = 16000
        heard = await live_understander(self.rt.recognizer, script).understand_pcm(pcm, sample_rate, listen)
        return {"text": heard.text, "intent": heard.intent, "confidence": round(float(heard.confidence), 3),
                "scores": {k: round(float(v), 3) for k, v in (heard.scores or {}).items()}}


def _wav(pcm: bytes, rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()
