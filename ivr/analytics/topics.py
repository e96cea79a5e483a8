"""Complaint topics from their Indonesian descriptions, offline.

Descriptions (stored masked: no NIK or phone number reaches here) lose the masker's
placeholders (``[NIK]``, ``[PHONE]``, ``[NAMA]``, ``[REDACTED]``: no word anybody said, so never
a topic's term), are lower-cased, cut into words, stripped of Indonesian stop words
(PySastrawi's list plus words every complaint uses: "sejak", "dekat", "mohon"...) and stemmed with PySastrawi (each distinct word once); TF-IDF
(scikit-learn, single words: word pairs split one topic into its phrasings) feeds a non-negative matrix factorisation (NMF) whose
components are the topics. A topic's label is its three heaviest stems written back as the
word people used most for each (``banjir / rendam -> "banjir / terendam / rumah"``). Every
complaint goes to its heaviest topic.

Labels never name a person: a word may appear in a label only if at least ``min_authors``
different people (by the keyed hash of their NIK or phone) used it, and not if people mostly
write it capitalised inside a sentence (a proper noun: a name, or a place the region columns
already show). A complainant who writes their own name into every complaint does not become
a topic's label.

Synchronous and CPU-bound (seconds for tens of thousands of complaints): run it off the event
loop.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from ivr.privacy.masking import MASKS

__all__ = ["TopicInfo", "TopicModel", "fit_topics", "tokenize"]

_WORD = re.compile(r"[a-z]+")
#: what the masker writes for personal data (whatever the case it was written in)
_PLACEHOLDER = re.compile("|".join(re.escape(m) for m in MASKS), re.IGNORECASE)
#: words every complaint uses, whatever it is about (time, place, politeness, the hotline)
_DOMAIN_STOP = frozenset("""
sejak sudah belum lagi kemarin tadi pagi siang sore malam hari minggu bulan tahun lalu senin selasa rabu
kamis jumat sabtu dekat depan belakang samping sebelah gang utama pertigaan perempatan mohon tolong
segera pak bu bapak ibu kami saya warga kata dua tiga lebih sekali sangat banyak sering selalu masjid
musala sekolah sd negeri pasar lapangan pangkalan ojek kantor desa kelurahan kecamatan jembatan
""".split())


@functools.lru_cache(maxsize=1)
def _tools() -> tuple[frozenset[str], Any]:
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory
    from Sastrawi.StopWordRemover.StopWordRemoverFactory import StopWordRemoverFactory

    stop = frozenset(StopWordRemoverFactory().get_stop_words()) | _DOMAIN_STOP
    return stop, StemmerFactory().create_stemmer()


@functools.lru_cache(maxsize=50000)
def _stem(word: str) -> str:
    return str(_tools()[1].stem(word))


def tokenize(text: str, surface: dict[str, Counter[str]] | None = None) -> list[str]:
    """Stemmed content words of a description; ``surface`` collects stem -> words seen."""
    stop, _ = _tools()
    out = []
    for w in _WORD.findall(_PLACEHOLDER.sub(" ", text or "").lower()):
        if len(w) < 3 or w in stop:
            continue
        s = _stem(w)
        if len(s) < 3 or s in stop:
            continue
        out.append(s)
        if surface is not None:
            surface.setdefault(s, Counter())[w] += 1
    return out


@dataclass(frozen=True)
class TopicInfo:
    id: int
    label: str                  # readable, e.g. "banjir / terendam / rumah"
    terms: tuple[str, ...]      # heaviest words (as people wrote them)
    count: int


@dataclass(frozen=True, eq=False)
class TopicModel:
    topics: tuple[TopicInfo, ...]
    assignments: np.ndarray     # topic id per input document, -1 for empty descriptions
    weights: np.ndarray         # max topic weight per document

    def label(self, topic_id: int) -> str:
        return self.topics[topic_id].label if topic_id >= 0 else "tanpa uraian"


def default_k(n_docs: int) -> int:
    """More groups than a person would name (small topics then keep a group of their own):
    about 20 for two thousand complaints, at most 24."""
    return int(min(24, max(4, round((n_docs / 4.5) ** 0.5))))


_CAPITALISED = re.compile(r"(?<![.!?:]\s)(?<!^)\b([A-Z][a-z]{2,})\b")


def _proper_nouns(descriptions: list[str]) -> frozenset[str]:
    """Lower-cased words written capitalised mid-sentence in at least half their uses."""
    caps: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for d in descriptions:
        if not d:
            continue
        for m in _CAPITALISED.finditer(d):
            caps[m.group(1).lower()] += 1
        total.update(w for w in _WORD.findall(d.lower()) if w in caps)
    return frozenset(w for w, n in caps.items() if n >= 0.5 * max(total[w], 1))


def fit_topics(descriptions: list[str], k: int | None = None, *, seed: int = 0,
               max_docs_fit: int = 6000, authors: list[str | None] | None = None,
               min_authors: int = 5) -> TopicModel:
    """Topics of a list of descriptions. The factorisation is fitted on at most
    ``max_docs_fit`` documents (an even sample) and applied to all. ``authors``: who wrote
    each (a keyed hash; None = unknown, counted as a different person each time): label words
    need ``min_authors`` different people."""
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    surface: dict[str, Counter[str]] = {}
    tokens = [tokenize(d, surface) for d in descriptions]
    docs = [" ".join(t) for t in tokens]
    proper = _proper_nouns(descriptions)
    people: dict[str, set[str]] = {}
    for i, toks in enumerate(tokens):
        who = (authors[i] if authors is not None and i < len(authors) else None) or f"#{i}"
        for s in set(toks):
            people.setdefault(s, set()).add(who)

    def speakable(stem: str) -> bool:
        words = surface.get(stem)
        if not words or len(people.get(stem, ())) < min_authors:
            return False
        return words.most_common(1)[0][0] not in proper
    nonempty = np.asarray([bool(d) for d in docs])
    n = int(nonempty.sum())
    if n < 10:
        return TopicModel((), np.full(len(docs), -1), np.zeros(len(docs)))
    k = k or default_k(n)
    vec = TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 1), min_df=3 if n >= 200 else 1, max_df=0.5,
                          sublinear_tf=True, dtype=np.float32)
    idx = np.flatnonzero(nonempty)
    fit_idx = idx if len(idx) <= max_docs_fit else idx[np.linspace(0, len(idx) - 1, max_docs_fit).astype(int)]
    vec.fit([docs[i] for i in fit_idx])
    Xfit = vec.transform([docs[i] for i in fit_idx])
    k = min(k, Xfit.shape[1] - 1, len(fit_idx) - 1)
    nmf = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=400)
    nmf.fit(Xfit)
    W = nmf.transform(vec.transform([docs[i] for i in idx]))
    assign = np.full(len(docs), -1)
    weight = np.zeros(len(docs))
    assign[idx] = W.argmax(axis=1)
    weight[idx] = W.max(axis=1)
    vocab = vec.get_feature_names_out()
    topics = []
    for t in range(k):
        order = np.argsort(nmf.components_[t])[::-1]
        terms: list[str] = []
        for j in order:
            stems = vocab[j].split()
            if not all(speakable(s) for s in stems):
                continue
            words = [surface[s].most_common(1)[0][0] for s in stems if s in surface]
            term = " ".join(words)
            if term and all(term not in x and x not in term for x in terms):
                terms.append(term)
            if len(terms) == 5:
                break
        topics.append(TopicInfo(t, " / ".join(terms[:3]), tuple(terms), int((assign == t).sum())))
    return TopicModel(tuple(topics), assign, weight)


@dataclass(frozen=True)
class Doc:
    """One complaint as the topic analysis reads it (no personal data)."""
    ticket_id: int
    created_at: datetime
    day: date
    category: str | None
    agency: str | None
    area_code: str | None
    description: str
