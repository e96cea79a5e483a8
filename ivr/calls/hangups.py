"""The exceptions that mean "the caller is gone" (hung up, or the call's connection closed).

TODO(R1 merge): collapse :data:`CALLER_GONE` to ``(telephony.CallerHangup,)`` and let
:class:`MediaHangup` derive from it; this module is the only place that lists them.
"""

from __future__ import annotations

from telephony import AgiHangup, ChannelClosed


class MediaHangup(Exception):
    """Raised by the media (:mod:`ivr.calls.media`) once the caller hung up or the media
    connection is gone."""


#: catch these (and only these) where a hang-up ends what the call was doing
CALLER_GONE: tuple[type[Exception], ...] = (AgiHangup, ChannelClosed, MediaHangup)
