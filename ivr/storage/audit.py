"""The access log: every view or change of a caller's data by staff (who, what, whether
personal data was shown in clear)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.config.clock import Clock
from ivr.storage.database import Database
from ivr.storage.models import AuditRow
from ivr.storage.views import AuditEntry
from ivr.storage.writes import Args, WritePath


class AuditLog:
    def __init__(self, db: Database, writes: WritePath, clock: Clock) -> None:
        self.db = db
        self.writes = writes
        self.clock = clock
        writes.register("insert_audit", _insert_audit)

    async def record(self, actor: str, role: str, action: str, subject_type: str, subject_id: str | None = None,
                     *, revealed: bool = False, detail: str | None = None, remote: str | None = None) -> None:
        """Record an access to a caller's data (who, what, whether clear data was shown)."""
        await self.writes.write("insert_audit", dict(
            at=self.clock(), actor=actor, role=role, action=action, subject_type=subject_type,
            subject_id=subject_id, revealed=revealed, detail=detail, remote=remote,
        ))

    async def entries(self, *, subject_type: str | None = None, subject_id: str | None = None,
                      actor: str | None = None, action: str | None = None,
                      limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        """Newest first."""
        def _list() -> list[AuditEntry]:
            with self.db.session() as s:
                q = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit).offset(offset)
                if actor:
                    q = q.where(AuditRow.actor == actor)
                if action:
                    q = q.where(AuditRow.action == action)
                if subject_type:
                    q = q.where(AuditRow.subject_type == subject_type)
                if subject_id:
                    q = q.where(AuditRow.subject_id == subject_id)
                return [AuditEntry(a.at, a.actor, a.role, a.action, a.subject_type, a.subject_id,
                                   a.revealed, a.detail, a.remote) for a in s.scalars(q)]
        return await self.db.read(_list)


def _insert_audit(s: Session, row: Args) -> None:
    s.add(AuditRow(**row))
