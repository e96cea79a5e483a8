"""Staff accounts: people with a role (``admin``, ``supervisor``, ``agent``), their password
(Argon2id), their web sessions and personal API tokens, failed-login back-off, and the one-time
link that creates the first admin.

Everything lives in the database, so several ``ivr serve`` processes share sessions and
back-off, and a restart logs nobody out. Secrets (session cookies, API tokens, setup links)
are stored as their SHA-256 only. These are not caller data: they bypass the offline journal
(a login needs the database; without it the pages answer "database unavailable").
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.config.clock import Clock
from ivr.storage.database import Database
from ivr.storage.errors import StoreError
from ivr.storage.models import AccountRow, ApiTokenRow, LoginAttemptRow, SetupTokenRow, WebSessionRow
from ivr.storage.passwords import WeakPassword, check_strength, hash_password, needs_rehash, verify_password

ROLES = ("admin", "supervisor", "agent")
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
TOKEN_PREFIX = "ivr_"
#: bearer tokens shorter than this are refused without a look-up (ours are 47 characters)
MIN_TOKEN_LENGTH = 32

SESSION_TTL = timedelta(hours=8)
SETUP_TTL = timedelta(hours=24)
#: back-off: this many failures in the window are free, then each one doubles the wait
ATTEMPT_WINDOW = timedelta(minutes=15)
FREE_FAILURES_PER_USER = 5
FREE_FAILURES_PER_ADDRESS = 20
FIRST_DELAY_S = 15.0
MAX_DELAY_S = 15 * 60.0
HASHES_AT_ONCE = 2


class AccountError(StoreError):
    """A request about accounts that cannot be done; the message is Indonesian, for staff."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: str
    display_name: str | None
    disabled: bool
    has_password: bool
    oidc_subject: str | None
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True)
class WebSession:
    account: Account
    csrf: str
    via: str
    expires_at: datetime


@dataclass(frozen=True)
class ApiToken:
    id: int
    account_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def normalise_username(username: str) -> str:
    return username.strip().lower()


def _account(row: AccountRow) -> Account:
    return Account(row.id, row.username, row.role, row.display_name, row.disabled, row.password_hash is not None,
                   row.oidc_subject, row.created_at, row.last_login_at)


def _token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(row.id, row.account_id, row.name, row.prefix, row.created_at, row.expires_at,
                    row.last_used_at, row.revoked_at)


