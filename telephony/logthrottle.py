"""At most one log line per interval for a condition that can repeat thousands of times.

A flood of hostile connections, a burst of keys nobody reads or a process out of file
descriptors must not turn the log into the problem: the first occurrence is logged as it is,
the following ones within ``interval`` seconds are only counted, and the count goes with the
next line (or with :meth:`LogThrottle.flush`).
"""

from __future__ import annotations

import logging
import time
from typing import Callable

__all__ = ["LogThrottle"]


class LogThrottle:
    """``throttle.log(level, msg, *args)`` logs at most once per ``interval`` seconds."""

    __slots__ = ("_log", "interval", "_clock", "_last", "suppressed", "total")

    def __init__(self, logger: logging.Logger, interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = logger
        self.interval = interval
        self._clock = clock
        self._last: float | None = None
        #: occurrences since the last line written
        self.suppressed = 0
        #: occurrences in all
        self.total = 0

    def log(self, level: int, msg: str, *args: object) -> bool:
        """Log ``msg`` unless a line was written less than ``interval`` ago; True if written."""
        self.total += 1
        now = self._clock()
        if self._last is not None and now - self._last < self.interval:
            self.suppressed += 1
            return False
        if self.suppressed:
            msg += " (and %d more like it in the last %.0f s)"
            args = (*args, self.suppressed, now - self._last if self._last is not None else 0.0)
        self._log.log(level, msg, *args)
        self._last = now
        self.suppressed = 0
        return True

    def flush(self, level: int, msg: str, *args: object) -> bool:
        """Report what was counted but not logged (``msg`` gets the count as its last argument)."""
        if not self.suppressed:
            return False
        self._log.log(level, msg, *args, self.suppressed)
        self._last = self._clock()
        self.suppressed = 0
        return True
