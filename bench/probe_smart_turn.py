"""Does Smart Turn v3.2 (the end-of-turn model in the pipecat-ai wheel, BSD-2-Clause) tell a
pause mid-request from the end of a request on the bench's telephone audio?

    pip download pipecat-ai==1.14.0 --no-deps -d /tmp/pc && unzip /tmp/pc/*.whl 'pipecat/audio/turn/*' -d /tmp/pc
    python bench/probe_smart_turn.py --dir /tmp/pc/pipecat/audio/turn/smart_turn [--part pauses]

Not a dependency of the hotline: the model file and its feature code are read from ``--dir``.
For every request of the pause set, the model sees the audio up to 160 ms after each pause
starts (incomplete) and up to 160 ms after the end of speech (complete), as the recognizer's
speculative decode does; prints the probability of "complete" for both, the ROC AUC, and the
cut-offs and early ends at a few thresholds, and one JSON line.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import speechset  # noqa: E402


def auc(pos: list[float], neg: list[float]) -> float:
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / max(1, len(pos) * len(neg))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--part", default="pauses")
    ap.add_argument("--replicas", type=int, default=1)
    args = ap.parse_args()
    import onnxruntime as ort

    d = Path(args.dir)
    spec = importlib.util.spec_from_file_location("smart_turn_features", d / "_whisper_features.py")
    feats = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(feats)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(d / "data" / "smart-turn-v3.2-cpu.onnx"), sess_options=so)

    def p_complete(pcm: bytes) -> float:
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
        x = soxr.resample(x, 8000, 16000, quality="HQ").astype(np.float32)
        n = 8 * 16000
        x = x[-n:] if x.size > n else np.pad(x, (n - x.size, 0))
        mel = feats.compute_whisper_log_mel_features(x, do_normalize=True)
        return float(sess.run(None, {"input_features": mel[None].astype(np.float32)})[0].ravel()[0])

    pos, neg, ms = [], [], []
    for it in speechset.load(args.part, args.replicas):
        for a, _ in it.pauses:
            t = time.perf_counter()
            neg.append(p_complete(it.pcm[: int((a + 0.16) * 8000) * 2]))
            ms.append(1000 * (time.perf_counter() - t))
        pos.append(p_complete(it.pcm[: int((it.speech_end_s + 0.16) * 8000) * 2]))
    out = {"bench": "smart_turn_probe", "part": args.part, "complete": len(pos), "mid_pause": len(neg),
           "p_complete_median_at_end": round(statistics.median(pos), 3),
           "p_complete_median_mid_pause": round(statistics.median(neg), 3),
           "roc_auc": round(auc(pos, neg), 3), "ms_per_call_median": round(statistics.median(ms), 1)}
    for th in (0.5, 0.7, 0.9):
        out[f"at_{th}"] = {"mid_pauses_called_complete": round(sum(x > th for x in neg) / len(neg), 3),
                           "ends_called_complete": round(sum(x > th for x in pos) / len(pos), 3)}
    for k, v in out.items():
        print(f"{k}: {v}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
