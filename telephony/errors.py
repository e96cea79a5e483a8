"""Error types shared by the telephony codecs and servers.

Protocol errors follow h11: :class:`ProtocolError` is the base; :class:`RemoteProtocolError`
means the *peer* broke the protocol (bad bytes on the wire: close the connection) and
:class:`LocalProtocolError` means *we* misused a codec (sent a command while another is
pending, put a newline into an argument, ...: a bug on our side).

Hang-ups form one family: :class:`CallerHangup` is the base of every "the caller, or the
call's connection, is gone" exception (``telephony.AgiHangup`` for the AGI session,
``telephony.ChannelClosed`` for the AudioSocket media), so a call runtime catches
``CallerHangup`` only.
"""

from __future__ import annotations

__all__ = ["ProtocolError", "RemoteProtocolError", "LocalProtocolError", "CallerHangup"]


class ProtocolError(Exception):
    """Base class of all codec errors."""


class RemoteProtocolError(ProtocolError):
    """The remote peer violated the protocol; the connection must be closed."""


class LocalProtocolError(ProtocolError):
    """The local code used a codec wrongly (a bug on our side, not the peer's)."""


class CallerHangup(Exception):
    """The caller hung up, or the call's connection is gone (or never came up)."""
