"""Fan-out of desk events to the browsers connected to this process.

Each browser is a :class:`Subscriber` with a bounded buffer: the hub never waits for a browser.
A browser that falls ``max_buffer`` events behind is dropped (its stream ends); the browser's
EventSource reconnects by itself and the server sends it a fresh snapshot. Events carry ids
``<epoch>-<seq>``: a reconnect with ``Last-Event-ID`` from this same process replays what it
missed from a ring of the last ``history`` events; an unknown, too old or foreign id gets a
snapshot instead (the browser then redraws from it).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace

from ivr.desk.events import DeskEvent

__all__ = ["DeskHub", "Subscriber"]

log = logging.getLogger(__name__)

_CLOSE = object()


class Subscriber:
    def __init__(self, hub: "DeskHub", username: str, role: str, max_buffer: int) -> None:
        self.hub = hub
        self.username = username
        self.role = role
        self.queue: asyncio.Queue[object] = asyncio.Queue(maxsize=max_buffer + 1)
        self.max_buffer = max_buffer
        self.dropped = False
        self.delivered = 0

    def offer(self, event: DeskEvent) -> None:
        if self.dropped or not event.visible_to(self.username, self.role):
            return
        if self.queue.qsize() >= self.max_buffer:
            # too slow: stop feeding it; the stream ends and the browser resyncs
            self.dropped = True
            self.hub.dropped += 1
            log.info("desk: a browser fell %d events behind; dropped (it resyncs)", self.max_buffer,
                     extra={"desk_user": self.username})
            self.queue.put_nowait(_CLOSE)
            return
        self.queue.put_nowait(event)

    def close(self) -> None:
        if not self.dropped:
            self.dropped = True
            try:
                self.queue.put_nowait(_CLOSE)
            except asyncio.QueueFull:
                pass

    async def events(self) -> AsyncIterator[DeskEvent]:
        try:
            while True:
                item = await self.queue.get()
                if item is _CLOSE:
                    return
                assert isinstance(item, DeskEvent)
                self.delivered += 1
                yield item
        finally:
            self.hub.unsubscribe(self)


class DeskHub:
    def __init__(self, *, history: int = 2000, max_buffer: int = 256) -> None:
        self.epoch = secrets.token_hex(3)
        self._seq = itertools.count(1)
        self._ring: deque[tuple[int, DeskEvent]] = deque(maxlen=history)
        self._subs: set[Subscriber] = set()
        self.max_buffer = max_buffer
        self.dropped = 0
        self.delivered = 0

    @property
    def last_id(self) -> str:
        """The id of the newest event (a snapshot carries it, so a resume starts after it)."""
        return f"{self.epoch}-{self._ring[-1][0]}" if self._ring else f"{self.epoch}-0"

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def subscribe(self, username: str, role: str, *, max_buffer: int | None = None) -> Subscriber:
        sub = Subscriber(self, username, role, max_buffer or self.max_buffer)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subs.discard(sub)

    def has_subscriber(self, username: str) -> bool:
        return any(s.username == username and not s.dropped for s in self._subs)

    def has_role(self, *roles: str) -> bool:
        return any(s.role in roles and not s.dropped for s in self._subs)

    def deliver(self, event: DeskEvent) -> DeskEvent:
        """Number ``event`` and offer it to every subscriber (never waits)."""
        seq = next(self._seq)
        ev = replace(event, id=f"{self.epoch}-{seq}")
        self._ring.append((seq, ev))
        for sub in list(self._subs):
            sub.offer(ev)
        self.delivered += 1
        return ev

    def missed(self, last_event_id: str | None, username: str, role: str) -> Iterable[DeskEvent] | None:
        """Events after ``last_event_id`` visible to this person, or None if they cannot be
        replayed (no id, another process or an earlier run, or older than the ring)."""
        if not last_event_id:
            return None
        epoch, _, seq_s = last_event_id.partition("-")
        if epoch != self.epoch or not seq_s.isdigit():
            return None
        seq = int(seq_s)
        if not self._ring or self._ring[0][0] > seq + 1:
            return None
        return [e for s, e in self._ring if s > seq and e.visible_to(username, role)]

    def close(self) -> None:
        for sub in list(self._subs):
            sub.close()
