"""The screen pop: everything an agent needs when a handed-over caller is put through.

Built from the store (shared by every process) so any process can pop any call: the context
saved at transfer (purpose, reason, slots), the recorded turns with the recognizer's confidence
and whether the caller's own audio can be played, linked or draft tickets, earlier calls and
tickets of the same caller (by the number's keyed hash, and the tickets filed in their earlier
calls; the number itself is never shown in clear), and the time the caller waited. Personal data
stays masked. A ticket filed unfinished when the caller hung up carries its marks (``hangup``:
the step they stopped at, the field the hang-up cut). Stored codes (a ticket's status, a call's
end reason...) come with the Indonesian labels staff read on the pages (``*_label``, and the
history's ``summary``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from datetime import datetime, tzinfo
from collections.abc import Mapping
from typing import Any

from ivr.desk.marks import INCOMPLETE_BADGE, field_label, hangup_marks
from ivr.privacy.fields import is_personal_field
from ivr.privacy.masking import MASKS, mask_value
from ivr.storage.script_labels import BeyondSpec
from ivr.storage import Store
from ivr.storage.catalog import SERVICE_NAMES, category_label, service_words
from ivr.storage.desk import HistoryItem
from ivr.storage.labels import label
from ivr.storage.ticket_ids import format_ticket_id

__all__ = ["build_pop", "recording_path", "history_entry", "local_time", "personal_slot", "masked_slots",
           "slot_rows"]

_YES = frozenset({"true", "ya", "iya", "yes"})
_NO = frozenset({"false", "tidak", "no"})

_REASONS = {"caller_request": "Penelepon meminta petugas", "low_confidence": "Sistem kurang yakin memahami",
            "no_input": "Penelepon tidak menjawab", "fallback": "Tangga bantuan habis",
            "emergency": "Keadaan darurat", "complaint": "Pengaduan perlu petugas"}


def recording_path(store: Store, audio_path: str | None) -> Path | None:
    """The file of a recorded turn if it exists inside a recordings directory (never elsewhere)."""
    if not audio_path:
        return None
    p = Path(audio_path)
    try:
        rp = p.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    for d in store.retention.recording_dirs:
        try:
            rp.relative_to(Path(d).resolve())
            return rp
        except (ValueError, OSError):
            continue
    return None


async def build_pop(store: Store, call_id: str | None, *, queue: str | None, hold_s: int | None,
                    member: str | None, uniqueid: str | None = None,
                    beyond: BeyondSpec | None = None) -> dict[str, Any]:
    """The pop's data (JSON-able). ``known`` is False when the hotline has no record of the call.
    ``beyond``: the live script's out-of-scope topics; a caller turn told its request is outside
    the hotline's services says which ("Di luar layanan: Paspor dan imigrasi")."""
    pop: dict[str, Any] = {"call_id": call_id, "queue": queue, "hold_s": hold_s, "member": member,
                           "uniqueid": uniqueid, "known": False}
    if not call_id:
        pop["message"] = "Panggilan ini tidak tercatat oleh sistem suara (tanpa konteks)."
        return pop
    # independent reads at once (the store's read threads), not one after another
    call, saved_ctx, h = await asyncio.gather(store.calls.get(call_id), store.handoffs.context(call_id),
                                              store.desk.caller_hash(call_id))
    if call is None:
        pop["message"] = "Panggilan ini tidak tercatat oleh sistem suara (tanpa konteks)."
        return pop
    ctx = saved_ctx or {}
    pop["known"] = True
    pop["caller"] = call.caller
    pop["started_at"] = call.started_at.isoformat()
    service = ctx.get("service")
    pop["purpose"] = _purpose(ctx.get("intent"), str(service) if service else call.service)
    pop["purpose_label"] = service_words(pop["purpose"]) if pop["purpose"] else "-"
    reason = ctx.get("reason")
    pop["reason"] = reason
    pop["reason_label"] = _REASONS.get(str(reason)) or label(reason, "handoff_reason")
    slots = ctx.get("slots")
    pop["slots"] = masked_slots(slots if isinstance(slots, dict) else {})
    pop["slot_rows"] = slot_rows(pop["slots"])
    turns = []
    playable = 0
    for t in call.turns:
        audio = recording_path(store, t.audio_path) if t.who == "caller" else None
        playable += audio is not None
        turns.append({"index": t.index, "who": t.who, "text": t.text, "source": t.source, "intent": t.intent,
                      "confidence": round(t.confidence, 2) if t.confidence is not None else None,
                      "state": t.state, "audio": audio is not None,
                      "beyond": (beyond or BeyondSpec()).told(t.beyond) if t.who == "caller" and t.beyond else None})
    saved = ctx.get("transcript")
    if not turns and isinstance(saved, list):
        for i, x in enumerate(saved):
            if isinstance(x, dict):
                turns.append({"index": i, "who": x.get("who"), "text": x.get("text") or x.get("keys"),
                              "source": "context", "intent": x.get("intent"),
                              "confidence": x.get("confidence"), "state": x.get("state"), "audio": False})
    pop["transcript"] = turns
    pop["recordings"] = playable
    if not playable:
        pop["recordings_message"] = "Rekaman suara penelepon tidak tersedia untuk panggilan ini."
    ticket_ids = list(call.tickets)
    draft = ctx.get("ticket_id")
    if isinstance(draft, str) and draft and draft not in ticket_ids:
        ticket_ids.append(draft)
    tickets = []
    found, history = await asyncio.gather(asyncio.gather(*(store.tickets.get(pid) for pid in ticket_ids)),
                                          store.desk.history(h, exclude_call=call.id))
    for tk in found:
        if tk is not None:
            marks = hangup_marks(tk.extra)  # filed unfinished at a hang-up: the step, the cut field
            tickets.append({"public_id": tk.public_id, "display_id": tk.display_id, "kind": tk.kind,
                            "kind_label": label(tk.kind, "kind"), "status": tk.status,
                            "status_label": label(tk.status, "status"), "category": tk.category,
                            "category_label": _category(tk.category), "agency": tk.agency,
                            "location": tk.location, "description": tk.description,
                            "sla_due": tk.sla_due.isoformat(), "hangup": marks.to_json() if marks else None})
    pop["tickets"] = tickets
    pop["history"] = [history_entry(i, store.tickets.tz) for i in history]
    pop["history_available"] = h is not None
    return pop


