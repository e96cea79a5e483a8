"""Sample Asterisk 20/22 configuration for the hotline (package data)."""

from pathlib import Path


def config_dir() -> Path:
    """Directory holding extensions.conf, queues.conf, manager.conf, pjsip.conf, modules.conf,
    musiconhold.conf and logger.conf."""
    return Path(__file__).resolve().parent


def sounds_dir() -> Path:
    """Recorded prompts that the dialplan itself plays (copy its subfolders into Asterisk's
    sounds directory): hotline/maaf-gangguan.wav, the apology when the controller fails."""
    return config_dir() / "sounds"
