"""Dialog scripts as versions (``store.scripts``): every save is a version (YAML, test cases,
author, time, comment, parent, validation and test results, status), and one version per
script is live.

* Saving a draft names the version it was based on. If a newer version was already saved from
  that same base, the save fails with :class:`ScriptConflict` (unless ``force``): two admins
  editing one draft never overwrite each other silently.
* Publishing re-checks the version (it must load and pass its test cases), then, in one
  transaction, moves the live pointer, bumps the script's ``generation`` (what running
  ``ivr serve`` processes poll) and writes the audit entry. If the database is down the
  publish fails (:class:`~ivr.storage.errors.StoreUnavailable`): it is never journaled, so
  what is live never changes behind the admin's back.
* The first start imports the script file as version 1, live; several processes starting at
  once import it once (the unique (script, number) key decides).

Unlike calls and tickets, nothing here goes through the offline journal: a script change
that cannot reach the database must fail in front of the admin.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.config.clock import Clock
from ivr.storage.database import Database, is_unavailable
from ivr.storage.errors import StoreError, StoreUnavailable
from ivr.storage.models import AuditRow, ScriptLiveRow, ScriptVersionRow
from ivr.storage.script_checks import Checked, check, content_hash

STATUSES = ("draft", "published", "retired")
MAX_TEXT_BYTES = 512 * 1024


class ScriptNotFound(StoreError):
    """No such version (or script)."""


class ScriptConflict(StoreError):
    """Someone saved a newer version from the same base since this editor opened it."""

    def __init__(self, base_id: int, newer: ScriptVersionSummary) -> None:
        self.base_id = base_id
        self.newer = newer
        super().__init__(f"version {newer.number} was saved from the same base by {newer.author} "
                         f"at {newer.created_at:%Y-%m-%d %H:%M} UTC")


class ScriptNotPublishable(StoreError):
    """The version does not load or does not pass its test cases."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(reasons))


@dataclass(frozen=True)
class ScriptVersionSummary:
    id: int
    script: str
    number: int
    author: str
    created_at: datetime
    comment: str | None
    parent_id: int | None
    status: str
    valid: bool | None
    tests_passed: bool | None
    content_hash: str


@dataclass(frozen=True)
class ScriptVersion(ScriptVersionSummary):
    yaml_text: str
    tests_text: str | None
    validation: dict[str, Any] | None
    test_result: dict[str, Any] | None


@dataclass(frozen=True)
class LiveScript:
    script: str
    version_id: int
    number: int
    generation: int
    published_at: datetime
    published_by: str


#: what a publisher runs after the checks and before the live pointer moves (pre-render the
#: version's prompts into the TTS cache); an exception stops the publish
BeforeLive = Callable[[Checked], Awaitable[None]]


def _summary(r: ScriptVersionRow) -> ScriptVersionSummary:
    return ScriptVersionSummary(r.id, r.script, r.number, r.author, r.created_at, r.comment, r.parent_id,
                                r.status, _flag(r.validation), _flag(r.test_result), r.content_hash)


def _full(r: ScriptVersionRow) -> ScriptVersion:
    return ScriptVersion(r.id, r.script, r.number, r.author, r.created_at, r.comment, r.parent_id, r.status,
                         _flag(r.validation), _flag(r.test_result), r.content_hash,
                         r.yaml_text, r.tests_text, r.validation, r.test_result)


def _flag(d: dict[str, Any] | None) -> bool | None:
    return None if d is None else bool(d.get("ok"))


