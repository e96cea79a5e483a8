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
* but a family card's ``kk`` beside a service word (:data:`SERVICE_WORDS`: ``jenis_kk``,
  ``layanan_kk``) is the service, and ``nama``/``name`` beside a thing (:data:`THING_WORDS`:
  ``nama_jalan``, ``nama_layanan``, ``service_name``) is that thing's name;
* a word glued from such words (``nohp``, ``noktp``, ``namapemohon``, ``tgllahir``);
* or the whole name is one the runtime itself uses for personal data or secrets
  (:data:`PERSONAL_NAMES`: ``caller_number``, ``callerid``, ``reporter``, ``clear_text``...).
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise

from dialogs.personal import FIELD_KIND as DIALOG_FIELD_KIND
from dialogs.personal import answer_kind as _dialog_answer_kind

__all__ = ["FIELD_KIND", "PERSONAL_NAMES", "PERSONAL_PAIRS", "PERSONAL_WORDS", "SERVICE_WORDS", "THING_WORDS", "answer_kind",
           "field_words", "is_personal_field"]

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
    # the NIK by its full name (Nomor Induk Kependudukan), the KK number beside a service word
    ("nomor", "induk"), ("no", "induk"), ("induk", "kependudukan"), ("no", "kk"), ("nomor", "kk"),
    # a card's or an identity document's number: ``nomor_kartu_keluarga``, ``no_identitas``,
    # ``nomor_bpjs``, ``no_sim`` (the card service alone, ``layanan_kartu_keluarga``, is not)
    ("nomor", "kartu"), ("no", "kartu"), ("nomor", "identitas"), ("no", "identitas"),
    ("nomor", "bpjs"), ("no", "bpjs"), ("nomor", "sim"), ("no", "sim"),
})

#: words that make a name a service, not a number: ``jenis_kk``, ``layanan_kk`` name the family
#: card service (as ``layanan_ktp`` does), ``no_kk`` or ``nomor_kk`` (pairs) its number
SERVICE_WORDS = frozenset({"jenis", "layanan", "info", "informasi", "syarat", "persyaratan", "urusan",
                           "pengurusan", "pembuatan", "kategori", "topik", "keperluan", "prosedur", "service"})

#: personal words that a service word beside them makes a service (see :data:`SERVICE_WORDS`)
_SERVICE_NAMED = frozenset({"kk"})

#: words that, next to ``nama``/``name``, make it the name of a thing, not of a person:
#: ``nama_jalan``, ``nama_layanan``, ``service_name``, ``file_name``
THING_WORDS = frozenset({
    "jalan", "gang", "desa", "kelurahan", "kecamatan", "kota", "kabupaten", "provinsi", "wilayah", "daerah",
    "kantor", "instansi", "dinas", "sekolah", "puskesmas", "layanan", "dokumen", "program", "bantuan",
    "service", "file", "script", "intent", "state", "step", "queue", "model", "voice", "host", "street",
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
    if any(pair in PERSONAL_PAIRS for pair in pairwise(words)):
        return True
    service = any(w in SERVICE_WORDS for w in words)
    for i, w in enumerate(words):
        if _glued(w):
            return True
        if w not in PERSONAL_WORDS or (service and w in _SERVICE_NAMED):
            continue
        if w in ("nama", "name") and _names_a_thing(words, i):
            continue
        return True
    return False


#: what follows "no"/"nomor" in a glued word that makes it a personal number (``nohp``, ``noktp``)
_NUMBER_OF = PERSONAL_WORDS | {second for first, second in PERSONAL_PAIRS if first in ("no", "nomor")}


def _glued(word: str) -> bool:
    """A name written without separators, as editors often do: ``nohp``, ``notelp``,
    ``nomorkk``, ``noktp``, ``namapemohon``, ``tgllahir``."""
    for prefix in ("nomor", "no"):
        if word.startswith(prefix) and word[len(prefix):] in _NUMBER_OF:
            return True
    if word.startswith("nama") and len(word) > 4 and word[4:] not in THING_WORDS:
        return True
    return word.endswith("lahir") and word != "lahir"


def _names_a_thing(words: tuple[str, ...], i: int) -> bool:
    """Whether the ``nama``/``name`` at ``words[i]`` is a thing's: ``nama_jalan`` (the thing
    after it, Indonesian order), ``service_name`` (before it, English order)."""
    after = words[i + 1] if i + 1 < len(words) else None
    before = words[i - 1] if i > 0 else None
    return after in THING_WORDS or (words[i] == "name" and before in THING_WORDS)


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
