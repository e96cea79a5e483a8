"""Spoken and typed requests in the main menu: is the caller understood, how often without a
confirmation question and how precisely, is every emergency acted on at once and no one else
sent to the emergency message. Prints figures per part and one final JSON line.

    python bench/bench_understanding.py [--parts dev,test,blind] [--replicas 2] [--errors dev]

Set: bench/data/speech_{dev,test,blind}.tsv (service requests, global commands, out of scope,
emergencies calm and panicked, emergency words mentioned in passing), each text rendered in
``--replicas`` voice/line conditions (bench/speechset.py: 48 espeak-ng variants, speeds,
pitches, noise types and SNRs, echo, clipping, A-law/mu-law, packet loss), the audio and the
recognizer's results cached on disk (bench/recognition.py). Figures over the replicas are
medians with min-max.

Variants of the hotline decision compared on the same recognitions:

* ``today``: ``ivr.calls.understand.fuse`` handed to the dialog engine as the runtime does;
* ``emergency``: plus ``dialogs.emergency`` on every turn (an emergency found is acted on at
  once; a transcript that reads as paperwork or the past keeps the turn off the emergency);
* ``calibrated``: plus ``asr.calibration`` (the fused confidence replaced by the calibrated
  probability on the script's ladder: accept when the calibrated precision is >= 97%);
* typed text (``text_*``): the dialog engine on the written words (confidence 1), today and
  with the emergency detector.

``/easy``: the same on the items whose line is clear (``easy``).

Tuning happens on dev only; test is held out from every fit and choice; blind was written
before any result and is reported, never tuned on (``--errors`` refuses it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import speechset  # noqa: E402
from bench.understanding import Case, Outcome, by_replica, figures, outcome, spread, task, task_figures  # noqa: E402
from dialogs.emergency import VETO_REASONS  # noqa: E402

KEYS = ("emergency_asked", "emergency_number_first_reply", "emergency_number_to_others", "emergency_question_to_others", "guess_accuracy", "decision_accuracy", "routed_first_turn", "accepted_without_confirmation",
        "accepted_precision", "accepted_wrong", "confirmations_asked", "confirmations_answered_no", "not_understood",
        "emergency_acted_at_once", "false_emergencies", "passing_routed_first_turn")


class Hotline:
    """The decision variants on one script."""

    def __init__(self, script, calibrator=None, detector=None, emergency_audio: bool = False) -> None:
        from asr.textmatch import PhraseMatcher

        self.script = script
        self.labels = list(script.expectations("main_menu"))
        self.phrases = PhraseMatcher(script.expectations("main_menu"))
        self.no_emergency = [c for c in script.candidates("main_menu") if c != "darurat"]
        self.calibrator = calibrator
        self.detector = detector
        from ivr.calls.understand import live_understander

        self.understander = live_understander(None, script, emergency_audio)  # decide() needs no recognizer
        self.listen = script.listen_action("main_menu")

    def evidence(self, res):
        """The fused decision and the calibrator's evidence exactly as the live understander
        builds them (the menu prior of navigation labels included), plus the extra hearings."""
        from dataclasses import replace

        tr = res.transcript()
        fu = self.understander.fused(tr, self.listen)
        ev = replace(self.understander.evidence(tr, self.listen, fu), views=res.views)
        return fu, ev

    def spoken(self, res, variant: str) -> tuple[str | None, str | None, Outcome]:
        """(recognizer's guess, the hotline's decision, the dialog's outcome)."""
        fu, ev = self.evidence(res)
        intent, conf = fu.intent, fu.confidence
        if variant in ("calibrated", "both") and self.calibrator is not None and intent != "darurat":
            # the calibrator decides how sure a service decision is; an emergency is acted on
            # without a question, so it keeps its own rule (today's, or the detector's)
            conf = self.calibrator.script_confidence(self.calibrator.probability(ev))
        if variant in ("emergency", "both") and self.detector is not None:
            v = self.detector.from_speech(fu.text, fu.scores)
            if v.emergency:
                return res.best, "darurat", Outcome("direct", "darurat", True, True)
            if intent == "darurat" and self.detector.vetoed(fu.text):
                # the words say paperwork or the past: the best other label, confirmed
                others = {k: p for k, p in fu.scores.items() if k != "darurat"}
                intent = max(others, key=others.__getitem__)
                conf = min(conf, 0.59)
        return res.best, intent, outcome(self.script, fu.text, conf, intent)

    def heard(self, res):
        """The ``dialogs.Heard`` the live hotline hands the engine for a recognition."""
        from dialogs import Heard

        u = self.understander.decide(res.transcript(), self.listen)
        return Heard(u.text, u.confidence, intent=u.intent, emergency=u.emergency)

    def live(self, res) -> tuple[str | None, str | None, Outcome]:
        """What the live hotline does (ivr.calls.understand.live_understander -> the engine)."""
        u = self.understander.decide(res.transcript(), self.listen)
        return res.best, u.intent, outcome(self.script, u.text, u.confidence, u.intent, u.emergency)

    def typed(self, text: str, variant: str) -> tuple[str | None, Outcome]:
        m = self.script.matcher.match(text)
        if variant == "emergency" and self.detector is not None:
            v = self.detector.from_text(text)
            if v.emergency:
                return m.intent, Outcome("direct", "darurat", True, True)
            if v.reason in VETO_REASONS:
                m2 = self.script.matcher.match(text, self.no_emergency)
                if m2.intent is None:
                    return m.intent, Outcome("none", None, False)
                return m.intent, outcome(self.script, text, m2.confidence, m2.intent)
        return m.intent, outcome(self.script, text)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="dev,test,blind")
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--errors", default="", help="print the errors of these parts (dev, test)")
    ap.add_argument("--calibration", default="", help="calibrator JSON (default: the shipped asr/calibration.json)")
    ap.add_argument("--script-additions", default="", help="YAML of example phrases added to the script "
                    "(bench/data/proposed_script_additions.yaml)")
    ap.add_argument("--additions-text-only", action="store_true",
                    help="the recognitions where the additions reached only the transcript's match "
                         "(bench/recognition.py --additions-text-only)")
    ap.add_argument("--cached-only", action="store_true",
                    help="only the items whose recognition is already cached (a subset: the figures say how many)")
    ap.add_argument("--without-views", action="store_true",
                    help="decide as if the recognizer had no extra hearings (IVR_WHISPER_VIEWS empty), "
                         "derived exactly from the cached per-hearing scores: what turning them off "
                         "for speed costs")
    ap.add_argument("--derive-from", default="",
                    help="recognizer fingerprint whose cached results, with the audio intent classifier "
                         "(asr/audio_intent.npz) applied, give this recognizer's results exactly "
                         "(bench/recognition.py Recognition.derived): no decoding again")
    ap.add_argument("--emergency-audio", action="store_true",
                    help="the live hotline with settings.emergency_audio (asr/audio_emergency.npz's readings)")
    ap.add_argument("--base-has-intent", action="store_true",
                    help="with --derive-from: that recognizer had the audio intent classifier already; only "
                         "the audio emergency head (asr/audio_emergency.npz) is derived")
    ap.add_argument("--derive-base", default="",
                    help="the audio intent classifier (.npz) inside --derive-from's results (main's "
                         "recognizer has one), undone before this recognizer's is applied; e.g. "
                         "`git show 611b51d:asr/audio_intent.npz > /tmp/base.npz` for ebb7dcc957ee2744")
    args = ap.parse_args()
    if "blind" in args.errors.split(","):
        raise SystemExit("the blind part is not inspected item by item")
    from asr.calibration import DEFAULT_PATH, Calibrator
    from dialogs.emergency import DEFAULT as detector

    from bench.recognition import Recognition, load_bench_script

    script = load_bench_script(args.script_additions)
    parts = {p: speechset.load(p, args.replicas) for p in args.parts.split(",")}
    cal_path = Path(args.calibration) if args.calibration else DEFAULT_PATH
    calibrator = Calibrator.load(cal_path) if cal_path.exists() else None
    hot = Hotline(script, calibrator, detector, args.emergency_audio)
    rec = Recognition(script, derive_from=args.derive_from, derive_base=args.derive_base,
                      base_has_intent=args.base_has_intent,
                      text_only_from=load_bench_script() if args.additions_text_only else None)
    result: dict = {"bench": "understanding", "replicas": args.replicas, "recognizer": rec.fingerprint, "derived_from": args.derive_from or None,
                    "extra_hearings": not args.without_views, "emergency_audio": args.emergency_audio,
                    "script_additions": args.script_additions or None,
                    "calibrator": str(cal_path.name) if calibrator else None, "parts": {}}
    for part, items in parts.items():
        rows = speechset.read_rows(part)
        if args.cached_only:
            from bench.recognition import expectation_for

            exp = expectation_for(script, "intent")
            items = [it for it in items if rec.key(it.pcm, exp) in rec.known or rec.key(it.pcm, exp) in rec.base]
            rows = [r for r in rows if any(it.row.id == r.id for it in items)]
        res = {it.key: rec.run(it.pcm, "intent") for it in items}
        if args.without_views:
            res = {k: without_views(r, rec.engine.options.temperature) for k, r in res.items()}
        out: dict = {"set": speechset.summary(items)}
        for variant in ("text_today", "text_emergency", "text_live"):
            cases = []
            for r in rows:
                if variant == "text_live":  # the engine alone (it runs the detector itself)
                    m = script.matcher.match(r.text)
                    guess, o = m.intent, outcome(script, r.text)
                else:
                    guess, o = hot.typed(r.text, variant.split("_")[1])
                cases.append(Case(r.id, r.label, r.kind, guess, guess, o))
            f = figures(cases)
            out[variant] = {k: f[k] for k in KEYS}
            if part in args.errors.split(","):
                _errors(part, variant, cases, rows)
        for variant in ("today", "emergency", "calibrated", "both", "live", "today/easy", "live/easy", "live/calm",
                        "live/panic"):
            if "both" in variant and calibrator is None:
                continue

            def cases_of(rep: int, variant=variant):
                cs = []
                for it in items:
                    if it.replica != rep or (variant.endswith("/easy") and not easy(it)):
                        continue
                    # /calm, /panic: the emergencies said calmly or in panic (the others all kept)
                    if it.row.kind == "emergency" and variant.endswith(("/calm", "/panic")) \
                            and ("panic" in it.row.tags) != variant.endswith("/panic"):
                        continue
                    v = variant.split("/")[0]
                    guess, decided, o = hot.live(res[it.key]) if v == "live" else hot.spoken(res[it.key], v)
                    cs.append(Case(it.key, it.row.label, it.row.kind, guess, decided, o))
                return cs

            out[f"voice_{variant}"] = by_replica(cases_of, args.replicas, KEYS)
            if part in args.errors.split(","):
                for rep in range(args.replicas):
                    _errors(part, f"voice_{variant}#{rep}", cases_of(rep), rows, res, items)
        out["tasks"] = _tasks(script, hot, items, res, rows, args.replicas)
        result["parts"][part] = out
        _print(part, out)
    result["derived"] = rec.derived_count
    result["unfuse_ambiguous"] = rec.unfuse_ambiguous
    rec.close()
    print(json.dumps(result, ensure_ascii=False))


