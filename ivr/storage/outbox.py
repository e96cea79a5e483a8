"""A durable local journal for writes the database cannot take right now.

When the database is down the store appends each write (already protected: masked /
encrypted / hashed, never personal data in clear) as one JSON line to
``<data_dir>/outbox/journal.jsonl``, flushes and fsyncs it before the caller is told the write
succeeded, and replays the journal into the database in order once it is reachable again.
Every journaled operation is idempotent (client-generated ids: call UUIDs, ticket
``client_id``, turn ``(call_id, idx)``, status ``event_id``...), so a crash between applying an
entry and removing it from the journal only re-applies it harmlessly.

* A torn last line (a crash during ``append``, which therefore never returned) is dropped.
* An unreadable line, or an entry the database refuses for a reason other than being
  unreachable, is moved to ``rejected.jsonl`` next to the journal - kept, never lost - and
  replay goes on.
* ``flock`` on ``.lock`` serialises appends and replays across processes sharing the directory.

Tickets filed while the database is down get their number from a local counter in the
offline serial range (see :mod:`ivr.storage.ticket_ids`), so the caller still hears it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from ivr.storage.durable import append_synced, fsync_dir

__all__ = ["Outbox", "OutboxEntry", "Unavailable", "encode", "decode"]

log = logging.getLogger(__name__)

JOURNAL = "journal.jsonl"
REJECTED = "rejected.jsonl"
SERIALS = "offline_serials.json"
LOCK = ".lock"


class Unavailable(Exception):
    """Raised by an ``apply`` callback when the database cannot be reached: replay stops
    and keeps the entry (and everything after it) for the next attempt."""


@dataclass(frozen=True)
class OutboxEntry:
    id: str
    op: str
    args: dict[str, Any]
    at: str


def encode(value: Any) -> Any:
    """JSON-safe form of row values: datetimes and dates tagged so they round-trip."""
    if isinstance(value, datetime):
        return {"$dt": value.astimezone(timezone.utc).isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if len(value) == 1 and "$d" in value:
            return date.fromisoformat(value["$d"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


class Outbox:
    """The journal in ``directory`` (created with mode 0700 if missing)."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = self.dir / JOURNAL
        self._tlock = threading.RLock()
        self._replay_lock = threading.Lock()
        self._pending = 0
        #: offline serials handed out by this process (they may not be on disk: disk full)
        self._serials_in_memory: dict[str, int] = {}
        self._serials_unsaved = False
        with self._locked():
            self._pending = len(self._read_entries(repair=True))

    # ------------------------------------------------------------------ locking

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._tlock:
            fd = os.open(self.dir / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    # ------------------------------------------------------------------ reading

    def _read_entries(self, repair: bool = False) -> list[OutboxEntry]:
        if not self.path.exists():
            return []
        raw = self.path.read_bytes()
        entries: list[OutboxEntry] = []
        lines = raw.split(b"\n")
        torn = lines.pop()  # after the last newline: empty, or a torn write
        good: list[bytes] = []
        dirty = bool(torn)
        if torn and repair:
            log.warning("outbox: dropping a torn last journal line (%d bytes)", len(torn))
        for line in lines:
            if not line.strip():
                dirty = True
                continue
            try:
                obj = json.loads(line)
                entries.append(OutboxEntry(obj["id"], obj["op"], obj["args"], obj.get("at", "")))
                good.append(line)
            except (ValueError, KeyError, TypeError):
                dirty = True
                if repair:
                    log.error("outbox: unreadable journal line moved to %s", REJECTED)
                    self._reject_raw(line, "unreadable")
        if repair and dirty:
            self._rewrite_raw(good)
        return entries

    def pending(self) -> int:
        """Number of journaled writes not yet in the database (in-memory, cheap)."""
        return self._pending

    def entries(self) -> list[OutboxEntry]:
        with self._locked():
            return self._read_entries()

    def find(self, op: str, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """Decoded args of the last pending entry of ``op`` matching ``predicate``."""
        if not self._pending:
            return None
        for entry in reversed(self.entries()):
            if entry.op == op:
                args = decode(entry.args)
                if isinstance(args, dict) and predicate(args):
                    return args
        return None

    # ------------------------------------------------------------------ writing

    def append(self, op: str, args: dict[str, Any]) -> OutboxEntry:
        """Durably journal one write; returns only after the line is on disk."""
        entry = OutboxEntry(str(uuid.uuid4()), op, encode(args), datetime.now(timezone.utc).isoformat())
        line = json.dumps(
            {"id": entry.id, "op": entry.op, "args": entry.args, "at": entry.at},
            ensure_ascii=False, separators=(",", ":"),
        ).encode("utf-8") + b"\n"
        with self._locked():
            append_synced(self.path, line)
            self._pending += 1
        return entry

    def _rewrite_raw(self, lines: list[bytes]) -> None:
        if not lines:
            if self.path.exists():
                self.path.unlink()
                fsync_dir(self.dir)
            return
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\n".join(lines) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        fsync_dir(self.dir)

    def _reject_raw(self, line: bytes, reason: str) -> None:
        fd = os.open(self.dir / REJECTED, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            stamp = json.dumps({"rejected_at": datetime.now(timezone.utc).isoformat(), "reason": reason})
            os.write(fd, stamp.encode() + b"\n" + line.rstrip(b"\n") + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ replay

    def replay(self, apply: Callable[[str, dict[str, Any]], None], *, limit: int | None = None,
               wait: bool = True) -> int:
        """Apply pending entries in order with ``apply(op, args)`` (args decoded).

        ``apply`` raises :class:`Unavailable` when the database is unreachable: replay stops
        there and keeps the rest. Any other exception rejects that entry (moved to
        ``rejected.jsonl``). ``limit``: at most that many entries this time. Returns the
        number of entries applied.

        The journal is locked only to read it and to drop what was applied: appends go on
        while entries are applied (they land after them, so order is kept). One replay at a
        time per process (``wait=False``: return 0 at once if one is running)."""
        if not self._replay_lock.acquire(blocking=wait):
            return 0
        try:
            with self._locked():
                entries = self._read_entries(repair=True)
            if limit is not None:
                entries = entries[:limit]
            applied = 0
            done = 0
            try:
                for entry in entries:
                    try:
                        apply(entry.op, decode(entry.args))
                        applied += 1
                    except Unavailable:
                        break
                    except Exception as exc:  # refused for good: keep it aside, go on
                        log.error("outbox: %s entry %s rejected by the database: %s",
                                  entry.op, entry.id, type(exc).__name__)
                        with self._locked():
                            self._reject_raw(self._line(entry), f"{type(exc).__name__}: {exc}"[:500])
                    done += 1
            finally:
                with self._locked():
                    gone = {e.id for e in entries[:done]}
                    current = self._read_entries()
                    rest = [e for e in current if e.id not in gone]
                    if done:
                        self._rewrite_raw([self._line(e).rstrip(b"\n") for e in rest])
                    self._pending = len(rest)
            if applied:
                log.info("outbox: replayed %d journaled write(s), %d left", applied, len(rest))
            return applied
        finally:
            self._replay_lock.release()

    @staticmethod
    def _line(entry: OutboxEntry) -> bytes:
        return json.dumps({"id": entry.id, "op": entry.op, "args": entry.args, "at": entry.at},
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"

    # ------------------------------------------------------------------ offline ticket numbers

    def allocate_serial(self, period: str, start: int, maximum: int) -> int:
        """Next serial for ``period`` from the local counter (durable, cross-process)."""
        path = self.dir / SERIALS
        with self._locked():
            data: dict[str, int] = {}
            if path.exists():
                try:
                    data = json.loads(path.read_text())
                except ValueError:
                    log.error("outbox: %s unreadable; continuing from the journal's highest", SERIALS)
                    data = {}
            key = period if (start, maximum) == (90000, 99999) else f"{period}:{start}"
            last = int(data.get(key, start - 1))
            last = max(last, self._serials_in_memory.get(key, start - 1))
            serial = max(last if start <= last <= maximum else start - 1,
                         self._highest_serial(period, start - 1, maximum)) + 1
            if serial > maximum:
                raise RuntimeError(f"offline ticket numbers for {period} exhausted")
            data[key] = serial
            # also remembered here: with the disk full the file below cannot be written, and the
            # write that carries this number is then held in memory (ivr.storage.writes)
            self._serials_in_memory[key] = serial
            tmp = path.with_suffix(".tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    os.write(fd, json.dumps(data).encode())
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, path)
                fsync_dir(self.dir)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                if not self._serials_unsaved:  # once, until it can be saved again
                    log.warning("outbox: offline ticket counter not saved (%s); counting on in memory",
                                exc.strerror or type(exc).__name__)
                self._serials_unsaved = True
            else:
                self._serials_unsaved = False
            return serial

    def _highest_serial(self, period: str, floor: int, maximum: int) -> int:
        best = floor
        for entry in self._read_entries():
            pid = entry.args.get("public_id") if isinstance(entry.args, dict) else None
            if isinstance(pid, str) and len(pid) == 10 and pid.startswith(period):
                serial = int(pid[4:9])
                if floor < serial <= maximum:
                    best = max(best, serial)
        return best
