"""What the store returns: frozen views of calls, turns, tickets, hand-offs and the audit log
(personal data masked unless revealed), and the codes they use."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime

__all__ = ["Call", "Turn", "Ticket", "TicketEvent", "Handoff", "AuditEntry", "PurgeResult",
           "TICKET_KINDS", "TICKET_STATUSES", "TICKET_TRANSITIONS", "HANDOFF_OUTCOMES"]

TICKET_KINDS = ("complaint", "callback")
TICKET_STATUSES = ("open", "in_progress", "resolved", "closed", "rejected")
#: status -> the statuses a ticket may move to from it
TICKET_TRANSITIONS = {
    "open": {"in_progress", "resolved", "closed", "rejected"},
    "in_progress": {"open", "resolved", "closed", "rejected"},
    "resolved": {"in_progress", "closed", "open"},
    "closed": {"open"},
    "rejected": {"open"},
}
HANDOFF_OUTCOMES = ("pending", "connected", "abandoned", "no_agents", "closed_hours", "failed")
#: how the dialog took a caller turn: taken at once; taken after the caller confirmed it; the
#: caller said no to the guess; not understood (no match / invalid answer / silence); handed to
#: an agent
#: caller turns: how the dialog took them; prompts: "interrupted" when cut short (barge-in,
#: hang-up; stored as far as played)
TURN_OUTCOMES = ("accepted", "confirmed", "corrected", "no_match", "invalid", "no_input", "agent",
                 "interrupted")


@dataclass(frozen=True)
class TicketEvent:
    at: datetime
    from_status: str | None
    to_status: str
    note: str | None
    actor: str | None


@dataclass(frozen=True)
class Ticket:
    public_id: str                 # 10 digits, e.g. "2611000427"
    display_id: str                # "2611-00042-7"
    kind: str                      # complaint | callback
    status: str
    category: str | None
    location: str | None
    description: str | None
    reporter_name: str | None      # masked unless revealed
    reporter_nik: str | None
    reporter_phone: str | None
    confidential: bool
    extra: dict[str, object] | None
    call_id: str | None
    created_at: datetime
    updated_at: datetime
    sla_due: date
    history: tuple[TicketEvent, ...] = ()
    revealed: bool = False
    pending: bool = False          # still only in the local journal (database down)
    agency: str | None = None      # the agency responsible
    area_code: str | None = None   # Kemendagri code of where it happened (district or village)

    def to_json(self) -> dict[str, object]:
        return _json_dict(asdict(self))


@dataclass(frozen=True)
class Turn:
    call_id: str
    index: int
    at: datetime
    who: str
    source: str
    text: str | None
    intent: str | None
    confidence: float | None
    asr_ms: float | None
    reply_ms: float | None
    audio_path: str | None = None
    state: str | None = None      # the dialog state it happened in
    outcome: str | None = None    # caller turns: how the dialog took it (TURN_OUTCOMES)
    #: prompts: it answered a decision the second look dropped (also ``interrupted``: the
    #: caller cut it by going on)
    superseded: bool = False
    #: caller turns told they were outside the hotline's services: the request's topic
    beyond: str | None = None

    def to_json(self) -> dict[str, object]:
        return _json_dict(asdict(self))


@dataclass(frozen=True)
class Handoff:
    id: str
    call_id: str
    queue: str
    reason: str | None
    requested_at: datetime
    agent: str | None
    connected_at: datetime | None
    ended_at: datetime | None
    outcome: str
    hold_s: int | None = None
    talk_s: int | None = None
    ended_by: str | None = None

    def to_json(self) -> dict[str, object]:
        return _json_dict(asdict(self))


@dataclass(frozen=True)
class Call:
    id: str
    started_at: datetime
    ended_at: datetime | None
    channel_id: str | None
    caller: str | None             # masked unless revealed
    media_mode: str
    script_name: str | None
    script_version: str | None
    end_reason: str | None
    handoff_outcome: str | None
    purged: bool = False
    service: str | None = None     # the intent the call was finally about
    end_state: str | None = None   # the dialog state it ended in
    turns: tuple[Turn, ...] = ()
    handoffs: tuple[Handoff, ...] = ()
    tickets: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return _json_dict(asdict(self))


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    role: str
    action: str
    subject_type: str
    subject_id: str | None
    revealed: bool
    detail: str | None
    remote: str | None


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime
    turns: int = 0
    contexts: int = 0
    calls: int = 0
    files: int = 0
    files_failed: list[str] = field(default_factory=list)


def _json_dict(d: dict[str, object]) -> dict[str, object]:
    return {k: _jsonable(v) for k, v in d.items()}


def _jsonable(v: object) -> object:
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v
