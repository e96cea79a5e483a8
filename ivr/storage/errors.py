"""The store's errors."""

from __future__ import annotations


class StoreError(Exception):
    """Invalid request to the store (unknown ticket, bad status...)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached and the read cannot be served from the journal."""


class DatabaseTimeout(Exception):
    """The database did not answer within the operation's deadline (treated as unavailable)."""
