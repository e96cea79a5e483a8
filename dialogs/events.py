"""Events the runtime (ivr) sends into the dialog engine."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CallStarted:
    """The call is answered. Alternative to `DialogEngine.start()` when variables are known.

    caller_number: caller id as given by Asterisk (any form; the engine keeps it only if it
    is a plausible Indonesian number, normalised to 08... / 0xx...). call_id: the runtime's
    id for logs and tickets. today: ISO date (YYYY-MM-DD) for date checks; the engine has no
    clock of its own. variables: extra values scripts may use (must be declared there).
    """

    caller_number: str | None = None
    call_id: str | None = None
    today: str | None = None
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Heard:
    """The caller said something. intent given: decided by the runtime from the audio."""

    text: str
    confidence: float = 1.0
    intent: str | None = None
    slots: dict[str, str] | None = None
    #: the runtime's emergency reading of the audio (dialogs.emergency): "now" (act at once),
    #: "maybe" (borderline: ask "Apakah ini keadaan darurat?"), "near" (some weight: a confirmation
    #: question names the emergency number first), "" (not judged or none)
    emergency: str = ""


@dataclass(frozen=True)
class Pressed:
    """Keys pressed, as one string ("1", "3201014508950001", "#")."""

    digits: str


@dataclass(frozen=True)
class NoInput:
    """The Listen timed out without speech or keys."""


@dataclass(frozen=True)
class PlaybackDone:
    """A Say finished playing (informational; the engine does not need it)."""

    prompt_id: str | None = None


@dataclass(frozen=True)
class TransferFailed:
    """The Transfer could not be completed. reason: "no_agents" | "closed_hours" | "error"."""

    reason: str = "error"


@dataclass(frozen=True)
class TicketCreated:
    """Answer to CreateTicket: the ticket number as people write it (the caller may key it
    in later, so digits, grouped with dashes if it has groups: "2611-00042-7"). It becomes the
    ``{ticket_id}`` variable, shown as is and read aloud group by group."""

    ticket_id: str


@dataclass(frozen=True)
class TicketStatus:
    """Answer to LookupTicket. status None: no such ticket. ticket_id: the number looked up, as
    people write it; it becomes ``{ticket_id}`` (found or not) for the prompts that follow.

    status: a short code ("open", "in_progress", "resolved", "closed", "rejected") or
    any text; updated: ISO date/time of the last change, or None.
    """

    ticket_id: str
    status: str | None
    updated: str | None = None


#: how a slot's value shows the words in it were cut off by the caller hanging up
CUT_MARK = " …"


@dataclass(frozen=True)
class CutAnswer:
    """Words the caller was saying when they hung up: recognised after the line dropped, never
    given to the dialog as a `Heard` (nothing is acted on after a hang-up).

    state: the state whose listen the words were said in; text: the words as recognised (clear;
    a trailing `CUT_MARK` is allowed, so that what masks them on the way knows them cut short,
    and the engine marks them cut either way); follows: they continue the answer the dialog
    last took in ``state`` (the caller went on after it, the runtime joining both, and the
    line dropped meanwhile), so the dialog may have moved on from ``state`` already.
    """

    state: str
    text: str
    follows: bool = False


@dataclass(frozen=True)
class Hangup:
    """The caller hung up. cut: what they were saying at that moment, if the runtime recognised
    any; the engine keeps it only as the free-text answer of the listen it was said in (never a
    number, a yes/no, a menu choice or a name cut short; never acted on)."""

    cut: CutAnswer | None = None


Event = CallStarted | Heard | Pressed | NoInput | PlaybackDone | TransferFailed | TicketCreated | TicketStatus | Hangup
