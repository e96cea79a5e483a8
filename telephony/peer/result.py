"""What a simulated call observed: AGI log, variables, heard audio, frame timelines."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .audio import RATE, write_wav


@dataclass(frozen=True)
class AgiCommandLog:
    command: str
    reply: str
    sent_at: float      # seconds since the call started (peer clock)
    replied_at: float


@dataclass(frozen=True)
class FrameLog:
    t: float            # seconds since the call started
    direction: str      # "in" (controller -> caller) or "out" (caller -> controller)
    kind: str           # "audio", "dtmf", "uuid", "hangup"
    length: int
    speech: bool = False


@dataclass
class AudioSocketLog:
    uuid: str
    address: str
    connected_at: float | None = None
    closed_at: float | None = None
    how: str = ""            # "hangup_frame", "eof", "caller_hangup", "protocol_error", "reset", "connect_failed"
    exec_result: int | None = None
    frames_in: int = 0
    frames_out: int = 0


@dataclass(frozen=True)
class PeerEvent:
    t: float
    kind: str
    data: dict[str, object] = field(default_factory=dict)


@dataclass
class CallResult:
    call_id: str
    channel: str
    ended_by: str = ""                  # caller_hangup | agi_ended | transfer | agi_hangup | agi_failed | timeout
    agi_status: str = ""                # SUCCESS | FAILURE | HANGUP, as the dialplan sees AGISTATUS
    queue: str | None = None            # IVR_QUEUE when transferred
    agent: str | None = None            # queue member that answered (only with an AmiServer)
    commands: list[AgiCommandLog] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)           # set by the controller
    channel_variables: dict[str, str] = field(default_factory=dict)   # everything at the end
    heard_pcm: bytes = b""              # 16-bit 8 kHz timeline of everything the controller played
    sent_pcm: bytes = b""               # what the caller sent (speech and silence)
    frames: list[FrameLog] = field(default_factory=list)
    audiosockets: list[AudioSocketLog] = field(default_factory=list)
    heard_times: list[float] = field(default_factory=list)            # arrival time of each played non-silent frame
    speech_ends: list[float] = field(default_factory=list)            # time the last speech frame of each utterance was sent
    speech_starts: list[float] = field(default_factory=list)
    hangup_notices: list[float] = field(default_factory=list)         # when HANGUP lines were written
    recordings: list[str] = field(default_factory=list)
    dropped_voice_frames: int = 0       # frames lost to the channel voice-queue limit (a burst)
    warnings: list[str] = field(default_factory=list)
    events: list[PeerEvent] = field(default_factory=list)
    duration: float = 0.0
    error: str | None = None
    #: with the sample dialplan (``AsteriskPeer(dialplan=...)``): each AGI tried
    #: ("agi:host:port") and the route taken after them ("hangup", "queue", "failed", "stop")
    route: list[str] = field(default_factory=list)
    agi_statuses: list[str] = field(default_factory=list)
    #: the dialplan played the apology (hotline/maaf-gangguan) after a controller failure
    apology_played: bool = False

    @property
    def transferred(self) -> bool:
        return self.ended_by == "transfer"

    @property
    def heard_seconds(self) -> float:
        return len(self.heard_pcm) / 2 / RATE

    def write_heard_wav(self, path: str | Path) -> Path:
        write_wav(path, self.heard_pcm)
        return Path(path)

    def write_sent_wav(self, path: str | Path) -> Path:
        write_wav(path, self.sent_pcm)
        return Path(path)

    def command_names(self) -> list[str]:
        return [c.command for c in self.commands]

    def response_latencies(self) -> list[float]:
        """For each utterance: first played frame after its last speech frame, minus that time."""
        out = []
        for end in self.speech_ends:
            nxt = next((t for t in self.heard_times if t > end), None)
            if nxt is not None:
                out.append(nxt - end)
        return out
