"""Asterisk's side of one FastAGI session: connect, env block, command loop, HANGUP notices.

``res/res_agi.c``: ``AGI(agi://...)`` connects (a failed connect sets ``AGISTATUS=FAILURE`` and
the dialplan continues), writes the env block (``setup_env``), then reads one command at a time
and writes its reply (``agi_handle_command``). ``HANGUP`` is written once when the hang-up is
first noticed: at once while idle, ~40 ms after the reply of the command the hang-up
interrupted, and once more when the script ends the session.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import TYPE_CHECKING, Any

from ..agi_codec import NEED_DATA, AgiCommand, AgiConnectionClosed, AgiPeerCodec
from ..errors import RemoteProtocolError
from .agi_commands import AgiCommands
from .result import AgiCommandLog

if TYPE_CHECKING:  # pragma: no cover
    from .call import PeerCall

__all__ = ["PeerAgiSession", "HANGUP_NOTICE_DELAY", "SERIALS"]

log = logging.getLogger(__name__)

HANGUP_NOTICE_DELAY = 0.04  # observed: HANGUP ~40 ms after the interrupted command's reply
#: res_agi.c: "Connecting to '%s' failed" after the connect timeout
CONNECT_TIMEOUT = 5.0

#: one counter per simulated Asterisk process: channel names, unique ids and AGI thread ids
SERIALS = itertools.count(1)

#: what the reader hands the command loop when the script's side ends (None: clean EOF)
ReaderEnd = BaseException | None


class PeerAgiSession:
    """The FastAGI session of one simulated call."""

    def __init__(self, call: "PeerCall", target: tuple[str, int] | None = None) -> None:
        self._call = call
        #: the controller this session connects to (default: the peer's ``agi_host:agi_port``)
        self.host, self.port = target if target is not None else (call.peer.agi_host, call.peer.agi_port)
        self._codec = AgiPeerCodec()
        self._commands = AgiCommands(call)
        self._writer: asyncio.StreamWriter | None = None
        self._notified = False
        #: a command is running (a caller hang-up is then announced after its reply)
        self.executing = False
        #: every command line received, in order
        self.command_lines: list[str] = []
        #: commands answered so far (the ``CommandId`` of the AMI ``AGIExec*`` events)
        self.commands_answered = 0

    def env(self) -> dict[str, str]:
        """The ``agi_*`` block as ``res_agi.c:setup_env`` writes it for a network script."""
        call = self._call
        p = call.peer
        return {
            "network": "yes", "network_script": p.script, "request": f"agi://{self.host}:{self.port}/{p.script}",
            "channel": call.channel, "language": call.language, "type": "PJSIP", "uniqueid": call.uniqueid,
            "version": p.version, "callerid": call.caller_id or "unknown",
            "calleridname": call.caller_name or "unknown", "callingpres": "0", "callingani2": "0",
            "callington": "0", "callingtns": "0", "dnid": call.dnid or "unknown", "rdnis": "unknown",
            "context": p.context, "extension": "s", "priority": "4", "enhanced": "0.0",
            "accountcode": "", "threadid": str(140000000000000 + next(SERIALS)),
        }

    def notify_hangup(self) -> None:
        """res_agi.c: send ``HANGUP`` once, when the hang-up is first noticed."""
        if self._notified or self._writer is None or self._writer.is_closing():
            return
        self._notified = True
        call = self._call
        call.result_obj.hangup_notices.append(call.now())
        call.event("hangup_notice")
        self._writer.write(self._codec.send_hangup_notice())

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    async def run(self) -> None:
        """Run the session until the script closes it; results go to ``call.result_obj``."""
        call = self._call
        res = call.result_obj
        loop = asyncio.get_running_loop()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port),
                                                    CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as exc:
            # res_agi.c: "Connecting to '%s' failed ..." -> AGISTATUS=FAILURE, dialplan continues.
            res.error = f"FastAGI connect to {self.host}:{self.port} failed: {exc}"
            res.ended_by, res.agi_status = "agi_failed", "FAILURE"
            call.warn(res.error)
            return
        self._writer = writer
        writer.write(self._codec.send_environment(self.env(), call.args))
        call.event("agi_connected")
        eof: asyncio.Future[ReaderEnd] = loop.create_future()
        cmds: asyncio.Queue[AgiCommand] = asyncio.Queue()
        reader_task = loop.create_task(self._read(reader, cmds, eof))
        try:
            await self._command_loop(writer, cmds, eof)
        finally:
            reader_task.cancel()
            await asyncio.gather(reader_task, return_exceptions=True)
            ended = eof.result() if eof.done() else None
            if isinstance(ended, RemoteProtocolError):
                call.warn(f"AGI protocol error from the script: {ended}")
            # res_agi.c: one more HANGUP when the session ends, then Asterisk closes its side.
            if not writer.is_closing():
                try:
                    writer.write(b"HANGUP\n")
                    res.hangup_notices.append(call.now())
                except OSError:  # pragma: no cover - socket already gone
                    pass
                writer.close()
            call.event("agi_closed")

    async def _command_loop(self, writer: asyncio.StreamWriter, cmds: "asyncio.Queue[AgiCommand]",
                            eof: "asyncio.Future[ReaderEnd]") -> None:
        call = self._call
        res = call.result_obj
        loop = asyncio.get_running_loop()
        while True:
            get = loop.create_task(cmds.get())
            waiting: set[asyncio.Future[Any]] = {get, eof}
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if get not in done:
                get.cancel()
                break
            cmd = get.result()
            self.command_lines.append(cmd.line)
            sent_at = call.now()
            call.event("command", line=cmd.line)
            self.executing = True
            ex = loop.create_task(self._commands.execute(cmd))
            waiting = {ex, eof}
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if ex not in done:
                # The script closed mid-command: the command is aborted at once.
                ex.cancel()
                await asyncio.gather(ex, return_exceptions=True)
                self.executing = False
                res.commands.append(AgiCommandLog(cmd.line, "", sent_at, call.now()))
                break
            reply, first_part = ex.result()
            self.executing = False
            if first_part is not None:   # 520: usage text ~40 ms after the first line
                writer.write(first_part.encode())
                await asyncio.sleep(0.04)
                writer.write(self._codec.send_reply(reply))
                reply = first_part + reply
            else:
                writer.write(self._codec.send_reply(reply))
            res.commands.append(AgiCommandLog(cmd.line, reply.rstrip("\n"), sent_at, call.now()))
            call.event("reply", line=reply.rstrip("\n"))
            self.commands_answered += 1
            if call.peer.ami is not None:
                call.peer.ami.agi_exec_events(call, self.commands_answered, cmd.line, reply)
            if call.dead and not self._notified:
                await asyncio.sleep(HANGUP_NOTICE_DELAY)
                self.notify_hangup()

    async def _read(self, reader: asyncio.StreamReader, cmds: "asyncio.Queue[AgiCommand]",
                    eof: "asyncio.Future[ReaderEnd]") -> None:
        codec = self._codec
        result: ReaderEnd = None
        try:
            while True:
                data = await reader.read(65536)
                if data:
                    codec.receive_data(data)
                else:
                    codec.receive_eof()
                while True:
                    ev = codec.next_event()
                    if ev is NEED_DATA or isinstance(ev, AgiConnectionClosed):
                        break
                    if isinstance(ev, AgiCommand):
                        cmds.put_nowait(ev)
                if not data:
                    break
        except RemoteProtocolError as exc:
            log.error("peer %s: AGI protocol error from the script: %s", self._call.uniqueid, exc)
            result = exc
        except (ConnectionError, OSError) as exc:
            result = exc
        finally:
            if not eof.done():
                eof.set_result(result)
