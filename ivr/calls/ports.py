"""The typed seams of the call core: what a call needs from each of its parts.

:class:`ivr.calls.session.CallSession` and its collaborators are written against these ports,
never against ``Any``; :mod:`ivr.serve` plugs the real parts in (telephony's AGI session and
AudioSocket server, the media, the store's repositories, the hand-off, the speaker, the
understander). Each port is the *subset* a call uses, so a part can change behind it.

Data that crosses a port is a frozen or plain dataclass defined here (or a leaf package's own:
``dialogs`` actions, ``asr`` transcripts, ``telephony`` results, ``ivr.storage.views``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from asr import RecognitionStream, Transcript
from asr.endpointing import TurnDecision
from dialogs.actions import Listen, Transfer
from ivr.privacy.masking import Personal
from ivr.storage.views import Ticket
from telephony import AgiResult, AgiSession, CallChannel

#: keys a caller can press (DTMF); A-D are never offered by the scripts
KEYPAD = "0123456789*#"


# --------------------------------------------------------------------------- AGI


class AgiPort(Protocol):
    """The FastAGI session as the call's parts use it (``telephony.AgiSession``)."""

    env: dict[str, str]
    args: list[str]
    hung_up: bool

    async def answer(self) -> AgiResult: ...
    async def hangup(self) -> AgiResult: ...
    async def set_variable(self, name: str, value: str) -> AgiResult: ...
    async def stream_file(self, name: str, escape_digits: str = "") -> AgiResult: ...
    async def wait_for_digit(self, timeout_ms: int) -> AgiResult: ...
    async def record_file(self, path: str, fmt: str = "wav", escape_digits: str = "#",
                          timeout_ms: int = 30000, silence_s: int | None = None,
                          beep: bool = False) -> AgiResult: ...


class ChannelOpener(Protocol):
    """Opens the AudioSocket media of a call (``telephony.AudioSocketServer``)."""

    @property
    def advertise(self) -> str: ...

    async def open_channel(self, session: AgiSession, timeout: float = 5.0) -> CallChannel: ...


# --------------------------------------------------------------------------- media


@dataclass
class PlayResult:
    """How one prompt ended."""

    completed: bool  # played to the end
    started_at: float  # monotonic time the first audio byte went out
    ended_at: float
    barged: str | None = None  # "speech" | "dtmf" when the caller interrupted it; "skip" when
    # the skip key ('#') cut it short (the prompts after it still play)
    barge_detected_at: float | None = None  # when the interruption was detected
    barge_onset_at: float | None = None  # when the caller's speech actually began (estimate)
    stopped_at: float | None = None  # when playback was told to stop


@dataclass
class Utterance:
    pcm: bytes
    sample_rate: int
    onset_at: float  # wall (monotonic) time the speech began, estimated from frame arrivals
    end_at: float  # wall time of the end of the last voiced frame (true end of speech)
    detected_at: float  # wall time the endpointer decided the utterance was over
    cut: bool = False  # ended by the maximum length
    over_prompt: bool = False  # began while a prompt that forbids barge-in was playing
    stream: RecognitionStream | None = None  # fed while the caller spoke (None: decode pcm)
    turn: str = "vad"  # what ended it: "vad" (the endpointer's silence), "fixed" (the fixed
    # hangover), the end-of-turn decision's reason (complete, cut, unsure, free, emergency), or
    # "hangup" (under way when the caller hung up: Media.unheard)
    early_at: float | None = None  # wall time the end-of-turn decision first read an early result
    lead: bytes = b""  # caller audio between the previous utterance's end and this one's ``pcm``
    # (what a second look puts between two halves of one turn)

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


@dataclass
class CallerInput:
    """What a listen produced."""

    kind: str  # "speech" | "dtmf" | "noinput"
    utterance: Utterance | None = None
    digits: str = ""
    last_key_at: float | None = None  # wall time of the last key
    waited_s: float = 0.0


@dataclass
class ListenSpec:
    timeout_s: float
    speech: bool = True  # accept speech
    max_digits: int | None = None  # None: keys until the terminator or the inter-digit timeout
    interdigit_s: float = 3.0
    terminator: str = "#"
    max_speech_s: float = 20.0
    keys: bool = True  # take keys; False: keys pressed meanwhile stay queued for the next listen
    # (a joined turn is heard to its end first: see CallSession._rejoin)


