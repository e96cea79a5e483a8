"""`ivr demo-data`, `ivr report` and `ivr analytics forecast|backtest|staffing|alerts|brief|stuck|topics`.

All of them read (or, for demo-data, write) the configured database; nothing they print holds a
NIK, a phone number or a name.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

if TYPE_CHECKING:
    from ivr.analytics.db import Source
    from ivr.config.settings import Settings
    from ivr.storage import Store

ConfigOpt = typer.Option(None, "--config", "-c", help="TOML/YAML config file (else IVR_CONFIG_FILE).",
                         exists=False, dir_okay=False)


def _settings(config: Optional[Path]) -> Settings:
    from ivr.config.settings import SettingsError, load_settings

    try:
        return load_settings(config_file=config)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _store(settings: Settings) -> Store:
    """A migrated store (its engine and settings feed analytics); exits 1 if unreachable."""
    from sqlalchemy.exc import OperationalError

    from ivr.storage import Store

    store = Store.from_settings(settings)
    try:
        store.migrate()
    except OperationalError as exc:
        typer.echo(f"error: cannot reach the database: {exc.orig}", err=True)
        raise typer.Exit(1) from None
    return store


def _source(settings: Settings) -> tuple[Store, Source]:
    from ivr.analytics.calendar import holiday_dates
    from ivr.analytics.db import Source

    store = _store(settings)
    today = datetime.now(store.tickets.tz).date()
    hol = frozenset(store.tickets.holidays) | holiday_dates(today - timedelta(days=800), today + timedelta(days=60))
    return store, Source(store.database.engine, store.tickets.tz, hol, store.tickets.sla_working_days, settings.hours())


def _day(text: Optional[str], name: str) -> Optional[date]:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        typer.echo(f"error: {name} must be a date like 2026-11-30", err=True)
        raise typer.Exit(2) from None


def _jsonable(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def demo_data(
    days: int = typer.Option(365, min=1, max=3660, help="Days of history."),
    seed: int = typer.Option(1, help="Same seed, same history."),
    calls_per_day: float = typer.Option(300.0, "--calls-per-day", min=1.0,
                                        help="Calls on an ordinary weekday before calendar effects "
                                             "(about 2700 gives a million calls a year)."),
    end: Optional[str] = typer.Option(None, help="Last day (YYYY-MM-DD); default yesterday."),
    incidents: bool = typer.Option(True, "--incidents/--no-incidents", help="Inject incidents (flood, PDAM...)."),
    replace: bool = typer.Option(False, "--replace", help="Delete earlier demo rows first (never real ones)."),
    truth: Optional[Path] = typer.Option(None, help="Where to write the incidents' ground truth (JSON); "
                                                     "default <data_dir>/demo-incidents.json"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Write a deterministic demo history (calls, turns, hand-offs, tickets) into the database."""
    from ivr.analytics.demo import DemoConfig, count_demo, delete_demo, generate_demo

    settings = _settings(config)
    store = _store(settings)
    try:
        last = _day(end, "--end") or (datetime.now(store.tickets.tz).date() - timedelta(days=1))
        existing = count_demo(store.database.engine)
        if existing and not replace:
            typer.echo(f"error: the database already holds {existing} demo calls; use --replace", err=True)
            raise typer.Exit(1)
        if existing:
            typer.echo(f"removed {delete_demo(store.database.engine)} demo calls")
        cfg = DemoConfig(start=last - timedelta(days=days - 1), days=days, seed=seed, calls_per_day=calls_per_day,
                         timezone=store.tickets.tz.key, incidents=incidents)

        def progress(done: int, total: int) -> None:
            print(f"\r{done}/{total} days", end="", file=sys.stderr, flush=True)

        res = generate_demo(store.database.engine, store.pii, cfg, progress=progress if sys.stderr.isatty() else None)
        path = truth or Path(settings.data_dir) / "demo-incidents.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"seed": seed, "start": cfg.start.isoformat(), "days": days,
                                    "calls_per_day": calls_per_day,
                                    "incidents": [i.to_json() for i in res.plan.incidents]},
                                   ensure_ascii=False, indent=1), "utf-8")
        typer.echo(f"{res.calls} calls, {res.turns} turns, {res.handoffs} hand-offs, {res.tickets} tickets "
                   f"({cfg.start} .. {cfg.end}) in {res.seconds:.1f} s; incidents: {path}")
    finally:
        store.database.engine.dispose()


