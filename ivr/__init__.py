"""The hotline application: joins telephony, speech and dialogs."""

__version__ = "0.1.0"
