"""A lone caller's decode, the one-core way against the every-core way, interleaved in one
process so that the machine's load falls on both alike (paired differences per utterance).

"one core": the utterance's encoder pass on one CTranslate2 thread and the cross-attention
keys/values layer after layer on the calling thread (the decode before phase 10);
"every core": the encoder pass on the wide instance (``WhisperOptions.wide_encoder``) and the
keys/values on the scorer's threads (``WhisperDecoderScorer.cross_kv``). Both give the same
scores (checked here on every utterance). The decode is the real ``WhisperEngine.recognize`` of
bench_calls' first four requests (main menu), nobody waiting, stopping after the second stage
as the hotline's lone caller does (``enough``). Whole calls: ``bench/bench_calls.py``.

``--compare pack``: instead, the int8 phrase batches one phrase a row ("one a row") against
``pack_phrases`` phrases a row packed as a tree of their shared first tokens ("packed"); their
scores differ by int8 batch jitter, so the top labels are compared instead.

    python bench/bench_lone_turn.py [--reps 8] [--compare wide|pack]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TEXTS = ["saya mau mengurus KTP yang hilang", "bagaimana cara membuat kartu keluarga baru",
         "saya ingin membuat akta kelahiran anak saya", "mau mengurus akta kematian bapak saya"]


def _spread(xs: list[float]) -> dict[str, float]:
    q1, q3 = np.percentile(xs, [25, 75])
    return {"median": round(statistics.median(xs), 1), "q1": round(float(q1), 1), "q3": round(float(q3), 1),
            "min": round(min(xs), 1), "max": round(max(xs), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=8, help="decodes of each request per variant")
    ap.add_argument("--compare", choices=("wide", "pack"), default="wide")
    args = ap.parse_args()

    from asr import Expectation, audio
    from asr.whisper_backend import WhisperEngine
    from dialogs import default_script_path, load_script
    from tests import speechgen

    script = load_script(default_script_path())
    menu = Expectation(script.expectations(script.entry_menu), kind="intent")
    eng = WhisperEngine()
    if args.compare == "pack":
        _compare_pack(eng, menu, args.reps)
        return
    if eng._wide is None:
        sys.exit("the wide encoder is not loaded (one core, or wide_encoder off): nothing to compare")
    prep = eng.prepared(menu)
    pcms = [audio.resample(speechgen.phone_utterance(t, "id+m3", 160, 50, level_dbfs=-24, snr_db=25, seed=i),
                           8000, 16000) for i, t in enumerate(TEXTS)]
    wide, every_core_kv = eng._wide, eng.scorer.cross_kv

    def one_core_kv(enc, parallel=False):
        return every_core_kv(enc, parallel=False)

    def decode(variant: str, pcm: bytes):
        eng._wide = wide if variant == "every core" else None
        eng.scorer.cross_kv = every_core_kv if variant == "every core" else one_core_kv
        t0 = time.perf_counter()
        tr = eng.recognize(pcm, prep, busy=lambda: False, enough=lambda t: t.stage == "second")
        return (time.perf_counter() - t0) * 1000, tr

    for pcm in pcms:  # warm: null scores, graphs, both instances
        decode("every core", pcm)
        decode("one core", pcm)
    load_before = list(os.getloadavg())
    ms: dict[str, list[float]] = {"one core": [], "every core": []}
    encode: dict[str, list[float]] = {"one core": [], "every core": []}
    paired: list[float] = []
    for rep in range(args.reps):
        for pcm in pcms:
            order = ("one core", "every core") if rep % 2 == 0 else ("every core", "one core")
            got = {}
            for v in order:
                took, tr = decode(v, pcm)
                ms[v].append(took)
                encode[v].append(tr.timings["encode_ms"])
                got[v] = tr
            if got["one core"].scores != got["every core"].scores:
                sys.exit("the two ways gave different scores")
            paired.append(ms["one core"][-1] - ms["every core"][-1])
    for v in ms:
        s, e = _spread(ms[v]), _spread(encode[v])
        print(f"{v:10s}: decode {s['median']} ms [q1 {s['q1']} - q3 {s['q3']}], encode {e['median']} ms "
              f"[{e['q1']} - {e['q3']}]")
    p = _spread(paired)
    print(f"saved per decode (paired): {p['median']} ms [q1 {p['q1']} - q3 {p['q3']}]; same scores on all "
          f"{len(paired)} pairs; load {load_before[0]:.2f} -> {os.getloadavg()[0]:.2f}")
    print(json.dumps({"bench": "lone_turn", "reps": args.reps, "decodes": len(paired),
                      "decode_ms": {v: _spread(x) for v, x in ms.items()},
                      "encode_ms": {v: _spread(x) for v, x in encode.items()},
                      "saved_ms": p, "load_before": load_before, "load_after": list(os.getloadavg())}))


def _compare_pack(eng, menu, reps: int) -> None:
    from asr import audio
    from tests import speechgen

    prep = eng.prepared(menu)
    packed = eng.scorer.pack
    if packed <= 1:
        sys.exit("pack_phrases is off: nothing to compare")
    pcms = [audio.resample(speechgen.phone_utterance(t, "id+m3", 160, 50, level_dbfs=-24, snr_db=25, seed=i),
                           8000, 16000) for i, t in enumerate(TEXTS)]
    names = {"one a row": 1, "packed": packed}

    def decode(variant: str, pcm: bytes):
        eng.scorer.pack = names[variant]
        t0 = time.perf_counter()
        tr = eng.recognize(pcm, prep, busy=lambda: False, enough=lambda t: t.stage == "second")
        return (time.perf_counter() - t0) * 1000, tr

    for pcm in pcms:
        for v in names:
            decode(v, pcm)
    load_before = list(os.getloadavg())
    ms: dict[str, list[float]] = {v: [] for v in names}
    stage: dict[str, dict[str, list[float]]] = {v: {"score1_ms": [], "score2_ms": []} for v in names}
    paired: list[float] = []
    same_top = 0
    for rep in range(reps):
        for pcm in pcms:
            order = list(names) if rep % 2 == 0 else list(names)[::-1]
            got = {}
            for v in order:
                took, tr = decode(v, pcm)
                ms[v].append(took)
                for k in stage[v]:
                    stage[v][k].append(tr.timings.get(k, float("nan")))
                got[v] = tr
            same_top += int(got["one a row"].best_label == got["packed"].best_label)
            paired.append(ms["one a row"][-1] - ms["packed"][-1])
    for v in ms:
        s = _spread(ms[v])
        st = {k: round(statistics.median(x), 1) for k, x in stage[v].items()}
        print(f"{v:10s}: decode {s['median']} ms [q1 {s['q1']} - q3 {s['q3']}], stages {st}")
    p = _spread(paired)
    print(f"saved per decode (paired): {p['median']} ms [q1 {p['q1']} - q3 {p['q3']}]; same label on {same_top} "
          f"of {len(paired)} pairs; load {load_before[0]:.2f} -> {os.getloadavg()[0]:.2f}")
    print(json.dumps({"bench": "lone_turn_pack", "reps": reps, "decodes": len(paired), "pack": packed,
                      "decode_ms": {v: _spread(x) for v, x in ms.items()}, "saved_ms": p, "same_label": same_top,
                      "load_before": load_before, "load_after": list(os.getloadavg())}))


if __name__ == "__main__":
    main()
