"""Numbers spoken as Indonesian words <-> digits."""

from __future__ import annotations

import re

from num2words import num2words

_UNITS = {
    "nol": 0, "kosong": 0, "satu": 1, "se": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5,
    "enam": 6, "tujuh": 7, "delapan": 8, "sembilan": 9,
}
_ALIASES = {"pat": "empat", "tuju": "tujuh", "lapan": "delapan", "sembilang": "sembilan",
            "ampat": "empat", "nam": "enam", "sembilan": "sembilan", "dualapan": "delapan",
            "kosongg": "kosong", "o": "nol", "nul": "nol"}
_DIGIT_NAMES = ["nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan",
                "sembilan"]

_TOKEN_RE = re.compile(r"\d+|[a-z]+")


def _split_se(tok: str) -> list[str]:
    # "sebelas", "seratus", "seribu", "sepuluh", "sejuta" -> "se" + rest
    if tok in ("sebelas", "seratus", "seribu", "sepuluh", "sejuta"):
        return ["se", tok[2:]]
    return [_ALIASES.get(tok, tok)]


def words_to_digits(text: str) -> str:
    """Digits spoken or written in `text`, in order, as one digit string.

    "tiga dua nol satu" -> "3201"; "tiga puluh dua" -> "32";
    "dua ribu dua puluh enam" -> "2026"; "nol delapan 12 tiga" -> "08123".
    Words that are not numbers end the current number but are otherwise skipped.
    """
    toks: list[str] = []
    for raw in _TOKEN_RE.findall(text.lower()):
        toks.extend(_split_se(raw))
    out: list[str] = []
    i = 0
    n = len(toks)
    while i < n:
        tok = toks[i]
        if tok.isdigit():
            out.append(tok)
            i += 1
            continue
        if tok not in _UNITS and tok not in ("belas", "puluh", "ratus", "ribu", "juta"):
            i += 1
            continue
        # parse one compound number starting at i
        value, j, compound = _parse_compound(toks, i)
        if j == i:
            i += 1
            continue
        if compound:
            out.append(str(value))
        else:
            out.append(str(value))  # single digit word
        i = j
    return "".join(out)


def _parse_compound(toks: list[str], i: int) -> tuple[int, int, bool]:
    """Parse "dua ribu dua puluh enam" style numbers. Returns (value, next index, compound)."""
    total = 0
    current = 0          # value of the group below a thousand
    j = i
    compound = False
    last_was_unit = False
    ones_free = True     # the ones place of `current` can still take a unit word
    while j < len(toks):
        tok = toks[j]
        if tok in _UNITS:
            if last_was_unit or not ones_free:
                break  # "tiga dua": a digit sequence, not one number
            current += _UNITS[tok]
            last_was_unit = True
            j += 1
            continue
        if tok == "belas" and last_was_unit:
            current += 10
            ones_free = False
        elif tok == "puluh" and last_was_unit:
            unit = current % 10
            current = current - unit + unit * 10
            ones_free = True
        elif tok == "ratus" and last_was_unit:
            unit = current % 10
            current = current - unit + unit * 100
            ones_free = True
        elif tok in ("ribu", "juta") and (last_was_unit or current):
            mult = 1000 if tok == "ribu" else 1_000_000
            total += current * mult
            current = 0
            ones_free = True
        else:
            break
        compound = True
        last_was_unit = False
        j += 1
    if j == i:
        return 0, i, False
    return total + current, j, compound


def digit_groups(n: int) -> list[int]:
    """Group sizes for reading ``n`` digits aloud: fours, with threes to make up the rest
    (13 -> 4 3 3 3, 12 -> 4 4 4, 6 -> 3 3); runs of up to four stay whole."""
    if n <= 4:
        return [n]
    threes = (4 - n % 4) % 4
    if 3 * threes > n:
        return [3] * (n // 3) + ([n % 3] if n % 3 else [])
    return [4] * ((n - 3 * threes) // 4) + [3] * threes


def spell_digits(digits: str, group: bool = False) -> str:
    """"3201" -> "tiga dua nol satu" (letters kept, other characters become pauses).
    ``group``: a run of more than four digits is read in groups with a pause between them
    (``digit_groups``: "081234567890" -> "nol delapan satu dua, tiga empat lima enam, ..."),
    as people read numbers out on the phone."""
    words: list[str] = []
    for part in re.findall(r"\d+|[^\d]", digits):
        if part[0].isdigit():
            sizes = digit_groups(len(part)) if group else [len(part)]
            i = 0
            for size in sizes:
                if i and words and words[-1] != ",":
                    words.append(",")
                words.extend(_DIGIT_NAMES[int(ch)] for ch in part[i:i + size])
                i += size
        elif part.isalpha():
            words.append(part.upper())
        elif words and words[-1] != ",":
            words.append(",")
    return " ".join(words).replace(" ,", ",").strip(", ")


def number_to_words(value: int | str) -> str:
    """2026 -> "dua ribu dua puluh enam" (num2words, lang='id')."""
    return str(num2words(int(value), lang="id"))


def digits_to_words(text: str) -> str:
    """Every run of digits in `text` as Indonesian number words."""
    return re.sub(r"\d+", lambda m: number_to_words(m.group(0)), text)
