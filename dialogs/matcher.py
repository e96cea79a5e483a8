"""Intent matching for short Indonesian utterances (typed or recognised speech).

Everything heavy is precomputed when the script is loaded. At run time one utterance is
normalised (colloquial -> standard), stemmed (Sastrawi, cached per word), reduced to a
phonetic key per word, then scored against every example phrase with

* character 2-4-gram TF-IDF cosine on the phonetic keys (robust to typos and ASR errors),
* word TF-IDF cosine on stems (affix-aware; generic words weigh little),
* rapidfuzz token-set similarity on the phonetic string,
* keyword hits (each intent's strong cue words, fuzzy-matched per word).

An intent's score is its best example plus the keyword bonus. Examples of things the
hotline does *not* handle ("out_of_scope" in the script) compete as a class of their own:
when they win, or when the best score is low, the answer is no match.
"""

from __future__ import annotations

import math
from functools import lru_cache
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process

from dialogs.lang.normalize import normalize, phonetic_key, stem

OOS = "__oos__"

# words that say nothing about the intent
STOPWORDS = {
    "saya", "mau", "ingin", "tolong", "mohon", "bisa", "apa", "yang", "di", "ke", "dari",
    "dengan", "untuk", "dan", "atau", "ini", "itu", "ada", "bagaimana", "cara", "mana",
    "bagai", "gimana", "tanya", "nanya", "info", "informasi", "soal", "tentang", "mengenai",
    "terus", "juga", "saja", "sudah", "belum", "lagi", "kalau", "kok", "pak", "bu", "ya",
    "selamat", "pagi", "siang", "sore", "malam", "halo", "dong", "nih", "sih", "tidak",
    "punya", "perlu", "harus", "gitu", "begitu", "kami", "kita", "anda", "nya", "apakah",
    "karena", "sama", "pada", "oleh", "jadi", "buat", "urus", "syarat", "tanya", "minta",
    "bantu", "butuh", "hendak", "akan", "boleh", "caranya", "gimana", "dimana",
}


@dataclass(frozen=True)
class Match:
    intent: str | None
    confidence: float
    scores: Mapping[str, float] = field(default_factory=dict)   # intent -> raw score (not 0..1)

    def as_dict(self) -> dict:
        return {"intent": self.intent, "confidence": round(self.confidence, 3)}


def _prep(text: str) -> tuple[list[str], list[str]]:
    """(stems, phonetic keys) of the content words of `text`."""
    stems = [stem(w) for w in normalize(text).split()]
    content = [s for s in stems if s not in STOPWORDS] or stems
    return content, [phonetic_key(s) for s in content]


@lru_cache(maxsize=8)   # the same utterance is scored by several matchers in one turn
def _query(text: str) -> tuple[list[str], list[str], dict[str, float], dict[str, float], str]:
    stems, keys = _prep(text)
    return stems, keys, _char_ngrams(keys), _word_grams(stems), " ".join(keys)


def _char_ngrams(keys: Sequence[str]) -> dict[str, float]:
    grams: dict[str, float] = {}
    for k in keys:
        w = f" {k} "
        for n in (2, 3, 4):
            for i in range(len(w) - n + 1):
                g = w[i:i + n]
                grams[g] = grams.get(g, 0.0) + 1.0
    return grams


def _word_grams(stems: Sequence[str]) -> dict[str, float]:
    grams: dict[str, float] = {}
    for s in stems:
        grams[s] = grams.get(s, 0.0) + 1.0
    for a, b in zip(stems, stems[1:]):
        g = f"{a}_{b}"
        grams[g] = grams.get(g, 0.0) + 1.0
    return grams


