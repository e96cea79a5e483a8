"""Error types shared by the telephony codecs.

Modelled on h11: :class:`ProtocolError` means the *peer* broke the protocol (bad bytes on the
wire); :class:`LocalProtocolError` means *we* misused a codec (sent a command while another is
pending, put a newline into an argument, ...). Both derive from :class:`TelephonyProtocolError`
so callers can catch either in one place.
"""

from __future__ import annotations


class TelephonyProtocolError(Exception):
    """Base class of all codec errors."""


class ProtocolError(TelephonyProtocolError):
    """The remote peer violated the protocol; the connection must be closed."""


class LocalProtocolError(TelephonyProtocolError):
    """The local code used a codec wrongly (a bug on our side, not the peer's)."""
