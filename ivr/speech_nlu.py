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


def _active_script_path() -> Path:
    from ivr.settings import load_settings

    return load_settings().script_path()


def nlu_audio(files: list[Path], script_path: Path | None, state: str | None,
              recognizer: Any = None) -> list[dict]:
    """One dict per file, in order: file, intent, confidence, text; or file and error for a
    file that cannot be read (state default: the main menu; script default: the active one)."""
    from asr import AsrError, audio
    from dialogs import load_script

    from ivr.understand import Understander

    script = load_script(script_path or _active_script_path())
    state = state or _main_menu(script)
    listen = script.listen_action(state)
    rec = recognizer or _recognizer()
    und = Understander(rec, script)

    async def run() -> list[dict]:
        out = []
        for f in files:
            try:
                pcm, rate = audio.read_wav(f)
            except (OSError, AsrError) as exc:
                out.append({"file": str(f), "error": str(exc)})
                continue
            if rate not in (8000, 16000):
                pcm, rate = audio.resample(pcm, rate, 16000), 16000
            res = await und.understand(pcm, rate, listen)
            out.append({"file": str(f), "intent": res.intent, "confidence": round(res.confidence, 3),
                        "text": res.text})
        return out

    try:
        return asyncio.run(run())
    finally:
        if recognizer is None and hasattr(rec, "close"):
            rec.close()


def _main_menu(script: Any) -> str:
    entry: str = script.entry_menu
    if script.states[entry].listen is None:
        raise ValueError("the script has no state that listens for intents; pass --state")
    return entry
