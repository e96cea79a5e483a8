"""`ivr desk phone USERNAME EXTENSION` / `ivr desk phones`: which phone each agent answers on
(queue member ``PJSIP/<extension>``, member name = username), for the live desk's screen pop,
queue login and callbacks. Changes are written to the access log as ``cli:<OS user>``."""

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
        config: Optional[Path] = ConfigOpt,
    ) -> None:
        """Say which phone USERNAME answers on (PJSIP/EXTENSION)."""
        settings = _settings(config)
        _migrate(settings)

        async def go(store: Store) -> DeskAgent:
            agent = await store.desk.map_agent(username, extension)
            await store.audit.record(_cli_actor(), "admin", "map_agent_phone", "agent", username,
                                     detail=agent.interface)
            return agent

        agent = _run(settings, go)
        typer.echo(f"{agent.username} answers on {agent.interface}")

    @desk.command("phones")
    def desk_phones(config: Optional[Path] = ConfigOpt) -> None:
        """List agents and their phones."""
        settings = _settings(config)
        _migrate(settings)

        async def go(store: Store) -> list[DeskAgent]:
            return await store.desk.agents()

        for a in _run(settings, go):
            typer.echo(f"{a.username}\t{a.interface}")