class AccountRepository:
    def __init__(self, db: Database, clock: Clock, *, session_ttl: timedelta = SESSION_TTL) -> None:
        self.db = db
        self.clock = clock
        self.session_ttl = session_ttl
        self._attempts = itertools.count()
        #: Argon2 runs at most this many at once per process: a burst of logins waits its turn
        #: instead of taking the cores that live calls need
        self._hash_slots = asyncio.Semaphore(HASHES_AT_ONCE)

    # ------------------------------------------------------------------ accounts
    async def create(self, username: str, role: str, password: str | None = None, *,
                     display_name: str | None = None, oidc_subject: str | None = None) -> Account:
        """A new account; :class:`AccountError` if the name is taken or invalid, the role
        unknown, or the password too weak. ``password=None``: single sign-on only."""
        name = self._check_name(username)
        if role not in ROLES:
            raise AccountError(f"Peran tidak dikenal: {role!r} (admin, supervisor, agent).")
        hashed = await self._hash(password, name) if password is not None else None
        now = self.clock()

        def _create() -> Account:
            with self.db.session() as s:
                row = AccountRow(username=name, role=role, display_name=display_name, password_hash=hashed,
                                 disabled=False, oidc_subject=oidc_subject, created_at=now,
                                 password_changed_at=now if hashed else None)
                s.add(row)
                try:
                    s.commit()
                except IntegrityError:
                    raise AccountError(f"Nama pengguna {name!r} sudah dipakai.") from None
                return _account(row)
        return await self.db.read(_create)

    async def get(self, username: str) -> Account | None:
        name = normalise_username(username)

        def _get() -> Account | None:
            with self.db.session() as s:
                row = s.scalar(select(AccountRow).where(AccountRow.username == name))
                return _account(row) if row else None
        return await self.db.read(_get)

    async def get_by_id(self, account_id: int) -> Account | None:
        def _get() -> Account | None:
            with self.db.session() as s:
                row = s.get(AccountRow, account_id)
                return _account(row) if row else None
        return await self.db.read(_get)

    async def get_by_subject(self, subject: str) -> Account | None:
        def _get() -> Account | None:
            with self.db.session() as s:
                row = s.scalar(select(AccountRow).where(AccountRow.oidc_subject == subject))
                return _account(row) if row else None
        return await self.db.read(_get)

    async def all(self) -> list[Account]:
        def _list() -> list[Account]:
            with self.db.session() as s:
                return [_account(r) for r in s.scalars(select(AccountRow).order_by(AccountRow.username))]
        return await self.db.read(_list)

    async def has_admin(self) -> bool:
        """Is there an admin who can log in?"""
        def _has() -> bool:
            with self.db.session() as s:
                n = s.scalar(select(func.count()).select_from(AccountRow)
                             .where(AccountRow.role == "admin", AccountRow.disabled.is_(False)))
                return bool(n)
        return await self.db.read(_has)

    async def set_password(self, username: str, password: str) -> Account:
        """New password; every session of the account ends."""
        name = normalise_username(username)
        hashed = await self._hash(password, name)
        now = self.clock()

        def _set() -> Account:
            with self.db.session() as s:
                row = self._row(s, name)
                row.password_hash = hashed
                row.password_changed_at = now
                s.execute(delete(WebSessionRow).where(WebSessionRow.account_id == row.id))
                s.commit()
                return _account(row)
        return await self.db.read(_set)

    async def set_disabled(self, username: str, disabled: bool = True) -> Account:
        """Disable (or enable) an account: its sessions end and its API tokens are revoked."""
        name = normalise_username(username)
        now = self.clock()

        def _set() -> Account:
            with self.db.session() as s:
                row = self._row(s, name)
                row.disabled = disabled
                if disabled:
                    s.execute(delete(WebSessionRow).where(WebSessionRow.account_id == row.id))
                    s.execute(update(ApiTokenRow).where(ApiTokenRow.account_id == row.id,
                                                        ApiTokenRow.revoked_at.is_(None)).values(revoked_at=now))
                s.commit()
                return _account(row)
        return await self.db.read(_set)

    async def set_role(self, username: str, role: str) -> Account:
        if role not in ROLES:
            raise AccountError(f"Peran tidak dikenal: {role!r} (admin, supervisor, agent).")
        name = normalise_username(username)

        def _set() -> Account:
            with self.db.session() as s:
                row = self._row(s, name)
                row.role = role
                s.execute(delete(WebSessionRow).where(WebSessionRow.account_id == row.id))
                s.commit()
                return _account(row)
        return await self.db.read(_set)

    async def verify(self, username: str, password: str) -> Account | None:
        """The account if the name and password match and it is enabled; the same work is
        done for an unknown name. Upgrades the stored hash when its parameters are old."""
        name = normalise_username(username)

        def _load() -> tuple[int, str | None, bool] | None:
            with self.db.session() as s:
                row = s.scalar(select(AccountRow).where(AccountRow.username == name))
                return (row.id, row.password_hash, row.disabled) if row else None
        found = await self.db.read(_load)
        stored = found[1] if found else None
        ok = await self.check_password(stored, password)
        if not ok or found is None or found[2]:
            return None
        account_id = found[0]
        rehash = None
        if stored and needs_rehash(stored):
            async with self._hash_slots:
                rehash = await asyncio.to_thread(hash_password, password)
        now = self.clock()

        def _touch() -> Account:
            with self.db.session() as s:
                row = s.get(AccountRow, account_id)
                assert row is not None
                row.last_login_at = now
                if rehash:
                    row.password_hash = rehash
                s.commit()
                return _account(row)
        return await self.db.read(_touch)

    async def touch_login(self, account_id: int) -> None:
        now = self.clock()

        def _touch() -> None:
            with self.db.session() as s:
                s.execute(update(AccountRow).where(AccountRow.id == account_id).values(last_login_at=now))
                s.commit()
        await self.db.read(_touch)

    # ------------------------------------------------------------------ web sessions
    async def open_session(self, account_id: int, *, via: str = "password", remote: str | None = None) -> str:
        """A new session; returns the cookie value (stored hashed)."""
        sid = secrets.token_urlsafe(32)
        now = self.clock()

        def _open() -> None:
            with self.db.session() as s:
                s.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < now))
                s.add(WebSessionRow(id_hash=digest(sid), account_id=account_id, csrf=secrets.token_urlsafe(24),
                                    via=via, created_at=now, expires_at=now + self.session_ttl,
                                    remote=(remote or "")[:64] or None))
                s.commit()
        await self.db.read(_open)
        return sid

    async def session(self, sid: str | None) -> WebSession | None:
        """The live session of this cookie value (not expired, account enabled), or None."""
        if not sid or len(sid) > 128:
            return None
        now = self.clock()

        def _get() -> WebSession | None:
            with self.db.session() as s:
                found = s.execute(select(WebSessionRow, AccountRow)
                                  .join(AccountRow, AccountRow.id == WebSessionRow.account_id)
                                  .where(WebSessionRow.id_hash == digest(sid))).first()
                if found is None:
                    return None
                ws, acc = found
                if ws.expires_at <= now or acc.disabled:
                    return None
                return WebSession(_account(acc), ws.csrf, ws.via, ws.expires_at)
        return await self.db.read(_get)

    async def close_session(self, sid: str | None) -> None:
        if not sid:
            return

        def _close() -> None:
            with self.db.session() as s:
                s.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == digest(sid)))
                s.commit()
        await self.db.read(_close)

    async def close_all_sessions(self, account_id: int) -> int:
        """Log the account out everywhere; returns how many sessions ended."""
        def _close() -> int:
            with self.db.session() as s:
                n = _rowcount(s.execute(delete(WebSessionRow).where(WebSessionRow.account_id == account_id)))
                s.commit()
                return int(n or 0)
        return await self.db.read(_close)

    async def session_count(self, account_id: int) -> int:
        now = self.clock()

        def _count() -> int:
            with self.db.session() as s:
                return int(s.scalar(select(func.count()).select_from(WebSessionRow).where(
                    WebSessionRow.account_id == account_id, WebSessionRow.expires_at > now)) or 0)
        return await self.db.read(_count)

    # ------------------------------------------------------------------ personal API tokens
    async def create_token(self, account_id: int, name: str, *, expires_at: datetime | None = None) -> tuple[str, ApiToken]:
        """A new API token; the secret is returned once and stored hashed."""
        label = re.sub(r"[^\w .@-]", "", name.strip())[:64] or "token"
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()

        def _create() -> ApiToken:
            with self.db.session() as s:
                if s.get(AccountRow, account_id) is None:
                    raise AccountError("Akun tidak ditemukan.")
                row = ApiTokenRow(account_id=account_id, name=label, token_hash=digest(secret),
                                  prefix=secret[:10], created_at=now, expires_at=expires_at)
                s.add(row)
                s.commit()
                return _token(row)
        return secret, await self.db.read(_create)

    async def token_account(self, secret: str) -> tuple[Account, ApiToken] | None:
        """The account behind a bearer token (active, unexpired, account enabled), or None."""
        if not secret.startswith(TOKEN_PREFIX) or not MIN_TOKEN_LENGTH <= len(secret) <= 128:
            return None
        now = self.clock()

        def _get() -> tuple[Account, ApiToken] | None:
            with self.db.session() as s:
                found = s.execute(select(ApiTokenRow, AccountRow)
                                  .join(AccountRow, AccountRow.id == ApiTokenRow.account_id)
                                  .where(ApiTokenRow.token_hash == digest(secret))).first()
                if found is None:
                    return None
                tok, acc = found
                if tok.revoked_at is not None or acc.disabled or (tok.expires_at is not None and tok.expires_at <= now):
                    return None
                if tok.last_used_at is None or now - tok.last_used_at > timedelta(minutes=1):
                    tok.last_used_at = now
                    s.commit()
                return _account(acc), _token(tok)
        return await self.db.read(_get)

    async def tokens(self, account_id: int | None = None) -> list[ApiToken]:
        def _list() -> list[ApiToken]:
            with self.db.session() as s:
                q = select(ApiTokenRow).order_by(ApiTokenRow.id.desc())
                if account_id is not None:
                    q = q.where(ApiTokenRow.account_id == account_id)
                return [_token(r) for r in s.scalars(q)]
        return await self.db.read(_list)

    async def revoke_token(self, token_id: int, *, account_id: int | None = None) -> bool:
        """Revoke a token (of ``account_id`` only, if given); False if there was none to revoke."""
        now = self.clock()

        def _revoke() -> bool:
            with self.db.session() as s:
                q = update(ApiTokenRow).where(ApiTokenRow.id == token_id, ApiTokenRow.revoked_at.is_(None))
                if account_id is not None:
                    q = q.where(ApiTokenRow.account_id == account_id)
                n = _rowcount(s.execute(q.values(revoked_at=now)))
                s.commit()
                return bool(n)
        return await self.db.read(_revoke)

    # ------------------------------------------------------------------ failed logins: back-off
    async def wait_before_attempt(self, username: str | None, address: str | None) -> float:
        """Seconds this name or address must wait before its next login (0 = go ahead).
        Attempts still being checked count as failures, so parallel guesses are limited too."""
        keys = _attempt_keys(username, address)
        now = self.clock()

        def _wait() -> float:
            with self.db.session() as s:
                worst = 0.0
                for key, free in keys:
                    rows = s.execute(select(LoginAttemptRow.at, LoginAttemptRow.ok)
                                     .where(LoginAttemptRow.key == key, LoginAttemptRow.at > now - ATTEMPT_WINDOW)
                                     .order_by(LoginAttemptRow.at.desc(), LoginAttemptRow.id.desc()).limit(500)).all()
                    failures = list(itertools.takewhile(lambda r: not r.ok, rows))
                    if len(failures) < free:
                        continue
                    delay = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** min(len(failures) - free, 20))
                    worst = max(worst, (failures[0].at + timedelta(seconds=delay) - now).total_seconds())
                return worst
        return await self.db.read(_wait)

    async def begin_attempt(self, username: str | None, address: str | None) -> list[int]:
        """Record an attempt (a failure until :meth:`succeeded` says otherwise)."""
        keys = _attempt_keys(username, address)
        now = self.clock()
        sweep = next(self._attempts) % 200 == 0

        def _begin() -> list[int]:
            with self.db.session() as s:
                if sweep:
                    s.execute(delete(LoginAttemptRow).where(LoginAttemptRow.at < now - timedelta(days=1)))
                rows = [LoginAttemptRow(key=key, at=now, ok=False) for key, _ in keys]
                s.add_all(rows)
                s.commit()
                return [r.id for r in rows]
        return await self.db.read(_begin)

    async def succeeded(self, attempt_ids: list[int]) -> None:
        def _ok() -> None:
            with self.db.session() as s:
                s.execute(update(LoginAttemptRow).where(LoginAttemptRow.id.in_(attempt_ids)).values(ok=True))
                s.commit()
        await self.db.read(_ok)

    # ------------------------------------------------------------------ the first admin
    async def create_setup_token(self, ttl: timedelta = SETUP_TTL) -> str:
        """A one-time secret for the first-admin link (stored hashed, expires)."""
        secret = secrets.token_urlsafe(24)
        now = self.clock()

        def _create() -> None:
            with self.db.session() as s:
                s.execute(delete(SetupTokenRow).where(SetupTokenRow.expires_at < now))
                s.add(SetupTokenRow(token_hash=digest(secret), created_at=now, expires_at=now + ttl))
                s.commit()
        await self.db.read(_create)
        return secret

    async def setup_token_valid(self, secret: str) -> bool:
        now = self.clock()

        def _valid() -> bool:
            with self.db.session() as s:
                row = s.get(SetupTokenRow, digest(secret))
                if row is None or row.used_at is not None or row.expires_at <= now:
                    return False
                return not s.scalar(select(func.count()).select_from(AccountRow).where(
                    AccountRow.role == "admin", AccountRow.disabled.is_(False)))
        return await self.db.read(_valid)

    async def create_first_admin(self, secret: str, username: str, password: str) -> Account:
        """Use a setup link: creates the first admin if the link is valid and unused and no
        admin exists yet (then every other setup link stops working too)."""
        name = self._check_name(username)
        hashed = await self._hash(password, name)
        now = self.clock()

        def _create() -> Account:
            with self.db.session() as s:
                row = s.get(SetupTokenRow, digest(secret))
                if row is None or row.used_at is not None or row.expires_at <= now:
                    raise AccountError("Tautan penyiapan tidak berlaku atau sudah dipakai.")
                # one statement, so the check and the marker's key agree (see below)
                admins = list(s.scalars(select(AccountRow.disabled).where(AccountRow.role == "admin")))
                if not all(admins):
                    raise AccountError("Admin pertama sudah dibuat. Silakan masuk.")
                used = _rowcount(s.execute(update(SetupTokenRow).where(SetupTokenRow.token_hash == row.token_hash,
                                                             SetupTokenRow.used_at.is_(None))
                                 .values(used_at=now)))
                if not used:
                    raise AccountError("Tautan penyiapan tidak berlaku atau sudah dipakai.")
                # two links used at once (two processes): both saw the same admins, so both insert
                # the same marker row and the second fails on its key (or waits for the first)
                s.add(SetupTokenRow(token_hash=f"first-admin:{len(admins)}", created_at=now,
                                    expires_at=now + timedelta(days=365 * 100), used_at=now))
                acc = AccountRow(username=name, role="admin", password_hash=hashed, disabled=False,
                                 created_at=now, password_changed_at=now, last_login_at=now)
                s.add(acc)
                try:
                    s.commit()
                except IntegrityError:
                    s.rollback()
                    taken = s.scalar(select(AccountRow.id).where(AccountRow.username == name)) is not None
                    raise AccountError(f"Nama pengguna {name!r} sudah dipakai." if taken
                                       else "Admin pertama sudah dibuat. Silakan masuk.") from None
                return _account(acc)
        return await self.db.read(_create)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _check_name(username: str) -> str:
        name = normalise_username(username)
        if not USERNAME_RE.fullmatch(name):
            raise AccountError("Nama pengguna 2-64 karakter: huruf kecil, angka, titik, garis bawah atau tanda hubung.")
        return name

    async def check_password(self, stored: str | None, password: str) -> bool:
        """Argon2 verification off the loop, a bounded number at once (``stored=None``: the
        same work, False)."""
        async with self._hash_slots:
            return await asyncio.to_thread(verify_password, stored, password)

    async def _hash(self, password: str, username: str) -> str:
        try:
            check_strength(password, username)
        except WeakPassword as exc:
            raise AccountError(str(exc)) from None
        async with self._hash_slots:
            return await asyncio.to_thread(hash_password, password)

    @staticmethod
    def _row(s: Session, name: str) -> AccountRow:
        row = s.scalar(select(AccountRow).where(AccountRow.username == name))
        if row is None:
            raise AccountError(f"Akun {name!r} tidak ditemukan.")
        return row


def _rowcount(result: object) -> int:
    return int(result.rowcount or 0) if isinstance(result, CursorResult) else 0


def _attempt_keys(username: str | None, address: str | None) -> list[tuple[str, int]]:
    keys: list[tuple[str, int]] = []
    if username:
        keys.append(("user:" + normalise_username(username)[:150], FREE_FAILURES_PER_USER))
    if address:
        keys.append(("addr:" + address[:150], FREE_FAILURES_PER_ADDRESS))
    return keys