#: opens a recognition stream for what the dialog expects next (None: decode utterances whole)
StreamFactory = Callable[[], RecognitionStream | None]
#: the end-of-turn decision on a speculative result and the audio it was decoded from (16-bit
#: PCM at the given sample rate: how the voice ends is read from it), see
#: ``ivr.calls.turn_end.TurnTaking.policy``
TurnPolicy = Callable[[Transcript, bytes, int], TurnDecision]


class Media(Protocol):
    """A call's audio and keys: :mod:`ivr.calls.media.audiosocket` or :mod:`ivr.calls.media.agi`.
    ``play`` and ``listen`` raise a :mod:`ivr.calls.hangups` exception once the caller is gone."""

    sample_rate: int
    hung_up: bool
    #: set by the session before each batch of prompts; media that cannot hear the caller
    #: while a prompt plays (AGI-only) keep it and never call it
    stream_factory: StreamFactory | None
    #: set with ``stream_factory``: decides from the stream's early result when a turn is over
    #: (media without a speculative decoder ignore it)
    turn_policy: TurnPolicy | None
    #: whether :meth:`join` can ever join speech (a second look): the session holds no turn on
    #: media that cannot (AGI-only hears the caller only while a listen records)
    joins: bool

    async def start(self) -> None: ...
    async def play(self, pcm: bytes, *, barge_in: bool, text: str | None = None,
                   typeahead: bool = True) -> PlayResult:
        """Play ``pcm``; with ``barge_in`` the caller's speech or a key stops it. ``typeahead``:
        a key already waiting (pressed before it) stops it before it begins; False: such keys
        wait for the next listen, and only keys pressed while it plays stop it."""
        ...
    async def listen(self, spec: ListenSpec) -> CallerInput: ...
    def drop_pending(self) -> None: ...
    def resumed(self) -> float | None:
        """The onset (wall time) of caller speech begun since the last utterance ``listen``
        returned (under way or waiting), None if none: media that hear the caller only while
        listening answer None."""
        ...

    def keys_waiting(self) -> bool:
        """Whether a key the caller pressed waits for a listen (type-ahead)."""
        ...

    def join(self, first: Utterance) -> bool:
        """Make the speech :meth:`resumed` reports the continuation of ``first``: the next
        ``listen`` returns one utterance from ``first``'s onset (its audio, the pause, the new
        speech), recognised by a new stream of ``stream_factory``. False when there is nothing
        to join (the media then changes nothing)."""
        ...

    def unheard(self) -> Utterance | None:
        """After a hang-up: the oldest caller speech no ``listen`` returned (waiting, else the
        one under way, closed where the caller's audio stopped, ``turn`` "hangup"), taken off
        the media; None if none. Media that hear the caller only while listening answer None."""
        ...

    async def close(self) -> None: ...


# --------------------------------------------------------------------------- understanding, speaking


@dataclass(frozen=True)
class Understood:
    """One spoken turn as the dialog gets it: the transcript, the intent decided, its confidence."""

    text: str
    intent: str | None
    confidence: float
    scores: Mapping[str, float] = field(default_factory=dict)
    slots: Mapping[str, str] | None = None
    probability: float | None = None  # calibrated P(the intent is right) (asr.calibration), when known
    emergency: str = ""  # the emergency detector's reading (dialogs.emergency): "now" (act at
    # once), "maybe" (ask whether it is an emergency), "near" (a confirmation names 112 first),
    # "" (none)
    timings: Mapping[str, float] = field(default_factory=dict)  # where the time went (Transcript.timings)


class Understanding(Protocol):
    """Recognises one utterance with what ``listen`` expects and decides its intent
    (:class:`ivr.calls.understand.Understander`)."""

    async def understand(self, utt: Utterance, listen: Listen) -> Understood: ...

    def decisive(self, listen: Listen) -> Callable[[Transcript], bool] | None:
        """When a recognition stream's first pass is final (``RecognitionStream.enough``)."""
        ...


class SpeakerPort(Protocol):
    """Audio for the dialog's ``Say`` actions (:class:`ivr.calls.speak.Speaker`)."""

    async def pcm(self, text: str, *, static: bool = True, audio_file: str | None = None) -> bytes: ...
    async def wav_path(self, text: str | None, pcm: bytes) -> Path: ...


