"""The :class:`Desk`: AMI events in, desk events out; agents' actions out to Asterisk.

* AMI queue events fold into a :class:`~ivr.desk.board.QueueBoard`; a changed board is sent
  whole (``board`` event, at most every ``board_interval_s``) with the live calls of every
  process, today's figures and the alerts;
* ``AgentConnect`` pops the call on the agent's desk (:func:`~ivr.desk.pop.build_pop`);
* AMI lost: the board says so at once ("AMI terputus"); on the next login the board is rebuilt
  from ``QueueStatus``;
* agents log in/out of queues and pause (``QueueAdd``/``QueueRemove``/``QueuePause``) and call
  citizens back (``Originate``, :mod:`ivr.desk.dialler`), with attempts recorded and retried
  within office hours;
* tickets past their SLA are escalated to supervisors.

Only what this process alone knows crosses the :mod:`~ivr.desk.bus` (live calls, tickets,
wrap-ups, callback outcomes); every process hears AMI itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from ivr.config.calendar import OfficeHours
from ivr.config.clock import Clock, system_clock
from ivr.config.settings import Settings
from ivr.desk.board import QueueBoard, call_id_of
from ivr.desk.bus import Bus, LocalBus
from ivr.desk.dialler import ORIGINATE_REASONS, check_number, originate_fields
from ivr.desk.events import DeskEvent, for_agent
from ivr.desk.hub import DeskHub
from ivr.storage.script_labels import BeyondSpec
from ivr.desk.pop import build_pop
from ivr.desk.steps import LiveStepLabels
from ivr.storage.script_view import LiveScriptView
from ivr.storage import Store, StoreError
from telephony import AmiClient, AmiMessage
from telephony.ami import AmiError

__all__ = ["Desk", "LiveCalls", "DeskError"]

log = logging.getLogger(__name__)

#: this process' live calls: (call id, dialog state)
LiveCalls = Callable[[], Iterable[tuple[str, str]]]

_AMI_EVENTS = ("QueueMemberStatus", "QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause",
               "QueueMemberPaused", "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon",
               "AgentCalled", "AgentConnect", "AgentComplete", "AgentRingNoAnswer")
_DIAL_STATUS = {"ANSWER": "answered", "NOANSWER": "no_answer", "BUSY": "busy", "CONGESTION": "failed",
                "CHANUNAVAIL": "failed", "CANCEL": "no_answer"}
#: what the agent reads when the citizen's leg ends (the attempt's reason, the desk's message);
#: Asterisk's own words (DialStatus) stay in the log
_DIAL_WORDS = {"answered": "Warga menjawab.", "no_answer": "Warga tidak menjawab.", "busy": "Nomor warga sibuk.",
               "CONGESTION": "Panggilan ke warga gagal: jaringan sedang padat.",
               "CHANUNAVAIL": "Panggilan ke warga gagal: nomor tidak dapat dihubungi."}
#: why the agent's own phone did not connect (OriginateResponse Reason, see ORIGINATE_REASONS)
_ORIGINATE_WORDS = {"hangup": "panggilan ditutup", "no_answer": "tidak diangkat", "busy": "sedang sibuk",
                    "congestion": "jaringan sedang padat", "answered": "terputus setelah diangkat"}


def _quiet(task: "asyncio.Task[dict[str, Any]]") -> None:
    if not task.cancelled():
        task.exception()


#: close(): how long to wait for cancelled loops before cancelling them again, and how often
STOP_WAIT_S = 1.0
STOP_ROUNDS = 5


async def _stop(tasks: Iterable["asyncio.Task[None]"]) -> None:
    """Cancel ``tasks`` and wait until they end. A loop can live through a cancellation (on
    Python 3.11 ``asyncio.wait_for`` drops one that arrives as the awaited result lands,
    CPython gh-86296, and a library may do the same): what still runs after ``STOP_WAIT_S`` is
    cancelled again, so a shutdown never waits for ever; after ``STOP_ROUNDS`` it is logged
    and left behind."""
    tasks = list(tasks)
    pending = {t for t in tasks if not t.done()}
    for _ in range(STOP_ROUNDS):
        if not pending:
            break
        for t in pending:
            t.cancel()
        _, pending = await asyncio.wait(pending, timeout=STOP_WAIT_S)
    if pending:
        log.error("desk: %d task(s) did not stop when cancelled: %s", len(pending),
                  ", ".join(sorted(t.get_name() for t in pending)))
    for t in tasks:
        if t.done() and not t.cancelled():
            t.exception()          # retrieved, not raised: closing goes on (as before)


class DeskError(Exception):
    """An agent's action could not be done; the message is for the agent (Indonesian)."""


