"""The hotline's database: calls, turns, tickets, hand-offs, audit log.

Async API over a synchronous SQLAlchemy 2 engine whose calls run in a small dedicated thread
pool. Why not SQLAlchemy's asyncio extension: Alembic migrations are synchronous anyway, one
code path then serves SQLite (pysqlite, standard library) and PostgreSQL (psycopg2) with no
extra async drivers, and SQLite serialises writes whatever the driver. The event loop never
waits on the database: every query runs in the pool.

Writes survive a database outage through :class:`ivr.outbox.Outbox`: if the database is
unreachable (or an earlier write is still waiting in the journal) the write is journaled on
local disk, fsynced, and replayed in order when the database is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, delete, event, func, select, text, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from ivr.clock import Clock, system_clock
from ivr.outbox import Outbox, Unavailable
from ivr.pii import Pii
from ivr.settings import working_days_after
from ivr.storage.models import (
    AuditRow,
    CallRow,
    HandoffContextRow,
    HandoffRow,
    TicketCounterRow,
    TicketEventRow,
    TicketRow,
    TurnRow,
)
from ivr.storage.ticket_ids import (
    OFFLINE_SERIAL_START,
    format_ticket_id,
    make_ticket_id,
    parse_ticket_id,
    period_of,
)

__all__ = [
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Call",
    "Turn",
    "Ticket",
    "TicketEvent",
    "Handoff",
    "AuditEntry",
    "PurgeResult",
    "TICKET_KINDS",
    "TICKET_STATUSES",
    "HANDOFF_OUTCOMES",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

TICKET_KINDS = ("complaint", "callback")
TICKET_STATUSES = ("open", "in_progress", "resolved", "closed", "rejected")
_TRANSITIONS = {
    "open": {"in_progress", "resolved", "closed", "rejected"},
    "in_progress": {"open", "resolved", "closed", "rejected"},
    "resolved": {"in_progress", "closed", "open"},
    "closed": {"open"},
    "rejected": {"open"},
}
HANDOFF_OUTCOMES = ("pending", "connected", "abandoned", "no_agents", "closed_hours", "failed")
MAX_DB_SERIAL = OFFLINE_SERIAL_START - 1


class StoreError(Exception):
    """Invalid request to the store (unknown ticket, bad status...)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached and the read cannot be served from the journal."""


# --------------------------------------------------------------------------- views


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
    extra: dict[str, Any] | None
    call_id: str | None
    created_at: datetime
    updated_at: datetime
    sla_due: date
    history: tuple[TicketEvent, ...] = ()
    revealed: bool = False
    pending: bool = False          # still only in the local journal (database down)

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


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

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


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

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


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
    turns: tuple[Turn, ...] = ()
    handoffs: tuple[Handoff, ...] = ()
    tickets: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


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


def _jsonable(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def _aware(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError("use aware datetimes (UTC) with the store")
    return dt.astimezone(timezone.utc)


class _AlembicChatter(logging.Filter):
    """Alembic's notes on how it will run ("Context impl SQLiteImpl.", "Will assume
    transactional DDL."); the revisions it applies still reach the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno < logging.WARNING
                    and str(record.msg).startswith(("Context impl", "Will assume")))