# --------------------------------------------------------------------------- the store, as calls use it


class CallRecords(Protocol):
    async def create(self, call_id: str | None = None, *, caller: str | None = None,
                     media_mode: str = "audiosocket", script_name: str | None = None,
                     script_version: str | None = None, channel_id: str | None = None,
                     started_at: datetime | None = None) -> str: ...

    async def add_turn(self, call_id: str, index: int, who: str, text: str | None, *, source: str = "speech",
                       intent: str | None = None, confidence: float | None = None, asr_ms: float | None = None,
                       reply_ms: float | None = None, at: datetime | None = None,
                       audio_path: str | None = None, state: str | None = None,
                       outcome: str | None = None, clear: str | None = None,
                       superseded: bool = False, beyond: str | None = None) -> None: ...

    async def close(self, call_id: str, end_reason: str, *, handoff_outcome: str | None = None,
                    ended_at: datetime | None = None, service: str | None = None,
                    end_state: str | None = None) -> None: ...


class TicketRecords(Protocol):
    async def create(self, kind: str, *, category: str | None = None, location: str | None = None,
                     description: str | None = None, reporter_name: str | None = None,
                     reporter_nik: str | None = None, reporter_phone: str | None = None,
                     confidential: bool = False, call_id: str | None = None,
                     extra: dict[str, object] | None = None, client_id: str | None = None,
                     created_at: datetime | None = None, personal: Personal = ()) -> str: ...

    async def get(self, public_id: str, *, reveal: bool = False,
                  deadline_s: float | None = None) -> Ticket | None: ...


class HandoffRecords(Protocol):
    async def record(self, call_id: str, queue: str, *, reason: str | None = None,
                     requested_at: datetime | None = None, handoff_id: str | None = None,
                     outcome: str = "pending") -> str: ...

    async def update(self, handoff_id: str, *, outcome: str, agent: str | None = None,
                     connected_at: datetime | None = None, ended_at: datetime | None = None,
                     hold_s: int | None = None, talk_s: int | None = None,
                     ended_by: str | None = None) -> None: ...

    async def save_context(self, call_id: str, context: dict[str, object], personal: Personal = ()) -> None: ...


class CallStore(Protocol):
    """The store's repositories a call writes to (:class:`ivr.storage.Store`)."""

    @property
    def calls(self) -> CallRecords: ...
    @property
    def tickets(self) -> TicketRecords: ...
    @property
    def handoffs(self) -> HandoffRecords: ...


# --------------------------------------------------------------------------- hand-off


@dataclass(frozen=True)
class TransferResult:
    ok: bool
    queue: str
    reason: str = ""


class HandoffCall(Protocol):
    """What the hand-off needs of the call it transfers (a :class:`CallSession`)."""

    @property
    def call_id(self) -> str: ...
    @property
    def channel_id(self) -> str | None: ...
    @property
    def agi(self) -> AgiPort: ...
    @property
    def media(self) -> Media | None: ...

    def context_for_agent(self) -> dict[str, object]: ...

    def personal_values(self) -> Personal:
        """The call's personal values (:mod:`ivr.privacy.call_values`), hidden in the stored
        context's masked copy wherever a script copied them."""
        ...


class HandoffPort(Protocol):
    """Hand-off to a human agent (:class:`ivr.calls.handoff.Handoff`)."""

    @property
    def tracked(self) -> int: ...
    @property
    def uses_ami(self) -> bool: ...

    async def availability(self, queue: str) -> tuple[bool, str]: ...
    def queue_for(self, requested: str | None) -> str: ...
    async def transfer(self, call: HandoffCall, action: Transfer) -> TransferResult: ...
    async def close(self) -> None: ...


# --------------------------------------------------------------------------- observers


@dataclass(frozen=True)
class CallStatus:
    """A live call as /status (and later the wallboard) shows it: no personal data."""

    call_id: str
    state: str | None  # the dialog state the call is in
    media_mode: str
    seconds: float  # since the call started


class LiveCall(Protocol):
    """A call in progress, as observers see it."""

    @property
    def call_id(self) -> str: ...
    @property
    def channel_id(self) -> str | None: ...

    def status(self) -> CallStatus: ...


#: ``listener(call, kind, data)``: every event a call emits (see CallSession's ``_emit`` calls)
CallListener = Callable[[LiveCall, str, dict[str, object]], None]
