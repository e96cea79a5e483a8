"""Queue and agent state as Asterisk's ``app_queue`` reports it over AMI (sans-IO).

:meth:`QueueBoard.apply` takes one AMI event and returns whether the board changed; the caller
decides when to publish. :meth:`QueueBoard.resync` replaces everything with the items of a
``QueueStatus`` list (after a (re)connect, ``FullyBooted``); :meth:`QueueBoard.lost` marks the
board stale while AMI is down (the desk then says "AMI terputus").

Member states (``app_queue.c`` / ``devicestate.h``): Status 1 NOT_INUSE, 2 INUSE, 3 BUSY,
4 INVALID, 5 UNAVAILABLE, 6 RINGING, 7 RINGINUSE, 8 ONHOLD; ``Paused`` 0/1; ``InCall`` 0/1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["QueueBoard", "MemberState", "Waiting", "Headers", "member_state_label"]


class Headers(Protocol):
    """What the board reads of an AMI message (:class:`telephony.AmiMessage` has it)."""

    @property
    def name(self) -> str: ...

    def get(self, key: str, default: str | None = None) -> str | None: ...

    def get_all(self, key: str) -> list[str]: ...


@dataclass
class MemberState:
    interface: str
    name: str
    queues: set[str] = field(default_factory=set)
    paused: bool = False
    reason: str = ""
    status: int = 1
    in_call: bool = False
    calls_taken: int = 0
    since: float = 0.0          # when the state last changed (epoch seconds)

    @property
    def state(self) -> str:
        """available | ringing | in_call | paused | unavailable"""
        if self.status in (4, 5):
            return "unavailable"
        if self.in_call or self.status in (2, 3, 8):
            return "in_call"
        if self.status in (6, 7):
            return "ringing"
        if self.paused:
            return "paused"
        return "available"


@dataclass
class Waiting:
    uniqueid: str
    queue: str
    joined: float               # epoch seconds
    call_id: str | None = None


def member_state_label(state: str) -> str:
    return {"available": "Siap", "ringing": "Berdering", "in_call": "Sedang melayani", "paused": "Istirahat",
            "unavailable": "Tidak tersedia", "logged_out": "Keluar"}.get(state, state)


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def call_id_of(msg: Headers) -> str | None:
    """The hotline's call id a queue event is about (channel variable ``IVR_CALL_ID``)."""
    for var in msg.get_all("ChanVariable"):
        name, _, value = var.partition("=")
        if name.strip() in ("IVR_CALL_ID", "CALL_ID") and value.strip():
            return value.strip()
    return None


