"""The `ivr` command line: one typer app, one module per command group.

Each module under `ivr/cli/` defines `register(app: typer.Typer) -> None`; modules are
imported lazily here so that a broken optional dependency in one group never takes the
whole CLI down.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="ivr",
    help="Voice hotline for Indonesian public services.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_GROUPS = ("dialog_cmds", "asr_cmds", "tts_cmds", "store_cmds", "call_cmds", "analytics_cmds")


def _register_all() -> None:
    for name in _GROUPS:
        try:
            module = importlib.import_module(f"ivr.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"ivr.cli.{name}":
                continue  # group not written yet
            raise
        module.register(app)


_register_all()


def main() -> None:
    app()
