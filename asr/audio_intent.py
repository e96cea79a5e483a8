"""An intent classifier on the audio itself: the Whisper encoder's output of an utterance,
summarised over time, through a linear softmax layer. The summary is either pooled (mean, max,
std over the utterance, optionally per segment: ``pool``) or, as shipped since phase 6, a small
1-D convolution over the frames with max and mean over time (``conv_pool``, fitted by
bench/pool_conv.py; well under a CPU-millisecond for a few seconds of speech). Since phase 7
the convolution may be an ensemble of several such networks (``ensemble``: their features side
by side, one linear layer that averages their logits, i.e. the members' log-posteriors).

The recognizer (``asr.whisper_backend``) already encodes every utterance; for a menu whose
labels the classifier knows it multiplies its own posteriors by the classifier's (over the
menu's labels) raised to ``weight``: ``p(label) ~ p_phrases(label) * p_audio(label)^weight``,
except for the ``untouched`` labels (``darurat``), which the classifier never raises (see
``fuse``): it hears "kebanjiran" in "rumah saya dulu kebanjiran, sekarang mau urus KK baru" as
well as in a flood, and emergencies have their own detector (dialogs.emergency). With
``untouched_floor`` set (shipped since phase 6) it may lower them, a spurious ``darurat`` lead
of a garbled service request included, but never below ``min(their own posterior, floor)``:
the detector's weakest reading (dialogs.emergency "near", 0.05) survives the fusion.
The weights (``audio_intent.npz``, beside this module) are fitted by ``bench/embed_intent.py
--write`` on speech rendered from the default script's own example phrases and from
bench/data/intent_training.tsv (callers' phrasings written apart from the bench set; espeak-ng
voices through the bench's telephone chain), never on the bench's texts; see
docs/understanding.md for what it buys and its limits (it has only heard synthetic voices).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_PATH = Path(__file__).with_name("audio_intent.npz")
FRAMES_PER_S = 50  # Whisper encoder output frames per second of audio
CONV_FIELDS = ("conv_proj", "conv_proj_bias", "conv_coef", "conv_bias")
HALF_FIELDS = ("conv_proj", "conv_coef")  # stored in half precision in an ensemble's file


def pool(enc: np.ndarray, seconds: float, segments: int = 0) -> np.ndarray:
    """Mean, max and standard deviation per channel over the encoder frames that hold the
    utterance (``enc``: frames x channels, the padding after the audio left out); with
    ``segments``, then the mean and standard deviation of each of that many consecutive,
    equal stretches of those frames (where in the utterance a sound came: beginning, middle,
    end), concatenated."""
    e = np.asarray(utterance_frames(enc, seconds), dtype=np.float32)
    n = len(e)
    out = [e.mean(0), e.max(0), e.std(0)]
    for s, t in segment_bounds(n, segments):
        out += [e[s:t].mean(0), e[s:t].std(0)]
    return np.concatenate(out)


def utterance_frames(enc: np.ndarray, seconds: float) -> np.ndarray:
    """The encoder frames that hold ``seconds`` of audio (at least one): the window's padding
    after the utterance left out."""
    return enc[:max(1, min(enc.shape[0], int(math.ceil(seconds * FRAMES_PER_S))))]


def segment_bounds(n: int, segments: int) -> list[tuple[int, int]]:
    """``segments`` consecutive stretches of ``n`` frames, as equal as can be, none empty
    (they overlap when there are fewer frames than stretches)."""
    out = []
    for k in range(segments):
        s = min(n - 1, (k * n) // segments)
        out.append((s, max(s + 1, ((k + 1) * n) // segments)))
    return out


def conv_pool(e: np.ndarray, proj: np.ndarray, proj_bias: np.ndarray, coef: np.ndarray, bias: np.ndarray,
              down: int = 1) -> np.ndarray:
    """A small 1-D convolution over an utterance's frames ``e`` (frames x channels): ``down``
    consecutive frames averaged, projected (``proj``: dims x channels, the standardisation
    folded in), convolved (``coef``: filters x (kernel * dims), frame-major; zeros beyond both
    ends), ReLU; then the maximum and the mean of each filter over time (a local pattern
    anywhere in the utterance, and how much of it there is)."""
    e = np.asarray(e, dtype=np.float32)
    if down > 1:
        t = (len(e) // down) * down
        e = e[:t].reshape(-1, down, e.shape[1]).mean(1) if t else e.mean(0, keepdims=True)
    p = e @ proj.T + proj_bias
    dims = p.shape[1]
    k = coef.shape[1] // dims
    pad = np.zeros((k // 2, dims), np.float32)
    cols = np.lib.stride_tricks.sliding_window_view(np.concatenate([pad, p, pad]), (k, dims))[:, 0]
    h = np.maximum(cols.reshape(len(p), k * dims) @ coef.T + bias, 0.0)
    out: np.ndarray = np.concatenate([h.max(0), h.mean(0)])
    return out


def conv_members(proj: np.ndarray, proj_bias: np.ndarray, coef: np.ndarray, bias: np.ndarray
                 ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The convolutions of a model, one per ensemble member: the ``conv_*`` arrays carry a
    leading member axis when there are several (proj 3-D), none when there is one."""
    if proj.ndim == 2:
        return [(proj, proj_bias, coef, bias)]
    return [(proj[m], proj_bias[m], coef[m], bias[m]) for m in range(proj.shape[0])]


