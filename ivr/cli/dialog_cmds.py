"""`ivr validate`, `ivr chat`, `ivr nlu`, `ivr test-script`: dialog scripts from the terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

ScriptOpt = typer.Option(None, "--script", "-s", help="Dialog script (default: the built-in one).")


def _load(path: Optional[Path], err: Console):
    from dialogs import ScriptError, default_script_path, load_script

    try:
        return load_script(path or default_script_path())
    except ScriptError as exc:
        _print_issues(exc, err)
        raise typer.Exit(1) from None


def _print_issues(exc, err: Console) -> None:
    err.print(f"[bold red]{exc.source}[/]: {len(exc.issues)} error(s)", highlight=False)
    for issue in exc.issues:
        where = f"line {issue.line}" if issue.line else "-"
        err.print(f"  [yellow]{where:>9}[/]  [cyan]{issue.path or '<script>'}[/]: {issue.message}",
                  highlight=False, markup=True, soft_wrap=True)


def validate(
    script: Optional[Path] = typer.Argument(None, help="YAML script to check."),
    schema: bool = typer.Option(False, "--schema", help="Print the script JSON schema (for editors) and exit."),
) -> None:
    """Check a dialog script: schema, transitions, reachability, prompt variables."""
    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    if schema:
        from dialogs.schema import SCHEMA

        print(json.dumps(SCHEMA, indent=2))
        return
    if script is None:
        err.print("[red]give a script to validate[/] (or --schema)")
        raise typer.Exit(2)
    sc = _load(script, err)
    listening = len(sc.listening_states())
    out.print(f"[green]OK[/] {script}: '{sc.name}', {len(sc.states)} states ({listening} listening), "
              f"{len(sc.intents)} intents, {len(sc.static_prompts())} static prompts", highlight=False)


def nlu(
    text: Optional[str] = typer.Argument(None, help="Utterance; without it, one per line from stdin."),
    script: Optional[Path] = ScriptOpt,
    state: Optional[str] = typer.Option(None, "--state", help="Interpret as an answer in this state."),
    audio: Optional[list[Path]] = typer.Option(None, "--audio", help="Audio file(s) to recognise."),
) -> None:
    """Intent, confidence and slots of an utterance as JSON ({"intent", "confidence", "slots"})."""
    err = Console(stderr=True, soft_wrap=True)
    if audio:
        from ivr.speech_nlu import nlu_audio  # lazy: speech models are heavy

        for path in audio:
            if not path.is_file():
                err.print(f"[red]no such audio file:[/] {path}")
                raise typer.Exit(1)
        for row in nlu_audio(list(audio), script, state):
            print(json.dumps(row, ensure_ascii=False), flush=True)
        return
    from dialogs.nlu import understand

    sc = _load(script, err)
    if state is not None and state not in sc.listening_states():
        err.print(f"[red]state {state!r} does not exist or does not listen[/]; listening states: "
                  + ", ".join(sc.listening_states()), highlight=False)
        raise typer.Exit(1)
    if text is not None:
        print(json.dumps(understand(sc, text, state), ensure_ascii=False))
        return
    for line in sys.stdin:
        line = line.rstrip("\n")
        print(json.dumps(understand(sc, line, state), ensure_ascii=False), flush=True)


def test_script(
    script: Path = typer.Argument(..., help="YAML script whose test cases to run."),
    cases: Optional[Path] = typer.Option(None, "--cases", help="Test cases (default: <script>.tests.yaml)."),
) -> None:
    """Run a script's test cases (utterance sequences with expected states and actions)."""
    from dialogs import ScriptError
    from dialogs.testcases import default_cases_path, load_cases, run_cases

    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    sc = _load(script, err)
    path = cases or default_cases_path(script)
    try:
        data = load_cases(path)
    except ScriptError as exc:
        _print_issues(exc, err)
        raise typer.Exit(1) from None
    results = run_cases(sc, data)
    failed = 0
    for r in results:
        if r.passed:
            out.print(f"[green]PASS[/] {r.name}", highlight=False)
        else:
            failed += 1
            out.print(f"[red]FAIL[/] {r.name}", highlight=False)
            for f in r.failures:
                out.print(f"       {f}", highlight=False, markup=False)
    out.print(f"{len(results) - failed} passed, {failed} failed", highlight=False)
    if failed:
        raise typer.Exit(1)


