"""Frame-level Whisper encoder output of the audio classifier's training and bench speech,
cached compactly (float16) so that other poolings than mean/max/std can be tried without
encoding again (issue 16, phase 6, helper pool).

    python bench/pool_frames.py [--replicas 24] [--phrase-replicas 12] [--parts dev,test,blind]

Writes ``<bench cache>/embed/frames-<name>.<digest>.npz`` (``frames``: all utterances' frames
that hold the audio, concatenated, float16; ``offsets``: where each utterance starts, one more
than utterances; ``labels``; ``held``: voice variant never trained on; ``rows``: row ids).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import embed_intent, speechset  # noqa: E402

FRAMES_REV = 1


def frames_path(items, name: str) -> Path:
    digest = hashlib.sha256(b"".join(hashlib.sha256(it.pcm).digest() for it in items)).hexdigest()[:16]
    return speechset.cache_dir() / "embed" / f"frames-{name}.{digest}.r{FRAMES_REV}.npz"


def encode_frames(items, engine, name: str) -> Path:
    """The encoder frames holding each item's audio (as the recognizer encodes a main-menu
    utterance: its fitted window), cached."""
    from asr import audio
    from asr.audio_intent import FRAMES_PER_S

    path = frames_path(items, name)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    chunks, offsets = [], [0]
    t0, c0 = time.perf_counter(), time.process_time()
    for k, it in enumerate(items):
        pcm16k = audio.resample(it.pcm, 8000, 16000)
        seconds = len(pcm16k) / 2 / 16000
        enc = np.asarray(engine.encode(pcm16k, engine.frames_for(seconds, True)))[0]
        n = max(1, min(enc.shape[0], int(math.ceil(seconds * FRAMES_PER_S))))
        chunks.append(enc[:n].astype(np.float16))
        offsets.append(offsets[-1] + n)
        if k % 500 == 0:
            print(f"{name}: {k}/{len(items)} {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"frames {name}: {len(items)} in {time.perf_counter() - t0:.0f} s, "
          f"{(time.process_time() - c0) / len(items) * 1000:.0f} CPU-ms each", flush=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, frames=np.concatenate(chunks), offsets=np.array(offsets, dtype=np.int64),
             labels=np.array([it.row.label for it in items]),
             held=np.array([embed_intent.voice_of(it) in embed_intent.HELD_OUT for it in items]),
             rows=np.array([it.row.id for it in items]))
    tmp.rename(path)
    return path


def all_items(replicas: int, phrase_replicas: int, parts: list[str], workers: int = 1, training: bool = True,
              only: tuple[str, ...] = ()):
    """name -> items: the training speech of bench/embed_intent.py and the bench parts."""
    from bench.recognition import load_bench_script

    script = load_bench_script()
    cache = speechset.AudioCache(workers=workers)
    out = {}
    if training and (not only or f"train{replicas}" in only):
        out[f"train{replicas}"] = embed_intent.training_items(script, replicas, cache)
    if training and (not only or f"phrases{phrase_replicas}" in only):
        extra = embed_intent.load_phrases(embed_intent.PHRASES)
        out[f"phrases{phrase_replicas}"] = embed_intent.training_items(script, phrase_replicas, cache, extra,
                                                                       prefix="phr")
    for p in parts:
        if not only or p in only:
            out[p] = speechset.load(p, 2, cache)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", type=int, default=24)
    ap.add_argument("--phrase-replicas", type=int, default=12)
    ap.add_argument("--parts", default="dev,test,blind")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-training", action="store_true", help="only the bench parts")
    ap.add_argument("--only", default="", help="encode only these sets (e.g. phrases12; comma-separated)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    sets = all_items(args.replicas, args.phrase_replicas, args.parts.split(","), args.workers,
                     not args.no_training, tuple(v for v in args.only.split(",") if v))
    print(f"audio: {', '.join(f'{k} {len(v)}' for k, v in sets.items())} in {time.perf_counter() - t0:.0f} s",
          flush=True)
    from asr.whisper_backend import WhisperEngine

    engine = WhisperEngine()
    order = [p for p in args.parts.split(",") if p in sets] + [k for k in sets if k not in args.parts.split(",")]
    for name in [v for v in order if not args.only or v in args.only.split(",")]:
        print(encode_frames(sets[name], engine, name), flush=True)


if __name__ == "__main__":
    main()