def without_views(res, temperature: float):
    """The result the recognizer gives without its extra hearings. With them, each leading
    label's score is the mean over the hearings (``per[label] = [base, at 0.9x, at 1.1x]``);
    the posteriors are a softmax of the fused scores over ``temperature``, so a label's
    posterior without them is its posterior times ``exp((base - mean) / temperature)``,
    renormalised (rounded posteriors of 0 stay 0)."""
    import dataclasses
    import math

    if not res.views:
        return res
    raw = dict(res.scores)
    for label, per in res.views.items():
        if label in raw and per:
            raw[label] *= math.exp((per[0] - sum(per) / len(per)) / temperature)
    total = sum(raw.values()) or 1.0
    return dataclasses.replace(res, scores={k: v / total for k, v in raw.items()}, views={})


TASK_KEYS = ("task_success", "median_turns", "mean_turns_success", "one_turn")


def _tasks(script, hot, items, res, rows, replicas: int) -> dict:
    """Whole dialogs (``bench.understanding.task``): each caller with an in-scope request says
    it (the rendering of one replica first, then the next one when asked again), answers
    confirmations, uses the keys after two requests not understood. Typed: the same words each
    time. ``ulangi`` (repeat the prompt) is not a task."""
    from dialogs import Heard

    by_row: dict[str, dict[int, object]] = {}
    for it in items:
        by_row.setdefault(it.row.id, {})[it.replica] = res[it.key]
    wanted = [r for r in rows if r.label not in ("none", "ulangi") and r.id in by_row]
    per = []
    for first in range(replicas):
        ts = []
        for r in wanted:
            got = by_row[r.id]
            reps = sorted(got)
            ts.append(task(script, r.label, lambda i, got=got, reps=reps, first=first:
                           hot.heard(got[reps[(first + i) % len(reps)]]), key=f"{r.id}#{first}"))
        per.append(task_figures(ts))
    typed = [task(script, r.label, lambda i, r=r: Heard(r.text, 1.0), key=r.id) for r in wanted]
    out = {k: spread(p[k] for p in per) for k in TASK_KEYS}
    out["tasks"] = len(wanted)
    out["typed"] = task_figures(typed)
    return out


