"""Is the caller asking for help now? Two readings of the audio itself, on the Whisper encoder's
output of an utterance pooled over time (``asr.audio_intent.pool``: mean, max and standard
deviation per channel):

* ``head``: a binary logistic unit "emergency now or not", fitted by ``bench/embed_emergency.py
  --write`` on speech rendered from the default script's main-menu examples and
  ``bench/data/emergency_training.tsv`` (emergencies in callers' words, and hazard words
  mentioned in passing or beside a service request), both classes rendered calm and panicked;
* ``intent``: the emergency label's posterior under the recognizer's audio intent classifier
  (``asr.audio_intent``, its own log_proba over the expectation's labels; since phase 6, helper
  emerg3: the 1-D convolution over the encoder frames), or, when it is absent or does not know
  the expectation's labels, under the frozen copy of the old pooled classifier stored here (the
  classifier as it was when the head was fitted). A refit of ``asr/audio_intent.npz`` moves
  this reading: the thresholds that read it (``ivr.calls.understand``) are then chosen again.

The recognizer (``asr.whisper_backend``) already encodes every menu utterance; for an
expectation that offers the model's ``label`` (``darurat``) it puts both readings on the
transcript (``Transcript.emergency_audio``); what to do with them is the hotline's decision
(``ivr.calls.understand``). Both were fitted on espeak-ng voices only (never a bench text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio_intent import AudioIntentModel, pool
from .base import EmergencyAudio

DEFAULT_PATH = Path(__file__).with_name("audio_emergency.npz")


@dataclass(frozen=True)
class AudioEmergencyModel:
    label: str  # the expectation label it speaks for (it runs where that label is offered)
    mean: np.ndarray  # the head: feature standardisation, weights, bias
    scale: np.ndarray
    coef: np.ndarray
    bias: float
    intent_labels: tuple[str, ...]  # the frozen intent classifier (softmax over its labels)
    intent_mean: np.ndarray
    intent_scale: np.ndarray
    intent_coef: np.ndarray  # labels x features
    intent_bias: np.ndarray

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> AudioEmergencyModel | None:
        """The model in ``path``; None when there is none (the recognizer then runs without)."""
        path = Path(path)
        if not path.exists():
            return None
        with np.load(path) as z:
            f = {k: z[k].astype(np.float32) for k in ("mean", "scale", "coef", "intent_mean", "intent_scale",
                                                       "intent_coef", "intent_bias")}
            return cls(label=str(z["label"]), bias=float(z["bias"]),
                       intent_labels=tuple(str(v) for v in z["intent_labels"]), **f)

    def save(self, path: str | Path = DEFAULT_PATH) -> None:
        np.savez_compressed(path, label=np.array(self.label), mean=self.mean, scale=self.scale, coef=self.coef,
                            bias=np.float64(self.bias), intent_labels=np.array(self.intent_labels, dtype=str),
                            intent_mean=self.intent_mean, intent_scale=self.intent_scale,
                            intent_coef=self.intent_coef, intent_bias=self.intent_bias)

    def head(self, features: np.ndarray) -> np.ndarray:
        """The head's P(emergency) of one pooled feature vector (a 0-d array) or of rows."""
        x = np.asarray(features, dtype=np.float32)
        z = ((x - self.mean) / self.scale) @ self.coef + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))

    def intent(self, features: np.ndarray) -> np.ndarray:
        """The frozen intent classifier's posterior of ``label`` (one vector, or rows)."""
        x = np.atleast_2d(np.asarray(features, dtype=np.float32))
        z = ((x - self.intent_mean) / self.intent_scale) @ self.intent_coef.T + self.intent_bias
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        out = p[:, self.intent_labels.index(self.label)]
        return out[0] if np.ndim(features) == 1 else out

    def of_encoding(self, enc: np.ndarray, seconds: float, classifier: AudioIntentModel | None = None,
                    labels: Sequence[str] = (), log_posteriors: np.ndarray | None = None) -> EmergencyAudio:
        """Both readings of an utterance from its encoder output (frames x channels). With
        ``classifier`` (the recognizer's audio intent classifier, ``asr.audio_intent``) knowing
        ``label`` and every one of ``labels`` (the expectation's), ``intent`` is that
        classifier's own posterior of ``label`` over ``labels`` (its log_proba, not the fused
        posterior: the fusion never raises ``label``), instead of the frozen copy's.
        ``log_posteriors``: that classifier's log-posteriors of ``labels`` when the caller has
        them already (``AudioIntentModel.log_posteriors``: the recognizer computes them once for
        the fusion), so the classifier does not run twice."""
        f = pool(enc, seconds)
        return EmergencyAudio(head=round(float(self.head(f)), 6),
                              intent=round(float(self.intent_of(enc, seconds, f, classifier, labels,
                                                                log_posteriors)), 6))

    def intent_of(self, enc: np.ndarray, seconds: float, pooled: np.ndarray,
                  classifier: AudioIntentModel | None, labels: Sequence[str],
                  log_posteriors: np.ndarray | None = None) -> float:
        """The ``intent`` reading: ``classifier``'s posterior of ``label`` over ``labels`` when it
        knows them all (and ``label`` is one; read from ``log_posteriors`` when given), else the
        frozen copy's of ``pooled``."""
        labels = tuple(labels)
        if classifier is not None and self.label in labels and classifier.covers(labels):
            lp = log_posteriors if log_posteriors is not None else classifier.log_posteriors(enc, seconds, labels)
            assert lp is not None and len(lp) == len(labels)
            return float(np.exp(lp[labels.index(self.label)]))
        return float(self.intent(pooled))
