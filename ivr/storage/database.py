"""The database connection: a synchronous SQLAlchemy 2 engine whose work runs in a small
dedicated thread pool, the packaged Alembic migrations, and whether the database is up.

Why not SQLAlchemy's asyncio extension: Alembic migrations are synchronous anyway, one code
path then serves SQLite (pysqlite, standard library) and PostgreSQL (psycopg2) with no extra
async drivers, and SQLite serialises writes whatever the driver. The event loop never waits
on the database: every query runs in the pool.

After a failure the database is *suspect* for ``retry_after_s``: reads fail fast
(:class:`StoreUnavailable`) and writes go straight to the journal (:mod:`ivr.storage.writes`)
instead of waiting on a connect timeout each.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

import ivr.storage.migrations as migrations
from ivr.storage.errors import StoreUnavailable

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached (as opposed to refusing a write)."""
    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class Database:
    def __init__(self, url: str, *, schema: str | None = None, max_workers: int = 4,
                 retry_after_s: float = 5.0, connect_timeout_s: int = 3, echo: bool = False) -> None:
        self.url = url
        self.schema = schema
        self.engine = _make_engine(url, schema, echo, connect_timeout_s)
        #: sessions on :attr:`engine` (tests swap both to simulate an outage)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="ivr-db")
        #: reads (staff pages, the live desk's screen pop) have their own threads: they never
        #: queue behind the calls' writes (200 live calls keep the write threads busy)
        self._read_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ivr-db-read")
        #: after the database failed, calls do not wait on it again for this long: writes go
        #: straight to the journal, reads fail fast; the replayer (and ping) keep probing.
        self.retry_after_s = retry_after_s
        self._down_until = 0.0

    # ------------------------------------------------------------------ running work
    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on the database's thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a read; :class:`StoreUnavailable` if the database is (or recently was) down."""
        if self.suspect():
            raise StoreUnavailable("database unavailable (recently failed)")
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._read_pool, functools.partial(fn, *args, **kwargs))
        except Exception as exc:
            if is_unavailable(exc):
                self.mark_down()
                raise StoreUnavailable("database unavailable") from exc
            raise

    def session(self) -> Session:
        return self.sessions()

    # ------------------------------------------------------------------ up or down
    def suspect(self) -> bool:
        return time.monotonic() < self._down_until

    def mark_down(self) -> None:
        self._down_until = time.monotonic() + self.retry_after_s

    def mark_up(self) -> None:
        self._down_until = 0.0

    async def ping(self) -> bool:
        """True if the database answers."""
        def _ping() -> bool:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        try:
            ok = await self.run(_ping)
        except Exception as exc:
            if is_unavailable(exc) or isinstance(exc, DBAPIError):
                self.mark_down()
                return False
            raise
        self.mark_up()
        return ok

    # ------------------------------------------------------------------ schema
    def migrate(self, revision: str = "head") -> None:
        """Create/upgrade the schema with the packaged Alembic migrations (synchronous)."""
        if self.schema is not None and self.engine.dialect.name == "postgresql":
            with self.engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
        cfg = _alembic_config()
        from alembic import command

        with self.engine.begin() as conn, _quiet_alembic():
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    @staticmethod
    def head_revision() -> str:
        """The newest schema revision the packaged migrations know."""
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        assert head is not None
        return head

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    # ------------------------------------------------------------------ closing
    async def close(self) -> None:
        await self.run(self.engine.dispose)
        self._pool.shutdown(wait=True)
        self._read_pool.shutdown(wait=True)


def _alembic_config() -> Config:
    """Alembic is imported when it is first used, its set-up chatter kept out of the log."""
    with _quiet_alembic():  # importing alembic sets up its plugins, one line each
        from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", os.path.dirname(migrations.__file__))
    return cfg


def _make_engine(url: str, schema: str | None, echo: bool, connect_timeout_s: int = 3) -> Engine:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    u = make_url(url)
    if u.drivername == "postgresql":
        # SQLAlchemy 2.1 defaults to psycopg 3; the hotline ships psycopg2-binary
        u = u.set(drivername="postgresql+psycopg2")
    if u.get_backend_name() == "sqlite":
        database = u.database
        if database and database != ":memory:":
            path = Path(database).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                # staff password hashes and callers' data: readable by the hotline's user only
                # (SQLite gives its -wal and -shm files the same mode)
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        engine = create_engine(u, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]  # DB-API objects
            cur = dbapi_conn.cursor()
            if database and database != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    connect_args: dict[str, object] = {}
    if u.get_backend_name() == "postgresql" and u.get_driver_name() == "psycopg2":
        connect_args["connect_timeout"] = max(1, int(connect_timeout_s))
        if schema is not None:
            if not _SCHEMA_RE.match(schema):
                raise ValueError(f"invalid schema name {schema!r}")
            connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(u, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5,
                         pool_timeout=5, connect_args=connect_args)


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
