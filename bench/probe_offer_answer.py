"""The caller's spoken answer to the offer of the whole answer ("Ingin mendengar informasi
lengkapnya? Silakan jawab ya atau tidak."), after a first request's question was answered
first (engine ``_offer_answered``): the offer keeps the answer state's own listen, so a "ya" is
read from the free transcript. How often the spoken yes and no are taken right, wrong, or not
as an answer (then heard as any other words in the state).

Spoken by espeak-ng voices through the 8 kHz telephone chain, decided by the live understander
with the answer state's listen, then handed to the engine at the offer.

    PYTHONPATH=. python bench/probe_offer_answer.py [--voices 3]
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

ANSWERS = [("ya", "yes"), ("iya", "yes"), ("boleh", "yes"), ("ya boleh", "yes"), ("iya mau", "yes"),
           ("tidak", "no"), ("nggak", "no"), ("tidak usah", "no"), ("tidak perlu", "no"), ("enggak", "no")]
# other words after the offer: heard as in the answer state (the turn's intent)
OTHERS = [("syaratnya apa", "tanya_syarat"), ("di mana tempatnya", "tanya_tempat"),
          ("berapa lama jadinya", "tanya_lama"), ("selesai", "selesai"), ("saya mau bicara dengan petugas", "petugas")]
REQUEST = "akta kelahiran biayanya berapa"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    voices_arg(ap)
    args = ap.parse_args()

    from dialogs import CallStarted, DialogEngine, Heard, Listen, Say, default_script_path, load_script

    script = load_script(default_script_path())
    probe = DialogEngine(script)
    probe.handle(CallStarted())
    offer_listen = [a for a in probe.handle(Heard(text=REQUEST)) if isinstance(a, Listen)][-1]
    state = probe.state
    assert probe.snapshot()["offered"], "the request was not answered first"
    whole = script.states[state].say[0].text

    def outcome(heard: Heard) -> str:
        e = DialogEngine(script)
        e.handle(CallStarted())
        e.handle(Heard(text=REQUEST))
        out = " ".join(a.text for a in e.handle(heard) if isinstance(a, Say))
        t = e.last_turn
        if t.outcome == "accepted" and t.intent in ("yes", "no"):
            return t.intent
        if t.outcome == "accepted" and t.intent:
            return t.intent
        if e.phase == "confirming":
            return f"asked:{e.snapshot()['pending']}"
        return "yes" if whole in out else t.outcome

    turns = SpokenTurns(script)
    listen = offer_listen  # the listen the engine emits with the offer
    got: Counter[str] = Counter()
    lines: list[str] = []
    t0 = time.monotonic()

    async def run() -> None:
        for v, voice in enumerate(VOICES[:args.voices]):
            for k, (text, gold) in enumerate(ANSWERS + OTHERS):
                res = await turns.heard(text, listen, voice, seed=10 * v + k)
                o = outcome(res)
                kind = "yesno" if (text, gold) in ANSWERS else "other"
                got[f"{kind}_n"] += 1
                got[f"{kind}_right" if o == gold else f"{kind}_wrong" if o in ("yes", "no") or not o.startswith(("asked", "no_")) and o != "other" else f"{kind}_not_taken"] += 1
                if o != gold:
                    lines.append(f"  {voice[0]} {text!r} -> {res.text!r} ({res.intent} {res.confidence:.2f}): {o}")

    try:
        asyncio.run(run())
    finally:
        turns.close()
    print(f"offer in {state} (listen {listen.kind}, {args.voices} voices, {time.monotonic() - t0:.0f} s)")
    for kind in ("yesno", "other"):
        print(f"  {kind}: right {got[f'{kind}_right']}/{got[f'{kind}_n']}, wrong {got[f'{kind}_wrong']}, "
              f"not taken (asked or not understood) {got[f'{kind}_not_taken']}")
    for line in lines:
        print(line)
    print(json.dumps({"bench": "probe_offer_answer", "voices": args.voices, "state": state, "listen": listen.kind,
                      **got}))


if __name__ == "__main__":
    main()
