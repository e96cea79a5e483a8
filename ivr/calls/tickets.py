"""A call's ticket actions: the dialog's ``CreateTicket`` and ``LookupTicket`` against the store.

The number a caller hears is the written form (``2611-00042-7``); the store keys tickets by the
ten digits. A ticket is never lost: with the database down the store journals it and numbers it
from the offline range (:mod:`ivr.storage.outbox`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dialogs.actions import CreateTicket, LookupTicket
from dialogs.events import TicketCreated, TicketStatus
from ivr.calls.journal import CallJournal
from ivr.calls.ports import TicketRecords
from ivr.privacy.masking import Personal
from ivr.storage.ticket_ids import format_ticket_id

log = logging.getLogger(__name__)

#: the session's event emitter: ``emit(kind, **data)``
Emit = Callable[..., None]

_TICKET_COLUMNS = ("category", "location", "description", "reporter_name", "reporter_nik", "reporter_phone")


@dataclass(frozen=True)
class TicketDraft:
    """A dialog's ``CreateTicket`` fields, sorted into the store's columns; anything else goes
    to ``extra``. The runtime's own call id is authoritative (a ``call_id`` field is ignored)."""

    category: str | None = None
    location: str | None = None
    description: str | None = None
    reporter_name: str | None = None
    reporter_nik: str | None = None
    reporter_phone: str | None = None
    confidential: bool = False
    extra: dict[str, object] | None = None

    @classmethod
    def from_fields(cls, fields: Mapping[str, object]) -> TicketDraft:
        columns: dict[str, str] = {}
        confidential = False
        extra: dict[str, object] = {}
        for key, value in fields.items():
            if isinstance(value, str):
                value = value.strip()
            if value is None or value == "":
                continue
            if key in _TICKET_COLUMNS:
                columns[key] = str(value)
            elif key in ("phone", "callback_number") and "reporter_phone" not in fields:
                columns["reporter_phone"] = str(value)
            elif key == "confidential":
                confidential = str(value).lower() in ("ya", "yes", "true", "1", "iya")
            elif key == "call_id":
                continue
            else:
                extra[key] = value
        return cls(**columns, confidential=confidential, extra=extra or None)


async def file_ticket(records: TicketRecords, kind: str, fields: Mapping[str, object], *, call_id: str,
                      client_id: str, personal: Personal = ()) -> str:
    """File a dialog's ``CreateTicket`` fields; returns the ticket's 10 digits. ``personal``:
    the call's personal values, hidden in the masked copies wherever a field holds one."""
    d = TicketDraft.from_fields(fields)
    return await records.create(
        kind, category=d.category, location=d.location, description=d.description,
        reporter_name=d.reporter_name, reporter_nik=d.reporter_nik, reporter_phone=d.reporter_phone,
        confidential=d.confidential, call_id=call_id, extra=d.extra, client_id=client_id, personal=personal)


class TicketDesk:
    """Files and looks up the tickets of one call."""

    def __init__(self, records: TicketRecords, call_id: str, tz: ZoneInfo, emit: Emit,
                 journal: CallJournal | None = None) -> None:
        self.records = records
        self.call_id = call_id
        self.tz = tz
        self._emit = emit
        #: the live calls' journal: a ticket asked for is there before the store is asked
        self.journal = journal
        self._asked = 0
        #: machine keys (10 digits) of the tickets filed in this call, in order
        self.filed: list[str] = []
        #: a caller waits at most this long for a ticket lookup (then: status unknown)
        self.lookup_deadline_s = 2.0

    @property
    def last(self) -> str | None:
        return self.filed[-1] if self.filed else None

    async def create(self, action: CreateTicket, personal: Personal = ()) -> TicketCreated:
        """File ``action``; ``personal``: the call's personal values, hidden in every masked
        copy (journal, ticket) wherever the script's fields copied one."""
        self._asked += 1
        # the same client id for a retry after a crash (the store files it once)
        client_id = f"{self.call_id}-t{self._asked}"
        if self.journal is not None:
            self.journal.ticket(self.call_id, client_id, action.kind, dict(action.fields), personal=personal)
        ticket_id = await file_ticket(self.records, action.kind, action.fields, call_id=self.call_id,
                                      client_id=client_id, personal=personal)
        if self.journal is not None:
            self.journal.filed(self.call_id, client_id, ticket_id)
        self.filed.append(ticket_id)  # the machine key (10 digits)
        written = format_ticket_id(ticket_id)  # what people read and hear: 2611-00042-7
        log.info("ticket created", extra={"ticket": written, "kind": action.kind})
        self._emit("ticket", ticket_id=ticket_id, display_id=written, kind=action.kind)
        return TicketCreated(written)

    async def lookup(self, action: LookupTicket) -> TicketStatus:
        status = updated = None
        try:
            ticket = await self.records.get(action.ticket_id, deadline_s=self.lookup_deadline_s)
            if ticket is not None:
                status = ticket.status
                updated = ticket.updated_at.astimezone(self.tz).strftime("%d-%m-%Y")
        except Exception:
            log.exception("ticket lookup failed")
        self._emit("ticket_status", ticket_id=action.ticket_id, status=status)
        # read back as people write it (ten digits in their groups, found or not)
        return TicketStatus(format_ticket_id(action.ticket_id), status, updated)
