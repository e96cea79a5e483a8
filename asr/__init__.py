"""Speech recognition for the hotline: recognizer interface, Vosk and Whisper backends,
webrtcvad endpointing and audio format helpers.

Backends are imported lazily (``asr.VoskRecognizer``, ``asr.WhisperRecognizer``) so that
importing the interface never loads a model library.
"""

from __future__ import annotations

from . import audio
from .base import (
    AsrError, AudioFormatError, EmergencyAudio, Expectation, ModelCorruptError, ModelNotFoundError,
    RecognitionStream, Recognizer, Stage, Transcript, Word,
)
from .vad import Endpointer, VadEvent, VadMark

__all__ = [
    "AsrError", "AudioFormatError", "EmergencyAudio", "Endpointer", "Expectation", "ModelCorruptError",
    "ModelNotFoundError", "RecognitionStream", "Recognizer", "Stage", "Transcript", "VadEvent", "VadMark",
    "VoskRecognizer",
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
                      whisper_cache_dir=None, whisper_sha256=None, workers: int | None = None,
                      threads: int | None = None, whisper_scoring: str = "auto",
                      whisper_beam_size: int = 5, whisper_compute_type: str = "int8",
                      whisper_scorer: str = "int8", whisper_text_beam_size: int = 1,
                      whisper_text_decoder: str = "auto",
                      whisper_views: tuple[float, ...] = (0.9, 1.1),
                      whisper_prune_labels: int | None = None, whisper_view_phrases: int | None = None,
                      whisper_pack_phrases: int | None = None,
                      whisper_audio_intent: bool = True, whisper_audio_emergency: bool = True,
                      whisper_wide_encoder: bool = True) -> Recognizer:
    """The configured recognizer. ``auto``: Vosk when a Vosk model directory is configured
    (an Indonesian one, normally), else the bundled Whisper-base. ``workers``: utterances
    decoded at once and ``threads``: threads one Whisper utterance may use (None: one per
    core); ``whisper_scoring``: "auto", "full" or "fast"; ``whisper_scorer``: the phrase
    scorer's precision, "int8" or "float32"; ``whisper_beam_size``: beam of free transcription,
    ``whisper_text_beam_size``: of the transcript decoded beside the phrase scoring, and
    ``whisper_text_decoder`` its engine when greedy: "auto", "int8" or "ctranslate2";
    ``whisper_views``: speeds at which menu utterances are heard again (see
    asr.whisper_backend); ``whisper_prune_labels``: a menu's second stage scores only the audio
    classifier's this many leading labels (and the emergency label, and the first stage's leader;
    0: every label), ``whisper_view_phrases``: the extra hearings score only each leading label's
    this many best phrases (0: all), ``whisper_pack_phrases``: phrases per row of an int8 batch,
    packed as a tree of their shared first tokens (0 or 1: one a row); None: the recognizer's
    defaults; ``whisper_audio_intent``: fuse the audio intent classifier
    (asr.audio_intent) into large menus' posteriors; ``whisper_audio_emergency``: put the
    audio's own emergency readings (asr.audio_emergency) on menu transcripts (off where nothing
    reads them: the hotline reads them only with its ``emergency_audio`` setting);
    ``whisper_wide_encoder``: a lone utterance's encoder pass on every core (a second model copy)."""
    if engine == "auto":
        engine = "vosk" if vosk_model_dir else "whisper"
    if engine == "vosk":
        from .vosk_backend import VoskRecognizer

        return VoskRecognizer(vosk_model_dir, workers=workers)
    if engine == "whisper":
        from dataclasses import replace

        from .whisper_backend import WhisperOptions, WhisperRecognizer

        if whisper_scoring not in ("auto", "full", "fast"):
            raise ValueError(f"unknown Whisper scoring {whisper_scoring!r}; use auto, full or fast")
        if whisper_scorer not in ("int8", "float32"):
            raise ValueError(f"unknown Whisper scorer precision {whisper_scorer!r}; use int8 or float32")
        if whisper_text_decoder not in ("auto", "int8", "ctranslate2"):
            raise ValueError(f"unknown Whisper text decoder {whisper_text_decoder!r}; use auto, int8 or ctranslate2")
        options = WhisperOptions(scoring=whisper_scoring, beam_size=whisper_beam_size,
                                 prompted_beam_size=whisper_text_beam_size, scorer_precision=whisper_scorer,
                                 text_decoder=whisper_text_decoder, views=tuple(whisper_views),
                                 audio_intent=whisper_audio_intent, audio_emergency=whisper_audio_emergency,
                                 wide_encoder=whisper_wide_encoder)
        if whisper_prune_labels is not None:
            options = replace(options, prune_labels=whisper_prune_labels)
        if whisper_view_phrases is not None:
            options = replace(options, view_phrases=whisper_view_phrases)
        if whisper_pack_phrases is not None:
            options = replace(options, pack_phrases=whisper_pack_phrases)
        return WhisperRecognizer(whisper_model_dir, whisper_cache_dir, whisper_sha256, workers=workers,
                                 options=options, threads=threads, compute_type=whisper_compute_type)
    raise ValueError(f"unknown recognizer engine {engine!r}; use vosk, whisper or auto")
