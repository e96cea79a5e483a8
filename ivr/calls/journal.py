"""The live calls' journal: what a call has said and decided so far, on local disk, so that a
process killed mid-call (SIGKILL, power loss) loses none of it (issue #15).

Each process keeps its calls in a directory of its own, ``<data_dir>/calls/<instance>/``, which
it holds an exclusive ``flock`` on for as long as it runs; one file per live call,
``<call_id>.jsonl``, one JSON line per record, flushed and fsynced in order on one writer thread
(the event loop never waits on the disk):

* ``start``: the call's record fields (caller protected);
* ``snap``: the dialog engine's snapshot after each event (:meth:`dialogs.DialogEngine.snapshot`);
* ``turn``: each prompt and caller turn as it happens (before its reply, before the store);
* ``cut``: the words the caller was saying when they hung up (recognised after the line
  dropped), with the state they were said in: recovery tells the engine them with the hang-up;
* ``ticket``: a ticket the dialog asked for, with the client id it is filed under, before the
  store is asked; ``filed`` once the store has it (database or write journal).

A call that ends normally deletes its file. A file left behind is an interrupted call:
:mod:`ivr.calls.recovery` finishes it on the next start, for this process's own directory or
any other whose lock is free (its process is gone).

Personal data never lands in clear: payloads go through :meth:`ivr.privacy.pii.Pii.protect_json`
(masked; in "encrypt" mode also encrypted, so recovery files the clear values). Bounded: a
record's strings are cut at ``max_field_chars``, and a call's file is compacted (start, last
snapshot, turns, tickets) when it grows past ``max_call_bytes``; records that still do not fit
are dropped (and counted).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.privacy.masking import Personal, mask_cut_answers
from ivr.privacy.pii import Pii
from ivr.storage.durable import append_synced, fsync_dir

log = logging.getLogger(__name__)

LOCK = ".lock"


def instance_name() -> str:
    """This process's name among the hotline's processes: host and process id."""
    host = "".join(c if c.isalnum() or c in "-_" else "_" for c in socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}"


#: records that carry the dialog's slot values: a caller's words a hang-up cut short (ending in
#: ``CUT_MARK``) lose every long number in their masked copy (``mask_cut_answers``); a prompt
#: cut short in a ``turn`` record ends in the same mark and keeps its numbers
_SLOT_RECORDS = ("cut", "snap", "ticket")


def _cut(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit]
    if isinstance(value, dict):
        return {k: _cut(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut(v, limit) for v in value]
    return value


@dataclass
class JournaledCall:
    """A call read back from its journal file."""

    path: Path
    start: dict[str, Any] = field(default_factory=dict)
    snapshot: dict[str, Any] | None = None
    turns: dict[int, dict[str, Any]] = field(default_factory=dict)
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)  # client_id -> request
    filed: dict[str, str] = field(default_factory=dict)  # client_id -> ticket number
    #: the words cut by the hang-up: {"state", "text", "follows"} (None: none recognised)
    cut: dict[str, Any] | None = None
    #: when the last record was written (epoch seconds)
    last_t: float = 0.0
    #: the call's personal values as of the last snapshot (:meth:`CallJournal.snapshot`)
    personal: Personal = ()

    @property
    def call_id(self) -> str:
        return str(self.start.get("call_id") or self.path.stem)


class CallJournal:
    """The journal directory of this process (see the module doc)."""

    def __init__(self, root: str | Path, pii: Pii, *, instance: str | None = None,
                 max_call_bytes: int = 256 * 1024, max_field_chars: int = 2000) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.instance = instance or instance_name()
        self.dir = self.root / self.instance
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.pii = pii
        self.max_call_bytes = max_call_bytes
        self.max_field_chars = max_field_chars
        self.dropped = 0
        self._oserror_logged_at: float | None = None
        self._lock_fd = os.open(self.dir / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ivr-calljournal")
        self._calls: dict[str, _CallFile] = {}

    # ------------------------------------------------------------------ writing (any thread)
    # ``plain``: structural fields with no personal data (ids, times as epoch seconds, states,
    # intents); ``personal``: everything else, protected before it is written.
    def open_call(self, call_id: str, *, caller: str | None, **plain: Any) -> None:
        self._submit(call_id, "start", dict(plain, call_id=call_id), {"caller": caller})

    # ``personal`` (snapshots, tickets): the call's personal values, hidden in the masked copy
    # wherever the script copied one (:mod:`ivr.privacy.call_values`)
    #: the snapshot's key for the call's personal values (``personal``): recovery hides them in
    #: the tickets it files, also those the dialog no longer holds (a flow's answers forgotten
    #: after filing, still inside a summary); its name makes the masked copy hide it whole
    HELD_KEY = "held_clear_text"

    def snapshot(self, call_id: str, snap: dict[str, Any], personal: Personal = ()) -> None:
        record: dict[str, Any] = {"snap": snap}
        if personal:
            record[self.HELD_KEY] = [list(v) for v in personal]
        self._submit(call_id, "snap", {}, record, personal)

    def turn(self, call_id: str, text: str | None, **plain: Any) -> None:
        self._submit(call_id, "turn", plain, {"text": text})

    def cut(self, call_id: str, state: str, text: str, *, follows: bool = False, personal: Personal = ()) -> None:
        """The words the caller was saying when they hung up (``dialogs.events.CutAnswer``;
        ending in ``CUT_MARK``, their masked copy loses every long number, and the call's
        personal values ``personal`` wherever the caller repeated one)."""
        self._submit(call_id, "cut", {"state": state, "follows": follows}, {"text": text}, personal)

    def ticket(self, call_id: str, client_id: str, kind: str, fields: dict[str, Any], personal: Personal = ()) -> None:
        self._submit(call_id, "ticket", {"client_id": client_id, "kind": kind}, {"fields": fields}, personal)

    def filed(self, call_id: str, client_id: str, ticket_id: str) -> None:
        self._submit(call_id, "filed", {"client_id": client_id, "ticket_id": ticket_id}, {})

    def close_call(self, call_id: str) -> None:
        """The call is over and on record: forget it."""
        with contextlib.suppress(RuntimeError):
            self._pool.submit(self._close, call_id)

    def flush(self) -> None:
        """Wait until everything submitted so far is on disk (tests, shutdown)."""
        self._pool.submit(lambda: None).result()

    def _submit(self, call_id: str, kind: str, plain: dict[str, Any], personal: dict[str, Any],
                values: Personal = ()) -> None:
        try:
            self._pool.submit(self._write, call_id, kind, plain, personal, values)
        except RuntimeError:  # shut down
            log.warning("call journal closed; %s record of a call not journaled", kind)

    # ------------------------------------------------------------------ the writer thread
    def _write(self, call_id: str, kind: str, plain: dict[str, Any], personal: dict[str, Any],
               values: Personal = ()) -> None:
        try:
            f = self._calls.get(call_id)
            if f is None:
                f = self._calls[call_id] = _CallFile(self.dir / f"{_safe(call_id)}.jsonl")
            record: dict[str, Any] = {"k": kind, "t": round(time.time(), 3), "p": plain}
            if personal:
                masked, enc = self.pii.protect_json(_cut(personal, self.max_field_chars), values)
                if kind in _SLOT_RECORDS:
                    masked = mask_cut_answers(masked)
                record["m"] = masked
                if enc is not None:
                    record["e"] = enc
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str).encode() + b"\n"
            if f.size + len(line) > self.max_call_bytes:
                f.compact()
                if f.size + len(line) > self.max_call_bytes and kind != "snap":
                    self.dropped += 1
                    log.warning("call journal: a call's file is full; a %s record was dropped", kind)
                    return
            f.append(line)
            f.remember(kind, line)
        except OSError as exc:  # disk full...: counted, said once per interval (not per record)
            self.dropped += 1
            now = time.monotonic()
            if self._oserror_logged_at is None or now - self._oserror_logged_at >= 30.0:
                self._oserror_logged_at = now
                log.warning("call journal: could not write a %s record (%s); %d record(s) dropped so far "
                            "(the store still takes the call's writes)", kind, exc.strerror or exc, self.dropped)
        except Exception:
            log.exception("call journal: could not write a %s record", kind)

    def _close(self, call_id: str) -> None:
        f = self._calls.pop(call_id, None)
        path = f.path if f is not None else self.dir / f"{_safe(call_id)}.jsonl"
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    # ------------------------------------------------------------------ interrupted calls
    def orphan_dirs(self) -> Iterator[tuple[Path, int]]:
        """Journal directories whose process is gone (this one's left-overs from an earlier
        run under the same name included), each with its lock held: ``(dir, lock_fd)``; the
        caller releases it with :meth:`release`."""
        for d in sorted(self.root.iterdir()):
            if not d.is_dir() or d == self.dir:
                continue
            fd = os.open(d / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)  # a live process holds it
                continue
            yield d, fd

    def own_leftovers(self) -> list[Path]:
        """Files in this process's own directory that no live call of it wrote (a previous
        process with the same name, e.g. the same pid after a reboot)."""
        return [p for p in sorted(self.dir.glob("*.jsonl")) if p.stem not in self._calls]

    @staticmethod
    def release(d: Path, fd: int, *, remove: bool) -> None:
        try:
            if remove:
                with contextlib.suppress(OSError):
                    (d / LOCK).unlink()
                with contextlib.suppress(OSError):
                    d.rmdir()
        finally:
            os.close(fd)

    def read(self, path: Path) -> JournaledCall:
        """A call's journal file read back (a torn last line is ignored; in "encrypt" mode the
        clear values are decrypted)."""
        call = JournaledCall(path)
        raw = path.read_bytes()
        for line in raw.split(b"\n"):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                personal = self.pii.reveal_json(rec.get("m"), rec.get("e"), True) if "m" in rec else {}
                data = dict(personal or {}, **rec.get("p", {}))
            except Exception:  # torn or unreadable: skip it, keep the rest
                log.warning("call journal: an unreadable record in %s skipped", path.name)
                continue
            call.last_t = max(call.last_t, float(rec.get("t") or 0.0))
            kind = rec.get("k")
            if kind == "start":
                call.start = data
            elif kind == "snap" and isinstance(data.get("snap"), dict):
                call.snapshot = data["snap"]
                held = data.get(self.HELD_KEY)  # masked whole in "mask" mode: no values then
                call.personal = tuple((str(v[0]), str(v[1]), str(v[2])) for v in held
                                      if isinstance(v, list) and len(v) == 3) if isinstance(held, list) else ()
            elif kind == "turn" and isinstance(data.get("idx"), int):
                call.turns[data["idx"]] = data
            elif kind == "ticket" and data.get("client_id"):
                call.tickets[str(data["client_id"])] = data
            elif kind == "cut" and isinstance(data.get("state"), str) and isinstance(data.get("text"), str):
                call.cut = data
            elif kind == "filed" and data.get("client_id"):
                call.filed[str(data["client_id"])] = str(data.get("ticket_id"))
        return call

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        """Stop writing (what was submitted is written first) and release the directory."""
        self._pool.shutdown(wait=True)
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)


class _CallFile:
    """One call's journal file, and what is needed to compact it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size if path.exists() else 0
        self._start: bytes | None = None
        self._snap: bytes | None = None
        self._rest: list[bytes] = []  # turns, the words cut by the hang-up and tickets, in order

    def remember(self, kind: str, line: bytes) -> None:
        if kind == "start":
            self._start = line
        elif kind == "snap":
            self._snap = line
        else:
            self._rest.append(line)

    def append(self, line: bytes) -> None:
        append_synced(self.path, line)
        self.size += len(line)

    def compact(self) -> None:
        """Rewrite the file as its start, its last snapshot, and its turns and tickets."""
        lines = [x for x in (self._start, self._snap) if x is not None] + self._rest
        body = b"".join(lines)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)
        self.size = len(body)


def _safe(call_id: str) -> str:
    return "".join(c for c in call_id if c.isalnum() or c in "-_")[:64] or "call"
