"""Dialog scripts for the hotline: script format and loader, a pure dialog engine,
Indonesian language helpers and intent matching. Imports nothing from the other packages."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from collections.abc import Collection

from dialogs.actions import Action, CreateTicket, EndCall, Listen, LookupTicket, Say, Transfer
from dialogs.engine import DialogEngine, Snapshot, TurnResult
from dialogs.errors import ScriptError, ScriptIssue
from dialogs.events import (
    CallStarted,
    CutAnswer,
    Event,
    Hangup,
    Heard,
    NoInput,
    PlaybackDone,
    Pressed,
    TicketCreated,
    TicketStatus,
    TransferFailed,
)
from dialogs.loader import load_script
from dialogs.matcher import IntentMatcher, Match
from dialogs.model import Flow, HangupTicket, Script
from dialogs.slots import parse_slot


def default_script_path() -> Path:
    """The default Indonesian public-service script shipped with the package."""
    return Path(str(resources.files("dialogs") / "scripts" / "default.yaml"))


@lru_cache(maxsize=4)
def _cached_script(path: str) -> Script:
    return load_script(path)


def match_intent(text: str, candidates: Collection[str] | None = None, script: Script | None = None) -> Match:
    """Match `text` against the intents of `script` (default script if None)."""
    sc = script or _cached_script(str(default_script_path()))
    return sc.matcher.match(text, candidates)


__all__ = [
    "Action", "CallStarted", "CreateTicket", "CutAnswer", "DialogEngine", "EndCall", "Event", "Flow", "Hangup",
    "HangupTicket", "Heard", "IntentMatcher", "Listen", "LookupTicket", "Match", "NoInput",
    "PlaybackDone", "Pressed", "Say", "Script", "ScriptError", "ScriptIssue", "Snapshot",
    "TicketCreated", "TicketStatus", "Transfer", "TransferFailed", "TurnResult",
    "default_script_path", "load_script", "match_intent", "parse_slot",
]
