"""Is the recognizer's first pass enough? For the main menu, every rendering of a part is
recognised whole (both stages, the extra hearings) while the first pass (first stage and the
transcript) is kept; both go through the live understander (fusion, calibration, emergency).
Prints, per gate, how many turns it would answer from the first pass and whether those
decisions (intent, and accepted / asked / not understood) are the same as the whole scoring's
and as often right. One JSON line per rendering goes to ``--out``; the summary is the last line.

    python bench/probe_first_pass.py --part dev --replicas 1 --out /tmp/first_pass_dev.jsonl
    python bench/probe_first_pass.py --summary /tmp/first_pass_dev.jsonl
    python bench/probe_first_pass.py --pauses pauses-dev --replicas 2

``--pauses``: the end-of-turn side. For the intent requests of bench/data/speech_pauses.tsv the
early result at each pause and at the end of speech (audio up to 160 ms of trailing silence,
as bench/bench_endpointing.py) is computed both ways, and the live end-of-turn decision
(``ivr.calls.turn_end.TurnTaking``) applied to each: a pause longer than the wait cuts the
caller off; "harmful" when the cut turn's intent differs from the whole request's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def tier(conf: float, accept: float, confirm: float) -> str:
    return "accept" if conf >= accept else "confirm" if conf >= confirm else "reject"


def _main_menu():
    """The default script's main menu as the live hotline hears it: script, a warmed Whisper
    recognizer, the Listen action, the engine, its prepared expectation and the understander."""
    from asr.whisper_backend import WhisperRecognizer
    from dialogs import default_script_path, load_script
    from ivr.calls.understand import expectation_for, live_understander

    script = load_script(default_script_path())
    rec = WhisperRecognizer()
    listen = script.listen_action("main_menu")
    exp = expectation_for(listen)
    rec.warm_up(exp)
    return script, rec, listen, rec.engine, rec.engine.prepared(exp), live_understander(rec, script)


def observe(part: str, replicas: int, out: Path, limit: int) -> None:
    from asr import audio
    from bench import speechset

    items = speechset.load(part, replicas, limit=limit)
    script, rec, listen, eng, prep, und = _main_menu()
    s = script.settings
    done = set()
    if out.exists():
        done = {json.loads(line)["key"] for line in out.read_text().splitlines() if line.strip()}
    with out.open("a") as f:
        for it in items:
            key = f"{it.row.id}/{it.replica}"
            if key in done:
                continue
            got = []
            full = eng.recognize(audio.resample(it.pcm, 8000, 16000), prep, None, lambda: False,
                                 enough=lambda t: got.append(t) or False)
            row = {"key": key, "label": it.row.label, "kind": it.row.kind}
            passes = [("first", got[0]), ("full", full)] + ([("second", got[1])] if len(got) > 1 else [])
            for name, tr in passes:
                u = und.decide(tr, listen)
                row[name] = {"intent": u.intent, "conf": round(u.confidence, 4), "emergency": u.emergency,
                             "tier": tier(u.confidence, s.accept, s.confirm), "ms": tr.timings.get("decode_ms")}
            f.write(json.dumps(row) + "\n")
            f.flush()
    rec.close()


def summary(paths: list[Path]) -> dict:
    rows = [json.loads(line) for p in paths for line in p.read_text().splitlines() if line.strip()]
    out: dict = {"renderings": len(rows)}
    from ivr.calls.understand import FIRST_PASS_AT

    def decisive(d: dict) -> bool:  # as Understander.decisive
        return (d["tier"] == "accept" and d["conf"] >= FIRST_PASS_AT) or d["emergency"] == "now"

    for r in rows:  # what the live gate answers with: the first pass, the second, or the whole
        r["gated"] = r["first"] if decisive(r["first"]) else (
            r["second"] if "second" in r and decisive(r["second"]) else r["full"])
    gates = {
        "first_pass": ("first", lambda r: decisive(r["first"])),
        "second_pass": ("second", lambda r: not decisive(r["first"]) and "second" in r and decisive(r["second"])),
        "either": ("gated", lambda r: decisive(r["first"]) or ("second" in r and decisive(r["second"]))),
    }
    for name, (pas, gate) in gates.items():
        g = [r for r in rows if gate(r)]
        same = sum(1 for r in g if (r[pas]["intent"], r[pas]["tier"]) == (r["full"]["intent"], r["full"]["tier"]))
        right_first = sum(1 for r in g if r[pas]["intent"] == r["label"])
        right_full = sum(1 for r in g if r["full"]["intent"] == r["label"])
        acc_first = sum(1 for r in g if r[pas]["intent"] == r["label"] and r[pas]["tier"] == "accept")
        acc_full = sum(1 for r in g if r["full"]["intent"] == r["label"] and r["full"]["tier"] == "accept")
        wrong_acc_first = sum(1 for r in g if r[pas]["intent"] != r["label"] and r[pas]["tier"] == "accept")
        wrong_acc_full = sum(1 for r in g if r["full"]["intent"] != r["label"] and r["full"]["tier"] == "accept")
        out[name] = {"answered_first": len(g), "share": round(len(g) / max(1, len(rows)), 3),
                     "same_decision": same, "right_first": right_first, "right_full": right_full,
                     "accepted_right_first": acc_first, "accepted_right_full": acc_full,
                     "accepted_wrong_first": wrong_acc_first, "accepted_wrong_full": wrong_acc_full}
    for name in ("full", "gated"):
        out[name + "_overall"] = {"right": sum(1 for r in rows if r[name]["intent"] == r["label"]),
                                  "accepted_right": sum(1 for r in rows if r[name]["intent"] == r["label"]
                                                        and r[name]["tier"] == "accept"),
                                  "accepted_wrong": sum(1 for r in rows if r[name]["intent"] != r["label"]
                                                        and r[name]["tier"] == "accept")}
    ms = sorted(r["first"]["ms"] for r in rows if r["first"]["ms"])
    mf = sorted(r["full"]["ms"] for r in rows if r["full"]["ms"])
    if ms and mf:
        out["first_pass_ms_median"] = ms[len(ms) // 2]
        out["full_ms_median"] = mf[len(mf) // 2]
    return out


def pauses(part: str, replicas: int) -> dict:
    from asr import audio
    from bench import speechset
    from ivr.calls.turn_end import TurnTaking

    items = [it for it in speechset.load(part, replicas) if it.row.expect == "intent"]
    script, rec, listen, eng, prep, und = _main_menu()
    taking = TurnTaking(und)
    enough = und.decisive(listen)
    assert enough is not None

    def both(pcm: bytes) -> dict[str, tuple]:
        got: list = []
        full = eng.recognize(audio.resample(pcm, 8000, 16000), prep, None, lambda: False,
                             enough=lambda t: got.append(t) or False)
        gated = next((t for t in got if enough(t)), full)
        out = {}
        for name, tr in (("whole", full), ("gated", gated)):
            out[name] = (taking.decide(listen, tr), und.decide(tr, listen).intent)
        return out

    counts = {v: {"requests": 0, "cut": 0, "harmful": 0, "end_wait_ms": []} for v in ("whole", "gated")}
    for it in items:
        end = both(_prefix(it.pcm, it.speech_end_s))
        mids = [(both(_prefix(it.pcm, a)), (b - a) * 1000) for a, b in it.pauses]
        for v, c in counts.items():
            c["requests"] += 1
            c["end_wait_ms"].append(end[v][0].wait_ms)
            cut = [m for m, length in mids if length > m[v][0].wait_ms]
            c["cut"] += bool(cut)
            c["harmful"] += any(m[v][1] != end[v][1] for m in cut)
    rec.close()
    for c in counts.values():
        waits = c.pop("end_wait_ms")
        c["end_wait_ms_mean"] = round(sum(waits) / max(1, len(waits)))
        c["end_short_share"] = round(sum(1 for w in waits if w < 1000) / max(1, len(waits)), 3)
    return {"part": part, "replicas": replicas, **counts}


def _prefix(pcm: bytes, at_s: float) -> bytes:
    return pcm[:int((at_s + 0.16) * 8000) * 2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", default="dev")
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--summary", type=Path, nargs="*", default=None)
    ap.add_argument("--pauses", default=None, help="a pauses part: cut-offs with and without the first pass")
    args = ap.parse_args()
    if args.pauses:
        print(json.dumps(pauses(args.pauses, args.replicas)))
        return
    if args.summary:
        print(json.dumps(summary(args.summary)))
        return
    out = args.out or Path(f"/tmp/first_pass_{args.part}.jsonl")
    observe(args.part, args.replicas, out, args.limit)
    print(json.dumps({"part": args.part, **summary([out])}))


if __name__ == "__main__":
    main()
