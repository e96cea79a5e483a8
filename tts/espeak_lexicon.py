"""Pronunciation fixes for espeak-ng's Indonesian voice.

espeak-ng 1.52's `id` rules make every stressed penultimate "e" an open [ɛ]: "enam" [ˈɛnam],
"empat", "belas", "tekan", "dengan", "besar", "cepat" ... In most Indonesian roots that vowel
is the pepet [ə] (and the stress then falls on the last syllable). It also says "sy" as [ç]
("masyarakat" [maçarakat]) where Indonesian has [ʃ]. Numbers are spoken constantly by a
hotline, so "enam" and "empat" matter.

`Respeller.respell(text)` replaces each affected word with espeak phoneme input ("[[...]]",
synthesised with the espeakPHONEMES flag), built from espeak's own phonemes for the word with
only the wrong vowel or consonant changed. Words whose stressed "e" really is [e]/[ɛ] are
listed in `TALING`; one-syllable words (letter names "te", "pe", "es"...) are left alone.
Results are memoised per word.

Measured, not assumed: the "sy" fix is on by default. The pepet fix is OFF by default, because
espeak's Indonesian schwa is a short reduced vowel: with it, Whisper-base recognised "enam",
"empat" and "tekan" in carrier sentences far less often (enam 0/8 vs 3/8 with espeak's [ɛ],
empat 0/8 vs 6/8; four voices, two carriers; other schwa phonemes "@:", "3", "V", "@2" no
better). A listener hears the word better with the "wrong" open vowel than with espeak's
schwa. `pepet=True` turns it on (e.g. for a different back-end voice).
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Roots whose stressed penultimate "e" is e-taling ([e]/[ɛ]); espeak is right for them.
TALING = frozenset(
    """
    meja nenek pendek besok sewa beda lewat sehat peta menit detik desa merah menu telepon
    enak ekor elok bebek cewek becak dewa dewan heran kecap leher mereka pesta pena tempe
    roket desember ekonomi energi elektronik retribusi resep resepsi sepeda kereta
    bengkel tente ketek teh gereja mesin monyet kaleng koper lele kole remeh rewel semen sen senen serong sedan seks tes tegel
    teknik teknologi teknis temen tenda tengok tenis tekno ekstra elit email eropa esa
    """.replace("?", "").split()
)

_WORD = re.compile(r"[A-Za-zÀ-ÿ]+(?:-[A-Za-z]+)*")
_VOWEL = re.compile(r"aI|aU|oI|[aeiouEO@]")


def _schwa_fix(phonemes: str) -> str:
    """'E (stressed open e) -> @, stress moved to the next vowel."""
    index = phonemes.find("'E")
    if index < 0:
        return phonemes
    rest = phonemes[index + 2 :]
    nxt = _VOWEL.search(rest)
    if nxt is None:  # stressed e in the last syllable: just change the vowel
        return phonemes[:index] + "'@" + rest
    return phonemes[:index] + "@" + rest[: nxt.start()] + "'" + rest[nxt.start() :]


def fix_word(word: str, phonemes: str, pepet: bool = True) -> str | None:
    """Corrected espeak phonemes for `word`, or None when espeak already says it right."""
    lower = word.lower()
    fixed = phonemes
    if "sy" in lower and "C" in fixed:
        fixed = fixed.replace("C", "S")
    root = lower.split("-")[0]
    if pepet and "'E" in fixed and root not in TALING and "e" in root and len(_VOWEL.findall(fixed)) > 1:
        fixed = _schwa_fix(fixed)
    return fixed if fixed != phonemes else None


class Respeller:
    """Applies `fix_word` to running text using `phonemize(word) -> espeak ASCII phonemes`."""

    def __init__(self, phonemize: Callable[[str], str], *, pepet: bool = False, max_words: int = 20000) -> None:
        self._phonemize = phonemize
        self.pepet = pepet
        self._memo: dict[str, str | None] = {}
        self._max_words = max_words

    def _lookup(self, word: str) -> str | None:
        key = word.lower()
        if key in self._memo:
            return self._memo[key]
        result = None
        if (("e" in key and self.pepet) or "sy" in key) and key.isascii():
            phonemes = self._phonemize(key).strip()
            if phonemes and " " not in phonemes:
                fixed = fix_word(key, phonemes, self.pepet)
                result = f"[[{fixed}]]" if fixed else None
        if len(self._memo) >= self._max_words:
            self._memo.clear()
        self._memo[key] = result
        return result

    def respell(self, text: str) -> str:
        return _WORD.sub(lambda m: self._lookup(m.group(0)) or m.group(0), text)
