"""Desk events across ``ivr serve`` processes.

:class:`RedisBus` (``IVR_REDIS_URL``, e.g. ``redis://127.0.0.1:6379/0``): every process
publishes what only it knows (its live calls' dialog states, tickets and wrap-ups filed through
it, callback outcomes) on one pub/sub channel and receives everyone's. What AMI says (queues,
agents, ``AgentConnect``) is not sent over the bus: each process has its own AMI connection and
Asterisk tells them all. :class:`LocalBus`: one process, nothing leaves it.

Redis pub/sub, not PostgreSQL LISTEN/NOTIFY: SQLite stays a supported database; pub/sub needs
no connection held per listener in the database's pool; payloads are not limited to 8000 bytes.
Messages are fire-and-forget: a process that was away gets the state again from the next
periodic snapshot, never from a replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Bus", "LocalBus", "RedisBus", "make_bus"]

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
CHANNEL = "ivr:desk:v1"


class Bus(Protocol):
    origin: str

    @property
    def shared(self) -> bool: ...

    async def start(self, handler: Handler) -> None: ...

    async def publish(self, message: dict[str, Any]) -> None: ...

    async def close(self) -> None: ...


class LocalBus:
    """One process: nothing to share."""

    def __init__(self) -> None:
        self.origin = f"{os.getpid()}-{secrets.token_hex(3)}"

    @property
    def shared(self) -> bool:
        return False

    async def start(self, handler: Handler) -> None:
        return None

    async def publish(self, message: dict[str, Any]) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisBus:
    """Redis pub/sub; reconnects by itself. Messages from this process come back and are
    ignored by origin (the process delivered them locally already)."""

    def __init__(self, url: str, *, channel: str = CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self.origin = f"{os.getpid()}-{secrets.token_hex(3)}"
        self._task: asyncio.Task[None] | None = None
        self._client: Any = None
        self.up = False
        self.received = 0

    @property
    def shared(self) -> bool:
        return True

    async def start(self, handler: Handler) -> None:
        import redis.asyncio as redis

        self._client = redis.from_url(self.url, socket_connect_timeout=2)
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._listen(handler, ready), name="desk-bus")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(ready.wait(), 3.0)

    async def _listen(self, handler: Handler, ready: asyncio.Event) -> None:
        delay = 0.2
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.up = True
                ready.set()
                delay = 0.2
                async for msg in pubsub.listen():
                    if msg.get("type") != "message":
                        continue
                    try:
                        obj = json.loads(msg["data"])
                    except (ValueError, TypeError):
                        continue
                    if not isinstance(obj, dict) or obj.get("origin") == self.origin:
                        continue
                    self.received += 1
                    try:
                        handler(obj)
                    except Exception:
                        log.exception("desk bus: handler failed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.up:
                    log.warning("desk bus: Redis connection lost (%s); retrying", exc)
                self.up = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def publish(self, message: dict[str, Any]) -> None:
        if self._client is None:
            return
        try:
            await self._client.publish(self.channel, json.dumps({**message, "origin": self.origin},
                                                                 ensure_ascii=False, default=str))
        except Exception as exc:
            log.debug("desk bus: publish failed (%s)", exc)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()


def make_bus(redis_url: str | None) -> Bus:
    return RedisBus(redis_url) if redis_url else LocalBus()
