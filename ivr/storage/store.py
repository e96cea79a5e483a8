"""The hotline's database: one :class:`Store` holding a repository per aggregate over one
write path.

* ``store.calls`` (:class:`~ivr.storage.calls.CallRepository`): call records and their turns;
* ``store.tickets`` (:class:`~ivr.storage.tickets.TicketRepository`): complaints, callbacks;
* ``store.handoffs`` (:class:`~ivr.storage.handoffs.HandoffRepository`): transfers to agents
  and the context saved for them;
* ``store.audit`` (:class:`~ivr.storage.audit.AuditLog`): staff access to callers' data;
* ``store.scripts`` (:class:`~ivr.storage.scripts.ScriptRepository`): dialog scripts as
  versions and the live one (never journaled: a publish fails when the database is down).
* ``store.accounts`` (:class:`~ivr.storage.accounts.AccountRepository`): staff accounts, web
  sessions, personal API tokens, login back-off (straight to the database, never journaled);
* ``store.desk`` (:class:`~ivr.storage.desk.DeskRepository`): agents' phones, dispositions,
  ticket owners/SLA, dialable callbacks and attempts, the wallboard's day figures.
* ``store.analytics`` (:class:`~ivr.storage.analytics.AnalyticsState`): analytics settings,
  scheduled runs (one process per period) and surge alerts.

Every write goes through :class:`~ivr.storage.writes.WritePath`: applied now, or, if the
database is unreachable (or an earlier write is still waiting in the journal), journaled on
local disk (:class:`~ivr.storage.outbox.Outbox`, fsynced) and replayed in order when the
database is back. Reads run on the database's thread pool (:mod:`ivr.storage.database`);
the event loop never waits on the database. API: docs/contracts.md ("ivr storage").

Start without the database (issue #15): :meth:`Store.open` tries the migration for a few
seconds and otherwise leaves it to a background task that retries until the database answers
(writes are journaled meanwhile, and replayed once the schema is there);
:meth:`Store.start_background` also runs the journal replayer and a health probe whose last
answer :meth:`Store.health` returns at once (``/healthz`` never waits on the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from zoneinfo import ZoneInfo

from ivr.config.clock import Clock, system_clock
from ivr.config.settings import Settings
from ivr.privacy.keyfile import KEY_FILE_NAME, load_or_create_key
from ivr.privacy.pii import Pii
from ivr.storage.accounts import AccountRepository
from ivr.storage.analytics import AnalyticsState
from ivr.storage.audit import AuditLog
from ivr.storage.calls import CallRepository
from ivr.storage.database import Database, is_unavailable
from ivr.storage.desk import DeskRepository
from ivr.storage.handoffs import HandoffRepository
from ivr.storage.outbox import Outbox
from ivr.storage.retention import Retention
from ivr.storage.scripts import ScriptRepository
from ivr.storage.tickets import TicketRepository
from ivr.storage.views import PurgeResult
from ivr.storage.writes import WritePath

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Health:
    """The database as the store last saw it (``/healthz``)."""

    db: bool
    schema_ready: bool
    outbox_backlog: int
    #: seconds since the probe last ran (None: no probe running, ``db`` from a direct ping)
    age_s: float | None = None
    #: writes held in memory because the journal could not be written (disk full) and why
    held_writes: int = 0
    journal_error: str | None = None

    @property
    def status(self) -> str:
        return "ok" if self.db and self.schema_ready and not self.held_writes else "degraded"

    @property
    def reasons(self) -> list[str]:
        """Why the status is degraded (empty when ok)."""
        out = []
        if not self.db:
            out.append("database unreachable")
        elif not self.schema_ready:
            out.append("database schema not migrated yet")
        if self.held_writes:
            out.append(self.journal_error or f"{self.held_writes} write(s) held in memory")
        return out


class Store:
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
        connect_timeout_s: int = 2,
        write_deadline_s: float | None = 2.0,
        read_deadline_s: float | None = 5.0,
        node_id: int = 0,
        echo: bool = False,
        clock: Clock = system_clock,
        session_hours: float = 8.0,
    ) -> None:
        #: stamps records and dates ticket numbers (injectable: tests choose the date)
        self.clock = clock
        self.pii = pii or Pii("mask")
        self.database = Database(url, schema=schema, max_workers=max_workers, retry_after_s=retry_after_s,
                                 connect_timeout_s=connect_timeout_s, echo=echo,
                                 write_deadline_s=write_deadline_s, read_deadline_s=read_deadline_s)
        self.outbox = Outbox(outbox_dir) if outbox_dir is not None else None
        self.writes = WritePath(self.database, self.outbox)
        self.calls = CallRepository(self.database, self.writes, self.pii, clock)
        self.tickets = TicketRepository(self.database, self.writes, self.pii, clock, tz=ZoneInfo(timezone_name),
                                        holidays=holidays, sla_working_days=sla_working_days, node_id=node_id)
        self.handoffs = HandoffRepository(self.database, self.writes, self.pii, clock)
        self.audit = AuditLog(self.database, self.writes, clock)
        self.scripts = ScriptRepository(self.database, clock)
        self.accounts = AccountRepository(self.database, clock, session_ttl=timedelta(hours=session_hours))
        self.desk = DeskRepository(self.database, self.writes, self.pii, clock)
        #: analytics state: edited settings, scheduled runs, surge alerts (issue 14)
        self.analytics = AnalyticsState(self.database, clock)
        if recordings_dir is None:
            dirs: list[Path] = []
        elif isinstance(recordings_dir, (str, Path)):
            dirs = [Path(recordings_dir)]
        else:
            dirs = [Path(d) for d in recordings_dir]
        self.retention = Retention(self.database, clock, dirs)
        self._closed = False
        self._migration: asyncio.Future[bool] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._db_ok: bool | None = None
        self._probed_at: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock = system_clock) -> Store:
        """Store configured from :class:`ivr.config.settings.Settings` (database, PII, outbox, SLA)."""
        assert settings.database_url is not None and settings.recordings_dir is not None
        assert settings.sounds_dir is not None
        # IVR_PII_KEY, else a key file under the data directory (created 0600 on first start):
        # callback numbers are encrypted by default and the key is never in the database
        key = (settings.pii_key.get_secret_value() if settings.pii_key is not None
               else load_or_create_key(Path(settings.data_dir) / "keys" / KEY_FILE_NAME))
        return cls(
            settings.database_url,
            pii=Pii(settings.pii_mode, key),
            outbox_dir=settings.outbox_dir,
            # AGI-only mode records into <sounds_dir>/rec (never the prompts in sounds_dir)
            recordings_dir=[settings.recordings_dir, Path(settings.sounds_dir) / "rec"],
            holidays=settings.holidays(),
            sla_working_days=settings.sla_working_days,
            timezone_name=settings.hours().tz.key,
            write_deadline_s=settings.db_write_deadline_s,
            read_deadline_s=settings.db_read_deadline_s,
            node_id=settings.node_id,
            clock=clock,
            session_hours=settings.session_hours,
        )

    # ------------------------------------------------------------------ schema
    @property
    def url(self) -> str:
        return self.database.url

    @property
    def schema(self) -> str | None:
        return self.database.schema

    def migrate(self, revision: str = "head") -> None:
        """Create/upgrade the schema with the packaged Alembic migrations (synchronous)."""
        self.database.migrate(revision)

    async def amigrate(self) -> None:
        await self.database.run(self.database.migrate)

    async def open(self, *, wait_s: float = 3.0, migrate_deadline_s: float = 60.0) -> bool:
        """Migrate the schema, waiting at most ``wait_s`` for it. If the database is down (or
        slow) the store is used anyway: it counts as unavailable until the schema is migrated
        (writes are journaled), and :meth:`start_background` keeps trying. True if migrated."""
        self._migration = asyncio.ensure_future(self._migrate_once(migrate_deadline_s))
        done, _ = await asyncio.wait({self._migration}, timeout=wait_s)
        if done and self._migration.result():
            return True
        self.database.schema_ready = False
        if not done:
            log.warning("database: schema migration is taking longer than %.0f s; going on without it", wait_s)
        return False

    async def _migrate_once(self, deadline_s: float) -> bool:
        try:
            await self.database.run_within(deadline_s, self.database.migrate)
        except Exception as exc:
            if not is_unavailable(exc):
                log.exception("database: schema migration failed")
            else:
                log.warning("database unavailable for the schema migration (%s); the hotline runs on "
                            "its journal and migrates once the database answers", type(exc).__name__)
            return False
        if not self.database.schema_ready:
            log.info("database: schema migrated; replaying the journal")
        self.database.schema_ready = True
        self.database.mark_up()
        return True

    async def _migrator(self, interval_s: float) -> None:
        while not self.database.schema_ready:
            if self._migration is None or self._migration.done():
                if self._migration is not None and self._migration.result():
                    return
                await asyncio.sleep(interval_s)
                self._migration = asyncio.ensure_future(self._migrate_once(60.0))
            with contextlib.suppress(Exception):
                await asyncio.shield(self._migration)
        with contextlib.suppress(Exception):
            await self.writes.replay()

    def current_revision(self) -> str | None:
        return self.database.current_revision()

    @staticmethod
    def head_revision() -> str:
        return Database.head_revision()

    # ------------------------------------------------------------------ health and the journal
    async def ping(self, deadline: float | None = 1.0) -> bool:
        """True if the database answers (within ``deadline`` seconds)."""
        return await self.database.ping(deadline)

    async def health(self) -> Health:
        """The database's state without waiting on it: the background probe's last answer
        (:meth:`start_background`); without a probe, a ping bounded to 0.5 s."""
        held, why = len(self.writes.held), self.writes.held.reason
        if self._probed_at is not None and self._db_ok is not None:
            return Health(self._db_ok, self.database.schema_ready, self.outbox_backlog,
                          round(time.monotonic() - self._probed_at, 2), held, why)
        ok = await self.ping(0.5) if not self.database.suspect() else False
        return Health(ok, self.database.schema_ready, self.outbox_backlog, None, held, why)

    async def _probe(self, interval_s: float, deadline_s: float = 3.0) -> None:
        """Ping the database every ``interval_s`` (each ping within ``deadline_s``: it runs in
        the background, so a loaded machine is not taken for a dead database)."""
        while True:
            try:
                ok = await self.database.ping(deadline_s)
            except Exception as exc:
                log.warning("database probe failed: %s", type(exc).__name__)
                ok = False
            if ok != self._db_ok:
                if ok and self._db_ok is None:
                    log.info("database reachable")  # the first probe: nothing went wrong
                else:
                    log.warning("database %s", "reachable again" if ok else "unreachable")
            self._db_ok = ok
            self._probed_at = time.monotonic()
            await asyncio.sleep(interval_s)

    def start_background(self, *, replay_interval_s: float = 1.0, probe_interval_s: float = 1.0,
                         migrate_interval_s: float = 2.0) -> None:
        """The store's background work: the journal replayer, the health probe and, while the
        schema could not be migrated, the migration retried every ``migrate_interval_s``."""
        self.writes.start_replayer(replay_interval_s)
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._probe(probe_interval_s), name="store-probe"))
        if not self.database.schema_ready:
            self._tasks.append(loop.create_task(self._migrator(migrate_interval_s), name="store-migrate"))

    @property
    def outbox_backlog(self) -> int:
        """Writes journaled while the database was down and not yet replayed."""
        return self.writes.backlog

    async def replay_outbox(self) -> int:
        """Write journaled entries into the database now; returns how many were applied."""
        return await self.writes.replay()

    def start_replayer(self, interval_s: float = 5.0) -> None:
        """Background task that replays the journal every ``interval_s`` while it has entries."""
        self.writes.start_replayer(interval_s)

    # ------------------------------------------------------------------ retention
    async def purge_older_than(self, days: int, *, now: datetime | None = None) -> PurgeResult:
        """Delete transcripts, hand-off contexts, recordings and encrypted caller numbers of
        calls older than ``days`` days (see :mod:`ivr.storage.retention`)."""
        return await self.retention.purge_older_than(days, now=now)

    # ------------------------------------------------------------------ lifecycle
    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.writes.stop_replayer()
        await asyncio.to_thread(self.writes.close)
        await self.database.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
