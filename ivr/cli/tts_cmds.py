"""`ivr say` and `ivr prompts render`: speech synthesis from the command line."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:  # the commands import what they use (a quick `ivr --help`)
    from ivr.config.settings import Settings
    from tts import Synthesizer

ENGINES = ("espeak", "coqui")

prompts_app = typer.Typer(help="Pre-rendered prompts (the prompt cache).", no_args_is_help=True)


def _settings(config: Path | None, **overrides: Any) -> Settings:
    from ivr.config.settings import SettingsError, load_settings

    try:
        return load_settings(config, **overrides)
    except SettingsError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _synthesizer(settings: Settings, coqui_python: Path | None) -> Synthesizer:
    """The synthesizer the settings ask for; typer-friendly errors."""
    from tts import CoquiSynthesizer, EspeakSynthesizer, SynthesisError

    try:
        if settings.tts_engine == "coqui":
            if settings.coqui_model_path is None:
                raise typer.BadParameter("--engine coqui needs --coqui-model (or IVR_COQUI_MODEL_PATH)")
            return CoquiSynthesizer(
                settings.coqui_model_path, settings.coqui_config_path,
                python=coqui_python,
            )
        return EspeakSynthesizer(voice=settings.tts_voice, rate=settings.tts_rate, pitch=settings.tts_pitch)
    except SynthesisError as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    from rich.console import Console

    Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


def _check_engine(engine: str | None) -> str | None:
    if engine is not None and engine not in ENGINES:
        raise typer.BadParameter(f"engine must be one of {', '.join(ENGINES)}")
    return engine


EngineOpt = Annotated[
    str | None, typer.Option("--engine", help="espeak (default) or coqui", callback=_check_engine)
]
VoiceOpt = Annotated[str | None, typer.Option("--voice", help='espeak voice, e.g. "id", "id+m3", "id+f2"')]
RateOpt = Annotated[int | None, typer.Option("--rate", help="espeak words per minute")]
PitchOpt = Annotated[int | None, typer.Option("--pitch", help="espeak pitch 0..99")]
CoquiModelOpt = Annotated[Path | None, typer.Option("--coqui-model", help="Coqui checkpoint or model directory")]
CoquiConfigOpt = Annotated[Path | None, typer.Option("--coqui-config", help="Coqui config.json")]
CoquiPythonOpt = Annotated[
    Path | None, typer.Option("--coqui-python", help="Python of a virtualenv with coqui-tts (default $IVR_COQUI_PYTHON)")
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="settings file (TOML or YAML)")]


def say(
    text: Annotated[str, typer.Argument(help="Indonesian text to speak (numbers, NIK, KTP... are expanded)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="WAV file to write")],
    engine: EngineOpt = None,
    voice: VoiceOpt = None,
    rate: RateOpt = None,
    pitch: PitchOpt = None,
    sample_rate: Annotated[
        int | None, typer.Option("--sample-rate", help="resample (soxr) to this rate, e.g. 8000; default: engine rate")
    ] = None,
    coqui_model: CoquiModelOpt = None,
    coqui_config: CoquiConfigOpt = None,
    coqui_python: CoquiPythonOpt = None,
    show_text: Annotated[bool, typer.Option("--show-text", help="print the text as prepared for speech")] = False,
    config: ConfigOpt = None,
) -> None:
    """Synthesise TEXT into a WAV file and print one JSON line about it."""
    import time

    from tts import CoquiSynthesizer, SynthesisError, prepare_text, resample, wav_bytes

    settings = _settings(
        config, tts_engine=engine, tts_voice=voice, tts_rate=rate, tts_pitch=pitch,
        coqui_model_path=coqui_model, coqui_config_path=coqui_config,
    )
    if not text.strip():
        raise typer.BadParameter("text is empty")
    if sample_rate is not None and not 4000 <= sample_rate <= 192000:
        raise typer.BadParameter("--sample-rate must be between 4000 and 192000")
    synth = _synthesizer(settings, coqui_python)
    load_seconds = 0.0
    started = time.perf_counter()
    try:
        if isinstance(synth, CoquiSynthesizer):  # load the model outside the synthesis timing
            synth.load()
            load_seconds = time.perf_counter() - started
            started = time.perf_counter()
        audio = synth.synthesize_sync(text)
        if sample_rate:
            audio = resample(audio, sample_rate)
    except SynthesisError as exc:
        _fail(str(exc))
    finally:
        _close(synth)
    seconds = time.perf_counter() - started
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_bytes(wav_bytes(audio))
    tmp.replace(output)
    record = {
        "file": str(output),
        "engine": synth.name,
        "voice": synth.voice,
        "sample_rate": audio.sample_rate,
        "audio_seconds": round(audio.duration, 3),
        "synthesis_seconds": round(seconds, 3),
    }
    if load_seconds:
        record["load_seconds"] = round(load_seconds, 3)
    if show_text:
        record["spoken_text"] = prepare_text(text)
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


@prompts_app.command("render")
def render(
    script: Annotated[Path | None, typer.Option("--script", help="dialog script (default: settings / packaged)")] = None,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="prompt cache directory")] = None,
    engine: EngineOpt = None,
    voice: VoiceOpt = None,
    rate: RateOpt = None,
    pitch: PitchOpt = None,
    coqui_model: CoquiModelOpt = None,
    coqui_config: CoquiConfigOpt = None,
    coqui_python: CoquiPythonOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Render every static prompt of the script into the prompt cache (8 kHz .sln + .wav)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from dialogs import ScriptError, load_script
    from tts import PromptCache, SynthesisError

    settings = _settings(
        config, tts_engine=engine, tts_voice=voice, tts_rate=rate, tts_pitch=pitch,
        coqui_model_path=coqui_model, coqui_config_path=coqui_config,
        prompt_cache_dir=cache_dir, script=script,
    )
    path = settings.script_path()
    try:
        texts = load_script(path).static_prompts()
    except (ScriptError, OSError) as exc:
        _fail(f"cannot load script {path}: {exc}")
    synth = _synthesizer(settings, coqui_python)
    assert settings.prompt_cache_dir is not None  # derived from data_dir when loaded
    cache = PromptCache(settings.prompt_cache_dir, synth)
    console = Console(stderr=True)
    counts = {"rendered": 0, "cached": 0}
    audio_seconds = 0.0

    async def run() -> None:
        nonlocal audio_seconds
        columns = (TextColumn("[bold]prompts"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.description}"))
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("", total=len(texts))
            for text in texts:
                was_cached = cache.get(text) is not None
                audio = await cache.render(text)
                audio_seconds += audio.duration
                counts["cached" if was_cached else "rendered"] += 1
                progress.update(task, advance=1, description=text[:40])

    try:
        asyncio.run(run())
    except SynthesisError as exc:
        _fail(str(exc))
    finally:
        _close(synth)
    summary = {
        "script": str(path),
        "cache_dir": str(settings.prompt_cache_dir),
        "engine": synth.name,
        "voice": synth.voice,
        "prompts": len(texts),
        **counts,
        "audio_seconds": round(audio_seconds, 1),
    }
    sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")


def _close(synth: Synthesizer) -> None:
    from tts import CoquiSynthesizer

    if isinstance(synth, CoquiSynthesizer):  # a worker process of its own
        synth.close()


def register(app: typer.Typer) -> None:
    app.command("say")(say)
    app.add_typer(prompts_app, name="prompts")