def report(
    start: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD, local)."),
    end: str = typer.Option(..., "--to", help="Last day, inclusive."),
    fmt: str = typer.Option("html", "--format", help="html | pdf | csv"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="File to write; default ./laporan-FROM-TO.EXT"),
    rules: Optional[Path] = typer.Option(None, help="Brief rules YAML (default: the packaged ones)."),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """A report of the period (daily for one day, weekly for seven): HTML, PDF or CSV."""
    from ivr.analytics.brief import RuleError, load_rules
    from ivr.analytics.reports import FORMATS, build_report, render_csv, render_html, render_pdf

    if fmt not in FORMATS:
        typer.echo(f"error: --format must be one of {', '.join(FORMATS)}", err=True)
        raise typer.Exit(2)
    a, b = _day(start, "--from"), _day(end, "--to")
    assert a is not None and b is not None
    if b < a:
        typer.echo("error: --to is before --from", err=True)
        raise typer.Exit(2)
    try:
        loaded = load_rules(rules)
    except (RuleError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    settings = _settings(config)
    store, src = _source(settings)
    try:
        import asyncio

        from ivr.analytics.beyond import BeyondSpec
        from ivr.analytics.follow_ups import FollowUpSpec, LiveSpec

        live = LiveSpec(store, settings.script_path())

        async def specs() -> tuple[FollowUpSpec, BeyondSpec]:
            return await live.get(), await live.beyond()   # one parse of the live version

        spec, topics = asyncio.run(specs())
        rep = build_report(src, a, b, rules=loaded, follow_ups=spec, beyond=topics)
    finally:
        store.database.engine.dispose()
    path = out or Path(f"laporan-{a.isoformat()}-{b.isoformat()}.{fmt}")
    if fmt == "pdf":
        path.write_bytes(render_pdf(rep))
    else:
        path.write_text(render_html(rep) if fmt == "html" else render_csv(rep), "utf-8")
    typer.echo(f"{path} ({len(rep.brief.findings)} findings)")


def register(app: typer.Typer) -> None:
    app.command("demo-data")(demo_data)
    app.command("report")(report)
    an = typer.Typer(help="What the calls say: forecast, staffing, alerts, brief, stuck states, topics.",
                     no_args_is_help=True)
    app.add_typer(an, name="analytics")

    @an.command("forecast")
    def forecast_cmd(
        days: int = typer.Option(14, min=1, max=62, help="Days ahead."),
        service: Optional[str] = typer.Option(None, help="One service (ktp, pbb...), 'total' or 'handoffs'."),
        hourly: bool = typer.Option(False, "--hourly", help="Hours instead of days."),
        as_json: bool = typer.Option(False, "--json"),
        config: Optional[Path] = ConfigOpt,
    ) -> None:
        """Calls expected per day (or hour) with 80% prediction intervals."""
        from ivr.analytics.forecast import forecast

        store, src = _source(_settings(config))
        try:
            fc = forecast(src, horizon_days=days)
        finally:
            store.database.engine.dispose()
        series = fc.hourly if hourly else fc.daily
        if service:
            series = tuple(s for s in series if s.series == service)
            if not series:
                typer.echo(f"error: no series {service!r}", err=True)
                raise typer.Exit(2)
        if as_json:
            for s in series:
                typer.echo(json.dumps(_jsonable(asdict(s)), ensure_ascii=False))
            return
        typer.echo(f"model: {fc.model}; history {fc.history_start} .. {fc.history_end}")
        for s in series:
            typer.echo(f"{s.label}:")
            for p in s.points:
                stamp = p.start.strftime("%Y-%m-%d %H:00" if hourly else "%Y-%m-%d %a")
                typer.echo(f"  {stamp}  {p.mean:8.1f}  [{p.lo:.0f} - {p.hi:.0f}]")

    @an.command("backtest")
    def backtest_cmd(
        origins: int = typer.Option(6, min=1, max=52),
        as_json: bool = typer.Option(False, "--json"),
        config: Optional[Path] = ConfigOpt,
    ) -> None:
        """Rolling-origin backtest: MASE against the seasonal-naive forecast, interval coverage."""
        from ivr.analytics.forecast import backtest, load_history

        store, src = _source(_settings(config))
        try:
            today = datetime.now(src.tz).date()
            hist = load_history(src, today - timedelta(days=364), today - timedelta(days=1)).trimmed()
        finally:
            store.database.engine.dispose()
        try:
            bt = backtest(hist, origins=origins)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        for r in bt.rows:
            if as_json:
                typer.echo(json.dumps({**asdict(r), "relative": r.relative}, ensure_ascii=False))
            else:
                typer.echo(f"{r.label:28} {r.granularity:4}  MASE {r.mase:.3f}  seasonal naive {r.mase_naive:.3f}"
                           f"  ({r.relative:.2f})  coverage {r.coverage:.0%}")
        if not as_json:
            typer.echo(f"services beating seasonal naive: daily {bt.share_beating('day'):.0%}, "
                       f"hourly {bt.share_beating('hour'):.0%}")

    @an.command("staffing")
    def staffing_cmd(
        schedule: str = typer.Option("Mon-Fri 08-16=4", help="Agents on duty, e.g. 'Mon-Fri 08-12=6,12-16=5; Sat 08-12=2'."),
        days: int = typer.Option(7, min=1, max=14),
        target: float = typer.Option(0.8, min=0.1, max=0.99, help="Share answered within --within seconds."),
        within: float = typer.Option(20.0, "--within", min=1.0),
        wrap_up: float = typer.Option(30.0, "--wrap-up", min=0.0, help="Seconds of after-call work added to talk time."),
        config: Optional[Path] = ConfigOpt,
    ) -> None:
        """Agents needed per office hour (Erlang C) from the forecast hand-offs, against the schedule."""
        from ivr.analytics.staffing import ScheduleError, staffing_plan

        try:
            from ivr.analytics.staffing import Schedule

            sched = Schedule.parse(schedule)
        except ScheduleError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        store, src = _source(_settings(config))
        try:
            hours, aht = staffing_plan(src, sched, days=days, target=target, target_s=within, wrap_up_s=wrap_up)
        finally:
            store.database.engine.dispose()
        typer.echo(f"handling time {aht:.0f} s (talk + wrap-up); target {target:.0%} within {within:.0f} s")
        for h in hours:
            if h.scheduled == 0 and h.needed == 0:
                continue
            flag = "  SHORT" if h.gap > 0 else ""
            typer.echo(f"  {h.start.strftime('%Y-%m-%d %a %H:00')}  hand-offs {h.handoffs:5.1f}  needed {h.needed:2d}"
                       f"  scheduled {h.scheduled:2d}  service level {h.service_level:.0%}{flag}")

    @an.command("alerts")
    def alerts_cmd(
        days: int = typer.Option(7, min=1, max=60, help="Alerts first raised in the last N days."),
        as_json: bool = typer.Option(False, "--json"),
        config: Optional[Path] = ConfigOpt,
    ) -> None:
        """Surge alerts (services, kecamatan x category, topics)."""
        from ivr.analytics.alerts import detect

        store, src = _source(_settings(config))
        try:
            alerts = detect(src, lookback_days=days)
        finally:
            store.database.engine.dispose()
        for a in alerts:
            if as_json:
                typer.echo(json.dumps(a.to_json(), ensure_ascii=False))
            else:
                typer.echo(f"{a.first_seen.strftime('%Y-%m-%d %H:%M')}  {a.kind:7}  {a.label}: {a.observed} in "
                           f"{a.window_h} h (expected {a.expected:.1f}, p={a.p_value:.1e})")
        if not alerts and not as_json:
            typer.echo("no alerts")

    @an.command("brief")
    def brief_cmd(
        end: Optional[str] = typer.Option(None, help="Last day of the week (default yesterday)."),
        rules: Optional[Path] = typer.Option(None, help="Rules YAML (default: the packaged ones)."),
        as_json: bool = typer.Option(False, "--json"),
        config: Optional[Path] = ConfigOpt,
    ) -> None:
        """The weekly policy brief (Indonesian): findings, their numbers and recommendations."""
        from ivr.analytics.brief import RuleError, load_rules, weekly_brief

        try:
            loaded = load_rules(rules)
        except (RuleError, OSError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        settings = _settings(config)
        store, src = _source(settings)
        try:
            import asyncio

            from ivr.analytics.follow_ups import LiveSpec

            topics = asyncio.run(LiveSpec(store, settings.script_path()).beyond())   # the live labels
            last = _day(end, "--end") or datetime.now(src.tz).date() - timedelta(days=1)
            b = weekly_brief(src, last, rules=loaded, beyond=topics)
        finally:
            store.database.engine.dispose()
        if as_json:
            for f in b.findings:
                typer.echo(json.dumps(_jsonable(asdict(f)), ensure_ascii=False))
            return
        typer.echo(f"Ringkasan {b.start} .. {b.end}: {len(b.findings)} temuan")
        for i, f in enumerate(b.findings, 1):
            typer.echo(f"{i}. {f.text}\n   Rekomendasi: {f.recommendation}")

    @an.command("stuck")
    def stuck_cmd(
        start: Optional[str] = typer.Option(None, "--from"),
        end: Optional[str] = typer.Option(None, "--to"),
        config: Optional[Path] = ConfigOpt,
    ) -> None:
        """Per dialog state and script version: where callers get stuck."""
        from ivr.analytics.stuck import stuck_states

        store, src = _source(_settings(config))
        try:
            b = _day(end, "--to") or datetime.now(src.tz).date() - timedelta(days=1)
            a = _day(start, "--from") or b - timedelta(days=6)
            rep = stuck_states(src, a, b)
        finally:
            store.database.engine.dispose()
        typer.echo(f"{'version':7} {'state':28} {'entries':>7} {'no-in':>6} {'no-match':>8} {'invalid':>7} "
                   f"{'confirm':>7} {'agent':>5} {'hangup':>6} {'cut off':>7} {'median s':>8}")
        for s in rep.states:
            typer.echo(f"{s.script_version:7} {s.state:28} {s.entries:7d} {s.no_input:6d} {s.no_match:8d} "
                       f"{s.invalid:7d} {s.confirmations:7d} {s.handoffs:5d} {s.hangups:6d} {s.cut_off:7d} "
                       f"{(s.median_s or 0):8.1f}")

    @an.command("topics")
    def topics_cmd(
        end: Optional[str] = typer.Option(None, "--to"),
        config: Optional[Path] = ConfigOpt,
    ) -> None:
        """Complaint topics of the last eight weeks, with weekly counts and growth."""
        from ivr.analytics.complaints import _topic_rows

        store, src = _source(_settings(config))
        try:
            b = _day(end, "--to") or datetime.now(src.tz).date() - timedelta(days=1)
            rows = _topic_rows(src, b, 8)
        finally:
            store.database.engine.dispose()
        for t in rows:
            g = "-" if t.growth is None else f"{t.growth:.1f}x"
            typer.echo(f"{t.label:50} this week {t.this_week:4d}  weekly {list(t.weekly)}  growth {g}"
                       f"{'  EMERGING' if t.emerging else ''}")
