"""A small AMI server behaving like Asterisk 22's ``main/manager.c`` (+ ``apps/app_queue.c``).

Enough for the client's tests and for watching simulated calls: banner, Login (wrong secret:
error after ``login_failure_delay`` then close), Permission denied before login, Ping, Command,
CoreShowChannels, QueueStatus/QueueSummary, Setvar/Getvar, QueueAdd/QueuePause/QueueRemove,
Originate (the callback contract of the sample dialplan; anything else fails), Logoff, unknown
actions, events.
Responses carry ``ActionID`` as their second header, as Asterisk writes them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from ..ami_codec import NEED_DATA, AmiCodec, AmiMessage, encode_message
from ..errors import RemoteProtocolError

if TYPE_CHECKING:  # pragma: no cover
    from .asterisk import AsteriskPeer
    from .call import PeerCall

__all__ = ["AmiServer", "QueueMember", "Origination"]

log = logging.getLogger(__name__)


@dataclass
class QueueMember:
    """A queue member as ``app_queue.c`` reports it."""

    interface: str
    name: str
    membership: str = "dynamic"
    penalty: int = 0
    paused: bool = False
    reason: str = ""
    login: int = field(default_factory=lambda: int(time.time()))
    last_pause: int = 0
    in_call: bool = False
    ringing: bool = False
    calls_taken: int = 0
    last_call: int = 0

    @property
    def status(self) -> int:
        """``ast_device_state``: 1 NOT_INUSE, 2 INUSE, 6 RINGING."""
        return 2 if self.in_call else 6 if self.ringing else 1


@dataclass
class Origination:
    """An ``Originate`` the server answered (callback tests look at these)."""

    action_id: str | None
    channel: str
    context: str
    exten: str
    variables: dict[str, str]
    caller_id: str
    outcome: str = "pending"       # agent_no_answer | ANSWER | NOANSWER | BUSY | CONGESTION | failed


Pairs = list[tuple[str, object]]


class _Conn:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.authed = False

    def send(self, pairs: Pairs) -> None:
        if not self.writer.is_closing():
            self.writer.write(encode_message(pairs))


@dataclass(frozen=True)
class _Request:
    """One action being answered: the connection, the message and its ``ActionID`` header."""

    conn: _Conn
    msg: AmiMessage
    head: Pairs

    def ok(self, *pairs: tuple[str, object]) -> None:
        self.conn.send([("Response", "Success"), *self.head, *pairs])

    def err(self, message: str) -> None:
        self.conn.send([("Response", "Error"), *self.head, ("Message", message)])


class AmiServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, username: str = "ivr", secret: str = "ivrsecret", *,
                 login_failure_delay: float = 1.0, banner_version: str = "11.0.0",
                 queues: tuple[str, ...] = ("hotline",), asterisk_version: str = "22.10.1",
                 unanswered: tuple[str, ...] = (), channelvars: tuple[str, ...] = ("IVR_CALL_ID", "IVR_TRANSFER", "IVR_QUEUE"),
                 agent_ring_seconds: float = 2.0, agent_talk_seconds: float = 3.0, queue_timeout: float = 5.0,
                 callback_outcomes: dict[str, str] | None = None, phones: set[str] | None = None,
                 callback_ring_seconds: float = 0.2) -> None:
        self.host = host
        self._port = port
        self.username = username
        self._secret = secret
        self.login_failure_delay = login_failure_delay
        self.banner = f"Asterisk Call Manager/{banner_version}\r\n"
        self.asterisk_version = asterisk_version
        self.queues: dict[str, dict[str, QueueMember]] = {q: {} for q in queues}
        self.globals: dict[str, str] = {}
        self.actions: list[AmiMessage] = []
        self._conns: set[_Conn] = set()
        self._server: asyncio.Server | None = None
        self._peers: list["AsteriskPeer"] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.started = time.time()
        self.unanswered = {a.lower() for a in unanswered}   # simulate a stuck Asterisk
        self.channelvars = channelvars                        # manager.conf: channelvars = ...
        self.agent_ring_seconds = agent_ring_seconds
        self.agent_talk_seconds = agent_talk_seconds
        self.queue_timeout = queue_timeout
        self.logins = 0
        #: Originate: the citizen's number -> DialStatus (default ANSWER); the agent extensions
        #: whose phone answers (None: any queue member's PJSIP/<ext>, or any extension)
        self.callback_outcomes = dict(callback_outcomes or {})
        self.phones = phones
        self.callback_ring_seconds = callback_ring_seconds
        self.originations: list[Origination] = []
        self.waiting: dict[str, tuple[str, float, "PeerCall"]] = {}   # uniqueid -> (queue, joined, call)
        self._chan_seq = 0
        self._handlers: dict[str, Callable[[_Request], None]] = {
            "ping": self._a_ping, "command": self._a_command, "coreshowchannels": self._a_coreshowchannels,
            "queuestatus": self._a_queuestatus, "queuesummary": self._a_queuesummary, "setvar": self._a_setvar,
            "getvar": self._a_getvar, "queueadd": self._a_queueadd, "queuepause": self._a_queuepause,
            "queueremove": self._a_queueremove, "originate": self._a_originate,
        }

    @property
    def port(self) -> int:
        if self._server is not None and self._server.sockets:
            port: int = self._server.sockets[0].getsockname()[1]
            return port
        return self._port

    def attach_peer(self, peer: "AsteriskPeer") -> None:
        self._peers.append(peer)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self._port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        await self.drop_connections()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def drop_connections(self) -> None:
        """Close every client connection (to test reconnects)."""
        for c in list(self._conns):
            c.writer.close()
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def clients(self) -> int:
        return sum(1 for c in self._conns if c.authed)

    # -- events ----------------------------------------------------------------------------
    def emit(self, event: str, *pairs: tuple[str, object], **headers: object) -> None:
        """Send an event to every logged-in client."""
        msg = [("Event", event)] + list(pairs) + list(headers.items())
        for c in list(self._conns):
            if c.authed:
                c.send(msg)

    def _channel_headers(self, call: "PeerCall") -> Pairs:
        return [("Channel", call.channel), ("ChannelState", "6"), ("ChannelStateDesc", "Up"),
                ("CallerIDNum", call.caller_id), ("CallerIDName", call.caller_name or "<unknown>"),
                ("Language", call.language), ("AccountCode", ""), ("Context", call.peer.context),
                ("Exten", "s"), ("Priority", "4"), ("Uniqueid", call.uniqueid), ("Linkedid", call.uniqueid),
                *(("ChanVariable", f"{v}={call.chan_vars.get(v, '')}") for v in self.channelvars)]

    def call_event(self, call: "PeerCall", event: str, **extra: object) -> None:
        self.emit(event, ("Privilege", "call,all"), *self._channel_headers(call), *extra.items())

    def agi_exec_events(self, call: "PeerCall", command_id: int, line: str, reply: str) -> None:
        """res_agi.c publishes AGIExecStart/AGIExecEnd for every command (``command_id``
        counts the session's commands from 1)."""
        code = reply[:3]
        result = {"200": "Success", "510": "Invalid or unknown command", "520": "Usage",
                  "511": "Command Not Permitted on a dead channel or intercept routine"}.get(code, "Success")
        if code == "200" and line.upper().startswith("STREAM FILE") and "result=-1 endpos=0" in reply:
            code, result = "-1", "Failure"
        if code == "200" and line.upper().startswith("EXEC") and "result=-2" in reply:
            result = "Unknown Result"
        base = [("Privilege", "agi,all"), *self._channel_headers(call)]
        self.emit("AGIExecStart", *base, CommandId=command_id, Command=line)
        self.emit("AGIExecEnd", *base, CommandId=command_id, Command=line, ResultCode=code, Result=result)

    async def queue_call(self, call: "PeerCall", queue: str) -> str | None:
        """``Queue(${IVR_QUEUE})`` after the AGI (``apps/app_queue.c``): join, wait for a free
        member (logged in, not paused, not in a call) up to ``queue_timeout``, ring it, connect,
        talk, agent hangs up. Member state changes are published as ``QueueMemberStatus``.
        Returns the member interface that answered, or None. Durations are divided by the
        call's speed factor."""
        base = [("Privilege", "agent,all"), *self._channel_headers(call)]
        members = self.queues.get(queue)
        if members is None:
            log.warning("AMI server: Queue(%s): no such queue", queue)
            return None
        count = 1 + sum(1 for q, _, _ in self.waiting.values() if q == queue)
        self.waiting[call.uniqueid] = (queue, time.time(), call)
        self.emit("QueueCallerJoin", *base, Queue=queue, Position=str(count), Count=str(count))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.queue_timeout / call.speed
        free = None
        while True:
            free = next((m for m in members.values() if not m.paused and not m.in_call and not m.ringing), None)
            if free is not None or loop.time() >= deadline or call.uniqueid not in self.waiting:
                break
            await asyncio.sleep(0.02)
        joined = self.waiting.pop(call.uniqueid, (queue, time.time(), call))[1]
        if free is None:
            self.emit("QueueCallerAbandon", *base, Queue=queue, Position="1", OriginalPosition="1",
                      HoldTime=str(round((time.time() - joined) * call.speed)))
            self.emit("QueueCallerLeave", *base, Queue=queue, Position="1", Count="0")
            return None
        dest = [("DestChannel", f"{free.interface}-agent;1"), ("DestUniqueid", f"{call.uniqueid}.agent"),
                ("DestLinkedid", call.uniqueid)]
        who = [("Queue", queue), ("Interface", free.interface), ("MemberName", free.name)]
        waited = round((time.time() - joined) * call.speed)     # in the call's own (scaled) seconds
        free.ringing = True
        self._member_status(free)
        self.emit("AgentCalled", *base, *dest, *who)
        await asyncio.sleep(self.agent_ring_seconds / call.speed)
        ring = str(round(self.agent_ring_seconds))
        hold = str(waited + round(self.agent_ring_seconds))
        self.emit("QueueCallerLeave", *base, Queue=queue, Position="1", Count="0")
        free.ringing, free.in_call = False, True
        self._member_status(free)
        self.emit("AgentConnect", *base, *dest, *who, HoldTime=hold, RingTime=ring)
        await asyncio.sleep(self.agent_talk_seconds / call.speed)
        free.in_call = False
        free.calls_taken += 1
        free.last_call = int(time.time())
        self.emit("AgentComplete", *base, *dest, *who, HoldTime=hold, TalkTime=str(round(self.agent_talk_seconds)),
                  Reason="agent")
        self._member_status(free)
        return free.interface

    def _member_status(self, mem: QueueMember) -> None:
        for q, ms in self.queues.items():
            if ms.get(mem.interface) is mem:
                self._member_event("QueueMemberStatus", q, mem)

    def _calls(self) -> list["PeerCall"]:
        return [c for p in self._peers for c in p.calls]

    # -- connections -----------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        conn = _Conn(writer)
        self._conns.add(conn)
        codec = AmiCodec("server")
        try:
            writer.write(self.banner.encode())
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                codec.receive_data(data)
                while True:
                    msg = codec.next_event()
                    if msg is NEED_DATA:
                        break
                    if not isinstance(msg, AmiMessage):   # only a client expects a banner
                        continue
                    self.actions.append(msg)
                    if not await self._action(conn, msg):
                        return
        except RemoteProtocolError as exc:
            log.warning("AMI server: protocol error from client: %s", exc)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._conns.discard(conn)
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _action(self, c: _Conn, m: AmiMessage) -> bool:
        """Handle one action; False closes the connection."""
        action = (m.get("Action") or "").strip()
        aid = m.get("ActionID")
        head: Pairs = [("ActionID", aid)] if aid is not None else []
        req = _Request(c, m, head)
        ok, err = req.ok, req.err

        a = action.lower()
        if not action:
            err("Missing action in request")
            return True
        if a == "login":
            if m.get("Username") == self.username and m.get("Secret") == self._secret:
                c.authed = True
                self.logins += 1
                ok(("Message", "Authentication accepted"))
                c.send([("Event", "FullyBooted"), ("Privilege", "system,all"),
                        ("Uptime", int(time.time() - self.started)), ("LastReload", int(time.time() - self.started)),
                        ("Status", "Fully Booted")])
                return True
            await asyncio.sleep(self.login_failure_delay)  # manager.c delays failed logins
            err("Authentication failed")
            await c.writer.drain()
            return False
        if a == "logoff":
            c.send([("Response", "Goodbye"), *head, ("Message", "Thanks for all the fish.")])
            await c.writer.drain()
            return False
        if not c.authed:
            err("Permission denied")
            return True
        if a in self.unanswered:
            return True
        handler = self._handlers.get(a)
        if handler is None:
            err(f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands.")
            c.send([("Event", "RequestBadFormat"), ("Privilege", "security,all"), ("Severity", "Error"),
                    ("Service", "AMI"), ("EventVersion", "1"), ("RequestType", f"Action: {action}")])
            return True
        handler(req)
        return True

    # -- actions ---------------------------------------------------------------------------
    def _a_ping(self, r: _Request) -> None:
        ok = r.ok
        ok(("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}"))

    def _a_command(self, r: _Request) -> None:
        c, m, head, ok = r.conn, r.msg, r.head, r.ok
        cmd = (m.get("Command") or "").strip()
        words = cmd.split()
        if cmd == "core show version":
            ok(("Message", "Command output follows"), ("Output", f"Asterisk {self.asterisk_version} (simulated)"))
        elif words[:2] == ["queue", "show"] and len(words) == 3 and words[2] in self.queues:
            members = self.queues[words[2]]
            out = [f"{words[2]} has 0 calls (max unlimited) in 'ringall' strategy (0s holdtime, 0s talktime), "
                   "W:0, C:0, A:0, SL:0.0%, SL2:0.0% within 0s", "   Members: " if members else "   No Members"]
            out += [f"      {m.name} ({m.interface}) ({'paused' if m.paused else 'Not in use'})"
                    for m in members.values()]
            out += ["   No Callers", ""]
            ok(("Message", "Command output follows"), *(("Output", o) for o in out))
        else:
            first = " ".join(cmd.split()[:2])
            c.send([("Response", "Error"), *head, ("Message", "Command output follows"),
                    ("Output", f"No such command '{cmd}' (type 'core show help {first}' for other possible commands)")])

    def _list(self, c: _Conn, head: Pairs, what: str, complete: str, items: list[Pairs]) -> None:
        c.send([("Response", "Success"), *head, ("EventList", "start"), ("Message", f"{what} will follow")])
        for it in items:
            c.send(it)
        c.send([("Event", complete), *head, ("EventList", "Complete"), ("ListItems", len(items))])

    def _a_coreshowchannels(self, r: _Request) -> None:
        c, head = r.conn, r.head
        items = [[("Event", "CoreShowChannel"), *head, *self._channel_headers(call)] for call in self._calls()]
        self._list(c, head, "Channels", "CoreShowChannelsComplete", items)

    def _member_fields(self, mem: QueueMember) -> Pairs:
        return [("Membership", mem.membership), ("Penalty", mem.penalty), ("CallsTaken", mem.calls_taken),
                ("LastCall", mem.last_call), ("LastPause", mem.last_pause), ("LoginTime", mem.login),
                ("InCall", int(mem.in_call)), ("Status", mem.status),
                ("Paused", int(mem.paused)), ("PausedReason", mem.reason), ("Wrapuptime", 0)]

    def _a_queuestatus(self, r: _Request) -> None:
        c, m, head = r.conn, r.msg, r.head
        want = m.get("Queue")
        items = []
        for q, members in self.queues.items():
            if want and want != q:
                continue
            items.append([("Event", "QueueParams"), ("Queue", q), ("Max", 0), ("Strategy", "ringall"),
                          ("Calls", sum(1 for wq, _, _ in self.waiting.values() if wq == q)), ("Holdtime", 0), ("TalkTime", 0), ("Completed", 0), ("Abandoned", 0),
                          ("ServiceLevel", 0), ("ServicelevelPerf", "0.0"), ("ServicelevelPerf2", "0.0"),
                          ("Weight", 0), *head])
            for mem in members.values():
                items.append([("Event", "QueueMember"), ("Queue", q), ("Name", mem.name),
                              ("Location", mem.interface), ("StateInterface", mem.interface),
                              *self._member_fields(mem), *head])
            pos = 0
            for uid, (wq, joined, call) in list(self.waiting.items()):
                if wq != q:
                    continue
                pos += 1
                items.append([("Event", "QueueEntry"), ("Queue", q), ("Position", pos),
                              ("Channel", call.channel), ("Uniqueid", uid), ("CallerIDNum", call.caller_id),
                              ("CallerIDName", call.caller_name or "unknown"), ("ConnectedLineNum", "unknown"),
                              ("ConnectedLineName", "unknown"), ("Wait", int(time.time() - joined)),
                              ("Priority", 0), *head])
        self._list(c, head, "Queue status", "QueueStatusComplete", items)

    def _a_queuesummary(self, r: _Request) -> None:
        c, m, head = r.conn, r.msg, r.head
        want = m.get("Queue")
        items = [[("Event", "QueueSummary"), ("Queue", q), ("LoggedIn", len(ms)),
                  ("Available", sum(1 for x in ms.values() if not x.paused)), ("Callers", 0), ("HoldTime", 0),
                  ("TalkTime", 0), ("LongestHoldTime", 0), *head]
                 for q, ms in self.queues.items() if not want or want == q]
        self._list(c, head, "Queue summary", "QueueSummaryComplete", items)

    def _find_call(self, channel: str) -> "PeerCall | None":
        return next((x for x in self._calls() if x.channel == channel), None)

    def _a_setvar(self, r: _Request) -> None:
        m, ok, err = r.msg, r.ok, r.err
        var, val, chan = m.get("Variable"), m.get("Value") or "", m.get("Channel")
        if not var:
            err("No variable specified")
            return
        if chan:
            call = self._find_call(chan)
            if call is None:
                err("No such channel")
                return
            call.chan_vars[var] = val
        else:
            self.globals[var] = val
        ok(("Message", "Variable Set"))
        self.emit("VarSet", ("Privilege", "dialplan,all"), ("Channel", chan or "none"),
                  ("Uniqueid", "none"), ("Variable", var), ("Value", val))

    def _a_getvar(self, r: _Request) -> None:
        m, ok, err = r.msg, r.ok, r.err
        var, chan = m.get("Variable") or "", m.get("Channel")
        if chan:
            call = self._find_call(chan)
            if call is None:
                err("No such channel")
                return
            val = call.lookup_variable(var) or ""
        else:
            val = self.globals.get(var, "")
        ok(("Variable", var), ("Value", val))

    def _member_event(self, event: str, q: str, mem: QueueMember) -> None:
        self.emit(event, ("Privilege", "agent,all"), ("Queue", q), ("MemberName", mem.name),
                  ("Interface", mem.interface), ("StateInterface", mem.interface), *self._member_fields(mem))

    def _a_queueadd(self, r: _Request) -> None:
        m, ok, err = r.msg, r.ok, r.err
        q, iface = m.get("Queue") or "", m.get("Interface") or ""
        if q not in self.queues:
            err("Unable to add interface to queue: No such queue")
            return
        if iface in self.queues[q]:
            err("Unable to add interface: Already there")
            return
        paused = (m.get("Paused") or "").lower() in ("1", "true", "yes")
        penalty = m.get("Penalty") or "0"
        # app_queue.c keeps the penalty and, for a member added paused, the reason and the time
        mem = QueueMember(iface, m.get("MemberName") or iface, penalty=int(penalty) if penalty.isdigit() else 0,
                          paused=paused, reason=(m.get("Reason") or "") if paused else "")
        if paused:
            mem.last_pause = mem.login
        self.queues[q][iface] = mem
        ok(("Message", "Added interface to queue"))
        self.emit("DeviceStateChange", ("Privilege", "call,all"), ("Device", f"Queue:{q}_pause_{iface}"),
                  ("State", "INUSE" if mem.paused else "NOT_INUSE"))
        self._member_event("QueueMemberAdded", q, mem)

    def _a_queuepause(self, r: _Request) -> None:
        m, ok, err = r.msg, r.ok, r.err
        iface, want = m.get("Interface") or "", m.get("Queue")
        paused = (m.get("Paused") or "").lower() in ("1", "true", "yes")
        hits = [(q, ms[iface]) for q, ms in self.queues.items() if (not want or q == want) and iface in ms]
        if not hits:
            err("Interface not found")
            return
        ok(("Message", "Interface paused successfully" if paused else "Interface unpaused successfully"))
        for q, mem in hits:
            mem.paused, mem.reason, mem.last_pause = paused, (m.get("Reason") or "") if paused else "", int(time.time())
            self.emit("DeviceStateChange", ("Privilege", "call,all"), ("Device", f"Queue:{q}_pause_{iface}"),
                      ("State", "INUSE" if paused else "NOT_INUSE"))
            self._member_event("QueueMemberPause", q, mem)

    def _a_queueremove(self, r: _Request) -> None:
        m, ok, err = r.msg, r.ok, r.err
        q, iface = m.get("Queue") or "", m.get("Interface") or ""
        if q not in self.queues:
            err("Unable to remove interface from queue: No such queue")
            return
        mem = self.queues[q].pop(iface, None)
        if mem is None:
            err("Unable to remove interface: Not there")
            return
        ok(("Message", "Removed interface from queue"))
        self._member_event("QueueMemberRemoved", q, mem)
        self.emit("DeviceStateChange", ("Privilege", "call,all"), ("Device", f"Queue:{q}_pause_{iface}"),
                  ("State", "NOT_INUSE"))

    def _a_originate(self, r: _Request) -> None:
        """``Originate``. The callback contract (``Local/<ext>@hotline-agent-ring`` into
        ``hotline-callback``) rings the agent's phone, then dials the citizen, as the sample
        dialplan on Asterisk 22 does (fixtures/asterisk-22/ami-callback-originate.jsonl): an
        extension that is not a phone (``phones``) fails at once (OriginateResponse Failure,
        Reason 0); else OriginateResponse (Success, Reason 4) once the agent answers, then the
        citizen: a number the dialplan refuses (not ``0`` + 9 to 14 more characters) ends without
        a dial, else DialBegin/DialEnd with ``callback_outcomes[number]`` (ANSWER by default);
        every attempt that reached ``hotline-callback`` ends with Hangup and UserEvent
        ``HotlineCallback`` (IVR_CALLBACK_ID, DialStatus, Reason). Any other channel fails."""
        c, m, head, ok = r.conn, r.msg, r.head, r.ok
        channel = m.get("Channel") or ""
        ok(("Message", "Originate successfully queued"))
        variables = dict(v.partition("=")[::2] for v in m.get_all("Variable"))
        orig = Origination(m.get("ActionID"), channel, m.get("Context") or "", m.get("Exten") or "", variables,
                           m.get("CallerID") or "")
        self.originations.append(orig)
        ext, _, ctx = channel.removeprefix("Local/").partition("@")
        if channel.startswith("Local/") and ctx == "hotline-agent-ring" and orig.context == "hotline-callback":
            t = asyncio.get_running_loop().create_task(self._callback(c, head, orig, ext))
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)
            return
        orig.outcome = "failed"
        c.send([("Event", "OriginateResponse"), ("Privilege", "call,all"), *head, ("Response", "Failure"),
                ("Channel", channel), ("Context", orig.context),
                ("Exten", orig.exten), ("Reason", 0), ("Uniqueid", "<unknown>"),
                ("CallerIDNum", "<unknown>"), ("CallerIDName", "<unknown>")])

    def _answers(self, ext: str) -> bool:
        """Is ``ext`` an agent's phone? (``phones`` None: any extension is.)"""
        if self.phones is not None:
            return ext in self.phones
        return True

    async def _callback(self, c: _Conn, head: Pairs, orig: Origination, ext: str) -> None:
        self._chan_seq += 1
        seq = f"{self._chan_seq:08x}"
        chan1 = f"Local/{ext}@hotline-agent-ring-{seq};1"
        uid = f"{time.time():.0f}.{self._chan_seq}"
        if not self._answers(ext):
            # no such phone: Dial() fails at once ("Channel not implemented"), Reason 0
            orig.outcome = "agent_no_answer"
            c.send([("Event", "OriginateResponse"), ("Privilege", "call,all"), *head, ("Response", "Failure"),
                    ("Channel", orig.channel), ("Context", orig.context), ("Exten", orig.exten), ("Reason", 0),
                    ("Uniqueid", "<unknown>"), ("CallerIDNum", "hotline"), ("CallerIDName", "Hotline")])
            return
        await asyncio.sleep(self.callback_ring_seconds)
        chan_vars = [(f"ChanVariable({chan1})", f"{k}={v}") for k, v in orig.variables.items()]
        c.send([("Event", "OriginateResponse"), ("Privilege", "call,all"), *head, ("Response", "Success"),
                ("Channel", chan1), ("Context", orig.context), ("Exten", orig.exten), ("Reason", 4),
                ("Uniqueid", uid), ("CallerIDNum", "hotline"), ("CallerIDName", "Hotline"), *chan_vars])
        base = [("Privilege", "call,all"), ("Channel", chan1), ("ChannelState", "6"), ("ChannelStateDesc", "Up"),
                ("CallerIDNum", "hotline"), ("CallerIDName", "Hotline"), ("Language", "en"), ("AccountCode", ""),
                ("Context", orig.context), ("Exten", orig.exten), ("Priority", "1"), ("Uniqueid", uid),
                ("Linkedid", uid),
                *(("ChanVariable", f"{v}={orig.variables.get(v, '')}") for v in self.channelvars + ("IVR_CALLBACK_ID",)
                  if v in orig.variables)]
        dest = [("DestChannel", f"PJSIP/trunk-{seq}"), ("DestChannelState", "5"), ("DestChannelStateDesc", "Ringing"),
                ("DestCallerIDNum", orig.exten), ("DestContext", "from-trunk"), ("DestExten", orig.exten),
                ("DestUniqueid", f"{uid}.1"), ("DestLinkedid", uid)]
        cid = orig.variables.get("IVR_CALLBACK_ID", "")
        if not _dialplan_takes(orig.exten):
            # [hotline-callback] exten invalid: congestion tone for the agent, Hangup(28), no dial
            orig.outcome = "invalid"
            await asyncio.sleep(self.callback_ring_seconds)
            self.emit("UserEvent", ("Privilege", "user,all"), *base[1:], UserEvent="HotlineCallback",
                      IVR_CALLBACK_ID=cid, DialStatus="", Reason="invalid-number")
            self.emit("Hangup", *base, Cause="28", **{"Cause-txt": "Invalid number format"})
            return
        self.emit("DialBegin", *base, *dest, DialString=f"{orig.exten}@trunk")
        await asyncio.sleep(self.callback_ring_seconds)
        status = self.callback_outcomes.get(orig.exten, "ANSWER")
        orig.outcome = status
        self.emit("DialEnd", *base, *dest, DialStatus=status)
        self.emit("UserEvent", ("Privilege", "user,all"), *base[1:], UserEvent="HotlineCallback", IVR_CALLBACK_ID=cid, DialStatus=status, Reason="")
        self.emit("Hangup", *base, Cause="16", **{"Cause-txt": "Normal Clearing"})


def _dialplan_takes(number: str) -> bool:
    """Does the sample ``[hotline-callback]`` dial this number? ``_0XXXXXXXX.`` (0, eight
    digits, then at least one more character) and at most 15 characters; anything else is
    refused as invalid-number."""
    return (len(number) >= 10 and number[0] == "0" and number[1:9].isdigit() and len(number) <= 15)
