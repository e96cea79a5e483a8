"""The one write path of the store: every write is a named, idempotent operation applied in a
transaction now, or journaled durably (:class:`ivr.storage.outbox.Outbox`) if the database is
unreachable, and replayed in order when it is back.

Repositories register their operations (``insert_call``, ``insert_ticket``, ...) with
:meth:`WritePath.register`; the journal replays them through the same registry. Once something
is journaled, later writes go behind it (order is kept through an outage).

When the journal cannot be written either (disk full, quota, I/O error) while the database is
down, a write is **held in memory** (:class:`HeldWrites`, bounded by ``max_held`` writes): the
call goes on as if it had been journaled (a ticket gets its offline number), writes keep their
order (later ones are held behind it), and the replayer retries every tick: the disk first
(held writes move to the journal in order), else the database (once the journal is empty).
``/healthz`` says ``degraded`` with the reason, and one warning line per ``log_interval_s``
says how many writes are held. At the bound a new write fails as before (the call hands the
caller to an agent): memory stays bounded, and what is held is never dropped. What is held
when the process stops is lost with it (logged as an error with the count): with the disk
full and the database down there is nowhere to keep it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from ivr.storage.database import Database, is_unavailable
from ivr.storage.outbox import Outbox, OutboxEntry, Unavailable, encode

log = logging.getLogger(__name__)

#: the JSON-able row values of one write (datetimes and dates allowed: the journal tags them)
Args = dict[str, Any]
#: applies one write inside a transaction; returns what the write returns (a ticket number...)
Apply = Callable[[Session, Args], object]
#: adjusts a write's arguments before it is journaled (e.g. an offline ticket number)
BeforeJournal = Callable[[Outbox, Args], Args]


def aware(dt: datetime | None) -> datetime | None:
    """``dt`` in UTC; the store takes aware datetimes only."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError("use aware datetimes (UTC) with the store")
    return dt.astimezone(timezone.utc)


class HeldWrites:
    """Writes neither the database nor the journal could take, in order (bounded)."""

    def __init__(self, max_held: int, log_interval_s: float = 30.0) -> None:
        self.max_held = max_held
        self.log_interval_s = log_interval_s
        self.items: deque[tuple[str, Args]] = deque()
        self.lock = threading.Lock()
        #: why writes are held (the journal's last error), None once nothing is held
        self.reason: str | None = None
        self._logged_at: float | None = None

    def __len__(self) -> int:
        return len(self.items)

    def hold(self, op: str, args: Args, error: OSError) -> None:
        """Keep one write; raises ``error`` again when the bound is reached."""
        if len(self.items) >= self.max_held:
            log.error("journal: %s and %d write(s) already held in memory (the bound); %s refused",
                      _describe(error), len(self.items), op)
            raise error
        self.items.append((op, args))
        self.reason = f"journal not writable ({_describe(error)}); {len(self.items)} write(s) held in memory"
        self.log_once(error)

    def log_once(self, error: OSError | None = None) -> None:
        now = time.monotonic()
        if self._logged_at is None or now - self._logged_at >= self.log_interval_s:
            self._logged_at = now
            log.warning("journal: %s; %d write(s) held in memory until the disk or the database takes "
                        "them (retrying)", _describe(error) if error is not None else self.reason,
                        len(self.items))

    def cleared(self) -> None:
        if self.reason is not None:
            log.warning("journal: every held write is now on disk or in the database")
        self.reason = None
        self._logged_at = None


def _describe(error: OSError) -> str:
    import errno
    import os

    name = errno.errorcode.get(error.errno or 0, "") if error.errno else ""
    text = os.strerror(error.errno) if error.errno else str(error)
    return f"{name} {text}".strip()


@dataclass(frozen=True)
class Operation:
    apply: Apply
    before_journal: BeforeJournal | None = None
    #: a journaled write returns ``args[result_key]`` (None without one)
    result_key: str | None = None