class _Tfidf:
    """A tiny TF-IDF index (numpy) over example documents."""

    def __init__(self, docs: list[dict[str, float]]):
        vocab: dict[str, int] = {}
        for d in docs:
            for g in d:
                vocab.setdefault(g, len(vocab))
        df = np.zeros(len(vocab), dtype=np.float64)
        for d in docs:
            for g in d:
                df[vocab[g]] += 1
        n = len(docs)
        self.idf = np.log((1 + n) / (1 + df)) + 1.0
        self.vocab = vocab
        mat = np.zeros((len(vocab), n), dtype=np.float32)   # feature-major: rows are grams
        for j, d in enumerate(docs):
            for g, tf in d.items():
                i = vocab[g]
                mat[i, j] = (1.0 + math.log(tf)) * self.idf[i]
        norms = np.linalg.norm(mat, axis=0)
        norms[norms == 0] = 1.0
        self.mat = mat / norms
        self._idf_list = [float(x) for x in self.idf]

    def cosine(self, doc: dict[str, float]) -> np.ndarray:
        vocab = self.vocab
        idf = self._idf_list
        idx: list[int] = []
        vals: list[float] = []
        norm_sq = 0.0
        for g, tf in doc.items():
            w = 1.0 if tf == 1.0 else 1.0 + math.log(tf)
            i = vocab.get(g)
            if i is None:
                # unknown grams make the utterance less similar to every example
                norm_sq += w * w * 4.0
                continue
            v = w * idf[i]
            idx.append(i)
            vals.append(v)
            norm_sq += v * v
        if not idx:
            return np.zeros(self.mat.shape[1], dtype=np.float32)
        q = np.asarray(vals, dtype=np.float32) * (1.0 / math.sqrt(norm_sq))
        return q @ self.mat[idx]


