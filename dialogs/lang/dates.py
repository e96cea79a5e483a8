"""Dates spoken or typed in Indonesian."""

from __future__ import annotations

import datetime as dt
import re

from dialogs.lang.numbers import words_to_digits

MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember"]
_MONTH_WORDS = {
    "januari": 1, "jan": 1, "februari": 2, "pebruari": 2, "feb": 2, "peb": 2, "maret": 3,
    "mar": 3, "april": 4, "apr": 4, "mei": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7,
    "agustus": 8, "agu": 8, "agt": 8, "ags": 8, "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "november": 11, "nopember": 11, "nov": 11, "nop": 11,
    "desember": 12, "des": 12,
}
_RELATIVE = {"hari ini": 0, "tadi": 0, "kemarin lusa": -2, "kemarin": -1}


def _year(digits: str, today: dt.date | None) -> int | None:
    if not digits:
        return today.year if today else None
    y = int(digits[-4:]) if len(digits) >= 4 else int(digits[-2:])
    if y < 100:
        pivot = (today.year % 100) if today else 50
        y += 2000 if y <= pivot else 1900
    return y


def parse_date(text: str, today: dt.date | None = None) -> dt.date | None:
    """ "17 Agustus 2026", "tujuh belas agustus dua ribu dua puluh enam", "17/8/26",
    "2026-08-17", "kemarin" (relative words need `today`). None if there is no real date."""
    t = text.lower().strip()
    if today is not None:
        for word, delta in _RELATIVE.items():
            if re.search(rf"\b{word}\b", t):
                return today + dt.timedelta(days=delta)
    m = re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)", t)
    if m:
        return _make(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    m = re.search(r"\b(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{2,4})\b", t)
    if m:
        y = _year(m.group(3), today)
        return _make(int(m.group(1)), int(m.group(2)), y) if y else None
    words = re.findall(r"\d+|[a-z]+", t)
    for i, w in enumerate(words):
        if w in _MONTH_WORDS:
            day_digits = words_to_digits(" ".join(words[max(0, i - 3):i]))
            if not day_digits:
                return None
            day = int(day_digits[-2:]) if int(day_digits[-2:]) <= 31 else int(day_digits[-1])
            y = _year(words_to_digits(" ".join(words[i + 1:i + 8])), today)
            if y is None:
                return None
            return _make(day, _MONTH_WORDS[w], y)
    return None


def _make(d: int, m: int, y: int | None) -> dt.date | None:
    if y is None:
        return None
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def format_date_id(d: dt.date | str) -> str:
    """date(2026, 8, 17) -> "17 Agustus 2026"."""
    if isinstance(d, str):
        parsed = parse_date(d)   # ISO "2026-11-20[T...]" or "20-11-2026"
        if parsed is None:
            raise ValueError(f"not a date: {d!r}")
        d = parsed
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"
