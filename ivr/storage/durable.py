"""Durable appends for the journals (the write journal and the calls' journals): a line is on
disk, fsynced, before the call goes on; a new file's directory entry is fsynced too."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a file just created or renamed) survive a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append_synced(path: Path, line: bytes) -> None:
    """Append ``line`` to ``path`` (created with mode 0600) and fsync it, and its directory when
    the file is new. On failure (disk full...) nothing of ``line`` stays in the file."""
    new = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        try:
            view = memoryview(line)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        except OSError:
            # a full disk may take part of the line: cut it off, so the next append (once
            # there is room) does not glue itself to a torn line
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)
    if new:
        fsync_dir(path.parent)