class Desk:
    def __init__(self, settings: Settings, store: Store, *, ami: AmiClient | None = None, bus: Bus | None = None,
                 live_calls: LiveCalls | None = None, clock: Clock = system_clock,
                 board_interval_s: float = 0.5, live_interval_s: float = 1.0, figures_interval_s: float = 2.0,
                 housekeeping_interval_s: float = 30.0) -> None:
        self.settings = settings
        self.store = store
        self.ami = ami
        self.bus: Bus = bus or LocalBus()
        self.live_calls = live_calls
        self.clock = clock
        self.hours: OfficeHours = settings.hours()
        self.hub = DeskHub()
        self.board = QueueBoard(settings.agent_queues, now=time.time)
        self.board_interval_s = board_interval_s
        self.live_interval_s = live_interval_s
        self.figures_interval_s = figures_interval_s
        self.housekeeping_interval_s = housekeeping_interval_s
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._remote_live: dict[str, tuple[float, dict[str, int]]] = {}
        self._figures: dict[str, Any] = {}
        #: the live script's dialog states in staff words (the wallboard never shows state ids)
        self.steps = LiveStepLabels(store, settings.script_path())
        #: the live script's out-of-scope topics: the pop names the one a caller turn was told
        self.beyond = LiveScriptView(store, settings.script_path(), BeyondSpec.from_script, BeyondSpec(),
                                     "out-of-scope topics on the desk pop")
        self._agent_day: dict[str, tuple[int, int]] = {}
        self._mapped: dict[str, str] = {}          # interface -> username (desk_agents)
        self._active: dict[str, dict[str, Any]] = {}  # username -> the pop on their desk
        self._originates: dict[str, str] = {}      # AMI ActionID -> attempt id
        self._early: dict[str, AmiMessage] = {}    # OriginateResponse that came before we knew its id
        self._attempts: dict[str, tuple[str, str]] = {}  # attempt id -> (ticket, agent)
        self.pop_latencies: deque[float] = deque(maxlen=10000)
        #: pops read while the caller waits in the queue (Uniqueid -> task), used at AgentConnect
        self._prefetched: dict[str, asyncio.Task[dict[str, Any]]] = {}
        self.board_sent = 0
        self._closing = False
        #: a pop sent without context is read again this many times, this far apart
        self.pop_retries = 20
        self.pop_retry_interval_s = 1.0
        self._repops: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ life
    async def start(self) -> "Desk":
        if self.ami is not None:
            for name in _AMI_EVENTS:
                self.ami.on(name, self._on_queue_event)
            self.ami.on("AgentConnect", self._on_agent_connect)
            self.ami.on("QueueCallerJoin", self._prefetch)
            self.ami.on("OriginateResponse", self._on_originate_response)
            self.ami.on("DialEnd", self._on_dial_end)
            self.ami.on("FullyBooted", self._on_booted)
            self.ami.on_connect(self.resync)
            self.ami.on_disconnect(self._on_ami_lost)
            if self.ami.connected:
                await self.resync()
        await self.bus.start(self._on_bus)
        await self.reload_agents()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._board_loop(), name="desk-board"),
                       loop.create_task(self._live_loop(), name="desk-live"),
                       loop.create_task(self._figures_loop(), name="desk-figures"),
                       loop.create_task(self._housekeeping_loop(), name="desk-housekeeping")]
        self._dirty.set()
        return self

    async def close(self) -> None:
        self._closing = True
        for t in self._repops:
            t.cancel()
        await _stop(self._tasks)
        self.hub.close()
        await self.bus.close()

    async def reload_agents(self) -> None:
        try:
            self._mapped = {a.interface: a.username for a in await self.store.desk.agents()}
        except Exception as exc:
            log.warning("desk: could not read the agents' phones (%s)", exc)

    # ------------------------------------------------------------------ AMI in
    def _on_queue_event(self, msg: AmiMessage) -> None:
        if self.board.apply(msg):
            self._dirty.set()
        if msg.name.lower() in ("queuecallerabandon", "agentcomplete"):
            t = self._prefetched.pop(msg.get("Uniqueid") or "", None)
            if t is not None:
                t.cancel()

    def _on_booted(self, msg: AmiMessage) -> None:
        # Asterisk (re)started or we (re)logged in: on_connect resyncs; nothing else to do
        log.debug("desk: FullyBooted")

    def _on_ami_lost(self) -> None:
        self.board.lost()
        self._dirty.set()
        log.warning("desk: AMI lost; the desk shows it until QueueStatus resyncs")

    async def resync(self) -> None:
        """Rebuild queues and agents from ``QueueStatus`` (after every AMI login)."""
        if self.ami is None:
            return
        try:
            items = await self.ami.list_action("QueueStatus")
        except (AmiError, asyncio.TimeoutError) as exc:
            log.warning("desk: QueueStatus failed (%s)", exc)
            return
        self.board.resync(items)
        self._dirty.set()
        log.info("desk: board resynced from QueueStatus", extra={"members": len(self.board.members),
                                                                  "waiting": len(self.board.waiting)})

    def username_for(self, interface: str | None, member_name: str | None) -> str | None:
        if interface and interface in self._mapped:
            return self._mapped[interface]
        if member_name and (member_name in self._mapped.values() or self.hub.has_subscriber(member_name)):
            return member_name
        return None

    def _prefetch(self, msg: AmiMessage) -> None:
        """A caller joined a queue: read their pop now, so AgentConnect only has to send it."""
        uid = msg.get("Uniqueid")
        if not uid or not self.hub.subscribers:
            return
        while len(self._prefetched) >= 1000:
            old = next(iter(self._prefetched))
            self._prefetched.pop(old).cancel()
        call_id = call_id_of(msg)
        task = asyncio.get_running_loop().create_task(self._read_pop(call_id, uid))
        task.add_done_callback(_quiet)   # a failed read is reported at AgentConnect, or never needed
        self._prefetched[uid] = task

    async def _read_pop(self, call_id: str | None, uid: str | None) -> dict[str, Any]:
        if call_id is None and uid:
            call_id = await self.store.desk.call_for_channel(uid)
        # the topics as last refreshed with the figures (a pop waits for no script read), read
        # now only before the first refresh
        topics = self.beyond.current
        if not self.beyond.read:
            try:
                topics = await self.beyond.get()
            except Exception:                    # the pop names the topic in words instead
                log.warning("out-of-scope topics not readable", exc_info=True)
        return await build_pop(self.store, call_id, queue=None, hold_s=None, member=None, uniqueid=uid,
                               beyond=topics)

    async def _on_agent_connect(self, msg: AmiMessage) -> None:
        t0 = time.time()
        iface, member = msg.get("Interface"), msg.get("MemberName")
        username = self.username_for(iface, member)
        if username is None:
            await self.reload_agents()
            username = self.username_for(iface, member)
        if username is None:
            log.warning("desk: AgentConnect for a member mapped to no staff account; no pop",
                        extra={"interface": iface, "member": member})
            return
        if not self.hub.has_subscriber(username):
            return  # their desk is open on another process (or not at all): that one pops
        call_id = call_id_of(msg)
        uid = msg.get("Uniqueid")
        early = self._prefetched.pop(uid, None) if uid else None
        try:
            pop = dict(await early) if early is not None else await self._read_pop(call_id, uid)
        except Exception as exc:
            # the database is busy or down: pop what AMI says now rather than nothing (the agent
            # is talking to the caller already); the context can be read again from the desk
            log.warning("desk: the pop's context could not be read (%s); popping without it", exc,
                        extra={"handoff_call": call_id})
            pop = {"call_id": call_id, "uniqueid": uid, "known": False, "degraded": True,
                   "message": "Data panggilan belum dapat dibaca (basis data sibuk). Coba muat ulang sebentar lagi."}
        hold = msg.get("HoldTime")
        pop.update(queue=msg.get("Queue"), hold_s=int(hold) if hold and hold.isdigit() else None, member=iface)
        if not pop["known"] and not pop.get("degraded"):
            log.warning("desk: AgentConnect for a call the hotline does not know",
                        extra={"uniqueid": uid, "desk_user": username})
        pop["connected_at"] = t0
        self._active[username] = pop
        self.hub.deliver(DeskEvent("pop", pop, for_agent(username), at=t0))
        self.pop_latencies.append(time.time() - t0)
        if pop.get("degraded"):
            task = asyncio.get_running_loop().create_task(self._complete_pop(username, pop))
            self._repops.add(task)
            task.add_done_callback(self._repops.discard)

    async def _complete_pop(self, username: str, pop: dict[str, Any]) -> None:
        """A pop sent without its context (database busy): read it again until it can be read,
        and send it whole while the agent still has that call on their desk."""
        for _ in range(self.pop_retries):
            await asyncio.sleep(self.pop_retry_interval_s)
            if self._active.get(username) is not pop:
                return          # wrapped up, or another call popped
            try:
                full = await self._read_pop(pop.get("call_id"), pop.get("uniqueid"))
            except Exception:
                continue
            full.update(queue=pop.get("queue"), hold_s=pop.get("hold_s"), member=pop.get("member"),
                        connected_at=pop.get("connected_at"))
            self._active[username] = full
            self.hub.deliver(DeskEvent("pop", full, for_agent(username), at=time.time()))
            return

    def active_pop(self, username: str) -> dict[str, Any] | None:
        return self._active.get(username)

    # ------------------------------------------------------------------ the board
    def model(self) -> dict[str, Any]:
        """What desks and the wallboard show (no personal data)."""
        now = time.time()
        local: dict[str, int] = {}
        if self.live_calls is not None:
            for _, state in self.live_calls():
                local[state or "-"] = local.get(state or "-", 0) + 1
        by_state = dict(local)
        for t, states in self._remote_live.values():
            if now - t <= 3 * self.live_interval_s + 1:
                for k, v in states.items():
                    by_state[k] = by_state.get(k, 0) + v
        agents = self.board.agents()
        seen = {a["name"] for a in agents}
        for a in agents:
            n, talk = self._agent_day.get(str(a["name"]), (0, 0))
            a["answered_today"], a["talk_s_today"] = n, talk
            a["username"] = self._mapped.get(str(a["interface"]), a["name"])
        for iface, user in sorted(self._mapped.items(), key=lambda x: x[1]):
            if user not in seen and iface not in self.board.members:
                n, talk = self._agent_day.get(user, (0, 0))
                agents.append({"interface": iface, "name": user, "username": user, "queues": [],
                               "state": "logged_out", "label": "Keluar", "reason": "", "calls_taken": 0,
                               "since": None, "answered_today": n, "talk_s_today": talk})
        queues = self.board.queue_view()
        alerts = self.alerts(queues, now)
        return {"now": round(now, 3), "ami": self.board.connected or self.ami is None,
                "ami_configured": self.ami is not None,
                "ami_label": "" if (self.board.connected or self.ami is None) else "AMI terputus",
                "queues": queues, "agents": agents, "agents_by_state": self.board.agents_by_state(),
                "calls": {"in_dialog": sum(by_state.values()), "by_state": by_state, "by_step": self._by_step(by_state),
                          "waiting": len(self.board.waiting),
                          "with_agent": sum(1 for m in self.board.members.values() if m.state == "in_call")},
                "figures": self._figures, "alerts": alerts, "open": self.hours.is_open(self.clock())}

    def _by_step(self, by_state: dict[str, int]) -> list[dict[str, Any]]:
        """The live calls per step as supervisors read it (states with one label summed), by label."""
        steps: dict[str, int] = {}
        for state, n in by_state.items():
            name = self.steps.current.label(state)
            steps[name] = steps.get(name, 0) + n
        return [{"label": k, "calls": v} for k, v in sorted(steps.items())]

    def alerts(self, queues: list[dict[str, Any]], now: float) -> list[dict[str, str]]:
        out = []
        if self.ami is not None and not self.board.connected:
            out.append({"level": "error", "text": "AMI terputus: status antrean dan petugas tidak terbarui."})
        limit = self.settings.wallboard_wait_alert_s
        for q in queues:
            if q["waiting"] and float(q["longest_wait_s"]) > limit:
                out.append({"level": "warning",
                            "text": f"Penelepon menunggu lebih dari {limit} detik di antrean {q['queue']}."})
        if self.board.connected and self.hours.is_open(self.clock()) and not self.board.members:
            out.append({"level": "warning", "text": "Tidak ada petugas yang masuk antrean pada jam layanan."})
        return out

    def snapshot(self, username: str, role: str) -> DeskEvent:
        data: dict[str, Any] = {"board": self.model(), "pop": self._active.get(username),
                                "user": username, "role": role}
        return DeskEvent("snapshot", data, for_agent(username), at=time.time())

    def changed(self) -> None:
        self._dirty.set()

    async def _board_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if self.hub.subscribers:
                self.hub.deliver(DeskEvent("board", self.model(), at=time.time()))
                self.board_sent += 1
            await asyncio.sleep(self.board_interval_s)

    async def _live_loop(self) -> None:
        last: dict[str, int] | None = None
        tick = 0
        while True:
            await asyncio.sleep(self.live_interval_s)
            tick += 1
            states: dict[str, int] = {}
            if self.live_calls is not None:
                for _, state in self.live_calls():
                    states[state or "-"] = states.get(state or "-", 0) + 1
            if self.bus.shared:
                await self.bus.publish({"kind": "_live", "states": states, "at": time.time()})
            stale = [k for k, (t, _) in self._remote_live.items() if time.time() - t > 3 * self.live_interval_s + 1]
            for k in stale:
                del self._remote_live[k]
            if states != last or stale or self.board.waiting or tick % 5 == 0:
                self._dirty.set()   # waits grow: the board's longest waits and alerts move on
            last = states

    def _day(self) -> tuple[datetime, datetime]:
        local = self.clock().astimezone(self.hours.tz)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)

    async def refresh_figures(self) -> None:
        try:
            before = self.steps.current
            if await self.steps.refresh() is not before:  # the live script was published anew
                self._dirty.set()
        except Exception:
            log.warning("wallboard step labels not refreshed", exc_info=True)
        try:
            await self.beyond.get()    # kept fresh here: a pop reads it without waiting
        except Exception:
            log.warning("out-of-scope topics not refreshed", exc_info=True)
        start, end = self._day()
        f = await self.store.desk.figures(start, end)
        self._agent_day = await self.store.desk.agent_day(start, end)
        figures = {"calls": f.calls, "self_service": f.self_service, "self_service_rate": f.self_service_rate,
                   "transfers": f.transfers, "answered": f.answered, "abandoned": f.abandoned,
                   "avg_wait_s": f.avg_wait_s, "longest_wait_s": f.longest_wait_s,
                   "answered_within_20s": f.answered_within_20s, "complaints_filed": f.complaints_filed,
                   "overdue": f.overdue}
        if figures != self._figures:
            self._figures = figures
            self._dirty.set()

    async def _figures_loop(self) -> None:
        while True:
            if self.hub.subscribers or not self._figures:
                try:
                    await self.refresh_figures()
                except Exception as exc:
                    log.warning("desk: figures not refreshed (%s)", exc)
            await asyncio.sleep(self.figures_interval_s)

    async def _housekeeping_loop(self) -> None:
        while True:
            await asyncio.sleep(self.housekeeping_interval_s)
            with contextlib.suppress(Exception):
                await self.escalate()
            with contextlib.suppress(Exception):
                await self.retry_callbacks()

    # ------------------------------------------------------------------ across processes
    def _on_bus(self, obj: dict[str, Any]) -> None:
        kind = obj.get("kind")
        if kind == "_live":
            states = obj.get("states")
            if isinstance(states, dict):
                self._remote_live[str(obj.get("origin"))] = (time.time(), {str(k): int(v) for k, v in states.items()})
            return
        if kind == "_figures":
            self._figures_soon()
            return
        self.hub.deliver(DeskEvent.from_wire(obj))

    def _figures_soon(self) -> None:
        asyncio.get_running_loop().create_task(self._refresh_quietly())

    async def _refresh_quietly(self) -> None:
        with contextlib.suppress(Exception):
            await self.refresh_figures()

    async def publish(self, event: DeskEvent, *, figures: bool = False) -> None:
        """Deliver here and to the other processes."""
        ev = event if event.at else DeskEvent(event.kind, event.data, event.audience, at=time.time())
        self.hub.deliver(ev)
        await self.bus.publish(ev.to_wire())
        if figures:
            self._figures_soon()
            await self.bus.publish({"kind": "_figures"})

    # ------------------------------------------------------------------ agents' actions
    async def _agent_iface(self, username: str) -> str:
        agent = await self.store.desk.agent(username)
        if agent is None:
            raise DeskError("Telepon Anda belum didaftarkan. Minta admin mengisi ekstensi Anda.")
        self._mapped[agent.interface] = username
        return agent.interface

    def _need_ami(self) -> AmiClient:
        if self.ami is None or not self.ami.connected:
            raise DeskError("AMI terputus: perintah ke Asterisk tidak dapat dikirim sekarang.")
        return self.ami

    async def queue_login(self, username: str, queues: Iterable[str] | None = None) -> list[str]:
        """Log the agent's phone in to ``queues``, else to the queues on their phone mapping,
        else to the configured ``agent_queues``."""
        agent = await self.store.desk.agent(username)
        if agent is None:
            raise DeskError("Telepon Anda belum didaftarkan. Minta admin mengisi ekstensi Anda.")
        self._mapped[agent.interface] = username
        iface = agent.interface
        ami = self._need_ami()
        done = []
        for q in list(queues or agent.queues or self.settings.agent_queues):
            try:
                await ami.action("QueueAdd", Queue=q, Interface=iface, MemberName=username, StateInterface=iface)
                done.append(q)
            except AmiError as exc:
                if "already there" in str(exc).lower():
                    done.append(q)
                else:
                    log.warning("desk: QueueAdd %s failed (%s)", q, exc)
        return done

    async def queue_logout(self, username: str) -> None:
        iface = await self._agent_iface(username)
        ami = self._need_ami()
        member = self.board.members.get(iface)
        for q in sorted(member.queues if member else set(self.settings.agent_queues)):
            with contextlib.suppress(AmiError):
                await ami.action("QueueRemove", Queue=q, Interface=iface)

    async def pause(self, username: str, paused: bool, reason: str = "") -> None:
        iface = await self._agent_iface(username)
        ami = self._need_ami()
        try:
            await ami.action("QueuePause", Interface=iface, Paused="true" if paused else "false",
                             Reason=reason[:64])
        except AmiError as exc:
            raise DeskError("Anda belum masuk antrean.") from exc

    async def wrap_up(self, username: str) -> None:
        self._active.pop(username, None)

    # ------------------------------------------------------------------ callbacks
    async def call_back(self, public_id: str, username: str, *, retry: bool = False) -> str:
        """Ring the agent's phone, then the citizen. Returns the attempt id; raises
        :class:`DeskError` with the reason when the number may not be dialled."""
        agent = await self.store.desk.agent(username)
        if agent is None:
            raise DeskError("Telepon Anda belum didaftarkan. Minta admin mengisi ekstensi Anda.")
        number = await self.store.desk.callback_number(public_id)
        check = check_number(number)
        if not check.ok:
            await self.store.desk.record_attempt(public_id, username, "invalid", reason=check.reason, ended=True)
            await self._callback_event(public_id, username, "invalid", check.reason)
            raise DeskError(check.reason)
        ami = self._need_ami()
        attempt = await self.store.desk.record_attempt(public_id, username, "dialling",
                                                       reason="percobaan ulang" if retry else None)
        self._attempts[attempt] = (public_id, username)
        try:
            resp = await ami.action("Originate", originate_fields(agent.extension, check.number, attempt))
        except AmiError as exc:
            log.warning("desk: Originate refused (%s)", exc)
            await self._attempt_done(attempt, "failed", "Sistem telepon menolak panggilan keluar.")
            raise DeskError("Sistem telepon menolak panggilan keluar. Silakan coba lagi sebentar lagi.") from exc
        aid = resp.action_id
        if aid:
            self._originates[aid] = attempt
            early = self._early.pop(aid, None)
            if early is not None:
                await self._on_originate_response(early)
        await self._callback_event(public_id, username, "dialling", "Menelepon petugas, lalu warga...")
        return attempt

    async def _on_originate_response(self, msg: AmiMessage) -> None:
        aid = msg.action_id or ""
        attempt = self._originates.pop(aid, None)
        if attempt is None:
            if len(self._early) < 100:
                self._early[aid] = msg
            return
        if (msg.get("Response") or "").lower() == "success":
            return  # the agent answered; the citizen leg's DialEnd decides
        reason = ORIGINATE_REASONS.get(msg.get("Reason") or "", "failed")
        words = _ORIGINATE_WORDS.get(reason)
        await self._attempt_done(attempt, "failed",
                                 f"Telepon petugas tidak tersambung ({words})." if words else
                                 "Telepon petugas tidak tersambung.")

    async def _on_dial_end(self, msg: AmiMessage) -> None:
        attempt = None
        for var in msg.get_all("ChanVariable") + msg.get_all("DestChanVariable"):
            name, _, value = var.partition("=")
            if name.strip() == "IVR_CALLBACK_ID" and value.strip() in self._attempts:
                attempt = value.strip()
        if attempt is None:
            return
        if (msg.get("Context") or "hotline-callback") != "hotline-callback":
            return  # the agent's own phone ringing ([hotline-agent-ring]); the citizen leg decides
        status = (msg.get("DialStatus") or "").upper()
        outcome = _DIAL_STATUS.get(status, "failed")
        reason = _DIAL_WORDS.get(outcome) or _DIAL_WORDS.get(status) or "Panggilan ke warga gagal tersambung."
        if outcome == "failed":
            log.info("desk: callback leg ended with DialStatus %s", status or "?")
        await self._attempt_done(attempt, outcome, reason)

    async def _attempt_done(self, attempt: str, outcome: str, reason: str) -> None:
        public_id, username = self._attempts.pop(attempt, ("", ""))
        if not public_id:
            return
        try:
            await self.store.desk.record_attempt(public_id, username, outcome, reason=reason, attempt_id=attempt,
                                                 ended=True)
            if outcome == "answered":
                await self.store.desk.close_callback(public_id)
                t = await self.store.tickets.get(public_id)
                if t is not None and t.status in ("open", "in_progress"):
                    await self.store.tickets.update_status(public_id, "resolved", note="sudah ditelepon balik",
                                                           actor=f"agent:{username}")
        except (StoreError, Exception):
            log.exception("desk: could not record the callback outcome")
        await self._callback_event(public_id, username, outcome, reason)

    async def _callback_event(self, public_id: str, username: str, outcome: str, reason: str) -> None:
        await self.publish(DeskEvent("callback", {"ticket": public_id, "outcome": outcome, "reason": reason,
                                                  "agent": username}, "all", at=time.time()))

    async def retry_callbacks(self) -> int:
        """Dial again callbacks that were not answered, within office hours, after the retry
        interval, with the agent who tried last (if they are logged in and free)."""
        if not self.hours.is_open(self.clock()) or self.ami is None or not self.ami.connected:
            return 0
        n = 0
        wait = timedelta(minutes=self.settings.callback_retry_minutes)
        for item in await self.store.desk.callbacks():
            if item.last_outcome not in ("no_answer", "busy", "failed"):
                continue
            if item.attempts >= self.settings.callback_max_attempts:
                continue
            tries = await self.store.desk.attempts(item.public_id)
            last = tries[-1]
            if self.clock() - last.at < wait:
                continue
            member = self.board.member_of(last.agent)
            if member is None or member.state != "available":
                continue
            with contextlib.suppress(DeskError):
                await self.call_back(item.public_id, last.agent, retry=True)
                n += 1
        return n

    async def escalate(self) -> list[str]:
        """Tickets past their SLA: marked escalated, supervisors alerted."""
        late = await self.store.desk.escalate_overdue()
        for pid in late:
            await self.publish(DeskEvent("alert", {"level": "warning", "ticket": pid,
                                                   "text": f"Tiket {pid} melewati batas waktu (SLA)."},
                                         "supervisors", at=time.time()), figures=True)
        return late
