"""Masking personal data in text and structured values: what logs, pages and the database's
``*_masked`` columns show.

* :func:`mask_text` replaces NIK/KK-like 16-digit numbers with ``[NIK]`` and Indonesian phone
  numbers (08..., +62..., 62..., landlines 0xx...) with ``[PHONE]`` inside free text.
* :func:`mask_value` walks dicts and lists; a field whose *name* says it holds personal data
  (:func:`ivr.privacy.fields.is_personal_field`, the one rule) is replaced whole.
* :func:`mask_nik`, :func:`mask_phone`, :func:`mask_name` keep enough of one value for staff to
  recognise it (``3174**********01``, ``0812*****890``, ``B*** S***``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dialogs.events import CUT_MARK
from ivr.privacy.fields import FIELD_KIND, is_personal_field

__all__ = ["mask_text", "mask_cut_answers", "mask_long_numbers", "mask_value", "mask_record", "mask_answer", "mask_nik", "mask_phone", "mask_name", "normalize_nik",
           "hide_values", "Personal", "HIDDEN_KINDS", "NIK_MASK", "PHONE_MASK", "FIELD_MASK", "NAME_MASK", "MASKS"]

_UNIT_WORDS = {
    "nol": 0, "kosong": 0, "nul": 0, "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "pat": 4,
    "lima": 5, "enam": 6, "tujuh": 7, "delapan": 8, "lapan": 8, "sembilan": 9,
}
_SE_WORDS = {"sepuluh": 10, "sebelas": 11, "seratus": 100}
_SCALE_WORDS = ("belas", "puluh", "ratus")
_PLUS_WORDS = ("plus", "tambah")
# a token of a spoken or written number: digits (a leading "+" kept), or a number word
_NUM_TOKEN_RE = re.compile(
    r"\+?\d+|(?<![^\W\d_])(?:" + "|".join(sorted([*_UNIT_WORDS, *_SE_WORDS, *_SCALE_WORDS, *_PLUS_WORDS],
                                                    key=len, reverse=True)) + r")(?![^\W\d_])",
    re.IGNORECASE,
)
# what may stand between the parts of one number: spaces, dots, commas, dashes, slashes, brackets
_JOINER_RE = re.compile(r"[\s.,\-/()]{0,4}")
_MOBILE_DIGITS = re.compile(r"(?:0|62)8\d{7,11}")
_LANDLINE_DIGITS = re.compile(r"(?:0|62)[2-7]\d{7,10}")
_NIK_LEN = 16
# a run of two or more ISO dates ("2026-11-30-2026-12-06": a report's period) is dates, not a
# NIK: its ninth and tenth digits, a NIK's birth month, are a year's "19"/"20"
_ISO_DATE = r"(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
_DATE_CHAIN_RE = re.compile(_ISO_DATE + r"(?:(?:\s*[-/]\s*|\s+)" + _ISO_DATE + r")+")
#: the longest run of number parts searched for a NIK or a phone number inside it
_WINDOW = 48
# a machine identifier: a call's id (uuid4 hex, with or without dashes), a digest (the hashes
# of personal values are 64 hex digits). Its digits are no number anybody said; a run of them
# may still look like one ("6e022559267f...": 022559267 read as a landline), which masked call
# ids in logs and hand-off contexts at random (about one call in a few hundred)
_MACHINE_ID_RE = re.compile(
    r"(?<![\w-])(?=[0-9a-f-]*[a-f])(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})(?![\w-])",
    re.IGNORECASE,
)
# "nama saya Budi Santoso", "atas nama Siti": the (up to three) words after it are a name
_NAME_LEAD_RE = re.compile(
    r"\b(?:nama\s+(?:lengkap\s+)?(?:saya|aku|ku|pelapor|anak\s+saya|ibu\s+saya|bapak\s+saya)|namaku|"
    r"saya\s+bernama|atas\s+nama)\b(?:\s*(?:adalah|ialah|yaitu|:))?",
    re.IGNORECASE,
)
_NAME_STOP = frozenset({
    "dan", "dari", "di", "ke", "yang", "nik", "nomor", "no", "alamat", "tinggal", "umur", "usia",
    "mau", "ingin", "ingin", "akan", "sudah", "tidak", "bukan", "ya", "tolong", "mohon", "pak",
    "bu", "ibu", "bapak", "saya", "dengan", "untuk", "rt", "rw", "jalan", "jl", "telepon", "hp",
})
_WORD_RE = re.compile(r"\s*([^\W\d_][\w'.-]*)", re.UNICODE)
NAME_MASK = "[NAMA]"


@dataclass(frozen=True)
class _Part:
    start: int
    end: int
    digits: str  # what the part says, as digits ("" for "plus")
    # every way the part can be read as digits: a compound said in words is also the groups it
    # is made of ("dua puluh satu": 21, or 20 then 1 = "201"; "seratus dua": 102 or "1002"),
    # since a caller reading a number out in groups says it that way too
    readings: tuple[str, ...] = ()

    @property
    def longest(self) -> int:
        return max((len(r) for r in self.readings), default=len(self.digits))


def _number_parts(text: str) -> list[list[_Part]]:
    """The runs of number parts in ``text``: digit groups and number words that follow each
    other with at most a few joining characters between them."""
    runs: list[list[_Part]] = []
    run: list[_Part] = []
    toks = [(m.start(), m.end(), m.group(0).lower()) for m in _NUM_TOKEN_RE.finditer(text)]
    i = 0
    while i < len(toks):
        start, end, tok = toks[i]
        j = i + 1
        if tok[-1].isdigit():
            digits = tok.lstrip("+")
        elif tok in _PLUS_WORDS:
            digits = ""
        else:
            value, j, end, readings = _word_number(text, toks, i)
            digits = str(value) if value is not None else ""
            if value is None:  # a lone "belas"/"puluh": not a number
                i = j
                _close(runs, run)
                run = []
                continue
        gap = text[run[-1].end:start] if run else ""
        if run and (not _JOINER_RE.fullmatch(gap) or (gap == "." and len(run) == 1 and  # "0.93": a decimal
                                                       text[run[0].start:run[0].end] == "0"
                                                       and tok[-1].isdigit())):  # ("0.dua satu": said)
            _close(runs, run)
            run = []
        run.append(_Part(start, end, digits, tuple(sorted(readings)) if not tok[-1].isdigit() and digits else (digits,)))
        i = j
    _close(runs, run)
    return runs


def _close(runs: list[list[_Part]], run: list[_Part]) -> None:
    if run:
        runs.append(run)


def _word_number(text: str, toks: list[tuple[int, int, str]], i: int) -> tuple[int | None, int, int, set[str]]:
    """One number said in words from ``toks[i]``: a digit ("delapan"), a teen ("dua belas"),
    tens ("tiga puluh empat"), hundreds ("seratus dua"). Returns (value, next index, end, every
    reading as digits: the value, and the groups a compound is made of, one after the other)."""
    def word(k: int) -> str | None:
        return toks[k][2] if k < len(toks) else None

    def adjacent(k: int) -> bool:  # toks[k] is a word after toks[k-1], only joining characters between
        # ("tiga puluh menit, dua ribu": the "dua" is another number, not 32)
        return (k < len(toks) and not toks[k][2][-1].isdigit() and toks[k - 1][1] < toks[k][0]
                and bool(_JOINER_RE.fullmatch(text[toks[k - 1][1]:toks[k][0]])))

    tok = toks[i][2]
    end = toks[i][1]
    readings: set[str] = set()
    if tok in _SE_WORDS:
        value, k = _SE_WORDS[tok], i + 1
    elif tok in _UNIT_WORDS:
        value, k = _UNIT_WORDS[tok], i + 1
        if adjacent(k) and word(k) == "belas" and value:
            value, k = 10 + value, k + 1
        elif adjacent(k) and word(k) == "puluh" and value:
            value, k = value * 10, k + 1
            if (adjacent(k) and word(k) in _UNIT_WORDS and _UNIT_WORDS[word(k) or ""]
                    and word(k + 1) not in _SCALE_WORDS):  # "tiga puluh dua belas": 30 12
                unit = _UNIT_WORDS[word(k) or ""]
                readings.add(f"{value}{unit}")  # "dua puluh satu" read out as 20, 1
                value, k = value + unit, k + 1
        elif adjacent(k) and word(k) == "ratus" and value:
            value, k = value * 100, k + 1
    else:
        return None, i + 1, end, set()
    if value in (100, 200, 300, 400, 500, 600, 700, 800, 900) and adjacent(k):
        rest, k2, _, rest_readings = (_word_number(text, toks, k) if word(k) not in _SCALE_WORDS
                                      else (None, k, end, set()))
        if rest is not None and rest < 100:
            readings |= {f"{value}{r}" for r in rest_readings}  # "seratus dua" read out as 100, 2
            if len(rest_readings) > 1:  # "seratus dua puluh tiga" read out as 120, 3 too
                readings.add(f"{value + rest - rest % 10}{rest % 10}")
            value, k = value + rest, k2
    readings.add(str(value))
    return value, k, toks[k - 1][1], readings


NIK_MASK = "[NIK]"
PHONE_MASK = "[PHONE]"
FIELD_MASK = "[REDACTED]"
#: every placeholder the masker writes in place of personal data (what reads masked text for its
#: words, e.g. the complaint topics, leaves these out: they are no word anybody said)
MASKS = (NIK_MASK, PHONE_MASK, FIELD_MASK, NAME_MASK)

def mask_text(text: str) -> str:
    """Replace NIKs and Indonesian phone numbers in free text, however they are written or
    said: digits grouped by spaces, dots, dashes, slashes or brackets, ``+62``/``62``/``0``
    prefixes, Indonesian number words ("nol delapan satu dua ...", "kosong", "enam dua",
    "dua belas", "tiga puluh empat") and mixtures of digits and words; and the words after
    "nama saya" / "atas nama" (a name). Short numbers (RT 05, years, ticket numbers) stay."""
    if not text:
        return text
    spans: list[tuple[int, int, str]] = []
    if any(c.isdigit() for c in text) or _NUM_TOKEN_RE.search(text):
        dates = [m.span() for m in _DATE_CHAIN_RE.finditer(text)]
        ids = [m.span() for m in _MACHINE_ID_RE.finditer(text)]
        for run in _number_parts(text):
            if (run[0].start, run[-1].end) in dates:  # dates and nothing else in the run
                continue
            spans.extend(s for s in _personal_numbers(text, run)
                         if not any(a <= s[0] and s[1] <= b for a, b in ids))
    for start, end, mask in reversed(spans):
        text = text[:start] + mask + text[end:]
    return _mask_names(text)


def _personal_numbers(text: str, run: list[_Part]) -> list[tuple[int, int, str]]:
    """The NIKs and phone numbers inside one run of number parts: from each part, the longest
    sequence of parts whose digits form one (a NIK: 16 digits; a mobile: 08/628 + 7-11
    digits; a landline: 0/62 + area code 2-7.. + number, 9-12 digits in national form)."""
    if sum(p.longest for p in run) < 9:
        return []
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(run):
        # the usual reading first; then every reading (a compound said in words read out as
        # the groups it is made of), so that such a number is masked too
        best = _longest_personal(run, i, lambda p: (p.digits,)) or _longest_personal(
            run, i, lambda p: p.readings or (p.digits,))
        if best is None:
            i += 1
            continue
        start, end = run[i].start, run[best[0]].end
        if start > 0 and text[start - 1] == "(":
            start -= 1
        if text[start:end].count("(") > text[start:end].count(")") and text[end:end + 1] == ")":
            end += 1
        out.append((start, end, best[1]))
        i = best[0] + 1
    return out


def _longest_personal(run: list[_Part], i: int,
                      readings: Callable[[_Part], tuple[str, ...]]) -> tuple[int, str] | None:
    """The last part (and its mask) of the longest NIK or phone number starting at ``run[i]``,
    the parts read as ``readings`` gives them."""
    best: tuple[int, str] | None = None
    cands = {""}
    for j in range(i, min(len(run), i + _WINDOW)):
        cands = {c + r for c in cands for r in readings(run[j]) if len(c + r) <= _NIK_LEN}
        if not cands:
            break
        if any(len(c) == _NIK_LEN for c in cands):
            best = (j, NIK_MASK)
        elif any(_MOBILE_DIGITS.fullmatch(c) or _LANDLINE_DIGITS.fullmatch(c) for c in cands):
            best = (j, PHONE_MASK)
    return best


def _mask_names(text: str) -> str:
    """The (up to three) words after "nama saya", "saya bernama", "atas nama"... -> [NAMA]."""
    if "nama" not in text.lower():
        return text
    out: list[str] = []
    pos = 0
    for m in _NAME_LEAD_RE.finditer(text):
        if m.start() < pos:
            continue
        k, words_end = m.end(), None
        for _ in range(3):
            w = _WORD_RE.match(text, k)
            if w is None or w.group(1).lower().strip(".") in _NAME_STOP:
                break
            k = words_end = w.end()
        if words_end is not None:
            out.append(text[pos:m.end()] + " " + NAME_MASK)
            pos = words_end
    out.append(text[pos:])
    return "".join(out)


def mask_record(record: str, personal: Iterable[tuple[str, str, str]]) -> str:
    """A prompt's record form ("Nomor Anda {caller_number}") with each personal variable's
    value masked by its kind (``dialogs.personal``): "Nomor Anda 0812*****890"."""
    for name, kind, value in personal:
        if kind == "text" and is_personal_field(name):  # free text in a field named personal: hidden whole
            kind = FIELD_KIND
        record = record.replace("{" + name + "}", _mask_kind(value, kind))
    return mask_text(record)


#: a call's personal values: (variable name, kind, value), as ``dialogs.actions.Say.personal``
Personal = tuple[tuple[str, str, str], ...]

#: the kinds whose values :func:`hide_values` replaces wherever a script copied them: a NIK, a
#: phone number, a name, a field hidden whole (an address...). Free text ("text") is not one:
#: what it holds is masked by :func:`mask_text` where it shows
HIDDEN_KINDS = frozenset({"nik", "phone", "name", FIELD_KIND})

#: values shorter than this are not looked for in other text (a one-letter "nama" would hit
#: every word that has it)
_HIDE_MIN_CHARS = 3

#: what a recognizer or a caller's typing leaves around a value, not part of it
_VALUE_EDGES = " .,;:!?…\"'"


def hide_values(value: Any, personal: Iterable[tuple[str, str, str]], _depth: int = 0) -> Any:
    """``value`` (a string, or the strings inside dicts and lists) with every occurrence of one
    of a call's personal values replaced by that value's mask of its kind: a script that copies
    a personal slot into a field or text named otherwise (``keterangan: "Alamat {alamat_rumah}"``,
    a hand-off summary, a prompt reading ``{ringkasan}``) leaves the value there, where masking
    by the field's name does not reach it and :func:`mask_text` knows only NIKs, phone numbers
    and "nama saya ...". Matched whole (not inside a longer word), ignoring case and how the
    words are spaced (templates collapse whitespace); the longest value first. Kinds not in
    :data:`HIDDEN_KINDS` are left to :func:`mask_text`. Keys are kept as they are."""
    pattern = _hide_pattern(personal)
    if pattern is None:
        return value
    return _hide(value, pattern[0], pattern[1], _depth)


def _hide_pattern(personal: Iterable[tuple[str, str, str]]) -> tuple[re.Pattern[str], dict[str, str]] | None:
    masks: dict[str, str] = {}
    for _name, kind, raw in personal:
        # a recognizer's sentence punctuation around the words ("Budi Santoso.") is no part of
        # the value: the caller's own words elsewhere ("rumah Budi Santoso sejak") lack it
        value = " ".join(str(raw or "").split()).strip(_VALUE_EDGES)
        if kind not in HIDDEN_KINDS or len(value) < _HIDE_MIN_CHARS or value.lower() in masks:
            continue
        masks[value.lower()] = _mask_kind(value, kind)
    if not masks:
        return None
    alternatives = [r"\s+".join(re.escape(w) for w in v.split()) for v in sorted(masks, key=len, reverse=True)]
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE), masks


def _hide(value: Any, pattern: re.Pattern[str], masks: Mapping[str, str], depth: int) -> Any:
    if depth > 6:
        return value
    if isinstance(value, str):
        return pattern.sub(lambda m: masks.get(" ".join(m.group(0).split()).lower(), FIELD_MASK), value)
    if isinstance(value, Mapping):
        return {k: _hide(v, pattern, masks, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_hide(v, pattern, masks, depth + 1) for v in value]
    return value


def mask_answer(text: str, kind: str | None) -> str:
    """What a caller said or keyed where the dialog asked for personal data of ``kind``: a
    name is reduced to initials; in a NIK or phone state any number of four digits or more
    (written or said) goes; free text is masked as :func:`mask_text` does."""
    if not text or kind is None:
        return mask_text(text)
    if kind == "name":
        return mask_name(text)
    if kind == FIELD_KIND:
        return FIELD_MASK
    if kind in ("nik", "phone"):
        return _mask_long_runs(mask_text(text), NIK_MASK if kind == "nik" else PHONE_MASK)
    return mask_text(text)


def mask_cut_answers(value: Any, _depth: int = 0) -> Any:
    """An already masked value with every string that ends in the dialog's ``CUT_MARK`` (a
    caller's words a hang-up cut short: an unfinished complaint's slot, in the engine's snapshot,
    the ticket it files or the journal's ``cut`` record) stripped of every number of four digits
    or more: a NIK or phone number may be only partly said there. For the records that carry
    slot values only: a prompt the caller cut short ends in the same mark and keeps its ticket
    numbers and hotlines."""
    if _depth > 6:
        return value
    if isinstance(value, str):
        return mask_long_numbers(value) if value.endswith(CUT_MARK) else value
    if isinstance(value, Mapping):
        return {k: mask_cut_answers(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_cut_answers(v, _depth + 1) for v in value]
    return value


def mask_long_numbers(text: str) -> str:
    """Every number of four digits or more (written or said) -> ``[REDACTED]``: for words cut
    short (a hang-up mid-sentence), where a NIK or phone number may be only partly said, so
    :func:`mask_text` would not know it for one."""
    return _mask_long_runs(text, FIELD_MASK)


def _mask_long_runs(text: str, mask: str) -> str:
    """Every number of four digits or more (written or said) -> ``mask``."""
    for run in reversed(_number_parts(text)):
        if sum(p.longest for p in run) >= 4:
            text = text[:run[0].start] + mask + text[run[-1].end:]
    return text


def _mask_kind(value: str, kind: str) -> str:
    if kind == "nik":
        return mask_nik(value)
    if kind == "phone":
        return mask_phone(value)
    if kind == "name":
        return mask_name(value)
    if kind == FIELD_KIND:
        return FIELD_MASK if value else value
    return mask_text(value)


def mask_value(value: Any, key: str | None = None, _depth: int = 0) -> Any:
    """Mask a field value: whole if its key names personal data (:func:`is_personal_field`),
    else strings inside it."""
    if key is not None and is_personal_field(key) and value not in (None, ""):
        return FIELD_MASK
    if _depth > 6:
        return "…"
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {str(k): mask_value(v, str(k), _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [mask_value(v, None, _depth + 1) for v in value]
    if isinstance(value, (int, float, bool)) or value is None:
        if isinstance(value, int) and not isinstance(value, bool):
            masked = mask_text(str(value))
            if masked != str(value):
                return masked
        return value
    return mask_text(str(value))


def normalize_nik(value: str) -> str:
    return re.sub(r"\D", "", value)


def mask_nik(value: str) -> str:
    d = normalize_nik(value)
    if len(d) < 8:
        return "*" * len(d)
    return d[:4] + "*" * (len(d) - 6) + d[-2:]


def mask_phone(value: str) -> str:
    d = re.sub(r"\D", "", value)
    plus = value.strip().startswith("+")
    if len(d) < 7:
        return "*" * len(d)
    return ("+" if plus else "") + d[:4] + "*" * (len(d) - 7) + d[-3:]


def mask_name(value: str) -> str:
    words = value.split()
    return " ".join(w[0] + "***" for w in words) if words else ""
