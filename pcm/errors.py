"""The one error of the pcm package."""

from __future__ import annotations


class PcmError(ValueError):
    """Audio that cannot be used: an odd byte count, a bad rate, an unreadable WAV file."""