class ScriptRepository:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # ------------------------------------------------------------------ running
    async def _tx(self, fn: Callable[[Session], Any]) -> Any:
        """``fn(session)`` in one transaction on the pool; StoreUnavailable when the DB is down."""
        def work() -> Any:
            with self.db.session() as s, s.begin():
                return fn(s)
        if self.db.suspect():
            raise StoreUnavailable("database unavailable (recently failed)")
        try:
            return await self.db.run(work)
        except StoreError:
            raise
        except Exception as exc:
            if is_unavailable(exc):
                self.db.mark_down()
                raise StoreUnavailable("database unavailable") from exc
            raise

    # ------------------------------------------------------------------ reading
    async def get(self, version_id: int) -> ScriptVersion:
        def fn(s: Session) -> ScriptVersion:
            row = s.get(ScriptVersionRow, version_id)
            if row is None:
                raise ScriptNotFound(f"no script version {version_id}")
            return _full(row)
        result: ScriptVersion = await self.db.read(_in_session, self.db, fn)
        return result

    async def names(self) -> list[str]:
        def fn(s: Session) -> list[str]:
            return list(s.scalars(select(ScriptVersionRow.script).distinct().order_by(ScriptVersionRow.script)))
        result: list[str] = await self.db.read(_in_session, self.db, fn)
        return result

    async def list(self, script: str, *, offset: int = 0, limit: int = 50) -> tuple[list[ScriptVersionSummary], int]:
        """Newest first, one page, and how many versions the script has."""
        def fn(s: Session) -> tuple[list[ScriptVersionSummary], int]:
            cols = (ScriptVersionRow.id, ScriptVersionRow.script, ScriptVersionRow.number, ScriptVersionRow.author,
                    ScriptVersionRow.created_at, ScriptVersionRow.comment, ScriptVersionRow.parent_id,
                    ScriptVersionRow.status, ScriptVersionRow.validation, ScriptVersionRow.test_result,
                    ScriptVersionRow.content_hash)
            q = (select(*cols).where(ScriptVersionRow.script == script).order_by(ScriptVersionRow.id.desc())
                 .offset(max(0, offset)).limit(max(1, min(limit, 500))))
            rows = [ScriptVersionSummary(r.id, r.script, r.number, r.author, r.created_at, r.comment, r.parent_id,
                                         r.status, _flag(r.validation), _flag(r.test_result), r.content_hash)
                    for r in s.execute(q)]
            total = s.scalar(select(func.count()).select_from(ScriptVersionRow)
                             .where(ScriptVersionRow.script == script)) or 0
            return rows, int(total)
        result: tuple[list[ScriptVersionSummary], int] = await self.db.read(_in_session, self.db, fn)
        return result

    async def live(self, script: str) -> LiveScript | None:
        def fn(s: Session) -> LiveScript | None:
            row = s.get(ScriptLiveRow, script)
            if row is None:
                return None
            number = s.scalar(select(ScriptVersionRow.number).where(ScriptVersionRow.id == row.version_id))
            return LiveScript(row.script, row.version_id, int(number or 0), row.generation, row.published_at,
                              row.published_by)
        result: LiveScript | None = await self.db.read(_in_session, self.db, fn)
        return result

    async def generation(self, script: str) -> int:
        """The script's publish counter (0 before the first import): one primary-key lookup."""
        def fn(s: Session) -> int:
            return int(s.scalar(select(ScriptLiveRow.generation).where(ScriptLiveRow.script == script)) or 0)
        result: int = await self.db.read(_in_session, self.db, fn)
        return result

    async def live_version(self, script: str) -> tuple[LiveScript, ScriptVersion] | None:
        live = await self.live(script)
        if live is None:
            return None
        return live, await self.get(live.version_id)

    # ------------------------------------------------------------------ saving
    async def import_file(self, script: str, yaml_text: str, tests_text: str | None, *,
                          author: str = "system") -> LiveScript:
        """On first start: the script file becomes version 1, live. Does nothing (and returns
        what is live) when the script already has versions; safe for processes starting at once."""
        existing = await self.live(script)
        if existing is not None:
            return existing
        checked = await asyncio.to_thread(check, yaml_text, tests_text)
        now = self.clock()

        def fn(s: Session) -> None:
            if s.scalar(select(func.count()).select_from(ScriptVersionRow).where(ScriptVersionRow.script == script)):
                return
            row = ScriptVersionRow(script=script, number=1, yaml_text=yaml_text, tests_text=tests_text,
                                   author=author, created_at=now, comment="diimpor dari berkas skrip",
                                   parent_id=None, validation=checked.validation, test_result=checked.tests,
                                   status="published", content_hash=content_hash(yaml_text, tests_text))
            s.add(row)
            s.flush()
            s.add(ScriptLiveRow(script=script, version_id=row.id, generation=1, published_at=now,
                                published_by=author))
        try:
            await self._tx(fn)
        except IntegrityError:
            pass  # another process imported it first
        live = await self.live(script)
        if live is None:
            raise StoreError(f"script {script!r} has versions but none is live")
        return live

    async def save_draft(self, script: str, yaml_text: str, *, base_id: int | None, author: str,
                         comment: str | None = None, tests_text: str | None = None,
                         force: bool = False) -> ScriptVersion:
        """A new version (status draft) from ``base_id``; ``tests_text`` None keeps the base's
        test cases. Invalid YAML is saved too (with its validation). :class:`ScriptConflict`
        when a newer version was already saved from the same base (unless ``force``)."""
        if len(yaml_text.encode("utf-8")) > MAX_TEXT_BYTES:
            raise StoreError(f"script too large (max {MAX_TEXT_BYTES // 1024} KiB)")
        if tests_text is None and base_id is not None:
            tests_text = (await self.get(base_id)).tests_text
        if tests_text is not None and len(tests_text.encode("utf-8")) > MAX_TEXT_BYTES:
            raise StoreError(f"test cases too large (max {MAX_TEXT_BYTES // 1024} KiB)")
        checked = await asyncio.to_thread(check, yaml_text, tests_text)
        now = self.clock()
        comment = (comment or "").strip()[:500] or None

        def fn(s: Session) -> ScriptVersion:
            if base_id is not None:
                # lock the base row first (PostgreSQL row lock, SQLite write lock): two saves
                # from one base cannot both see "no newer version"
                hit = cast(CursorResult[Any], s.execute(update(ScriptVersionRow).where(ScriptVersionRow.id == base_id)
                                                        .values(status=ScriptVersionRow.status)))
                base = s.get(ScriptVersionRow, base_id)
                if hit.rowcount == 0 or base is None or base.script != script:
                    raise ScriptNotFound(f"no version {base_id} of script {script!r}")
                newer = s.scalars(select(ScriptVersionRow).where(ScriptVersionRow.parent_id == base_id)
                                  .order_by(ScriptVersionRow.id.desc()).limit(1)).first()
                if newer is not None and not force:
                    raise ScriptConflict(base_id, _summary(newer))
            number = (s.scalar(select(func.max(ScriptVersionRow.number)).where(ScriptVersionRow.script == script))
                      or 0) + 1
            row = ScriptVersionRow(script=script, number=number, yaml_text=yaml_text, tests_text=tests_text,
                                   author=author, created_at=now, comment=comment, parent_id=base_id,
                                   validation=checked.validation, test_result=checked.tests, status="draft",
                                   content_hash=content_hash(yaml_text, tests_text))
            s.add(row)
            s.flush()
            return _full(row)
        for attempt in range(3):
            try:
                result: ScriptVersion = await self._tx(fn)
                return result
            except IntegrityError:  # two new scripts numbered at once: number again
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def record_test_result(self, version_id: int, result: dict[str, Any]) -> None:
        """Store the result of running a version's test cases (from the test page)."""
        def fn(s: Session) -> None:
            s.execute(update(ScriptVersionRow).where(ScriptVersionRow.id == version_id).values(test_result=result))
        await self._tx(fn)

    # ------------------------------------------------------------------ going live
    async def publish(self, version_id: int, *, actor: str, role: str, before_live: BeforeLive | None = None,
                      action: str = "script_publish", remote: str | None = None) -> LiveScript:
        """Make the version live: re-checked now (loads and passes its test cases, else
        :class:`ScriptNotPublishable`), ``before_live`` run (pre-render its prompts), then the
        live pointer, the generation, the statuses and the audit entry in one transaction."""
        version = await self.get(version_id)
        checked = await asyncio.to_thread(check, version.yaml_text, version.tests_text)
        if not checked.publishable:
            raise ScriptNotPublishable(checked.reasons())
        if before_live is not None:
            await before_live(checked)
        now = self.clock()

        def fn(s: Session) -> LiveScript:
            # write first: takes SQLite's write lock (and the row lock on PostgreSQL) before reading
            bumped = cast(CursorResult[Any], s.execute(
                update(ScriptLiveRow).where(ScriptLiveRow.script == version.script)
                .values(generation=ScriptLiveRow.generation + 1))).rowcount
            row = s.get(ScriptVersionRow, version_id)
            if row is None:
                raise ScriptNotFound(f"no script version {version_id}")
            row.validation, row.test_result = checked.validation, checked.tests
            live = s.get(ScriptLiveRow, row.script, populate_existing=True)
            previous = None
            if live is None or not bumped:
                live = ScriptLiveRow(script=row.script, version_id=row.id, generation=1, published_at=now,
                                     published_by=actor)
                s.add(live)
            else:
                previous = s.get(ScriptVersionRow, live.version_id)
                live.version_id = row.id
                live.published_at, live.published_by = now, actor
            if previous is not None and previous.id != row.id:
                previous.status = "retired"
            row.status = "published"
            was = f" (sebelumnya versi {previous.number})" if previous is not None else ""
            s.add(AuditRow(at=now, actor=actor, role=role, action=action, subject_type="script",
                           subject_id=row.script, revealed=False, remote=remote,
                           detail=f"versi {row.number} (id {row.id}) live{was}"))
            s.flush()
            return LiveScript(row.script, row.id, row.number, live.generation, now, actor)
        result: LiveScript = await self._tx(fn)
        return result

    async def rollback(self, script: str, *, actor: str, role: str, to_id: int | None = None,
                       before_live: BeforeLive | None = None, remote: str | None = None) -> LiveScript:
        """Back to an earlier version in one action: ``to_id``, or the version that was live
        before the current one (the newest retired one)."""
        live = await self.live(script)
        if live is None:
            raise ScriptNotFound(f"script {script!r} has no live version")
        if to_id is None:
            def fn(s: Session) -> int | None:
                return s.scalar(select(ScriptVersionRow.id).where(
                    ScriptVersionRow.script == script, ScriptVersionRow.status == "retired",
                    ScriptVersionRow.id != live.version_id).order_by(ScriptVersionRow.id.desc()).limit(1))
            to_id = await self.db.read(_in_session, self.db, fn)
            if to_id is None:
                raise ScriptNotFound("no earlier published version to roll back to")
        target = await self.get(to_id)
        if target.script != script:
            raise ScriptNotFound(f"version {to_id} is not a version of {script!r}")
        return await self.publish(to_id, actor=actor, role=role, before_live=before_live,
                                  action="script_rollback", remote=remote)


def _in_session(db: Database, fn: Callable[[Session], Any]) -> Any:
    with db.session() as s:
        return fn(s)