@dataclass(frozen=True)
class AudioIntentModel:
    labels: tuple[str, ...]
    mean: np.ndarray  # feature standardisation
    scale: np.ndarray
    coef: np.ndarray  # labels x features
    bias: np.ndarray  # labels
    weight: float  # exponent of the classifier's posterior in the fusion (chosen on dev)
    untouched: tuple[str, ...] = ()  # labels whose posterior the fusion never raises
    # None: the untouched labels keep their posterior (and their lead); a number: the fusion may
    # lower them, to no less than min(their posterior, untouched_floor)
    untouched_floor: float | None = None
    # optional hidden layer (a one-layer perceptron): ``coef`` then reads its ReLU outputs
    hidden_coef: np.ndarray | None = None  # hidden units x features
    hidden_bias: np.ndarray | None = None  # hidden units
    segments: int = 0  # the features: ``pool(enc, seconds, segments)`` (0: mean, max, std only)
    # or (when ``conv_coef`` is set) ``conv_pool`` of the frames with these weights
    # (an ensemble of several convolutions: each array with a leading member axis, see ``ensemble``)
    conv_proj: np.ndarray | None = None  # dims x channels
    conv_proj_bias: np.ndarray | None = None  # dims
    conv_coef: np.ndarray | None = None  # filters x (kernel * dims)
    conv_bias: np.ndarray | None = None  # filters
    conv_down: int = 1  # consecutive frames averaged first

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> AudioIntentModel | None:
        """The model in ``path``; None when there is none (the recognizer then runs without)."""
        path = Path(path)
        if not path.exists():
            return None
        with np.load(path) as z:
            conv = {k: z[k].astype(np.float32) for k in CONV_FIELDS if k in z}
            if conv:
                conv["conv_down"] = int(z["conv_down"])
            return cls(labels=tuple(str(v) for v in z["labels"]), mean=z["mean"].astype(np.float32),
                       scale=z["scale"].astype(np.float32), coef=z["coef"].astype(np.float32),
                       bias=z["bias"].astype(np.float32), weight=float(z["weight"]),
                       untouched=tuple(str(v) for v in z["untouched"]) if "untouched" in z else (),
                       hidden_coef=z["hidden_coef"].astype(np.float32) if "hidden_coef" in z else None,
                       hidden_bias=z["hidden_bias"].astype(np.float32) if "hidden_bias" in z else None,
                       segments=int(z["segments"]) if "segments" in z else 0,
                       untouched_floor=float(z["untouched_floor"]) if "untouched_floor" in z else None, **conv)

    def save(self, path: str | Path = DEFAULT_PATH) -> None:
        arrays: dict[str, Any] = {
            "labels": np.array(self.labels), "mean": self.mean.astype(np.float32),
            "scale": self.scale.astype(np.float32), "coef": self.coef.astype(np.float32),
            "bias": self.bias.astype(np.float32), "weight": np.float64(self.weight),
            "untouched": np.array(self.untouched, dtype=str)}
        if self.hidden_coef is not None and self.hidden_bias is not None:
            arrays.update(hidden_coef=self.hidden_coef.astype(np.float32),
                          hidden_bias=self.hidden_bias.astype(np.float32))
        if self.segments:
            arrays["segments"] = np.int64(self.segments)
        if self.untouched_floor is not None:
            arrays["untouched_floor"] = np.float64(self.untouched_floor)
        if self.conv_coef is not None:
            arrays.update({k: np.asarray(getattr(self, k), dtype=np.float32) for k in CONV_FIELDS})
            if self.members > 1:  # an ensemble's large arrays in half precision (as ``ensemble`` rounds them)
                arrays.update({k: arrays[k].astype(np.float16) for k in HALF_FIELDS})
            arrays["conv_down"] = np.int64(self.conv_down)
        np.savez_compressed(path, **arrays)

    def covers(self, labels: Sequence[str]) -> bool:
        return bool(labels) and all(lab in self.labels for lab in labels)

    def log_proba(self, features: np.ndarray, labels: Sequence[str] | None = None) -> np.ndarray:
        """Log-posteriors of ``labels`` (default: all the model's), renormalised over them;
        ``features`` one vector (or rows of vectors) from ``features``."""
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

    def features(self, enc: np.ndarray, seconds: float) -> np.ndarray:
        """What the classifier reads of an utterance's encoder output (``pool``, or
        ``conv_pool`` of the frames that hold the utterance)."""
        if self.conv_coef is not None:
            assert self.conv_proj is not None and self.conv_proj_bias is not None and self.conv_bias is not None
            e = utterance_frames(enc, seconds)
            parts = [conv_pool(e, *m, down=self.conv_down)
                     for m in conv_members(self.conv_proj, self.conv_proj_bias, self.conv_coef, self.conv_bias)]
            return parts[0] if len(parts) == 1 else np.concatenate(parts)
        return pool(enc, seconds, self.segments)

    def log_posteriors(self, enc: np.ndarray, seconds: float, labels: Sequence[str]) -> np.ndarray | None:
        """The classifier's log-posteriors of ``labels`` (renormalised over them) for an
        utterance's encoder output, or None when the model does not know every label. Computed
        once per utterance by the recognizer, which reads both the fusion's ``adjustment`` and
        the emergency reading (``asr.audio_emergency``) from them."""
        if not self.covers(labels):
            return None
        return self.log_proba(self.features(enc, seconds), labels)

    def adjustment_of(self, log_posteriors: np.ndarray | None) -> np.ndarray | None:
        """What to add to the recognizer's log-posteriors (``weight`` times ``log_posteriors``,
        from ``log_posteriors``), or None without them or with no weight."""
        if self.weight <= 0 or log_posteriors is None:
            return None
        return self.weight * np.asarray(log_posteriors).astype(np.float64)

    @property
    def members(self) -> int:
        """How many convolutions the model averages (1 for a single one, 0 for pooled features)."""
        if self.conv_proj is None:
            return 0
        return 1 if self.conv_proj.ndim == 2 else int(self.conv_proj.shape[0])

    @classmethod
    def ensemble(cls, models: Sequence[AudioIntentModel]) -> AudioIntentModel:
        """One model averaging the logits of convolution ``models`` (equivalently their
        log-posteriors up to a constant: a geometric mean of their posteriors), each member's
        own features side by side. The members must share labels, frame averaging and the
        shapes of their convolutions (kernels of different widths: pad the narrower with zeros
        on both sides, as bench/pool_conv.py does); weight, untouched labels and floor are the
        first's (choose them again)."""
        first = models[0]
        if any(m.conv_coef is None or m.labels != first.labels or m.conv_down != first.conv_down
               or m.hidden_coef is not None for m in models):
            raise ValueError("an ensemble is of convolution models with the same labels and frame averaging")
        parts = [mem for m in models for mem in conv_members(*m._conv())]
        n = len(parts)
        stacked = [np.stack([np.asarray(p[k], dtype=np.float32) for p in parts]) for k in range(4)]
        for k in (0, 2):  # the large arrays (HALF_FIELDS) as ``save`` stores them
            stacked[k] = stacked[k].astype(np.float16).astype(np.float32)
        # each model's standardisation folded into its output layer, weighed by its share of the
        # members (a model that is itself an ensemble already averages its own)
        coef = np.concatenate([(m.coef / m.scale[None, :]) * (m.members / n) for m in models], axis=1)
        bias = sum((m.bias - (m.coef / m.scale[None, :]) @ m.mean) * (m.members / n) for m in models)
        feats = coef.shape[1]
        return replace(first, mean=np.zeros(feats, np.float32), scale=np.ones(feats, np.float32),
                       coef=coef.astype(np.float32), bias=np.asarray(bias, dtype=np.float32),
                       conv_proj=stacked[0], conv_proj_bias=stacked[1], conv_coef=stacked[2], conv_bias=stacked[3])

    def _conv(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        assert (self.conv_proj is not None and self.conv_proj_bias is not None and self.conv_coef is not None
                and self.conv_bias is not None)
        return self.conv_proj, self.conv_proj_bias, self.conv_coef, self.conv_bias

    def adjustment(self, enc: np.ndarray, seconds: float, labels: Sequence[str]) -> np.ndarray | None:
        """What to add to the recognizer's log-posteriors of ``labels`` (``weight`` times the
        classifier's log-posterior), or None when the model does not know every label."""
        if self.weight <= 0:
            return None
        return self.adjustment_of(self.log_posteriors(enc, seconds, labels))

    def fuse(self, posteriors: np.ndarray, labels: Sequence[str], adjustment: np.ndarray) -> np.ndarray:
        """The recognizer's ``posteriors`` of ``labels`` times exp(``adjustment``), renormalised;
        the ``untouched`` labels keep their posterior and the others share the rest. When an
        untouched label leads, before or after, the posteriors stay as they are: whether it
        leads, and its posterior, are all dialogs.emergency reads of ``darurat``.

        With ``untouched_floor``, where the product would lower every untouched label it is
        taken, each untouched label kept at no less than min(its posterior, the floor) and the
        others sharing the rest in the product's proportions: the classifier may take a lead
        away from ``darurat`` (a garbled service request), never give it one."""
        post = np.asarray(posteriors, dtype=np.float64)
        keep = np.array([lab in self.untouched for lab in labels], dtype=bool)
        q = post * np.exp(adjustment - np.max(adjustment))
        if self.untouched_floor is not None and q.sum() > 0:
            full = q / q.sum()
            if np.all(full[keep] <= post[keep]):
                low = np.maximum(full[keep], np.minimum(post[keep], self.untouched_floor))
                rest = full.copy()
                rest[keep] = 0.0
                if rest.sum() <= 0:
                    return post
                out = rest / rest.sum() * max(0.0, 1.0 - float(low.sum()))
                out[keep] = low
                return out
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
        if self.untouched_floor is not None:
            # a floored untouched label's own posterior is lost: not invertible
            raise ValueError("the fusion of a classifier with untouched_floor cannot be undone: recognise again "
                             "instead of deriving from results it made")
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
