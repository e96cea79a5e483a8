"""The simulated Asterisk: places calls into a FastAGI server like a real Asterisk 20/22 does."""

from __future__ import annotations

import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .audio import read_audio_8k
from .call import EventCallback, PeerCall
from .dialplan import HotlineDialplan
from .result import CallResult
from .script import Step

if TYPE_CHECKING:  # pragma: no cover
    from .ami_server import AmiServer

__all__ = ["AsteriskPeer"]


class AsteriskPeer:
    """``AsteriskPeer(agi_host, agi_port, sounds_dir=None, record_dir=None)``.

    * ``place_call(script, caller_id=..., args=[...], realtime=True)`` runs one call to the end
      and returns a :class:`CallResult`; ``start_call`` returns the live :class:`PeerCall`
      (``events()`` async iterator, ``caller_hangup()``, ``await call.result()``).
    * ``realtime``: True = real time, False = 20x, or a float speed factor. The speed scales the
      peer's own clock (caller audio pace, prompt playback, GET DATA/RECORD timeouts, Wait);
      the controller's AudioSocket playback stays real time as the controller paces it.
    * ``sounds_dir``: where ``STREAM FILE``/``GET DATA``/``SAY DIGITS`` prompts are looked up
      (``<lang>/<name>.wav`` then ``<name>.wav``); ``record_dir``: where a relative
      ``RECORD FILE`` name is written (Asterisk: ``<astdatadir>/sounds``).
    * ``ami``: an optional :class:`~telephony.peer.ami_server.AmiServer` that then sees the
      calls (``CoreShowChannels``, ``Getvar``) and gets ``AGIExecStart/End``, ``VarSet``,
      ``QueueCallerJoin`` and ``Hangup`` events.
    * ``dialplan``: a :class:`~telephony.peer.dialplan.HotlineDialplan` makes each call follow
      the sample dialplan's ``[hotline]`` context around the AGI: a second controller when the
      first took no call, and the recorded apology then the queue when the controller failed
      (``CallResult.route``, ``apology_played``).
    """

    def __init__(self, agi_host: str = "127.0.0.1", agi_port: int = 4573, sounds_dir: str | Path | None = None,
                 record_dir: str | Path | None = None, *, script: str = "hotline", context: str = "hotline",
                 version: str = "22.10.1", ami: "AmiServer | None" = None,
                 max_audiosocket_payload: int = 8192, dialplan: "HotlineDialplan | None" = None) -> None:
        self.agi_host = agi_host
        self.agi_port = agi_port
        self.sounds_dir = Path(sounds_dir) if sounds_dir is not None else None
        self.record_dir = Path(record_dir) if record_dir is not None else (
            self.sounds_dir if self.sounds_dir is not None else Path(tempfile.gettempdir()))
        self.script = script
        self.context = context
        self.version = version
        self.ami = ami
        self.max_audiosocket_payload = max_audiosocket_payload
        #: follow the sample dialplan around the AGI (second controller, apology and queue on a
        #: controller failure); None: the call ends when the AGI does
        self.dialplan = dialplan
        self.calls: set[PeerCall] = set()
        self._sounds: OrderedDict[Path, tuple[float, bytes]] = OrderedDict()
        if ami is not None:
            ami.attach_peer(self)

    def sound_cache(self, path: Path) -> bytes:
        mtime = path.stat().st_mtime
        hit = self._sounds.get(path)
        if hit is not None and hit[0] == mtime:
            self._sounds.move_to_end(path)
            return hit[1]
        pcm = read_audio_8k(path)
        self._sounds[path] = (mtime, pcm)
        while len(self._sounds) > 256:
            self._sounds.popitem(last=False)
        return pcm

    def start_call(self, script: Sequence[Step], caller_id: str = "08123456789", args: Sequence[str] = (),
                   realtime: bool | float = True, *, variables: dict[str, str] | None = None,
                   on_event: EventCallback | None = None, caller_name: str = "", dnid: str = "",
                   max_seconds: float = 600.0, channel: str | None = None,
                   silence_suppression: bool = False) -> PeerCall:
        if realtime is True:
            speed = 1.0
        elif realtime is False:
            speed = 20.0
        else:
            speed = float(realtime)
            if speed <= 0:
                raise ValueError("speed factor must be positive")
        call = PeerCall(self, script, caller_id=caller_id, args=list(args), speed=speed, variables=variables,
                        on_event=on_event, caller_name=caller_name, dnid=dnid, max_seconds=max_seconds, channel=channel,
                        silence_suppression=silence_suppression)
        self.calls.add(call)
        call.start().add_done_callback(lambda _t: self.calls.discard(call))
        return call

    async def place_call(self, script: Sequence[Step], caller_id: str = "08123456789", args: Sequence[str] = (),
                         realtime: bool | float = True, *, variables: dict[str, str] | None = None,
                         on_event: EventCallback | None = None, caller_name: str = "", dnid: str = "",
                         max_seconds: float = 600.0, channel: str | None = None,
                         silence_suppression: bool = False) -> CallResult:
        """Place one call and wait until it has ended (arguments as :meth:`start_call`)."""
        call = self.start_call(script, caller_id, args, realtime, variables=variables, on_event=on_event,
                               caller_name=caller_name, dnid=dnid, max_seconds=max_seconds, channel=channel,
                               silence_suppression=silence_suppression)
        return await call.result()
