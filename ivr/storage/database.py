"""The database connection: a synchronous SQLAlchemy 2 engine whose work runs in a small
dedicated thread pool, the packaged Alembic migrations, and whether the database is up.

Why not SQLAlchemy's asyncio extension: Alembic migrations are synchronous anyway, one code
path then serves SQLite (pysqlite, standard library) and PostgreSQL (psycopg2) with no extra
async drivers, and SQLite serialises writes whatever the driver. The event loop never waits
on the database: every query runs in the pool.

After a failure the database is *suspect* for ``retry_after_s``: reads fail fast
(:class:`StoreUnavailable`) and writes go straight to the journal (:mod:`ivr.storage.writes`)
instead of waiting on a connect timeout each. It is suspect too while its schema could not be
migrated (``schema_ready`` False: ``ivr serve`` started during an outage; the store's
background task migrates it once the database answers).

Deadlines (issue #15): :meth:`Database.run` takes a ``deadline`` in seconds. When it passes,
the work is abandoned (:class:`DatabaseTimeout`, counted as "unavailable"): a job still
queued never starts, and a job blocked on the server (a hung database, a lock, ``pg_sleep``)
has its connection's socket shut down under it (SQLite: ``interrupt()``), so the thread comes
back and the connection is discarded. A write abandoned before its COMMIT was sent cannot
commit. Connecting has its own bound (libpq ``connect_timeout``, pool checkout
``pool_timeout``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import threading
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
from ivr.storage.errors import DatabaseTimeout, StoreUnavailable

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
    if isinstance(exc, (DatabaseTimeout, _Abandoned)):
        return True
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class _Abandoned(Exception):
    """A queued job whose caller gave up before it started (never runs)."""


class _Attempt:
    """One job on the pool: which thread runs it, and whether its caller gave up."""

    __slots__ = ("thread", "abandoned")

    def __init__(self) -> None:
        self.thread: int | None = None
        self.abandoned = False


class Database:
    def __init__(self, url: str, *, schema: str | None = None, max_workers: int = 4,
                 retry_after_s: float = 5.0, connect_timeout_s: int = 2, echo: bool = False,
                 write_deadline_s: float | None = 2.0, read_deadline_s: float | None = 5.0) -> None:
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
        #: False while the schema could not be migrated (start during an outage)
        self.schema_ready = True
        #: how long a write may take before it goes to the journal instead (None: no bound)
        self.write_deadline_s = write_deadline_s
        #: how long a read may take before it fails as unavailable (None: no bound)
        self.read_deadline_s = read_deadline_s
        #: the DB-API connection each pool thread has checked out (to break it on a deadline)
        self._checked_out: dict[int, object] = {}
        self._watch_connections(self.engine)

    def _watch_connections(self, engine: Engine) -> None:
        checked_out = self._checked_out

        def on_checkout(dbapi_conn: object, _record: object, _proxy: object) -> None:
            checked_out[threading.get_ident()] = dbapi_conn

        def on_checkin(dbapi_conn: object, _record: object) -> None:
            for ident, conn in list(checked_out.items()):
                if conn is dbapi_conn:
                    checked_out.pop(ident, None)

        event.listen(engine, "checkout", on_checkout)
        event.listen(engine, "checkin", on_checkin)

    def use_engine(self, engine: Engine) -> None:
        """Run on ``engine`` from now on (tests swap engines to simulate faults)."""
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self._watch_connections(engine)

    # ------------------------------------------------------------------ running work
    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on the database's thread pool (no deadline)."""
        return await self.run_within(None, fn, *args, **kwargs)

    async def run_within(self, deadline: float | None, fn: Callable[P, T], *args: P.args,
                         **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on the database's thread pool. With a ``deadline`` (seconds),
        :class:`DatabaseTimeout` once it passes: the job is abandoned (see the module doc)."""
        return await self._run_on(self._pool, deadline, fn, *args, **kwargs)

    async def _run_on(self, pool: ThreadPoolExecutor, deadline: float | None, fn: Callable[P, T],
                      *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        attempt = _Attempt()

        def job() -> T:
            if attempt.abandoned:
                raise _Abandoned()
            attempt.thread = threading.get_ident()
            try:
                return fn(*args, **kwargs)
            finally:
                attempt.thread = None

        fut = loop.run_in_executor(pool, job)
        if deadline is None:
            return await fut
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns the result of a job
            # that completes as its caller is cancelled, and the cancellation is lost (CPython
            # gh-86296); a service loop cancelled at shutdown then never ends (the desk's close)
            async with asyncio.timeout(deadline):
                return await asyncio.shield(fut)
        except TimeoutError:
            attempt.abandoned = True
            fut.add_done_callback(_consume)  # type: ignore[arg-type]  # any result type
            thread = attempt.thread
            if thread is not None:
                self._break(thread)
            raise DatabaseTimeout(f"database did not answer within {deadline:g} s") from None

    def _break(self, thread: int) -> None:
        """Make the connection ``thread`` is blocked on fail at once."""
        conn = self._checked_out.get(thread)
        if conn is None:
            return
        try:
            interrupt = getattr(conn, "interrupt", None)
            if interrupt is not None and not hasattr(conn, "fileno"):  # sqlite3
                interrupt()
                return
            fileno = getattr(conn, "fileno", None)
            if fileno is None:
                return
            fd = os.dup(fileno())
            with socket.socket(fileno=fd) as sock:
                sock.shutdown(socket.SHUT_RDWR)
            log.warning("database: broke a connection that outlived its deadline")
        except Exception as exc:  # closed meanwhile, or a driver without a socket
            log.debug("could not break a database connection: %s", exc)

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a read within :attr:`read_deadline_s` (see :meth:`read_within`)."""
        return await self.read_within(None, fn, *args, **kwargs)

    async def read_within(self, deadline: float | None, fn: Callable[P, T], *args: P.args,
                          **kwargs: P.kwargs) -> T:
        """Run a read within ``deadline`` (None: :attr:`read_deadline_s`);
        :class:`StoreUnavailable` if the database is (or recently was) down or does not answer
        in time."""
        if self.suspect():
            raise StoreUnavailable("database unavailable (recently failed)")
        try:
            return await self._run_on(self._read_pool, deadline or self.read_deadline_s, fn, *args, **kwargs)
        except Exception as exc:
            if is_unavailable(exc):
                self.mark_down()
                raise StoreUnavailable("database unavailable") from exc
            raise

    def session(self) -> Session:
        return self.sessions()

    # ------------------------------------------------------------------ up or down
    def suspect(self) -> bool:
        return not self.schema_ready or time.monotonic() < self._down_until

    def mark_down(self) -> None:
        self._down_until = time.monotonic() + self.retry_after_s

    def mark_up(self) -> None:
        self._down_until = 0.0

    async def ping(self, deadline: float | None = 1.0) -> bool:
        """True if the database answers (within ``deadline`` seconds)."""
        def _ping() -> bool:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        try:
            ok = await self.run_within(deadline, _ping)
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
            if self.engine.dialect.name == "postgresql":
                # controllers starting together migrate one after the other
                conn.execute(text("SELECT pg_advisory_xact_lock(1500715)"))
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
        with contextlib.suppress(Exception):
            await self.run_within(5.0, self.engine.dispose)
        # threads still blocked on a hung database are not waited for, and their connections
        # are cut so they return (the interpreter joins pool threads at exit)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._read_pool.shutdown(wait=False, cancel_futures=True)
        for thread in list(self._checked_out):
            self._break(thread)


def _consume(fut: asyncio.Future[object]) -> None:
    """Retrieve an abandoned job's outcome (no "exception never retrieved" noise)."""
    if not fut.cancelled():
        fut.exception()


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
        # a connection the server stops acknowledging is dropped by the kernel after 5 s
        connect_args["keepalives"] = 1
        connect_args["keepalives_idle"] = 5
        connect_args["keepalives_interval"] = 2
        connect_args["keepalives_count"] = 2
        connect_args["tcp_user_timeout"] = 5000
    # no pool_pre_ping: a ping on a hung server blocks before the connection is known to the
    # deadline machinery; a stale connection fails its first statement instead (counted as
    # unavailable, the pool is then discarded) and the health probe usually meets it first
    return create_engine(u, echo=echo, pool_pre_ping=False, pool_size=5, max_overflow=5,
                         pool_timeout=2, connect_args=connect_args)


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
