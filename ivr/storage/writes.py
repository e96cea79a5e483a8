"""The one write path of the store: every write is a named, idempotent operation applied in a
transaction now, or journaled durably (:class:`ivr.storage.outbox.Outbox`) if the database is
unreachable, and replayed in order when it is back.

Repositories register their operations (``insert_call``, ``insert_ticket``, ...) with
:meth:`WritePath.register`; the journal replays them through the same registry. Once something
is journaled, later writes go behind it (order is kept through an outage).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from ivr.storage.database import Database, is_unavailable
from ivr.storage.outbox import Outbox, Unavailable

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


@dataclass(frozen=True)
class Operation:
    apply: Apply
    before_journal: BeforeJournal | None = None
    #: a journaled write returns ``args[result_key]`` (None without one)
    result_key: str | None = None


class WritePath:
    def __init__(self, db: Database, outbox: Outbox | None) -> None:
        self.db = db
        self.outbox = outbox
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
        if not self.outbox.pending() and not self.db.suspect():
            try:
                return await self.db.run_within(deadline, self._apply, op, args)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                self.db.mark_down()
                log.warning("database unavailable (%s); journaling %s", type(exc).__name__, op)
        async with self._journal_lock:
            if not self.db.suspect():
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
        assert self.outbox is not None
        operation = self._ops[op]
        if operation.before_journal is not None:
            args = operation.before_journal(self.outbox, args)
        self.outbox.append(op, args)
        return args.get(operation.result_key) if operation.result_key else None

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
        return self.outbox.pending() if self.outbox is not None else 0

    async def replay(self, *, chunk: int = 200, chunk_deadline_s: float = 30.0) -> int:
        """Write journaled entries into the database now, in chunks (each within
        ``chunk_deadline_s``); returns how many were applied. Writes go on meanwhile (to the
        journal, behind the entries being replayed)."""
        if self.outbox is None or not self.outbox.pending() or not self.db.schema_ready:
            return 0
        applied = 0
        while self.outbox.pending():
            try:
                n = await self.db.run_within(chunk_deadline_s, self.outbox.replay, self._apply_for_replay,
                                             limit=chunk)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                self.db.mark_down()
                break
            applied += n
            if n == 0:
                break
        if not self.outbox.pending():
            self.db.mark_up()
        return applied

    def start_replayer(self, interval_s: float = 5.0) -> None:
        """Background task that replays the journal every ``interval_s`` while it has entries."""
        if self._replayer is None and self.outbox is not None:
            self._replayer = asyncio.get_running_loop().create_task(self._replay_loop(interval_s))

    async def _replay_loop(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            if self.backlog and self.db.schema_ready:
                try:
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
        self._journal_pool.shutdown(wait=True)
