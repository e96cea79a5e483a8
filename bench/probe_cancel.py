"""A caller cancelling a complaint on the phone ("batal", "tidak jadi", "kembali ke menu utama"):
how often the spoken words leave the complaint, per step of the flow, and how often an ordinary
answer at that step is taken for a cancel (it must never be). The cancel is a check of the
transcript's words (``flows.<id>.cancel``), so this measures whether Whisper writes them; words
that only sound like a cancel ("Matal") are asked back ("Apakah Anda ingin membatalkan ...?"),
counted here as left when the caller's "ya" then leaves, and reported apart.

Spoken by espeak-ng voices through the 8 kHz telephone chain, decided by the live understander
with the step's own listen (choice, free text, yes/no), then handed to the dialog engine placed
at that step.

    PYTHONPATH=. python bench/probe_cancel.py [--voices 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spoken_turns import VOICES, SpokenTurns, voices_arg  # noqa: E402

CANCELS = ["batal", "tidak jadi", "batal saja", "tidak jadi deh", "kembali ke menu utama", "nggak jadi",
           "batalkan pengaduan"]
# ordinary answers at each step (must not cancel)
ANSWERS = {
    "complaint_category": ["jalan rusak", "sampah menumpuk", "pelayanan petugas"],
    "complaint_location": ["di depan pasar kemiri", "kelurahan sukamaju kecamatan cibeunying",
                           "dekat masjid raya"],
    "complaint_description": ["jalannya berlubang sejak bulan lalu", "sampah tidak diangkut dua minggu"],
    "complaint_identity": ["ya", "tidak", "tidak usah"],
}
# typed turns that bring a fresh engine to each step
PATHS = {
    "complaint_category": ["saya mau buat pengaduan"],
    "complaint_location": ["saya mau buat pengaduan", "jalan rusak"],
    "complaint_description": ["saya mau buat pengaduan", "jalan rusak", "di depan pasar"],
    "complaint_identity": ["saya mau buat pengaduan", "jalan rusak", "di depan pasar", "jalan berlubang"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    voices_arg(ap)
    args = ap.parse_args()

    from dialogs import CallStarted, DialogEngine, Heard, default_script_path, load_script

    script = load_script(default_script_path())

    def engine_at(step: str) -> DialogEngine:
        e = DialogEngine(script)
        e.handle(CallStarted())
        for text in PATHS[step]:
            e.handle(Heard(text=text))
        assert e.state == step, (step, e.state)
        return e

    def outcome(step: str, heard: Heard) -> str:
        """"left" (at once), "asked" (the garbled cancel asked back: a "ya" then leaves) or
        "stayed" (taken as the step's answer, a miss, or anything else)."""
        e = engine_at(step)
        e.handle(heard)
        if e.state == "main_menu" and "category" not in e.variables:
            return "left"
        if e.phase == "confirming" and e.snapshot()["pending"] == "batal":
            e.handle(Heard("ya", 0.9, intent="yes"))
            assert e.state == "main_menu", e.state
            return "asked"
        return "stayed"

    def cancelled(step: str, heard: Heard) -> bool:
        return outcome(step, heard) != "stayed"

    typed = Counter[str]()
    for step in PATHS:
        for text in CANCELS:
            typed["cancel_n"] += 1
            typed["cancel_left"] += cancelled(step, Heard(text=text))
        for text in ANSWERS[step]:
            typed["answer_n"] += 1
            typed["answer_left"] += cancelled(step, Heard(text=text))

    turns = SpokenTurns(script)
    spoken: Counter[str] = Counter()
    per_step: Counter[tuple[str, str]] = Counter()
    lines: list[str] = []
    t0 = time.monotonic()

    async def run() -> None:
        for v, voice in enumerate(VOICES[:args.voices]):
            for step in PATHS:
                listen = script.listen_action(step)
                for kind, texts in (("cancel", CANCELS), ("answer", ANSWERS[step])):
                    for k, text in enumerate(texts):
                        res = await turns.heard(text, listen, voice, seed=100 * v + k)
                        got = outcome(step, res)
                        left = got != "stayed"
                        spoken[f"{kind}_n"] += 1
                        spoken[f"{kind}_left"] += left
                        spoken[f"{kind}_asked"] += got == "asked"
                        per_step[(step, f"{kind}_n")] += 1
                        per_step[(step, f"{kind}_left")] += left
                        if kind == "cancel" and not left or kind == "answer" and left:
                            lines.append(f"  {voice[0]} {step} {text!r} -> {res.text!r} ({res.intent})")

    try:
        asyncio.run(run())
    finally:
        turns.close()

    print(f"typed: cancels that leave {typed['cancel_left']}/{typed['cancel_n']}, "
          f"answers taken for a cancel {typed['answer_left']}/{typed['answer_n']}")
    print(f"spoken ({args.voices} voices, {time.monotonic() - t0:.0f} s): cancels that leave "
          f"{spoken['cancel_left']}/{spoken['cancel_n']} (of them asked back first "
          f"{spoken['cancel_asked']}), answers taken for a cancel {spoken['answer_left']}/{spoken['answer_n']} "
          f"(asked back {spoken['answer_asked']})")
    for step in PATHS:
        print(f"  {step}: cancels {per_step[(step, 'cancel_left')]}/{per_step[(step, 'cancel_n')]}, "
              f"answers cancelled {per_step[(step, 'answer_left')]}/{per_step[(step, 'answer_n')]}")
    print("missed cancels / answers taken for one:")
    for line in lines:
        print(line)
    print(json.dumps({"bench": "probe_cancel", "voices": args.voices, "typed": dict(typed), "spoken": dict(spoken),
                      "per_step": {f"{s}.{k}": n for (s, k), n in per_step.items()}}))


if __name__ == "__main__":
    main()
