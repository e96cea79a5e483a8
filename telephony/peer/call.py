"""One simulated call: Asterisk's side of FastAGI and AudioSocket, plus a scripted caller.

Every behaviour mirrors an Asterisk source file (cited per method) and the Asterisk 22.10.1
transcripts in ``tests/telephony/fixtures/asterisk-22`` (see their README):

* ``res/res_agi.c``: env block (``setup_env``), command table and replies, dead mode (511),
  the ``HANGUP`` line (unsolicited while idle, ~40 ms after the reply of an interrupted
  command, once more when the script half-closes), AGISTATUS;
* ``main/file.c``/``main/app.c``: STREAM FILE, GET DATA (``ast_app_getdata``), RECORD FILE
  silence handling (``ast_dsp_silence`` from ``main/dsp.c``, rewind by ``silence - 1000`` ms);
* ``apps/app_audiosocket.c`` + ``res/res_audiosocket.c``: ``EXEC AudioSocket uuid,host:port``
  connects, sends the UUID frame, forwards caller audio/DTMF, stays pending until the socket
  ends; returns 0 on a ``0x00`` frame or EOF, -1 after an invalid kind (TCP reset) or when the
  caller hangs up (socket closed without a ``0x00`` frame).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import socket
import struct
import time
import uuid as _uuid
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable

from ..agi_codec import NEED_DATA as AGI_NEED, AgiCommand, AgiConnectionClosed, AgiPeerCodec
from ..audiosocket_codec import (
    NEED_DATA as AS_NEED, AudioFrame, AudioSocketDecoder, HangupFrame, encode_audio, encode_dtmf,
    encode_uuid,
)
from ..errors import RemoteProtocolError
from . import script as S
from .audio import FRAME_BYTES, RATE, frames_of, is_silent, read_audio_8k, resample, wav_bytes
from .result import AgiCommandLog, AudioSocketLog, CallResult, FrameLog, PeerEvent

if TYPE_CHECKING:  # pragma: no cover
    from .asterisk import AsteriskPeer

log = logging.getLogger(__name__)

SILENCE_FRAME = b"\x00" * FRAME_BYTES
HANGUP_NOTICE_DELAY = 0.04  # observed: HANGUP ~40 ms after the interrupted command's reply
R511 = "511 Command Not Permitted on a dead channel or intercept routine"
R510 = "510 Invalid or unknown command"
# res_agi.c: commands registered with dead=1 keep working after the hang-up.
DEAD_OK = {"GET VARIABLE", "GET FULL VARIABLE", "SET VARIABLE", "VERBOSE", "EXEC", "NOOP"}
USAGE = {
    "STREAM FILE": (
        "Send the given file, allowing playback to be interrupted by the given digits, if any. "
        "Returns <literal>0</literal> if playback completes without a digit being pressed, or the "
        "ASCII numerical value of the digit if one was pressed, or <literal>-1</literal> on error or "
        "if the channel was disconnected. If musiconhold is playing before calling stream file it "
        "will be automatically stopped and will not be restarted after completion.\n"
        "It sets the following channel variables upon completion:\n"
        "<variable>PLAYBACKSTATUS</variable>: The status of the playback attempt as a text string.\n"
        "    <value>SUCCESS</value>\n    <value>FAILED</value>"),
    "GET DATA": ("Stream the given <replaceable>file</replaceable>, and receive DTMF data.\n"
                 "Returns the digits received from the channel at the other end."),
    "RECORD FILE": (
        "Record to a file until a given dtmf digit in the sequence is received. Returns "
        "<literal>-1</literal> on hangup or error.  The format will specify what kind of file will "
        "be recorded. The <replaceable>timeout</replaceable> is the maximum record time in "
        "milliseconds, or <literal>-1</literal> for no <replaceable>timeout</replaceable>. "
        "<replaceable>offset samples</replaceable> is optional, and, if provided, will seek to the "
        "offset without exceeding the end of the file. <replaceable>beep</replaceable> can take any "
        "value, and causes Asterisk to play a beep to the channel that is about to be recorded. "
        "<replaceable>silence</replaceable> is the number of seconds of silence allowed before the "
        "function returns despite the lack of dtmf digits or reaching <replaceable>timeout</replaceable>. "
        "<replaceable>silence</replaceable> value must be preceded by <literal>s=</literal> and is "
        "also optional."),
}
KNOWN = ["GET FULL VARIABLE", "WAIT FOR DIGIT", "CHANNEL STATUS", "STREAM FILE", "CONTROL STREAM FILE",
         "GET DATA", "GET VARIABLE", "SET VARIABLE", "RECORD FILE", "SAY DIGITS", "SAY NUMBER",
         "ANSWER", "HANGUP", "VERBOSE", "EXEC", "NOOP", "SET CALLERID", "SET MUSIC"]
_SAY_FILES = {"*": "digits/star", "#": "digits/pound", "-": "letters/dash"}


class _Usage(Exception):
    pass


class _Inbox:
    """Caller media for whoever reads the channel now (one reader at a time)."""

    __slots__ = ("items", "waiter")

    def __init__(self) -> None:
        self.items: deque = deque()
        self.waiter: asyncio.Future | None = None

    def put(self, item) -> None:
        self.items.append(item)
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def get(self, until: float | None):
        loop = asyncio.get_running_loop()
        while not self.items:
            if until is not None and loop.time() >= until:
                return None
            fut = loop.create_future()
            self.waiter = fut
            h = loop.call_at(until, _wake, fut) if until is not None else None
            try:
                await fut
            finally:
                if h is not None:
                    h.cancel()
                self.waiter = None
        return self.items.popleft()


def _wake(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


class PeerCall:
    """A call in progress. ``await call.result()``; ``async for ev in call.events()``."""

    _seq = itertools.count(1)

    def __init__(self, peer: "AsteriskPeer", script: list, *, caller_id: str, args: list[str],
                 speed: float, variables: dict[str, str] | None, on_event: Callable | None,
                 caller_name: str, dnid: str, max_seconds: float, channel: str | None = None,
                 silence_suppression: bool = False) -> None:
        n = next(self._seq)
        #: a phone or trunk that sends no frames while the caller is quiet (VAD/DTX on the
        #: caller's side): silence is timed but not sent, as Asterisk forwards nothing then
        self.silence_suppression = silence_suppression
        self.peer = peer
        self.script = list(script)
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
        self._subscribers: list[asyncio.Queue] = []
        self._t0 = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self.dead = False                 # caller hung up or AGI HANGUP ran
        self.hangup_by: str | None = None
        self._notified = False
        self._executing = False
        self._inbox: _Inbox | None = None
        self._as_activity = 0.0
        self._dtmf_backlog: deque[str] = deque(maxlen=32)
        self._heard = bytearray()
        self._voiceq: deque[bytes] = deque()
        self._vq_head = 0.0
        self._vq_end = 0.0
        self.dropped_voice_frames = 0
        self._sent = bytearray()
        self.last_heard: float | None = None
        self._over = asyncio.Event()
        self._failed = False
        self._writer: asyncio.StreamWriter | None = None
        self._codec = AgiPeerCodec()
        self._last_cmd: tuple[float, str] | None = None
        self._cmd_lines: list[str] = []
        self._cmd_cursor = 0
        self._task: asyncio.Task | None = None
        self._done: asyncio.Future | None = None

    # -- clock and events ----------------------------------------------------------------
    def now(self) -> float:
        return self._loop.time() - self._t0  # type: ignore[union-attr]

    def _real(self, sim_seconds: float) -> float:
        return sim_seconds / self.speed

    def _event(self, kind: str, **data: Any) -> None:
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

    async def result(self) -> CallResult:
        """Wait until the call has ended and return what it observed."""
        assert self._task is not None, "start the call with AsteriskPeer.start_call()"
        return await asyncio.shield(self._task)

    async def events(self) -> AsyncIterator[PeerEvent]:
        """Every event of this call as it happens; ends with the ``ended`` event."""
        q: asyncio.Queue = asyncio.Queue()
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

    def _warn(self, text: str) -> None:
        self.result_obj.warnings.append(text)
        log.warning("peer %s: %s", self.uniqueid, text)

    # -- heard audio -----------------------------------------------------------------------
    def _on_heard(self, pcm: bytes, source: str, at: float | None = None) -> None:
        """Put played audio on the heard timeline at ``at`` (default: now)."""
        t = self.now()
        start = t if at is None else at
        pos = int(start * RATE) * 2
        if pos > len(self._heard):
            self._heard.extend(bytes(pos - len(self._heard)))
        self._heard += pcm
        gap = self.last_heard is None or t - self.last_heard > 0.1
        self.last_heard = t
        self.result_obj.heard_times.append(t)
        self.result_obj.frames.append(FrameLog(t, "in", "audio", len(pcm)))
        if gap:
            self._event("heard_start", source=source)

    def _on_media_frame(self, pcm: bytes) -> None:
        """A frame written to the channel by the AudioSocket server.

        ``apps/app_audiosocket.c`` writes it to the channel at once, without pacing; it then
        waits in the channel's voice queue and is heard at 20 ms per frame. ``main/channel.c``
        (``__ast_queue_frame``) allows 96 voice frames outstanding: beyond that it logs
        "Exceptionally long voice queue length" and drops the queued voice frames, which is
        why a burst from the server loses audio (the fixtures lost frames 1-128 of 250).
        """
        t = self.now()
        self._play_voiceq(t)
        q = self._voiceq
        if len(q) >= 96:
            n = len(q) + 1
            self._warn(f"Exceptionally long voice queue length ({n} voice / {n} total) queuing to {self.channel}")
            self.dropped_voice_frames += len(q)
            q.clear()
        if not q:
            self._vq_head = max(t, self._vq_end)
        q.append(pcm)
        self.result_obj.frames.append(FrameLog(t, "in", "audio", len(pcm)))
        if not pcm.strip(b"\x00"):
            # digital silence (a keep-alive frame): heard as silence, not as the controller
            # speaking, so it neither counts as a reply nor delays "wait for the prompt"
            self._play_voiceq(t)
            return
        self.result_obj.heard_times.append(t)
        # when this frame will be heard (after what is queued before it)
        frame_start = self._vq_head + (sum(len(p) for p in q) - len(pcm)) / (2 * RATE)
        if self.last_heard is None or frame_start - self.last_heard > 0.5:  # not a pause inside a prompt
            self._event("heard_start", source="audiosocket")
        self.last_heard = frame_start
        self._play_voiceq(t)

    def _play_voiceq(self, t: float) -> None:
        q = self._voiceq
        while q and self._vq_head <= t + 1e-9:
            pcm = q.popleft()
            self._place_heard(pcm, self._vq_head)
            self._vq_head += len(pcm) / (2 * RATE)
            self._vq_end = self._vq_head

    def _place_heard(self, pcm: bytes, at: float) -> None:
        pos = int(at * RATE) * 2
        if pos > len(self._heard):
            self._heard.extend(bytes(pos - len(self._heard)))
        self._heard += pcm

    # -- caller side -----------------------------------------------------------------------
    def _emit(self, item: tuple) -> None:
        if self._inbox is not None:
            self._inbox.put(item)
        elif item[0] == "dtmf":
            self._dtmf_backlog.append(item[1])

    def _attach(self) -> _Inbox:
        box = _Inbox()
        while self._dtmf_backlog:
            box.put(("dtmf", self._dtmf_backlog.popleft()))
        if self.dead:
            box.put(("hangup",))
        self._inbox = box
        return box

    def _detach(self, box: _Inbox) -> None:
        if self._inbox is box:
            self._inbox = None
        for item in box.items:  # undelivered keys stay queued on the channel
            if item[0] == "dtmf" and len(item) == 2:
                self._dtmf_backlog.append(item[1])

    async def _caller_loop(self) -> None:
        self._next_frame = self._loop.time()  # type: ignore[union-attr]
        try:
            for step in self.script:
                if self._over.is_set() or self.dead:
                    return
                await self._run_step(step)
            while not self._over.is_set() and not self.dead:
                await self._send_frame(SILENCE_FRAME, False)
        except asyncio.CancelledError:
            pass

    async def _send_frame(self, frame: bytes, speech: bool) -> None:
        loop = self._loop
        self._next_frame += self._real(0.02)
        delay = self._next_frame - loop.time()  # type: ignore[union-attr]
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -1.0:
            self._next_frame = loop.time()  # type: ignore[union-attr]  # stalled: start afresh
        if self._over.is_set() or self.dead:
            return
        self._sent += frame
        if speech or not self.silence_suppression:
            self._emit(("audio", frame, speech))

    async def _say(self, pcm8k: bytes) -> None:
        self.result_obj.speech_starts.append(self.now())
        self._event("caller_speech_start", seconds=round(len(pcm8k) / 2 / RATE, 3))
        for fr in frames_of(pcm8k):
            if self._over.is_set() or self.dead:
                return
            await self._send_frame(fr, True)
        t = self.now()
        self.result_obj.speech_ends.append(t)
        self._event("caller_speech_end")

    async def _silence_until(self, cond: Callable[[], bool], timeout_s: float, what: str) -> None:
        start = self.now()
        while not cond():
            if self._over.is_set() or self.dead:
                return
            # The controller plays in real time whatever the caller's speed-up, so a wait on
            # the controller is timed in real seconds.
            if self.now() - start >= timeout_s:
                self._warn(f"{what}: timed out after {timeout_s}s")
                return
            await self._send_frame(SILENCE_FRAME, False)

    async def _run_step(self, step) -> None:
        if isinstance(step, S.SayPcm):
            await self._say(resample(step.pcm, step.rate, RATE))
        elif isinstance(step, S.SayWav):
            await self._say(read_audio_8k(step.path))
        elif isinstance(step, S.Silence):
            for _ in range(max(0, round(step.seconds / 0.02))):
                if self._over.is_set() or self.dead:
                    return
                await self._send_frame(SILENCE_FRAME, False)
        elif isinstance(step, S.Dtmf):
            for d in step.digits:
                self.result_obj.frames.append(FrameLog(self.now(), "out", "dtmf", 1))
                self._event("dtmf_sent", digit=d)
                self._emit(("dtmf", d))
                for _ in range(max(1, round((step.digit_ms + step.gap_ms) / 20))):
                    if self._over.is_set() or self.dead:
                        return
                    await self._send_frame(SILENCE_FRAME, False)
        elif isinstance(step, S.Hangup):
            self.caller_hangup()
        elif isinstance(step, S.WaitForPrompt):
            start = self.now()
            await self._silence_until(lambda: self.last_heard is not None and self.last_heard >= start,
                                      step.timeout, "WaitForPrompt")
        elif isinstance(step, S.WaitForSilence):
            start = self.now()
            # the controller talks in real time whatever the caller's speed-up: its pauses are
            # measured in real seconds too
            need = max(step.min_seconds, 0.1)
            playing_at_start = self.last_heard is not None and start - self.last_heard < need

            def quiet() -> bool:
                lh = self.last_heard
                if step.require_audio and not playing_at_start and (lh is None or lh < start):
                    return False
                ref = start if lh is None or lh < start else lh
                return self.now() - ref >= need

            await self._silence_until(quiet, step.timeout, "WaitForSilence")
        elif isinstance(step, S.WaitForCommand):
            pfx = step.prefix.upper()

            def seen() -> bool:
                # Commands are consumed in order, so a command that arrived while an earlier
                # step was still running is not missed.
                while self._cmd_cursor < len(self._cmd_lines):
                    line = self._cmd_lines[self._cmd_cursor]
                    self._cmd_cursor += 1
                    if line.upper().startswith(pfx):
                        return True
                return False

            await self._silence_until(seen, step.timeout, "WaitForCommand")
        elif isinstance(step, S.Call):
            r = step.fn(self)
            if inspect.isawaitable(r):
                await r
        else:
            raise TypeError(f"unknown caller step {step!r}")

    def caller_hangup(self) -> None:
        """The caller hangs up now (also usable from a ``Call`` step or a test)."""
        if self.dead:
            return
        self.dead = True
        self.hangup_by = "caller"
        self.result_obj.frames.append(FrameLog(self.now(), "out", "hangup", 0))
        self._event("caller_hangup")
        if self._inbox is not None:
            self._inbox.put(("hangup",))
        if not self._executing:
            self._notify_hangup()

    def _notify_hangup(self) -> None:
        """res_agi.c: send ``HANGUP`` once, when the hang-up is first noticed."""
        if self._notified or self._writer is None or self._writer.is_closing():
            return
        self._notified = True
        self.result_obj.hangup_notices.append(self.now())
        self._event("hangup_notice")
        self._writer.write(self._codec.send_hangup_notice())

    # -- the AGI session -------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        p = self.peer
        return {
            "network": "yes", "network_script": p.script, "request": f"agi://{p.agi_host}:{p.agi_port}/{p.script}",
            "channel": self.channel, "language": self.language, "type": "PJSIP", "uniqueid": self.uniqueid,
            "version": p.version, "callerid": self.caller_id or "unknown",
            "calleridname": self.caller_name or "unknown", "callingpres": "0", "callingani2": "0",
            "callington": "0", "callingtns": "0", "dnid": self.dnid or "unknown", "rdnis": "unknown",
            "context": p.context, "extension": "s", "priority": "4", "enhanced": "0.0",
            "accountcode": "", "threadid": str(140000000000000 + next(self._seq)),
        }

    async def run(self) -> CallResult:
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        res = self.result_obj
        self._event("call_started", caller_id_digits=len(self.caller_id))
        if self.peer.ami is not None:
            self.peer.ami.call_event(self, "Newchannel")
        caller = self._loop.create_task(self._caller_loop())
        try:
            await asyncio.wait_for(self._agi(), self.max_seconds)
        except asyncio.TimeoutError:
            res.ended_by = "timeout"
            self._warn(f"call still running after {self.max_seconds}s; dropped")
        finally:
            self._over.set()
            caller.cancel()
            await asyncio.gather(caller, return_exceptions=True)
            if self._writer is not None:
                self._writer.close()
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
            res.agi_status = "HANGUP" if self.dead else ("FAILURE" if self._failed else "SUCCESS")
        res.channel_variables = dict(self.chan_vars)
        res.channel_variables["AGISTATUS"] = res.agi_status
        self._play_voiceq(float("inf"))
        res.heard_pcm = bytes(self._heard)
        res.dropped_voice_frames = self.dropped_voice_frames
        res.sent_pcm = bytes(self._sent)
        res.duration = self.now()
        if self.peer.ami is not None:
            if res.ended_by == "transfer":
                # extensions.conf: Queue(${IVR_QUEUE}), empty -> ${IVR_DEFAULT_QUEUE} (hotline)
                res.agent = await self.peer.ami.queue_call(self, res.queue or "hotline")
            self.peer.ami.call_event(self, "Hangup", Cause="16", **{"Cause-txt": "Normal Clearing"})
            res.duration = self.now()
        self._event("ended", ended_by=res.ended_by, agi_status=res.agi_status)
        return res

    async def _agi(self) -> None:
        p = self.peer
        res = self.result_obj
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(p.agi_host, p.agi_port), 5.0)
        except (OSError, asyncio.TimeoutError) as exc:
            # res_agi.c: "Connecting to '%s' failed ..." -> AGISTATUS=FAILURE, dialplan continues.
            res.error = f"FastAGI connect to {p.agi_host}:{p.agi_port} failed: {exc}"
            res.ended_by, res.agi_status = "agi_failed", "FAILURE"
            self._warn(res.error)
            return
        self._writer = writer
        writer.write(self._codec.send_environment(self._env(), self.args))
        self._event("agi_connected")
        eof = self._loop.create_future()  # type: ignore[union-attr]
        cmds: asyncio.Queue = asyncio.Queue()
        reader_task = self._loop.create_task(self._agi_reader(reader, cmds, eof))  # type: ignore[union-attr]
        try:
            while True:
                get = self._loop.create_task(cmds.get())  # type: ignore[union-attr]
                done, _ = await asyncio.wait({get, eof}, return_when=asyncio.FIRST_COMPLETED)
                if get not in done:
                    get.cancel()
                    break
                cmd: AgiCommand = get.result()
                self._last_cmd = (self.now(), cmd.line)
                self._cmd_lines.append(cmd.line)
                sent_at = self.now()
                self._event("command", line=cmd.line)
                self._executing = True
                ex = self._loop.create_task(self._execute(cmd))  # type: ignore[union-attr]
                done, _ = await asyncio.wait({ex, eof}, return_when=asyncio.FIRST_COMPLETED)
                if ex not in done:
                    # The script closed mid-command: the command is aborted at once.
                    ex.cancel()
                    await asyncio.gather(ex, return_exceptions=True)
                    self._executing = False
                    res.commands.append(AgiCommandLog(cmd.line, "", sent_at, self.now()))
                    break
                reply, first_part = ex.result()
                self._executing = False
                if first_part is not None:   # 520: usage text ~40 ms after the first line
                    writer.write(first_part.encode())
                    await asyncio.sleep(0.04)
                    writer.write(self._codec.send_reply(reply))
                    reply = first_part + reply
                else:
                    writer.write(self._codec.send_reply(reply))
                res.commands.append(AgiCommandLog(cmd.line, reply.rstrip("\n"), sent_at, self.now()))
                self._event("reply", line=reply.rstrip("\n"))
                if self.peer.ami is not None:
                    self.peer.ami.agi_exec_events(self, cmd.line, reply)
                if self.dead and not self._notified:
                    await asyncio.sleep(HANGUP_NOTICE_DELAY)
                    self._notify_hangup()
        finally:
            reader_task.cancel()
            await asyncio.gather(reader_task, return_exceptions=True)
            exc = eof.result() if eof.done() else None
            if isinstance(exc, RemoteProtocolError):
                self._warn(f"AGI protocol error from the script: {exc}")
            # res_agi.c: one more HANGUP when the session ends, then Asterisk closes its side.
            if not writer.is_closing():
                try:
                    writer.write(b"HANGUP\n")
                    self.result_obj.hangup_notices.append(self.now())
                except Exception:  # pragma: no cover - socket already gone
                    pass
                writer.close()
            self._event("agi_closed")

    async def _agi_reader(self, reader: asyncio.StreamReader, cmds: asyncio.Queue, eof: asyncio.Future) -> None:
        codec = self._codec
        result: Any = None
        try:
            while True:
                data = await reader.read(65536)
                if data:
                    codec.receive_data(data)
                else:
                    codec.receive_eof()
                while True:
                    ev = codec.next_event()
                    if ev is AGI_NEED or isinstance(ev, AgiConnectionClosed):
                        break
                    cmds.put_nowait(ev)
                if not data:
                    break
        except RemoteProtocolError as exc:
            log.error("peer %s: AGI protocol error from the script: %s", self.uniqueid, exc)
            result = exc
        except (ConnectionError, OSError) as exc:
            result = exc
        finally:
            if not eof.done():
                eof.set_result(result)

    # -- commands --------------------------------------------------------------------------
    async def _execute(self, cmd: AgiCommand) -> tuple[str, str | None]:
        """Return (reply, first-line-of-520 or None). Mirrors res_agi.c:agi_handle_command."""
        argv = list(cmd.argv)
        up = [a.upper() for a in argv]
        name = None
        for k in KNOWN:
            kw = k.split()
            if up[:len(kw)] == kw:
                name = k
                break
        if name is None:
            return R510, None
        if self.dead and name not in DEAD_OK:
            return R511, None
        try:
            handler = getattr(self, "_cmd_" + name.lower().replace(" ", "_"))
            reply = await handler(argv)
        except asyncio.CancelledError:
            raise
        except (ValueError, IndexError, OSError) as exc:
            # Whatever the script sends, the simulated Asterisk answers and carries on.
            self._warn(f"{name} failed: {exc}")
            self._failed = True
            return "200 result=-1", None
        except _Usage:
            usage = USAGE.get(name, f"Usage: {name}")
            return usage + "\n520 End of proper usage.", "520-Invalid command syntax.  Proper usage follows:\n"
        return reply, None

    # simple commands -----------------------------------------------------------------------
    async def _cmd_answer(self, argv):
        return "200 result=0"

    async def _cmd_noop(self, argv):
        return "200 result=0"

    async def _cmd_verbose(self, argv):
        if len(argv) < 2:
            raise _Usage
        return "200 result=1"

    async def _cmd_channel_status(self, argv):
        return "200 result=6"  # AST_STATE_UP: the dialplan answered before AGI()

    async def _cmd_hangup(self, argv):
        # res_agi.c:handle_hangup -> ast_softhangup; the HANGUP line follows the reply.
        self.dead = True
        self.hangup_by = "agi"
        self._event("agi_hangup")
        return "200 result=1"

    async def _cmd_set_callerid(self, argv):
        return "200 result=1"

    async def _cmd_set_music(self, argv):
        return "200 result=0"

    async def _cmd_set_variable(self, argv):
        if len(argv) != 4:
            raise _Usage
        name, value = argv[2], argv[3]
        if name.upper() == "CHANNEL(LANGUAGE)":
            self.language = value
        self.chan_vars[name] = value
        self.result_obj.variables[name] = value
        if self.peer.ami is not None:
            self.peer.ami.call_event(self, "VarSet", Variable=name, Value=value)
        return "200 result=1"

    def _lookup(self, name: str) -> str | None:
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

    async def _cmd_get_variable(self, argv):
        if len(argv) != 3:
            raise _Usage
        v = self._lookup(argv[2])
        return "200 result=0" if v is None else f"200 result=1 ({v})"

    async def _cmd_get_full_variable(self, argv):
        if len(argv) < 4:
            raise _Usage
        expr = argv[3]
        out, i = [], 0
        while i < len(expr):
            if expr.startswith("${", i):
                depth, j = 1, i + 2
                while j < len(expr) and depth:
                    if expr.startswith("${", j):
                        depth += 1
                        j += 2
                        continue
                    if expr[j] == "}":
                        depth -= 1
                    j += 1
                out.append(self._lookup(expr[i + 2:j - 1]) or "")
                i = j
            else:
                out.append(expr[i])
                i += 1
        return f"200 result=1 ({''.join(out)})"

    # media commands ------------------------------------------------------------------------
    def _find_sound(self, name: str) -> Path | None:
        """main/file.c: ``<lang>/<name>`` first, then ``<name>``, in the sounds directory."""
        exts = (".wav", ".sln")
        if name.startswith("/"):
            cands = [Path(name + e) for e in exts]
        elif self.peer.sounds_dir is None:
            return None
        else:
            base = Path(self.peer.sounds_dir)
            cands = [base / self.language / (name + e) for e in exts] + [base / (name + e) for e in exts]
        return next((c for c in cands if c.is_file()), None)

    def _load_sound(self, name: str) -> bytes | None:
        path = self._find_sound(name)
        if path is None:
            return None
        return self.peer.sound_cache(path)

    async def _playback(self, pcm: bytes, escape: str, box: _Inbox, offset: int = 0,
                        source: str = "") -> tuple[str, str | None, int]:
        """Play into the heard timeline; returns (how, digit, endpos samples)."""
        loop = self._loop
        pos = min(max(0, offset), len(pcm) // 2) * 2
        nxt = loop.time()  # type: ignore[union-attr]
        step = self._real(0.02)
        while pos < len(pcm):
            item = await box.get(nxt)
            if item is None:
                chunk = pcm[pos:pos + FRAME_BYTES]
                self._on_heard(chunk, source)
                pos += len(chunk)
                nxt += step
                continue
            if item[0] == "hangup":
                return "hangup", None, pos // 2
            if item[0] == "dtmf" and item[1] in escape:
                return "digit", item[1], pos // 2
        return "done", None, len(pcm) // 2

    async def _cmd_stream_file(self, argv):
        if len(argv) < 4 or len(argv) > 5:
            raise _Usage
        name, escape = argv[2], argv[3]
        offset = int(argv[4]) if len(argv) == 5 and argv[4].lstrip("-").isdigit() else 0
        pcm = self._load_sound(name)
        if pcm is None:
            # file.c: "File %s does not exist in any format"; the handler fails -> AGISTATUS=FAILURE
            self._warn(f"File {name} does not exist in any format")
            self._failed = True
            return "200 result=-1 endpos=0"
        box = self._attach()
        try:
            how, digit, endpos = await self._playback(pcm, escape, box, offset, f"stream_file:{name}")
        finally:
            self._detach(box)
        if how == "hangup":
            return f"200 result=-1 endpos={endpos}"
        if how == "digit":
            return f"200 result={ord(digit)} endpos={endpos}"  # type: ignore[arg-type]
        return f"200 result=0 endpos={endpos}"

    _cmd_control_stream_file = _cmd_stream_file

    async def _wait_digit(self, box: _Inbox, timeout_real: float | None) -> tuple[str, str | None]:
        loop = self._loop
        until = None if timeout_real is None else loop.time() + timeout_real  # type: ignore[union-attr]
        while True:
            item = await box.get(until)
            if item is None:
                return "timeout", None
            if item[0] == "hangup":
                return "hangup", None
            if item[0] == "dtmf":
                return "digit", item[1]

    async def _cmd_wait_for_digit(self, argv):
        if len(argv) != 4:
            raise _Usage
        try:
            ms = int(argv[3])
        except ValueError:
            raise _Usage from None
        box = self._attach()
        try:
            how, d = await self._wait_digit(box, None if ms < 0 else self._real(ms / 1000))
        finally:
            self._detach(box)
        if how == "hangup":
            return "200 result=-1"
        return f"200 result={ord(d)}" if d else "200 result=0"

    async def _cmd_get_data(self, argv):
        """main/app.c:ast_app_getdata + ast_readstring: any key stops the prompt, '#' ends."""
        if len(argv) < 3 or len(argv) > 5:
            raise _Usage
        timeout_ms = int(argv[3]) if len(argv) > 3 and argv[3].lstrip("-").isdigit() else 0
        if timeout_ms <= 0:
            timeout_ms = 5000  # pbx dtimeoutms default
        maxd = int(argv[4]) if len(argv) > 4 and argv[4].isdigit() else 1024
        digits = ""
        box = self._attach()
        try:
            pcm = self._load_sound(argv[2])
            if pcm is None:
                self._warn(f"File {argv[2]} does not exist in any format")
            else:
                how, d, _ = await self._playback(pcm, "0123456789*#ABCD", box, 0, f"get_data:{argv[2]}")
                if how == "hangup":
                    return "200 result=-1"
                if how == "digit":
                    if d == "#":
                        return "200 result="
                    digits += d  # type: ignore[operator]
            while len(digits) < maxd:
                how, d = await self._wait_digit(box, self._real(timeout_ms / 1000))
                if how == "hangup":
                    return "200 result=-1"
                if how == "timeout":
                    return f"200 result={digits} (timeout)"
                if d == "#":
                    break
                digits += d  # type: ignore[operator]
        finally:
            self._detach(box)
        return f"200 result={digits}"

    async def _cmd_say_digits(self, argv):
        if len(argv) != 4:
            raise _Usage
        escape = argv[3]
        box = self._attach()
        try:
            for c in argv[2]:
                pcm = self._load_sound(_SAY_FILES.get(c, f"digits/{c}"))
                if pcm is None:
                    continue  # say.c: missing digit files are skipped silently
                how, d, _ = await self._playback(pcm, escape, box, 0, f"say_digits:{c}")
                if how == "hangup":
                    return "200 result=-1"
                if how == "digit":
                    return f"200 result={ord(d)}"  # type: ignore[arg-type]
        finally:
            self._detach(box)
        return "200 result=0"

    async def _cmd_say_number(self, argv):
        return await self._cmd_say_digits(argv)

    async def _cmd_record_file(self, argv):
        """res_agi.c:handle_recordfile."""
        if len(argv) < 6:
            raise _Usage
        path, fmt, escape = argv[2], argv[3].lower(), argv[4]
        try:
            timeout_ms = int(argv[5])
        except ValueError:
            raise _Usage from None
        silence_ms = 0
        beep = False
        for extra in argv[6:]:
            if extra.startswith("s="):
                try:
                    silence_ms = int(extra[2:]) * 1000
                except ValueError:
                    pass
            elif not extra.lstrip("-").isdigit() and "=" not in extra:
                beep = True
        target = Path(path + "." + fmt) if path.startswith("/") else Path(self.peer.record_dir) / f"{path}.{fmt}"
        if fmt not in ("wav", "sln", "raw") or not target.parent.is_dir():
            self._warn(f"Could not create file {target}")
            return "200 result=-1 (writefile)"
        box = self._attach()
        rec = bytearray()
        how, digit, result = "timeout", None, 0
        try:
            if beep:
                pcm = self._load_sound("beep")
                if pcm is not None:
                    h, _, _ = await self._playback(pcm, "", box, 0, "beep")
                    if h == "hangup":
                        how = "hangup"
            silent_run = 0
            elapsed = 0
            deadline_real = None if timeout_ms <= 0 else self._loop.time() + self._real(timeout_ms / 1000) + 1.0  # type: ignore[union-attr]
            box.items = deque(i for i in box.items if i[0] != "audio")  # record from now on
            while how != "hangup":
                item = await box.get(deadline_real)
                if item is None:
                    break
                if item[0] == "hangup":
                    how = "hangup"
                    break
                if item[0] == "dtmf":
                    if item[1] in escape:
                        how, digit = "dtmf", item[1]
                        break
                    continue
                frame = item[1]
                rec += frame
                elapsed += len(frame) * 1000 // (2 * RATE)
                if silence_ms:
                    silent_run = silent_run + 20 if is_silent(frame) else 0
                    if silent_run >= silence_ms:
                        cut = max(0, (silence_ms - 1000)) * RATE * 2 // 1000
                        del rec[len(rec) - min(cut, len(rec)):]
                        how = "silence"
                        result = max(0, timeout_ms - elapsed) if timeout_ms > 0 else 0
                        break
                if timeout_ms > 0 and elapsed >= timeout_ms:
                    how = "timeout"
                    break
        finally:
            self._detach(box)
        if fmt == "wav":
            target.write_bytes(wav_bytes(bytes(rec)))
        else:
            target.write_bytes(bytes(rec))
        self.result_obj.recordings.append(str(target))
        endpos = len(rec) // 2
        if how == "hangup":
            return f"200 result=-1 (hangup) endpos={endpos}"
        if how == "dtmf":
            return f"200 result={ord(digit)} (dtmf) endpos={endpos}"  # type: ignore[arg-type]
        return f"200 result={result} (timeout) endpos={endpos}"

    # EXEC ----------------------------------------------------------------------------------
    async def _cmd_exec(self, argv):
        """res_agi.c:handle_exec -> ``200 result=<app return>``; unknown app -> -2."""
        if len(argv) < 2:
            raise _Usage
        app = argv[1]
        data = argv[2] if len(argv) > 2 else ""
        a = app.lower()
        if a == "audiosocket":
            return f"200 result={await self._app_audiosocket(data)}"
        if a == "noop":
            return "200 result=0"
        if a == "wait":
            try:
                secs = float(data or 0)
            except ValueError:
                secs = 0.0
            if self.dead:  # dead mode: Wait still waits (fixture: 200 result=0 after 1 s)
                await asyncio.sleep(self._real(secs))
                return "200 result=0"
            box = self._attach()
            try:
                how, _ = await self._wait_hangup(box, self._real(secs))
            finally:
                self._detach(box)
            return "200 result=-1" if how == "hangup" else "200 result=0"
        if a in ("answer", "ringing", "progress"):
            return "200 result=0"
        if a == "set":
            k, _, v = data.partition("=")
            if k:
                self.chan_vars[k] = v
                self.result_obj.variables[k] = v
            return "200 result=0"
        if a == "playback":
            box = self._attach()
            try:
                for name in data.split(",")[0].split("&"):
                    pcm = self._load_sound(name)
                    if pcm is None:
                        self._warn(f"File {name} does not exist in any format")
                        continue
                    how, _, _ = await self._playback(pcm, "", box, 0, f"playback:{name}")
                    if how == "hangup":
                        return "200 result=-1"
            finally:
                self._detach(box)
            return "200 result=0"
        self._warn(f"Could not find application ({app})")
        return "200 result=-2"

    async def _wait_hangup(self, box: _Inbox, seconds: float) -> tuple[str, None]:
        until = self._loop.time() + seconds  # type: ignore[union-attr]
        while True:
            item = await box.get(until)
            if item is None:
                return "done", None
            if item[0] == "hangup":
                return "hangup", None

    async def _app_audiosocket(self, data: str) -> int:
        """apps/app_audiosocket.c + res/res_audiosocket.c, run from ``EXEC AudioSocket``."""
        res = self.result_obj
        uid, _, addr = data.partition(",")
        entry = AudioSocketLog(uuid=uid, address=addr)
        res.audiosockets.append(entry)
        try:
            u = _uuid.UUID(uid.strip())
        except ValueError:
            self._warn(f"Failed to parse UUID '{uid}'")
            entry.how = "bad_uuid"
            entry.exec_result = -1
            return -1
        host, _, port = addr.rpartition(":")
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)), 2.0)
        except (OSError, ValueError, asyncio.TimeoutError) as exc:
            # res_audiosocket.c: MAX_CONNECT_TIMEOUT_MSEC 2000
            self._warn(f"Failed to connect to AudioSocket service '{addr}': {exc}")
            entry.how = "connect_failed"
            entry.exec_result = -1
            return -1
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        entry.connected_at = self.now()
        self._event("audiosocket_connected", uuid=uid)
        writer.write(encode_uuid(u))
        res.frames.append(FrameLog(self.now(), "out", "uuid", 16))
        box = self._attach()
        result = 0
        recv = self._loop.create_task(self._as_receive(reader, entry))  # type: ignore[union-attr]
        recv.add_done_callback(lambda t: box.put(("socket_closed", "cancelled" if t.cancelled() else
                                                  ("error" if t.exception() else t.result()))))
        loop = self._loop
        self._as_activity = loop.time()  # type: ignore[union-attr]
        try:
            while True:
                # app_audiosocket.c: MAX_WAIT_TIMEOUT_MSEC 2000 -- no frame either way for 2 s
                # ends the session ("Reached timeout after 2000 ms of no activity"), EXEC -1.
                item = await box.get(self._as_activity + 2.0)
                if item is None:
                    if loop.time() < self._as_activity + 2.0:  # type: ignore[union-attr]
                        continue
                    self._warn(f"Reached timeout after 2000 ms of no activity on AudioSocket connection {uid}")
                    entry.how = "inactivity"
                    result = -1
                    break
                kind = item[0]
                self._as_activity = loop.time()  # type: ignore[union-attr]
                if kind == "audio":
                    writer.write(encode_audio(item[1]))
                    entry.frames_out += 1
                    res.frames.append(FrameLog(self.now(), "out", "audio", len(item[1]), item[2]))
                elif kind == "dtmf":
                    writer.write(encode_dtmf(item[1]))
                    res.frames.append(FrameLog(self.now(), "out", "dtmf", 1))
                elif kind == "hangup":
                    # The caller hung up: close the socket, no 0x00 frame; the app returns -1.
                    entry.how = "caller_hangup"
                    result = -1
                    break
                elif kind == "socket_closed":
                    how = item[1]
                    entry.how = how
                    result = 0 if how in ("hangup_frame", "eof") else -1
                    if how == "protocol_error" and sock is not None:
                        # Asterisk resets the connection after an invalid kind.
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
        finally:
            self._detach(box)
            if not recv.done():
                recv.cancel()
                await asyncio.gather(recv, return_exceptions=True)
            writer.close()
            entry.closed_at = self.now()
            entry.exec_result = result
            self._event("audiosocket_closed", uuid=uid, how=entry.how, result=result)
        return result

    async def _as_receive(self, reader: asyncio.StreamReader, entry: AudioSocketLog) -> str:
        dec = AudioSocketDecoder("asterisk", max_payload=self.peer.max_audiosocket_payload)
        try:
            while True:
                data = await reader.read(65536)
                if data:
                    dec.receive_data(data)
                else:
                    dec.receive_eof()
                while True:
                    ev = dec.next_event()
                    if ev is AS_NEED:
                        break
                    if type(ev) is AudioFrame:
                        entry.frames_in += 1
                        self._as_activity = self._loop.time()  # type: ignore[union-attr]
                        pcm = ev.pcm if ev.sample_rate == RATE else resample(ev.pcm, ev.sample_rate, RATE)
                        self._on_media_frame(pcm)
                    elif type(ev) is HangupFrame:
                        self.result_obj.frames.append(FrameLog(self.now(), "in", "hangup", 0))
                        return "hangup_frame"
                if not data:
                    return "eof"
        except RemoteProtocolError as exc:
            self._warn(f"{exc}, refer to protocol specification for valid message types")
            return "protocol_error"
        except (ConnectionError, OSError) as exc:
            self._warn(f"Failed to read header from AudioSocket because: {exc}")
            return "reset"
