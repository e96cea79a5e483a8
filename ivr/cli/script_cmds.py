"""`ivr scripts list|show|diff|push|publish|rollback`: dialog script versions in the database
(the same as the admin's script pages). Running `ivr serve` processes pick up a publish or a
rollback within a second or two."""

from __future__ import annotations

import difflib
import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from ivr.cli.store_cmds import ConfigOpt, _run, _settings

if TYPE_CHECKING:
    from ivr.config.settings import Settings
    from ivr.storage import Store

scripts_app = typer.Typer(help="Dialog script versions: list, show, diff, push, publish, roll back.",
                          no_args_is_help=True)

ScriptOpt = typer.Option(None, "--script", "-s", help="Script name (default: the configured script's file stem).")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def _key(config: Optional[Path], script: Optional[str]) -> tuple[Settings, str]:
    settings = _settings(config)
    return settings, script or settings.script_path().stem


async def _ensure(store: Store, settings: Settings, key: str) -> None:
    """The schema is current and the configured script file is version 1 (as at first start)."""
    from dialogs.testcases import default_cases_path

    await store.amigrate()
    path = settings.script_path()
    if path.stem == key and path.is_file():
        cases = default_cases_path(path)
        await store.scripts.import_file(key, path.read_text(encoding="utf-8"),
                                        cases.read_text(encoding="utf-8") if cases.is_file() else None)


@scripts_app.command("list")
def list_versions(script: Optional[str] = ScriptOpt, limit: int = typer.Option(20, help="How many, newest first."),
                  offset: int = typer.Option(0), config: Optional[Path] = ConfigOpt) -> None:
    """Versions of a script, newest first (L = live)."""
    settings, key = _key(config, script)

    async def go(store: Store) -> None:
        await _ensure(store, settings, key)
        rows, total = await store.scripts.list(key, offset=offset, limit=limit)
        live = await store.scripts.live(key)
        typer.echo(f"{key}: {total} version(s)")
        for v in rows:
            mark = "L" if live is not None and live.version_id == v.id else " "
            checks = ("valid" if v.valid else "INVALID") + (", tests ok" if v.tests_passed else ", tests FAIL")
            typer.echo(f"{mark} v{v.number:<4} id={v.id:<5} {v.status:9} {v.created_at:%Y-%m-%d %H:%M} "
                       f"{v.author:20} {checks:22} {v.comment or ''}")
    _run(settings, go)


@scripts_app.command("show")
def show(version_id: int = typer.Argument(..., help="Version id."), tests: bool = typer.Option(False, "--tests"),
         config: Optional[Path] = ConfigOpt) -> None:
    """Print a version's YAML (or its test cases)."""
    settings = _settings(config)

    async def go(store: Store) -> None:
        v = await store.scripts.get(version_id)
        typer.echo((v.tests_text or "") if tests else v.yaml_text, nl=False)
    _run(settings, go)


@scripts_app.command("diff")
def diff(a: int = typer.Argument(...), b: int = typer.Argument(...), config: Optional[Path] = ConfigOpt) -> None:
    """Unified diff between two versions."""
    settings = _settings(config)

    async def go(store: Store) -> None:
        va, vb = await store.scripts.get(a), await store.scripts.get(b)
        for line in difflib.unified_diff(va.yaml_text.splitlines(keepends=True), vb.yaml_text.splitlines(keepends=True),
                                         f"v{va.number}", f"v{vb.number}"):
            typer.echo(line, nl=False)
    _run(settings, go)


@scripts_app.command("push")
def push(file: Path = typer.Argument(..., exists=True, dir_okay=False), script: Optional[str] = ScriptOpt,
         comment: str = typer.Option("", "--comment", "-m"),
         base: Optional[int] = typer.Option(None, help="Version it was edited from (default: the newest)."),
         tests_file: Optional[Path] = typer.Option(None, "--tests", help="Test cases (default: FILE's .tests.yaml "
                                                   "if present, else the base version's)."),
         force: bool = typer.Option(False, help="Save even if a newer version was saved from the same base."),
         config: Optional[Path] = ConfigOpt) -> None:
    """Save FILE as a new draft version (validated and tested; publish it with `ivr scripts publish`)."""
    from dialogs.testcases import default_cases_path
    from ivr.storage.scripts import ScriptConflict

    settings, key = _key(config, script)
    text = file.read_text(encoding="utf-8")
    tf = tests_file or default_cases_path(file)
    tests = tf.read_text(encoding="utf-8") if tf.is_file() else None

    async def go(store: Store) -> None:
        await _ensure(store, settings, key)
        base_id = base
        if base_id is None:
            rows, _ = await store.scripts.list(key, limit=1)
            base_id = rows[0].id if rows else None
        try:
            v = await store.scripts.save_draft(key, text, base_id=base_id, author=_actor(), comment=comment,
                                               tests_text=tests, force=force)
        except ScriptConflict as exc:
            typer.echo(f"conflict: {exc} (use --base {exc.newer.id} or --force)", err=True)
            raise typer.Exit(3) from None
        typer.echo(f"saved {key} v{v.number} (id {v.id}): "
                   f"{'valid' if v.valid else 'INVALID'}, {'tests pass' if v.tests_passed else 'tests FAIL'}")
        for issue in (v.validation or {}).get("issues", [])[:20]:
            typer.echo(f"  line {issue.get('line') or '?'}: {issue.get('path') or ''}: {issue.get('detail')}")
        for case in (v.test_result or {}).get("cases", []):
            if not case["passed"]:
                typer.echo(f"  test {case['name']!r}: {case['failures'][0]}")
    _run(settings, go)


@scripts_app.command("publish")
def publish(version_id: int = typer.Argument(...), config: Optional[Path] = ConfigOpt) -> None:
    """Make a version live (it must validate and pass its test cases)."""
    from ivr.storage.scripts import ScriptNotPublishable

    settings = _settings(config)

    async def go(store: Store) -> None:
        try:
            live = await store.scripts.publish(version_id, actor=_actor(), role="admin")
        except ScriptNotPublishable as exc:
            typer.echo("not published: " + " ".join(exc.reasons), err=True)
            raise typer.Exit(3) from None
        typer.echo(f"{live.script} v{live.number} (id {live.version_id}) is live (generation {live.generation})")
    _run(settings, go)


@scripts_app.command("rollback")
def rollback(script: Optional[str] = ScriptOpt,
             to: Optional[int] = typer.Option(None, "--to", help="Version id (default: the one live before)."),
             config: Optional[Path] = ConfigOpt) -> None:
    """Go back to an earlier version in one step."""
    from ivr.storage.scripts import ScriptNotPublishable

    settings, key = _key(config, script)

    async def go(store: Store) -> None:
        try:
            live = await store.scripts.rollback(key, actor=_actor(), role="admin", to_id=to)
        except ScriptNotPublishable as exc:
            typer.echo("not rolled back: " + " ".join(exc.reasons), err=True)
            raise typer.Exit(3) from None
        typer.echo(f"{live.script} v{live.number} (id {live.version_id}) is live again")
    _run(settings, go)


def register(app: typer.Typer) -> None:
    app.add_typer(scripts_app, name="scripts")
