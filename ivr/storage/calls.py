"""Calls and their turns: the call record opened when a call arrives and closed when it ends,
every prompt and caller turn with its timings."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.config.clock import Clock
from ivr.privacy.pii import Pii, Protected
from ivr.storage.database import Database
from ivr.storage.errors import StoreError
from ivr.storage.handoffs import handoff_view
from ivr.storage.models import CallRow, HandoffRow, TicketRow, TurnRow
from ivr.storage.views import TURN_OUTCOMES, Call, Handoff, Turn
from ivr.storage.writes import Args, WritePath, aware


class CallRepository:
    def __init__(self, db: Database, writes: WritePath, pii: Pii, clock: Clock) -> None:
        self.db = db
        self.writes = writes
        self.pii = pii
        self.clock = clock
        writes.register("insert_call", _insert_call)
        writes.register("update_call", _update_call)
        writes.register("insert_turn", _insert_turn)

    async def create(
        self,
        call_id: str | None = None,
        *,
        caller: str | None = None,
        media_mode: str = "audiosocket",
        script_name: str | None = None,
        script_version: str | None = None,
        channel_id: str | None = None,
        started_at: datetime | None = None,
    ) -> str:
        """Record a new call; returns its id (a fresh UUID unless given)."""
        call_id = call_id or str(uuid.uuid4())
        p = self.pii.protect(caller, "phone")
        await self.writes.write("insert_call", dict(
            id=call_id, started_at=aware(started_at) or self.clock(), channel_id=channel_id,
            caller_masked=p.masked, caller_enc=p.enc, caller_hash=p.hash, media_mode=media_mode,
            script_name=script_name, script_version=script_version,
        ))
        return call_id

    async def add_turn(
        self,
        call_id: str,
        index: int,
        who: str,
        text: str | None,
        *,
        source: str = "speech",
        intent: str | None = None,
        confidence: float | None = None,
        asr_ms: float | None = None,
        reply_ms: float | None = None,
        at: datetime | None = None,
        audio_path: str | None = None,
        state: str | None = None,
        outcome: str | None = None,
        clear: str | None = None,
        superseded: bool = False,
        beyond: str | None = None,
    ) -> None:
        """Store one turn. ``clear``: when given, ``text`` is already the turn's masked form
        (a prompt's template with its personal fields masked, an answer that may hold a name or
        number) and ``clear`` what was really said, kept only encrypted (``pii_mode=encrypt``)
        for the audited reveal. ``who``: caller|system; ``source``: speech|dtmf|prompt|event;
        ``reply_ms``: end of caller speech (or last key) -> first reply audio byte;
        ``asr_ms``: recognition time; ``state``: the dialog state it happened in;
        ``outcome`` (caller turns): how the dialog took it, one of :data:`TURN_OUTCOMES`;
        ``superseded`` (prompts): it answered a decision the second look dropped;
        ``beyond`` (caller turns): the caller was told the request is outside the hotline's
        services, and this is its topic (the script's ``out_of_scope``).
        Idempotent per (call_id, index)."""
        if outcome is not None and outcome not in TURN_OUTCOMES:
            raise StoreError(f"outcome must be one of {TURN_OUTCOMES}, not {outcome!r}")
        if who not in ("caller", "system"):
            raise StoreError(f"who must be 'caller' or 'system', not {who!r}")
        p = self.pii.protect(text, "text")
        if clear is not None:
            p = Protected(p.masked, self.pii.protect(clear, "text").enc)
        await self.writes.write("insert_turn", dict(
            call_id=call_id, idx=int(index), at=aware(at) or self.clock(), who=who, source=source,
            text=p.masked, text_enc=p.enc, intent=intent,
            confidence=None if confidence is None else float(confidence),
            asr_ms=None if asr_ms is None else float(asr_ms),
            reply_ms=None if reply_ms is None else float(reply_ms),
            audio_path=audio_path, state=state, outcome=outcome,
            # only when set: a write journaled before this column replays unchanged
            **({"superseded": True} if superseded else {}),
            **({"beyond": beyond[:64]} if beyond else {}),
        ))

    async def close(self, call_id: str, end_reason: str, *, handoff_outcome: str | None = None,
                    ended_at: datetime | None = None, service: str | None = None,
                    end_state: str | None = None) -> None:
        """Mark the call ended (hangup, transfer, error...). ``service``: the intent the call was
        finally about; ``end_state``: the dialog state it ended in. Safe to call more than once."""
        values: Args = dict(id=call_id, ended_at=aware(ended_at) or self.clock(), end_reason=end_reason)
        for key, value in (("handoff_outcome", handoff_outcome), ("service", service), ("end_state", end_state)):
            if value is not None:
                values[key] = value
        await self.writes.write("update_call", values)

    async def get(self, call_id: str, *, reveal: bool = False, with_turns: bool = True) -> Call | None:
        return await self.db.read(self._get, call_id, reveal, with_turns)

    def _get(self, call_id: str, reveal: bool, with_turns: bool) -> Call | None:
        with self.db.session() as s:
            row = s.get(CallRow, call_id)
            if row is None:
                return None
            return self._view(s, row, reveal, with_turns)

    async def recent(self, *, limit: int = 50, offset: int = 0, open_only: bool = False,
                     end_reason: str | None = None, handed_over: bool | None = None) -> list[Call]:
        """Newest first, without their turns; optionally only calls still open, that ended for
        ``end_reason``, or that were (not) handed over to an agent."""
        def _list() -> list[Call]:
            with self.db.session() as s:
                q = select(CallRow).order_by(CallRow.started_at.desc()).limit(limit).offset(offset)
                if open_only:
                    q = q.where(CallRow.ended_at.is_(None))
                if end_reason:
                    q = q.where(CallRow.end_reason == end_reason)
                if handed_over is not None:
                    q = q.where(CallRow.handoff_outcome.is_not(None) if handed_over
                                else CallRow.handoff_outcome.is_(None))
                return [self._view(s, r, False, False) for r in s.scalars(q)]
        return await self.db.read(_list)

    async def turns(self, call_id: str, *, reveal: bool = False) -> list[Turn]:
        def _turns() -> list[Turn]:
            with self.db.session() as s:
                rows = s.scalars(select(TurnRow).where(TurnRow.call_id == call_id).order_by(TurnRow.idx))
                return [self._turn_view(t, reveal) for t in rows]
        return await self.db.read(_turns)

    def _view(self, s: Session, row: CallRow, reveal: bool, with_turns: bool) -> Call:
        turns: tuple[Turn, ...] = ()
        handoffs: tuple[Handoff, ...] = ()
        tickets: tuple[str, ...] = ()
        if with_turns:
            turns = tuple(self._turn_view(t, reveal) for t in row.turns)
            handoffs = tuple(handoff_view(h) for h in s.scalars(
                select(HandoffRow).where(HandoffRow.call_id == row.id).order_by(HandoffRow.requested_at)))
            tickets = tuple(s.scalars(select(TicketRow.public_id).where(TicketRow.call_id == row.id)
                                      .order_by(TicketRow.id)))
        return Call(
            id=row.id, started_at=row.started_at, ended_at=row.ended_at, channel_id=row.channel_id,
            caller=self.pii.reveal(row.caller_masked, row.caller_enc, "phone", reveal),
            media_mode=row.media_mode, script_name=row.script_name, script_version=row.script_version,
            end_reason=row.end_reason, handoff_outcome=row.handoff_outcome,
            purged=row.purged_at is not None, service=row.service, end_state=row.end_state,
            turns=turns, handoffs=handoffs, tickets=tickets,
        )

    def _turn_view(self, t: TurnRow, reveal: bool) -> Turn:
        return Turn(call_id=t.call_id, index=t.idx, at=t.at, who=t.who, source=t.source,
                    text=self.pii.reveal(t.text, t.text_enc, "text", reveal), intent=t.intent,
                    confidence=t.confidence, asr_ms=t.asr_ms, reply_ms=t.reply_ms, audio_path=t.audio_path,
                    state=t.state, outcome=t.outcome, superseded=bool(t.superseded), beyond=t.beyond)


# -- idempotent operations (also replayed from the journal)

def _insert_call(s: Session, row: Args) -> None:
    if s.get(CallRow, row["id"]) is None:
        s.add(CallRow(**row))


def _update_call(s: Session, values: Args) -> None:
    values = dict(values)
    call_id = values.pop("id")
    s.execute(update(CallRow).where(CallRow.id == call_id).values(**values))


def _insert_turn(s: Session, row: Args) -> None:
    exists = s.scalar(select(TurnRow.id).where(TurnRow.call_id == row["call_id"], TurnRow.idx == row["idx"]))
    if exists is None:
        s.add(TurnRow(**row))
