"""Two processes with the same offline range (same node id, separate data directories, or a
wiped one) hand out the same offline ticket number during an outage: on replay the second
ticket is filed under a new number instead of being refused, with the number its caller heard
kept for the agents (issue #15: nothing a caller was told is lost)."""

from __future__ import annotations

from datetime import datetime, timezone

from ivr.storage import Store


async def test_a_taken_offline_number_is_filed_under_a_new_one(tmp_path):
    url = f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
    a = Store(url, outbox_dir=tmp_path / "a", retry_after_s=3600.0)
    b = Store(url, outbox_dir=tmp_path / "b", retry_after_s=3600.0)
    await a.amigrate()
    try:
        now = datetime.now(timezone.utc)
        a.database.mark_down()
        b.database.mark_down()
        na = await a.tickets.create("callback", reporter_phone="081234567890", client_id="a-1", created_at=now)
        nb = await b.tickets.create("callback", reporter_phone="081234567891", client_id="b-1", created_at=now)
        assert na == nb and int(na[4:9]) >= 90000            # the same offline number, twice
        a.database.mark_up()
        b.database.mark_up()
        await a.replay_outbox()
        await b.replay_outbox()
        assert a.outbox_backlog == 0 and b.outbox_backlog == 0
        assert not (tmp_path / "b" / "rejected.jsonl").exists()   # filed, not refused
        assert await a.tickets.count() == 2
        first = await a.tickets.get(na)
        assert first is not None and not (first.extra or {}).get("number_heard")
        (other,) = [t for t in await a.tickets.query() if t.public_id != na]
        assert (other.extra or {}).get("number_heard") == na
    finally:
        await a.close()
        await b.close()
