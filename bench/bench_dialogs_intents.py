"""Intent matching on the default script: accuracy, macro-F1, out-of-scope handling.

Three test sets, all written apart from the script's own examples, reported separately and
combined:

* intents_test.tsv  — the first set; the matcher was tuned on it;
* intents_fresh.tsv — written after the first tuning; used for tuning in the quality pass;
* intents_heldout.tsv — written before the quality pass changed the matcher and never used
  for tuning: the honest figure.

A prediction is the matcher's intent when its confidence reaches the script's `confirm`
threshold (the engine acts on it, asking a yes/no question below `accept`), otherwise "none".
Prints figures per set and, last, one JSON line (per-set figures under "sets", the combined
ones at the top level).

    python bench/bench_dialogs_intents.py [--script S] [--data A.tsv B.tsv] [--errors]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from dialogs import default_script_path, load_script

DATA_DIR = Path(__file__).parent / "data"
DATA = [DATA_DIR / "intents_test.tsv", DATA_DIR / "intents_fresh.tsv",
        DATA_DIR / "intents_heldout.tsv"]


def read_set(path: Path) -> list[tuple[str, str]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#") or line.startswith("text\t"):
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise SystemExit(f"{path}:{n}: expected 'text<TAB>intent', got {line!r}")
        rows.append((parts[0], parts[1]))
    return rows


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    labels = sorted({g for g, _ in pairs} | {p for _, p in pairs})
    f1s = []
    for lab in labels:
        tp = sum(1 for g, p in pairs if g == lab and p == lab)
        fp = sum(1 for g, p in pairs if g != lab and p == lab)
        fn = sum(1 for g, p in pairs if g == lab and p != lab)
        if tp + fp + fn == 0:
            continue
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / len(f1s)


def engine_routing(script, rows: list[tuple[str, str]]) -> dict:
    """What the engine does with each utterance as the first answer in the main menu."""
    from dialogs import DialogEngine, Heard

    direct = confirmed = submenu = n_in = oos_sent = oos_asked = n_oos = oos_told = oos_referred = 0
    for text, gold in rows:
        e = DialogEngine(script)
        e.start()
        e.handle(Heard(text))
        if e.phase == "confirming":
            got, how = e.snapshot()["pending"], "confirm"
        elif e.last_intent is not None:
            got, how = e.last_intent, "direct"
        elif e.state in script.menu_states - {script.entry_menu}:
            got, how = e.state, "submenu"
        else:
            got, how = None, "none"
        if gold == "none":
            n_oos += 1
            oos_sent += how == "direct"
            oos_asked += how == "confirm"
            # told "di luar layanan" (the turn's topic), and where to go (the topic's own `say`)
            topic = e.last_turn.beyond if e.last_turn is not None else None
            oos_told += topic is not None
            t = script.out_of_scope_topics.get(topic) if topic is not None else None
            oos_referred += t is not None and getattr(t, "say", None) is not None
        else:
            n_in += 1
            direct += how == "direct" and got == gold
            confirmed += how == "confirm" and got == gold
            submenu += how == "submenu"
    return {
        "engine_in_scope_routed": round((direct + confirmed) / max(1, n_in), 4),
        "engine_in_scope_direct": round(direct / max(1, n_in), 4),
        "engine_in_scope_confirmed": round(confirmed / max(1, n_in), 4),
        "engine_in_scope_submenu": round(submenu / max(1, n_in), 4),
        "engine_oos_sent_to_service": round(oos_sent / max(1, n_oos), 4),
        "engine_oos_confirmation_asked": round(oos_asked / max(1, n_oos), 4),
        "engine_oos_told_beyond": round(oos_told / max(1, n_oos), 4),
        "engine_oos_referred": round(oos_referred / max(1, n_oos), 4),
    }


def evaluate(script, rows: list[tuple[str, str]]) -> tuple[dict, list[tuple]]:
    accept, confirm = script.settings.accept, script.settings.confirm
    pairs, top1_ok, n_in, oos_accept, oos_confirm, n_oos, in_accept = [], 0, 0, 0, 0, 0, 0
    emerg_n = emerg_accept = false_emerg = 0
    errors, times = [], []
    for text, gold in rows:
        t0 = time.perf_counter()
        m = script.matcher.match(text)
        times.append(time.perf_counter() - t0)
        pred = m.intent if (m.intent and m.confidence >= confirm) else "none"
        pairs.append((gold, pred))
        if gold == "none":
            n_oos += 1
            oos_accept += bool(m.intent and m.confidence >= accept)
            oos_confirm += pred != "none"
        else:
            n_in += 1
            top1_ok += m.intent == gold
            in_accept += bool(m.intent == gold and m.confidence >= accept)
        if gold == "darurat":
            emerg_n += 1
            emerg_accept += bool(m.intent == "darurat" and m.confidence >= accept)
        elif pred == "darurat":
            false_emerg += 1
        if pred != gold:
            errors.append((text, gold, m.intent, round(m.confidence, 3)))
    acc = sum(g == p for g, p in pairs) / len(pairs)
    result = {
        "utterances": len(rows),
        "in_scope": n_in,
        "out_of_scope": n_oos,
        "accuracy": round(acc, 4),
        "macro_f1": round(macro_f1(pairs), 4),
        "in_scope_top1": round(top1_ok / max(1, n_in), 4),
        "in_scope_accepted_without_confirmation": round(in_accept / max(1, n_in), 4),
        "oos_sent_to_service": round(oos_accept / max(1, n_oos), 4),
        "oos_confirmation_asked": round(oos_confirm / max(1, n_oos), 4),
        "emergencies": emerg_n,
        "emergency_accepted": round(emerg_accept / max(1, emerg_n), 4),
        "false_emergencies": false_emerg,
        "median_match_ms": round(statistics.median(times) * 1000, 3),
        **engine_routing(script, rows),
    }
    return result, errors


def describe(name: str, r: dict) -> None:
    print(f"[{name}] utterances {r['utterances']} (in scope {r['in_scope']}, out of scope {r['out_of_scope']})")
    print(f"  accuracy (routing decision, 'none' included) {r['accuracy']:.1%}, macro-F1 {r['macro_f1']:.3f}")
    print(f"  in-scope top-1 {r['in_scope_top1']:.1%}; accepted without confirmation "
          f"{r['in_scope_accepted_without_confirmation']:.1%}")
    print(f"  out-of-scope sent to a service (conf >= accept) {r['oos_sent_to_service']:.1%}; "
          f"given a confirmation question {r['oos_confirmation_asked']:.1%}")
    print(f"  emergencies accepted at once {r['emergency_accepted']:.1%} of {r['emergencies']}; "
          f"other utterances taken for an emergency: {r['false_emergencies']}")
    print(f"  engine, first answer in the main menu: in scope routed right {r['engine_in_scope_routed']:.1%} "
          f"(directly {r['engine_in_scope_direct']:.1%}, after a yes/no question "
          f"{r['engine_in_scope_confirmed']:.1%}), to a sub-menu {r['engine_in_scope_submenu']:.1%}; "
          f"out of scope sent to a service {r['engine_oos_sent_to_service']:.1%}, "
          f"asked a yes/no question {r['engine_oos_confirmation_asked']:.1%}, told 'di luar layanan' "
          f"{r['engine_oos_told_beyond']:.1%}, told where to go {r['engine_oos_referred']:.1%}")
    print(f"  median match time {r['median_match_ms']} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", type=Path, default=default_script_path())
    ap.add_argument("--data", type=Path, nargs="+", default=DATA,
                    help="test sets (default: intents_test.tsv, intents_fresh.tsv, intents_heldout.tsv)")
    ap.add_argument("--errors", action="store_true", help="list the misclassified utterances")
    args = ap.parse_args()
    script = load_script(args.script)
    sets = {p.stem.removeprefix("intents_"): read_set(p) for p in args.data}
    per_set: dict[str, dict] = {}
    all_errors: dict[str, list] = {}
    for name, rows in sets.items():
        per_set[name], all_errors[name] = evaluate(script, rows)
        describe(name, per_set[name])
    combined, _ = evaluate(script, [r for rows in sets.values() for r in rows])
    describe("combined", combined)
    if args.errors:
        for name, errs in all_errors.items():
            for e in errs:
                print(f"  ERR [{name}]", *e, sep=" | ")
    result = {
        "bench": "dialogs_intents",
        **combined,
        "sets": per_set,
        "thresholds": {"accept": script.settings.accept, "confirm": script.settings.confirm},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
