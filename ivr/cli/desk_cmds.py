"""`ivr desk phone USERNAME EXTENSION [--queue Q ...] [--interface I]` / `ivr desk unphone
USERNAME` / `ivr desk phones`: which phone each agent answers on (queue member
``PJSIP/<extension>`` unless another interface is given, member name = username) and the queues
it logs in to, for the live desk's screen pop, queue login and callbacks (admins also have the
page /admin/desk-phones). Changes are written to the access log as ``cli:<OS user>``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from ivr.cli.store_cmds import ConfigOpt, _cli_actor, _migrate, _run, _settings

if TYPE_CHECKING:
    from ivr.storage import Store
    from ivr.storage.desk import DeskAgent


def register(app: typer.Typer) -> None:
    desk = typer.Typer(help="The live desk: agents' phones.", no_args_is_help=True)
    app.add_typer(desk, name="desk")

    @desk.command("phone")
    def desk_phone(
        username: str = typer.Argument(..., help="The agent's account name"),
        extension: str = typer.Argument(..., help="The phone's PJSIP endpoint, e.g. agent1"),
        queue: Optional[list[str]] = typer.Option(None, "--queue", help="A queue the phone logs in to "
                                                  "(repeat; none: the configured agent_queues)"),
        interface: Optional[str] = typer.Option(None, help="The queue member interface, if not PJSIP/EXTENSION"),
        config: Optional[Path] = ConfigOpt,
    ) -> None:
        """Say which phone USERNAME answers on (PJSIP/EXTENSION) and its queues."""
        settings = _settings(config)
        _migrate(settings)

        async def go(store: Store) -> DeskAgent:
            agent = await store.desk.map_agent(username, extension, interface=interface, queues=queue or ())
            await store.audit.record(_cli_actor(), "admin", "map_agent_phone", "agent", username,
                                     detail=f"{agent.interface} queues={','.join(agent.queues) or '-'}")
            return agent

        agent = _run(settings, go)
        typer.echo(f"{agent.username} answers on {agent.interface}"
                   + (f" (queues: {', '.join(agent.queues)})" if agent.queues else ""))

    @desk.command("unphone")
    def desk_unphone(username: str = typer.Argument(..., help="The agent's account name"),
                     config: Optional[Path] = ConfigOpt) -> None:
        """Forget USERNAME's phone."""
        settings = _settings(config)
        _migrate(settings)

        async def go(store: Store) -> bool:
            before = await store.desk.agent(username)
            if before is None or not await store.desk.unmap_agent(username):
                return False
            await store.audit.record(_cli_actor(), "admin", "remove_agent_phone", "agent", username,
                                     detail=before.interface)
            return True

        if not _run(settings, go):
            typer.echo(f"{username} has no phone", err=True)
            raise typer.Exit(1)
        typer.echo(f"{username}'s phone removed")

    @desk.command("phones")
    def desk_phones(config: Optional[Path] = ConfigOpt) -> None:
        """List agents and their phones."""
        settings = _settings(config)
        _migrate(settings)

        async def go(store: Store) -> list[DeskAgent]:
            return await store.desk.agents()

        for a in _run(settings, go):
            typer.echo(f"{a.username}\t{a.interface}\t{','.join(a.queues) or '(agent_queues)'}")
