"""Indonesian language helpers: normalisation, numbers, NIK, phone numbers, plates, dates."""

from dialogs.lang.dates import format_date_id, parse_date
from dialogs.lang.ids import (
    PROVINCE_CODES,
    NikInfo,
    extract_nik,
    nik_district,
    normalize_phone,
    normalize_plate,
    parse_plate,
    phone_e164,
    validate_nik,
)
from dialogs.lang.normalize import normalize, phonetic_key, stem_tokens, tokens
from dialogs.lang.numbers import digits_to_words, number_to_words, spell_digits, words_to_digits

__all__ = [
    "PROVINCE_CODES",
    "NikInfo",
    "digits_to_words",
    "extract_nik",
    "nik_district",
    "format_date_id",
    "normalize",
    "normalize_phone",
    "normalize_plate",
    "number_to_words",
    "parse_date",
    "parse_plate",
    "phone_e164",
    "phonetic_key",
    "spell_digits",
    "stem_tokens",
    "tokens",
    "validate_nik",
    "words_to_digits",
]
