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
"""

from __future__ import annotations

from collections.abc import Iterable
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
from ivr.storage.database import Database
from ivr.storage.desk import DeskRepository
from ivr.storage.handoffs import HandoffRepository
from ivr.storage.outbox import Outbox
from ivr.storage.retention import Retention
from ivr.storage.scripts import ScriptRepository
from ivr.storage.tickets import TicketRepository
from ivr.storage.views import PurgeResult
from ivr.storage.writes import WritePath


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
        connect_timeout_s: int = 3,
        echo: bool = False,
        clock: Clock = system_clock,
        session_hours: float = 8.0,
    ) -> None:
        #: stamps records and dates ticket numbers (injectable: tests choose the date)
        self.clock = clock
        self.pii = pii or Pii("mask")
        self.database = Database(url, schema=schema, max_workers=max_workers, retry_after_s=retry_after_s,
                                 connect_timeout_s=connect_timeout_s, echo=echo)
        self.outbox = Outbox(outbox_dir) if outbox_dir is not None else None
        self.writes = WritePath(self.database, self.outbox)
        self.calls = CallRepository(self.database, self.writes, self.pii, clock)
        self.tickets = TicketRepository(self.database, self.writes, self.pii, clock, tz=ZoneInfo(timezone_name),
                                        holidays=holidays, sla_working_days=sla_working_days)
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

    def current_revision(self) -> str | None:
        return self.database.current_revision()

    @staticmethod
    def head_revision() -> str:
        return Database.head_revision()

    # ------------------------------------------------------------------ health and the journal
    async def ping(self) -> bool:
        """True if the database answers."""
        return await self.database.ping()

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
        await self.writes.stop_replayer()
        await self.database.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
