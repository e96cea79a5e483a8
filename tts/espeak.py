"""espeak-ng synthesis in-process, through the library bundled by `espeakng-loader`.

libespeak-ng keeps its state in globals and is NOT thread-safe. Every call into it goes
through `_Engine`, a process-wide singleton that holds a lock; `EspeakSynthesizer.synthesize`
runs on one shared worker thread (`espeak` executor, max_workers=1), and
`synthesize_sync` takes the same lock, so calls from any thread are serialised. Since the
library holds one current voice, each call re-applies its synthesizer's voice and
parameters when another synthesizer changed them.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import threading
from dataclasses import dataclass

from tts.base import Audio, SynthesisError, Synthesizer, check_text
from tts.espeak_lexicon import Respeller
from tts.textprep import prepare_text

# espeak_AUDIO_OUTPUT
_AUDIO_OUTPUT_SYNCHRONOUS = 2
# espeak_Initialize options
_INITIALIZE_DONT_EXIT = 0x8000
# espeak_PARAMETER
_RATE, _VOLUME, _PITCH, _RANGE, _WORDGAP = 1, 2, 3, 4, 7
# espeak_Synth flags
_CHARS_UTF8 = 1
_PHONEMES = 0x100  # text within [[ ]] is espeak phoneme input
_ENDPAUSE = 0x1000
# espeak_POSITION_TYPE
_POS_CHARACTER = 1
# espeak_ERROR
_EE_OK, _EE_NOT_FOUND = 0, 2

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


@dataclass(frozen=True)
class EspeakSettings:
    """Everything that shapes espeak's output. Defaults suit 8 kHz phone prompts."""

    voice: str = "id"
    rate: int = 160  # words per minute, 80..450
    pitch: int = 50  # 0..100
    pitch_range: int = 50  # 0..100, intonation
    volume: int = 100  # 0..200
    word_gap: int = 0  # extra pause between words, in 10 ms units

    def __post_init__(self) -> None:
        checks = {
            "rate": (self.rate, 80, 450),
            "pitch": (self.pitch, 0, 100),
            "pitch_range": (self.pitch_range, 0, 100),
            "volume": (self.volume, 0, 200),
            "word_gap": (self.word_gap, 0, 100),
        }
        for field, (value, low, high) in checks.items():
            if not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"espeak {field} must be an integer in {low}..{high}, got {value!r}")
        if not self.voice or any(ch.isspace() for ch in self.voice):
            raise ValueError(f"invalid espeak voice name {self.voice!r}")


class _Engine:
    """The one libespeak-ng of this process. All methods take `lock`."""

    _instance: _Engine | None = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - it is a hard dependency
            raise SynthesisError("espeakng-loader is not installed: pip install espeakng-loader") from exc
        self.lock = threading.Lock()
        lib_path = espeakng_loader.get_library_path()
        data_path = espeakng_loader.get_data_path()
        try:
            lib = ctypes.CDLL(lib_path)
        except OSError as exc:
            raise SynthesisError(f"cannot load libespeak-ng from {lib_path}: {exc}") from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = None
        self._lib = lib
        self._chunks: list[bytes] = []
        self._callback = _SYNTH_CALLBACK(self._on_samples)  # keep a reference: C holds it
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 200, data_path.encode(), _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise SynthesisError(f"espeak_Initialize failed ({rate}); data path {data_path}")
        self.sample_rate = rate
        lib.espeak_SetSynthCallback(self._callback)
        self._current: EspeakSettings | None = None
        self._respellers: dict[str, Respeller] = {}

    @classmethod
    def get(cls) -> _Engine:
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _on_samples(self, wav, numsamples, _events) -> int:  # type: ignore[no-untyped-def]
        if numsamples > 0 and wav:
            self._chunks.append(ctypes.string_at(wav, numsamples * 2))
        return 0  # 0 = continue

    def _apply(self, settings: EspeakSettings) -> None:
        # caller holds the lock
        if self._current == settings:
            return
        self._current = None
        err = self._lib.espeak_SetVoiceByName(settings.voice.encode())
        if err != _EE_OK:
            if err == _EE_NOT_FOUND:
                raise SynthesisError(f"espeak voice {settings.voice!r} not found (try 'id', 'id+m3', 'id+f2')")
            raise SynthesisError(f"espeak_SetVoiceByName({settings.voice!r}) failed ({err})")
        for param, value in (
            (_RATE, settings.rate), (_PITCH, settings.pitch), (_RANGE, settings.pitch_range),
            (_VOLUME, settings.volume), (_WORDGAP, settings.word_gap),
        ):
            err = self._lib.espeak_SetParameter(param, value, 0)
            if err != _EE_OK:
                raise SynthesisError(f"espeak_SetParameter({param}, {value}) failed ({err})")
        self._current = settings

    def check_voice(self, settings: EspeakSettings) -> None:
        with self.lock:
            self._apply(settings)

    def _respell(self, text: str, settings: EspeakSettings, fix: bool, pepet: bool) -> str:
        # caller holds the lock and has applied `settings`
        language = settings.voice.split("+")[0]
        if not fix or language != "id":
            return text
        key = f"{language}:{int(pepet)}"
        respeller = self._respellers.get(key)
        if respeller is None:
            respeller = self._respellers[key] = Respeller(
                lambda w: self._phonemes_locked(w, ipa=False), pepet=pepet
            )
        return respeller.respell(text)

    def synthesize(self, text: str, settings: EspeakSettings, fix: bool = True, pepet: bool = False) -> bytes:
        with self.lock:
            self._apply(settings)
            data = self._respell(text, settings, fix, pepet).encode("utf-8") + b"\0"
            self._chunks = []
            self._lib.espeak_ng_SetRandSeed(1)  # some voice variants add random noise
            err = self._lib.espeak_Synth(
                data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _ENDPAUSE | _PHONEMES, None, None
            )
            if err != _EE_OK:
                self._chunks = []
                raise SynthesisError(f"espeak_Synth failed ({err})")
            self._lib.espeak_Synchronize()
            pcm = b"".join(self._chunks)
            self._chunks = []
        return pcm

    def _phonemes_locked(self, text: str, ipa: bool) -> str:
        data = ctypes.create_string_buffer(text.encode("utf-8"))
        pointer = ctypes.c_void_p(ctypes.addressof(data))
        parts: list[str] = []
        while pointer.value:
            out = self._lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, 0x02 if ipa else 0)
            if out:
                parts.append(out.decode("utf-8", errors="replace").strip())
        return " ".join(p for p in parts if p)

    def phonemes(self, text: str, settings: EspeakSettings, ipa: bool = True) -> str:
        """espeak's own phonemes for `text` (without the respelling fixes)."""
        with self.lock:
            self._apply(settings)
            return self._phonemes_locked(text, ipa)

    def respelled(self, text: str, settings: EspeakSettings, pepet: bool = False) -> str:
        """The text as handed to espeak_Synth, with pronunciation fixes as [[phonemes]]."""
        with self.lock:
            self._apply(settings)
            return self._respell(text, settings, True, pepet)


