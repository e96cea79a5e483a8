"""Match a (noisy) transcript against the expected phrases.

Per label, the best fuzzy partial-ratio between the normalised transcript and any of the
label's phrases (0..1). On Whisper transcripts of telephone speech this plain measure did as
well as a word-level soft TF-IDF with phonetic keys on our dev set, so the simple one stays.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from rapidfuzz import fuzz

_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _NON_WORD.sub(" ", text).strip()


class PhraseMatcher:
    """Scores 0..1 per label for a transcript; build once per expectation."""

    def __init__(self, phrases: Mapping[str, Sequence[str]]) -> None:
        self.labels = list(phrases)
        self.phrases = {label: [n for p in ps if (n := normalize(p))] for label, ps in phrases.items()}

    def scores(self, text: str) -> dict[str, float]:
        t = normalize(text)
        if not t:
            return {label: 0.0 for label in self.labels}
        return {
            label: max((fuzz.partial_ratio(t, p) / 100 for p in ps), default=0.0)
            for label, ps in self.phrases.items()
        }
