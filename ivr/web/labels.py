"""Indonesian labels for the pages: the labels of stored codes (:mod:`ivr.storage.labels`, where
the desk reads them too) and SLA countdowns in words.

Templates use the ``label`` filter: ``{{ call.end_reason | label("end_reason") }}``.
"""

from __future__ import annotations

from ivr.storage.labels import (
    ATTEMPT_OUTCOME_LABELS,
    AUDIT_ACTION_LABELS,
    END_REASON_LABELS,
    GROUPS,
    HANDOFF_REASON_LABELS,
    KIND_LABELS,
    OUTCOME_LABELS,
    QUEUE_FIELD_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
    SUBJECT_LABELS,
    label,
)

__all__ = ["STATUS_LABELS", "KIND_LABELS", "OUTCOME_LABELS", "ATTEMPT_OUTCOME_LABELS", "ROLE_LABELS", "END_REASON_LABELS",
           "HANDOFF_REASON_LABELS", "AUDIT_ACTION_LABELS", "QUEUE_FIELD_LABELS", "SUBJECT_LABELS", "GROUPS", "label",
           "sla_left"]


def _span(seconds: float) -> str:
    s = int(abs(seconds))
    days, hours, minutes = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if days:
        return f"{days} hari {hours} jam" if hours else f"{days} hari"
    if hours:
        return f"{hours} jam {minutes} menit" if minutes else f"{hours} jam"
    return f"{max(minutes, 1)} menit"


def sla_left(seconds_left: float, *, closed: bool = False) -> str:
    """An SLA countdown in words: "sisa 2 hari 3 jam", "terlambat 5 jam", or "-" once closed."""
    if closed:
        return "-"
    return f"sisa {_span(seconds_left)}" if seconds_left >= 0 else f"terlambat {_span(seconds_left)}"
