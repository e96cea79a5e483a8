"""Sample Asterisk 20/22 configuration for the hotline (package data)."""

from pathlib import Path


def config_dir() -> Path:
    """Directory holding extensions.conf, queues.conf, manager.conf, pjsip.conf, modules.conf,
    musiconhold.conf and logger.conf."""
    return Path(__file__).resolve().parent
