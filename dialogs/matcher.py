"""Intent matching for short Indonesian utterances (typed or recognised speech).

Everything heavy is precomputed when the script is loaded. At run time one utterance is
normalised (colloquial -> standard), its words stemmed (Sastrawi) and repaired against the
script's own vocabulary (colloquial affixes, words merged or split by the recogniser, typos),
then scored against every example phrase with

* character 2-4-gram TF-IDF cosine on phonetic keys (robust to typos and ASR errors),
* word TF-IDF cosine on stems and stem bigrams (affix-aware; generic words weigh little),
* a per-intent word TF-IDF cosine (words only one intent uses weigh most),
* keyword evidence: each intent's cue words and phrases. A longer cue that covers a shorter
  cue of another intent wins over it ("status komplain" beats "komplain"), and an intent's
  `not_keywords` speak against it ("petugas ... minta uang" is a complaint, not a request
  for an agent; "... kemarin" is not an emergency now).

An intent's score is its best example plus its keyword evidence. Examples of things the
hotline does *not* handle ("out_of_scope" in the script) compete as a class of their own:
when they win, or when the best score is low, the answer is no match.

All per-word work (stems, repairs, n-gram vectors, keyword lookups) is cached per matcher,
so an utterance costs a few dictionary look-ups and a handful of small vector additions.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

from dialogs.lang.normalize import is_known_word, normalize, phonetic_key, stem

OOS = "__oos__"
OTHER_TOPIC = "lainnya"      # the topic of out-of-scope phrases given as a plain list

# words that say nothing about the intent (for similarity; keywords still see them)
STOPWORDS = frozenset({
    "saya", "mau", "ingin", "tolong", "mohon", "bisa", "apa", "yang", "di", "ke", "dari",
    "dengan", "untuk", "dan", "atau", "ini", "itu", "ada", "bagaimana", "cara", "mana",
    "bagai", "gimana", "tanya", "nanya", "info", "informasi", "soal", "tentang", "mengenai",
    "terus", "juga", "saja", "sudah", "belum", "lagi", "kalau", "kok", "pak", "bu", "ya",
    "selamat", "pagi", "siang", "sore", "malam", "halo", "dong", "nih", "sih", "tidak",
    "punya", "perlu", "harus", "gitu", "begitu", "kami", "kita", "anda", "nya", "apakah",
    "karena", "sama", "pada", "oleh", "jadi", "buat", "urus", "syarat", "minta",
    "bantu", "butuh", "hendak", "akan", "boleh", "caranya", "dimana", "kak", "mbak", "mas",
    "nah", "kan", "tuh", "gin", "dah", "aja", "tadi", "adalah", "sini", "situ", "begin",
})

# colloquial / ASR affixes tried when a word is not in the script's vocabulary
_PREFIXES = ("ke", "ter", "di", "nge", "ng", "ny", "n", "me", "ber", "se", "pe", "per")
_SUFFIXES = ("nya", "in", "an", "kan", "lah", "ku", "mu", "i")


@dataclass(frozen=True)
class Match:
    intent: str | None
    confidence: float
    scores: Mapping[str, float] = field(default_factory=dict)   # intent -> raw score (not 0..1)
    # no intent because the script's out_of_scope examples matched best (a request the hotline
    # does not handle: "mau bikin paspor"), not because nothing matched
    out_of_scope: bool = False
    # when out_of_scope: the topic of the out-of-scope example that matched best ("paspor")
    topic: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"intent": self.intent, "confidence": round(self.confidence, 3)}


def _char_grams(key: str) -> dict[str, float]:
    grams: dict[str, float] = {}
    w = f" {key} "
    for n in (2, 3, 4):
        for i in range(len(w) - n + 1):
            g = w[i:i + n]
            grams[g] = grams.get(g, 0.0) + 1.0
    return grams


def _stems(text: str) -> list[str]:
    return [stem(w) for w in normalize(text).split()]


@lru_cache(maxsize=256)   # the same utterance is scored by several matchers in one turn
def _query(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(words, stems) of `text`, normalised (the matcher repairs and filters them itself)."""
    words = tuple(normalize(text).split())
    return words, tuple(stem(w) for w in words)


