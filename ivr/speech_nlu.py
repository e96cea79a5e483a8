"""`ivr nlu --audio`: recognise audio files with the expectations of a dialog state."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any


def _recognizer() -> Any:
    try:
        from ivr.settings import load_settings

        s = load_settings()
        from asr import create_recognizer

        return create_recognizer(s.asr_engine, vosk_model_dir=s.vosk_model_dir,
                                 whisper_model_dir=s.whisper_model_dir, whisper_cache_dir=s.whisper_cache_dir,
                                 **s.recognizer_options())
    except ImportError:
        from asr import create_recognizer

        return create_recognizer("whisper")


def nlu_audio(files: list[Path], script_path: Path | None, state: str | None,
              recognizer: Any = None) -> list[dict]:
    """One dict per file: file, intent, confidence, text (state default: the main menu)."""
    from asr import audio
    from dialogs import default_script_path, load_script

    from ivr.understand import Understander

    script = load_script(script_path or default_script_path())
    state = state or _main_menu(script)
    listen = script.listen_action(state)
    rec = recognizer or _recognizer()
    und = Understander(rec, script)

    async def run() -> list[dict]:
        out = []
        for f in files:
            pcm, rate = audio.read_wav(f)
            if rate not in (8000, 16000):
                pcm, rate = audio.resample(pcm, rate, 16000), 16000
            res = await und.understand(pcm, rate, listen)
            out.append({"file": str(f), "intent": res.intent, "confidence": round(res.confidence, 3),
                        "text": res.text})
        return out

    return asyncio.run(run())


def _main_menu(script: Any) -> str:
    if "main_menu" in getattr(script, "states", {}):
        return "main_menu"
    for sid in script.listening_states():
        if script.states[sid].listen.kind == "intent":
            return sid
    raise ValueError("the script has no state that listens for intents; pass --state")
