"""Speech synthesis: espeak-ng (embedded default), Coqui (optional extra), text preparation
and the prompt cache. See docs/contracts.md (tts section) and docs/speech.md."""

from tts.audio import TELEPHONE_RATE, read_wav, resample, wav_bytes
from tts.base import Audio, SynthesisError, Synthesizer
from tts.cache import PromptCache
from tts.coqui import CoquiSynthesizer, coqui_available
from tts.espeak import EspeakSettings, EspeakSynthesizer
from tts.textprep import prepare_text

__all__ = [
    "TELEPHONE_RATE",
    "Audio",
    "CoquiSynthesizer",
    "EspeakSettings",
    "EspeakSynthesizer",
    "PromptCache",
    "SynthesisError",
    "Synthesizer",
    "coqui_available",
    "prepare_text",
    "read_wav",
    "resample",
    "wav_bytes",
]
