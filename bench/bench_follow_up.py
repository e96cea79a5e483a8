"""Follow-up questions after an answer, typed and spoken: how often the hotline answers the
question asked ("berapa lama jadinya?" after the KTP answer), answers a wrong one, or takes
something else (thanks, another service, "menu utama") for a question.

Phrasings here are not the script's examples (held out: written for this bench). Speech is
espeak-ng through the 8 kHz telephone chain in several voices, recognised by the live
understander with the state's expectations, as `ivr nlu --audio --state` does.

    python bench/bench_follow_up.py [--voices 2] [--states info_ktp,info_bansos,info_pajak_kendaraan]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# held-out phrasings: (text, expected intent); "service" = the state's own service or another
QUESTIONS: list[tuple[str, str]] = [
    ("kalau syaratnya apa", "tanya_syarat"), ("dokumennya apa saja", "tanya_syarat"),
    ("apa saja yang harus saya bawa", "tanya_syarat"),
    ("biayanya berapa ya", "tanya_biaya"), ("ada biaya tidak", "tanya_biaya"),
    ("bayar tidak", "tanya_biaya"),
    ("tempatnya di mana", "tanya_tempat"), ("saya harus ke mana", "tanya_tempat"),
    ("bisa online tidak ya", "tanya_tempat"),
    ("jam berapa kantornya buka", "tanya_jam"), ("hari sabtu buka tidak", "tanya_jam"),
    ("kantornya tutup jam berapa", "tanya_jam"),
    ("berapa lama prosesnya", "tanya_lama"), ("kira kira berapa hari", "tanya_lama"),
    ("kapan bisa selesai", "tanya_lama"),
]
OTHERS: list[tuple[str, str]] = [
    ("terima kasih", "selesai"), ("sudah cukup itu saja", "selesai"), ("kembali ke menu utama", "menu"),
    ("tolong diulangi", "ulangi"), ("saya mau bicara dengan petugas", "petugas"),
    ("saya juga mau urus kartu keluarga", "kk"), ("kalau akta kelahiran bagaimana", "akta_kelahiran"),
    ("saya mau lapor pungli", "pengaduan"),
]
VOICES = [("id+m3", 160, 50), ("id+f2", 150, 60), ("id", 175, 45), ("id+m1", 165, 40)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--voices", type=int, default=2, help=f"voices (1-{len(VOICES)})")
    ap.add_argument("--states", default="info_ktp,info_bansos,info_pajak_kendaraan")
    args = ap.parse_args()

    from asr import audio
    from dialogs import default_script_path, load_script
    from ivr.calls.engines import build_recognizer
    from ivr.calls.understand import live_understander
    from ivr.config.settings import load_settings
    from tests import speechgen

    script = load_script(default_script_path())
    states = args.states.split(",")
    items = [(t, g, "question") for t, g in QUESTIONS] + [(t, g, "other") for t, g in OTHERS]

    def answered(state: str, intent: str | None, conf: float) -> bool:
        return intent in script.states[state].answers and conf >= script.settings.confirm

    # typed
    typed = Counter()
    for st in states:
        for text, gold, kind in items:
            m = script.match_answer(st, text)
            if kind == "question" and gold not in script.states[st].answers:
                continue
            typed[(kind, "n")] += 1
            typed[(kind, "right")] += m.intent == gold
            typed[(kind, "wrong_question")] += answered(st, m.intent, m.confidence) and m.intent != gold
    # spoken
    rec = build_recognizer(load_settings())
    und = live_understander(rec, script)
    spoken = Counter()
    misses: list[str] = []
    t0 = time.monotonic()

    async def run() -> None:
        for st in states:
            listen = script.listen_action(st)
            for v, (voice, rate, pitch) in enumerate(VOICES[:args.voices]):
                for k, (text, gold, kind) in enumerate(items):
                    if kind == "question" and gold not in script.states[st].answers:
                        continue
                    pcm = speechgen.phone_utterance(text, voice, rate, pitch, level_dbfs=-24, snr_db=25, seed=k)
                    res = await und.understand_pcm(audio.resample(pcm, 8000, 16000), 16000, listen)
                    spoken[(kind, "n")] += 1
                    right = res.intent == gold
                    spoken[(kind, "right")] += right
                    spoken[(kind, "right_at_once")] += right and res.confidence >= script.settings.confirm
                    wrong_q = answered(st, res.intent, res.confidence) and res.intent != gold
                    spoken[(kind, "wrong_question")] += wrong_q
                    if not right:
                        misses.append(f"{st} {voice} {text!r} -> {res.intent} {res.confidence:.2f} ({res.text!r})")

    try:
        asyncio.run(run())
    finally:
        rec.close()

    def share(c: Counter, kind: str, key: str) -> float:
        return round(c[(kind, key)] / c[(kind, "n")], 3) if c[(kind, "n")] else 0.0

    print(f"typed: questions right {share(typed, 'question', 'right')} of {typed[('question', 'n')]}; "
          f"others right {share(typed, 'other', 'right')} of {typed[('other', 'n')]}, "
          f"taken as a wrong question {share(typed, 'other', 'wrong_question')}")
    print(f"spoken ({args.voices} voices): questions heard right {share(spoken, 'question', 'right')}, answered at once "
          f"{share(spoken, 'question', 'right_at_once')}, a wrong answer given {share(spoken, 'question', 'wrong_question')} "
          f"of {spoken[('question', 'n')]}; others right {share(spoken, 'other', 'right')}, taken as a question "
          f"{share(spoken, 'other', 'wrong_question')} of {spoken[('other', 'n')]} ({time.monotonic() - t0:.0f} s)")
    for m in misses:
        print("  miss:", m)
    print(json.dumps({"bench": "follow_up", "voices": args.voices, "states": states,
                      "typed": {f"{k}_{m}": v for (k, m), v in typed.items()},
                      "spoken": {f"{k}_{m}": v for (k, m), v in spoken.items()}}))


if __name__ == "__main__":
    main()