_executor_lock = threading.Lock()
_executor: concurrent.futures.ThreadPoolExecutor | None = None


def _espeak_executor() -> concurrent.futures.ThreadPoolExecutor:
    """The single worker thread shared by every EspeakSynthesizer of the process."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="espeak")
        return _executor


class EspeakSynthesizer(Synthesizer):
    """espeak-ng, Indonesian by default; output at the library's rate (22050 Hz).

    `voice` is an espeak voice name with an optional variant: "id", "id+m3", "id+f2", ...
    `fix_pronunciation` applies tts.espeak_lexicon ("sy" as [ʃ]); `pepet=True` also turns
    stressed "e" into a schwa (off by default: measured to make words harder to recognise).
    espeak phoneme input ("[[...]]") is enabled; `prepare_text` strips brackets from caller
    text, so with `prepare=False` the caller may pass phonemes on purpose.
    Calls are serialised process-wide (libespeak-ng is not thread-safe); `synthesize` runs on
    one shared worker thread.
    """

    name = "espeak"

    def __init__(
        self,
        voice: str = "id",
        rate: int = 160,
        pitch: int = 50,
        *,
        pitch_range: int = 50,
        volume: int = 100,
        word_gap: int = 0,
        prepare: bool = True,
        fix_pronunciation: bool = True,
        pepet: bool = False,
    ) -> None:
        try:
            self.settings = EspeakSettings(voice, rate, pitch, pitch_range, volume, word_gap)
        except ValueError as exc:
            raise SynthesisError(str(exc)) from exc
        self.voice = voice
        self.prepare = prepare
        self.fix_pronunciation = fix_pronunciation
        self.pepet = pepet
        self._engine = _Engine.get()
        self._engine.check_voice(self.settings)  # unknown voice -> clear error now
        self.sample_rate = self._engine.sample_rate

    @property
    def _executor(self) -> concurrent.futures.Executor:
        return _espeak_executor()

    def settings_key(self) -> str:
        s = self.settings
        return (
            f"espeak:{s.voice}:rate={s.rate}:pitch={s.pitch}:range={s.pitch_range}"
            f":vol={s.volume}:gap={s.word_gap}:prep={int(self.prepare)}:fix={int(self.fix_pronunciation)}{int(self.pepet)}"
        )

    def synthesize_sync(self, text: str) -> Audio:
        check_text(text)
        spoken = prepare_text(text) if self.prepare else text
        if not spoken.strip():
            raise SynthesisError(f"nothing to say in {text!r}")
        pcm = self._engine.synthesize(spoken, self.settings, fix=self.fix_pronunciation, pepet=self.pepet)
        if not pcm:
            raise SynthesisError("espeak produced no audio")
        return Audio(pcm, self.sample_rate)

    def phonemes(self, text: str, ipa: bool = True) -> str:
        """espeak's own phonemes for `text` after text preparation (IPA or espeak's ASCII),
        before the pronunciation fixes of `respelled`."""
        check_text(text)
        spoken = prepare_text(text) if self.prepare else text
        return self._engine.phonemes(spoken, self.settings, ipa=ipa)

    def respelled(self, text: str) -> str:
        """What is handed to libespeak-ng: prepared text with fixes as [[phonemes]]."""
        check_text(text)
        spoken = prepare_text(text) if self.prepare else text
        if not self.fix_pronunciation:
            return spoken
        return self._engine.respelled(spoken, self.settings, pepet=self.pepet)

    def __repr__(self) -> str:
        return f"EspeakSynthesizer({self.settings_key()})"