@contextlib.contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Keep Alembic's set-up chatter (one INFO line per plugin it loads, two on its DDL
    mode) out of the log while migrating, unless its loggers were configured."""
    plugins = logging.getLogger("alembic.runtime.plugins")
    migration = logging.getLogger("alembic.runtime.migration")
    chatter = _AlembicChatter()
    raised = plugins.level == logging.NOTSET
    if raised:
        plugins.setLevel(logging.WARNING)
    migration.addFilter(chatter)
    try:
        yield
    finally:
        migration.removeFilter(chatter)
        if raised:
            plugins.setLevel(logging.NOTSET)


def _is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


# --------------------------------------------------------------------------- store


class Store:
    """See module docstring; the API is listed in docs/contracts.md ("ivr storage")."""

    def __init__(
        self,
        url: str,
        *,
        pii: Pii | None = None,
        outbox_dir: str | Path | None = None,
        recordings_dir: str | Path | Iterable[str | Path] | None = None,
        schema: str | None = None,
        holidays: Iterable[date] = (),
        sla_working_days: int = 14,
        timezone_name: str = "Asia/Jakarta",
        max_workers: int = 4,
        retry_after_s: float = 5.0,
        connect_timeout_s: int = 3,
        echo: bool = False,
        clock: Clock = system_clock,
    ):
        self.url = url
        #: stamps records and dates ticket numbers (injectable: tests choose the date)
        self.clock = clock
        self.pii = pii or Pii("mask")
        self.outbox = Outbox(outbox_dir) if outbox_dir is not None else None
        if recordings_dir is None:
            dirs: list[Path] = []
        elif isinstance(recordings_dir, (str, Path)):
            dirs = [Path(recordings_dir)]
        else:
            dirs = [Path(d) for d in recordings_dir]
        #: directories whose files (recordings) older than the retention period are purged
        self.recording_dirs = dirs
        self.holidays = frozenset(holidays)
        self.sla_working_days = sla_working_days
        self.tz = ZoneInfo(timezone_name)
        self.schema = schema
        self.engine = self._make_engine(url, schema, echo, connect_timeout_s)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="ivr-db")
        self._journal_lock = asyncio.Lock()
        self._replayer: asyncio.Task[None] | None = None
        self._closed = False
        #: after the database failed, calls do not wait on it again for this long: writes go
        #: straight to the journal, reads fail fast; the replayer (and ping) keep probing.
        self.retry_after_s = retry_after_s
        self._down_until = 0.0

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> "Store":
        """Store configured from :class:`ivr.settings.Settings` (database, PII, outbox, SLA)."""
        tzname = settings.hours().tz.key
        return cls(
            settings.database_url,
            pii=Pii.from_settings(settings),
            outbox_dir=settings.outbox_dir,
            # AGI-only mode records into <sounds_dir>/rec (never the prompts in sounds_dir)
            recordings_dir=[settings.recordings_dir, Path(settings.sounds_dir) / "rec"],
            holidays=settings.public_holidays,
            sla_working_days=settings.sla_working_days,
            timezone_name=tzname,
            **kwargs,
        )

    # ------------------------------------------------------------------ engine

    @staticmethod
    def _make_engine(url: str, schema: str | None, echo: bool, connect_timeout_s: int = 3) -> Engine:
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        u = make_url(url)
        if u.drivername == "postgresql":
            # SQLAlchemy 2.1 defaults to psycopg 3; the hotline ships psycopg2-binary
            u = u.set(drivername="postgresql+psycopg2")
        if u.get_backend_name() == "sqlite":
            if u.database and u.database != ":memory:":
                Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                u, echo=echo, connect_args={"check_same_thread": False, "timeout": 30},
            )

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
                cur = dbapi_conn.cursor()
                if u.database and u.database != ":memory:":
                    cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

            return engine
        connect_args: dict[str, Any] = {}
        if u.get_backend_name() == "postgresql" and u.get_driver_name() == "psycopg2":
            connect_args["connect_timeout"] = max(1, int(connect_timeout_s))
            if schema is not None:
                if not _SCHEMA_RE.match(schema):
                    raise ValueError(f"invalid schema name {schema!r}")
                connect_args["options"] = f"-csearch_path={schema}"
        return create_engine(u, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5,
                             pool_timeout=5, connect_args=connect_args)

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    # ------------------------------------------------------------------ lifecycle

    def migrate(self, revision: str = "head") -> None:
        """Create/upgrade the schema with the packaged Alembic migrations (synchronous)."""
        with _quiet_alembic():  # importing alembic.command sets up its plugins, one line each
            from alembic import command
            from alembic.config import Config

        import ivr.storage.migrations as migrations

        if self.schema is not None and self.engine.dialect.name == "postgresql":
            with self.engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
        cfg = Config()
        cfg.set_main_option("script_location", os.path.dirname(migrations.__file__))
        with self.engine.begin() as conn, _quiet_alembic():
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    @staticmethod
    def head_revision() -> str:
        """The newest schema revision the packaged migrations know."""
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        import ivr.storage.migrations as migrations

        cfg = Config()
        cfg.set_main_option("script_location", os.path.dirname(migrations.__file__))
        head = ScriptDirectory.from_config(cfg).get_current_head()
        assert head is not None
        return head

    async def amigrate(self) -> None:
        await self._run(self.migrate)

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    async def ping(self) -> bool:
        """True if the database answers."""
        def _ping() -> bool:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        try:
            ok = await self._run(_ping)
        except Exception as exc:
            if _is_unavailable(exc) or isinstance(exc, DBAPIError):
                self._mark_down()
                return False
            raise
        self._down_until = 0.0
        return ok

    def _suspect(self) -> bool:
        return time.monotonic() < self._down_until

    def _mark_down(self) -> None:
        self._down_until = time.monotonic() + self.retry_after_s

    @property
    def outbox_backlog(self) -> int:
        return self.outbox.pending() if self.outbox is not None else 0

    def start_replayer(self, interval_s: float = 5.0) -> None:
        """Background task that replays the journal every ``interval_s`` while it has entries."""
        if self._replayer is None and self.outbox is not None:
            self._replayer = asyncio.get_running_loop().create_task(self._replay_loop(interval_s))

    async def _replay_loop(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            if self.outbox_backlog:
                try:
                    await self.replay_outbox()
                except Exception:  # never let the loop die
                    log.exception("outbox replay failed")

    async def replay_outbox(self) -> int:
        """Write journaled entries into the database now; returns how many were applied."""
        if self.outbox is None or not self.outbox.pending():
            return 0
        async with self._journal_lock:
            applied = await self._run(self.outbox.replay, self._apply_for_replay)
        if not self.outbox.pending():
            self._down_until = 0.0
        return applied

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._replayer is not None:
            self._replayer.cancel()
            try:
                await self._replayer
            except asyncio.CancelledError:
                pass
        await self._run(self.engine.dispose)
        self._pool.shutdown(wait=True)

    async def __aenter__(self) -> "Store":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    # ------------------------------------------------------------------ write path

    async def _write(self, op: str, args: dict[str, Any]) -> Any:
        """Apply a write now, or journal it durably if the database is unreachable."""
        if self.outbox is None:
            return await self._run(self._apply, op, args)
        if not self.outbox.pending() and not self._suspect():
            try:
                return await self._run(self._apply, op, args)
            except Exception as exc:
                if not _is_unavailable(exc):
                    raise
                self._mark_down()
                log.warning("database unavailable (%s); journaling %s", type(exc).__name__, op)
        async with self._journal_lock:
            return await self._run(self._drain_then_write, op, args)

    def _drain_then_write(self, op: str, args: dict[str, Any]) -> Any:
        assert self.outbox is not None
        if not self._suspect():
            if self.outbox.pending():
                self.outbox.replay(self._apply_for_replay)
            if not self.outbox.pending():
                try:
                    return self._apply(op, args)
                except Exception as exc:
                    if not _is_unavailable(exc):
                        raise
                    self._mark_down()
        return self._journal(op, args)

    def _journal(self, op: str, args: dict[str, Any]) -> Any:
        assert self.outbox is not None
        if op == "insert_ticket" and args.get("public_id") is None:
            period = period_of(args["created_at"].astimezone(self.tz))
            serial = self.outbox.allocate_serial(period, OFFLINE_SERIAL_START, 99999)
            args = dict(args, public_id=make_ticket_id(period, serial))
        self.outbox.append(op, args)
        return args.get("public_id") if op == "insert_ticket" else None

    def _apply_for_replay(self, op: str, args: dict[str, Any]) -> None:
        try:
            self._apply(op, args)
        except Exception as exc:
            if _is_unavailable(exc):
                self._mark_down()
                raise Unavailable(str(exc)) from exc
            raise

    def _apply(self, op: str, args: dict[str, Any]) -> Any:
        handler = getattr(self, f"_op_{op}")
        with self._sessions.begin() as s:
            return handler(s, **args)

    # -- idempotent operations (also replayed from the journal)

    def _op_insert_call(self, s: Session, **row: Any) -> None:
        if s.get(CallRow, row["id"]) is None:
            s.add(CallRow(**row))

    def _op_update_call(self, s: Session, id: str, **values: Any) -> None:
        s.execute(update(CallRow).where(CallRow.id == id).values(**values))

    def _op_insert_turn(self, s: Session, **row: Any) -> None:
        exists = s.scalar(select(TurnRow.id).where(TurnRow.call_id == row["call_id"], TurnRow.idx == row["idx"]))
        if exists is None:
            s.add(TurnRow(**row))

    def _op_insert_ticket(self, s: Session, **row: Any) -> str:
        existing = s.scalar(select(TicketRow).where(TicketRow.client_id == row["client_id"]))
        if existing is not None:
            return existing.public_id
        if row.get("call_id") is not None and s.get(CallRow, row["call_id"]) is None:
            row = dict(row, call_id=None)  # a ticket never depends on its call being stored
        if row.get("public_id") is None:
            period = period_of(row["created_at"].astimezone(self.tz))
            row = dict(row, public_id=make_ticket_id(period, self._next_serial(s, period)))
        history = row.pop("history", [])
        ticket = TicketRow(**row)
        ticket.history = [TicketEventRow(**ev) for ev in history]
        s.add(ticket)
        return ticket.public_id

    def _next_serial(self, s: Session, period: str) -> int:
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

    def _op_ticket_status(self, s: Session, public_id: str, event_id: str, at: datetime,
                          to_status: str, note: str | None, actor: str | None) -> None:
        if s.scalar(select(TicketEventRow.id).where(TicketEventRow.event_id == event_id)) is not None:
            return
        t = s.scalar(select(TicketRow).where(TicketRow.public_id == public_id).with_for_update())
        if t is None:
            raise StoreError(f"unknown ticket {public_id}")
        s.add(TicketEventRow(event_id=event_id, ticket_id=t.id, at=at, from_status=t.status,
                             to_status=to_status, note=note, actor=actor))
        t.status = to_status
        t.updated_at = at

    def _op_insert_handoff(self, s: Session, **row: Any) -> None:
        if s.get(HandoffRow, row["id"]) is None:
            s.add(HandoffRow(**row))
        s.execute(update(CallRow).where(CallRow.id == row["call_id"]).values(handoff_outcome=row["outcome"]))

    def _op_update_handoff(self, s: Session, id: str, **values: Any) -> None:
        h = s.get(HandoffRow, id)
        if h is None:
            raise StoreError(f"unknown hand-off {id}")
        for k, v in values.items():
            setattr(h, k, v)
        if "outcome" in values:
            s.execute(update(CallRow).where(CallRow.id == h.call_id).values(handoff_outcome=values["outcome"]))

    def _op_upsert_context(self, s: Session, call_id: str, saved_at: datetime,
                           context: dict[str, Any], context_enc: str | None) -> None:
        row = s.get(HandoffContextRow, call_id)
        if row is None:
            s.add(HandoffContextRow(call_id=call_id, saved_at=saved_at, context=context, context_enc=context_enc))
        else:
            row.saved_at, row.context, row.context_enc = saved_at, context, context_enc

    def _op_insert_audit(self, s: Session, **row: Any) -> None:
        s.add(AuditRow(**row))

    # ------------------------------------------------------------------ calls and turns

    async def create_call(
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
        await self._write("insert_call", dict(
            id=call_id, started_at=_aware(started_at) or self.clock(), channel_id=channel_id,
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
    ) -> None:
        """Store one turn. ``who``: caller|system; ``source``: speech|dtmf|prompt|event;
        ``reply_ms``: end of caller speech (or last key) -> first reply audio byte;
        ``asr_ms``: recognition time. Idempotent per (call_id, index)."""
        if who not in ("caller", "system"):
            raise StoreError(f"who must be 'caller' or 'system', not {who!r}")
        p = self.pii.protect(text, "text")
        await self._write("insert_turn", dict(
            call_id=call_id, idx=int(index), at=_aware(at) or self.clock(), who=who, source=source,
            text=p.masked, text_enc=p.enc, intent=intent,
            confidence=None if confidence is None else float(confidence),
            asr_ms=None if asr_ms is None else float(asr_ms),
            reply_ms=None if reply_ms is None else float(reply_ms),
            audio_path=audio_path,
        ))

    async def close_call(
        self,
        call_id: str,
        end_reason: str,
        *,
        handoff_outcome: str | None = None,
        ended_at: datetime | None = None,
    ) -> None:
        """Mark the call ended (hangup, transfer, error...). Safe to call more than once."""
        values: dict[str, Any] = dict(id=call_id, ended_at=_aware(ended_at) or self.clock(), end_reason=end_reason)
        if handoff_outcome is not None:
            values["handoff_outcome"] = handoff_outcome
        await self._write("update_call", values)

    async def get_call(self, call_id: str, *, reveal: bool = False, with_turns: bool = True) -> Call | None:
        return await self._read(self._get_call, call_id, reveal, with_turns)

    def _get_call(self, call_id: str, reveal: bool, with_turns: bool) -> Call | None:
        with self._sessions() as s:
            row = s.get(CallRow, call_id)
            if row is None:
                return None
            return self._call_view(s, row, reveal, with_turns)

    def _call_view(self, s: Session, row: CallRow, reveal: bool, with_turns: bool) -> Call:
        turns: tuple[Turn, ...] = ()
        handoffs: tuple[Handoff, ...] = ()
        tickets: tuple[str, ...] = ()
        if with_turns:
            turns = tuple(self._turn_view(t, reveal) for t in row.turns)
            handoffs = tuple(self._handoff_view(h) for h in s.scalars(
                select(HandoffRow).where(HandoffRow.call_id == row.id).order_by(HandoffRow.requested_at)))
            tickets = tuple(s.scalars(select(TicketRow.public_id).where(TicketRow.call_id == row.id)
                                      .order_by(TicketRow.id)))
        return Call(
            id=row.id, started_at=row.started_at, ended_at=row.ended_at, channel_id=row.channel_id,
            caller=self.pii.reveal(row.caller_masked, row.caller_enc, "phone", reveal),
            media_mode=row.media_mode, script_name=row.script_name, script_version=row.script_version,
            end_reason=row.end_reason, handoff_outcome=row.handoff_outcome,
            purged=row.purged_at is not None, turns=turns, handoffs=handoffs, tickets=tickets,
        )

    def _turn_view(self, t: TurnRow, reveal: bool) -> Turn:
        return Turn(call_id=t.call_id, index=t.idx, at=t.at, who=t.who, source=t.source,
                    text=self.pii.reveal(t.text, t.text_enc, "text", reveal), intent=t.intent,
                    confidence=t.confidence, asr_ms=t.asr_ms, reply_ms=t.reply_ms, audio_path=t.audio_path)

    @staticmethod
    def _handoff_view(h: HandoffRow) -> Handoff:
        return Handoff(id=h.id, call_id=h.call_id, queue=h.queue, reason=h.reason,
                       requested_at=h.requested_at, agent=h.agent, connected_at=h.connected_at,
                       ended_at=h.ended_at, outcome=h.outcome, hold_s=h.hold_s, talk_s=h.talk_s,
                       ended_by=h.ended_by)

    async def list_calls(self, *, limit: int = 50, offset: int = 0, open_only: bool = False) -> list[Call]:
        def _list() -> list[Call]:
            with self._sessions() as s:
                q = select(CallRow).order_by(CallRow.started_at.desc()).limit(limit).offset(offset)
                if open_only:
                    q = q.where(CallRow.ended_at.is_(None))
                return [self._call_view(s, r, False, False) for r in s.scalars(q)]
        return await self._read(_list)

    async def get_turns(self, call_id: str, *, reveal: bool = False) -> list[Turn]:
        def _turns() -> list[Turn]:
            with self._sessions() as s:
                rows = s.scalars(select(TurnRow).where(TurnRow.call_id == call_id).order_by(TurnRow.idx))
                return [self._turn_view(t, reveal) for t in rows]
        return await self._read(_turns)

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        if self._suspect():
            raise StoreUnavailable("database unavailable (recently failed)")
        try:
            return await self._run(fn, *args)
        except Exception as exc:
            if _is_unavailable(exc):
                self._mark_down()
                raise StoreUnavailable("database unavailable") from exc
            raise

    # ------------------------------------------------------------------ tickets

    def sla_due(self, created_at: datetime) -> date:
        local = created_at.astimezone(self.tz).date()
        return working_days_after(local, self.sla_working_days, self.holidays)

    async def create_ticket(
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
        extra: dict[str, Any] | None = None,
        client_id: str | None = None,
        created_at: datetime | None = None,
    ) -> str:
        """File a complaint or callback request; returns the 10-digit public ticket id.

        Never loses the ticket: with the database down it is journaled and numbered from the
        offline range. Idempotent by ``client_id`` (a retry returns the same number)."""
        if kind not in TICKET_KINDS:
            raise StoreError(f"ticket kind must be one of {TICKET_KINDS}, not {kind!r}")
        created = _aware(created_at) or self.clock()
        name = self.pii.protect(reporter_name, "name")
        nik = self.pii.protect(reporter_nik, "nik")
        phone = self.pii.protect(reporter_phone, "phone")
        desc = self.pii.protect(description, "text")
        loc = self.pii.protect(location, "text")
        extra_masked, extra_enc = self.pii.protect_json(extra) if extra else (None, None)
        row = dict(
            public_id=None, client_id=client_id or str(uuid.uuid4()), kind=kind, status="open",
            category=category, location=loc.masked, location_enc=loc.enc,
            description=desc.masked, description_enc=desc.enc,
            reporter_name_masked=name.masked, reporter_name_enc=name.enc,
            reporter_nik_masked=nik.masked, reporter_nik_enc=nik.enc, reporter_nik_hash=nik.hash,
            reporter_phone_masked=phone.masked, reporter_phone_enc=phone.enc, reporter_phone_hash=phone.hash,
            confidential=bool(confidential), extra=extra_masked, extra_enc=extra_enc, call_id=call_id,
            created_at=created, updated_at=created, sla_due=self.sla_due(created),
            history=[dict(event_id=str(uuid.uuid4()), at=created, from_status=None, to_status="open",
                          note="filed by phone" if call_id else "filed", actor="ivr")],
        )
        public_id = await self._write("insert_ticket", row)
        log.info("ticket filed", extra={"ticket": format_ticket_id(public_id) if public_id else public_id,
                                        "kind": kind, "category": category})
        return public_id

    async def get_ticket(self, public_id: str, *, reveal: bool = False) -> Ticket | None:
        """The ticket with that number (dashes/spaces allowed), or None if unknown or the
        check digit is wrong. Falls back to the local journal when the database is down."""
        pid = parse_ticket_id(public_id)
        if pid is None:
            return None
        try:
            return await self._read(self._get_ticket, pid, reveal)
        except StoreUnavailable:
            if self.outbox is not None:
                row = await self._run(self.outbox.find, "insert_ticket", lambda a: a.get("public_id") == pid)
                if row is not None:
                    return self._ticket_from_row(row, reveal)
            raise

    def _get_ticket(self, pid: str, reveal: bool) -> Ticket | None:
        with self._sessions() as s:
            t = s.scalar(select(TicketRow).where(TicketRow.public_id == pid))
            if t is None:
                found = None
                if self.outbox is not None and self.outbox.pending():
                    found = self.outbox.find("insert_ticket", lambda a: a.get("public_id") == pid)
                return self._ticket_from_row(found, reveal) if found else None
            return self._ticket_view(t, reveal)

    def _ticket_view(self, t: TicketRow, reveal: bool) -> Ticket:
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
            revealed=reveal and pii.can_reveal,
        )

    def _ticket_from_row(self, row: dict[str, Any], reveal: bool) -> Ticket:
        r = dict(row)
        history = r.pop("history", [])
        t = TicketRow(**r)
        t.history = [TicketEventRow(**ev) for ev in history]
        return Ticket(**{**asdict_shallow(self._ticket_view(t, reveal)), "pending": True})

    async def list_tickets(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 50,
        offset: int = 0,
        reporter_phone: str | None = None,
        reporter_nik: str | None = None,
    ) -> list[Ticket]:
        """Newest first. ``reporter_phone``/``reporter_nik`` search by keyed hash (needs IVR_PII_KEY)."""
        if (reporter_phone or reporter_nik) and not self.pii.can_search:
            raise StoreError("searching by NIK or phone needs IVR_PII_KEY")

        def _list() -> list[Ticket]:
            with self._sessions() as s:
                q = select(TicketRow).order_by(TicketRow.created_at.desc(), TicketRow.id.desc())
                if status:
                    q = q.where(TicketRow.status == status)
                if kind:
                    q = q.where(TicketRow.kind == kind)
                if reporter_phone:
                    q = q.where(TicketRow.reporter_phone_hash == self.pii.hash(reporter_phone, "phone"))
                if reporter_nik:
                    q = q.where(TicketRow.reporter_nik_hash == self.pii.hash(reporter_nik, "nik"))
                return [self._ticket_view(t, False) for t in s.scalars(q.limit(limit).offset(offset))]
        return await self._read(_list)

    async def count_tickets(self, *, status: str | None = None) -> int:
        def _count() -> int:
            with self._sessions() as s:
                q = select(func.count(TicketRow.id))
                if status:
                    q = q.where(TicketRow.status == status)
                return int(s.scalar(q) or 0)
        return await self._read(_count)

    async def update_ticket_status(
        self, public_id: str, status: str, *, note: str | None = None, actor: str | None = None,
        at: datetime | None = None,
    ) -> Ticket:
        """Move a ticket to ``status`` (validated transition), recorded in its history."""
        if status not in TICKET_STATUSES:
            raise StoreError(f"status must be one of {TICKET_STATUSES}, not {status!r}")
        current = await self.get_ticket(public_id)
        if current is None:
            raise StoreError(f"unknown ticket {public_id!r}")
        if status not in _TRANSITIONS[current.status]:
            raise StoreError(f"cannot move a ticket from {current.status} to {status}")
        await self._write("ticket_status", dict(
            public_id=current.public_id, event_id=str(uuid.uuid4()), at=_aware(at) or self.clock(),
            to_status=status, note=note, actor=actor,
        ))
        updated = await self.get_ticket(current.public_id)
        assert updated is not None
        return updated

    # ------------------------------------------------------------------ hand-off

    async def record_handoff(
        self, call_id: str, queue: str, *, reason: str | None = None,
        requested_at: datetime | None = None, handoff_id: str | None = None, outcome: str = "pending",
    ) -> str:
        """A transfer to ``queue`` was requested; returns the hand-off id."""
        if outcome not in HANDOFF_OUTCOMES:
            raise StoreError(f"outcome must be one of {HANDOFF_OUTCOMES}")
        hid = handoff_id or str(uuid.uuid4())
        await self._write("insert_handoff", dict(
            id=hid, call_id=call_id, queue=queue, reason=reason,
            requested_at=_aware(requested_at) or self.clock(), outcome=outcome,
        ))
        return hid

    async def update_handoff(
        self, handoff_id: str, *, outcome: str, agent: str | None = None,
        connected_at: datetime | None = None, ended_at: datetime | None = None,
        hold_s: int | None = None, talk_s: int | None = None, ended_by: str | None = None,
    ) -> None:
        """Outcome from AMI: connected (with agent/connected_at), abandoned, no_agents,
        closed_hours, failed; times waited and talked, and who ended it, when AMI says."""
        if outcome not in HANDOFF_OUTCOMES:
            raise StoreError(f"outcome must be one of {HANDOFF_OUTCOMES}")
        values: dict[str, Any] = dict(id=handoff_id, outcome=outcome)
        for key, value in (("agent", agent), ("hold_s", hold_s), ("talk_s", talk_s), ("ended_by", ended_by)):
            if value is not None:
                values[key] = value
        if connected_at is not None:
            values["connected_at"] = _aware(connected_at)
        elif outcome == "connected" and ended_at is None:
            values["connected_at"] = self.clock()  # the connection itself (not its end)
        if ended_at is not None:
            values["ended_at"] = _aware(ended_at)
        await self._write("update_handoff", values)

    async def get_handoffs(self, call_id: str) -> list[Handoff]:
        def _get() -> list[Handoff]:
            with self._sessions() as s:
                rows = s.scalars(select(HandoffRow).where(HandoffRow.call_id == call_id)
                                 .order_by(HandoffRow.requested_at))
                return [self._handoff_view(h) for h in rows]
        return await self._read(_get)

    async def save_handoff_context(self, call_id: str, context: dict[str, Any]) -> None:
        """Keep what the agent needs (transcript, intent, slots, ticket, caller number).
        Stored masked (plus encrypted in encrypt mode); replaces an earlier context."""
        masked, enc = self.pii.protect_json(context)
        await self._write("upsert_context", dict(call_id=call_id, saved_at=self.clock(), context=masked, context_enc=enc))

    async def get_handoff_context(self, call_id: str, *, reveal: bool = False) -> dict[str, Any] | None:
        def _get() -> dict[str, Any] | None:
            with self._sessions() as s:
                row = s.get(HandoffContextRow, call_id)
                if row is None:
                    return None
                return self.pii.reveal_json(row.context, row.context_enc, reveal)
        return await self._read(_get)

    # ------------------------------------------------------------------ audit

    async def audit(
        self, actor: str, role: str, action: str, subject_type: str, subject_id: str | None = None,
        *, revealed: bool = False, detail: str | None = None, remote: str | None = None,
    ) -> None:
        """Record an access to a caller's data (who, what, whether clear data was shown)."""
        await self._write("insert_audit", dict(
            at=self.clock(), actor=actor, role=role, action=action, subject_type=subject_type,
            subject_id=subject_id, revealed=revealed, detail=detail, remote=remote,
        ))

    async def list_audit(self, *, subject_type: str | None = None, subject_id: str | None = None,
                         limit: int = 100) -> list[AuditEntry]:
        def _list() -> list[AuditEntry]:
            with self._sessions() as s:
                q = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
                if subject_type:
                    q = q.where(AuditRow.subject_type == subject_type)
                if subject_id:
                    q = q.where(AuditRow.subject_id == subject_id)
                return [AuditEntry(a.at, a.actor, a.role, a.action, a.subject_type, a.subject_id,
                                   a.revealed, a.detail, a.remote) for a in s.scalars(q)]
        return await self._read(_list)

    # ------------------------------------------------------------------ retention

    async def purge_older_than(self, days: int, *, now: datetime | None = None) -> PurgeResult:
        """Delete transcripts (turns), hand-off contexts, recordings and the encrypted caller
        number of calls that started more than ``days`` days ago. Tickets are case records
        and are kept; call rows stay (without personal data) for statistics."""
        if days < 0:
            raise StoreError("days must be >= 0")
        cutoff = (_aware(now) or self.clock()) - timedelta(days=days)
        result = await self._read(self._purge, cutoff)
        files, failed = await self._run(self._purge_files, cutoff, result[3])
        return PurgeResult(cutoff=cutoff, turns=result[0], contexts=result[1], calls=result[2],
                           files=files, files_failed=failed)

    def _purge(self, cutoff: datetime) -> tuple[int, int, int, list[str]]:
        with self._sessions.begin() as s:
            old_calls = select(CallRow.id).where(CallRow.started_at < cutoff)
            paths = [p for p in s.scalars(select(TurnRow.audio_path).where(
                (TurnRow.at < cutoff) | TurnRow.call_id.in_(old_calls), TurnRow.audio_path.is_not(None)))]
            turns = s.execute(delete(TurnRow).where((TurnRow.at < cutoff) | TurnRow.call_id.in_(old_calls))
                              .execution_options(synchronize_session=False)).rowcount
            contexts = s.execute(delete(HandoffContextRow).where(
                (HandoffContextRow.saved_at < cutoff) | HandoffContextRow.call_id.in_(old_calls))
                .execution_options(synchronize_session=False)).rowcount
            calls = s.execute(update(CallRow).where(CallRow.started_at < cutoff, CallRow.purged_at.is_(None))
                              .values(caller_enc=None, purged_at=self.clock())
                              .execution_options(synchronize_session=False)).rowcount
        return turns or 0, contexts or 0, calls or 0, paths

    def _purge_files(self, cutoff: datetime, paths: list[str]) -> tuple[int, list[str]]:
        removed, failed = 0, []
        seen: set[Path] = set()
        for p in paths:
            path = Path(p)
            seen.add(path)
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
            except OSError:
                failed.append(p)
        limit = cutoff.timestamp()
        for directory in self.recording_dirs:
            if not directory.is_dir():
                continue
            for path in directory.rglob("*"):
                if path in seen or not path.is_file():
                    continue
                try:
                    if path.stat().st_mtime < limit:
                        path.unlink()
                        removed += 1
                except OSError:
                    failed.append(str(path))
        return removed, failed


def asdict_shallow(obj: Any) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in obj.__dataclass_fields__}

