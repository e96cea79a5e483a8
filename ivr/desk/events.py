"""Typed desk events: what the desk pushes to browsers, and to whom.

Audiences: ``all`` (every signed-in desk and wallboard: queue and agent state, no personal data),
``agent:<username>`` (that agent's desk only: the screen pop, callback outcomes) and
``supervisors`` (supervisors and admins: alerts, escalations).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

__all__ = ["DeskEvent", "Audience", "for_agent", "EVENT_KINDS"]

#: board: queues, agents, AMI link, live calls, figures, alerts (one model, sent whole)
#: pop: a call put through to the agent; ticket / callback: changes the agent made or caused
#: alert: a threshold crossed; snapshot: the whole state (first event, or after a resync)
EVENT_KINDS = ("board", "pop", "ticket", "callback", "alert", "snapshot", "wrapup")

Audience = str


def for_agent(username: str) -> Audience:
    return f"agent:{username}"


@dataclass(frozen=True)
class DeskEvent:
    kind: str
    data: dict[str, Any]
    audience: Audience = "all"
    #: set by the hub that delivers it: "<epoch>-<seq>" (resume with Last-Event-ID)
    id: str = ""
    #: monotonic-free wall time (epoch seconds) the event was made, for latency figures
    at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def visible_to(self, username: str, role: str) -> bool:
        if self.audience == "all":
            return True
        if self.audience == "supervisors":
            return role in ("supervisor", "admin")
        if self.audience.startswith("agent:"):
            return self.audience[6:] == username
        return False

    def to_wire(self) -> dict[str, Any]:
        """What goes over the bus between processes."""
        return {"kind": self.kind, "data": self.data, "audience": self.audience, "at": self.at}

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> "DeskEvent":
        return cls(str(obj["kind"]), dict(obj.get("data") or {}), str(obj.get("audience") or "all"),
                   at=float(obj.get("at") or 0.0))

    def sse_data(self) -> str:
        """The SSE ``data`` line (serialised once, whatever the number of browsers)."""
        return self._wire_text

    @cached_property
    def sse_frame(self) -> bytes:
        """The whole SSE frame (id, event, data), encoded once per event and shared by every
        browser it goes to (the JSON has no line breaks: one ``data`` line)."""
        head = f"id: {self.id}\r\n" if self.id else ""
        return f"{head}event: {self.kind}\r\ndata: {self._wire_text}\r\n\r\n".encode()

    @cached_property
    def _wire_text(self) -> str:
        return json.dumps({"kind": self.kind, "at": self.at, **self.data}, ensure_ascii=False, default=str,
                          separators=(",", ":"))
