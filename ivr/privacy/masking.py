"""Masking personal data in text and structured values: what logs, pages and the database's
``*_masked`` columns show.

* :func:`mask_text` replaces NIK/KK-like 16-digit numbers with ``[NIK]`` and Indonesian phone
  numbers (08..., +62..., 62..., landlines 0xx...) with ``[PHONE]`` inside free text.
* :func:`mask_value` walks dicts and lists; a field whose *name* says it holds personal data
  (:data:`SENSITIVE_FIELDS`) is replaced whole.
* :func:`mask_nik`, :func:`mask_phone`, :func:`mask_name` keep enough of one value for staff to
  recognise it (``3174**********01``, ``0812*****890``, ``B*** S***``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["mask_text", "mask_value", "mask_nik", "mask_phone", "mask_name", "normalize_nik",
           "SENSITIVE_FIELDS", "NIK_MASK", "PHONE_MASK", "FIELD_MASK"]

_SEP = r"[ \-]?"
# 16 digits, optionally grouped by single spaces or dashes: NIK and KK numbers
_NIK_RE = re.compile(r"(?<!\d)\d(?:" + _SEP + r"\d){15}(?!\d)")
# Indonesian mobiles: 08xx / +628xx / 628xx, 9-13 digits in national form
_MOBILE_RE = re.compile(r"(?<![\d+])(?:\+62|62|0)" + _SEP + r"8(?:" + _SEP + r"\d){7,11}(?!\d)")
# Landlines: 0 + area code (2-4 digits starting 2-7) + subscriber number, or +62/62 form
_LANDLINE_RE = re.compile(
    r"(?<![\d+])\(?(?:\+62" + _SEP + r"|62" + _SEP + r"|0)\(?[2-7]\d{1,3}\)?" + _SEP + r"\d(?:" + _SEP + r"\d){4,7}(?!\d)"
)
# any other +62 number
_PLUS62_RE = re.compile(r"\+62(?:" + _SEP + r"\d){7,13}(?!\d)")

NIK_MASK = "[NIK]"
PHONE_MASK = "[PHONE]"
FIELD_MASK = "[REDACTED]"

#: extra-field names (lower case, compared after stripping "_") whose whole value is hidden
SENSITIVE_FIELDS = frozenset(
    {
        "name", "fullname", "full_name", "reporter", "reporter_name", "caller_name", "agent_name",
        "nama", "nik", "reporter_nik", "kk", "no_kk", "phone", "phone_number", "reporter_phone",
        "caller", "caller_number", "callerid", "caller_id", "calleridnum", "calleridname",
        "msisdn", "telp", "telepon", "hp", "no_hp", "address", "alamat", "email",
        "password", "secret", "token", "pii_key",
    }
)


def mask_text(text: str) -> str:
    """Replace NIK-like 16-digit numbers and Indonesian phone numbers in free text."""
    if not text or not any(c.isdigit() for c in text):
        return text
    text = _NIK_RE.sub(NIK_MASK, text)
    text = _MOBILE_RE.sub(PHONE_MASK, text)
    text = _PLUS62_RE.sub(PHONE_MASK, text)
    text = _LANDLINE_RE.sub(PHONE_MASK, text)
    return text


def _is_sensitive(key: str) -> bool:
    k = key.lower().strip("_")
    return k in SENSITIVE_FIELDS


def mask_value(value: Any, key: str | None = None, _depth: int = 0) -> Any:
    """Mask a field value: whole if its key is sensitive, else strings inside it."""
    if key is not None and _is_sensitive(key) and value not in (None, ""):
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
