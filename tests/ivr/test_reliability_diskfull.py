"""Issue #15: the journal's disk is full while the database is down, and nothing is lost.

The write journal lives on a real full filesystem (a 64 KiB tmpfs, filled), and PostgreSQL
refuses connections (a proxy that is down). A caller asks for a callback by keys: the call goes
on normally and reads back an offline ticket number, the write is held in memory, ``/healthz``
reasons say why, one warning line (not one per write) says so. Once the disk has room the held
write moves to the journal; once the database is back it lands there under the number the
caller heard. Without a tmpfs (not root) the tests are skipped.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from telephony.peer import Dtmf, Hangup, Silence, WaitForPrompt, WaitForSilence
from tests.conftest import _drop_schema, pg_skip_reason
from tests.ivr.dbfaults import TcpProxy
from tests.waiting import eventually

if TYPE_CHECKING:
    from ivr.storage import Store

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CALLBACK_KEYS = [WaitForPrompt(), Dtmf("0"), WaitForSilence(1.0), Dtmf("1"), WaitForSilence(1.0), Dtmf("1"),
                 WaitForSilence(1.5), Silence(0.5), Hangup()]


@contextlib.contextmanager
def full_disk(where: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs at ``where``; yields the filler file that takes all its room."""
    where.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(where)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.strip()}")
    try:
        yield where / "filler"
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(filler: Path) -> None:
    with open(filler, "ab", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass


@pytest.fixture
def pg():
    reason = pg_skip_reason()
    if reason:
        pytest.skip(reason)


@contextlib.asynccontextmanager
async def offline_store(tmp_path: Path) -> AsyncIterator[tuple[Store, TcpProxy, Path]]:
    """A store on PostgreSQL (a schema of its own) through a proxy, its write journal on a
    64 KiB tmpfs: yields the store, the proxy and the filler file (``fill`` takes the disk's
    room). Afterwards the store is closed, the proxy stopped, the schema dropped."""
    from ivr.storage import Store

    proxy = TcpProxy.to_postgres()
    await proxy.start()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        with full_disk(tmp_path / "ob") as filler:
            store = Store(proxy.url(), schema=schema, outbox_dir=tmp_path / "ob", write_deadline_s=1.5,
                          retry_after_s=0.5)
            await store.amigrate()
            try:
                yield store, proxy, filler
            finally:
                await store.close()
    finally:
        if proxy.server is not None:
            await proxy.stop()
        _drop_schema(schema)


async def database_down(store: Store, proxy: TcpProxy) -> None:
    """The database refuses connections (and the store knows it without a failed write)."""
    await proxy.stop()
    store.database.mark_down()


async def database_up(store: Store, proxy: TcpProxy) -> None:
    await proxy.start()
    store.database.mark_up()


async def test_a_caller_keeps_the_offline_number_when_the_journal_disk_is_full_and_the_database_down(
        pg, engines, tmp_path, caplog):
    from tests.ivr.conftest import close_hotline, make_hotline

    async with offline_store(tmp_path) as (store, proxy, filler):
        hl = await make_hotline(engines, tmp_path, store=store, office_hours="never")
        try:
            fill(filler)
            await database_down(store, proxy)
            caplog.set_level(logging.WARNING, logger="ivr.storage")
            began = time.monotonic()
            res = await hl.peer.place_call(CALLBACK_KEYS, caller_id="081234567890", realtime=4.0)
            took = time.monotonic() - began
            # the caller went through the dialog and heard the number, as with a journal
            assert res.variables.get("IVR_DONE") == "1" and not res.transferred
            (filed,) = hl.by_kind("ticket")
            assert int(filed["ticket_id"][4:9]) >= 90000          # the offline range
            said = [d["text"] for d in hl.by_kind("say")]
            assert any("Permintaan telepon balik sudah kami catat" in t for t in said)
            # held in memory (the call record, its turns, the callback), and /healthz says why
            assert len(store.writes.held) >= 2 and store.outbox.pending() == 0
            health = await store.health()
            assert health.status == "degraded" and health.held_writes == len(store.writes.held)
            assert any("No space left on device" in r for r in health.reasons), health.reasons
            held_lines = [r for r in caplog.records if "held in memory" in r.getMessage()]
            # once per interval, not per write (a slow machine's longer call may span more intervals)
            per_interval = 2 + int(took // store.writes.held.log_interval_s)
            assert 1 <= len(held_lines) <= per_interval, (len(held_lines), took)

            # the disk gets room: the held writes move to the journal, in order
            filler.unlink()
            store.start_replayer(0.2)
            await eventually(lambda: not store.writes.held, "held writes to reach the journal",
                             timeout=30, interval=0.1)
            assert store.outbox.pending() >= 2
            # the database is back: everything lands there, under the number the caller heard
            await database_up(store, proxy)
            await eventually(lambda: store.outbox_backlog == 0, "the journal to be replayed", timeout=60,
                             interval=0.2)
            ticket = await store.tickets.get(filed["ticket_id"])
            assert ticket is not None and ticket.kind == "callback"
            assert (await store.health()).held_writes == 0
        finally:
            await close_hotline(hl)


async def test_held_writes_go_straight_to_the_database_and_the_bound_refuses_more(pg, tmp_path):
    """The disk stays full and the database comes back: the held writes are applied to it in
    order. At the bound a write is refused (the call would hand the caller to an agent)."""
    async with offline_store(tmp_path) as (store, proxy, filler):
        store.writes.held.max_held = 3
        fill(filler)
        await database_down(store, proxy)
        now = datetime.now(timezone.utc)
        numbers = []
        for i in range(3):
            numbers.append(await store.tickets.create("callback", reporter_phone=f"08123456780{i}",
                                                      client_id=f"held-{i}", created_at=now))
        assert [int(n[4:9]) for n in numbers] == sorted(int(n[4:9]) for n in numbers)
        assert len(set(numbers)) == 3 and len(store.writes.held) == 3
        with pytest.raises(OSError):
            await store.tickets.create("callback", reporter_phone="081234567809", client_id="held-3",
                                       created_at=now)
        assert len(store.writes.held) == 3            # nothing dropped, nothing more taken
        await database_up(store, proxy)
        store.start_replayer(0.2)
        await eventually(lambda: store.outbox_backlog == 0, "held writes to reach the database",
                         timeout=60, interval=0.2)
        for n in numbers:
            t = await store.tickets.get(n)
            assert t is not None and t.kind == "callback"
        assert store.outbox.pending() == 0 and filler.exists()   # the disk never took them


async def test_a_long_journal_on_a_full_disk_is_still_replayed(pg, tmp_path):
    """More journaled writes than one replay chunk, then the disk fills up: the journal cannot
    be rewritten without the applied chunk, so it is replayed whole and removed."""
    async with offline_store(tmp_path) as (store, proxy, filler):
        await database_down(store, proxy)
        now = datetime.now(timezone.utc)
        numbers = [await store.tickets.create("callback", reporter_phone="081234567800", client_id=f"j-{i}",
                                              created_at=now) for i in range(60)]
        assert store.outbox.pending() == 60 and not store.writes.held
        fill(filler)
        await database_up(store, proxy)

        async def replayed() -> bool:
            await store.writes.replay(chunk=25)
            return store.outbox_backlog == 0

        await eventually(replayed, "the journal to be replayed", timeout=60, interval=0.3)
        assert not store.outbox.path.exists()
        assert await store.tickets.count() == 60
        assert (await store.tickets.get(numbers[-1])) is not None
