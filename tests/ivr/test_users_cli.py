"""`ivr users add|passwd|disable|enable|list|token` against a real SQLite file; the SQLite
file is readable by its owner only."""

from __future__ import annotations

import asyncio
import stat

import pytest
import typer
from typer.testing import CliRunner

from ivr.cli import users_cmds
from ivr.config.settings import load_settings
from ivr.storage import Store


@pytest.fixture
def cli(tmp_path, monkeypatch):
    for k in ("IVR_CONFIG_FILE", "IVR_PII_KEY", "IVR_DATABASE_URL"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("IVR_DATA_DIR", str(tmp_path))
    app = typer.Typer()
    users_cmds.register(app)
    runner = CliRunner()

    def run(*args, input=None):
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return run


def _store_call(fn):
    async def go():
        st = Store.from_settings(load_settings())
        try:
            return await fn(st)
        finally:
            await st.close()
    return asyncio.run(go())


def test_users_commands(cli, tmp_path):
    r = cli("users", "list")
    assert r.exit_code == 0 and "no accounts yet" in r.output
    r = cli("users", "add", "Rina", "--role", "agent", "--password-stdin", input="kata-sandi-rina-1\n")
    assert r.exit_code == 0, r.output
    # asked twice without echo; two different answers are refused
    r = cli("users", "add", "andi", "--role", "admin", input="kata-sandi-andi-1\nlain-sekali-123\n")
    assert r.exit_code == 2 and "differ" in r.output
    r = cli("users", "add", "andi", "--role", "admin", input="kata-sandi-andi-1\nkata-sandi-andi-1\n")
    assert r.exit_code == 0 and "kata-sandi-andi-1" not in r.output
    assert cli("users", "add", "rina", "--password-stdin", input="kata-sandi-rina-2\n").exit_code == 1
    r = cli("users", "add", "budi", "--role", "boss", "--password-stdin", input="kata-sandi-budi-1\n")
    assert r.exit_code == 1 and "Peran tidak dikenal" in r.output
    r = cli("users", "add", "budi", "--password-stdin", input="pendek\n")
    assert r.exit_code == 1 and "minimal 10" in r.output
    listing = cli("users", "list").output
    assert "rina" in listing and "andi" in listing and "admin" in listing and "budi" not in listing

    async def check(st):
        return (await st.accounts.verify("rina", "kata-sandi-rina-1"), await st.accounts.verify("RINA", "salah-123456"))
    ok, bad = _store_call(check)
    assert ok is not None and ok.role == "agent" and bad is None

    assert cli("users", "passwd", "rina", "--password-stdin", input="kata-sandi-baru-2\n").exit_code == 0
    token = cli("users", "token", "rina", "--label", "laporan").output.strip()
    assert token.startswith("ivr_")

    async def after_passwd(st):
        return (await st.accounts.verify("rina", "kata-sandi-rina-1"), await st.accounts.verify("rina", "kata-sandi-baru-2"),
                await st.accounts.token_account(token))
    old, new, by_token = _store_call(after_passwd)
    assert old is None and new is not None and by_token[0].username == "rina"

    assert cli("users", "disable", "rina").exit_code == 0
    assert "disabled" in cli("users", "list").output

    async def after_disable(st):
        return await st.accounts.verify("rina", "kata-sandi-baru-2"), await st.accounts.token_account(token)
    assert _store_call(after_disable) == (None, None)
    assert cli("users", "enable", "rina").exit_code == 0
    assert _store_call(after_disable)[0] is not None  # the password works again; the token stays revoked
    assert cli("users", "disable", "nobody").exit_code == 1

    async def audit(st):
        return [(e.action, e.subject_id) for e in await st.audit.entries(subject_type="staff")]
    actions = _store_call(audit)
    assert ("create_account", "rina") in actions and ("disable_account", "rina") in actions
    # the database holds password hashes: only its owner may read it
    mode = stat.S_IMODE((tmp_path / "ivr.sqlite3").stat().st_mode)
    assert mode == 0o600, oct(mode)
