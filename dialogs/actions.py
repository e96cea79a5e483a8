"""Actions the dialog engine asks the runtime to perform, in order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import Literal, TypedDict

ExpectKind = Literal["intent", "yesno", "digits", "free"]

# Listen kind -> what a recognizer is asked to expect (asr.Expectation.kind): the one mapping.
# A plate ("B 1234 XYZ") mixes letters and digits: a "digits" expectation lets a recognizer
# narrow to number words (Vosk's grammar, Whisper's digit vocabulary) and lose the letters, so
# plates are transcribed freely and parsed by the engine (dialogs.slots.parse_slot).
EXPECT_KINDS: Mapping[str, ExpectKind] = MappingProxyType({
    "intent": "intent", "choice": "intent", "yesno": "yesno",
    "digits": "digits", "nik": "digits", "phone": "digits", "date": "digits", "ticket": "digits",
    "plate": "free", "free": "free",
})


@dataclass(frozen=True)
class Say:
    """Speak `text` (final: variables substituted, numbers to read digit by digit already
    spelled out). static=True: no variables, so it can come from the prompt cache.
    audio_file: a pre-recorded file for this prompt (its text is `text`).
    record: the prompt as records keep it when it says personal data (`dialogs.personal`): its
    text with each personal variable left as "{name}"; `personal` gives (name, kind, value) of
    each, for the runtime to mask or encrypt. None when the prompt says nothing personal."""

    text: str
    prompt_id: str | None = None
    audio_file: str | None = None
    barge_in: bool = True
    static: bool = True
    record: str | None = None
    personal: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class Listen:
    """Wait for the caller. Always the last action of a batch.

    kind: "intent" | "yesno" | "choice" | "digits" | "nik" | "phone" | "date" | "ticket" |
    "plate" | "free". expect: label -> example phrases (intent ids, "yes"/"no", choice
    options, and the global intents) for constrained scoring. dtmf: key -> label it means.
    max_digits: keys to collect before answering (1 for menus; '#' ends early).
    navigation: the labels of `expect` that lead into a sub-menu (`Script.navigation`), which
    a recognizer should not let outweigh the services offered beside them.
    """

    state: str
    kind: str
    expect: dict[str, list[str]] = field(default_factory=dict)
    slot: str | None = None
    dtmf: dict[str, str] = field(default_factory=dict)
    max_digits: int | None = None
    timeout_s: float = 7.0
    barge_in: bool = True
    navigation: frozenset[str] = frozenset()

    @property
    def expect_kind(self) -> ExpectKind:
        """What the recognizer should expect: "intent" | "yesno" | "digits" | "free"."""
        return EXPECT_KINDS.get(self.kind, "intent")


class TransferContext(TypedDict, total=False):
    """What the agent is told about the call (all keys optional)."""

    state: str | None
    reason: str
    intent: str | None
    confidence: float | None
    variables: dict[str, str]
    path: list[str]


@dataclass(frozen=True)
class Transfer:
    """Hand the call to agents in `queue`. The runtime answers with TransferFailed(reason)
    if it cannot; otherwise the engine's part of the call is over."""

    queue: str
    reason: str
    context: TransferContext = field(default_factory=lambda: TransferContext())


@dataclass(frozen=True)
class CreateTicket:
    """Store a ticket (kind "complaint", "callback", ...). Answer: TicketCreated(ticket_id).

    fields: the script's rendered fields (text); a ticket filed because the caller hung up
    inside a flow (`flows.<id>.on_hangup`) also has ``incomplete: True`` and ``stopped_at``
    (the state the caller was in)."""

    kind: str
    fields: dict[str, str | bool] = field(default_factory=dict)


@dataclass(frozen=True)
class LookupTicket:
    """Find a ticket. Answer: TicketStatus(ticket_id, status | None, updated)."""

    ticket_id: str


@dataclass(frozen=True)
class EndCall:
    """Hang up after the preceding Says have played."""

    reason: str


Action = Say | Listen | Transfer | CreateTicket | LookupTicket | EndCall


def action_to_dict(action: Action) -> dict[str, object]:
    d = asdict(action)
    d["type"] = type(action).__name__
    if isinstance(action, Listen):
        d["navigation"] = sorted(action.navigation)   # JSON has no sets
    return d
