"""Hand-offs to agents: the transfer requested, what AMI later says of it (connected,
abandoned, talk time), and the context saved for the agent's screen."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.config.clock import Clock
from ivr.privacy.masking import Personal
from ivr.privacy.pii import Pii
from ivr.storage.database import Database
from ivr.storage.errors import StoreError
from ivr.storage.models import CallRow, HandoffContextRow, HandoffRow
from ivr.storage.views import HANDOFF_OUTCOMES, Handoff
from ivr.storage.writes import Args, WritePath, aware


class HandoffRepository:
    def __init__(self, db: Database, writes: WritePath, pii: Pii, clock: Clock) -> None:
        self.db = db
        self.writes = writes
        self.pii = pii
        self.clock = clock
        writes.register("insert_handoff", _insert_handoff)
        writes.register("update_handoff", _update_handoff)
        writes.register("upsert_context", _upsert_context)

    async def record(self, call_id: str, queue: str, *, reason: str | None = None,
                     requested_at: datetime | None = None, handoff_id: str | None = None,
                     outcome: str = "pending") -> str:
        """A transfer to ``queue`` was requested; returns the hand-off id."""
        if outcome not in HANDOFF_OUTCOMES:
            raise StoreError(f"outcome must be one of {HANDOFF_OUTCOMES}")
        hid = handoff_id or str(uuid.uuid4())
        await self.writes.write("insert_handoff", dict(
            id=hid, call_id=call_id, queue=queue, reason=reason,
            requested_at=aware(requested_at) or self.clock(), outcome=outcome,
        ))
        return hid

    async def update(self, handoff_id: str, *, outcome: str, agent: str | None = None,
                     connected_at: datetime | None = None, ended_at: datetime | None = None,
                     hold_s: int | None = None, talk_s: int | None = None, ended_by: str | None = None) -> None:
        """Outcome from AMI: connected (with agent/connected_at), abandoned, no_agents,
        closed_hours, failed; times waited and talked, and who ended it, when AMI says."""
        if outcome not in HANDOFF_OUTCOMES:
            raise StoreError(f"outcome must be one of {HANDOFF_OUTCOMES}")
        values: Args = dict(id=handoff_id, outcome=outcome)
        for key, value in (("agent", agent), ("hold_s", hold_s), ("talk_s", talk_s), ("ended_by", ended_by)):
            if value is not None:
                values[key] = value
        if connected_at is not None:
            values["connected_at"] = aware(connected_at)
        elif outcome == "connected" and ended_at is None:
            values["connected_at"] = self.clock()  # the connection itself (not its end)
        if ended_at is not None:
            values["ended_at"] = aware(ended_at)
        await self.writes.write("update_handoff", values)

    async def of_call(self, call_id: str) -> list[Handoff]:
        """The call's hand-offs, oldest first."""
        def _get() -> list[Handoff]:
            with self.db.session() as s:
                rows = s.scalars(select(HandoffRow).where(HandoffRow.call_id == call_id)
                                 .order_by(HandoffRow.requested_at))
                return [handoff_view(h) for h in rows]
        return await self.db.read(_get)

    async def save_context(self, call_id: str, context: dict[str, object], personal: Personal = ()) -> None:
        """Keep what the agent needs (transcript, intent, slots, ticket, caller number).
        Stored masked (plus encrypted in encrypt mode); replaces an earlier context.
        ``personal``: the call's personal values, hidden in the masked copy wherever a script
        copied them (a summary variable, a ticket field named otherwise)."""
        masked, enc = self.pii.protect_json(context, personal)
        await self.writes.write("upsert_context", dict(call_id=call_id, saved_at=self.clock(), context=masked,
                                                       context_enc=enc))

    async def context(self, call_id: str, *, reveal: bool = False) -> dict[str, object] | None:
        def _get() -> dict[str, object] | None:
            with self.db.session() as s:
                row = s.get(HandoffContextRow, call_id)
                if row is None:
                    return None
                return self.pii.reveal_json(row.context, row.context_enc, reveal)
        return await self.db.read(_get)


def handoff_view(h: HandoffRow) -> Handoff:
    return Handoff(id=h.id, call_id=h.call_id, queue=h.queue, reason=h.reason,
                   requested_at=h.requested_at, agent=h.agent, connected_at=h.connected_at,
                   ended_at=h.ended_at, outcome=h.outcome, hold_s=h.hold_s, talk_s=h.talk_s,
                   ended_by=h.ended_by)


# -- idempotent operations (also replayed from the journal)

def _insert_handoff(s: Session, row: Args) -> None:
    if s.get(HandoffRow, row["id"]) is None:
        s.add(HandoffRow(**row))
    s.execute(update(CallRow).where(CallRow.id == row["call_id"]).values(handoff_outcome=row["outcome"]))


def _update_handoff(s: Session, values: Args) -> None:
    values = dict(values)
    handoff_id = values.pop("id")
    h = s.get(HandoffRow, handoff_id)
    if h is None:
        raise StoreError(f"unknown hand-off {handoff_id}")
    for k, v in values.items():
        setattr(h, k, v)
    if "outcome" in values:
        s.execute(update(CallRow).where(CallRow.id == h.call_id).values(handoff_outcome=values["outcome"]))


def _upsert_context(s: Session, args: Args) -> None:
    row = s.get(HandoffContextRow, args["call_id"])
    if row is None:
        s.add(HandoffContextRow(**args))
    else:
        row.saved_at, row.context, row.context_enc = args["saved_at"], args["context"], args["context_enc"]
