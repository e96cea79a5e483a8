"""`ivr validate`, `ivr chat`, `ivr nlu`, `ivr test-script`: dialog scripts from the terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console

if TYPE_CHECKING:
    from dialogs import Script, ScriptError
    from dialogs.actions import Action
    from dialogs.events import Event

ScriptOpt = typer.Option(None, "--script", "-s",
                         help="Dialog script (default: the active one, IVR_SCRIPT or the packaged script).")


def active_script_path(path: Optional[Path], err: Console) -> Path:
    """``path``, else the script the hotline runs: the settings' script (IVR_SCRIPT, the config
    file) or the packaged default."""
    if path is not None:
        return path
    from ivr.config.settings import SettingsError, load_settings

    try:
        return load_settings().script_path()
    except SettingsError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False, markup=True)
        raise typer.Exit(2) from None


def _load(path: Optional[Path], err: Console) -> Script:
    from dialogs import ScriptError, load_script

    try:
        return load_script(active_script_path(path, err))
    except ScriptError as exc:
        _print_issues(exc, err)
        raise typer.Exit(1) from None


def _print_issues(exc: ScriptError, err: Console) -> None:
    err.print(f"[bold red]{exc.source}[/]: {len(exc.issues)} error(s)", highlight=False)
    for issue in exc.issues:
        where = f"line {issue.line}" if issue.line else "-"
        err.print(f"  [yellow]{where:>9}[/]  [cyan]{issue.path or '<script>'}[/]: {issue.message}",
                  highlight=False, markup=True, soft_wrap=True)


def validate(
    script: Optional[Path] = typer.Argument(None, help="YAML script to check (default: the active script, "
                                                       "IVR_SCRIPT or the packaged one)."),
    schema: bool = typer.Option(False, "--schema", help="Print the script JSON schema (for editors) and exit."),
) -> None:
    """Check a dialog script: schema, transitions, reachability, prompt variables."""
    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    if schema:
        from dialogs.schema import SCHEMA

        print(json.dumps(SCHEMA, indent=2))
        return
    path = active_script_path(script, err)
    sc = _load(path, err)
    listening = len(sc.listening_states())
    out.print(f"[green]OK[/] {path}: '{sc.name}', {len(sc.states)} states ({listening} listening), "
              f"{len(sc.intents)} intents, {len(sc.static_prompts())} static prompts", highlight=False)
    for w in sc.warnings:
        err.print(f"  [yellow]warning[/]  [cyan]{w.path or '<script>'}[/]: {w.message}", highlight=False)


def nlu(
    inputs: Optional[list[str]] = typer.Argument(
        None, metavar="TEXT_OR_FILE",
        help="Utterances, one JSON line each (quote each one); with --audio, audio files. "
             "Without any: one utterance per line from stdin."),
    script: Optional[Path] = ScriptOpt,
    state: Optional[str] = typer.Option(None, "--state", help="Interpret as an answer in this state."),
    audio: bool = typer.Option(False, "--audio", help="The arguments are audio files (ivr nlu --audio a.wav "
                                                      "b.wav ...): recognise each the way a call would."),
) -> None:
    """Intent, confidence and slots of an utterance as JSON ({"intent", "confidence", "slots"}).

    One JSON line per input, in order; with --audio also "file" and "text" (what was heard).

    An audio file that cannot be read gives {"file", "error"} and exit status 1."""
    err = Console(stderr=True, soft_wrap=True)
    items = list(inputs or [])
    if audio:
        if not items:
            err.print("[red]give the audio files after --audio[/] (ivr nlu --audio a.wav b.wav)")
            raise typer.Exit(2)
        files = [Path(x) for x in items]
        missing = [f for f in files if not f.is_file()]
        if missing:
            err.print("[red]no such audio file:[/] " + ", ".join(str(f) for f in missing), highlight=False)
            raise typer.Exit(1)
        _check_state(_load(script, err), state, err)
        from ivr.simulation.speech_nlu import nlu_audio  # lazy: speech models are heavy

        failed = 0
        for row in nlu_audio(files, script, state):
            failed += "error" in row
            print(json.dumps(row, ensure_ascii=False), flush=True)
        if failed:
            raise typer.Exit(1)
        return
    from dialogs.nlu import understand

    sc = _load(script, err)
    _check_state(sc, state, err)
    if items:
        for text in items:
            if text.lower().endswith((".wav", ".wave")) and Path(text).is_file():
                err.print(f"[yellow]note:[/] {text} is read as text; use --audio to recognise audio files",
                          highlight=False)
            print(json.dumps(understand(sc, text, state), ensure_ascii=False), flush=True)
        return
    for line in sys.stdin:
        line = line.rstrip("\n")
        print(json.dumps(understand(sc, line, state), ensure_ascii=False), flush=True)


def _check_state(sc: Script, state: Optional[str], err: Console) -> None:
    if state is not None and state not in sc.listening_states():
        err.print(f"[red]state {state!r} does not exist or does not listen[/]; listening states: "
                  + ", ".join(sc.listening_states()), highlight=False)
        raise typer.Exit(1)


def test_script(
    script: Optional[Path] = typer.Argument(None, help="YAML script whose test cases to run (default: the "
                                                       "active script, IVR_SCRIPT or the packaged one)."),
    cases: Optional[Path] = typer.Option(None, "--cases", help="Test cases (default: <script>.tests.yaml)."),
) -> None:
    """Run a script's test cases (utterance sequences with expected states and actions)."""
    from dialogs import ScriptError
    from dialogs.testcases import default_cases_path, load_cases, run_cases

    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    script = active_script_path(script, err)
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
    """A text conversation with a script in the terminal (state, intent and confidence shown).

    After each input, one line: the state that listened, that turn's intent and confidence, the outcome."""
    import datetime as dt

    from dialogs import (CallStarted, CreateTicket, DialogEngine, EndCall, Hangup, Heard, Listen,
                         LookupTicket, NoInput, Pressed, Say, TicketCreated, TicketStatus, Transfer,
                         TransferFailed)

    from ivr.storage.ticket_ids import format_ticket_id, make_ticket_id, parse_ticket_id, period_of

    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    sc = _load(script, err)
    engine = DialogEngine(sc)
    tickets: dict[str, str] = {}  # ticket number (10 digits) -> status, filed in this chat
    out.print(f"[dim]{_CHAT_HELP}[/]")

    def show(actions: list[Action]) -> list[Event]:
        follow: list[Event] = []
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
                tid = make_ticket_id(period_of(dt.datetime.now()), len(tickets) + 1)
                tickets[tid] = "open"
                out.print(f"[magenta]  -> ticket {a.kind} created: {format_ticket_id(tid)}[/]", highlight=False)
                follow.append(TicketCreated(format_ticket_id(tid)))
            elif isinstance(a, LookupTicket):
                key = parse_ticket_id(a.ticket_id)
                status = tickets.get(key) if key else None
                number = format_ticket_id(a.ticket_id)
                out.print(f"[magenta]  -> lookup {number}: {status or 'not found'}[/]", highlight=False)
                follow.append(TicketStatus(number, status, dt.date.today().isoformat() if status else None))
            elif isinstance(a, EndCall):
                out.print(f"[magenta]  -> call ended ({a.reason})[/]", highlight=False)
        return follow

    def run(event: Event) -> None:
        follow = show(engine.handle(event))
        turn = engine.last_turn  # how this very input was taken (before the follow-up answers)
        while follow:
            follow.extend(show(engine.handle(follow.pop(0))))
        now = f"state={engine.state} phase={engine.phase}"
        if turn is None:
            out.print(f"[dim]  {now}[/]", highlight=False)
            return
        conf = "-" if turn.confidence is None else f"{turn.confidence:.2f}"
        if turn.outcome == "denied":
            took = f"intent=- (the caller said no to {turn.intent})"
        elif turn.intent is not None or turn.confidence is None:
            took = f"intent={turn.intent or '-'} confidence={conf} ({turn.outcome})"
        elif turn.beyond is not None:
            took = f"intent=- ({turn.outcome}; told it is outside the services: topic {turn.beyond})"
        elif turn.candidate:
            took = f"intent=- ({turn.outcome}; best {turn.candidate} at {conf})"
        else:
            took = f"intent=- ({turn.outcome}; recognised with confidence {conf})"
        out.print(f"[dim]  turn in {turn.state}: {took}; now {now}[/]", highlight=False)

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
