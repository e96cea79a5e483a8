"""The one rule for which fields hold personal data by their *name*.

Every place that hides a value because of what its field is called asks :func:`is_personal_field`:
a ticket's ``extra`` fields (filled from a script's slots), the hand-off context and the desk's
screen pop, the live calls' journal, log records' extra fields, and what a caller answers to a
question whose slot is named so. A script editor names slots freely (``nama_pemohon``,
``alamat_rumah``, ``no_hp_pelapor``, ``nikAnak``, ``nomor-kk``), so the name is split into its
words (snake_case, camelCase, kebab-case, digits) and a field is personal when

* one of its words says so (:data:`PERSONAL_WORDS`: ``nama``, ``nik``, ``kk``, ``hp``,
  ``alamat``, ``email``...), compared whole: ``kkn``, ``channel``, ``phonetic`` or ``namespace``
  are no hit;
* two words in a row say so (:data:`PERSONAL_PAIRS`: ``no_ktp``, ``nomor_wa``...);
* or the whole name is one the runtime itself uses for personal data or secrets
  (:data:`PERSONAL_NAMES`: ``caller_number``, ``callerid``, ``reporter``, ``clear_text``...).
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise

from dialogs.personal import FIELD_KIND as DIALOG_FIELD_KIND
from dialogs.personal import answer_kind as _dialog_answer_kind

__all__ = ["FIELD_KIND", "PERSONAL_NAMES", "PERSONAL_PAIRS", "PERSONAL_WORDS", "answer_kind", "field_words", "is_personal_field"]

#: words of a field's name that say it holds personal data (or a secret)
PERSONAL_WORDS = frozenset({
    # names
    "nama", "name", "fullname", "namalengkap",
    # identity numbers: NIK, family card (KK), passport
    "nik", "kk", "nkk", "paspor", "passport",
    # phone numbers
    "hp", "telp", "telpon", "telepon", "tlp", "tel", "phone", "msisdn", "wa", "whatsapp", "ponsel",
    "handphone", "mobile",
    # addresses, e-mail, birth date
    "alamat", "address", "addr", "domisili", "email", "surel", "lahir", "birth", "dob",
    # secrets the logs must never show either
    "password", "passwd", "secret", "token",
})

#: two words in a row that say it (``no_ktp``: a NIK, where "ktp" alone is a service)
PERSONAL_PAIRS = frozenset({
    ("no", "ktp"), ("nomor", "ktp"), ("no", "kependudukan"), ("nomor", "kependudukan"),
    ("no", "pelapor"), ("nomor", "pelapor"), ("no", "penelepon"), ("nomor", "penelepon"),
    ("tempat", "tinggal"), ("e", "mail"), ("pii", "key"), ("clear", "text"),
})

#: whole names (words joined by "_") the runtime uses for personal data
PERSONAL_NAMES = frozenset({
    "caller", "caller_number", "callback_number", "callerid", "caller_id", "calleridnum", "calleridname",
    "reporter", "pelapor", "penelepon", "pemohon", "clear_text", "pii_key",
})

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[^a-z0-9]+|(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")


@lru_cache(maxsize=4096)
def field_words(name: str) -> tuple[str, ...]:
    """The lower-case words of a field's name: ``"noHpPelapor2"`` -> ``("no", "hp", "pelapor", "2")``."""
    return tuple(w for w in _SPLIT.split(_CAMEL.sub("_", name).lower()) if w)


@lru_cache(maxsize=4096)
def is_personal_field(name: str) -> bool:
    """Whether a field called ``name`` holds personal data (its whole value is hidden)."""
    words = field_words(name)
    if not words:
        return False
    if "_".join(words) in PERSONAL_NAMES or "".join(words) in PERSONAL_NAMES:
        return True
    if any(w in PERSONAL_WORDS for w in words):
        return True
    return any(pair in PERSONAL_PAIRS for pair in pairwise(words))


#: the personal kind of a value hidden whole because of its field's name (an address, a birth
#: date, a KK number keyed as digits...): records keep ``[REDACTED]`` in its place
FIELD_KIND = DIALOG_FIELD_KIND


def answer_kind(kind: str, slot: str | None) -> str | None:
    """The personal kind of what a caller answers to a listen of ``kind`` filling ``slot``: the
    dialog's own reading (:func:`dialogs.personal.answer_kind`: NIK, phone, a name, free text),
    made stronger by the slot's name. A slot named personal (``alamat_rumah``, ``no_kk``,
    ``tanggal_lahir``) that the dialog would keep as free text, or not as personal at all (digits,
    a date), is hidden whole (:data:`FIELD_KIND`)."""
    base = _dialog_answer_kind(kind, slot)
    if slot and base in (None, "text") and is_personal_field(slot):
        return FIELD_KIND
    return base
