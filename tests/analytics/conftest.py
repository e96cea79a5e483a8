"""Demo histories for analytics tests: generated once per session and backend (SQLite file,
PostgreSQL schema of its own, dropped at the end), small enough to keep the suite fast."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from tests.conftest import PG_URL, PII_TEST_KEY, _drop_schema, pg_skip_reason

#: the demo period used by most tests: 120 days ending 30 November 2026 (rainy season start,
#: a PKH wave in November, Idul Adha and Independence Day earlier)
END = date(2026, 11, 30)


@dataclass
class Demo:
    store: Any
    src: Any
    result: Any
    config: Any
    backend: str


def _make(backend: str, tmp_factory, *, days: int, seed: int, calls_per_day: float, incidents: bool,
          made: list) -> Demo:
    from datetime import timedelta

    from ivr.analytics.calendar import holiday_dates
    from ivr.analytics.db import Source
    from ivr.analytics.demo import DemoConfig, generate_demo
    from ivr.privacy.pii import Pii
    from ivr.config.calendar import OfficeHours
    from ivr.storage import Store

    pii = Pii("encrypt", PII_TEST_KEY)
    if backend == "sqlite":
        path = tmp_factory.mktemp("analytics") / "demo.sqlite3"
        store = Store(f"sqlite:///{path}", pii=pii)
        schema = None
    else:
        schema = f"t_{uuid.uuid4().hex[:16]}"
        store = Store(PG_URL, pii=pii, schema=schema)
    store.migrate()
    made.append((store, schema))
    cfg = DemoConfig(start=END - timedelta(days=days - 1), days=days, seed=seed, calls_per_day=calls_per_day,
                     incidents=incidents)
    res = generate_demo(store.database.engine, pii, cfg)
    hol = holiday_dates(cfg.start - timedelta(days=30), END + timedelta(days=60))
    src = Source(store.database.engine, store.tickets.tz, hol, 14, OfficeHours.parse("Mon-Fri 08:00-16:00 Asia/Jakarta", hol))
    return Demo(store, src, res, cfg, backend)


@pytest.fixture(scope="session")
def demo_factory(tmp_path_factory):
    cache: dict[tuple, Demo] = {}
    made: list = []

    def get(backend: str = "sqlite", *, days: int = 120, seed: int = 5, calls_per_day: float = 250.0,
            incidents: bool = True) -> Demo:
        if backend == "postgres":
            reason = pg_skip_reason()
            if reason:
                pytest.skip(reason)
        key = (backend, days, seed, calls_per_day, incidents)
        if key not in cache:
            cache[key] = _make(backend, tmp_path_factory, days=days, seed=seed, calls_per_day=calls_per_day,
                               incidents=incidents, made=made)
        return cache[key]

    yield get
    for store, schema in made:
        store.database.engine.dispose()
        if schema is not None:
            _drop_schema(schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request) -> str:
    return request.param


@pytest.fixture
def demo(demo_factory, backend) -> Demo:
    """The standard 120-day demo history with incidents, on SQLite and PostgreSQL."""
    return demo_factory(backend)
