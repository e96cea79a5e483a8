"""NIK, phone numbers and vehicle plates."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from dialogs.lang.numbers import words_to_digits

# The 38 provinces (Kemendagri codes, including the four Papua provinces of 2022).
PROVINCE_CODES: dict[str, str] = {
    "11": "Aceh", "12": "Sumatera Utara", "13": "Sumatera Barat", "14": "Riau", "15": "Jambi",
    "16": "Sumatera Selatan", "17": "Bengkulu", "18": "Lampung",
    "19": "Kepulauan Bangka Belitung", "21": "Kepulauan Riau", "31": "DKI Jakarta",
    "32": "Jawa Barat", "33": "Jawa Tengah", "34": "DI Yogyakarta", "35": "Jawa Timur",
    "36": "Banten", "51": "Bali", "52": "Nusa Tenggara Barat", "53": "Nusa Tenggara Timur",
    "61": "Kalimantan Barat", "62": "Kalimantan Tengah", "63": "Kalimantan Selatan",
    "64": "Kalimantan Timur", "65": "Kalimantan Utara", "71": "Sulawesi Utara",
    "72": "Sulawesi Tengah", "73": "Sulawesi Selatan", "74": "Sulawesi Tenggara",
    "75": "Gorontalo", "76": "Sulawesi Barat", "81": "Maluku", "82": "Maluku Utara",
    "91": "Papua", "92": "Papua Barat", "93": "Papua Selatan", "94": "Papua Tengah",
    "95": "Papua Pegunungan", "96": "Papua Barat Daya",
}


@dataclass(frozen=True)
class NikInfo:
    valid: bool
    reason: str = ""                    # why not valid (English, for logs and admins)
    province: str | None = None
    birth_date: dt.date | None = None
    female: bool | None = None


def _birth_date(dd: int, mm: int, yy: int, today: dt.date | None) -> dt.date | None:
    # Two-digit year: the most recent century that does not put the date in the future.
    centuries = (2000, 1900) if today is not None or yy <= 30 else (1900,)
    for century in centuries:
        try:
            d = dt.date(century + yy, mm, dd)
        except ValueError:
            continue
        if today is not None and d > today:
            continue
        return d
    return None


def validate_nik(nik: str, today: dt.date | None = None) -> NikInfo:
    """Range checks on a NIK (there is no check digit).

    16 digits; one of the 38 province codes; birth day 01-31 (women add 40: 41-71), month
    01-12, a real date that is not in the future (checked only when `today` is given);
    serial 0001-9999.
    """
    if not re.fullmatch(r"\d{16}", nik or ""):
        return NikInfo(False, "a NIK has exactly 16 digits")
    prov = nik[:2]
    if prov not in PROVINCE_CODES:
        return NikInfo(False, f"unknown province code {prov}")
    if nik[2:4] == "00" or nik[4:6] == "00":
        return NikInfo(False, "regency and district codes start at 01")
    dd, mm, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    female = dd > 40
    if female:
        dd -= 40
    if not (1 <= dd <= 31) or not (1 <= mm <= 12):
        return NikInfo(False, "impossible birth date")
    born = _birth_date(dd, mm, yy, today)
    if born is None:
        return NikInfo(False, "birth date is not a real past date")
    if nik[12:] == "0000":
        return NikInfo(False, "serial number starts at 0001")
    return NikInfo(True, "", PROVINCE_CODES[prov], born, female)


def nik_district(nik: str) -> str | None:
    """The Kemendagri district (kecamatan) code a NIK was issued in, dotted: its first six
    digits (3204120101900001 -> "32.04.12"); None unless it has 16 digits, a known province
    and non-zero regency and district codes (the rest of the number does not matter here)."""
    if not re.fullmatch(r"\d{16}", nik or "") or nik[:2] not in PROVINCE_CODES:
        return None
    if nik[2:4] == "00" or nik[4:6] == "00":
        return None
    return f"{nik[0:2]}.{nik[2:4]}.{nik[4:6]}"


def extract_nik(text: str, today: dt.date | None = None) -> str | None:
    """The NIK spoken or typed in `text` if there is a valid one."""
    digits = words_to_digits(text)
    if len(digits) == 16 and validate_nik(digits, today).valid:
        return digits
    for m in re.finditer(r"(?<!\d)\d{16}(?!\d)", digits):
        if validate_nik(m.group(0), today).valid:
            return m.group(0)
    return None


def normalize_phone(text: str) -> str | None:
    """An Indonesian phone number in national form (08..., 021...), or None.

    Accepts +62 / 62 prefixes, spaces, dashes and spoken digits ("kosong delapan ...").
    Mobile numbers: 08 + 8..11 digits (10-13 in all); fixed lines: 0 + area code, 9-12 digits.
    """
    if not text:
        return None
    raw = text.strip()
    if re.search(r"[a-zA-Z]", raw):
        digits = words_to_digits(raw)
    else:
        digits = re.sub(r"\D", "", raw)
    if digits.startswith("62"):
        digits = "0" + digits[2:]
    elif digits.startswith("8") and 9 <= len(digits) <= 12:
        digits = "0" + digits
    if re.fullmatch(r"08[1-9]\d{7,10}", digits):
        return digits
    if re.fullmatch(r"0[2-7]\d{7,10}", digits):
        return digits
    return None


def phone_e164(text: str) -> str | None:
    """An Indonesian phone number in international digits without "+" ("62812..."), or None:
    `normalize_phone`'s national form with the leading 0 replaced by 62. The one owner of the
    international form (hashing and look-ups of stored numbers use it)."""
    national = normalize_phone(text)
    return "62" + national[1:] if national is not None else None


# Indonesian letter names as spoken (and as ASR tends to write them).
_LETTER_NAMES = {
    "a": "A", "be": "B", "bé": "B", "ce": "C", "se": "C", "de": "D", "e": "E", "ef": "F",
    "ge": "G", "ha": "H", "i": "I", "je": "J", "ka": "K", "el": "L", "em": "M", "en": "N",
    "o": "O", "pe": "P", "ki": "Q", "er": "R", "es": "S", "te": "T", "u": "U", "ve": "V",
    "fe": "V", "we": "W", "eks": "X", "eks.": "X", "iks": "X", "ye": "Y", "zet": "Z", "set": "Z",
}
# Region prefixes in use on Indonesian plates (police regions).
PLATE_PREFIXES = {
    "A", "B", "D", "E", "F", "G", "H", "K", "L", "M", "N", "P", "R", "S", "T", "W", "Z",
    "AA", "AB", "AD", "AE", "AG", "BA", "BB", "BD", "BE", "BG", "BH", "BK", "BL", "BM", "BN",
    "BP", "BR", "DA", "DB", "DC", "DD", "DE", "DG", "DH", "DK", "DL", "DM", "DN", "DP", "DR",
    "DS", "DT", "EA", "EB", "ED", "KB", "KH", "KT", "KU", "PA", "PB", "PG", "PT", "PY",
}
_PLATE_RE = re.compile(r"^([A-Z]{1,2})\s*(\d{1,4})\s*([A-Z]{0,3})$")


def normalize_plate(text: str) -> str | None:
    """A typed plate ("b1234xyz", "B-1234-XYZ") as "B 1234 XYZ", or None."""
    t = re.sub(r"[\s\-.]+", "", text.upper())
    m = _PLATE_RE.match(t)
    if not m or m.group(1) not in PLATE_PREFIXES:
        return None
    return " ".join(p for p in (m.group(1), m.group(2), m.group(3)) if p)


def parse_plate(text: str) -> str | None:
    """A typed or spoken plate ("be satu dua tiga empat eks ye zet") as "B 1234 XYZ"."""
    direct = normalize_plate(text)
    if direct:
        return direct
    letters_before: list[str] = []
    digits = ""
    letters_after: list[str] = []
    words = re.findall(r"\d+|[a-zA-Zé]+", text.lower())
    i = 0
    # leading region letters
    while i < len(words) and words[i] in _LETTER_NAMES or (i < len(words) and re.fullmatch(r"[a-z]{1,2}", words[i]) and not digits and words[i] not in ("se",) and i < 2 and not _is_number_word(words[i])):
        w = words[i]
        letters_before.append(_LETTER_NAMES.get(w, w.upper()))
        i += 1
        if len(letters_before) > 2:
            return None
    rest_start = i
    while i < len(words) and (words[i].isdigit() or _is_number_word(words[i])):
        i += 1
    digits = words_to_digits(" ".join(words[rest_start:i]))
    while i < len(words):
        w = words[i]
        if w in _LETTER_NAMES:
            letters_after.append(_LETTER_NAMES[w])
        elif re.fullmatch(r"[a-z]{1,3}", w):
            letters_after.extend(ch.upper() for ch in w)
        else:
            return None
        i += 1
    return normalize_plate("".join(letters_before) + digits + "".join(letters_after))


def _is_number_word(w: str) -> bool:
    return bool(words_to_digits(w)) or w in ("puluh", "belas", "ratus", "ribu")
