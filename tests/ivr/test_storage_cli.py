"""`ivr tickets`, `ivr purge`, `ivr db` against a real SQLite file."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
import typer
from typer.testing import CliRunner

from ivr.cli import store_cmds
from ivr.config.settings import load_settings
from ivr.storage import Store


@pytest.fixture
def cli(tmp_path, monkeypatch):
    for k in ("IVR_CONFIG_FILE", "IVR_PII_KEY", "IVR_DATABASE_URL"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("IVR_DATA_DIR", str(tmp_path))
    app = typer.Typer()
    store_cmds.register(app)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


def _seed(now):
    async def go():
        st = Store.from_settings(load_settings())
        st.migrate()
        old = await st.calls.create(caller="081234567890", started_at=now - timedelta(days=200))
        await st.calls.add_turn(old, 0, "caller", "lama sekali", at=now - timedelta(days=200))
        new = await st.calls.create(caller="081234567890")
        await st.calls.add_turn(new, 0, "caller", "baru")
        a = await st.tickets.create("complaint", category="jalan", description="jalan rusak",
                                   reporter_phone="081234567890", call_id=new)
        b = await st.tickets.create("callback", reporter_phone="081298765432")
        await st.close()
        return a, b, old, new
    return asyncio.run(go())


def test_db_upgrade_and_tickets(cli, tmp_path):
    r = cli("db", "upgrade")
    assert r.exit_code == 0 and f"revision {Store.head_revision()}" in r.output and (tmp_path / "ivr.sqlite3").exists()
    r = cli("tickets", "list")
    assert r.exit_code == 0 and "no tickets" in r.output
    a, b, _, _ = _seed(datetime.now(timezone.utc))
    r = cli("tickets", "list", "--json")
    rows = [json.loads(line) for line in r.output.splitlines()]
    assert [x["public_id"] for x in rows] == [b, a]
    assert rows[1]["reporter_phone"] == "0812*****890" and "081234567890" not in r.output
    r = cli("tickets", "list", "--kind", "callback")
    assert f"{b[:4]}-{b[4:9]}-{b[9]}" in r.output and a[:4] + "-" + a[4:9] not in r.output
    r = cli("tickets", "show", f"{a[:4]}-{a[4:9]}-{a[9]}")
    assert r.exit_code == 0 and "Category:     jalan" in r.output and "-> open" in r.output
    # keyed as the caller keys it, shown as people write it
    r = cli("tickets", "show", a)
    assert r.exit_code == 0 and f"Ticket:       {a[:4]}-{a[4:9]}-{a[9]}\n" in r.output
    r = cli("tickets", "list")
    assert f"{a[:4]}-{a[4:9]}-{a[9]}" in r.output and a not in r.output
    r = cli("tickets", "show", a, "--json")
    assert json.loads(r.output)["display_id"] == f"{a[:4]}-{a[4:9]}-{a[9]}"
    r = cli("tickets", "show", a[:-1] + str((int(a[-1]) + 1) % 10))
    assert r.exit_code == 1 and "no ticket" in r.output


def test_purge_uses_retention_setting(cli, monkeypatch, tmp_path):
    import os

    _, _, old, new = _seed(datetime.now(timezone.utc))
    (tmp_path / "sounds" / "rec").mkdir(parents=True)
    stale_rec = tmp_path / "sounds" / "rec" / "call-1.wav"  # AGI-mode recording left by a crash
    prompt = tmp_path / "sounds" / "prompt-abc.wav"          # prompts are not recordings
    for p in (stale_rec, prompt):
        p.write_bytes(b"RIFF")
        ts = (datetime.now(timezone.utc) - timedelta(days=100)).timestamp()
        os.utime(p, (ts, ts))
    monkeypatch.setenv("IVR_RETENTION_DAYS", "365")
    r = cli("purge")
    assert r.exit_code == 0 and "older than 365 days" in r.output and "0 transcript turns" in r.output
    r = cli("purge", "--days", "30")
    assert r.exit_code == 0 and "1 transcript turns" in r.output and "1 calls" in r.output
    assert "1 recordings" in r.output and not stale_rec.exists() and prompt.exists()

    async def check():
        st = Store.from_settings(load_settings())
        try:
            return (await st.calls.turns(old)), (await st.calls.turns(new))
        finally:
            await st.close()
    old_turns, new_turns = asyncio.run(check())
    assert old_turns == [] and [t.text for t in new_turns] == ["baru"]


def test_bad_settings_and_unreachable_database(cli, monkeypatch):
    monkeypatch.setenv("IVR_RETENTION_DAYS", "-3")
    r = cli("purge")
    assert r.exit_code == 2 and "retention_days" in r.output
    monkeypatch.delenv("IVR_RETENTION_DAYS")
    monkeypatch.setenv("IVR_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    r = cli("tickets", "list")
    assert r.exit_code == 1 and "cannot reach the database" in r.output


def test_keygen_makes_a_usable_key(cli, monkeypatch):
    r = cli("db", "keygen")
    key = r.output.strip()
    monkeypatch.setenv("IVR_PII_KEY", key)
    assert load_settings(pii_mode="encrypt").pii_key.get_secret_value() == key


def test_replay_reports_backlog(cli, tmp_path):
    from ivr.storage.outbox import Outbox

    cli("db", "upgrade")
    Outbox(tmp_path / "outbox").append("insert_call", {
        "id": "from-journal", "started_at": datetime.now(timezone.utc), "channel_id": None,
        "caller_masked": None, "caller_enc": None, "caller_hash": None, "media_mode": "agi",
        "script_name": None, "script_version": None})
    r = cli("db", "replay")
    assert r.exit_code == 0 and "1 pending, 1 applied, 0 left" in r.output

    async def check():
        st = Store.from_settings(load_settings())
        try:
            return await st.calls.get("from-journal")
        finally:
            await st.close()
    assert asyncio.run(check()).media_mode == "agi"
