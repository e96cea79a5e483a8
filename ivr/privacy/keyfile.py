"""The personal-data key when ``IVR_PII_KEY`` is not set: a key file under the data directory,
created on first start with mode 0600 (owner read/write only).

The key stays apart from the database (a dump or a copy of the database alone cannot decrypt
callback numbers); an operator who keeps the database elsewhere, or wants the key in a secret
store, sets ``IVR_PII_KEY`` instead, and the file is not used.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from pathlib import Path

__all__ = ["load_or_create_key", "KEY_FILE_NAME"]

log = logging.getLogger(__name__)

KEY_FILE_NAME = "pii.key"


def load_or_create_key(path: Path) -> str:
    """The urlsafe-base64 32-byte key in ``path``; a new one (0600) if the file does not exist.
    A file readable by others is refused (ValueError): its key cannot be trusted to be private."""
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ValueError(f"the key file {path} is readable by others (mode {mode:o}); chmod 600 it")
        key = path.read_text(encoding="ascii").strip()
        if len(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))) != 32:
            raise ValueError(f"the key file {path} does not hold a 32-byte key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (key + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    log.warning("created a new personal-data key in %s: back it up apart from the database", path)
    return key
