"""Password hashing for staff accounts: Argon2id (argon2-cffi) with OWASP's parameters
(19 MiB, 2 passes, 1 lane), rehash when the parameters change, and a dummy verification for
unknown users so that a login takes about as long whether or not the name exists.

One lane, so a login costs at most one core for about 10-20 ms (unloaded) and never competes
with the calls' speech recognition for both cores; callers run these functions off the event
loop (``asyncio.to_thread``) and bound how many run at once (:mod:`ivr.storage.accounts`)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: shorter passwords are refused (NIST SP 800-63B: at least 8; we ask a little more)
MIN_PASSWORD_LENGTH = 10
#: longer ones too: hashing megabytes of "password" is a cheap way to load the server
MAX_PASSWORD_LENGTH = 256

#: OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY = _HASHER.hash("not a real password, only spends the time of a verification")


class WeakPassword(ValueError):
    """The password does not meet the length rules (message in Indonesian, for staff)."""


def check_strength(password: str, username: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"Kata sandi minimal {MIN_PASSWORD_LENGTH} karakter.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"Kata sandi maksimal {MAX_PASSWORD_LENGTH} karakter.")
    if username and password.strip().lower() == username.strip().lower():
        raise WeakPassword("Kata sandi tidak boleh sama dengan nama pengguna.")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True if ``password`` matches ``stored``; with no stored hash, spends the same time and
    returns False."""
    if len(password) > MAX_PASSWORD_LENGTH:
        password = password[:MAX_PASSWORD_LENGTH + 1]
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return False
