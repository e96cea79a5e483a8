"""The sample dialplan's ``[hotline]`` context around the AGI, as the simulated Asterisk follows it.

``telephony/asterisk/extensions.conf`` does, for every call (see its header for the variables):

1. ``Set(IVR_TRANSFER=0)``, ``Set(IVR_DONE=0)``, ``Set(IVR_QUEUE=)``, ``Set(IVR_CALL_ID=)``;
2. ``AGI(${IVR_AGI_A})`` (the first controller);
3. if the caller hung up (``AGISTATUS=HANGUP``) the dialplan stops there;
4. if neither ``IVR_TRANSFER=1`` nor ``IVR_DONE=1`` nor ``IVR_CALL_ID`` is set and a second
   controller is configured (``IVR_AGI_URL2``): ``AGI(${IVR_AGI_B})``;
5. ``IVR_TRANSFER=1`` -> ``Queue(${IVR_QUEUE} or IVR_DEFAULT_QUEUE)``; ``IVR_DONE=1`` -> ``Hangup``;
6. anything else is a controller failure: ``Set(IVR_FAILED=1)``, ``Set(IVR_QUEUE=)``,
   ``Playback(hotline/maaf-gangguan)`` (the recorded apology with the emergency numbers), then
   ``Queue(IVR_DEFAULT_QUEUE)``.

:class:`HotlineDialplan` holds the settings (the ``[globals]`` the test would set) and decides each
step from the channel variables; :class:`~telephony.peer.call.PeerCall` runs the AGI sessions,
plays the apology and queues the caller. The spread of calls at random over two controllers is
not modelled: ``agi_url`` is always tried first (``RAND`` picking the first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["HotlineDialplan", "APOLOGY_WAV", "Route"]


def _apology_wav() -> Path:
    return Path(__file__).resolve().parents[1] / "asterisk" / "sounds" / "hotline" / "maaf-gangguan.wav"


#: ``Playback(hotline/maaf-gangguan)``: the recording the sample dialplan ships
APOLOGY_WAV = _apology_wav()

#: what the dialplan does after an AGI: "second" (try the other controller), "queue" (hand-off
#: asked for), "hangup" (finished on purpose), "failed" (apology and queue), "stop" (caller gone)
Route = str


@dataclass(frozen=True)
class HotlineDialplan:
    """``IVR_AGI_URL2`` (``second``: host and port, or None), ``IVR_DEFAULT_QUEUE`` and the
    apology recording of the sample dialplan."""

    second: tuple[str, int] | None = None
    default_queue: str = "hotline"
    apology_wav: Path = field(default_factory=_apology_wav)

    @staticmethod
    def before_agi() -> dict[str, str]:
        """The variables the dialplan clears before the first AGI."""
        return {"IVR_TRANSFER": "0", "IVR_DONE": "0", "IVR_QUEUE": "", "IVR_CALL_ID": ""}

    def route(self, chan: dict[str, str], *, agi_status: str, tried_second: bool) -> Route:
        """The next step after an AGI returned with ``agi_status`` and channel variables ``chan``."""
        if agi_status == "HANGUP":
            return "stop"
        started = (chan.get("IVR_TRANSFER") == "1" or chan.get("IVR_DONE") == "1"
                   or bool(chan.get("IVR_CALL_ID")))
        if not started and self.second is not None and not tried_second:
            return "second"
        if chan.get("IVR_TRANSFER") == "1":
            return "queue"
        if chan.get("IVR_DONE") == "1":
            return "hangup"
        return "failed"

    def queue_for(self, chan: dict[str, str]) -> str:
        """``Set(IVR_QUEUE=${IF($["${IVR_QUEUE}" = ""]?${IVR_DEFAULT_QUEUE}:${IVR_QUEUE})})``."""
        return chan.get("IVR_QUEUE") or self.default_queue
