"""`ivr tickets list|show`, `ivr purge`, `ivr db upgrade|current|replay|keygen`."""

from __future__ import annotations

import asyncio
import getpass
import json
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Optional, TypeVar

import typer

if TYPE_CHECKING:
    from ivr.config.settings import Settings
    from ivr.storage import Store, Ticket

T = TypeVar("T")

ConfigOpt = typer.Option(None, "--config", "-c", help="TOML/YAML config file (else IVR_CONFIG_FILE).",
                         exists=False, dir_okay=False)


def _settings(config: Optional[Path]) -> Settings:
    from ivr.config.settings import SettingsError, load_settings

    try:
        return load_settings(config_file=config)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _run(settings: Settings, fn: Callable[[Store], Awaitable[T]]) -> T:
    """Open the store, run ``await fn(store)``, close it; clear messages on DB trouble."""
    from ivr.storage import Store, StoreError, StoreUnavailable

    async def main() -> T:
        store = Store.from_settings(settings)
        try:
            return await fn(store)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except StoreUnavailable:
        typer.echo("error: the database is unavailable", err=True)
        raise typer.Exit(1) from None
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _migrate(settings: Settings) -> None:
    from sqlalchemy.exc import OperationalError

    from ivr.storage import Store

    store = Store.from_settings(settings)
    try:
        store.migrate()
    except OperationalError as exc:
        typer.echo(f"error: cannot reach the database: {exc.orig}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.database.engine.dispose()


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def register(app: typer.Typer) -> None:
    tickets = typer.Typer(help="Complaint and callback tickets.", no_args_is_help=True)
    db = typer.Typer(help="Database schema and the local outbox.", no_args_is_help=True)
    app.add_typer(tickets, name="tickets")
    app.add_typer(db, name="db")

    @tickets.command("list")
    def tickets_list(
        status: Optional[str] = typer.Option(None, help="open|in_progress|resolved|closed|rejected"),
        kind: Optional[str] = typer.Option(None, help="complaint|callback"),
        limit: int = typer.Option(50, min=1, max=1000),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
        config: Optional[Path] = ConfigOpt,
    ) -> None:
        """List tickets, newest first (personal data masked)."""
        settings = _settings(config)
        _migrate(settings)

        async def go(store: Store) -> list[Ticket]:
            rows = await store.tickets.query(status=status, kind=kind, limit=limit)
            await store.audit.record(_cli_actor(), "admin", "list_tickets", "ticket", None, detail="cli")
            return rows

        rows = _run(settings, go)
        if as_json:
            for t in rows:
                typer.echo(json.dumps({k: v for k, v in t.to_json().items() if k != "history"}, ensure_ascii=False))
            return
        from rich.console import Console
        from rich.table import Column, Table

        # the written form (2611-00042-7) is the one people read: never wrapped or cut
        table = Table(Column("Ticket", no_wrap=True, min_width=12), "Kind", "Status", "Category", "Created (UTC)",
                      "SLA due")
        for t in rows:
            table.add_row(t.display_id, t.kind, t.status, t.category or "-",
                          t.created_at.strftime("%Y-%m-%d %H:%M"), t.sla_due.isoformat())
        Console().print(table)
        if not rows:
            typer.echo("no tickets")

    @tickets.command("show")
    def tickets_show(
        ticket_id: str = typer.Argument(..., help="Ticket number, written 2611-00042-7 or keyed 2611000427"),
        reveal: bool = typer.Option(False, "--reveal", help="Show personal data in clear (encrypt mode; audited)."),
        as_json: bool = typer.Option(False, "--json"),
        config: Optional[Path] = ConfigOpt,
    ) -> None:
        """Show one ticket with its status history."""
        settings = _settings(config)
        _migrate(settings)

        async def go(store: Store) -> Ticket | None:
            t = await store.tickets.get(ticket_id, reveal=reveal)
            shown = bool(t and t.revealed)
            await store.audit.record(_cli_actor(), "admin", "view_ticket", "ticket",
                              t.public_id if t else ticket_id[:32], revealed=shown,
                              detail="cli" if t else "cli not found")
            return t

        t = _run(settings, go)
        if t is None:
            typer.echo(f"error: no ticket {ticket_id} (check the number)", err=True)
            raise typer.Exit(1)
        if as_json:
            typer.echo(json.dumps(t.to_json(), ensure_ascii=False))
            return
        fields = [("Ticket", t.display_id), ("Kind", t.kind), ("Status", t.status), ("Category", t.category),
                  ("Location", t.location), ("Description", t.description), ("Reporter", t.reporter_name),
                  ("NIK", t.reporter_nik), ("Phone", t.reporter_phone),
                  ("Confidential", "yes" if t.confidential else "no"), ("Call", t.call_id),
                  ("Created", t.created_at.isoformat(timespec="seconds")), ("SLA due", t.sla_due.isoformat())]
        if t.pending:
            fields.append(("Note", "only in the local outbox (database down)"))
        for k, v in fields:
            typer.echo(f"{k + ':':14}{v if v not in (None, '') else '-'}")
        typer.echo("History:")
        for e in t.history:
            typer.echo(f"  {e.at.isoformat(timespec='seconds')}  {e.from_status or '-'} -> {e.to_status}"
                       f"{'  ' + e.note if e.note else ''}{'  by ' + e.actor if e.actor else ''}")

    @app.command("purge")
    def purge(
        days: Optional[int] = typer.Option(None, "--days", min=0,
                                           help="Delete older than N days (default: IVR_RETENTION_DAYS)."),
        config: Optional[Path] = ConfigOpt,
    ) -> None:
        """Delete transcripts, hand-off contexts and recordings older than the retention period."""
        settings = _settings(config)
        _migrate(settings)
        n = settings.retention_days if days is None else days
        res = _run(settings, lambda store: store.purge_older_than(n))
        typer.echo(f"purged data older than {n} days (before {res.cutoff.isoformat(timespec='seconds')}): "
                   f"{res.turns} transcript turns, {res.contexts} hand-off contexts, {res.calls} calls, "
                   f"{res.files} recordings")
        if res.files_failed:
            typer.echo(f"warning: could not delete {len(res.files_failed)} file(s)", err=True)
            raise typer.Exit(1)

    @db.command("upgrade")
    def db_upgrade(config: Optional[Path] = ConfigOpt) -> None:
        """Create or upgrade the database schema (also done by `ivr serve` on start)."""
        settings = _settings(config)
        from ivr.config.settings import hide_url_password

        _migrate(settings)
        from ivr.storage import Store

        store = Store.from_settings(settings)
        try:
            rev = store.current_revision()
        finally:
            store.database.engine.dispose()
        typer.echo(f"database {hide_url_password(settings.database_url or '')} at revision {rev}")

    @db.command("replay")
    def db_replay(config: Optional[Path] = ConfigOpt) -> None:
        """Write writes kept in the local outbox (database was down) into the database."""
        settings = _settings(config)
        _migrate(settings)

        async def go(store: Store) -> tuple[int, int, int]:
            before = store.outbox_backlog
            applied = await store.replay_outbox()
            return before, applied, store.outbox_backlog

        before, applied, left = _run(settings, go)
        typer.echo(f"outbox: {before} pending, {applied} applied, {left} left")
        if left:
            raise typer.Exit(1)

    @db.command("keygen")
    def db_keygen() -> None:
        """Print a fresh key for IVR_PII_KEY (keep it in a secret store, never in the repo)."""
        from cryptography.fernet import Fernet

        typer.echo(Fernet.generate_key().decode())