class _Index:
    """A TF-IDF index over documents, stored feature-major: `vector(f)` is feature f's
    contribution to every document's cosine, for a query that contains f once."""

    UNKNOWN_WEIGHT = 2.0     # unknown features make a query less similar to every document

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
        idf = np.log((1 + n) / (1 + df)) + 1.0
        mat = np.zeros((len(vocab), n), dtype=np.float64)
        for j, d in enumerate(docs):
            for g, tf in d.items():
                i = vocab[g]
                mat[i, j] = (1.0 + math.log(tf)) * idf[i]
        norms = np.linalg.norm(mat, axis=0)
        norms[norms == 0] = 1.0
        mat /= norms
        self.n = n
        self.vocab = vocab
        self.idf = {g: float(idf[i]) for g, i in vocab.items()}
        self._rows = (mat * idf[:, None]).astype(np.float32)   # query weight idf folded in

    def vector(self, feature: str) -> np.ndarray | None:
        i = self.vocab.get(feature)
        return None if i is None else self._rows[i]

    def weight(self, feature: str) -> float:
        return self.idf.get(feature, self.UNKNOWN_WEIGHT)


class IntentMatcher:
    """Scores utterances against intents given by example phrases and keywords.

    keywords: intent -> cue words/phrases (a hit is strong evidence for the intent);
    not_keywords: intent -> words/phrases that speak against it (its keyword evidence is
    withdrawn and its score lowered); out_of_scope: phrases the hotline does not handle, as
    a list or by topic (topic -> phrases; a list is the topic "lainnya"). The topics share one
    class: grouping the phrases changes no score, and a match says which topic's phrase won.
    """

    W_CHAR = 0.40
    W_WORD = 0.35
    W_CLASS = 0.15
    KEYWORD_BONUS = 0.45
    PHRASE_EXTRA = 0.5
    NEGATIVE_PENALTY = 0.25
    MIN_SCORE = 0.30          # below: no match
    MARGIN_SCALE = 0.20
    SOLE_KEYWORD_FLOOR = 0.72   # confidence when only the winner has keyword evidence

    def __init__(
        self,
        intents: Mapping[str, Sequence[str]],
        keywords: Mapping[str, Sequence[str]] | None = None,
        out_of_scope: Sequence[str] | Mapping[str, Sequence[str]] = (),
        not_keywords: Mapping[str, Sequence[str]] | None = None,
        default: Collection[str] | None = None,
    ):
        self.intents = list(intents)
        # what `match(text)` without candidates chooses among (None: every intent)
        self._default = frozenset(default) if default is not None else None
        self._class_names = self.intents + [OOS]
        index = {name: i for i, name in enumerate(self._class_names)}
        self._n_classes = len(self._class_names)
        examples = [(name, ex) for name, exs in intents.items() for ex in exs]
        oos = out_of_scope if isinstance(out_of_scope, Mapping) else {OTHER_TOPIC: out_of_scope}
        oos_examples = [(topic, ex) for topic, exs in oos.items() for ex in exs]
        examples += [(OOS, ex) for _, ex in oos_examples]
        # the topic of each out-of-scope example, in the order they sit at the end of the index
        self._oos_topics = [topic for topic, _ in oos_examples]
        examples.sort(key=lambda e: index[e[0]])     # class order: per-class maxima are slices

        # keywords first: their words belong to the vocabulary used for repairs
        self._keywords: list[tuple[int, tuple[str, ...], bool]] = []   # (class, keys, negative)
        for table, negative in ((keywords or {}, False), (not_keywords or {}, True)):
            for name, kws in table.items():
                if name not in index:
                    continue
                for kw in kws:
                    words = normalize(kw).split()
                    keys = tuple(phonetic_key(stem(w)) for w in words)
                    if keys:
                        self._keywords.append((index[name], keys, negative))
                    surface_keys = tuple(phonetic_key(w) for w in words)
                    if surface_keys != keys:
                        self._keywords.append((index[name], surface_keys, negative))

        ex_stems = [_stems(ex) for _, ex in examples]
        self._vocab: set[str] = {s for st in ex_stems for s in st}
        self._vocab |= {s for kw in [*(keywords or {}).values(), *(not_keywords or {}).values()]
                        for k in kw for s in _stems(k)}
        self._vocab_long = sorted(w for w in self._vocab if len(w) >= 5 and w.isalpha())

        char_docs, word_docs, owners = [], [], []
        for (name, _ex), stems in zip(examples, ex_stems):
            content = [s for s in stems if s not in STOPWORDS] or stems
            char_docs.append(self._char_doc(content))
            word_docs.append(self._word_doc(content))
            owners.append(index[name])
        self._owner_arr = np.asarray(owners, dtype=np.int64)
        self._n_ex = len(owners)
        self._char = _Index(char_docs)
        self._word = _Index(word_docs)
        class_docs: list[dict[str, float]] = [dict() for _ in self._class_names]
        for owner, doc in zip(owners, word_docs):
            for g, tf in doc.items():
                class_docs[owner][g] = class_docs[owner].get(g, 0.0) + tf
        self._class = _Index(class_docs)

        counts = np.bincount(self._owner_arr, minlength=self._n_classes)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self._has_examples = counts > 0
        self._all_have_examples = bool(self._has_examples.all())
        self._starts = starts[self._has_examples]

        self._kw_vocab = frozenset(t for _, kw, _ in self._keywords for t in kw)
        self._kw_long = sorted(t for t in self._kw_vocab if len(t) >= 5)
        # cue phrases by their first word: a phrase can only match where that word is
        self._kw_index: dict[str, list[int]] = {}
        for n, (_cls, cue, _neg) in enumerate(self._keywords):
            self._kw_index.setdefault(cue[0], []).append(n)

        # per-word caches (bounded)
        self._repair_cache: dict[str, tuple[str, ...]] = {}
        self._char_cache: dict[str, tuple[np.ndarray, float, dict[str, float]]] = {}
        self._cross_cache: dict[tuple[str, str], float] = {}
        self._word_cache: dict[str, tuple[np.ndarray | None, np.ndarray | None, float, float]] = {}
        self._kwtok_cache: dict[str, frozenset[str]] = {}
        self._zero_ex = np.zeros(self._n_ex, dtype=np.float32)
        self._zero_cls = np.zeros(self._n_classes, dtype=np.float32)

    # ------------------------------------------------------------ preparation
    @staticmethod
    def _char_doc(stems: Sequence[str]) -> dict[str, float]:
        grams: dict[str, float] = {}
        for s in stems:
            for g, c in _char_grams(phonetic_key(s)).items():
                grams[g] = grams.get(g, 0.0) + c
        return grams

    @staticmethod
    def _word_doc(stems: Sequence[str]) -> dict[str, float]:
        grams: dict[str, float] = {}
        for s in stems:
            grams[s] = grams.get(s, 0.0) + 1.0
        for a, b in zip(stems, stems[1:]):
            g = f"{a}_{b}"
            grams[g] = grams.get(g, 0.0) + 1.0
        return grams

    def _repair(self, word: str) -> tuple[str, ...]:
        """`word` as the script's vocabulary knows it: itself, without a colloquial affix,
        split in two (ASR merges words), or its close spelling (typos)."""
        cached = self._repair_cache.get(word)
        if cached is not None:
            return cached
        vocab = self._vocab
        result: tuple[str, ...] = (word,)
        if (word not in vocab and word.isalpha() and len(word) >= 4 and word not in STOPWORDS
                and not is_known_word(word)):
            found: tuple[str, ...] | None = None
            # nasal prefixes of colloquial verbs: ngeluh <- keluh, nyari <- cari, mukul <- pukul
            if word[:2] == "ng" and word[2:3] in "aiueo":
                for cand in ("k" + word[2:], "k" + word[3:]):
                    if cand in vocab or stem(cand) in vocab:
                        found = (cand if cand in vocab else stem(cand),)
                        break
            elif word[:2] == "ny" and word[2:3] in "aiueo":
                for cand in ("s" + word[2:], "c" + word[2:]):
                    if cand in vocab or stem(cand) in vocab:
                        found = (cand if cand in vocab else stem(cand),)
                        break
            elif word[:1] in "mn" and word[1:2] in "aiueo":
                cand = ("p" if word[0] == "m" else "t") + word[1:]
                if cand in vocab or stem(cand) in vocab:
                    found = (cand if cand in vocab else stem(cand),)
            for p in ("",) + _PREFIXES:
                if found:
                    break
                if not word.startswith(p):
                    continue
                core = word[len(p):]
                for s in ("",) + _SUFFIXES:
                    if (p or s) and core.endswith(s):
                        cand = core[: len(core) - len(s)] if s else core
                        if len(cand) >= 3 and (cand in vocab or stem(cand) in vocab):
                            found = (cand if cand in vocab else stem(cand),)
                            break
                if found:
                    break
            if found is None and len(word) >= 6:
                for i in range(3, len(word) - 2):
                    a, b = word[:i], word[i:]
                    sa, sb = (a if a in vocab else stem(a)), (b if b in vocab else stem(b))
                    if sa in vocab and sb in vocab:
                        found = (sa, sb)
                        break
            if found is None and len(word) >= 5:
                best = process.extractOne(word, self._vocab_long, scorer=fuzz.ratio, score_cutoff=80)
                if best is not None and abs(len(best[0]) - len(word)) <= 2 and best[0][0] == word[0]:
                    found = (best[0],)
            if found:
                result = found
        if len(self._repair_cache) < 100_000:
            self._repair_cache[word] = result
        return result

    def _words(self, query: tuple[tuple[str, ...], tuple[str, ...]]) -> tuple[list[str], list[str]]:
        """(repaired stems, the surface word of each) of a query; two neighbours that the
        vocabulary knows only joined are joined."""
        surface, raw = query
        vocab = self._vocab
        out: list[str] = []
        i = 0
        n = len(raw)
        while i < n:
            w = raw[i]
            if i + 1 < n and w not in vocab and raw[i + 1] not in vocab:
                joined = w + raw[i + 1]
                sj = joined if joined in vocab else stem(joined)
                if sj in vocab and sj not in STOPWORDS:
                    out.append(sj)
                    i += 2
                    continue
            out.extend(self._repair(w))
            i += 1
        if out == list(raw):
            return out, list(surface)
        # a repaired word may complete a known phrase ("kartu keluwarga" -> "kk")
        toks = normalize(" ".join(out)).split()
        out = [s if s in vocab else self._repair(s)[0] for s in (stem(t) for t in toks)]
        return out, toks

    def _char_vec(self, stem_: str) -> tuple[np.ndarray, float, dict[str, float]]:
        """(contribution to every example's cosine, squared norm, weighted grams) of a word."""
        cached = self._char_cache.get(stem_)
        if cached is None:
            grams = _char_grams(phonetic_key(stem_))
            vec = np.zeros(self._n_ex, dtype=np.float32)
            weighted: dict[str, float] = {}
            for g, c in grams.items():
                row = self._char.vector(g)
                if row is not None:
                    vec += c * row
                weighted[g] = c * self._char.weight(g)
            cached = (vec, sum(v * v for v in weighted.values()), weighted)
            if len(self._char_cache) < 100_000:
                self._char_cache[stem_] = cached
        return cached

    def _char_cross(self, a: str, b: str) -> float:
        """Dot product of two words' weighted n-gram vectors (shared grams, e.g. " ke")."""
        key = (a, b) if a <= b else (b, a)
        cached = self._cross_cache.get(key)
        if cached is None:
            ga, gb = self._char_vec(a)[2], self._char_vec(b)[2]
            if len(ga) > len(gb):
                ga, gb = gb, ga
            cached = sum(v * gb[g] for g, v in ga.items() if g in gb)
            if len(self._cross_cache) < 200_000:
                self._cross_cache[key] = cached
        return cached

    def _word_vec(self, feature: str) -> tuple[np.ndarray | None, np.ndarray | None, float, float]:
        """(contribution to the examples' cosines, to the classes' cosines, squared weights)."""
        cached = self._word_cache.get(feature)
        if cached is None:
            cached = (self._word.vector(feature), self._class.vector(feature),
                      self._word.weight(feature) ** 2, self._class.weight(feature) ** 2)
            if len(self._word_cache) < 100_000:
                self._word_cache[feature] = cached
        return cached

    def _keyword_tokens_for(self, word: str) -> frozenset[str]:
        """Keyword tokens (phonetic keys) that `word` stands for: its own key, or close
        spellings of it (len >= 5) when the word is not a known Indonesian word — so a typo
        or a garbled word matches a cue, but "sekarang" never matches "sekarat"."""
        cached = self._kwtok_cache.get(word)
        if cached is not None:
            return cached
        key = phonetic_key(word)
        found = {key} & self._kw_vocab
        if len(key) >= 5 and not found and not is_known_word(word):
            for cand, _score, _i in process.extract(key, self._kw_long, scorer=fuzz.ratio,
                                                    score_cutoff=84, limit=None):
                if abs(len(cand) - len(key)) <= 2:
                    found.add(cand)
        result = frozenset(found)
        if len(self._kwtok_cache) < 100_000:
            self._kwtok_cache[word] = result
        return result

    # ------------------------------------------------------------------ scoring
    def _analyse(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool, np.ndarray]:
        """(per-class similarity, keyword evidence, negative evidence, anything heard, per-example
        similarity)."""
        words, surface = self._words(_query(text))
        content = [w for w in words if w not in STOPWORDS] or words
        if not content:
            return self._zero_cls.astype(np.float64), self._zero_cls, self._zero_cls, False, self._zero_ex

        # character n-grams (per-word vectors summed; the norm needs the shared grams too)
        n = len(content)
        infos = [self._char_vec(w) for w in content]
        norm2 = sum(info[1] for info in infos)
        for a in range(n):
            for b in range(a + 1, n):
                norm2 += 2.0 * self._char_cross(content[a], content[b])
        char_sum = infos[0][0] if n == 1 else np.add.reduce([info[0] for info in infos])
        sim = (self.W_CHAR / (math.sqrt(norm2) or 1.0)) * char_sum

        # words and bigrams, against examples and against whole classes
        feats: dict[str, float] = {}
        for w in content:
            feats[w] = feats.get(w, 0.0) + 1.0
        for w1, w2 in zip(content, content[1:], strict=False):
            bigram = f"{w1}_{w2}"
            feats[bigram] = feats.get(bigram, 0.0) + 1.0
        ex_vecs: list[np.ndarray] = []
        cls_vecs: list[np.ndarray] = []
        wn = cn = 0.0
        for f, c in feats.items():
            ve, vc, we2, wc2 = self._word_vec(f)
            if ve is not None:
                assert vc is not None   # both indexes hold every example feature
                ex_vecs.append(ve if c == 1.0 else c * ve)
                cls_vecs.append(vc if c == 1.0 else c * vc)
            c2 = c * c
            wn += c2 * we2
            cn += c2 * wc2
        if ex_vecs:
            sim = sim + (self.W_WORD / math.sqrt(wn)) * np.add.reduce(ex_vecs)
        if self._all_have_examples:
            per_class = np.maximum.reduceat(sim, self._starts).astype(np.float64)
        else:
            per_class = np.zeros(self._n_classes)
            if len(self._starts):
                per_class[self._has_examples] = np.maximum.reduceat(sim, self._starts)
        if cls_vecs:
            per_class += (self.W_CLASS / math.sqrt(cn)) * np.add.reduce(cls_vecs)

        kw, neg = self._keyword_evidence(words, surface)
        return per_class, kw, neg, True, sim

    def _keyword_evidence(self, words: Sequence[str], surface: Sequence[str] | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
        kw = np.zeros(self._n_classes)
        neg = np.zeros(self._n_classes)
        if not self._keywords:
            return kw, neg
        # keyword token -> positions in the utterance
        pos: dict[str, list[int]] = {}
        for i, w in enumerate(words):
            toks = self._keyword_tokens_for(w)
            if surface is not None and surface[i] != w:
                # the word as heard, too: a stemmer may cut a misspelt word badly
                toks = toks | self._keyword_tokens_for(surface[i])
            for t in toks:
                pos.setdefault(t, []).append(i)
        if not pos:
            return kw, neg
        best: dict[int, tuple[float, frozenset[int]]] = {}
        keywords = self._keywords
        for t in pos:
            for n in self._kw_index.get(t, ()):
                cls, cue, negative = keywords[n]
                if negative and neg[cls]:
                    continue
                used = self._phrase_at(cue, pos)
                if used is not None:
                    if negative:
                        neg[cls] = 1.0
                        continue
                    strength = 1.0 + self.PHRASE_EXTRA * (len(cue) - 1)
                    if cls not in best or strength > best[cls][0]:
                        best[cls] = (strength, frozenset(used))
        # a cue that another intent's longer cue covers is no evidence ("status komplain")
        for cls, (strength, span) in best.items():
            covered = any(o != cls and span < ospan for o, (_s, ospan) in best.items())
            if not covered and not neg[cls]:
                kw[cls] = strength
        return kw, neg

    MAX_GAP = 2               # words allowed between the words of a cue phrase

    def _phrase_at(self, toks: tuple[str, ...], pos: Mapping[str, list[int]]) -> set[int] | None:
        """Positions of the words of a cue phrase found in order (with small gaps), or None."""
        first = pos.get(toks[0])
        if not first:
            return None
        if len(toks) == 1:
            return {first[0]}
        for start in first:
            used = [start]
            for tok in toks[1:]:
                nxt = [p for p in pos.get(tok, ()) if used[-1] < p <= used[-1] + 1 + self.MAX_GAP]
                if not nxt:
                    break
                used.append(nxt[0])
            else:
                return set(used)
        return None

    def keyword_intents(self, text: str) -> frozenset[str]:
        """Intents whose cue words are in `text` (keyword evidence, not spoken against)."""
        return frozenset(self.keyword_evidence(text))

    def keyword_evidence(self, text: str) -> dict[str, float]:
        """Intent -> how much cue-word evidence `text` holds for it (> 0 only)."""
        _, kw, _, heard, _ = self._analyse(text)
        if not heard:
            return {}
        return {self._class_names[i]: float(kw[i]) for i in np.flatnonzero(kw > 0) if i < len(self.intents)}

    def class_scores(self, text: str) -> np.ndarray:
        """Raw score per class (the intents in order, then the out-of-scope class)."""
        per_class, kw, neg, _, _ = self._analyse(text)
        return per_class + self.KEYWORD_BONUS * kw - self.NEGATIVE_PENALTY * neg

    def match(self, text: str, candidates: Collection[str] | None = None) -> Match:
        """Best intent among `candidates` (None: the matcher's default set, else all
        intents), or intent None."""
        per_class, kw, neg, heard, sim = self._analyse(text)
        names = self._class_names
        if candidates is None:
            candidates = self._default
        if candidates is None:
            allowed = list(range(len(self.intents)))
        else:
            allowed = [i for i, n in enumerate(self.intents) if n in candidates]
        if not allowed or not heard:
            return Match(None, 0.0, {names[i]: 0.0 for i in allowed})
        scores = per_class + self.KEYWORD_BONUS * kw - self.NEGATIVE_PENALTY * neg
        sub = scores[allowed]
        order = np.argsort(-sub)
        best_i = allowed[int(order[0])]
        best = float(scores[best_i])
        second = float(sub[order[1]]) if len(order) > 1 else 0.0
        oos = float(scores[-1])
        score_list = scores.tolist()
        result = {names[i]: score_list[i] for i in allowed}
        if best < self.MIN_SCORE or oos >= best:
            beyond = oos >= max(best, self.MIN_SCORE)
            return Match(None, 0.0, result, out_of_scope=beyond, topic=self._topic(sim) if beyond else None)
        rival_kw = any(kw[i] > 0 for i in allowed if i != best_i)
        conf = self._confidence(best, max(second, oos), bool(kw[best_i] > 0) and not rival_kw)
        return Match(names[best_i], conf, result)

    def _topic(self, sim: np.ndarray) -> str | None:
        """The topic of the out-of-scope example most like the utterance (per-example scores)."""
        n = len(self._oos_topics)
        if not n:
            return None
        return self._oos_topics[int(np.argmax(sim[self._n_ex - n:]))]

    def _confidence(self, best: float, rival: float, sole_keyword: bool) -> float:
        """Map a score, its margin over the best rival, and whether the winner alone has
        keyword evidence, to 0..1."""
        level = 1.0 / (1.0 + math.exp(-(best - 0.55) * 9.0))
        margin = 1.0 - math.exp(-max(0.0, best - rival) / self.MARGIN_SCALE)
        conf = level * (0.35 + 0.65 * margin)
        if sole_keyword and best > rival:
            # only the winner has cue-word evidence: right in ~98% of the tuning utterances
            conf = max(conf, self.SOLE_KEYWORD_FLOOR, 1.0 - (1.0 - conf) * 0.6)
        return max(0.0, min(1.0, conf))
