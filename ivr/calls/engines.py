"""The speech engines the settings ask for: one place builds the recognizer and the
synthesizer (``ivr serve``, ``ivr call``, ``ivr transcribe``, ``ivr nlu --audio``, benches)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from asr import Recognizer, create_recognizer
from ivr.config.settings import Settings, SettingsError
from tts import CoquiSynthesizer, EspeakSynthesizer, Synthesizer
from tts.pool import PooledSynthesizer


def build_recognizer(settings: Settings, *, engine: str | None = None, vosk_model_dir: Path | None = None,
                     whisper_model_dir: Path | None = None) -> Recognizer:
    """The recognizer of ``settings`` (``engine`` and the model directories override them)."""
    return create_recognizer(engine or settings.asr_engine,
                             vosk_model_dir=vosk_model_dir or settings.vosk_model_dir,
                             whisper_model_dir=whisper_model_dir or settings.whisper_model_dir,
                             whisper_cache_dir=settings.whisper_cache_dir, **settings.recognizer_options())


def build_synthesizer(settings: Settings) -> Synthesizer:
    if settings.tts_engine == "coqui":
        if settings.coqui_model_path is None:
            raise SettingsError("tts_engine=coqui needs a model: set IVR_COQUI_MODEL_PATH")
        return CoquiSynthesizer(model_path=settings.coqui_model_path, config_path=settings.coqui_config_path)
    return EspeakSynthesizer(voice=settings.tts_voice, rate=settings.tts_rate, pitch=settings.tts_pitch)


def build_dynamic_synthesizer(settings: Settings, workers: int | None = None) -> PooledSynthesizer | None:
    """A pool of espeak-ng processes, one per core, for dynamic prompts (libespeak-ng serves
    one prompt at a time per process); None for other engines (they keep their own worker)."""
    if settings.tts_engine == "coqui":
        return None
    factory = functools.partial(EspeakSynthesizer, voice=settings.tts_voice, rate=settings.tts_rate,
                                pitch=settings.tts_pitch)
    return PooledSynthesizer(factory, workers=workers or os.cpu_count() or 1)
