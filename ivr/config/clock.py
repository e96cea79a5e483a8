"""The time of day, as one injectable function.

Everything that stamps a record or decides by the calendar (ticket numbers begin with the year
and month, SLA deadlines, office hours, "today" for the dialog) asks a :data:`Clock` instead
of the system, so tests run the hotline at any date they choose and never depend on the day
they are run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

#: returns the current time as an aware datetime (UTC)
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The machine's time, in UTC."""
    return datetime.now(timezone.utc)


def fixed_clock(at: datetime) -> Clock:
    """A clock stopped at ``at`` (aware), for tests."""
    if at.tzinfo is None:
        raise ValueError("fixed_clock needs an aware datetime")
    frozen = at.astimezone(timezone.utc)
    return lambda: frozen
