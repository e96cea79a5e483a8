"""`ivr serve` (the hotline) and `ivr call STEP...` (a simulated call through the Asterisk peer)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

if TYPE_CHECKING:
    from ivr.config.settings import Settings
    from ivr.serve import ReadyInfo
    from ivr.simulation.simcall import SimCallReport
    from ivr.storage import Turn
    from telephony.peer import CallResult, Step

ConfigOpt = typer.Option(None, "--config", "-c", help="TOML/YAML config file (else IVR_CONFIG_FILE).",
                         dir_okay=False)


def _settings(config: Optional[Path], **overrides: Any) -> Settings:
    from ivr.config.settings import SettingsError, load_settings

    try:
        return load_settings(config_file=config, **overrides)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def serve(
    config: Optional[Path] = ConfigOpt,
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Where the hotline keeps its data (IVR_DATA_DIR)."),
    agi_port: Optional[int] = typer.Option(None, "--agi-port", help="FastAGI port (IVR_AGI_PORT, 4573)."),
    audiosocket_port: Optional[int] = typer.Option(None, "--audiosocket-port", help="AudioSocket port (IVR_AUDIOSOCKET_PORT, 9092)."),
    web_port: Optional[int] = typer.Option(None, "--web-port", help="Web port (IVR_WEB_PORT, 8080)."),
    media_mode: Optional[str] = typer.Option(None, "--media-mode", help="audiosocket (default) or agi."),
    script: Optional[Path] = typer.Option(None, "--script", help="Dialog script (default: the packaged one)."),
) -> None:
    """Run the hotline: FastAGI, AudioSocket and the web status page on 127.0.0.1.

    Stops on Ctrl-C / SIGTERM after live calls have finished (up to IVR_SHUTDOWN_GRACE_S)."""
    from ivr.config.logging import configure_logging

    settings = _settings(config, data_dir=data_dir, agi_port=agi_port, audiosocket_port=audiosocket_port,
                         web_port=web_port, media_mode=media_mode, script=script)
    configure_logging(settings.log_level, settings.log_format)
    from ivr.serve import ready_message, serve as run

    def ready(info: ReadyInfo) -> None:
        typer.echo(ready_message(info), err=True)

    try:
        asyncio.run(run(settings, ready=ready, exit_watchdog=True))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        pass
    except OSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def call(
    steps: list[str] = typer.Argument(..., help="FILE.wav (caller speech), dtmf:<keys>, wait:<seconds>, "
                                                "wait:prompt (until the hotline is quiet), hangup."),
    controller: Optional[str] = typer.Option(None, "--controller", help="host:port of a running hotline's FastAGI "
                                                                        "(default: an in-process one)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per event."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write what the caller heard to this WAV."),
    caller_id: str = typer.Option("081234567890", "--caller-id", help="Caller number the hotline sees."),
    realtime: bool = typer.Option(True, "--realtime/--fast", help="Caller side in real time, or 20x faster "
                                                                 "(the hotline still talks in real time)."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """A simulated call through the Asterisk peer; prints the conversation with timings.

    In-process, the hotline's own events show what it heard and decided (intent, confidence).

    With --controller only what Asterisk sees is known (AGI commands, variables, audio): no intents.

    (With --controller and a shared database, the hotline's transcript is shown too.)

    Exits 1 if no hotline took the call (nothing answered, it refused, or it played no audio)."""
    from ivr.simulation.simcall import StepError, parse_steps

    try:
        script = parse_steps(steps)
    except StepError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    from telephony.peer import Hangup

    if not script or not isinstance(script[-1], Hangup):
        script.append(Hangup())  # the call ends after the last step
    agi: tuple[str, int] | None = None
    if controller:
        host, sep, port = controller.rpartition(":")
        if not sep or not port.isdigit():
            typer.echo("error: --controller must be host:port, e.g. 127.0.0.1:4573", err=True)
            raise typer.Exit(2)
        agi = (host or "127.0.0.1", int(port))
    settings = _settings(config)
    from ivr.config.logging import configure_logging

    configure_logging("WARNING", settings.log_format)  # the conversation is the output here
    printer = _Printer(as_json, controller=agi is not None)
    try:
        report, turns = asyncio.run(_run_call(settings, script, agi, caller_id, 1.0 if realtime else 20.0, printer))
    except ConnectionRefusedError:
        typer.echo(f"error: no hotline answers at {controller}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    err = report.result.error or ""
    if report.result.ended_by in ("agi_failed", "") or "connect" in err.lower():
        where = controller or "the in-process hotline"
        typer.echo(f"error: no hotline answers at {where}: {err or report.result.ended_by}", err=True)
        raise typer.Exit(1)
    if output is not None:
        report.result.write_heard_wav(output)
    problem = _call_problem(report.result, controller or "the in-process hotline")
    printer.summary(report, turns, output, problem)
    if problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1)


def _call_problem(res: CallResult, where: str) -> str | None:
    """Why the call was not a call the hotline took, as the caller's side sees it; None if it was."""
    if res.ended_by == "timeout":
        return f"the call was still running after {res.duration:.0f} s and was dropped"
    if res.ended_by == "caller_hangup":
        return None  # the caller chose to end it (whatever was heard until then)
    if not res.commands:
        return (f"the hotline at {where} did not take the call: it ended the AGI session without a "
                f"single command after {res.duration:.1f} s (shutting down, or not a hotline at that address)")
    if res.heard_seconds == 0:
        return (f"the hotline at {where} ended the call after {res.duration:.1f} s without playing any audio "
                f"(ended by {res.ended_by}, AGISTATUS={res.agi_status})")
    return None


async def _run_call(settings: Settings, script: list[Step], agi: tuple[str, int] | None, caller_id: str,
                    speed: float, printer: _Printer) -> tuple[SimCallReport, list[Turn]]:
    from ivr.simulation.simcall import find_call_in_store, place_call

    if agi is not None:
        report = await place_call(script, agi=agi, caller_id=caller_id, speed=speed, on_event=printer.event)
        turns = await _turns_from_store(settings, report.result.call_id)
        return report, turns
    from ivr.calls.controller import Controller
    from ivr.serve import build_runtime

    printer.note("starting an in-process hotline (loading the speech models)...")
    rt, store = await build_runtime(settings, connect_ami=True)
    try:
        await rt.prerender()
        async with Controller(rt, agi_port=0, audiosocket_port=0) as ctl:
            report = await place_call(script, agi=ctl.agi_address, caller_id=caller_id, speed=speed, runtime=rt,
                                      on_event=printer.event)
        call = await find_call_in_store(store, report.result.call_id, tries=4)
        return report, list(call.turns) if call is not None else []
    finally:
        await rt.aclose()
        await store.close()


async def _turns_from_store(settings: Settings, channel_id: str) -> list[Turn]:
    """With a remote hotline: its turn records, when this CLI shares its database."""
    from ivr.simulation.simcall import find_call_in_store
    from ivr.storage import Store

    try:
        store = Store.from_settings(settings)
    except Exception:
        return []
    try:
        call = await find_call_in_store(store, channel_id, tries=8)
        return list(call.turns) if call is not None else []
    except Exception:
        return []
    finally:
        await store.close()


_NO_INTENTS = ("intents: not visible from the caller's side (Asterisk sees only audio and AGI commands); "
               "run `ivr call` without --controller to see how the hotline took each turn")


class _Printer:
    def __init__(self, as_json: bool, *, controller: bool = False) -> None:
        self.as_json = as_json
        self.controller = controller  # only the caller's side (and maybe the hotline's records)

    def note(self, text: str) -> None:
        if not self.as_json:
            typer.echo(text, err=True)

    def event(self, ev: dict[str, Any]) -> None:
        if self.as_json:
            typer.echo(json.dumps(ev, ensure_ascii=False))
            sys.stdout.flush()
            return
        t = f"{ev['t']:7.2f}s"
        e = ev["event"]
        if e == "call_started":
            line = f"call started, caller id {ev.get('caller_id')}"
        elif e == "caller_says":
            line = f"caller speaks ({ev.get('seconds')} s of audio)"
        elif e == "caller_keys":
            line = f"caller presses {ev.get('digits')}"
        elif e == "caller_hangup":
            line = "caller hangs up"
        elif e == "hotline_audio":
            line = "hotline audio starts"
        elif e == "hotline_says":
            line = f"hotline: \"{ev.get('text')}\" ({ev.get('seconds')} s)"
        elif e == "hotline_heard":
            line = (f"hotline heard \"{ev.get('text')}\" -> intent {ev.get('intent')} "
                    f"(confidence {ev.get('confidence')}, recognition {ev.get('asr_ms')} ms)")
        elif e == "hotline_keys":
            line = f"hotline got keys {ev.get('digits')}"
        elif e == "no_input":
            line = f"hotline: no input in {ev.get('state')}"
        elif e == "reply":
            line = f"reply after {ev.get('reply_ms')} ms (end of caller speech/keys -> first audio)"
        elif e == "barge_in":
            line = f"prompt interrupted by the caller ({ev.get('by')})"
        elif e == "ticket":
            line = f"ticket {ev.get('display_id') or ev.get('ticket_id')} filed ({ev.get('kind')})"
        elif e == "transfer":
            line = f"call handed to queue {ev.get('queue')}"
        elif e == "transfer_failed":
            line = f"no transfer ({ev.get('reason')})"
        elif e == "hangup":
            line = f"hotline ends the call ({ev.get('reason')})"
        elif e == "call_ended":
            line = f"call ended: {ev.get('ended_by')} (AGISTATUS={ev.get('agi_status')})"
        else:
            line = json.dumps(ev, ensure_ascii=False)
        typer.echo(f"{t}  {line}")

    def _turn(self, t: Turn) -> dict[str, object]:
        row: dict[str, object] = {"who": t.who, "source": t.source, "text": t.text,
               "confidence": None if t.confidence is None else round(t.confidence, 3),
               "reply_ms": None if t.reply_ms is None else round(t.reply_ms, 1)}
        if not self.controller:
            row["intent"] = t.intent  # the recognizer's reading, beside its confidence
        return row

    def summary(self, report: SimCallReport, turns: list[Turn], output: Optional[Path],
                problem: str | None = None) -> None:
        res = report.result
        variables = {k: v for k, v in res.variables.items() if k.startswith("IVR_")}
        summary = {
            "event": "summary",
            "view": "caller_side" if self.controller else "in_process",
            "ended_by": res.ended_by,
            "duration_s": round(res.duration, 2),
            "heard_s": round(res.heard_seconds, 2),
            "variables": variables,
            "reply_ms": [round(x, 1) for x in report.replies_ms],
            "peer_latency_ms": report.peer_latencies_ms,
            "turns": [self._turn(t) for t in turns],
            "heard_wav": str(output) if output else None,
            "error": problem,
        }
        if self.as_json:
            typer.echo(json.dumps(summary, ensure_ascii=False))
            return
        if self.controller:
            if turns:
                typer.echo("conversation (from the hotline's records, shared database):")
                for t in turns:
                    who = "hotline" if t.who == "system" else "caller "
                    extra = ""
                    if t.who != "system" and t.source == "speech":
                        extra = "  [recognised" + (f", confidence {t.confidence:.2f}]" if t.confidence is not None
                                                   else "]")
                    extra += f"  [reply {t.reply_ms:.0f} ms]" if t.reply_ms is not None else ""
                    typer.echo(f"  {who}: {t.text}{extra}")
            elif res.commands:
                typer.echo("the hotline's records are not in this CLI's database: only the caller's side is shown")
            if res.commands:
                typer.echo(_NO_INTENTS)
        typer.echo(f"ended by {res.ended_by} after {res.duration:.1f} s; heard {res.heard_seconds:.1f} s of audio")
        if variables:
            typer.echo("channel variables: " + ", ".join(f"{k}={v}" for k, v in variables.items()))
        if report.peer_latencies_ms:
            typer.echo("caller's view, end of speech -> next audio (ms): "
                       + ", ".join(f"{x:.0f}" for x in report.peer_latencies_ms))
        if output:
            typer.echo(f"what the caller heard: {output}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("call")(call)
