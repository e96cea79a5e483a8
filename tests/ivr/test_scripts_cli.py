"""`ivr scripts list|show|diff|push|publish|rollback` on a real SQLite store."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ivr.cli import app
from tests.ivr.test_scripts_storage import TESTS, YAML, edited


@pytest.fixture
def cli(tmp_path, monkeypatch):
    for k in ("IVR_CONFIG_FILE", "IVR_DATABASE_URL", "IVR_SCRIPT"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("IVR_DATA_DIR", str(tmp_path / "var"))
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


def test_push_publish_diff_and_roll_back(cli, tmp_path):
    r = cli("scripts", "list")
    assert r.exit_code == 0 and "default: 1 version(s)" in r.output and "L v1" in r.output
    (tmp_path / "new.yaml").write_text(edited(new="Halo dari terminal."), encoding="utf-8")
    (tmp_path / "new.tests.yaml").write_text(TESTS, encoding="utf-8")
    r = cli("scripts", "push", str(tmp_path / "new.yaml"), "-m", "sapaan terminal")
    assert r.exit_code == 0 and "saved default v2 (id 2): valid, tests pass" in r.output, r.output
    r = cli("scripts", "diff", "1", "2")
    assert "+    say: Halo dari terminal." in r.output
    assert cli("scripts", "show", "2").output == edited(new="Halo dari terminal.")
    r = cli("scripts", "publish", "2")
    assert r.exit_code == 0 and "v2 (id 2) is live" in r.output
    (tmp_path / "bad.yaml").write_text("a: &a [*a]\n", encoding="utf-8")
    r = cli("scripts", "push", str(tmp_path / "bad.yaml"))
    assert r.exit_code == 0 and "INVALID" in r.output and "contains it" in r.output
    r = cli("scripts", "publish", "3")
    assert r.exit_code == 3 and "belum valid" in r.output
    r = cli("scripts", "push", str(tmp_path / "new.yaml"), "--base", "1")
    assert r.exit_code == 3 and "conflict" in r.output
    r = cli("scripts", "rollback")
    assert r.exit_code == 0 and "v1 (id 1) is live again" in r.output
    r = cli("scripts", "list")
    assert "L v1" in r.output and "retired" in r.output
    assert YAML  # the packaged script was the import
