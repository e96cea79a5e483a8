"""Coqui TTS model host, importable in-process or run as a script in another interpreter.

This file imports nothing from the project (only the standard library, numpy and coqui-tts),
so it can run with the Python of a separate Coqui virtualenv:

    /work/coqui-venv/bin/python tts/coqui_worker.py --model M.pth --config config.json

Protocol on stdin/stdout (binary):
- worker -> parent, once: one JSON line {"ready": true, "sample_rate": N} or {"ready": false,
  "error": "..."} (then exit 2);
- parent -> worker: one JSON line {"text": "..."} per request;
- worker -> parent: one JSON line {"ok": true, "bytes": N} followed by N bytes of 16-bit
  little-endian mono PCM, or {"ok": false, "error": "..."}.
Anything Coqui prints goes to stderr; stdout carries only the protocol.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


class CoquiModel:
    """One loaded Coqui TTS model (not thread-safe: use it from one thread)."""

    def __init__(
        self,
        model_path: str | Path,
        config_path: str | Path | None = None,
        *,
        speaker: str | None = None,
        language: str | None = None,
        threads: int = 1,
    ) -> None:
        model_path = Path(model_path)
        if model_path.is_dir():
            candidates = [model_path / n for n in ("model.pth", "best_model.pth", "model_file.pth", "checkpoint.pth")]
            found = [c for c in candidates if c.is_file()]
            if not found:
                raise FileNotFoundError(f"no model.pth / best_model.pth in {model_path}")
            if config_path is None:
                config_path = model_path / "config.json"
            model_path = found[0]
        if config_path is None:
            config_path = model_path.with_name("config.json")
        config_path = Path(config_path)
        if not model_path.is_file():
            raise FileNotFoundError(f"Coqui model checkpoint not found: {model_path}")
        if not config_path.is_file():
            raise FileNotFoundError(f"Coqui model config not found: {config_path}")

        import torch
        from TTS.utils.synthesizer import Synthesizer

        torch.set_num_threads(max(1, threads))
        self.synthesizer = Synthesizer(
            tts_checkpoint=str(model_path), tts_config_path=str(config_path), use_cuda=False
        )
        self.sample_rate = int(self.synthesizer.output_sample_rate)
        self.speaker = speaker
        self.language = language

    def synthesize(self, text: str) -> bytes:
        import numpy as np

        kwargs = {}
        if self.speaker:
            kwargs["speaker_name"] = self.speaker
        if self.language:
            kwargs["language_name"] = self.language
        wav = self.synthesizer.tts(text, split_sentences=True, **kwargs)
        samples = np.asarray(wav, dtype=np.float64).reshape(-1)
        # pcm.float_to_pcm's clipping rule, written out: this file imports nothing of ours
        return np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2").tobytes()


def _serve(args: argparse.Namespace) -> int:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints go to stderr
    sys.stdout = sys.stderr
    stdin = sys.stdin.buffer

    def send(obj: dict, payload: bytes = b"") -> None:
        out.write(json.dumps(obj).encode("utf-8") + b"\n" + payload)

    try:
        model = CoquiModel(args.model, args.config, speaker=args.speaker, language=args.language, threads=args.threads)
    except Exception as exc:  # report any load failure to the parent, clearly
        send({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 2
    send({"ready": True, "sample_rate": model.sample_rate})
    for line in stdin:
        try:
            request = json.loads(line)
            text = request["text"]
            if not isinstance(text, str) or not text.strip():
                raise ValueError("empty text")
            pcm = model.synthesize(text)
        except Exception as exc:
            send({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
            continue
        send({"ok": True, "bytes": len(pcm)}, pcm)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--config")
    parser.add_argument("--speaker")
    parser.add_argument("--language")
    parser.add_argument("--threads", type=int, default=1)
    return _serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
