"""What the script pages need from the running call core (pre-rendering, the real TTS and
recognizer), given to :func:`ivr.web.create_app` by ``ivr serve``
(:class:`ivr.calls.script_tools.RuntimeScriptTools`). Without it the pages work, minus audio."""

from __future__ import annotations

from typing import Any, Protocol

from dialogs import Script


class ScriptTools(Protocol):
    async def refresh(self) -> None:
        """Install a newly published version in this process now."""

    async def prerender(self, script: Script) -> int:
        """Render the script's static prompts into the prompt cache."""

    async def speak_wav(self, text: str) -> bytes:
        """A prompt as the caller hears it (WAV)."""

    async def route_audio(self, script: Script, state: str, pcm: bytes, sample_rate: int) -> dict[str, Any]:
        """What the recognizer hears and which intent it routes to in ``state``."""