class IntentMatcher:
    """Scores utterances against intents given by example phrases and keywords."""

    W_CHAR = 0.45
    W_WORD = 0.30
    W_FUZZ = 0.25
    W_CLASS = 0.15
    KEYWORD_BONUS = 0.25
    PHRASE_EXTRA = 0.5
    MIN_SCORE = 0.30          # below: no match
    MARGIN_SCALE = 0.20

    def __init__(
        self,
        intents: Mapping[str, Sequence[str]],
        keywords: Mapping[str, Sequence[str]] | None = None,
        out_of_scope: Sequence[str] = (),
    ):
        self.labels: list[str] = []
        self._owner: list[int] = []
        self.intents = list(intents)
        index = {name: i for i, name in enumerate(self.intents)}
        char_docs, word_docs, fuzz_docs = [], [], []
        examples = [(name, ex) for name, exs in intents.items() for ex in exs]
        examples += [(OOS, ex) for ex in out_of_scope]
        self._class_names = self.intents + [OOS]
        index[OOS] = len(self.intents)
        for name, ex in examples:
            stems, keys = _prep(ex)
            char_docs.append(_char_ngrams(keys))
            word_docs.append(_word_grams(stems))
            fuzz_docs.append(" ".join(keys))
            self._owner.append(index[name])
        self._owner_arr = np.asarray(self._owner, dtype=np.int64)
        self._char = _Tfidf(char_docs)
        self._word = _Tfidf(word_docs)
        # one document per class: words that only one intent uses weigh most
        class_docs: list[dict[str, float]] = [dict() for _ in self._class_names]
        for owner, doc in zip(self._owner, word_docs):
            for g, tf in doc.items():
                class_docs[owner][g] = class_docs[owner].get(g, 0.0) + tf
        self._class = _Tfidf(class_docs)
        self._fuzz_docs = fuzz_docs
        self._n_classes = len(self._class_names)
        # keywords: list of (class index, tuple of phonetic keys)
        self._keywords: list[tuple[int, tuple[str, ...]]] = []
        for name, kws in (keywords or {}).items():
            if name not in index:
                continue
            for kw in kws:
                stems = [stem(w) for w in normalize(kw).split()]
                if stems:
                    self._keywords.append((index[name], tuple(phonetic_key(s) for s in stems)))
        # example order per class, to take the max per class quickly
        order = np.argsort(self._owner_arr, kind="stable")
        self._order = order
        owners_sorted = self._owner_arr[order]
        self._starts = np.searchsorted(owners_sorted, np.arange(self._n_classes))
        counts = np.bincount(self._owner_arr, minlength=self._n_classes)
        self._has_examples = counts > 0
        self._ends = self._starts + counts
        self._class_idx = [order[a:b] for a, b in zip(self._starts, self._ends)]
        self._kw_vocab = frozenset(t for _, kw in self._keywords for t in kw)
        self._kw_long = sorted(t for t in self._kw_vocab if len(t) >= 5)
        self._kw_cache: dict[str, frozenset[str]] = {}
        self._kw_index: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        for cls, kw in self._keywords:
            for t in set(kw):
                self._kw_index.setdefault(t, []).append((cls, kw))

    # ------------------------------------------------------------------ scoring
    FUZZ_TOP = 5              # classes whose examples also get the (slower) fuzzy score

    def class_scores(self, text: str) -> np.ndarray:
        stems, keys, chars, words, joined = _query(text)
        if not keys:
            return np.zeros(self._n_classes)
        sim = self.W_CHAR * self._char.cosine(chars)
        sim += self.W_WORD * self._word.cosine(words)
        per_class = np.zeros(self._n_classes)
        per_class[self._has_examples] = np.maximum.reduceat(sim[self._order], self._starts[self._has_examples])
        # fuzzy token-set similarity, only for the examples of the leading classes
        top = np.argsort(-per_class)[: self.FUZZ_TOP]
        idx = np.concatenate([self._class_idx[c] for c in top])
        if len(idx):
            fz = process.cdist([joined], [self._fuzz_docs[i] for i in idx],
                               scorer=fuzz.token_set_ratio, dtype=np.float32)[0]
            sim[idx] += self.W_FUZZ * (fz / 100.0) ** 2
            for c in top:
                a, b = self._starts[c], self._ends[c]
                if b > a:
                    per_class[c] = float(sim[self._order[a:b]].max())
        per_class += self.W_CLASS * self._class.cosine(words)
        if self._keywords:
            matched: set[str] = set()
            for k in keys:
                matched |= self._keyword_tokens_for(k)
            # a cue phrase of several words is stronger evidence than a single word
            hit = np.zeros(self._n_classes)
            for t in matched:
                for cls, kw in self._kw_index.get(t, ()):
                    if all(x in matched for x in kw):
                        hit[cls] = max(hit[cls], 1.0 + self.PHRASE_EXTRA * (len(kw) - 1))
            per_class += self.KEYWORD_BONUS * hit
        return per_class

    def _keyword_tokens_for(self, key: str) -> frozenset[str]:
        """Keyword tokens that `key` stands for: itself, or close spellings (len >= 5)."""
        cached = self._kw_cache.get(key)
        if cached is not None:
            return cached
        found = {key} & self._kw_vocab
        if len(key) >= 5:
            for cand, _score, _i in process.extract(key, self._kw_long, scorer=fuzz.ratio,
                                                    score_cutoff=84, limit=None):
                if abs(len(cand) - len(key)) <= 2:
                    found.add(cand)
        result = frozenset(found)
        if len(self._kw_cache) < 50_000:
            self._kw_cache[key] = result
        return result

    def match(self, text: str, candidates: Collection[str] | None = None) -> Match:
        """Best intent among `candidates` (all intents if None), or intent None."""
        scores = self.class_scores(text)
        names = self._class_names
        allowed = [i for i, n in enumerate(names[:-1]) if candidates is None or n in candidates]
        if not allowed:
            return Match(None, 0.0, {})
        sub = scores[allowed]
        order = np.argsort(-sub)
        best_i = allowed[int(order[0])]
        best = float(scores[best_i])
        second = float(sub[order[1]]) if len(order) > 1 else 0.0
        oos = float(scores[-1])
        rival = max(second, oos)
        conf = self._confidence(best, rival)
        score_list = scores.tolist()
        result = {names[i]: score_list[i] for i in allowed}
        if best < self.MIN_SCORE or oos >= best:
            return Match(None, 0.0, result)
        return Match(names[best_i], conf, result)

    def _confidence(self, best: float, rival: float) -> float:
        """Map a score and its margin over the best rival to 0..1."""
        level = 1.0 / (1.0 + math.exp(-(best - 0.55) * 9.0))
        margin = 1.0 - math.exp(-max(0.0, best - rival) / self.MARGIN_SCALE)
        return max(0.0, min(1.0, level * (0.35 + 0.65 * margin)))
