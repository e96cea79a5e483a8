"""Reading a slot's value out of what the caller said or keyed in.

One owner for the dialog engine and for `dialogs.nlu` (what `ivr nlu` prints)."""

from __future__ import annotations

import datetime as dt
import re

from dialogs.lang.dates import parse_date
from dialogs.lang.ids import extract_nik, normalize_phone, parse_plate
from dialogs.lang.numbers import words_to_digits
from dialogs.model import ListenSpec

SLOT_DEFAULT_LENGTHS = {"ticket": (4, 12)}   # kind -> (min, max) digits when the script sets none
ANY_DIGITS = (1, 32)


def parse_slot(kind: str, text: str, listen: ListenSpec, today: dt.date | None = None) -> str | None:
    """The value of a slot of `kind` in `text`, normalised, or None.

    free: the text itself (stripped); nik: 16 digits that form a valid NIK; phone: a national
    number ("08..."); plate: "B 1234 XYZ"; date: ISO date (a keyed DDMMYYYY or spoken words;
    not more than a year after `today`); digits/ticket: the digits, spoken or keyed, within
    the listen's min_length..max_length.
    """
    if kind == "free":
        t = text.strip()
        return t or None
    if kind == "nik":
        return extract_nik(text, today)
    if kind == "phone":
        return normalize_phone(text)
    if kind == "plate":
        return parse_plate(text)
    if kind == "date":
        return _date(text, today)
    digits = words_to_digits(text) if re.search(r"[a-zA-Z]", text) else re.sub(r"\D", "", text)
    dmin, dmax = SLOT_DEFAULT_LENGTHS.get(kind, ANY_DIGITS)
    mn = listen.min_length or dmin
    mx = listen.max_length or dmax
    if mn <= len(digits) <= mx:
        return digits
    return None


def _date(text: str, today: dt.date | None) -> str | None:
    digits = re.sub(r"\D", "", text)
    if re.fullmatch(r"\d{8}", text.strip().rstrip("#")):
        try:
            d: dt.date | None = dt.date(int(digits[4:]), int(digits[2:4]), int(digits[:2]))
        except ValueError:
            return None
    else:
        d = parse_date(text, today)
    if d is None or (today is not None and d > today + dt.timedelta(days=366)):
        return None
    return d.isoformat()