class WritePath:
    def __init__(self, db: Database, outbox: Outbox | None, *, max_held: int = 20_000) -> None:
        self.db = db
        self.outbox = outbox
        #: writes the journal could not take (disk full) while the database was down
        self.held = HeldWrites(max_held)
        self._flushing = threading.Lock()
        self._ops: dict[str, Operation] = {}
        self._journal_lock = asyncio.Lock()
        self._replayer: asyncio.Task[None] | None = None
        #: the journal is written on its own thread: a database that hangs (and keeps the
        #: database threads busy) never delays a write to the journal
        self._journal_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ivr-journal")
        #: journal entries an inline catch-up may replay before a write (the rest: replayer)
        self.inline_replay_limit = 50

    def register(self, op: str, apply: Apply, *, before_journal: BeforeJournal | None = None,
                 result_key: str | None = None) -> None:
        if op in self._ops:
            raise ValueError(f"write operation {op!r} registered twice")
        self._ops[op] = Operation(apply, before_journal, result_key)

    # ------------------------------------------------------------------ writing
    async def write(self, op: str, args: Args) -> object:
        """Apply a write now (within the database's write deadline), or journal it durably
        if the database is unreachable, does not answer in time, or the journal holds earlier
        writes it could not catch up on at once."""
        deadline = self.db.write_deadline_s
        if self.outbox is None:
            return await self.db.run_within(deadline, self._apply, op, args)
        if not self.outbox.pending() and not self.held and not self.db.suspect():
            try:
                return await self.db.run_within(deadline, self._apply, op, args)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                self.db.mark_down()
                log.warning("database unavailable (%s); journaling %s", type(exc).__name__, op)
        async with self._journal_lock:
            if not self.db.suspect() and not self.held:
                try:
                    if self.outbox.pending():
                        await self.db.run_within(deadline, self.outbox.replay, self._apply_for_replay,
                                                 limit=self.inline_replay_limit, wait=False)
                    if not self.outbox.pending():
                        return await self.db.run_within(deadline, self._apply, op, args)
                except Exception as exc:
                    if not is_unavailable(exc):
                        raise
                    self.db.mark_down()
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._journal_pool, self._journal, op, args)

    def _journal(self, op: str, args: Args) -> object:
        """On the journal's thread: journal the write, or hold it in memory if the journal
        cannot be written (or earlier writes are held: order is kept)."""
        assert self.outbox is not None
        operation = self._ops[op]
        if operation.before_journal is not None:
            args = operation.before_journal(self.outbox, args)
        with self.held.lock:
            if self.held:
                self._flush_held_to_disk()
            if self.held:
                self.held.hold(op, args, OSError(self._held_errno, "earlier writes are held"))
            else:
                try:
                    self.outbox.append(op, args)
                except OSError as exc:
                    self._held_errno = exc.errno or 0
                    self.held.hold(op, args, exc)
        return args.get(operation.result_key) if operation.result_key else None

    _held_errno = 0

    def _flush_held_to_disk(self) -> None:
        """Move held writes to the journal, in order, while the disk takes them (lock held)."""
        assert self.outbox is not None
        while self.held.items:
            op, args = self.held.items[0]
            try:
                self.outbox.append(op, args)
            except OSError as exc:
                self._held_errno = exc.errno or 0
                self.held.log_once(exc)
                return
            self.held.items.popleft()
        self.held.cleared()

    def _flush_held_to_database(self) -> int:
        """With the journal empty, apply held writes to the database in order; stops at the
        first one it cannot reach the database for. The lock is taken only to look at and drop
        the oldest write (a write arriving meanwhile is held behind it: order is kept)."""
        if not self._flushing.acquire(blocking=False):
            return 0
        applied = 0
        try:
            while True:
                with self.held.lock:
                    if not self.held.items:
                        self.held.cleared()
                        return applied
                    entry = self.held.items[0]
                op, args = entry
                try:
                    self._apply(op, args)
                except Exception as exc:
                    if is_unavailable(exc):
                        self.db.mark_down()
                        return applied
                    self._reject_held(op, args, exc)
                with self.held.lock:
                    # the disk may have taken it meanwhile (then it is gone already)
                    if self.held.items and self.held.items[0] is entry:
                        self.held.items.popleft()
                applied += 1
        finally:
            self._flushing.release()

    def _reject_held(self, op: str, args: Args, exc: Exception) -> None:
        """A held write the database refuses for good goes to ``rejected.jsonl`` like a
        journaled one (kept for an operator); only if even that cannot be written is it lost."""
        assert self.outbox is not None
        try:
            with self.outbox._locked():
                line = Outbox._line(OutboxEntry("held", op, encode(args), datetime.now(timezone.utc).isoformat()))
                self.outbox._reject_raw(line, f"{type(exc).__name__}: {exc}"[:500])
            log.error("journal: held %s write refused by the database (%s); kept in rejected.jsonl",
                      op, type(exc).__name__)
        except OSError:
            log.error("journal: held %s write refused by the database (%s) and the disk is full: lost",
                      op, type(exc).__name__)

    async def flush_held(self) -> None:
        """Retry the held writes: the disk first, else (journal empty) the database."""
        if not self.held or self.outbox is None:
            return
        loop = asyncio.get_running_loop()

        def to_disk() -> None:
            with self.held.lock:
                self._flush_held_to_disk()

        await loop.run_in_executor(self._journal_pool, to_disk)
        if self.held and not self.outbox.pending() and self.db.schema_ready:
            try:
                await self.db.run_within(30.0, self._flush_held_to_database)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                self.db.mark_down()
            else:
                if not self.held and not self.outbox.pending():
                    self.db.mark_up()

    def _apply_for_replay(self, op: str, args: Args) -> None:
        try:
            self._apply(op, args)
        except Exception as exc:
            if is_unavailable(exc):
                self.db.mark_down()
                raise Unavailable(str(exc)) from exc
            raise

    def _apply(self, op: str, args: Args) -> object:
        apply = self._ops[op].apply
        with self.db.sessions.begin() as s:
            return apply(s, args)

    # ------------------------------------------------------------------ the journal
    @property
    def backlog(self) -> int:
        """Writes not in the database yet: journaled, or held in memory."""
        return (self.outbox.pending() if self.outbox is not None else 0) + len(self.held)

    async def replay(self, *, chunk: int = 200, chunk_deadline_s: float = 30.0) -> int:
        """Write journaled entries into the database now, in chunks (each within
        ``chunk_deadline_s``); returns how many were applied. Writes go on meanwhile (to the
        journal, behind the entries being replayed)."""
        if self.outbox is None or not self.db.schema_ready:
            return 0
        applied = 0
        while self.outbox.pending():
            try:
                try:
                    n = await self.db.run_within(chunk_deadline_s, self.outbox.replay, self._apply_for_replay,
                                                 limit=chunk)
                except OSError:
                    # the journal could not be rewritten without its applied chunk (disk full):
                    # apply all of it (again: idempotent), after which the file is removed
                    log.warning("outbox: journal not rewritable (disk full?); replaying it whole")
                    n = await self.db.run_within(chunk_deadline_s * 10, self.outbox.replay,
                                                 self._apply_for_replay)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                self.db.mark_down()
                break
            applied += n
            if n == 0:
                break
        if self.held:
            await self.flush_held()
        if not self.outbox.pending() and not self.held:
            self.db.mark_up()
        return applied

    def start_replayer(self, interval_s: float = 5.0) -> None:
        """Background task that replays the journal every ``interval_s`` while it has entries."""
        if self._replayer is None and self.outbox is not None:
            self._replayer = asyncio.get_running_loop().create_task(self._replay_loop(interval_s))

    async def _replay_loop(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                if self.held:
                    await self.flush_held()
                if self.backlog and self.db.schema_ready:
                    await self.replay()
            except Exception:  # never let the loop die
                log.exception("outbox replay failed")

    async def stop_replayer(self) -> None:
        if self._replayer is not None:
            self._replayer.cancel()
            try:
                await self._replayer
            except asyncio.CancelledError:
                pass
            self._replayer = None

    def close(self) -> None:
        with self.held.lock:
            if self.held:
                self._flush_held_to_disk()
            if self.held:
                log.error("journal: %d held write(s) could not be kept (disk full and database down at "
                          "exit): %s", len(self.held), self.held.reason)
        self._journal_pool.shutdown(wait=True)