_CHAT_HELP = ("Type what the caller says. Commands: /press 123  /silence  /fail no_agents|closed_hours|error"
              "  /hangup  /quit")


def chat(
    script: Optional[Path] = ScriptOpt,
    caller: str = typer.Option("081234567890", "--caller", help="Caller id given to the script."),
    confidence: float = typer.Option(1.0, "--confidence", help="Recognition confidence of typed text."),
) -> None:
    """A text conversation with a script in the terminal (state, intent and confidence shown)."""
    import datetime as dt

    from dialogs import (CallStarted, CreateTicket, DialogEngine, EndCall, Hangup, Heard, Listen,
                         LookupTicket, NoInput, Pressed, Say, TicketCreated, TicketStatus, Transfer,
                         TransferFailed)

    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    sc = _load(script, err)
    engine = DialogEngine(sc)
    tickets: dict[str, str] = {}
    out.print(f"[dim]{_CHAT_HELP}[/]")

    def show(actions) -> list:
        follow = []
        for a in actions:
            if isinstance(a, Say):
                out.print(f"[bold green]IVR:[/] {a.text}", highlight=False)
            elif isinstance(a, Listen):
                keys = " ".join(f"{k}={v}" for k, v in a.dtmf.items())
                out.print(f"[dim]  listening ({a.kind}) in {a.state}; keys: {keys or '-'}[/]", highlight=False)
            elif isinstance(a, Transfer):
                out.print(f"[magenta]  -> transfer to queue '{a.queue}' ({a.reason}). "
                          f"Type /fail REASON to simulate a failed transfer.[/]", highlight=False)
            elif isinstance(a, CreateTicket):
                tid = str(100001 + len(tickets))
                tickets[tid] = "open"
                out.print(f"[magenta]  -> ticket {a.kind} created: {tid}[/]", highlight=False)
                follow.append(TicketCreated(tid))
            elif isinstance(a, LookupTicket):
                status = tickets.get(a.ticket_id)
                out.print(f"[magenta]  -> lookup {a.ticket_id}: {status}[/]", highlight=False)
                follow.append(TicketStatus(a.ticket_id, status, dt.date.today().isoformat() if status else None))
            elif isinstance(a, EndCall):
                out.print(f"[magenta]  -> call ended ({a.reason})[/]", highlight=False)
        return follow

    def run(event) -> None:
        pending = [event]
        while pending:
            follow = show(engine.handle(pending.pop(0)))
            pending.extend(follow)
        conf = engine.last_confidence
        out.print(f"[dim]  state={engine.state} phase={engine.phase} intent={engine.last_intent} "
                  f"confidence={conf if conf is not None else '-'}[/]", highlight=False)

    run(CallStarted(caller_number=caller, call_id="chat", today=dt.date.today().isoformat()))
    while not engine.ended:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            out.print()
            break
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        if line == "/help":
            out.print(_CHAT_HELP)
        elif line.startswith("/press"):
            run(Pressed(line[len("/press"):].strip()))
        elif line == "/silence":
            run(NoInput())
        elif line.startswith("/fail"):
            run(TransferFailed(line[len("/fail"):].strip() or "no_agents"))
        elif line == "/hangup":
            run(Hangup())
        elif line.startswith("/"):
            out.print(f"[red]unknown command[/] {line}. {_CHAT_HELP}", highlight=False)
        elif line.isdigit() or set(line) <= set("0123456789*#"):
            run(Pressed(line))
        else:
            run(Heard(line, confidence))


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("chat")(chat)
    app.command("nlu")(nlu)
    app.command("test-script")(test_script)
