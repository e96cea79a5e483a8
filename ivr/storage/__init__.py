"""Storage for the hotline: SQLAlchemy 2 models, packaged Alembic migrations and the async
:class:`Store` (one repository per aggregate over one write path with an offline journal),
used by the call runtime, the web app and the CLI. API: docs/contracts.md."""

from ivr.storage.accounts import ROLES, Account, AccountError, ApiToken, WebSession
from ivr.storage.errors import StoreError, StoreUnavailable
from ivr.storage.store import Store
from ivr.storage.ticket_ids import format_ticket_id, make_ticket_id, parse_ticket_id
from ivr.storage.views import (
    HANDOFF_OUTCOMES,
    TICKET_KINDS,
    TICKET_STATUSES,
    TURN_OUTCOMES,
    AuditEntry,
    Call,
    Handoff,
    PurgeResult,
    Ticket,
    TicketEvent,
    Turn,
)

__all__ = [
    "Store", "StoreError", "StoreUnavailable", "Call", "Turn", "Ticket", "TicketEvent", "Handoff",
    "AuditEntry", "PurgeResult", "TICKET_KINDS", "TICKET_STATUSES", "HANDOFF_OUTCOMES",
    "TURN_OUTCOMES", "ROLES", "Account", "AccountError", "ApiToken", "WebSession",
    "format_ticket_id", "make_ticket_id", "parse_ticket_id",
]
