"""AMI client: login, action -> response futures, list actions, events, keepalive, reconnect.

Behaviour of the server side, from ``main/manager.c`` and the Asterisk 22 transcripts:

* a wrong secret is answered after ~1 s with ``Response: Error`` / ``Authentication failed``
  and the connection is closed -> :class:`AmiAuthError` (never retried: retrying a wrong
  password only locks the account);
* an action before ``Login`` gets ``Permission denied`` and the connection stays open;
* list actions (``CoreShowChannels``, ``QueueStatus``...) answer ``Response: Success`` with
  ``EventList: start``, then item events carrying the ``ActionID``, then
  ``<X>Complete`` with ``EventList: Complete``;
* events of the same connection may arrive between an action and its response.

On a lost connection every pending action fails with :class:`AmiConnectionLost` at once; the
client reconnects with exponential backoff and logs in again. A subscriber callback that raises
is logged and delivery continues.
"""

from __future__ import annotations

import asyncio
import fnmatch
import inspect
import itertools
import logging
import random
import secrets
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Mapping, Union

from .ami_codec import NEED_DATA, AmiBanner, AmiCodec, AmiMessage, encode_message
from .errors import RemoteProtocolError

__all__ = ["AmiClient", "AmiError", "AmiAuthError", "AmiConnectionLost", "AmiMessage"]

log = logging.getLogger(__name__)

#: an event subscriber: sync, or async (then run as a task)
Callback = Callable[[AmiMessage], Union[Awaitable[None], None]]
#: called after every (re)login: sync or async
ConnectCallback = Callable[[], Union[Awaitable[None], None]]
#: a header value: str, int..., or a list/tuple to repeat the header
HeaderValue = object


class AmiError(Exception):
    """An AMI action failed (``Response: Error``, timeout, protocol error)."""

    def __init__(self, message: str, response: AmiMessage | None = None) -> None:
        super().__init__(message)
        self.response = response


class AmiAuthError(AmiError):
    """Login refused (wrong user name or secret)."""


class AmiConnectionLost(AmiError):
    """Not connected, or the connection dropped before the response arrived."""


@dataclass
class _ListCollector:
    response: asyncio.Future[AmiMessage]
    done: asyncio.Future[list[AmiMessage]]
    items: list[AmiMessage] = field(default_factory=list)


