"""A complaint request that names its category ("saya mau lapor jalan rusak"): how often the
category question is skipped with the right category (`carried` of complaint_category), how
often a wrong one is taken, how often it is asked; and for requests naming none, that the
question is asked. Typed, and spoken (espeak-ng voices through the 8 kHz telephone chain, the
live understander in the main menu; the engine then gets the transcript and the decision).

The requests are written apart from the script's option phrases and pengaduan examples.

    PYTHONPATH=. python bench/bench_carried.py [--voices 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter

NAMING = [
    ("saya mau lapor jalan rusak di depan sekolah", "infrastruktur"),
    ("mau mengadukan lampu jalan mati sudah seminggu", "infrastruktur"),
    ("mau lapor jembatan rusak di desa kami", "infrastruktur"),
    ("mau lapor sampah menumpuk di pasar", "kebersihan"),
    ("saya mau komplain sampah tidak diangkut", "kebersihan"),
    ("mau melaporkan pungli di kantor kelurahan", "pelayanan"),
    ("saya mau mengadukan petugas tidak ramah", "pelayanan"),
    ("mau lapor ada pungutan liar di kecamatan", "pelayanan"),
]
GENERIC = ["saya mau mengadu", "mau buat pengaduan", "halo saya mau lapor", "saya ingin menyampaikan keluhan",
           "mau komplain pak"]
VOICES = [("id+m3", 150, 50), ("id+f2", 140, 60), ("id", 160, 45)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--voices", type=int, default=2, help=f"voices (1-{len(VOICES)})")
    args = ap.parse_args()

    from asr import audio
    from dialogs import CallStarted, DialogEngine, Heard, default_script_path, load_script
    from ivr.calls.engines import build_recognizer
    from ivr.calls.understand import live_understander
    from ivr.config.settings import load_settings
    from tests import speechgen

    script = load_script(default_script_path())
    items = [(t, g) for t, g in NAMING] + [(t, None) for t in GENERIC]

    def outcome(heard: Heard, gold: str | None) -> str:
        e = DialogEngine(script)
        e.handle(CallStarted())
        e.handle(heard)
        if e.state == "complaint_location":
            return "carried_right" if e.variables.get("category") == gold else "carried_wrong"
        if e.state == "complaint_category":
            return "asked"
        return "confirming" if e.phase == "confirming" else "not_complaint"

    typed: Counter[tuple[str, str]] = Counter()
    for text, gold in items:
        kind = "naming" if gold else "generic"
        typed[(kind, "n")] += 1
        typed[(kind, outcome(Heard(text=text), gold))] += 1

    rec = build_recognizer(load_settings())
    und = live_understander(rec, script)
    listen = script.listen_action("main_menu")
    spoken: Counter[tuple[str, str]] = Counter()
    lines: list[str] = []
    t0 = time.monotonic()

    async def run() -> None:
        for voice, rate, pitch in VOICES[:args.voices]:
            for k, (text, gold) in enumerate(items):
                pcm = speechgen.phone_utterance(text, voice, rate, pitch, level_dbfs=-24, snr_db=25, seed=k)
                res = await und.understand_pcm(audio.resample(pcm, 8000, 16000), 16000, listen)
                kind = "naming" if gold else "generic"
                got = outcome(Heard(res.text, res.confidence, intent=res.intent, emergency=res.emergency), gold)
                spoken[(kind, "n")] += 1
                spoken[(kind, got)] += 1
                lines.append(f"  {voice} {text!r} -> {res.intent} {res.confidence:.2f} {res.text!r}: {got}")

    try:
        asyncio.run(run())
    finally:
        rec.close()

    def show(c: Counter[tuple[str, str]], name: str) -> None:
        for kind in ("naming", "generic"):
            n = c[(kind, "n")]
            parts = ", ".join(f"{k} {c[(kind, k)]}" for k in ("carried_right", "carried_wrong", "asked", "confirming",
                                                              "not_complaint"))
            print(f"{name} {kind} ({n}): {parts}")

    show(typed, "typed")
    show(spoken, f"spoken ({args.voices} voices, {time.monotonic() - t0:.0f} s)")
    for line in lines:
        print(line)
    print(json.dumps({"bench": "carried", "voices": args.voices,
                      "typed": {f"{k}_{m}": v for (k, m), v in typed.items()},
                      "spoken": {f"{k}_{m}": v for (k, m), v in spoken.items()}}))


if __name__ == "__main__":
    main()
