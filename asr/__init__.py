"""Speech recognition for the hotline: recognizer interface, Vosk and Whisper backends,
webrtcvad endpointing and audio format helpers.

Backends are imported lazily (``asr.VoskRecognizer``, ``asr.WhisperRecognizer``) so that
importing the interface never loads a model library.
"""

from __future__ import annotations

from . import audio
from .base import (
    AsrError, AudioFormatError, Expectation, ModelCorruptError, ModelNotFoundError, RecognitionStream,
    Recognizer, Transcript, Word,
)
from .vad import Endpointer, VadEvent, VadMark

__all__ = [
    "AsrError", "AudioFormatError", "Endpointer", "Expectation", "ModelCorruptError", "ModelNotFoundError",
    "RecognitionStream", "Recognizer", "Transcript", "VadEvent", "VadMark", "VoskRecognizer",
    "WhisperRecognizer", "WhisperOptions", "Word", "audio", "create_recognizer",
]


def __getattr__(name: str):
    if name in ("WhisperRecognizer", "WhisperOptions"):
        from . import whisper_backend

        return getattr(whisper_backend, name)
    if name == "VoskRecognizer":
        from .vosk_backend import VoskRecognizer

        return VoskRecognizer
    raise AttributeError(f"module 'asr' has no attribute {name!r}")


def create_recognizer(engine: str = "auto", *, vosk_model_dir=None, whisper_model_dir=None,
                      whisper_cache_dir=None, whisper_sha256=None) -> Recognizer:
    """The configured recognizer. ``auto``: Vosk when a Vosk model directory is configured
    (an Indonesian one, normally), else the bundled Whisper-base."""
    if engine == "auto":
        engine = "vosk" if vosk_model_dir else "whisper"
    if engine == "vosk":
        from .vosk_backend import VoskRecognizer

        return VoskRecognizer(vosk_model_dir)
    if engine == "whisper":
        from .whisper_backend import WhisperRecognizer

        return WhisperRecognizer(whisper_model_dir, whisper_cache_dir, whisper_sha256)
    raise ValueError(f"unknown recognizer engine {engine!r}; use vosk, whisper or auto")