class AmiClient:
    def __init__(self, host: str = "127.0.0.1", port: int = 5038, username: str = "", secret: str = "", *,
                 reconnect: bool = True, backoff_initial: float = 0.5, backoff_max: float = 30.0,
                 keepalive: float | None = 20.0, action_timeout: float = 10.0,
                 connect_timeout: float = 5.0, max_pending_callbacks: int = 1000) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._secret = secret
        self.reconnect = reconnect
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.keepalive = keepalive
        self.action_timeout = action_timeout
        self.connect_timeout = connect_timeout
        self.banner: str | None = None
        self.connected = False
        self.reconnects = 0
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._keepalive_task: asyncio.Task[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[AmiMessage]] = {}
        self._lists: dict[str, _ListCollector] = {}
        self._by_name: dict[str, list[Callback]] = {}
        self._patterns: list[tuple[str, Callback]] = []
        self._ids = itertools.count(1)
        self._prefix = secrets.token_hex(4)
        self._closing = False
        self._banner_fut: asyncio.Future[str] | None = None
        self._cb_tasks: set[asyncio.Future[None]] = set()
        self.max_pending_callbacks = max_pending_callbacks
        self.dropped_callbacks = 0
        self._on_connect: list[ConnectCallback] = []
        self._on_disconnect_cbs: list[Callable[[], None]] = []
        self.connected_event = asyncio.Event()

    # -- subscriptions -------------------------------------------------------------------
    def on(self, event: str, callback: Callback) -> None:
        """Call ``callback(msg)`` for every event named ``event`` (case-insensitive)."""
        self._by_name.setdefault(event.lower(), []).append(callback)

    def on_pattern(self, pattern: str, callback: Callback) -> None:
        """Call ``callback(msg)`` for events whose name matches the glob ``pattern``."""
        self._patterns.append((pattern.lower(), callback))

    def off(self, callback: Callback) -> None:
        for cbs in self._by_name.values():
            while callback in cbs:
                cbs.remove(callback)
        self._patterns = [(p, c) for p, c in self._patterns if c is not callback]

    def on_connect(self, callback: ConnectCallback) -> None:
        """Called after every successful (re)login, e.g. to resubscribe server-side state."""
        self._on_connect.append(callback)

    def on_disconnect(self, callback: Callable[[], None]) -> None:
        """Called (synchronously) when a logged-in connection is lost."""
        self._on_disconnect_cbs.append(callback)

    def _dispatch(self, msg: AmiMessage) -> None:
        name = msg.name.lower()
        cbs = list(self._by_name.get(name, ()))
        cbs += [cb for pat, cb in self._patterns if fnmatch.fnmatchcase(name, pat)]
        for cb in cbs:
            try:
                if len(self._cb_tasks) >= self.max_pending_callbacks and inspect.iscoroutinefunction(cb):
                    # slow async subscribers must not make memory grow without bound
                    self.dropped_callbacks += 1
                    if self.dropped_callbacks == 1 or self.dropped_callbacks % 1000 == 0:
                        log.warning("AMI: %d async callbacks still running; dropped %d deliveries so far",
                                    len(self._cb_tasks), self.dropped_callbacks)
                    continue
                r = cb(msg)
                if inspect.isawaitable(r):
                    t = asyncio.ensure_future(r)
                    self._cb_tasks.add(t)
                    t.add_done_callback(self._cb_done)
            except Exception:
                log.exception("AMI: callback %r for %s raised; continuing", cb, msg.name)

    def _cb_done(self, t: "asyncio.Future[None]") -> None:
        self._cb_tasks.discard(t)
        if not t.cancelled() and t.exception() is not None:
            log.error("AMI: async callback raised; continuing", exc_info=t.exception())

    # -- connection ----------------------------------------------------------------------
    async def connect(self) -> None:
        """Connect and log in; raises :class:`AmiAuthError` on wrong credentials."""
        self._closing = False
        await self._connect_once()

    async def _connect_once(self) -> None:
        loop = asyncio.get_running_loop()
        reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port),
                                                self.connect_timeout)
        self._writer = writer
        self._banner_fut = loop.create_future()
        codec = AmiCodec("client")
        self._reader_task = loop.create_task(self._read_loop(reader, writer, codec))
        try:
            self.banner = await asyncio.wait_for(asyncio.shield(self._banner_fut), self.connect_timeout)
            try:
                await self._send_action("Login", {"Username": self.username, "Secret": self._secret},
                                        allow_unconnected=True)
            except AmiConnectionLost:
                raise
            except AmiError as exc:
                raise AmiAuthError(f"AMI login as {self.username!r} failed: {exc}", exc.response) from None
        except BaseException:
            writer.close()
            raise
        self.connected = True
        self.connected_event.set()
        log.info("AMI: logged in to %s:%d as %s", self.host, self.port, self.username)
        if self.keepalive:
            self._keepalive_task = loop.create_task(self._keepalive_loop(writer))
        for cb in self._on_connect:
            try:
                r = cb()
                if inspect.isawaitable(r):
                    await r
            except Exception:
                log.exception("AMI: on_connect callback raised")

    async def _read_loop(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, codec: AmiCodec) -> None:
        exc: BaseException | None = None
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    codec.receive_eof()
                else:
                    codec.receive_data(data)
                while True:
                    msg = codec.next_event()
                    if msg is NEED_DATA:
                        break
                    self._handle(msg)
                if not data:
                    break
        except RemoteProtocolError as e:
            log.error("AMI: protocol error from %s:%d: %s; closing", self.host, self.port, e)
            exc = e
        except (OSError, asyncio.IncompleteReadError) as e:
            exc = e
        except asyncio.CancelledError:
            exc = None
        finally:
            writer.close()
            self._on_disconnect(writer, exc)

    def _handle(self, msg: AmiBanner | AmiMessage) -> None:
        if isinstance(msg, AmiBanner):
            if self._banner_fut is not None and not self._banner_fut.done():
                self._banner_fut.set_result(msg.text)
            return
        aid = msg.action_id
        if msg.is_response:
            if aid is not None:
                fut = self._pending.pop(aid, None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
                    return
            log.debug("AMI: response without a pending action (%s)", aid)
            return
        if msg.is_event and aid is not None and aid in self._lists:
            col = self._lists[aid]
            if (msg.get("EventList") or "").lower() == "complete":
                self._lists.pop(aid, None)
                if not col.done.done():
                    col.done.set_result(col.items)
            else:
                col.items.append(msg)
            return
        if msg.is_event:
            self._dispatch(msg)

    def _on_disconnect(self, writer: asyncio.StreamWriter, exc: BaseException | None) -> None:
        if writer is not self._writer:
            return
        was_connected = self.connected
        self.connected = False
        self.connected_event.clear()
        if self._banner_fut is not None and not self._banner_fut.done():
            self._banner_fut.set_exception(AmiConnectionLost(f"AMI connection closed before the banner ({exc})"))
        err = AmiConnectionLost(f"AMI connection to {self.host}:{self.port} lost" + (f": {exc}" if exc else ""))
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(err)
        self._pending.clear()
        for col in self._lists.values():
            for f in (col.response, col.done):
                if not f.done():
                    f.set_exception(err)
        self._lists.clear()
        if self._keepalive_task is not None:
            self._keepalive_task.cancel()
            self._keepalive_task = None
        if was_connected:
            for cb in self._on_disconnect_cbs:
                try:
                    cb()
                except Exception:
                    log.exception("AMI: on_disconnect callback raised")
        if was_connected and not self._closing:
            log.warning("AMI: connection lost (%s); reconnecting", exc or "EOF")
            if self.reconnect and (self._reconnect_task is None or self._reconnect_task.done()):
                self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        delay = self.backoff_initial
        while not self._closing:
            await asyncio.sleep(delay * (0.8 + 0.4 * random.random()))
            if self._closing:
                return
            try:
                await self._connect_once()
                self.reconnects += 1
                log.info("AMI: reconnected after loss (attempt delay %.2fs)", delay)
                return
            except AmiAuthError as exc:
                log.error("AMI: re-login refused (%s); giving up", exc)
                return
            except (OSError, AmiError, RemoteProtocolError, asyncio.TimeoutError) as exc:
                log.warning("AMI: reconnect to %s:%d failed: %s; retrying in %.1fs",
                            self.host, self.port, exc, min(delay * 2, self.backoff_max))
                delay = min(delay * 2, self.backoff_max)

    async def _keepalive_loop(self, writer: asyncio.StreamWriter) -> None:
        while self._writer is writer and self.connected:
            await asyncio.sleep(self.keepalive)  # type: ignore[arg-type]
            try:
                await self._send_action("Ping", {}, timeout=self.keepalive)
            except AmiConnectionLost:
                return
            except AmiError as exc:
                log.warning("AMI: keepalive failed (%s); dropping the connection", exc)
                writer.close()
                return

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self.connected_event.wait(), timeout)

    async def close(self) -> None:
        self._closing = True
        for t in (self._reconnect_task, self._keepalive_task):
            if t is not None:
                t.cancel()
        if self.connected:
            try:
                await self._send_action("Logoff", {}, timeout=1.0)
            except AmiError:
                pass
        if self._writer is not None:
            self._writer.close()
        t = self._reader_task
        if t is not None:
            try:
                await asyncio.wait_for(asyncio.shield(t), 2.0)
            except asyncio.TimeoutError:
                t.cancel()
            except asyncio.CancelledError:
                if not t.cancelled():
                    raise                  # close() itself is being cancelled: let it be
            except Exception as exc:       # the reader's own failure is already logged
                log.debug("AMI: reader ended with %r", exc)
        self.connected = False

    # -- actions -------------------------------------------------------------------------
    def _new_id(self) -> str:
        return f"{self._prefix}-{next(self._ids)}"

    @staticmethod
    def _merge(fields: Mapping[str, HeaderValue] | None, headers: dict[str, HeaderValue]) -> dict[str, HeaderValue]:
        out: dict[str, HeaderValue] = dict(fields or {})
        out.update(headers)
        return out

    def _write(self, name: str, aid: str, fields: Mapping[str, HeaderValue]) -> None:
        if self._writer is None or self._writer.is_closing():
            raise AmiConnectionLost("not connected to AMI")
        pairs: list[tuple[str, HeaderValue]] = [("Action", name), ("ActionID", aid)]
        pairs += [(k, v) for k, v in fields.items() if k.lower() not in ("action", "actionid")]
        self._writer.write(encode_message(pairs))

    async def _send_action(self, name: str, fields: Mapping[str, HeaderValue], *, timeout: float | None = None,
                           allow_unconnected: bool = False) -> AmiMessage:
        if not self.connected and not allow_unconnected:
            raise AmiConnectionLost("not connected to AMI")
        aid = self._new_id()
        fut = asyncio.get_running_loop().create_future()
        self._pending[aid] = fut
        try:
            self._write(name, aid, fields)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns a response that
            # lands as the caller is cancelled and loses the cancellation (CPython gh-86296)
            async with asyncio.timeout(timeout or self.action_timeout):
                resp: AmiMessage = await fut
        except asyncio.TimeoutError:
            raise AmiError(f"AMI action {name} timed out") from None
        finally:
            self._pending.pop(aid, None)
        if resp.name.lower() == "error":
            raise AmiError(f"AMI action {name} failed: {resp.get('Message', '')}", resp)
        return resp

    async def action(self, name: str, fields: Mapping[str, HeaderValue] | None = None, /,
                     **headers: HeaderValue) -> AmiMessage:
        """Send an action and return its response; ``Response: Error`` raises :class:`AmiError`.

        List values repeat a header (``Variable=["A=1", "B=2"]``).
        """
        return await self._send_action(name, self._merge(fields, headers))

    async def list_action(self, name: str, fields: Mapping[str, HeaderValue] | None = None, /,
                          **headers: HeaderValue) -> list[AmiMessage]:
        """Send a list action and collect its item events until ``EventList: Complete``."""
        if not self.connected:
            raise AmiConnectionLost("not connected to AMI")
        loop = asyncio.get_running_loop()
        aid = self._new_id()
        col = _ListCollector(loop.create_future(), loop.create_future())
        self._lists[aid] = col
        self._pending[aid] = col.response
        try:
            self._write(name, aid, self._merge(fields, headers))
            async with asyncio.timeout(self.action_timeout):      # not wait_for: see _send_action
                resp: AmiMessage = await col.response
            if resp.name.lower() == "error":
                raise AmiError(f"AMI action {name} failed: {resp.get('Message', '')}", resp)
            if (resp.get("EventList") or "").lower() != "start":
                return []
            async with asyncio.timeout(self.action_timeout):
                return await col.done
        except asyncio.TimeoutError:
            raise AmiError(f"AMI list action {name} timed out") from None
        finally:
            self._lists.pop(aid, None)
            self._pending.pop(aid, None)
