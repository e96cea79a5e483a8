"""The exceptions that mean "the caller is gone" (hung up, or the call's connection closed).

One family: :class:`telephony.CallerHangup` is the base of ``telephony.AgiHangup`` (the AGI
session), ``telephony.ChannelClosed`` (the AudioSocket media) and :class:`MediaHangup` (the call
media of :mod:`ivr.calls.media`).
"""

from __future__ import annotations

from telephony import CallerHangup


class MediaHangup(CallerHangup):
    """Raised by the media (:mod:`ivr.calls.media`) once the caller hung up or the media
    connection is gone."""


#: catch this (and only this) where a hang-up ends what the call was doing
CALLER_GONE: tuple[type[Exception], ...] = (CallerHangup,)
