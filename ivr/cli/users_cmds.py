"""`ivr users add|passwd|disable|enable|list|token`: staff accounts from the server's shell.

Passwords are asked twice without echo, or read from standard input with --password-stdin
(one line, for scripts). Every change is written to the access log as ``cli:<OS user>``."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from ivr.cli.store_cmds import ConfigOpt, _cli_actor, _migrate, _run, _settings

if TYPE_CHECKING:
    from ivr.config.settings import Settings
    from ivr.storage import Account, Store


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first: str = typer.prompt("Kata sandi", hide_input=True)
    second: str = typer.prompt("Ulangi kata sandi", hide_input=True)
    if first != second:
        typer.echo("error: the two passwords differ", err=True)
        raise typer.Exit(2)
    return first


def _change(settings: Settings, action: str, change: Callable[[Store], Awaitable[Account]]) -> Account:
    """Apply one change to an account and write it to the access log as the shell's user."""

    async def go(store: Store) -> Account:
        account = await change(store)
        await store.audit.record(_cli_actor(), "admin", action, "staff", account.username)
        return account

    return _run(settings, go)


def register(app: typer.Typer) -> None:
    users = typer.Typer(help="Staff accounts: admin, supervisor, agent.", no_args_is_help=True)
    app.add_typer(users, name="users")

    @users.command("add")
    def users_add(
        username: str = typer.Argument(..., help="Login name: lower-case letters, digits, . _ -"),
        role: str = typer.Option("agent", "--role", "-r", help="admin | supervisor | agent"),
        name: Optional[str] = typer.Option(None, "--name", help="Full name shown to colleagues."),
        password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
        config: Optional[Path] = ConfigOpt,
    ) -> None:
        """Create an account (asks for its password)."""
        settings = _settings(config)
        _migrate(settings)
        password = _password(password_stdin)

        async def go(store: Store) -> Account:
            account = await store.accounts.create(username, role, password, display_name=name)
            await store.audit.record(_cli_actor(), "admin", "create_account", "staff", account.username,
                                     detail=f"role={account.role}")
            return account

        account = _run(settings, go)
        typer.echo(f"created {account.role} account {account.username!r}; log in at /login")

    @users.command("passwd")
    def users_passwd(
        username: str = typer.Argument(...),
        password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
        config: Optional[Path] = ConfigOpt,
    ) -> None:
        """Set a new password (the account's sessions end)."""
        settings = _settings(config)
        _migrate(settings)
        password = _password(password_stdin)
        account = _change(settings, "reset_password",
                          lambda store: store.accounts.set_password(username, password))
        typer.echo(f"password of {account.username!r} changed; its sessions ended")

    @users.command("disable")
    def users_disable(username: str = typer.Argument(...), config: Optional[Path] = ConfigOpt) -> None:
        """Disable an account: it cannot log in, its sessions end, its API tokens are revoked."""
        settings = _settings(config)
        _migrate(settings)
        account = _change(settings, "disable_account", lambda store: store.accounts.set_disabled(username, True))
        typer.echo(f"account {account.username!r} disabled")

    @users.command("enable")
    def users_enable(username: str = typer.Argument(...), config: Optional[Path] = ConfigOpt) -> None:
        """Enable a disabled account again."""
        settings = _settings(config)
        _migrate(settings)
        account = _change(settings, "enable_account", lambda store: store.accounts.set_disabled(username, False))
        typer.echo(f"account {account.username!r} enabled")

    @users.command("list")
    def users_list(config: Optional[Path] = ConfigOpt) -> None:
        """List the accounts."""
        settings = _settings(config)
        _migrate(settings)

        async def go(store: Store) -> list[Account]:
            return await store.accounts.all()

        rows = _run(settings, go)
        if not rows:
            typer.echo("no accounts yet: ivr users add NAME --role admin")
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("Username", "Role", "Name", "State", "Last login (UTC)")
        for a in rows:
            table.add_row(a.username, a.role, a.display_name or "", "disabled" if a.disabled else "active",
                          a.last_login_at.strftime("%Y-%m-%d %H:%M") if a.last_login_at else "-")
        Console().print(table)

    @users.command("token")
    def users_token(
        username: str = typer.Argument(...),
        label: str = typer.Option("cli", "--label", help="What the token is for."),
        config: Optional[Path] = ConfigOpt,
    ) -> None:
        """Create a personal API token for an account (printed once, stored hashed)."""
        settings = _settings(config)
        _migrate(settings)
        from ivr.storage import AccountError

        async def go(store: Store) -> str:
            account = await store.accounts.get(username)
            if account is None:
                raise AccountError(f"Akun {username!r} tidak ditemukan.")
            secret, token = await store.accounts.create_token(account.id, label)
            await store.audit.record(_cli_actor(), "admin", "create_api_token", "staff", account.username,
                                     detail=f"token={token.prefix}")
            return secret

        typer.echo(_run(settings, go))