def easy(it) -> bool:
    """A line a caller would call clear: no loss, clipping or echo, noise 18 dB down or none,
    a speaking rate under 185 words a minute."""
    c = it.chain
    return (c.noise == "none" or c.snr_db >= 18) and not c.loss and not c.clip_db and not c.echo_rt60_s \
        and it.voice.rate < 185


def _print(part: str, out: dict) -> None:
    print(f"== {part}: {out['set']}")
    for variant, figs in out.items():
        if variant == "set":
            continue
        cells = []
        for k, v in figs.items():
            if k == "typed":
                v = " ".join(f"{a}={b}" for a, b in v.items())
            if isinstance(v, dict):
                v = v["median"] if v.get("min") == v.get("max") else f"{v['median']} [{v['min']}-{v['max']}]"
            cells.append(f"{k}={v}")
        print(f"  {variant:18s} " + " ".join(cells))


def _errors(part, variant, cases, rows, res=None, items=None) -> None:
    text_of = {r.id: r.text for r in rows}
    for c in cases:
        rid = c.key.split("#")[0]
        wrong_direct = c.out.how == "direct" and c.out.intent != c.label
        missed_emerg = c.label == "darurat" and not c.out.emergency
        false_emerg = c.label != "darurat" and c.out.emergency
        if wrong_direct or missed_emerg or false_emerg:
            heard = f" | heard: {res[c.key].text[:70]}" if res else ""
            print(f"  [{variant}] {c.key} {c.label} -> {c.out.how}:{c.out.intent} | {text_of[rid]}{heard}")


if __name__ == "__main__":
    main()
