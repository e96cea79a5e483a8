"""One simulated call: Asterisk's side of FastAGI and AudioSocket, plus a scripted caller.

Every behaviour mirrors an Asterisk source file and the Asterisk 22.10.1 transcripts in
``tests/telephony/fixtures/asterisk-22`` (see their README). The call is the hub its parts share:

* :class:`~telephony.peer.agi_session.PeerAgiSession` (``call.agi``): the FastAGI connection,
  env block, command loop and ``HANGUP`` notices (``res/res_agi.c``), with the command table in
  :mod:`telephony.peer.agi_commands` and ``EXEC AudioSocket`` in
  :mod:`telephony.peer.audiosocket_app`;
* :class:`~telephony.peer.channel.ChannelMedia` (``call.media``): the caller's frames and keys
  to whoever reads the channel, and the timeline of what the caller heard;
* :class:`~telephony.peer.caller.CallerRunner`: the caller script, a frame every 20 ms.

This module keeps what they share: identity, channel variables, the clock (scaled by the
speed factor), events, hang-up state and the final :class:`CallResult`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator, Awaitable, Callable, Sequence

from .agi_session import SERIALS, PeerAgiSession
from .audio import RATE
from .caller import CallerRunner
from .channel import ChannelMedia
from .dialplan import HotlineDialplan
from .result import CallResult, FrameLog, PeerEvent
from .script import Step

if TYPE_CHECKING:  # pragma: no cover
    from .asterisk import AsteriskPeer

__all__ = ["PeerCall", "EventCallback"]

log = logging.getLogger(__name__)

#: ``on_event`` callback of a call: sync, or async (then run as a task)
EventCallback = Callable[[PeerEvent], "Awaitable[None] | None"]


class PeerCall:
    """A call in progress. ``await call.result()``; ``async for ev in call.events()``."""

    def __init__(self, peer: "AsteriskPeer", script: Sequence[Step], *, caller_id: str, args: Sequence[str],
                 speed: float, variables: dict[str, str] | None, on_event: EventCallback | None,
                 caller_name: str, dnid: str, max_seconds: float, channel: str | None = None,
                 silence_suppression: bool = False) -> None:
        n = next(SERIALS)
        #: a phone or trunk that sends no frames while the caller is quiet (VAD/DTX on the
        #: caller's side): silence is timed but not sent, as Asterisk forwards nothing then
        self.silence_suppression = silence_suppression
        self.peer = peer
        #: the caller's steps; a live list (a ``Call`` step may append to it)
        self.script: list[Step] = list(script)
        self.speed = float(speed)
        self.args = [str(a) for a in args]
        self.caller_id = caller_id
        self.caller_name = caller_name
        self.dnid = dnid
        self.max_seconds = max_seconds
        self.uniqueid = f"{int(time.time())}.{n}"
        self.channel = channel or f"PJSIP/hotline-trunk-{n:08x}"
        self.language = "en"
        self.chan_vars: dict[str, str] = {"IVR_TRANSFER": "0"}
        self.chan_vars.update(variables or {})
        self.result_obj = CallResult(call_id=self.uniqueid, channel=self.channel)
        self._on_event = on_event
        self._subscribers: list[asyncio.Queue[PeerEvent]] = []
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        #: the caller hung up or an AGI ``HANGUP`` ran
        self.dead = False
        #: "caller" | "agi" once dead
        self.hangup_by: str | None = None
        #: a command failed in a way that makes ``AGISTATUS=FAILURE``
        self.failed = False
        self._over = asyncio.Event()
        self.media = ChannelMedia(self)
        self.agi = PeerAgiSession(self)
        self._caller = CallerRunner(self)
        self._task: asyncio.Task[CallResult] | None = None
        #: the queue the dialplan sends the caller to after the AGI (dialplan mode)
        self.route_queue: str | None = None

    # -- clock and events ----------------------------------------------------------------
    def now(self) -> float:
        """Seconds since the call started (real seconds, the loop's clock)."""
        return self._loop.time() - self._t0

    def real(self, sim_seconds: float) -> float:
        """Real seconds for ``sim_seconds`` of the caller's clock (divided by the speed)."""
        return sim_seconds / self.speed

    @property
    def over(self) -> bool:
        """The call has ended (the AGI session is over)."""
        return self._over.is_set()

    @property
    def last_heard(self) -> float | None:
        """Call time of the last controller audio the caller heard."""
        return self.media.last_heard

    @property
    def dropped_voice_frames(self) -> int:
        return self.media.dropped_voice_frames

    def event(self, kind: str, **data: object) -> None:
        """Record an event and hand it to subscribers and the ``on_event`` callback."""
        ev = PeerEvent(round(self.now(), 4), kind, data)
        self.result_obj.events.append(ev)
        for q in self._subscribers:
            if q.qsize() < 10000:
                q.put_nowait(ev)
        if self._on_event is not None:
            try:
                r = self._on_event(ev)
                if inspect.isawaitable(r):
                    asyncio.ensure_future(r)
            except Exception:
                log.exception("peer: on_event callback raised")

    def warn(self, text: str) -> None:
        """A warning Asterisk would log; kept in ``CallResult.warnings``."""
        self.result_obj.warnings.append(text)
        log.warning("peer %s: %s", self.uniqueid, text)

    def start(self) -> "asyncio.Task[CallResult]":
        """Run the call in a task (``AsteriskPeer.start_call`` does this)."""
        if self._task is None:
            self._task = self._loop.create_task(self.run())
        return self._task

    async def result(self) -> CallResult:
        """Wait until the call has ended and return what it observed."""
        assert self._task is not None, "start the call with AsteriskPeer.start_call()"
        return await asyncio.shield(self._task)

    async def events(self) -> AsyncIterator[PeerEvent]:
        """Every event of this call as it happens; ends with the ``ended`` event."""
        q: asyncio.Queue[PeerEvent] = asyncio.Queue()
        for ev in self.result_obj.events:
            q.put_nowait(ev)
        self._subscribers.append(q)
        try:
            while True:
                ev = await q.get()
                yield ev
                if ev.kind == "ended":
                    return
        finally:
            self._subscribers.remove(q)

    # -- channel state -----------------------------------------------------------------------
    def caller_hangup(self) -> None:
        """The caller hangs up now (also usable from a ``Call`` step or a test)."""
        if self.dead:
            return
        self.dead = True
        self.hangup_by = "caller"
        self.result_obj.frames.append(FrameLog(self.now(), "out", "hangup", 0))
        self.event("caller_hangup")
        self.media.hangup()
        if not self.agi.executing:
            self.agi.notify_hangup()

    def agi_hangup(self) -> None:
        """The script ran ``HANGUP`` (``res_agi.c:handle_hangup`` -> ``ast_softhangup``)."""
        self.dead = True
        self.hangup_by = "agi"
        self.event("agi_hangup")

    def set_variable(self, name: str, value: str) -> None:
        """Set a channel variable (it is also reported in ``CallResult.variables``)."""
        self.chan_vars[name] = value
        self.result_obj.variables[name] = value

    def lookup_variable(self, name: str) -> str | None:
        """A channel variable or one of the functions the hotline reads (``CALLERID(num)``...)."""
        u = name.upper()
        fn = {
            "CALLERID(NUM)": self.caller_id, "CALLERID(NAME)": self.caller_name,
            "CHANNEL": self.channel, "UNIQUEID": self.uniqueid, "CHANNEL(LANGUAGE)": self.language,
            "LANGUAGE()": self.language, "CONTEXT": self.peer.context, "EXTEN": "s",
            "CALLERID(ALL)": f'"{self.caller_name}" <{self.caller_id}>',
        }
        if u in fn:
            return fn[u]
        return self.chan_vars.get(name)

    # -- the call ------------------------------------------------------------------------------
    async def run(self) -> CallResult:
        self._t0 = self._loop.time()
        res = self.result_obj
        self.event("call_started", caller_id_digits=len(self.caller_id))
        if self.peer.ami is not None:
            self.peer.ami.call_event(self, "Newchannel")
        caller = self._loop.create_task(self._caller.run())
        dialplan = self.peer.dialplan
        try:
            if dialplan is None:
                await asyncio.wait_for(self.agi.run(), self.max_seconds)
            else:
                await asyncio.wait_for(self._follow(dialplan), self.max_seconds)
        except asyncio.TimeoutError:
            res.ended_by = "timeout"
            self.warn(f"call still running after {self.max_seconds}s; dropped")
        finally:
            self._over.set()
            caller.cancel()
            await asyncio.gather(caller, return_exceptions=True)
            self.agi.close()
        if self.route_queue is not None and not self.dead:
            res.ended_by, res.queue = "transfer", self.route_queue
        if not res.ended_by:
            if self.hangup_by == "caller":
                res.ended_by = "caller_hangup"
            elif self.hangup_by == "agi":
                res.ended_by = "agi_hangup"
            elif self.chan_vars.get("IVR_TRANSFER") == "1":
                res.ended_by = "transfer"
                res.queue = self.chan_vars.get("IVR_QUEUE")
            else:
                res.ended_by = "agi_ended"
        if not res.agi_status:
            res.agi_status = "HANGUP" if self.dead else ("FAILURE" if self.failed else "SUCCESS")
        res.channel_variables = dict(self.chan_vars)
        res.channel_variables["AGISTATUS"] = res.agi_status
        res.heard_pcm = self.media.heard_pcm()
        res.dropped_voice_frames = self.media.dropped_voice_frames
        res.sent_pcm = self._caller.sent_pcm
        res.duration = self.now()
        if self.peer.ami is not None:
            if res.ended_by == "transfer":
                # extensions.conf: Queue(${IVR_QUEUE}), empty -> ${IVR_DEFAULT_QUEUE} (hotline)
                default = dialplan.default_queue if dialplan is not None else "hotline"
                res.agent = await self.peer.ami.queue_call(self, res.queue or default)
            self.peer.ami.call_event(self, "Hangup", Cause="16", **{"Cause-txt": "Normal Clearing"})
            res.duration = self.now()
        self.event("ended", ended_by=res.ended_by, agi_status=res.agi_status)
        return res

    async def _follow(self, dialplan: HotlineDialplan) -> None:
        """The sample dialplan around the AGI (:mod:`telephony.peer.dialplan`): the first
        controller, the second one if the first took no call, then the route the variables
        give; a controller failure plays the apology and queues the caller."""
        res = self.result_obj
        self.chan_vars.update(dialplan.before_agi())
        targets = [(self.peer.agi_host, self.peer.agi_port)]
        if dialplan.second is not None:
            targets.append(dialplan.second)
        tried_second = False
        while True:
            host, port = targets[1] if tried_second else targets[0]
            res.route.append(f"agi:{host}:{port}")
            await self.agi.run()
            status = res.agi_status or ("HANGUP" if self.dead else ("FAILURE" if self.failed else "SUCCESS"))
            res.agi_statuses.append(status)
            step = dialplan.route(self.chan_vars, agi_status=status, tried_second=tried_second)
            if step != "second":
                break
            # AGI(${IVR_AGI_B}): a new FastAGI session on the channel
            tried_second = True
            self.event("dialplan", step="second", status=status)
            res.ended_by, res.agi_status, res.error = "", "", None
            self.failed = False
            self.agi.close()
            self.agi = PeerAgiSession(self, dialplan.second)
        res.agi_status = status
        res.route.append(step)
        self.event("dialplan", step=step, status=status)
        if step == "failed":
            self.chan_vars["IVR_FAILED"] = "1"
            self.chan_vars["IVR_QUEUE"] = ""
            res.ended_by = ""
            await self._playback(dialplan.apology_wav)
            res.apology_played = not self.dead
            if not self.dead:
                self.route_queue = dialplan.default_queue
        elif step == "queue":
            self.route_queue = dialplan.queue_for(self.chan_vars)

    async def _playback(self, wav: Path) -> None:
        """``Playback()``: the recording on the caller's timeline, in (scaled) real time; a
        caller hang-up ends it."""
        pcm = self.peer.sound_cache(wav)
        self.media.on_heard(pcm, source=f"playback:{wav.stem}")
        end = self._loop.time() + self.real(len(pcm) / 2 / RATE)
        while not self.dead and self._loop.time() < end:
            await asyncio.sleep(min(0.05, max(0.0, end - self._loop.time())))
