"""Actions the dialog engine asks the runtime to perform, in order."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Say:
    """Speak `text` (final: variables substituted, numbers to read digit by digit already
    spelled out). static=True: no variables, so it can come from the prompt cache.
    audio_file: a pre-recorded file for this prompt (its text is `text`)."""

    text: str
    prompt_id: str | None = None
    audio_file: str | None = None
    barge_in: bool = True
    static: bool = True


@dataclass(frozen=True)
class Listen:
    """Wait for the caller. Always the last action of a batch.

    kind: "intent" | "yesno" | "choice" | "digits" | "nik" | "phone" | "date" | "ticket" |
    "plate" | "free". expect: label -> example phrases (intent ids, "yes"/"no", choice
    options, and the global intents) for constrained scoring. dtmf: key -> label it means.
    max_digits: keys to collect before answering (1 for menus; '#' ends early).
    """

    state: str
    kind: str
    expect: dict[str, list[str]] = field(default_factory=dict)
    slot: str | None = None
    dtmf: dict[str, str] = field(default_factory=dict)
    max_digits: int | None = None
    timeout_s: float = 7.0
    barge_in: bool = True


@dataclass(frozen=True)
class Transfer:
    """Hand the call to agents in `queue`. The runtime answers with TransferFailed(reason)
    if it cannot; otherwise the engine's part of the call is over."""

    queue: str
    reason: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CreateTicket:
    """Store a ticket (kind "complaint", "callback", ...). Answer: TicketCreated(ticket_id)."""

    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LookupTicket:
    """Find a ticket. Answer: TicketStatus(ticket_id, status | None, updated)."""

    ticket_id: str


@dataclass(frozen=True)
class EndCall:
    """Hang up after the preceding Says have played."""

    reason: str


Action = Say | Listen | Transfer | CreateTicket | LookupTicket | EndCall


def action_to_dict(action: Action) -> dict[str, Any]:
    d = asdict(action)
    d["type"] = type(action).__name__
    return d
