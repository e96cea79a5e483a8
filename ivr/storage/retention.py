"""Retention: ``ivr purge`` deletes transcripts (turns), hand-off contexts, recordings and the
encrypted caller number of calls older than the retention period. Tickets are case records and
are kept; call rows stay (without personal data) for statistics."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import CursorResult, delete, select, update

from ivr.config.clock import Clock
from ivr.storage.database import Database
from ivr.storage.errors import StoreError
from ivr.storage.models import CallRow, HandoffContextRow, TurnRow
from ivr.storage.views import PurgeResult
from ivr.storage.writes import aware


class Retention:
    def __init__(self, db: Database, clock: Clock, recording_dirs: Sequence[Path]) -> None:
        self.db = db
        self.clock = clock
        #: directories whose files (recordings) older than the retention period are purged
        self.recording_dirs = list(recording_dirs)

    async def purge_older_than(self, days: int, *, now: datetime | None = None) -> PurgeResult:
        if days < 0:
            raise StoreError("days must be >= 0")
        cutoff = (aware(now) or self.clock()) - timedelta(days=days)
        turns, contexts, calls, paths = await self.db.read(self._purge_rows, cutoff)
        files, failed = await self.db.run(self._purge_files, cutoff, paths)
        return PurgeResult(cutoff=cutoff, turns=turns, contexts=contexts, calls=calls,
                           files=files, files_failed=failed)

    def _purge_rows(self, cutoff: datetime) -> tuple[int, int, int, list[str]]:
        with self.db.sessions.begin() as s:
            old_calls = select(CallRow.id).where(CallRow.started_at < cutoff)
            paths = [p for p in s.scalars(select(TurnRow.audio_path).where(
                (TurnRow.at < cutoff) | TurnRow.call_id.in_(old_calls), TurnRow.audio_path.is_not(None)))
                if p is not None]
            turns = _rowcount(s.execute(delete(TurnRow).where((TurnRow.at < cutoff) | TurnRow.call_id.in_(old_calls))
                                        .execution_options(synchronize_session=False)))
            contexts = _rowcount(s.execute(delete(HandoffContextRow).where(
                (HandoffContextRow.saved_at < cutoff) | HandoffContextRow.call_id.in_(old_calls))
                .execution_options(synchronize_session=False)))
            calls = _rowcount(s.execute(update(CallRow).where(CallRow.started_at < cutoff, CallRow.purged_at.is_(None))
                                        .values(caller_enc=None, purged_at=self.clock())
                                        .execution_options(synchronize_session=False)))
        return turns, contexts, calls, paths

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


def _rowcount(result: object) -> int:
    """Rows a bulk DELETE/UPDATE touched (its result is a ``CursorResult``)."""
    assert isinstance(result, CursorResult)
    return result.rowcount or 0
