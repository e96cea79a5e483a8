"""The store's health probe logs a change of the database's state, and only a change: a first
answer that all is well is not a warning."""

from __future__ import annotations

import logging

from ivr.storage import Store
from tests.waiting import eventually


async def test_the_probe_warns_only_when_something_changed(tmp_path, caplog, monkeypatch):
    store = Store(f"sqlite:///{tmp_path / 'ivr.sqlite3'}", outbox_dir=tmp_path / "outbox")
    await store.amigrate()
    answers = [True, True, False, False, True]

    async def ping(deadline: float) -> bool:
        return answers.pop(0) if answers else True

    monkeypatch.setattr(store.database, "ping", ping)
    caplog.set_level(logging.INFO, logger="ivr.storage.store")
    store.start_background(probe_interval_s=0.01)
    try:
        await eventually(lambda: not answers, "every answer read")
        await eventually(lambda: any("reachable again" in r.getMessage() for r in caplog.records), "the recovery logged")
    finally:
        await store.close()
    said = [(r.levelname, r.getMessage()) for r in caplog.records if r.getMessage().startswith("database")]
    assert said == [("INFO", "database reachable"), ("WARNING", "database unreachable"),
                    ("WARNING", "database reachable again")]
