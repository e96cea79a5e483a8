"""The `ivr` command line: one typer app, one module per command group.

Each module under `ivr/cli/` defines `register(app: typer.Typer) -> None`; the commands import
what they use when they run (speech models, the web app), so `ivr --help` stays quick.
"""

from __future__ import annotations

import typer

from ivr.cli import (analytics_cmds, asr_cmds, call_cmds, desk_cmds, dialog_cmds, script_cmds, store_cmds,
                     tts_cmds, users_cmds)

app = typer.Typer(
    name="ivr",
    help="Voice hotline for Indonesian public services.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _group in (dialog_cmds, asr_cmds, tts_cmds, store_cmds, call_cmds, analytics_cmds, users_cmds, desk_cmds,
               script_cmds):
    _group.register(app)


def main() -> None:
    app()
