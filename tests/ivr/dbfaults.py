"""Database faults for tests and benches, on real PostgreSQL.

* :class:`TcpProxy`: ``127.0.0.1:<port>`` -> PostgreSQL; ``stop()`` refuses and cuts every
  connection, ``start()`` serves again on the same port, ``hang()`` keeps accepting and
  forwarding nothing (a database that silently stops answering), ``resume()`` undoes it.
* :func:`fresh_database`: a PostgreSQL database of its own (created, dropped afterwards), for
  processes that cannot be given a schema (``ivr serve`` takes a URL).
* :func:`database_down_at_start`: a fresh database behind a proxy that refuses connections
  from the start (``proxy.start()`` brings it back).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator

PG_URL = os.environ.get("IVR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


class TcpProxy:
    """127.0.0.1:<port> -> PostgreSQL; stop() refuses and cuts every connection."""

    def __init__(self, target_host: str, target_port: int, port: int = 0):
        self.target = (target_host, target_port)
        self.port = port
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.hung = False

    @classmethod
    def to_postgres(cls) -> TcpProxy:
        from sqlalchemy.engine import make_url

        u = make_url(PG_URL)
        return cls(u.host or "127.0.0.1", u.port or 5432)

    def url(self, database: str | None = None) -> str:
        from sqlalchemy.engine import make_url

        u = make_url(PG_URL).set(host="127.0.0.1", port=self.port)
        if database is not None:
            u = u.set(database=database)
        return u.render_as_string(hide_password=False)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in list(self.writers):
            w.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()
        self.server = None

    def hang(self) -> None:
        """From now on nothing is forwarded either way (connections stay open, new ones are
        accepted): the database silently stops answering."""
        self.hung = True

    def resume(self) -> None:
        self.hung = False

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            ur, uw = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.writers.update({writer, uw})

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                while data := await r.read(65536):
                    while self.hung:
                        await asyncio.sleep(0.05)
                    w.write(data)
                    await w.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                w.transport.abort()

        await asyncio.gather(pipe(reader, uw), pipe(ur, writer))
        self.writers.difference_update({writer, uw})


@contextlib.contextmanager
def fresh_database(prefix: str = "test_f1") -> Iterator[str]:
    """The name of a new, empty PostgreSQL database (dropped afterwards)."""
    import psycopg2

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(PG_URL, connect_timeout=2)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@contextlib.asynccontextmanager
async def database_down_at_start() -> AsyncIterator[tuple[TcpProxy, str]]:
    """A fresh database (its name is yielded with the proxy) behind a proxy on a fixed port
    that refuses connections until ``proxy.start()``: processes given ``proxy.url(name)``
    start while the database is down. The proxy is stopped, then the database dropped."""
    proxy = TcpProxy.to_postgres()
    await proxy.start()   # takes a port, kept for start() later
    await proxy.stop()
    with fresh_database() as name:
        try:
            yield proxy, name
        finally:
            if proxy.server is not None:
                await proxy.stop()