class QueueBoard:
    def __init__(self, queues: Iterable[str] = (), *, now: Callable[[], float]) -> None:
        self.now = now
        self.queues: set[str] = set(queues)
        self.members: dict[str, MemberState] = {}
        self.waiting: dict[str, Waiting] = {}
        self.connected = False
        self.version = 0

    # ------------------------------------------------------------------ AMI in
    def apply(self, msg: Headers) -> bool:
        """Fold one AMI event in; True if anything shown changed."""
        name = msg.name.lower()
        handler = _HANDLERS.get(name)
        if handler is None:
            return False
        changed = handler(self, msg)
        if changed:
            self.version += 1
        return changed

    def resync(self, items: Iterable[Headers]) -> None:
        """Replace the state with a ``QueueStatus`` answer (QueueParams, QueueMember, QueueEntry)."""
        members: dict[str, MemberState] = {}
        waiting: dict[str, Waiting] = {}
        now = self.now()
        for it in items:
            ev = (it.get("Event") or it.name).lower()
            q = it.get("Queue") or ""
            if ev == "queueparams" and q:
                self.queues.add(q)
            elif ev == "queuemember" and q:
                iface = it.get("StateInterface") or it.get("Location") or it.get("Interface") or ""
                if not iface:
                    continue
                old = self.members.get(iface)
                m = members.get(iface) or MemberState(iface, it.get("Name") or it.get("MemberName") or iface,
                                                      since=old.since if old else now)
                m.queues.add(q)
                self._fields(m, it)
                members[iface] = m
            elif ev == "queueentry" and q:
                uid = it.get("Uniqueid") or it.get("Channel") or ""
                if uid:
                    wait = _int(it.get("Wait"))
                    known = self.waiting.get(uid)
                    waiting[uid] = Waiting(uid, q, known.joined if known else now - wait,
                                           known.call_id if known else call_id_of(it))
        self.members, self.waiting = members, waiting
        self.connected = True
        self.version += 1

    def lost(self) -> None:
        """AMI went away: what we show is no longer live."""
        self.connected = False
        self.version += 1

    # ------------------------------------------------------------------ handlers
    def _fields(self, m: MemberState, msg: Headers) -> None:
        before = (m.paused, m.status, m.in_call)
        if msg.get("Paused") is not None:
            m.paused = msg.get("Paused") in ("1", "true")
        if msg.get("PausedReason") is not None:
            m.reason = msg.get("PausedReason") or ""
        if msg.get("Status") is not None:
            m.status = _int(msg.get("Status"), m.status)
        if msg.get("InCall") is not None:
            m.in_call = msg.get("InCall") == "1"
        if msg.get("CallsTaken") is not None:
            m.calls_taken = _int(msg.get("CallsTaken"), m.calls_taken)
        name = msg.get("MemberName") or msg.get("Name")
        if name:
            m.name = name
        if (m.paused, m.status, m.in_call) != before:
            m.since = self.now()

    def _member(self, msg: Headers) -> MemberState | None:
        iface = msg.get("StateInterface") or msg.get("Interface") or ""
        if not iface:
            return None
        m = self.members.get(iface)
        if m is None:
            m = MemberState(iface, msg.get("MemberName") or iface, since=self.now())
            self.members[iface] = m
        return m

    def _on_member(self, msg: Headers) -> bool:
        m = self._member(msg)
        if m is None:
            return False
        if msg.get("Queue"):
            m.queues.add(msg.get("Queue") or "")
            self.queues.add(msg.get("Queue") or "")
        self._fields(m, msg)
        return True

    def _on_removed(self, msg: Headers) -> bool:
        iface = msg.get("StateInterface") or msg.get("Interface") or ""
        m = self.members.get(iface)
        if m is None:
            return False
        m.queues.discard(msg.get("Queue") or "")
        if not m.queues:
            del self.members[iface]
        return True

    def _on_join(self, msg: Headers) -> bool:
        uid = msg.get("Uniqueid") or ""
        if not uid:
            return False
        q = msg.get("Queue") or ""
        self.queues.add(q)
        self.waiting[uid] = Waiting(uid, q, self.now(), call_id_of(msg))
        return True

    def _on_leave(self, msg: Headers) -> bool:
        return self.waiting.pop(msg.get("Uniqueid") or "", None) is not None

    def _on_connect(self, msg: Headers) -> bool:
        self.waiting.pop(msg.get("Uniqueid") or "", None)
        m = self._member(msg)
        if m is not None:
            m.in_call, m.status, m.since = True, 2, self.now()
        return True

    def _on_complete(self, msg: Headers) -> bool:
        m = self._member(msg)
        if m is None:
            return False
        m.in_call, m.status, m.since = False, 1, self.now()
        m.calls_taken += 1
        return True

    def _on_called(self, msg: Headers) -> bool:
        m = self._member(msg)
        if m is None:
            return False
        m.status, m.since = 6, self.now()
        return True

    def _on_ringnoanswer(self, msg: Headers) -> bool:
        m = self._member(msg)
        if m is None or m.in_call:
            return False
        m.status, m.since = 1, self.now()
        return True

    # ------------------------------------------------------------------ views
    def agents(self) -> list[dict[str, object]]:
        return [{"interface": m.interface, "name": m.name, "queues": sorted(m.queues), "state": m.state,
                 "label": member_state_label(m.state), "reason": m.reason, "calls_taken": m.calls_taken,
                 "since": round(m.since, 3)}
                for m in sorted(self.members.values(), key=lambda x: x.name)]

    def queue_view(self) -> list[dict[str, object]]:
        out = []
        now = self.now()
        for q in sorted(self.queues):
            waits = [w for w in self.waiting.values() if w.queue == q]
            members = [m for m in self.members.values() if q in m.queues]
            out.append({"queue": q, "waiting": len(waits),
                        "oldest_joined": round(min(w.joined for w in waits), 3) if waits else None,
                        "longest_wait_s": round(now - min(w.joined for w in waits), 1) if waits else 0,
                        "logged_in": len(members),
                        "available": sum(1 for m in members if m.state == "available")})
        return out

    def agents_by_state(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.members.values():
            out[m.state] = out.get(m.state, 0) + 1
        return out

    def member_of(self, username: str, interface: str | None = None) -> MemberState | None:
        if interface and interface in self.members:
            return self.members[interface]
        return next((m for m in self.members.values() if m.name == username), None)


_HANDLERS: dict[str, Callable[[QueueBoard, Headers], bool]] = {
    "queuememberstatus": QueueBoard._on_member,
    "queuememberadded": QueueBoard._on_member,
    "queuememberpause": QueueBoard._on_member,
    "queuememberpaused": QueueBoard._on_member,     # before Asterisk 12
    "queuememberremoved": QueueBoard._on_removed,
    "queuecallerjoin": QueueBoard._on_join,
    "queuecallerleave": QueueBoard._on_leave,
    "queuecallerabandon": QueueBoard._on_leave,
    "agentconnect": QueueBoard._on_connect,
    "agentcomplete": QueueBoard._on_complete,
    "agentcalled": QueueBoard._on_called,
    "agentringnoanswer": QueueBoard._on_ringnoanswer,
}
