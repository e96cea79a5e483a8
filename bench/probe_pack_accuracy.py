"""Packed int8 phrase rows (``WhisperOptions.pack_phrases``) against one phrase a row on the
dev utterances of bench/data/asr_utterances.json (espeak-ng through the 8 kHz telephone chain,
main menu, whole recognitions with the extra hearings, nobody waiting): accuracy of each, how
often they pick the same label, the spread of the top posterior between them, and CPU per
decode, the two settings alternating utterance by utterance. Dev only.

    python bench/probe_pack_accuracy.py [--limit N] [--pack 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--pack", type=int, default=8)
    args = ap.parse_args()

    from asr import Expectation, audio
    from asr.whisper_backend import WhisperEngine
    from dialogs import default_script_path, load_script
    from tests import speechgen

    spec = json.loads((ROOT / "bench" / "data" / "asr_utterances.json").read_text("utf-8"))
    rows = [(r[0], r[1]) if isinstance(r, list) else (r["label"], r["text"]) for r in spec["dev"]]
    if args.limit:
        rows = rows[: args.limit]
    script = load_script(default_script_path())
    menu = Expectation(script.expectations(script.entry_menu), kind="intent")
    eng = WhisperEngine()
    prep = eng.prepared(menu)
    names = {"one a row": 1, "packed": args.pack}
    ok = {v: 0 for v in names}
    cpu: dict[str, list[float]] = {v: [] for v in names}
    same, dtop = 0, []
    for i, (label, text) in enumerate(rows):
        v = spec["voices"][i % len(spec["voices"])]
        pcm = speechgen.phone_utterance(text, v["voice"], v["rate"], v["pitch"],
                                        level_dbfs=spec["level_dbfs"][i % len(spec["level_dbfs"])],
                                        snr_db=spec["snr_db"][i % len(spec["snr_db"])], seed=i)
        pcm16 = audio.resample(pcm, 8000, 16000)
        got = {}
        for name in (list(names) if i % 2 == 0 else list(names)[::-1]):
            eng.scorer.pack = names[name]
            c = time.process_time()
            got[name] = eng.recognize(pcm16, prep, busy=lambda: False)
            cpu[name].append((time.process_time() - c) * 1000)
            ok[name] += got[name].best_label == label
        a, b = got["one a row"], got["packed"]
        same += a.best_label == b.best_label
        dtop.append(abs(a.scores.get(a.best_label, 0.0) - b.scores.get(a.best_label, 0.0)))
        print(f"{i:3d} {label:22s} one={a.best_label} {a.scores.get(a.best_label, 0):.3f} "
              f"packed={b.best_label} {b.scores.get(b.best_label, 0):.3f}", flush=True)
    n = len(rows)
    for name in names:
        print(f"{name:10s}: accuracy {ok[name]}/{n} = {ok[name] / n:.3f}; CPU per decode median "
              f"{statistics.median(cpu[name]):.0f} ms [q1 {np.percentile(cpu[name], 25):.0f} - "
              f"q3 {np.percentile(cpu[name], 75):.0f}]")
    print(f"same label {same}/{n}; |posterior of one-a-row's label| moved median {statistics.median(dtop):.3f}, "
          f"max {max(dtop):.3f}")


if __name__ == "__main__":
    main()
