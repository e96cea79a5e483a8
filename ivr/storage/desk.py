"""The desk's records (issue 13): which staff account answers on which phone, how agents finished
handed-over calls, who owns a ticket and by when (SLA, escalation), dialable callback numbers
(always encrypted, with the key kept outside the database) and the attempts to call back, and
the day's figures for the wallboard.

Writes go through the store's :class:`~ivr.storage.writes.WritePath` (journaled while the
database is down) as the other repositories' do.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from ivr.config.clock import Clock
from ivr.privacy.pii import Pii, PiiError
from ivr.storage.database import Database
from ivr.storage.errors import StoreError
from ivr.storage.models import (
    CallbackAttemptRow,
    CallRow,
    DeskAgentRow,
    DeskDispositionRow,
    HandoffRow,
    TicketAssignmentRow,
    TicketEventRow,
    TicketRow,
)
from ivr.storage.writes import Args, WritePath, aware

__all__ = ["DeskRepository", "DeskAgent", "TicketWork", "CallbackItem", "CallbackAttempt", "DayFigures", "HistoryItem",
           "DISPOSITIONS", "ATTEMPT_OUTCOMES"]

DISPOSITIONS = ("answered", "ticket_filed", "callback_promised", "transferred", "dropped")
ATTEMPT_OUTCOMES = ("dialling", "answered", "no_answer", "busy", "failed", "invalid", "closed_hours")


@dataclass(frozen=True)
class DeskAgent:
    username: str
    interface: str
    extension: str
    display_name: str | None
    #: the queues the agent logs in to; empty: the configured ``agent_queues``
    queues: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallbackItem:
    public_id: str
    status: str
    phone_masked: str | None
    dialable: bool
    promised_at: datetime | None
    sla_due_at: datetime | None
    owner: str | None
    attempts: int
    last_outcome: str | None
    call_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class CallbackAttempt:
    id: str
    public_id: str
    agent: str
    at: datetime
    outcome: str
    reason: str | None


@dataclass(frozen=True)
class TicketWork:
    """Who works a ticket and by when: the owner, the agency's assignment queue and the SLA
    deadline (the assignment's, else the end of the ticket's SLA due day)."""
    public_id: str
    owner: str | None
    assign_queue: str | None
    deadline: datetime
    escalated: bool


@dataclass(frozen=True)
class HistoryItem:
    """An earlier call or ticket of a caller, as codes (the desk puts them in words)."""
    kind: str            # call | ticket
    id: str              # the call's id, the ticket's public id
    at: datetime         # the call's start, the ticket's filing
    #: a call's service, end reason and hand-off outcome
    service: str | None = None
    end_reason: str | None = None
    handoff_outcome: str | None = None
    #: a ticket's kind (complaint | callback), category and status
    ticket_kind: str | None = None
    category: str | None = None
    status: str | None = None
    #: a ticket's extra fields, masked copy (the marks of one filed unfinished at a hang-up)
    extra: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class DayFigures:
    calls: int
    self_service: int
    transfers: int
    answered: int
    abandoned: int
    avg_wait_s: float | None
    longest_wait_s: int | None
    answered_within_20s: int
    complaints_filed: int
    overdue: int

    @property
    def self_service_rate(self) -> float | None:
        return round(self.self_service / self.calls, 3) if self.calls else None


class DeskRepository:
    def __init__(self, db: Database, writes: WritePath, pii: Pii, clock: Clock) -> None:
        self.db = db
        self.writes = writes
        self.pii = pii
        self.clock = clock
        writes.register("desk_agent", _upsert_agent)
        writes.register("desk_agent_remove", _remove_agent)
        writes.register("desk_disposition", _insert_disposition)
        writes.register("desk_assignment", _upsert_assignment)
        writes.register("desk_ticket_fields", _ticket_fields)
        writes.register("callback_attempt", _upsert_attempt)

    # ------------------------------------------------------------------ agents and phones
    async def map_agent(self, username: str, extension: str, *, display_name: str | None = None,
                        interface: str | None = None, queues: Iterable[str] = ()) -> DeskAgent:
        """Say which phone ``username`` answers on: queue member interface ``PJSIP/<extension>``
        unless given (``<TECH>/<resource>``), and the queues it logs in to (none given: the
        configured ones)."""
        ext = extension.strip()
        if not username or not ext or not ext.replace("-", "").replace("_", "").isalnum():
            raise StoreError("an agent needs a username and an extension of letters/digits")
        iface = (interface or "").strip() or f"PJSIP/{ext}"
        tech, _, resource = iface.partition("/")
        if not tech.isalnum() or not resource or any(c.isspace() or c in ",|&" for c in resource) or len(iface) > 128:
            raise StoreError("an interface looks like PJSIP/2001")
        qs = tuple(dict.fromkeys(q.strip() for q in queues if q.strip()))
        if any(not q.replace("-", "").replace("_", "").isalnum() for q in qs) or len(",".join(qs)) > 512:
            raise StoreError("queue names are letters, digits, - and _")
        await self.writes.write("desk_agent", dict(username=username, interface=iface, extension=ext,
                                                   display_name=display_name, created_at=self.clock(),
                                                   queues=",".join(qs) or None))
        return DeskAgent(username, iface, ext, display_name, qs)

    async def unmap_agent(self, username: str) -> bool:
        """Forget ``username``'s phone. False if they had none."""
        if await self.agent(username) is None:
            return False
        await self.writes.write("desk_agent_remove", dict(username=username))
        return True

    async def agents(self) -> list[DeskAgent]:
        def _get() -> list[DeskAgent]:
            with self.db.session() as s:
                return [_agent(r) for r in s.scalars(select(DeskAgentRow).order_by(DeskAgentRow.username))]
        return await self.db.read(_get)

    async def agent(self, username: str) -> DeskAgent | None:
        def _get() -> DeskAgent | None:
            with self.db.session() as s:
                r = s.get(DeskAgentRow, username)
                return _agent(r) if r is not None else None
        return await self.db.read(_get)

    async def agent_for_member(self, interface: str | None, member_name: str | None) -> DeskAgent | None:
        """The staff account behind a queue member: by interface first, then by member name
        (the contract: member name = staff username)."""
        def _get() -> DeskAgent | None:
            with self.db.session() as s:
                if interface:
                    r = s.scalar(select(DeskAgentRow).where(DeskAgentRow.interface == interface))
                    if r is not None:
                        return _agent(r)
                if member_name:
                    r = s.get(DeskAgentRow, member_name)
                    if r is not None:
                        return _agent(r)
                return None
        return await self.db.read(_get)

    # ------------------------------------------------------------------ dispositions
    async def dispose(self, call_id: str, agent: str, disposition: str, *, ticket_id: str | None = None,
                      note: str | None = None) -> None:
        if disposition not in DISPOSITIONS:
            raise StoreError(f"disposition must be one of {DISPOSITIONS}")
        await self.writes.write("desk_disposition", dict(
            call_id=call_id, agent=agent, disposition=disposition, ticket_id=ticket_id,
            note=self.pii.protect(note, "text").masked, at=self.clock()))

    async def dispositions(self, call_id: str) -> list[tuple[str, str, datetime]]:
        """(agent, disposition, at) of a call, oldest first."""
        def _get() -> list[tuple[str, str, datetime]]:
            with self.db.session() as s:
                q = select(DeskDispositionRow).where(DeskDispositionRow.call_id == call_id).order_by(
                    DeskDispositionRow.id)
                return [(r.agent, r.disposition, r.at) for r in s.scalars(q)]
        return await self.db.read(_get)

    # ------------------------------------------------------------------ tickets: fields, owner, SLA
    async def update_ticket(self, public_id: str, *, actor: str, category: str | None = None,
                            agency: str | None = None, location: str | None = None,
                            description: str | None = None, note: str | None = None) -> None:
        """Change a ticket's fields from the desk (personal data in free text masked, encrypted
        as the store's mode says); the change is written in the ticket's history."""
        values: Args = dict(public_id=public_id, at=self.clock(), actor=actor, event_id=str(uuid.uuid4()),
                            note=self.pii.protect(note, "text").masked)
        if category is not None:
            values["category"] = category
        if agency is not None:
            values["agency"] = agency
        if location is not None:
            p = self.pii.protect(location, "text")
            values["location"], values["location_enc"] = p.masked, p.enc
        if description is not None:
            p = self.pii.protect(description, "text")
            values["description"], values["description_enc"] = p.masked, p.enc
        await self.writes.write("desk_ticket_fields", values)

    async def assign(self, public_id: str, *, assign_queue: str | None = None, owner: str | None = None,
                     sla_due_at: datetime | None = None) -> None:
        values: Args = dict(public_id=public_id, updated_at=self.clock())
        if assign_queue is not None:
            values["assign_queue"] = assign_queue
        if owner is not None:
            values["owner"] = owner
        if sla_due_at is not None:
            values["sla_due_at"] = aware(sla_due_at)
        await self.writes.write("desk_assignment", values)

    async def assignment(self, public_id: str) -> dict[str, object] | None:
        def _get() -> dict[str, object] | None:
            with self.db.session() as s:
                t = s.scalar(select(TicketRow).where(TicketRow.public_id == public_id))
                if t is None:
                    return None
                a = s.get(TicketAssignmentRow, t.id)
                if a is None:
                    return {"owner": None, "assign_queue": None, "sla_due_at": None, "escalated_at": None}
                return {"owner": a.owner, "assign_queue": a.assign_queue, "sla_due_at": a.sla_due_at,
                        "escalated_at": a.escalated_at}
        return await self.db.read(_get)

    async def escalate_overdue(self, now: datetime | None = None) -> list[str]:
        """Mark open tickets past their SLA deadline as escalated (once); returns their numbers."""
        at = aware(now) or self.clock()

        def _run() -> list[str]:
            out = []
            with self.db.session() as s, s.begin():
                q = (select(TicketRow, TicketAssignmentRow)
                     .join(TicketAssignmentRow, TicketAssignmentRow.ticket_id == TicketRow.id)
                     .where(TicketAssignmentRow.sla_due_at < at, TicketAssignmentRow.escalated_at.is_(None),
                            TicketRow.status.in_(("open", "in_progress"))))
                for t, a in s.execute(q).all():
                    a.escalated_at = at
                    s.add(TicketEventRow(event_id=str(uuid.uuid4()), ticket_id=t.id, at=at, from_status=t.status,
                                         to_status=t.status, note="melewati batas waktu: diteruskan ke supervisor",
                                         actor="ivr"))
                    out.append(t.public_id)
            return out
        return await self.db.run(_run)

    async def work(self, public_ids: Iterable[str], tz: tzinfo) -> dict[str, TicketWork]:
        """Owner, assignment queue and SLA deadline of these tickets, in one read (lists)."""
        ids = list(dict.fromkeys(public_ids))

        def _get() -> dict[str, TicketWork]:
            if not ids:
                return {}
            with self.db.session() as s:
                q = (select(TicketRow.public_id, TicketRow.sla_due, TicketAssignmentRow)
                     .outerjoin(TicketAssignmentRow, TicketAssignmentRow.ticket_id == TicketRow.id)
                     .where(TicketRow.public_id.in_(ids)))
                out = {}
                for pid, due, a in s.execute(q).all():
                    end = datetime.combine(due, time(23, 59, 59), tzinfo=tz)
                    out[pid] = TicketWork(pid, a.owner if a else None, a.assign_queue if a else None,
                                          (a.sla_due_at if a and a.sla_due_at else end),
                                          bool(a and a.escalated_at))
                return out
        return await self.db.read(_get)

    # ------------------------------------------------------------------ callbacks
    async def set_callback(self, public_id: str, number: str, *, promised_at: datetime | None = None,
                           sla_due_at: datetime | None = None) -> None:
        """Keep the dialable number of a callback request, encrypted (needs a key; see
        :mod:`ivr.privacy.keyfile`)."""
        values: Args = dict(public_id=public_id, updated_at=self.clock(),
                            callback_number_enc=self.pii.encrypt(number, "phone"),
                            callback_promised_at=aware(promised_at) or self.clock())
        if sla_due_at is not None:
            values["sla_due_at"] = aware(sla_due_at)
        await self.writes.write("desk_assignment", values)

    async def callback_number(self, public_id: str) -> str | None:
        """The number to dial (clear; only for the dialler, never for a page)."""
        def _get() -> str | None:
            with self.db.session() as s:
                t = s.scalar(select(TicketRow).where(TicketRow.public_id == public_id))
                if t is None:
                    return None
                a = s.get(TicketAssignmentRow, t.id)
                enc = a.callback_number_enc if a is not None and a.callback_number_enc else t.reporter_phone_enc
                if not enc:
                    return None
                try:
                    return self.pii.decrypt(enc, "phone")
                except PiiError:
                    return None
        return await self.db.read(_get)

    async def callbacks(self, *, include_closed: bool = False, limit: int = 200) -> list[CallbackItem]:
        """Callback requests, the soonest promised first, then the nearest SLA deadline."""
        def _get() -> list[CallbackItem]:
            with self.db.session() as s:
                q = (select(TicketRow, TicketAssignmentRow)
                     .outerjoin(TicketAssignmentRow, TicketAssignmentRow.ticket_id == TicketRow.id)
                     .where(TicketRow.kind == "callback"))
                if not include_closed:
                    q = q.where(TicketRow.status.in_(("open", "in_progress")))
                # the soonest promised first in SQL too: the limit keeps those, not any rows
                promised = func.coalesce(TicketAssignmentRow.callback_promised_at, TicketRow.created_at)
                q = q.order_by(promised, TicketAssignmentRow.sla_due_at.is_(None), TicketAssignmentRow.sla_due_at,
                               TicketRow.public_id)
                rows = s.execute(q.limit(limit)).all()
                attempts: dict[int, list[CallbackAttemptRow]] = {}
                ids = [t.id for t, _ in rows]
                if ids:
                    for at in s.scalars(select(CallbackAttemptRow).where(CallbackAttemptRow.ticket_id.in_(ids))
                                        .order_by(CallbackAttemptRow.at)):
                        attempts.setdefault(at.ticket_id, []).append(at)
                items = []
                for t, a in rows:
                    tried = attempts.get(t.id, [])
                    items.append(CallbackItem(
                        public_id=t.public_id, status=t.status, phone_masked=t.reporter_phone_masked,
                        dialable=bool((a is not None and a.callback_number_enc) or t.reporter_phone_enc),
                        promised_at=(a.callback_promised_at if a is not None else None) or t.created_at,
                        sla_due_at=a.sla_due_at if a is not None else None, owner=a.owner if a is not None else None,
                        attempts=len(tried), last_outcome=tried[-1].outcome if tried else None,
                        call_id=t.call_id, created_at=t.created_at))
                far = datetime.max.replace(tzinfo=items[0].created_at.tzinfo) if items else None
                items.sort(key=lambda i: (i.promised_at or far, i.sla_due_at or far, i.public_id))
                return items[:limit]
        return await self.db.read(_get)

    async def record_attempt(self, public_id: str, agent: str, outcome: str, *, reason: str | None = None,
                             attempt_id: str | None = None, ended: bool = False) -> str:
        if outcome not in ATTEMPT_OUTCOMES:
            raise StoreError(f"attempt outcome must be one of {ATTEMPT_OUTCOMES}")
        aid = attempt_id or str(uuid.uuid4())
        now = self.clock()
        await self.writes.write("callback_attempt", dict(id=aid, public_id=public_id, agent=agent, at=now,
                                                         outcome=outcome, reason=reason,
                                                         ended_at=now if ended else None))
        return aid

    async def attempts(self, public_id: str) -> list[CallbackAttempt]:
        def _get() -> list[CallbackAttempt]:
            with self.db.session() as s:
                q = (select(CallbackAttemptRow).join(TicketRow, TicketRow.id == CallbackAttemptRow.ticket_id)
                     .where(TicketRow.public_id == public_id).order_by(CallbackAttemptRow.at))
                return [CallbackAttempt(a.id, public_id, a.agent, a.at, a.outcome, a.reason) for a in s.scalars(q)]
        return await self.db.read(_get)

    async def close_callback(self, public_id: str) -> None:
        await self.writes.write("desk_assignment", dict(public_id=public_id, updated_at=self.clock(),
                                                        callback_closed_at=self.clock()))

    # ------------------------------------------------------------------ history by keyed hash
    async def history(self, caller_hash: str | None, *, exclude_call: str | None = None,
                      limit: int = 10) -> list[HistoryItem]:
        """Earlier calls and tickets of the same number (by keyed hash), newest first, at most
        ``limit``. A ticket is the caller's when its reporter's number has that hash or when it
        was filed in one of their calls (``tickets.call_id``): a complaint filed unfinished
        when the caller hung up before giving a number has no reporter number. A confidential
        ticket (filed without a name) is never listed. Each ticket once;
        ``exclude_call`` (the call on the desk) and its tickets (the pop lists them apart) are
        left out. Two queries, whatever the number of calls."""
        if not caller_hash:
            return []

        def _get() -> list[HistoryItem]:
            with self.db.session() as s:
                out: list[HistoryItem] = []
                q = (select(CallRow.id, CallRow.started_at, CallRow.service, CallRow.end_reason,
                            CallRow.handoff_outcome)
                     .where(CallRow.caller_hash == caller_hash)
                     .order_by(CallRow.started_at.desc(), CallRow.id.desc()).limit(limit + 1))
                for cid, started, service, end_reason, outcome in s.execute(q).all():
                    if cid != exclude_call:
                        out.append(HistoryItem("call", cid, started, service=service, end_reason=end_reason,
                                               handoff_outcome=outcome))
                theirs = or_(TicketRow.reporter_phone_hash == caller_hash,
                             TicketRow.call_id.in_(select(CallRow.id).where(CallRow.caller_hash == caller_hash)))
                # a complaint filed without a name (confidential: the script promised it) is never
                # tied back to the number it was made from
                open_to_see = or_(TicketRow.confidential.is_(None), TicketRow.confidential.is_(False))
                tq = select(TicketRow.public_id, TicketRow.created_at, TicketRow.kind, TicketRow.category,
                            TicketRow.status, TicketRow.extra).where(theirs, open_to_see)
                if exclude_call is not None:
                    # (a ticket filed in no call has a NULL call_id: "!=" alone would drop it)
                    tq = tq.where(or_(TicketRow.call_id.is_(None), TicketRow.call_id != exclude_call))
                tq = tq.order_by(TicketRow.created_at.desc(), TicketRow.id.desc()).limit(limit)
                for public_id, created, kind, category, status, extra in s.execute(tq).all():
                    out.append(HistoryItem("ticket", public_id, created, ticket_kind=kind, category=category,
                                           status=status, extra=extra if isinstance(extra, dict) else None))
                out.sort(key=lambda h: h.at, reverse=True)
                return out[:limit]
        return await self.db.read(_get)

    async def caller_hash(self, call_id: str) -> str | None:
        def _get() -> str | None:
            with self.db.session() as s:
                c = s.get(CallRow, call_id)
                return c.caller_hash if c is not None else None
        return await self.db.read(_get)

    async def call_for_channel(self, uniqueid: str) -> str | None:
        """The hotline call whose AGI channel had this ``Uniqueid`` (or ``Linkedid``)."""
        def _get() -> str | None:
            with self.db.session() as s:
                return s.scalar(select(CallRow.id).where(CallRow.channel_id == uniqueid)
                                .order_by(CallRow.started_at.desc()).limit(1))
        return await self.db.read(_get)

    async def agent_day(self, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
        """Per agent (member name): calls answered and seconds talked, hand-offs requested in [start, end)."""
        def _get() -> dict[str, tuple[int, int]]:
            with self.db.session() as s:
                q = (select(HandoffRow.agent, func.count(HandoffRow.id), func.coalesce(func.sum(HandoffRow.talk_s), 0))
                     .where(HandoffRow.requested_at >= start, HandoffRow.requested_at < end,
                            HandoffRow.outcome == "connected", HandoffRow.agent.is_not(None))
                     .group_by(HandoffRow.agent))
                return {str(a): (int(n or 0), int(t or 0)) for a, n, t in s.execute(q).all()}
        return await self.db.read(_get)

    # ------------------------------------------------------------------ the day's figures
    async def figures(self, start: datetime, end: datetime, *, now: datetime | None = None) -> DayFigures:
        """Figures of calls started in [start, end): see docs/desk.md for each definition."""
        at = aware(now) or self.clock()

        def _get() -> DayFigures:
            with self.db.session() as s:
                in_day = (CallRow.started_at >= start, CallRow.started_at < end)
                calls = int(s.scalar(select(func.count(CallRow.id)).where(*in_day)) or 0)
                with_handoff = select(HandoffRow.call_id).where(HandoffRow.requested_at >= start,
                                                                HandoffRow.requested_at < end)
                self_service = int(s.scalar(select(func.count(CallRow.id)).where(
                    *in_day, CallRow.ended_at.is_not(None), CallRow.id.not_in(with_handoff))) or 0)
                # one aggregate row, not the day's hand-offs as objects (this runs every few
                # seconds in the hotline's process: no Python work per hand-off)
                waited = and_(HandoffRow.hold_s.is_not(None), HandoffRow.outcome.in_(("connected", "abandoned")))
                row = s.execute(select(
                    func.sum(case((HandoffRow.outcome.in_(("pending", "connected", "abandoned")), 1), else_=0)),
                    func.sum(case((HandoffRow.outcome == "connected", 1), else_=0)),
                    func.sum(case((HandoffRow.outcome == "abandoned", 1), else_=0)),
                    func.sum(case((waited, HandoffRow.hold_s), else_=0)),
                    func.sum(case((waited, 1), else_=0)),
                    func.max(case((waited, HandoffRow.hold_s), else_=None)),
                    func.sum(case((and_(HandoffRow.outcome == "connected", HandoffRow.hold_s <= 20), 1), else_=0)),
                ).where(HandoffRow.requested_at >= start, HandoffRow.requested_at < end)).one()
                transfers, answered, abandoned, wait_sum, waits, longest, within_20 = (
                    int(v) if v is not None else None for v in row)
                complaints = int(s.scalar(select(func.count(TicketRow.id)).where(
                    TicketRow.kind == "complaint", TicketRow.created_at >= start, TicketRow.created_at < end)) or 0)
                open_states = ("open", "in_progress")
                overdue_date = int(s.scalar(select(func.count(TicketRow.id)).where(
                    TicketRow.status.in_(open_states), TicketRow.sla_due < start.date(),
                    TicketRow.id.not_in(select(TicketAssignmentRow.ticket_id).where(
                        TicketAssignmentRow.sla_due_at.is_not(None))))) or 0)
                overdue_at = int(s.scalar(select(func.count(TicketRow.id))
                                          .join(TicketAssignmentRow, TicketAssignmentRow.ticket_id == TicketRow.id)
                                          .where(TicketRow.status.in_(open_states),
                                                 TicketAssignmentRow.sla_due_at < at)) or 0)
                return DayFigures(
                    calls=calls, self_service=self_service, transfers=transfers or 0, answered=answered or 0,
                    abandoned=abandoned or 0, avg_wait_s=round((wait_sum or 0) / waits, 1) if waits else None,
                    longest_wait_s=longest if waits else None, answered_within_20s=within_20 or 0,
                    complaints_filed=complaints, overdue=overdue_date + overdue_at)
        return await self.db.read(_get)


def sla_deadline(created: datetime, hours: int) -> datetime:
    """A countdown deadline ``hours`` after ``created``."""
    return created + timedelta(hours=hours)


def _agent(r: DeskAgentRow) -> DeskAgent:
    return DeskAgent(r.username, r.interface, r.extension, r.display_name,
                     tuple(q for q in (r.queues or "").split(",") if q))


# -- idempotent operations (also replayed from the journal)

def _upsert_agent(s: Session, row: Args) -> None:
    other = s.scalar(select(DeskAgentRow).where(DeskAgentRow.interface == row["interface"],
                                                DeskAgentRow.username != row["username"]))
    if other is not None:
        s.delete(other)
        s.flush()
    r = s.get(DeskAgentRow, row["username"])
    if r is None:
        s.add(DeskAgentRow(**row))
    else:
        r.interface, r.extension, r.display_name = row["interface"], row["extension"], row["display_name"]
        r.queues = row.get("queues")


def _remove_agent(s: Session, row: Args) -> None:
    r = s.get(DeskAgentRow, row["username"])
    if r is not None:
        s.delete(r)


def _insert_disposition(s: Session, row: Args) -> None:
    if s.get(CallRow, row["call_id"]) is None:
        raise StoreError(f"unknown call {row['call_id']}")
    s.add(DeskDispositionRow(**row))


def _ticket_row(s: Session, public_id: str) -> TicketRow:
    t = s.scalar(select(TicketRow).where(TicketRow.public_id == public_id))
    if t is None:
        raise StoreError(f"unknown ticket {public_id}")
    return t


def _upsert_assignment(s: Session, args: Args) -> None:
    values = dict(args)
    t = _ticket_row(s, values.pop("public_id"))
    a = s.get(TicketAssignmentRow, t.id)
    if a is None:
        a = TicketAssignmentRow(ticket_id=t.id, updated_at=values["updated_at"])
        s.add(a)
    for k, v in values.items():
        setattr(a, k, v)


def _ticket_fields(s: Session, args: Args) -> None:
    values = dict(args)
    if s.scalar(select(TicketEventRow.id).where(TicketEventRow.event_id == values["event_id"])) is not None:
        return
    t = _ticket_row(s, values.pop("public_id"))
    at, actor, event_id, note = values.pop("at"), values.pop("actor"), values.pop("event_id"), values.pop("note")
    changed = sorted(k for k in values if not k.endswith("_enc"))
    for k, v in values.items():
        setattr(t, k, v)
    t.updated_at = at
    text = "diubah: " + ", ".join(changed) if changed else ""
    if note:
        text = f"{text}; {note}" if text else note
    s.add(TicketEventRow(event_id=event_id, ticket_id=t.id, at=at, from_status=t.status, to_status=t.status,
                         note=text or None, actor=actor))


def _upsert_attempt(s: Session, args: Args) -> None:
    values = dict(args)
    t = _ticket_row(s, values.pop("public_id"))
    a = s.get(CallbackAttemptRow, values["id"])
    if a is None:
        s.add(CallbackAttemptRow(ticket_id=t.id, **values))
    else:
        a.outcome, a.reason = values["outcome"], values["reason"]
        if values.get("ended_at") is not None:
            a.ended_at = values["ended_at"]
