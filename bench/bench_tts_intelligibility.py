"""How well Whisper understands our espeak-ng Indonesian, with and without the pronunciation
fixes of tts/espeak_lexicon.py, over a telephone chain (8 kHz, mu-law). Conditions: "plain"
(no fixes), "default" (the "sy" fix), "pepet" (also stressed "e" as a schwa).

Digit strings (ticket/phone numbers as the hotline reads them) and sentences with pepet words,
three voices. Whisper-base (the bundled model), language "id", int8, temperature 0, beam 5.
Reports digit accuracy and word error rate per condition; prints one final JSON line.

    python bench/bench_tts_intelligibility.py [--n 40]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time

import numpy as np

from tts import EspeakSynthesizer, resample
from tts.textprep import DIGITS

SENTENCES = [
    "Tekan enam untuk cek status pengaduan.",
    "Tekan empat untuk bantuan sosial.",
    "Laporkan dalam empat belas hari kerja.",
    "Segera datang dengan berkas lengkap.",
    "Pesan Anda sudah kami terima dengan benar.",
    "Bawa kartu keluarga dan surat keterangan dari kelurahan setempat.",
    "Masyarakat wajib membawa syarat yang lengkap.",
    "Jelaskan dengan singkat apa yang terjadi.",
    "Tempat layanan buka setiap hari kerja.",
    "Kelas ibu hamil diadakan di puskesmas setiap pekan.",
]
WORD_DIGITS = {w: str(i) for i, w in enumerate(DIGITS)} | {"kosong": "0"}


def telephone(pcm: bytes, rate: int) -> np.ndarray:
    """8 kHz mu-law round trip, back to 16 kHz float for Whisper."""
    from tts import Audio

    a8 = resample(Audio(pcm, rate), 8000)
    x = np.frombuffer(a8.pcm, dtype="<i2").astype(np.float64) / 32768
    mu = 255.0
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    y = np.round(y * 127) / 127  # 8-bit code
    x = np.sign(y) * ((1 + mu) ** np.abs(y) - 1) / mu
    a16 = resample(Audio((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes(), 8000), 16000)
    return np.frombuffer(a16.pcm, dtype="<i2").astype(np.float32) / 32768


def norm_words(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", " ", text.lower()).split()


def digits_of(text: str) -> str:
    out = []
    for w in norm_words(text):
        if w.isdigit():
            out.append(w)
        elif w in WORD_DIGITS:
            out.append(WORD_DIGITS[w])
    return "".join(out)


def edit_distance(a: list, b: list) -> int:
    d = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, y in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (x != y))
    return d[len(b)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=15, help="digit strings per voice")
    args = parser.parse_args()
    from faster_whisper import WhisperModel

    from asr.whisper_model import ensure_bundled_model

    model = WhisperModel(str(ensure_bundled_model()), device="cpu", compute_type="int8", cpu_threads=2)
    rng = random.Random(7)
    numbers = ["".join(rng.choice("0123456789") for _ in range(rng.randint(4, 6))) for _ in range(args.n)]
    voices = ["id", "id+m3", "id+f2"]
    results = {}
    conditions = {"plain": {"fix_pronunciation": False}, "default": {}, "pepet": {"pepet": True}}
    for key, options in conditions.items():
        digit_err = digit_total = word_err = word_total = 0
        started = time.perf_counter()
        for voice in voices:
            synth = EspeakSynthesizer(voice, **options)
            for number in numbers:
                audio = synth.synthesize_sync(f"Nomor tiket {' '.join(number)}.")
                segments, _ = model.transcribe(
                    telephone(audio.pcm, audio.sample_rate), language="id", beam_size=5, temperature=0,
                    without_timestamps=True, condition_on_previous_text=False, vad_filter=False,
                )
                heard = digits_of(" ".join(s.text for s in segments))
                digit_err += edit_distance(list(number), list(heard))
                digit_total += len(number)
            for sentence in SENTENCES:
                audio = synth.synthesize_sync(sentence)
                segments, _ = model.transcribe(
                    telephone(audio.pcm, audio.sample_rate), language="id", beam_size=5, temperature=0,
                    without_timestamps=True, condition_on_previous_text=False, vad_filter=False,
                )
                ref, hyp = norm_words(sentence), norm_words(" ".join(s.text for s in segments))
                word_err += edit_distance(ref, hyp)
                word_total += len(ref)
        results[key] = {
            "digit_error_rate": round(digit_err / digit_total, 4),
            "word_error_rate": round(word_err / word_total, 4),
            "seconds": round(time.perf_counter() - started, 1),
        }
        print(f"{key:8s} digit error rate {results[key]['digit_error_rate']:.1%}  "
              f"sentence WER {results[key]['word_error_rate']:.1%}  ({results[key]['seconds']} s)")
    print(json.dumps({"bench": "tts_intelligibility", "voices": voices, "numbers": args.n,
                      "sentences": len(SENTENCES), **results}))


if __name__ == "__main__":
    main()
