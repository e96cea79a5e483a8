"""`ivr transcribe FILE... [--engine vosk|whisper]`: one JSON line per file."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from asr import Recognizer


def _build(engine: str | None, config: Path | None, vosk_model: Path | None,
           whisper_model: Path | None) -> Recognizer:
    from asr import AsrError

    from ivr.calls.engines import build_recognizer
    from ivr.config.settings import SettingsError, load_settings

    try:
        s = load_settings(config)
    except SettingsError as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        return build_recognizer(s, engine=engine, vosk_model_dir=vosk_model, whisper_model_dir=whisper_model)
    except (AsrError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def register(app: typer.Typer) -> None:
    @app.command("transcribe")
    def transcribe(
        files: Annotated[list[Path], typer.Argument(help="WAV files (any rate; mono or stereo)")],
        engine: Annotated[str | None, typer.Option("--engine", help="vosk or whisper (default: settings)")] = None,
        config: Annotated[Path | None, typer.Option("--config", help="settings file")] = None,
        vosk_model: Annotated[Path | None, typer.Option("--vosk-model", help="Vosk model directory")] = None,
        whisper_model: Annotated[Path | None, typer.Option("--whisper-model", help="CTranslate2 Whisper dir")] = None,
    ) -> None:
        """Transcribe audio files; prints one JSON line per file."""
        from asr import AsrError, audio

        if engine is not None and engine not in ("vosk", "whisper"):
            raise typer.BadParameter("--engine must be vosk or whisper")
        rec = _build(engine, config, vosk_model, whisper_model)
        failed = 0
        for f in files:
            try:
                pcm, rate = audio.read_wav(f)
                if rate not in (8000, 16000):
                    pcm, rate = audio.resample(pcm, rate, 16000), 16000
                t0 = time.perf_counter()
                tr = asyncio.run(rec.recognize(pcm, rate, None))
                line = {"file": str(f), "text": tr.text, "confidence": round(tr.confidence, 3),
                        "audio_seconds": round(len(pcm) / 2 / rate, 3),
                        "decode_seconds": round(time.perf_counter() - t0, 3)}
            except (OSError, AsrError) as exc:
                failed += 1
                line = {"file": str(f), "error": str(exc)}
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        rec.close()
        if failed:
            raise typer.Exit(1)
