"""Tickets: complaints and callback requests, their public numbers, statuses, history and SLA.

Numbers are allocated per month by the database (serials 00001-89999, a counter row per
period); a ticket filed while the database is down is journaled with a number from the
offline range (90000-99999, :mod:`ivr.storage.ticket_ids`), so the caller still hears it, and
can be read back from the journal until it is replayed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dialogs.lang import nik_district
from ivr.config.calendar import working_days_after
from ivr.config.clock import Clock
from ivr.privacy.masking import Personal
from ivr.privacy.pii import Pii, Protected
from ivr.storage.database import Database
from ivr.storage.errors import StoreError, StoreUnavailable
from ivr.storage.models import CallRow, TicketAssignmentRow, TicketCounterRow, TicketEventRow, TicketRow
from ivr.storage.outbox import Outbox
from ivr.storage.ticket_ids import (
    OFFLINE_SERIAL_START,
    format_ticket_id,
    make_ticket_id,
    offline_range,
    parse_ticket_id,
    period_of,
)
from ivr.storage.views import TICKET_KINDS, TICKET_STATUSES, TICKET_TRANSITIONS, Ticket, TicketEvent
from ivr.storage.writes import Args, WritePath, aware

log = logging.getLogger(__name__)

MAX_DB_SERIAL = OFFLINE_SERIAL_START - 1
#: ``extra.incomplete`` read as text, meaning the ticket was filed unfinished (a hang-up)
INCOMPLETE_TRUE = ("true", "1", "ya", "yes")


class TicketRepository:
    def __init__(self, db: Database, writes: WritePath, pii: Pii, clock: Clock, *, tz: ZoneInfo,
                 holidays: Iterable[date] = (), sla_working_days: int = 14, node_id: int = 0) -> None:
        self.db = db
        #: which block of the offline ticket numbers this host gives out (IVR_NODE_ID)
        self.node_id = node_id
        offline_range(node_id)  # validates it
        self.writes = writes
        self.outbox = writes.outbox
        self.pii = pii
        self.clock = clock
        self.tz = tz
        self.holidays = frozenset(holidays)
        self.sla_working_days = sla_working_days
        writes.register("insert_ticket", self._insert, before_journal=self._offline_number, result_key="public_id")
        writes.register("ticket_status", _ticket_status)

    def sla_due(self, created_at: datetime) -> date:
        local = created_at.astimezone(self.tz).date()
        return working_days_after(local, self.sla_working_days, self.holidays)

    async def create(
        self,
        kind: str,
        *,
        category: str | None = None,
        location: str | None = None,
        description: str | None = None,
        reporter_name: str | None = None,
        reporter_nik: str | None = None,
        reporter_phone: str | None = None,
        confidential: bool = False,
        call_id: str | None = None,
        extra: dict[str, object] | None = None,
        client_id: str | None = None,
        created_at: datetime | None = None,
        agency: str | None = None,
        area_code: str | None = None,
        personal: Personal = (),
    ) -> str:
        """File a complaint or callback request; returns the 10-digit public ticket id.
        ``area_code``: the Kemendagri code of where it happened; without one, the district the
        reporter's NIK was issued in (for the analytics; the NIK itself stays protected).

        Never loses the ticket: with the database down it is journaled and numbered from the
        offline range. Idempotent by ``client_id`` (a retry returns the same number).
        ``personal``: the call's personal values (:mod:`ivr.privacy.call_values`), hidden in
        the masked copies of the location, the description and the extra fields wherever a
        script copied them there (``keterangan: "Alamat {alamat_rumah}"``)."""
        if kind not in TICKET_KINDS:
            raise StoreError(f"ticket kind must be one of {TICKET_KINDS}, not {kind!r}")
        created = aware(created_at) or self.clock()
        name = self.pii.protect(reporter_name, "name")
        nik = self.pii.protect(reporter_nik, "nik")
        phone = self.pii.protect(reporter_phone, "phone")
        if kind == "callback" and reporter_phone and phone.enc is None and self.pii.can_encrypt:
            # a callback number must stay dialable: encrypted whatever the mode (issue 13)
            phone = Protected(phone.masked, self.pii.encrypt(str(reporter_phone), "phone"), phone.hash)
        # the field a hang-up cut short (``extra.cut_by_hangup``, dialogs' unfinished complaint):
        # its masked form loses every long number (a NIK or phone number partly said)
        cut = (extra or {}).get("cut_by_hangup")
        desc = self.pii.protect(description, "text", cut=cut == "description", personal=personal)
        loc = self.pii.protect(location, "text", cut=cut == "location", personal=personal)
        extra_masked, extra_enc = self.pii.protect_json(extra, personal) if extra else (None, None)
        row = dict(
            public_id=None, client_id=client_id or str(uuid.uuid4()), kind=kind, status="open",
            category=category, location=loc.masked, location_enc=loc.enc,
            description=desc.masked, description_enc=desc.enc,
            reporter_name_masked=name.masked, reporter_name_enc=name.enc,
            reporter_nik_masked=nik.masked, reporter_nik_enc=nik.enc, reporter_nik_hash=nik.hash,
            reporter_phone_masked=phone.masked, reporter_phone_enc=phone.enc, reporter_phone_hash=phone.hash,
            confidential=bool(confidential), extra=extra_masked, extra_enc=extra_enc, call_id=call_id,
            agency=agency, area_code=area_code or (nik_district(reporter_nik) if reporter_nik else None),
            created_at=created, updated_at=created, sla_due=self.sla_due(created),
            history=[dict(event_id=str(uuid.uuid4()), at=created, from_status=None, to_status="open",
                          note="filed by phone" if call_id else "filed", actor="ivr")],
        )
        public_id = await self.writes.write("insert_ticket", row)
        assert isinstance(public_id, str)
        log.info("ticket filed", extra={"ticket": format_ticket_id(public_id), "kind": kind, "category": category})
        return public_id

    async def get(self, public_id: str, *, reveal: bool = False, deadline_s: float | None = None) -> Ticket | None:
        """The ticket with that number (dashes/spaces allowed), or None if unknown or the
        check digit is wrong. Falls back to the local journal when the database is down (or
        does not answer within ``deadline_s``, default the store's read deadline)."""
        pid = parse_ticket_id(public_id)
        if pid is None:
            return None
        try:
            return await self.db.read_within(deadline_s, self._get, pid, reveal)
        except StoreUnavailable:
            if self.outbox is not None:
                # not on the database's threads: they may all be stuck on a hung database
                row = await asyncio.to_thread(self.outbox.find, "insert_ticket", lambda a: a.get("public_id") == pid)
                if row is not None:
                    return self._from_journal(row, reveal)
            raise

    def _get(self, pid: str, reveal: bool) -> Ticket | None:
        with self.db.session() as s:
            t = s.scalar(select(TicketRow).where(TicketRow.public_id == pid))
            if t is None:
                found = None
                if self.outbox is not None and self.outbox.pending():
                    found = self.outbox.find("insert_ticket", lambda a: a.get("public_id") == pid)
                return self._from_journal(found, reveal) if found else None
            return self._view(t, reveal)

    def _view(self, t: TicketRow, reveal: bool) -> Ticket:
        pii = self.pii
        return Ticket(
            public_id=t.public_id, display_id=format_ticket_id(t.public_id), kind=t.kind, status=t.status,
            category=t.category,
            location=pii.reveal(t.location, t.location_enc, "text", reveal),
            description=pii.reveal(t.description, t.description_enc, "text", reveal),
            reporter_name=pii.reveal(t.reporter_name_masked, t.reporter_name_enc, "name", reveal),
            reporter_nik=pii.reveal(t.reporter_nik_masked, t.reporter_nik_enc, "nik", reveal),
            reporter_phone=pii.reveal(t.reporter_phone_masked, t.reporter_phone_enc, "phone", reveal),
            confidential=t.confidential,
            extra=pii.reveal_json(t.extra, t.extra_enc, reveal),
            call_id=t.call_id, created_at=t.created_at, updated_at=t.updated_at, sla_due=t.sla_due,
            history=tuple(TicketEvent(e.at, e.from_status, e.to_status, e.note, e.actor) for e in t.history),
            revealed=reveal and pii.can_reveal, agency=t.agency, area_code=t.area_code,
        )

    def _from_journal(self, row: Args, reveal: bool) -> Ticket:
        r = dict(row)
        history = r.pop("history", [])
        t = TicketRow(**r)
        t.history = [TicketEventRow(**ev) for ev in history]
        return replace(self._view(t, reveal), pending=True)

    async def query(self, *, status: str | None = None, kind: str | None = None, limit: int = 50,
                    offset: int = 0, reporter_phone: str | None = None,
                    reporter_nik: str | None = None, owner: str | None = None,
                    overdue_at: datetime | None = None, incomplete: bool = False) -> list[Ticket]:
        """Newest first. ``reporter_phone``/``reporter_nik`` search by keyed hash (needs IVR_PII_KEY).
        ``owner``: only tickets that person owns (desk assignment); ``overdue_at``: only open
        tickets past their SLA deadline at that time (the assignment's deadline, else the end of
        the SLA due day). ``incomplete``: only complaints filed unfinished when the caller hung up
        (``extra.incomplete``, see ``dialogs/engine.py`` ``_hangup_ticket``)."""
        if (reporter_phone or reporter_nik) and not self.pii.can_search:
            raise StoreError("searching by NIK or phone needs IVR_PII_KEY")

        def _list() -> list[Ticket]:
            with self.db.session() as s:
                q = select(TicketRow).order_by(TicketRow.created_at.desc(), TicketRow.id.desc())
                if owner is not None or overdue_at is not None:
                    q = q.outerjoin(TicketAssignmentRow, TicketAssignmentRow.ticket_id == TicketRow.id)
                if owner is not None:
                    q = q.where(TicketAssignmentRow.owner == owner)
                if overdue_at is not None:
                    at = aware(overdue_at)
                    assert at is not None
                    q = q.where(TicketRow.status.in_(("open", "in_progress")), or_(
                        TicketAssignmentRow.sla_due_at < at,
                        and_(TicketAssignmentRow.sla_due_at.is_(None), TicketRow.sla_due < at.astimezone(self.tz).date())))
                if status:
                    q = q.where(TicketRow.status == status)
                if kind:
                    q = q.where(TicketRow.kind == kind)
                if incomplete:
                    # compared as text, never cast: a script may file the mark as a string, and
                    # PostgreSQL refuses to cast "ya" to a boolean (SQLite reads JSON true as 1)
                    flag = func.lower(TicketRow.extra["incomplete"].as_string())
                    q = q.where(flag.in_(INCOMPLETE_TRUE))
                if reporter_phone:
                    q = q.where(TicketRow.reporter_phone_hash == self.pii.hash(reporter_phone, "phone"))
                if reporter_nik:
                    q = q.where(TicketRow.reporter_nik_hash == self.pii.hash(reporter_nik, "nik"))
                return [self._view(t, False) for t in s.scalars(q.limit(limit).offset(offset))]
        return await self.db.read(_list)

    async def count(self, *, status: str | None = None) -> int:
        def _count() -> int:
            with self.db.session() as s:
                q = select(func.count(TicketRow.id))
                if status:
                    q = q.where(TicketRow.status == status)
                return int(s.scalar(q) or 0)
        return await self.db.read(_count)

    async def update_status(self, public_id: str, status: str, *, note: str | None = None,
                            actor: str | None = None, at: datetime | None = None) -> Ticket:
        """Move a ticket to ``status`` (validated transition), recorded in its history."""
        if status not in TICKET_STATUSES:
            raise StoreError(f"status must be one of {TICKET_STATUSES}, not {status!r}")
        current = await self.get(public_id)
        if current is None:
            raise StoreError(f"unknown ticket {public_id!r}")
        if status not in TICKET_TRANSITIONS[current.status]:
            raise StoreError(f"cannot move a ticket from {current.status} to {status}")
        await self.writes.write("ticket_status", dict(
            public_id=current.public_id, event_id=str(uuid.uuid4()), at=aware(at) or self.clock(),
            to_status=status, note=note, actor=actor,
        ))
        updated = await self.get(current.public_id)
        assert updated is not None
        return updated

    # -- idempotent operations (also replayed from the journal)

    def _offline_number(self, outbox: Outbox, args: Args) -> Args:
        """A ticket journaled while the database is down is numbered from the offline range."""
        if args.get("public_id") is not None:
            return args
        period = period_of(args["created_at"].astimezone(self.tz))
        first, last = offline_range(self.node_id)
        serial = outbox.allocate_serial(period, first, last)
        return dict(args, public_id=make_ticket_id(period, serial))

    def _insert(self, s: Session, row: Args) -> str:
        existing = s.scalar(select(TicketRow).where(TicketRow.client_id == row["client_id"]))
        if existing is not None:
            heard = row.get("public_id")
            if heard and heard != existing.public_id and s.scalar(
                    select(TicketRow.id).where(TicketRow.public_id == heard)) is None:
                # an attempt that outlived its deadline committed after all, under a database
                # number; the caller was read the journaled one: that one stands
                log.warning("ticket %s renumbered %s (the number the caller heard)",
                            format_ticket_id(existing.public_id), format_ticket_id(heard))
                existing.public_id = heard
            return existing.public_id
        if row.get("call_id") is not None and s.get(CallRow, row["call_id"]) is None:
            row = dict(row, call_id=None)  # a ticket never depends on its call being stored
        heard = row.get("public_id")
        if heard is not None and s.scalar(select(TicketRow.id).where(TicketRow.public_id == heard)) is not None:
            # an offline number another ticket already has (two processes with the same node id,
            # or a data directory that was wiped): the ticket is filed under a new number rather
            # than refused; the caller's number stays in its extra fields for the agents
            log.warning("offline ticket number %s already taken; the ticket is filed under a new number",
                        format_ticket_id(heard))
            row = dict(row, public_id=None, extra={**(row.get("extra") or {}), "number_heard": heard})
        if row.get("public_id") is None:
            period = period_of(row["created_at"].astimezone(self.tz))
            row = dict(row, public_id=make_ticket_id(period, _next_serial(s, period)))
        row = dict(row)
        history = row.pop("history", [])
        ticket = TicketRow(**row)
        ticket.history = [TicketEventRow(**ev) for ev in history]
        s.add(ticket)
        return ticket.public_id


def _next_serial(s: Session, period: str) -> int:
    for _ in range(5):
        serial = s.scalar(
            update(TicketCounterRow)
            .where(TicketCounterRow.period == period)
            .values(last_serial=TicketCounterRow.last_serial + 1)
            .returning(TicketCounterRow.last_serial)
        )
        if serial is None:
            try:
                with s.begin_nested():
                    s.add(TicketCounterRow(period=period, last_serial=1))
                serial = 1
            except IntegrityError:
                continue  # another writer created the counter first
        if serial > MAX_DB_SERIAL:
            raise StoreError(f"ticket numbers for {period} exhausted")
        return serial
    raise StoreError("could not allocate a ticket number")


def _ticket_status(s: Session, args: Args) -> None:
    if s.scalar(select(TicketEventRow.id).where(TicketEventRow.event_id == args["event_id"])) is not None:
        return
    t = s.scalar(select(TicketRow).where(TicketRow.public_id == args["public_id"]).with_for_update())
    if t is None:
        raise StoreError(f"unknown ticket {args['public_id']}")
    s.add(TicketEventRow(event_id=args["event_id"], ticket_id=t.id, at=args["at"], from_status=t.status,
                         to_status=args["to_status"], note=args["note"], actor=args["actor"]))
    t.status = args["to_status"]
    t.updated_at = args["at"]

