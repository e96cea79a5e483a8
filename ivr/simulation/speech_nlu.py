"""`ivr nlu --audio`: recognise audio files with the expectations of a dialog state, the way a
call would (:class:`ivr.calls.understand.Understander`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from asr import AsrError, Recognizer, audio
from dialogs import Script, load_script
from ivr.calls.engines import build_recognizer
from ivr.calls.understand import live_understander
from ivr.config.settings import load_settings


def nlu_audio(files: list[Path], script_path: Path | None, state: str | None,
              recognizer: Recognizer | None = None) -> list[dict[str, object]]:
    """One dict per file, in order: file, intent, confidence, text; or file and error for a
    file that cannot be read (state default: the entry menu; script default: the active one)."""
    script = load_script(script_path or load_settings().script_path())
    state = state or _first_menu(script)
    listen = script.listen_action(state)
    rec = recognizer or build_recognizer(load_settings())
    und = live_understander(rec, script)

    async def run() -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for f in files:
            try:
                pcm, rate = audio.read_wav(f)
            except (OSError, AsrError) as exc:
                out.append({"file": str(f), "error": str(exc)})
                continue
            if rate not in (8000, 16000):
                pcm, rate = audio.resample(pcm, rate, 16000), 16000
            res = await und.understand_pcm(pcm, rate, listen)
            out.append({"file": str(f), "intent": res.intent, "confidence": round(res.confidence, 3),
                        "text": res.text})
        return out

    try:
        return asyncio.run(run())
    finally:
        if recognizer is None:
            rec.close()


def _first_menu(script: Script) -> str:
    entry = script.entry_menu
    if script.states[entry].listen is None:
        raise ValueError("the script has no state that listens for intents; pass --state")
    return entry
