"""How many typed requests of the intent test sets ask a question along with naming a service,
and now hear the reply to that question first (phase 14, helper question).

Each request is the caller's first sentence in the main menu (as `bench_dialogs_intents.py`'s
engine figures); a request the engine asks about ("Maksud Anda ...?") is answered "ya". A
request "answered first" hears a reply of its service's `answers:` and the `offer_answer`
prompt instead of the whole answer. Also counted: requests that carry a question's cue words
(`IntentMatcher.keyword_intents`) and reached a service's answer state without being answered
first (the whole answer, as before), and answered-first requests whose gold label is not the
service they reached. Prints figures per set, the requests, then one JSON line.

    python bench/probe_answer_first.py [--script S] [--data A.tsv B.tsv]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dialogs import DialogEngine, Heard, Say, default_script_path, load_script
from dialogs.model import Script

DATA_DIR = Path(__file__).parent / "data"
DATA = [DATA_DIR / "intents_test.tsv", DATA_DIR / "intents_fresh.tsv", DATA_DIR / "intents_heldout.tsv"]


def read_set(path: Path) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("text\t"):
            continue
        text, gold = line.split("\t")
        rows.append((text, gold))
    return rows


def first_turn(script: Script, text: str) -> tuple[DialogEngine, str]:
    """The engine after ``text`` in the main menu ("ya" to a "Maksud Anda ...?"), and what the
    caller heard last."""
    e = DialogEngine(script)
    e.start()
    out = e.handle(Heard(text))
    if e.phase == "confirming":
        out = e.handle(Heard("ya"))
    return e, " ".join(a.text for a in out if isinstance(a, Say))


def probe(script: Script, rows: list[tuple[str, str]]) -> tuple[dict[str, int], list[tuple[str, ...]]]:
    answering = {sid for sid, st in script.states.items() if st.answers}
    n = first = cued_whole = wrong = heard_chars = whole_chars = 0
    listed: list[tuple[str, ...]] = []
    for text, gold in rows:
        n += 1
        e, heard = first_turn(script, text)
        cues = sorted(q for q in script.matcher.keyword_intents(text) if q in script.questions)
        offered = e.snapshot()["offered"]
        if offered:
            first += 1
            answered = e.snapshot()["answered"] or ""
            wrong += gold != e.last_intent
            heard_chars += len(heard)
            whole_chars += sum(len(p.text) for p in script.states[str(e.state)].say)
            listed.append(("first", text, gold, str(e.state), answered))
        elif cues and e.state in answering:
            cued_whole += 1
            listed.append(("whole", text, gold, str(e.state), ",".join(cues)))
    return {"requests": n, "answered_first": first, "cued_but_whole_answer": cued_whole,
            "answered_first_wrong_service": wrong, "heard_chars": heard_chars, "whole_answer_chars": whole_chars}, listed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", type=Path, default=default_script_path())
    ap.add_argument("--data", type=Path, nargs="+", default=DATA)
    args = ap.parse_args()
    script = load_script(args.script)
    per_set: dict[str, dict[str, int]] = {}
    total = {"requests": 0, "answered_first": 0, "cued_but_whole_answer": 0, "answered_first_wrong_service": 0,
             "heard_chars": 0, "whole_answer_chars": 0}
    for path in args.data:
        name = path.stem.removeprefix("intents_")
        figures, listed = probe(script, read_set(path))
        per_set[name] = figures
        for k, v in figures.items():
            total[k] += v
        print(f"[{name}] {figures['requests']} requests: {figures['answered_first']} answered first "
              f"({figures['answered_first_wrong_service']} at a service not their label), "
              f"{figures['cued_but_whole_answer']} with a question's cue words heard the whole answer")
        for row in listed:
            print("  ", " | ".join(row))
    # spoken length: about 250 characters in 15 s (engine.LONG_ANSWER_CHARS)
    n_first = max(1, total["answered_first"])
    print(f"answered first: {total['answered_first']} of {total['requests']}; heard {total['heard_chars'] / n_first:.0f} "
          f"characters on average (about {total['heard_chars'] / n_first * 15 / 250:.0f} s) instead of the whole "
          f"answer's {total['whole_answer_chars'] / n_first:.0f} (about {total['whole_answer_chars'] / n_first * 15 / 250:.0f} s)")
    print(json.dumps({"bench": "answer_first", **total, "sets": per_set}))


if __name__ == "__main__":
    main()
