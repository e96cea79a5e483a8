"""Shared fixtures.

``store``: a migrated :class:`ivr.storage.Store`, parametrised over SQLite (a file in the test's
tmp dir) and PostgreSQL at 127.0.0.1:5432/test (``IVR_TEST_PG_URL`` overrides) in a schema of
its own, dropped afterwards, so parallel runs never collide.
``make_store``: factory for stores with custom options (PII mode, outbox...), same backends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

PG_URL = os.environ.get("IVR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PII_TEST_KEY = "q0dwPAL2WKdZfMLnbBgQFGSo4Qdl0d2Ex95uF_Tz9wY="  # test-only key, not a secret


def _pg_available() -> str | None:
    try:
        import psycopg2

        conn = psycopg2.connect(PG_URL, connect_timeout=2)
        conn.close()
        return None
    except Exception as exc:  # report why in the skip reason
        return f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}"


_PG_SKIP: str | None | bool = False


def pg_skip_reason() -> str | None:
    global _PG_SKIP
    if _PG_SKIP is False:
        _PG_SKIP = _pg_available()
    return _PG_SKIP  # type: ignore[return-value]


def _drop_schema(schema: str) -> None:
    import psycopg2

    conn = psycopg2.connect(PG_URL, connect_timeout=2)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_backend(request) -> str:
    if request.param == "postgres":
        reason = pg_skip_reason()
        if reason:
            pytest.skip(reason)
    return request.param


@pytest.fixture
async def make_store(db_backend, tmp_path) -> AsyncIterator[Callable[..., Any]]:
    from ivr.storage import Store

    made: list[tuple[Any, str | None]] = []

    async def factory(**kwargs: Any):
        schema = None
        if db_backend == "sqlite":
            url = f"sqlite:///{tmp_path / f'ivr-{len(made)}.sqlite3'}"
        else:
            url = PG_URL
            schema = kwargs.pop("schema", None) or f"t_{uuid.uuid4().hex[:16]}"
            kwargs["schema"] = schema
        url = kwargs.pop("url", url)
        store = Store(url, **kwargs)
        await store.amigrate()
        made.append((store, schema))
        return store

    yield factory
    for store, schema in made:
        await store.close()
        if schema is not None:
            _drop_schema(schema)


@pytest.fixture
async def store(make_store, tmp_path):
    """A migrated store with an outbox in tmp_path; SQLite and PostgreSQL."""
    return await make_store(outbox_dir=tmp_path / "outbox", recordings_dir=tmp_path / "recordings")
