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
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger("ivr.handoff")

#: QueueMember Status values meaning nobody can take a call (AST_DEVICE_INVALID, _UNAVAILABLE)
_UNAVAILABLE = {"4", "5"}


@dataclass
class TransferResult:
    ok: bool
    queue: str
    reason: str = ""


class Handoff:
    def __init__(self, settings: Any, store: Any, ami: Any | None = None,
                 *, clock: Any = None, ami_timeout_s: float = 2.0) -> None:
        self.settings = settings
        self.store = store
        self.ami = ami
        self.hours = settings.hours()
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.ami_timeout_s = ami_timeout_s
        # channel uniqueid / call id -> (call_id, handoff_id, since)
        self._pending: dict[str, tuple[str, str, float]] = {}
        self._subscribed = False

    # ------------------------------------------------------------------ AMI
    @classmethod
    async def create(cls, settings: Any, store: Any, *, clock: Any = None) -> "Handoff":
        """With ``settings.ami_url`` set, connect to AMI (failures are logged, not fatal)."""
        ami = None
        conf = settings.ami()
        if conf is not None:
            from telephony import AmiClient

            ami = AmiClient(conf.host, conf.port, conf.username, conf.secret)
            try:
                await asyncio.wait_for(ami.connect(), 10.0)
            except Exception as exc:
                log.warning("AMI not reachable (%s); hand-offs go ahead without agent checks", exc)
        h = cls(settings, store, ami, clock=clock)
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

    def _match(self, msg: Any, *, forget: bool = True) -> tuple[str, str] | None:
        keys = [_get(msg, "Uniqueid"), _get(msg, "Linkedid")]
        for var in _getall(msg, "ChanVariable"):
            name, _, value = str(var).partition("=")
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
        return len({v[0] for v in self._pending.values()})

    async def _on_agent_connect(self, msg: Any) -> None:
        # the call stays tracked until AgentComplete ends the conversation
        hit = self._match(msg, forget=False)
        if hit is None:
            return
        call_id, handoff_id = hit
        agent = _get(msg, "MemberName") or _get(msg, "Interface") or _get(msg, "DestChannel")
        hold_s = _seconds(msg, "HoldTime")
        log.info("agent connected", extra={"handoff_call": call_id, "hold_s": hold_s, "agent_name": agent})
        await self._update(handoff_id, "connected", agent=agent, hold_s=hold_s)

    async def _on_agent_complete(self, msg: Any) -> None:
        hit = self._match(msg)
        if hit is None:
            return
        call_id, handoff_id = hit
        talk_s = _seconds(msg, "TalkTime")
        ended_by = _get(msg, "Reason")
        log.info("agent call ended", extra={"handoff_call": call_id, "talk_s": talk_s, "ended_by": ended_by})
        await self._update(handoff_id, "connected", ended_at=self.clock(), hold_s=_seconds(msg, "HoldTime"),
                           talk_s=talk_s, ended_by=ended_by)

    async def _on_abandon(self, msg: Any) -> None:
        hit = self._match(msg)
        if hit is None:
            return
        call_id, handoff_id = hit
        hold_s = _seconds(msg, "HoldTime")
        log.info("caller abandoned the queue", extra={"handoff_call": call_id, "hold_s": hold_s})
        await self._update(handoff_id, "abandoned", ended_at=self.clock(), hold_s=hold_s, ended_by="caller")

    async def _update(self, handoff_id: str, outcome: str, agent: str | None = None,
                      ended_at: datetime | None = None, **times: Any) -> None:
        try:
            await self.store.update_handoff(handoff_id, outcome=outcome, agent=agent, ended_at=ended_at, **times)
        except Exception:
            log.exception("could not update the hand-off record")

    # ------------------------------------------------------------------ availability
    async def availability(self, queue: str) -> tuple[bool, str]:
        """(can transfer, reason). Reasons: ok, closed_hours, no_agents, unknown."""
        if not self.hours.is_open(self.clock()):
            return False, "closed_hours"
        if self.ami is None or not getattr(self.ami, "connected", True):
            return True, "unknown"
        try:
            items = await asyncio.wait_for(self.ami.list_action("QueueStatus", Queue=queue), self.ami_timeout_s)
        except Exception as exc:
            log.warning("QueueStatus failed (%s); transferring without the check", exc)
            return True, "unknown"
        members = [m for m in items if _get(m, "Event") == "QueueMember" and _get(m, "Queue") in (None, queue)]
        ready = [m for m in members if str(_get(m, "Paused") or "0") == "0"
                 and str(_get(m, "Status") or "0") not in _UNAVAILABLE]
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

    async def transfer(self, session: Any, action: Any) -> TransferResult:
        queue = self.queue_for(getattr(action, "queue", None))
        reason = getattr(action, "reason", None) or "caller_request"
        ok, why = await self.availability(queue)
        context = session.context_for_agent()
        extra_ctx = dict(getattr(action, "context", None) or {})
        if extra_ctx:
            context["dialog"] = extra_ctx
            slots = extra_ctx.get("slots")
            if isinstance(slots, dict):
                context["slots"] = {**context.get("slots", {}), **slots}
            if not context.get("intent") and extra_ctx.get("intent"):
                context["intent"] = extra_ctx["intent"]
        context.update({"queue": queue, "reason": reason})
        if getattr(action, "queue", None) and action.queue != queue:
            context["requested_queue"] = action.queue
        if not ok:
            log.info("transfer not possible", extra={"queue": queue, "why": why})
            await self._record(session.call_id, queue, reason, why, None)
            return TransferResult(False, queue, why)
        handoff_id = await self._record(session.call_id, queue, reason, "pending", context)
        # close the media: the EXEC AudioSocket returns and the AGI can set variables
        if session.media is not None:
            with contextlib.suppress(Exception):
                await session.media.close()
        agi = session.agi
        try:
            await agi.set_variable("IVR_TRANSFER", "1")
            await agi.set_variable("IVR_QUEUE", queue)
            await agi.set_variable("IVR_CALL_ID", session.call_id)
        except Exception as exc:
            if type(exc).__name__ == "AgiHangup":
                if handoff_id:
                    await self._update(handoff_id, "abandoned", ended_at=self.clock())
                raise
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
                      context: dict | None) -> str | None:
        handoff_id = None
        try:
            if context is not None:
                await self.store.save_handoff_context(call_id, context)
            handoff_id = await self.store.record_handoff(call_id, queue, reason=reason, outcome=outcome)
        except Exception:
            log.exception("could not save the hand-off")
        return handoff_id

    def _expire(self, max_age_s: float = 6 * 3600) -> None:
        now = time.monotonic()
        for k in [k for k, v in self._pending.items() if now - v[2] > max_age_s]:
            del self._pending[k]


def _get(msg: Any, key: str) -> str | None:
    try:
        v = msg.get(key)
    except AttributeError:
        return None
    if isinstance(v, list):
        return v[0] if v else None
    return v


def _seconds(msg: Any, key: str) -> int | None:
    value = _get(msg, key)
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _getall(msg: Any, key: str) -> list:
    getall = getattr(msg, "getall", None) or getattr(msg, "get_all", None)
    if getall is not None:
        try:
            return list(getall(key))
        except Exception:
            return []
    v = _get(msg, key)
    return [v] if v else []
