"""The marks of a complaint filed when the caller hung up (``dialogs/engine.py``
``_hangup_ticket``), in words a staff member reads.

Such a ticket's ``extra`` fields carry ``incomplete: true``, ``stopped_at: <dialog state id>``
and, when the words the caller was saying as the line dropped were kept, ``cut_by_hangup:
<slot>`` (that slot's value ends in ``' …'``). The pages show a "Belum lengkap" badge, the step
the caller stopped at ("Penelepon menutup telepon saat menyebutkan lokasi kejadian.") and a mark
on the field that was cut. Only these three keys are read: nothing else of ``extra`` is shown,
and the values are state and slot ids (never personal data), read from the masked copy.

A state of the default script has a label here; a state a script editor added or renamed reads
from its id: a known slot word in it names the step ("..._location_..." -> "lokasi kejadian"),
else the id's words ("langkah «follow up ask»"). The raw id is never shown alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ivr.storage.tickets import INCOMPLETE_TRUE

__all__ = ["HangupMarks", "hangup_marks", "step_label", "field_label", "CUT_NOTE", "INCOMPLETE_BADGE"]

INCOMPLETE_BADGE = "Belum lengkap"
#: the mark on the value a hang-up cut short
CUT_NOTE = "terpotong saat penelepon menutup telepon"

#: what the caller was doing in each step of the default script's complaint flow
#: (``dialogs/scripts/default.yaml``), completing "Penelepon menutup telepon saat ..."
STEP_LABELS: dict[str, str] = {
    "complaint_start": "pencatatan pengaduan baru dimulai",
    "complaint_category": "memilih jenis pengaduan",
    "complaint_location": "menyebutkan lokasi kejadian",
    "complaint_description": "menceritakan kejadiannya",
    "complaint_identity": "ditanya kesediaan mencantumkan nama dan nomor telepon",
    "complaint_anonymous": "pengaduan disiapkan tanpa nama",
    "complaint_name": "menyebutkan nama",
    "complaint_nik": "menyebutkan NIK",
    "complaint_phone_check": "nomor telepon untuk dihubungi akan dipastikan",
    "complaint_phone_confirm": "memastikan nomor telepon untuk dihubungi",
    "complaint_phone_use_caller": "nomor telepon untuk dihubungi dicatat",
    "complaint_phone_ask": "menyebutkan nomor telepon",
    "complaint_readback": "ringkasan pengaduan dibacakan untuk dikonfirmasi",
    "complaint_redo": "pengaduan akan diulang dari awal",
    "complaint_create": "pengaduan sedang disimpan",
    "complaint_done": "nomor tiket pengaduan dibacakan",
}

#: a slot (ticket field) in staff words; also names a step whose id holds the slot's word
FIELD_LABELS: dict[str, str] = {
    "category": "jenis pengaduan",
    "location": "lokasi kejadian",
    "description": "uraian kejadian",
    "reporter_name": "nama pelapor",
    "reporter_nik": "NIK pelapor",
    "reporter_phone": "nomor telepon pelapor",
    # the other fields a default-script ticket carries (the pop's "Isian")
    "confidential": "dirahasiakan",
    "phone": "nomor telepon",
    "callback_number": "nomor telepon balik",
    "reason": "alasan",
    "topic": "keperluan",
}
#: words of a state id that name what it asks (checked in this order)
_STEP_WORDS: tuple[tuple[str, str], ...] = (
    ("location", "menyebutkan lokasi kejadian"), ("lokasi", "menyebutkan lokasi kejadian"),
    ("description", "menceritakan kejadiannya"), ("uraian", "menceritakan kejadiannya"),
    ("category", "memilih jenis pengaduan"), ("kategori", "memilih jenis pengaduan"),
    ("nik", "menyebutkan NIK"), ("phone", "menyebutkan nomor telepon"), ("telepon", "menyebutkan nomor telepon"),
    ("name", "menyebutkan nama"), ("nama", "menyebutkan nama"),
    ("readback", "ringkasan pengaduan dibacakan untuk dikonfirmasi"),
)

_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


def step_label(state: str) -> str:
    """What the caller was doing in dialog state ``state``, completing "… saat <label>"."""
    if state in STEP_LABELS:
        return STEP_LABELS[state]
    words = [w for w in re.split(r"[_.\-]+", state.lower()) if w]
    for word, text in _STEP_WORDS:
        if word in words:
            return text
    return f"berada di langkah «{' '.join(words) or state}»"


def field_label(slot: str) -> str:
    """A slot (ticket field) in staff words."""
    return FIELD_LABELS.get(slot) or slot.replace("_", " ")


def _truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in INCOMPLETE_TRUE


@dataclass(frozen=True)
class HangupMarks:
    """What the pages show of a ticket filed at a hang-up."""

    #: the ticket was filed unfinished (``incomplete``)
    incomplete: bool
    #: the dialog state the caller was in (``stopped_at``; a state id, for the title only)
    stopped_at: str | None
    #: that state in staff words
    step: str | None
    #: the slot the hang-up cut (``cut_by_hangup``)
    cut_field: str | None

    @property
    def sentence(self) -> str:
        """"Penelepon menutup telepon saat menyebutkan lokasi kejadian." (or without a step)."""
        if self.step:
            return f"Penelepon menutup telepon saat {self.step}."
        return "Penelepon menutup telepon sebelum pengaduan selesai dicatat."

    @property
    def cut_label(self) -> str | None:
        return field_label(self.cut_field) if self.cut_field else None

    def to_json(self) -> dict[str, object]:
        return {"incomplete": self.incomplete, "stopped_at": self.stopped_at, "step": self.step,
                "sentence": self.sentence, "cut_field": self.cut_field, "cut_label": self.cut_label}


def hangup_marks(extra: Mapping[str, object] | None) -> HangupMarks | None:
    """The marks in a ticket's ``extra`` fields, or None when it has none (a finished ticket)."""
    if not isinstance(extra, Mapping):
        return None
    incomplete = _truthy(extra.get("incomplete", False))
    stopped = extra.get("stopped_at")
    stopped_at = stopped if isinstance(stopped, str) and _ID.fullmatch(stopped) else None
    cut = extra.get("cut_by_hangup")
    cut_field = cut if isinstance(cut, str) and _ID.fullmatch(cut) else None
    if not (incomplete or stopped_at or cut_field):
        return None
    return HangupMarks(incomplete=incomplete, stopped_at=stopped_at,
                       step=step_label(stopped_at) if stopped_at else None, cut_field=cut_field)
