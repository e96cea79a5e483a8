"""The process' open-files limit, and how many connections it allows.

Every FastAGI session and every AudioSocket connection holds a file descriptor; a call holds
two. With the common soft limit of 1,024 about a thousand quiet connections exhaust the
process, after which it can accept nothing at all (not a real call, not a web request). So the
servers raise the soft limit towards the hard one at start (``resource.setrlimit`` allows that
without privileges) and derive their connection cap from what they got.
"""

from __future__ import annotations

import logging
import resource
from dataclasses import dataclass

__all__ = ["OpenFiles", "open_files", "raise_open_files", "connection_cap", "DEFAULT_TARGET", "DEFAULT_RESERVE"]

log = logging.getLogger(__name__)

#: the soft limit asked for at start (never above the hard limit)
DEFAULT_TARGET = 65536
#: descriptors kept for everything else: the web app, the database, models, logs, journals
DEFAULT_RESERVE = 256


@dataclass(frozen=True)
class OpenFiles:
    """``RLIMIT_NOFILE`` as (soft, hard); ``raised_from`` the soft limit before we raised it."""

    soft: int
    hard: int
    raised_from: int | None = None


def open_files() -> OpenFiles:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return OpenFiles(soft, hard)


def raise_open_files(target: int = DEFAULT_TARGET) -> OpenFiles:
    """Raise the soft open-files limit to ``target`` or the hard limit, whichever is lower.

    Never lowers it. If the kernel refuses, the limit stays as it was (logged once)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = target if hard == resource.RLIM_INFINITY else min(target, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-files limit from %d to %d: %s", soft, want, exc)
            return OpenFiles(soft, hard)
        log.info("open-files limit raised from %d to %d (hard limit %d)", soft, want, hard)
        return OpenFiles(want, hard, raised_from=soft)
    return OpenFiles(soft, hard)


def connection_cap(configured: int, *, fds_per_connection: float = 2.0, reserve: int = DEFAULT_RESERVE,
                   limit: OpenFiles | None = None) -> int:
    """``configured``, lowered so that the connections fit in the open-files limit.

    ``fds_per_connection`` is 2 for FastAGI (a call also holds its AudioSocket connection);
    ``reserve`` descriptors stay free for the rest of the process. At least 1."""
    lim = limit or open_files()
    if lim.soft == resource.RLIM_INFINITY:
        return configured
    fits = int(max(0, lim.soft - reserve) / fds_per_connection)
    return max(1, min(configured, fits))
