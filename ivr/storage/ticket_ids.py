"""Public ticket numbers: ten digits a caller can say and key in, with a check digit.

``YYMM SSSSS C``: year and month of filing, a five-digit serial within that month, and a
Damm check digit (catches every single-digit error and every swap of adjacent digits).
Written ``2611-00042-7`` wherever people read it (CLI, web pages, logs, the hotline's
prompt text, read aloud group by group); stored, keyed and used as the machine key (URLs,
JSON ``public_id``) as ``2611000427``; both forms are accepted as input. Serials 00001-89999
are allocated by the database; 90000-99999 are reserved for tickets filed while the database
was down (allocated from the local outbox, see :mod:`ivr.storage.outbox`), split by node
(``IVR_NODE_ID`` 0-9: node *n* numbers 9n000-9n999), so hosts that file tickets during the same
outage never give out the same number; processes on one host share the host's counter.
"""

from __future__ import annotations

import re
from datetime import datetime

__all__ = ["damm", "make_ticket_id", "parse_ticket_id", "format_ticket_id", "period_of",
           "OFFLINE_SERIAL_START", "MAX_SERIAL", "offline_range"]

OFFLINE_SERIAL_START = 90000
MAX_SERIAL = 99999
#: offline serials per node and month
NODE_BLOCK = 1000
MAX_NODE_ID = (MAX_SERIAL + 1 - OFFLINE_SERIAL_START) // NODE_BLOCK - 1


def offline_range(node_id: int) -> tuple[int, int]:
    """The offline serials of node ``node_id`` (first, last), e.g. node 3: 93000-93999."""
    if not 0 <= node_id <= MAX_NODE_ID:
        raise ValueError(f"node id must be 0-{MAX_NODE_ID}, not {node_id}")
    first = OFFLINE_SERIAL_START + node_id * NODE_BLOCK
    return first, first + NODE_BLOCK - 1

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def damm(digits: str) -> int:
    """Damm check digit of a digit string (appending it makes damm(...) == 0)."""
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][int(ch)]
    return interim


def period_of(when: datetime) -> str:
    return when.strftime("%y%m")


def make_ticket_id(period: str, serial: int) -> str:
    if not (len(period) == 4 and period.isdigit()):
        raise ValueError(f"bad period {period!r}")
    if not 0 < serial <= MAX_SERIAL:
        raise ValueError(f"serial out of range: {serial}")
    body = f"{period}{serial:05d}"
    return body + str(damm(body))


def parse_ticket_id(text: str) -> str | None:
    """Canonical 10-digit id from what a person typed or said (dashes, spaces ok);
    None if it is not a valid ticket number (wrong length or check digit)."""
    digits = re.sub(r"[\s\-./]", "", text or "")
    if not re.fullmatch(r"\d{10}", digits):
        return None
    if damm(digits) != 0:
        return None
    return digits


def format_ticket_id(ticket_id: str) -> str:
    """The one written form for people: ``2611000427`` (or ``2611 00042 7``) -> ``2611-00042-7``.

    Any ten digits are grouped so (a mistyped number is shown the way it would be written);
    anything else is returned as given. Speech reads the groups: "dua enam satu satu, nol nol
    nol empat dua, tujuh" (tts.textprep reads dash-separated digit groups group by group)."""
    digits = re.sub(r"[\s\-./]", "", ticket_id or "")
    if not re.fullmatch(r"\d{10}", digits):
        return ticket_id
    return f"{digits[:4]}-{digits[4:9]}-{digits[9]}"
