"""Hand-off to a human agent.

A transfer (the dialog's ``Transfer`` action):

1. checks that someone can take the call: inside the configured office hours and, when AMI is
   configured, at least one queue member logged in, not paused and not unavailable
   (``QueueStatus``). If not, the session tells the engine ``TransferFailed`` and the script
   offers a callback ticket instead of a wait in an empty queue;
2. saves the context for the agent's screen (transcript so far, intent, slots, ticket, caller
   number; personal data handled by the store) and opens a hand-off record ("pending");
3. closes the media (``CallChannel.close()``: the AGI ``EXEC AudioSocket`` returns and the call
   stays up), sets ``IVR_TRANSFER=1``, ``IVR_QUEUE`` and ``IVR_CALL_ID`` and ends the AGI, so
   the sample dialplan runs ``Queue(${IVR_QUEUE})``;
4. AMI events then tell which agent connected (``AgentConnect``) or that the caller gave up
   (``QueueCallerAbandon``), and when the agent's conversation ended (``AgentComplete``: talk
   time, who hung up); the hand-off record is updated. Calls are matched by the AGI channel's
   ``Uniqueid`` (or the ``CALL_ID`` channel variable, when manager.conf exports it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime

from dialogs.actions import Transfer
from ivr.calls.hangups import CALLER_GONE
from ivr.calls.ports import HandoffCall, HandoffRecords, TransferResult
from ivr.config.calendar import OfficeHours
from ivr.config.clock import Clock, system_clock
from ivr.config.settings import Settings
from ivr.privacy.masking import Personal
from telephony import AmiClient, AmiMessage

log = logging.getLogger(__name__)

#: QueueMember Status values meaning nobody can take a call (AST_DEVICE_INVALID, _UNAVAILABLE)
_UNAVAILABLE = {"4", "5"}


class Handoff:
    """The :class:`ivr.calls.ports.HandoffPort`: ``records`` is the store's hand-off repository
    (None: nothing is recorded, e.g. to ask which queue a name maps to)."""

    def __init__(self, settings: Settings, records: HandoffRecords | None, ami: AmiClient | None = None,
                 *, clock: Clock = system_clock, ami_timeout_s: float = 2.0) -> None:
        self.settings = settings
        self.records = records
        self.ami = ami
        self.hours: OfficeHours = settings.hours()
        self.clock = clock
        self.ami_timeout_s = ami_timeout_s
        # channel uniqueid / call id -> (call_id, handoff_id, since)
        self._pending: dict[str, tuple[str, str, float]] = {}
        self._subscribed = False

    # ------------------------------------------------------------------ AMI
    @classmethod
    async def create(cls, settings: Settings, records: HandoffRecords, *, clock: Clock = system_clock) -> Handoff:
        """With ``settings.ami_url`` set, connect to AMI (failures are logged, not fatal)."""
        ami = None
        conf = settings.ami()
        if conf is not None:
            ami = AmiClient(conf.host, conf.port, conf.username, conf.secret)
            try:
                await asyncio.wait_for(ami.connect(), 10.0)
            except Exception as exc:
                log.warning("AMI not reachable (%s); hand-offs go ahead without agent checks", exc)
        h = cls(settings, records, ami, clock=clock)
        h.subscribe()
        return h

    def subscribe(self) -> None:
        if self.ami is None or self._subscribed:
            return
        self.ami.on("AgentConnect", self._on_agent_connect)
        self.ami.on("QueueCallerAbandon", self._on_abandon)
        self.ami.on("AgentComplete", self._on_agent_complete)
        self._subscribed = True

    async def close(self) -> None:
        if self.ami is not None:
            with contextlib.suppress(Exception):
                await self.ami.close()

    def _match(self, msg: AmiMessage, *, forget: bool = True) -> tuple[str, str] | None:
        keys = [msg.get("Uniqueid"), msg.get("Linkedid")]
        for var in msg.get_all("ChanVariable"):
            name, _, value = var.partition("=")
            if name.strip() in ("CALL_ID", "IVR_CALL_ID"):
                keys.append(value.strip())
        for k in keys:
            if k and k in self._pending:
                call_id, handoff_id, _ = self._pending[k]
                if forget:
                    self._forget(call_id)
                return call_id, handoff_id
        return None

    def _forget(self, call_id: str) -> None:
        for k in [k for k, v in self._pending.items() if v[0] == call_id]:
            del self._pending[k]

    @property
    def tracked(self) -> int:
        """Calls handed over and not yet finished with their agent (or abandoned)."""
        return len({v[0] for v in self._pending.values()})

    @property
    def uses_ami(self) -> bool:
        return self.ami is not None

    async def _on_agent_connect(self, msg: AmiMessage) -> None:
        # the call stays tracked until AgentComplete ends the conversation
        hit = self._match(msg, forget=False)
        if hit is None:
            return
        call_id, handoff_id = hit
        agent = msg.get("MemberName") or msg.get("Interface") or msg.get("DestChannel")
        hold_s = _seconds(msg, "HoldTime")
        log.info("agent connected", extra={"handoff_call": call_id, "hold_s": hold_s, "agent_name": agent})
        await self._update(handoff_id, "connected", agent=agent, hold_s=hold_s)

    async def _on_agent_complete(self, msg: AmiMessage) -> None:
        hit = self._match(msg)
        if hit is None:
            return
        call_id, handoff_id = hit
        talk_s = _seconds(msg, "TalkTime")
        ended_by = msg.get("Reason")
        log.info("agent call ended", extra={"handoff_call": call_id, "talk_s": talk_s, "ended_by": ended_by})
        await self._update(handoff_id, "connected", ended_at=self.clock(), hold_s=_seconds(msg, "HoldTime"),
                           talk_s=talk_s, ended_by=ended_by)

    async def _on_abandon(self, msg: AmiMessage) -> None:
        hit = self._match(msg)
        if hit is None:
            return
        call_id, handoff_id = hit
        hold_s = _seconds(msg, "HoldTime")
        log.info("caller abandoned the queue", extra={"handoff_call": call_id, "hold_s": hold_s})
        await self._update(handoff_id, "abandoned", ended_at=self.clock(), hold_s=hold_s, ended_by="caller")

    async def _update(self, handoff_id: str, outcome: str, agent: str | None = None,
                      ended_at: datetime | None = None, hold_s: int | None = None,
                      talk_s: int | None = None, ended_by: str | None = None) -> None:
        if self.records is None:
            return
        try:
            await self.records.update(handoff_id, outcome=outcome, agent=agent, ended_at=ended_at,
                                      hold_s=hold_s, talk_s=talk_s, ended_by=ended_by)
        except Exception:
            log.exception("could not update the hand-off record")

    # ------------------------------------------------------------------ availability
    async def availability(self, queue: str) -> tuple[bool, str]:
        """(can transfer, reason). Reasons: ok, closed_hours, no_agents, unknown."""
        if not self.hours.is_open(self.clock()):
            return False, "closed_hours"
        if self.ami is None or not self.ami.connected:
            return True, "unknown"
        try:
            items = await asyncio.wait_for(self.ami.list_action("QueueStatus", Queue=queue), self.ami_timeout_s)
        except Exception as exc:
            log.warning("QueueStatus failed (%s); transferring without the check", exc)
            return True, "unknown"
        members = [m for m in items if m.get("Event") == "QueueMember" and m.get("Queue") in (None, queue)]
        ready = [m for m in members if (m.get("Paused") or "0") == "0"
                 and (m.get("Status") or "0") not in _UNAVAILABLE]
        if not ready:
            return False, "no_agents"
        return True, "ok"

    # ------------------------------------------------------------------ transfer
    def queue_for(self, requested: str | None) -> str:
        """The Asterisk queue for a script's queue name: itself when it is one of the configured
        ``agent_queues`` (the queues queues.conf defines), else the first configured queue."""
        queues = list(self.settings.agent_queues)
        if requested and requested in queues:
            return requested
        if requested:
            log.debug("queue %s is not configured; using %s", requested, queues[0])
        return queues[0]

    async def transfer(self, session: HandoffCall, action: Transfer) -> TransferResult:
        queue = self.queue_for(action.queue)
        reason = action.reason or "caller_request"
        ok, why = await self.availability(queue)
        context = session.context_for_agent()
        extra_ctx = dict(action.context)
        if extra_ctx:
            context["dialog"] = extra_ctx
            slots = extra_ctx.get("slots")
            if isinstance(slots, dict):
                known = context.get("slots")
                context["slots"] = {**(known if isinstance(known, dict) else {}), **slots}
            if not context.get("intent") and extra_ctx.get("intent"):
                context["intent"] = extra_ctx["intent"]
        context.update({"queue": queue, "reason": reason})
        if action.queue and action.queue != queue:
            context["requested_queue"] = action.queue
        if not ok:
            log.info("transfer not possible", extra={"queue": queue, "why": why})
            await self._record(session.call_id, queue, reason, why, None)
            return TransferResult(False, queue, why)
        handoff_id = await self._record(session.call_id, queue, reason, "pending", context,
                                        session.personal_values())
        # close the media: the EXEC AudioSocket returns and the AGI can set variables
        if session.media is not None:
            with contextlib.suppress(Exception):
                await session.media.close()
        agi = session.agi
        try:
            await agi.set_variable("IVR_TRANSFER", "1")
            await agi.set_variable("IVR_QUEUE", queue)
            await agi.set_variable("IVR_CALL_ID", session.call_id)
            # ended on purpose: the dialplan queues the caller (IVR_TRANSFER=1)
            await agi.set_variable("IVR_DONE", "1")
        except CALLER_GONE:
            if handoff_id:
                await self._update(handoff_id, "abandoned", ended_at=self.clock())
            raise
        except Exception:
            log.exception("could not set the transfer variables")
            if handoff_id:
                await self._update(handoff_id, "failed")
            return TransferResult(False, queue, "failed")
        for key in (session.channel_id, session.call_id):
            if key and handoff_id:
                self._pending[key] = (session.call_id, handoff_id, time.monotonic())
        self._expire()
        log.info("call handed to the queue", extra={"queue": queue, "reason": reason})
        return TransferResult(True, queue, "ok")

    async def _record(self, call_id: str, queue: str, reason: str, outcome: str,
                      context: dict[str, object] | None, personal: Personal = ()) -> str | None:
        if self.records is None:
            return None
        handoff_id = None
        try:
            if context is not None:
                await self.records.save_context(call_id, context, personal)
            handoff_id = await self.records.record(call_id, queue, reason=reason, outcome=outcome)
        except Exception:
            log.exception("could not save the hand-off")
        return handoff_id

    def _expire(self, max_age_s: float = 6 * 3600) -> None:
        now = time.monotonic()
        for k in [k for k, v in self._pending.items() if now - v[2] > max_age_s]:
            del self._pending[k]


def _seconds(msg: AmiMessage, key: str) -> int | None:
    value = msg.get(key)
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None