def _category(code: str | None) -> str | None:
    """A complaint category in words (one an agent typed stays as typed)."""
    return category_label(code) if code else None


def _purpose(intent: object, service: str | None) -> str | None:
    """What the caller called about: the last intent heard when it names a service of the
    catalog (or nothing better is known), else the call's service: a follow-up question
    ("tanya_biaya"), "ulangi" or "selesai" heard last is no purpose ("Layanan tanya biaya")."""
    said = str(intent) if intent else None
    if said and (said in SERVICE_NAMES or not service):
        return said
    return service or said


def personal_slot(key: str) -> bool:
    """Whether a slot's name says it holds personal data: the one rule of every masker
    (:func:`ivr.privacy.fields.is_personal_field`: ``nama_pemohon``, ``no_wa_pemohon``,
    ``callback_number``...)."""
    return is_personal_field(key)


def masked_slots(slots: Mapping[str, object]) -> dict[str, object]:
    """The saved slots with every personal one masked whole and the others' text masked (the
    pop shows no personal data)."""
    return {str(k): mask_value(v, str(k)) for k, v in slots.items()}


#: the ticket ``extra`` keys that are the marks of a hang-up (shown by their own sentence)
_MARK_KEYS = frozenset({"incomplete", "stopped_at", "cut_by_hangup"})


def slot_rows(slots: Mapping[str, object], *, masked: bool = True) -> list[list[str]]:
    """[name, value] rows in staff words for slots or a ticket's ``extra`` fields (never the
    hang-up marks): masked unless ``masked`` is False (an audited reveal's clear copy)."""
    shown = masked_slots(slots) if masked else dict(slots)
    return [[_slot_name(k), _slot_value(k, v)] for k, v in shown.items() if k not in _MARK_KEYS]


def _slot_name(key: str) -> str:
    """A slot's name as staff read it ("reporter_nik" -> "NIK pelapor")."""
    name = field_label(key)
    return name[:1].upper() + name[1:]


def _slot_value(key: str, value: object) -> str:
    """A slot's (masked) value in words: a category or service by its label, a yes/no in words,
    a masked personal field said so (never "[REDACTED]")."""
    if value is None or value == "":
        return "-"
    if value in MASKS:
        return "Disamarkan (data pribadi)"
    # a yes/no as the scripts write it ("confidential": "ya"/"tidak") or as JSON does
    word = str(value).strip().lower()
    if isinstance(value, bool) or word in _YES or word in _NO:
        return "Ya" if word in _YES else "Tidak"
    if key == "category":
        return category_label(str(value))
    if key == "topic":
        return service_words(str(value))
    if key == "reason":
        return label(value, "handoff_reason")
    return str(value)


def local_time(at: datetime, tz: tzinfo | None) -> str:
    """A moment as the pages write it, in the office's time zone ("06-12-2026 09:15")."""
    return (at.astimezone(tz) if tz else at).strftime("%d-%m-%Y %H:%M")


def history_entry(item: HistoryItem, tz: tzinfo | None = None) -> dict[str, Any]:
    """An earlier call or ticket of the caller for the pop: its codes in the words staff read on
    the pages ("KTP elektronik / Penelepon menutup telepon", "Pengaduan / Kebersihan / Baru /
    Belum lengkap"); an unfinished complaint says so and carries its marks as the pop's
    tickets do."""
    entry: dict[str, Any] = {"kind": item.kind, "id": item.id, "at": item.at.isoformat(),
                             "at_text": local_time(item.at, tz)}
    if item.kind == "call":
        # a service the catalog does not know reads "Layanan izin usaha", not "izin_usaha"
        parts = [service_words(item.service) if item.service else "", label(item.end_reason, "end_reason", ""),
                 label(item.handoff_outcome, "outcome", "")]
        entry.update(summary=" / ".join(p for p in parts if p), service=item.service, end_reason=item.end_reason,
                     handoff_outcome=item.handoff_outcome)
        return entry
    marks = hangup_marks(item.extra)
    unfinished = marks is not None and marks.incomplete
    parts = [label(item.ticket_kind, "kind", ""), _category(item.category) or "", label(item.status, "status", ""),
             INCOMPLETE_BADGE if unfinished else ""]
    entry.update(display_id=format_ticket_id(item.id), summary=" / ".join(p for p in parts if p),
                 ticket_kind=item.ticket_kind, category=item.category, status=item.status,
                 status_label=label(item.status, "status") if item.status else None,
                 incomplete=unfinished, hangup=marks.to_json() if marks else None)
    return entry
