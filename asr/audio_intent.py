"""An intent classifier on the audio itself: the Whisper encoder's output of an utterance,
pooled over time, through a linear softmax layer (one matrix product).

The recognizer (``asr.whisper_backend``) already encodes every utterance; for a menu whose
labels the classifier knows it multiplies its own posteriors by the classifier's (over the
menu's labels) raised to ``weight``: ``p(label) ~ p_phrases(label) * p_audio(label)^weight``,
except for the ``untouched`` labels (``darurat``), which keep the recognizer's posterior and
their lead (see ``fuse``): the
classifier hears "kebanjiran" in "rumah saya dulu kebanjiran, sekarang mau urus KK baru" as
well as in a flood, and emergencies have their own detector (dialogs.emergency).
The weights (``audio_intent.npz``, beside this module) are fitted by ``bench/embed_intent.py
--write`` on speech rendered from the default script's own example phrases and from
bench/data/intent_training.tsv (callers' phrasings written apart from the bench set; espeak-ng
voices through the bench's telephone chain), never on the bench's texts; see
docs/understanding.md for what it buys and its limits (it has only heard synthetic voices).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_PATH = Path(__file__).with_name("audio_intent.npz")
FRAMES_PER_S = 50  # Whisper encoder output frames per second of audio


def pool(enc: np.ndarray, seconds: float) -> np.ndarray:
    """Mean, max and standard deviation per channel over the encoder frames that hold the
    utterance (``enc``: frames x channels, the padding after the audio left out)."""
    n = max(1, min(enc.shape[0], int(math.ceil(seconds * FRAMES_PER_S))))
    e = np.asarray(enc[:n], dtype=np.float32)
    return np.concatenate([e.mean(0), e.max(0), e.std(0)])


@dataclass(frozen=True)
class AudioIntentModel:
    labels: tuple[str, ...]
    mean: np.ndarray  # feature standardisation
    scale: np.ndarray
    coef: np.ndarray  # labels x features
    bias: np.ndarray  # labels
    weight: float  # exponent of the classifier's posterior in the fusion (chosen on dev)
    untouched: tuple[str, ...] = ()  # labels whose posterior the fusion leaves as it is
    # optional hidden layer (a one-layer perceptron): ``coef`` then reads its ReLU outputs
    hidden_coef: np.ndarray | None = None  # hidden units x features
    hidden_bias: np.ndarray | None = None  # hidden units

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> AudioIntentModel | None:
        """The model in ``path``; None when there is none (the recognizer then runs without)."""
        path = Path(path)
        if not path.exists():
            return None
        with np.load(path) as z:
            return cls(labels=tuple(str(v) for v in z["labels"]), mean=z["mean"].astype(np.float32),
                       scale=z["scale"].astype(np.float32), coef=z["coef"].astype(np.float32),
                       bias=z["bias"].astype(np.float32), weight=float(z["weight"]),
                       untouched=tuple(str(v) for v in z["untouched"]) if "untouched" in z else (),
                       hidden_coef=z["hidden_coef"].astype(np.float32) if "hidden_coef" in z else None,
                       hidden_bias=z["hidden_bias"].astype(np.float32) if "hidden_bias" in z else None)

    def save(self, path: str | Path = DEFAULT_PATH) -> None:
        hidden = ({} if self.hidden_coef is None or self.hidden_bias is None else
                  {"hidden_coef": self.hidden_coef.astype(np.float32), "hidden_bias": self.hidden_bias.astype(np.float32)})
        np.savez_compressed(path, labels=np.array(self.labels), mean=self.mean.astype(np.float32),
                            scale=self.scale.astype(np.float32), coef=self.coef.astype(np.float32),
                            bias=self.bias.astype(np.float32), weight=np.float64(self.weight),
                            untouched=np.array(self.untouched, dtype=str), **hidden)

    def covers(self, labels: Sequence[str]) -> bool:
        return bool(labels) and all(lab in self.labels for lab in labels)

    def log_proba(self, features: np.ndarray, labels: Sequence[str] | None = None) -> np.ndarray:
        """Log-posteriors of ``labels`` (default: all the model's), renormalised over them;
        ``features`` one vector (or rows of vectors) from ``pool``."""
        x = np.atleast_2d(np.asarray(features, dtype=np.float32))
        h = (x - self.mean) / self.scale
        if self.hidden_coef is not None and self.hidden_bias is not None:
            h = np.maximum(h @ self.hidden_coef.T + self.hidden_bias, 0.0)
        z = h @ self.coef.T + self.bias
        if labels is not None:
            z = z[:, [self.labels.index(lab) for lab in labels]]
        z = z - z.max(axis=1, keepdims=True)
        out = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return out[0] if np.ndim(features) == 1 else out

    def adjustment(self, enc: np.ndarray, seconds: float, labels: Sequence[str]) -> np.ndarray | None:
        """What to add to the recognizer's log-posteriors of ``labels`` (``weight`` times the
        classifier's log-posterior), or None when the model does not know every label."""
        if self.weight <= 0 or not self.covers(labels):
            return None
        return self.weight * self.log_proba(pool(enc, seconds), labels).astype(np.float64)

    def fuse(self, posteriors: np.ndarray, labels: Sequence[str], adjustment: np.ndarray) -> np.ndarray:
        """The recognizer's ``posteriors`` of ``labels`` times exp(``adjustment``), renormalised;
        the ``untouched`` labels keep their posterior and the others share the rest. When an
        untouched label leads, before or after, the posteriors stay as they are: whether it
        leads, and its posterior, are all dialogs.emergency reads of ``darurat``."""
        post = np.asarray(posteriors, dtype=np.float64)
        keep = np.array([lab in self.untouched for lab in labels], dtype=bool)
        q = post * np.exp(adjustment - np.max(adjustment))
        q[keep] = 0.0
        if q.sum() <= 0:
            return post
        out = q / q.sum() * max(0.0, 1.0 - float(post[keep].sum()))
        out[keep] = post[keep]
        if keep[int(np.argmax(post))] or keep[int(np.argmax(out))]:
            return post  # an untouched label leads (before or after): nothing changes
        return out


    def unfuse(self, fused: np.ndarray, labels: Sequence[str], adjustment: np.ndarray) -> np.ndarray:
        """The posteriors ``fuse`` was given, from what it returned (benches: results cached
        with this classifier in, to be fused with another). Where an untouched label leads in
        ``fused``, fuse returned its input; otherwise the reweighting is undone, unless the
        undone posteriors would make an untouched label lead (then fuse returned its input)."""
        out = np.asarray(fused, dtype=np.float64)
        keep = np.array([lab in self.untouched for lab in labels], dtype=bool)
        if keep[int(np.argmax(out))]:
            return out
        q = out * np.exp(-(adjustment - np.max(adjustment)))
        q[keep] = 0.0
        if q.sum() <= 0:
            return out
        post = q / q.sum() * max(0.0, 1.0 - float(out[keep].sum()))
        post[keep] = out[keep]
        if keep[int(np.argmax(post))]:
            return out
        return post
