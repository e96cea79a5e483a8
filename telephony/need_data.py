"""The sans-IO codecs' "give me more bytes" answer, shared by all three codecs."""

from __future__ import annotations

import enum

__all__ = ["NEED_DATA", "NeedData"]


class NeedData(enum.Enum):
    """``next_event()`` returns ``NEED_DATA`` until more bytes are fed (``ev is NEED_DATA``)."""

    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData.NEED_DATA
