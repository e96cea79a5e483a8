"""The weekly policy brief: findings with their numbers and a recommendation from rules.

The code computes candidate findings of nine kinds from the week's figures, each with an
``evidence`` dict of the numbers it rests on (and a link to the data behind it); the rules
(``brief_rules.yaml``, editable by an admin) keep those whose evidence passes the rule's
thresholds and write them in Indonesian. A rule's text may only use the finding's evidence
names, so no finding is written without its figures; placeholders are plain names (no
attribute or index access: the file is data, not code).
"""

from __future__ import annotations

import string
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from ivr.analytics.alerts import Alert, detect
from ivr.analytics.areas import district_of, load_areas
from ivr.analytics.beyond import BeyondReport, BeyondSpec, beyond_requests
from ivr.analytics.catalog import SERVICES, agency_label, category_label, service_label
from ivr.analytics.complaints import ComplaintPatterns, complaint_patterns
from ivr.analytics.db import Source, local_day, table
from ivr.analytics.privacy import DEFAULT_THRESHOLD, shown
from ivr.analytics.queries import Overview, overview
from ivr.analytics.stuck import StuckReport, stuck_states
from ivr.storage.models import CallRow, TicketRow

__all__ = ["Rule", "RuleError", "load_rules", "Finding", "Brief", "weekly_brief", "candidate_findings",
           "apply_rules", "FINDING_KINDS", "beyond_findings", "beyond_periods"]

FINDING_KINDS = ("complaint_surge", "sla_low", "service_change", "abandon_high", "stuck_state",
                 "emerging_topic", "alert", "forecast_peak", "beyond_topic")
#: evidence names of each kind (what a rule's text and thresholds may use)
EVIDENCE: dict[str, tuple[str, ...]] = {
    "complaint_surge": ("category", "district", "district_code", "agency", "count", "baseline", "ratio"),
    "sla_low": ("agency", "due", "met", "overdue_open", "rate", "sla_days"),
    "service_change": ("service", "queue", "count", "baseline", "ratio"),
    "abandon_high": ("abandoned", "queued", "rate", "wait_median"),
    "stuck_state": ("state", "version", "turns", "trouble", "trouble_rate", "hangups", "entries"),
    "emerging_topic": ("topic", "agency", "count", "baseline", "growth"),
    "alert": ("label", "observed", "expected", "ratio", "window_h", "first_seen", "kind"),
    "forecast_peak": ("forecast", "lo", "hi", "count", "ratio", "agents_needed"),
    "beyond_topic": ("topic", "label", "topic_id", "count", "calls", "share", "period", "previous", "trend",
                     "baseline", "growth"),
}
#: the evidence number each kind is ranked by within a priority
_SIZE = {"complaint_surge": "ratio", "sla_low": "overdue_open", "service_change": "ratio", "abandon_high": "rate",
         "stuck_state": "trouble_rate", "emerging_topic": "growth", "alert": "ratio", "forecast_peak": "ratio",
         "beyond_topic": "count"}
#: an out-of-scope topic the brief does not report on its own: a mix of unrelated requests
_BEYOND_MISC = frozenset({"lainnya"})
#: evidence a rule may test but not write: earlier periods' counts of one out-of-scope topic,
#: which may be 1-4 (the trend words show those as "<5")
_UNSHOWN = {"beyond_topic": frozenset({"previous", "baseline"})}
#: how many periods before this one an out-of-scope topic is compared with
BEYOND_WEEKS = 4


class RuleError(ValueError):
    """The rules file is invalid; the message names the rule and the problem."""


@dataclass(frozen=True)
class Rule:
    id: str
    finding: str
    when: dict[str, float]
    text: str
    recommendation: str
    priority: int = 2
    limit: int = 3                   # at most this many findings from the rule (the largest)


class _SafeFormatter(string.Formatter):
    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        if not field_name.isidentifier():
            raise RuleError(f"placeholder {{{field_name}}}: only plain names are allowed")
        return super().get_field(field_name, args, kwargs)


_FMT = _SafeFormatter()


def _placeholders(text: str) -> set[str]:
    return {f for _, f, _, _ in _FMT.parse(text) if f is not None}


def load_rules(path: str | Path | None = None) -> tuple[Rule, ...]:
    """The packaged rules, or an admin's file; validated at load time with clear messages."""
    if path is None:
        raw = resources.files("ivr.analytics").joinpath("brief_rules.yaml").read_text("utf-8")
        where = "brief_rules.yaml"
    else:
        raw = Path(path).read_text("utf-8")
        where = str(path)
    data = yaml.safe_load(raw)
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RuleError(f"{where}: needs a 'rules' list")
    out: list[Rule] = []
    for i, item in enumerate(data["rules"]):
        at = f"{where}: rules[{i}]"
        if not isinstance(item, dict):
            raise RuleError(f"{at}: a rule is a mapping")
        unknown = set(item) - {"id", "finding", "when", "text", "recommendation", "priority", "limit"}
        if unknown:
            raise RuleError(f"{at}: unknown keys {sorted(unknown)}")
        kind = item.get("finding")
        if kind not in FINDING_KINDS:
            raise RuleError(f"{at}: finding must be one of {FINDING_KINDS}")
        names = set(EVIDENCE[kind])
        when = item.get("when") or {}
        if not isinstance(when, dict):
            raise RuleError(f"{at}: 'when' is a mapping")
        for k, v in when.items():
            base = k[4:] if k.startswith(("min_", "max_")) else None
            if base not in names or not isinstance(v, (int, float)):
                raise RuleError(f"{at}: condition {k!r} must be min_/max_ of {sorted(names)} with a number")
        if kind == "complaint_surge" and when.get("min_count", 0) < DEFAULT_THRESHOLD:
            raise RuleError(f"{at}: a regional finding needs min_count >= {DEFAULT_THRESHOLD} (small areas)")
        if kind == "beyond_topic" and when.get("min_count", 0) < DEFAULT_THRESHOLD:
            raise RuleError(f"{at}: an out-of-scope topic needs min_count >= {DEFAULT_THRESHOLD} (small counts)")
        for key in ("text", "recommendation"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise RuleError(f"{at}: '{key}' is required")
            try:
                used = _placeholders(item[key])
            except ValueError as exc:
                raise RuleError(f"{at}: {key}: {exc}") from None
            bad = used - names
            if bad:
                raise RuleError(f"{at}: {key} uses {sorted(bad)}; a {kind} finding has {sorted(names)}")
            unshown = used & _UNSHOWN.get(kind, frozenset())
            if unshown:
                raise RuleError(f"{at}: {key} uses {sorted(unshown)}, which may be a count under "
                                f"{DEFAULT_THRESHOLD} (small counts); write {{trend}} instead")
        prio = item.get("priority", 2)
        if prio not in (1, 2, 3):
            raise RuleError(f"{at}: priority is 1, 2 or 3")
        limit = item.get("limit", 3)
        if not isinstance(limit, int) or limit < 1:
            raise RuleError(f"{at}: limit is a positive whole number")
        out.append(Rule(str(item.get("id") or f"rule{i}"), kind, {k: float(v) for k, v in when.items()},
                        " ".join(item["text"].split()), " ".join(item["recommendation"].split()), prio, limit))
    return tuple(out)


@dataclass(frozen=True)
class Finding:
    kind: str
    evidence: dict[str, Any]
    link: str                        # where the data behind it is (web app path, phase 2)
    rule_id: str | None = None
    priority: int = 2
    text: str = ""
    recommendation: str = ""


@dataclass(frozen=True)
class Brief:
    start: date
    end: date
    findings: tuple[Finding, ...]
    candidates: int
    overview: Overview
    complaints: ComplaintPatterns
    stuck: StuckReport
    alerts: tuple[Alert, ...]
    extras: dict[str, Any] = field(default_factory=dict)


def _passes(rule: Rule, ev: dict[str, Any]) -> bool:
    for k, v in rule.when.items():
        x = ev.get(k[4:])
        if not isinstance(x, (int, float)):
            return False
        if k.startswith("min_") and x < v or k.startswith("max_") and x > v:
            return False
    return True


def apply_rules(candidates: list[Finding], rules: tuple[Rule, ...]) -> tuple[Finding, ...]:
    out = []
    for rule in rules:
        kept = [c for c in candidates if c.kind == rule.finding and _passes(rule, c.evidence)]
        kept.sort(key=lambda c: -float(c.evidence.get(_SIZE[c.kind], 0) or 0))
        for c in kept[:rule.limit]:
            ev = dict(c.evidence)
            out.append(Finding(c.kind, c.evidence, c.link, rule.id, rule.priority,
                               _FMT.vformat(rule.text, (), ev), _FMT.vformat(rule.recommendation, (), ev)))
    return tuple(sorted(out, key=lambda f: (f.priority, -float(f.evidence.get(_SIZE[f.kind], 0) or 0))))


def _q(d: date) -> str:
    return d.isoformat()


def candidate_findings(src: Source, start: date, end: date, ov: Overview, cp: ComplaintPatterns,
                       st: StuckReport, alerts: list[Alert], forecast_next: Any = None,
                       agents_needed: int | None = None,
                       outside: tuple[BeyondReport, ...] = ()) -> list[Finding]:
    """Every finding the week's figures support, with its evidence (before the rules).
    ``outside``: the out-of-scope requests of this period, then of the periods of the same
    length before it, most recent first (:func:`beyond_periods`)."""
    period = f"from={_q(start)}&to={_q(end)}"
    out: list[Finding] = []
    areas = load_areas()
    # complaint surges: kecamatan x category, this week against the 8 weeks before
    t = table(TicketRow)
    base_start = start - timedelta(days=56)
    with src.engine.connect() as conn:
        rows = conn.execute(select(t.c.created_at, t.c.area_code, t.c.category, t.c.agency).where(
            t.c.kind == "complaint", t.c.created_at >= src.day_start(base_start),
            t.c.created_at < src.day_start(end + timedelta(days=1)))).all()
    now_c: Counter[tuple[str, str]] = Counter()
    base_c: Counter[tuple[str, str]] = Counter()
    agency_of: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for r in rows:
        key = (district_of(r.area_code) or "", r.category or "")
        if r.created_at.astimezone(src.tz).date() >= start:
            now_c[key] += 1
            agency_of[key][r.agency or ""] += 1
        else:
            base_c[key] += 1
    for key, n in now_c.items():
        if not key[0]:
            continue
        base = base_c[key] / 8.0
        ratio = n / max(base, 0.5)
        out.append(Finding("complaint_surge", {
            "category": category_label(key[1]), "district": areas.name(key[0]), "district_code": key[0],
            "agency": agency_label(agency_of[key].most_common(1)[0][0] or None), "count": n,
            "baseline": round(base, 2), "ratio": round(ratio, 2)},
            f"/analytics/complaints?district={key[0]}&category={key[1]}&{period}"))
    for sla in cp.sla_by_agency:
        if sla.rate is not None:
            out.append(Finding("sla_low", {"agency": sla.label, "due": sla.due, "met": sla.met,
                                           "overdue_open": sla.overdue_open, "rate": round(sla.rate, 4),
                                           "sla_days": cp.sla_days},
                               f"/analytics/complaints?agency={sla.key}&{period}"))
    # services: this week against the four weeks before
    c = table(CallRow)
    day = local_day(c.c.started_at, src.offset_s).label("day")
    with src.engine.connect() as conn:
        srows = conn.execute(select(c.c.service, day, func.count()).where(
            c.c.started_at >= src.day_start(start - timedelta(days=28)),
            c.c.started_at < src.day_start(end + timedelta(days=1))).group_by(c.c.service, day)).all()
    first = src.day_number(start)
    cur: Counter[str] = Counter()
    prev: Counter[str] = Counter()
    for svc, d, n in srows:
        if svc is None:
            continue
        (cur if d >= first else prev)[svc] += n
    queue = {s.name: s.queue for s in SERVICES}
    for svc, n in cur.items():
        base = prev[svc] / 4.0
        out.append(Finding("service_change", {"service": service_label(svc), "queue": queue.get(svc, "hotline"),
                                              "count": n, "baseline": round(base, 2),
                                              "ratio": round(n / max(base, 1.0), 2)},
                           f"/analytics/forecast?service={svc}&{period}"))
    queued = ov.connected + ov.abandoned
    if queued:
        out.append(Finding("abandon_high", {"abandoned": ov.abandoned, "queued": queued,
                                            "rate": round(ov.abandon_rate, 4),
                                            "wait_median": ov.wait_median_s or 0.0},
                           f"/analytics/dashboard?{period}"))
    for row in st.states:
        trouble = row.no_input + row.no_match + row.invalid
        out.append(Finding("stuck_state", {"state": row.state, "version": row.script_version, "turns": row.turns,
                                           "trouble": trouble, "trouble_rate": round(row.trouble_rate, 4),
                                           "hangups": row.hangups, "entries": row.entries},
                           f"/admin/scripts?state={row.state}&version={row.script_version}"))
    for tp in cp.topics:
        prev_w = tp.weekly[-5:-1]
        base = sum(prev_w) / len(prev_w) if prev_w else 0.0
        agency = _topic_agency(tp.top_category)
        out.append(Finding("emerging_topic", {"topic": tp.label, "agency": agency, "count": tp.this_week,
                                              "baseline": round(base, 2),
                                              "growth": round(tp.this_week / max(base, 0.5), 2)},
                           f"/analytics/complaints?topic={tp.id}&{period}"))
    for a in alerts:
        out.append(Finding("alert", {"label": a.label, "observed": a.observed, "expected": round(a.expected, 2),
                                     "ratio": round(a.ratio, 2), "window_h": a.window_h, "kind": a.kind,
                                     "first_seen": a.first_seen.strftime("%d-%m-%Y %H:%M")},
                           f"/analytics/alerts?{period}"))
    if forecast_next is not None:
        pts = forecast_next.points[:7]
        fc = sum(p.mean for p in pts)
        out.append(Finding("forecast_peak", {
            "forecast": round(fc, 1), "lo": round(sum(p.lo for p in pts), 1), "hi": round(sum(p.hi for p in pts), 1),
            "count": ov.calls, "ratio": round(fc / max(ov.calls, 1), 3), "agents_needed": agents_needed or 0},
            f"/analytics/forecast?{period}"))
    if outside:
        out.extend(beyond_findings(outside[0], outside[1:], link=f"/analytics/beyond?tanggal={_q(end)}"))
    return out


def _in_sentence(label: str) -> str:
    """A topic's label inside a sentence: "Paspor dan imigrasi" -> "paspor dan imigrasi", but
    "SIM dan kepolisian" and "PLN" keep their capitals."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def _period_words(days: int) -> tuple[str, str]:
    """The period a finding is about and the one before it, in words: "minggu ini" and
    "minggu lalu" for a week, "hari ini" and "kemarin" for a day (the daily report)."""
    if days == 7:
        return "minggu ini", "minggu lalu"
    if days == 1:
        return "hari ini", "kemarin"
    return "pada periode ini", "pada periode sebelumnya"


def _trend(count: int, previous: int, days: int = 7) -> str:
    """This period's calls on a topic against the period before, in words; a count under the
    disclosure threshold reads "<5", as on the pages. The count names its unit ("naik dari 9
    penelepon minggu lalu"): "naik dari 9 minggu lalu" would read "up from nine weeks ago"."""
    when = _period_words(days)[1]
    if previous == 0:
        return f"{when} tidak ada yang menanyakannya"
    if count == previous:
        return f"sama dengan {when}"
    return f"{'naik' if count > previous else 'turun'} dari {shown(previous)} penelepon {when}"


def beyond_findings(now: BeyondReport, before: tuple[BeyondReport, ...], *, link: str) -> list[Finding]:
    """Per out-of-scope topic asked about in ``now``: its calls and share of all calls, against
    the period just before (``before[0]``) and the mean of ``before``. Counts of calls only (no
    caller's words); the mixed topic "lainnya" is left out."""
    prev = [{t.topic: t.calls for t in rep.topics} for rep in before]
    out: list[Finding] = []
    for tp in now.asked:
        if tp.topic in _BEYOND_MISC:
            continue
        last = prev[0].get(tp.topic, 0) if prev else 0
        base = sum(p.get(tp.topic, 0) for p in prev) / len(prev) if prev else 0.0
        days = (now.end - now.start).days + 1
        out.append(Finding("beyond_topic", {
            "topic": _in_sentence(tp.label), "label": tp.label, "topic_id": tp.topic, "count": tp.calls,
            "calls": now.calls, "share": round(tp.share, 4), "period": _period_words(days)[0], "previous": last,
            "trend": _trend(tp.calls, last, days),
            "baseline": round(base, 2), "growth": round(tp.calls / max(base, 1.0), 2)}, link))
    return out


def beyond_periods(src: Source, start: date, end: date, spec: BeyondSpec | None,
                   weeks: int = BEYOND_WEEKS) -> tuple[BeyondReport, ...]:
    """The out-of-scope requests of ``start`` .. ``end`` and of the ``weeks`` periods of the
    same length before it (most recent first)."""
    days = (end - start).days + 1
    return tuple(beyond_requests(src, start - timedelta(days=days * i), end - timedelta(days=days * i), spec)
                 for i in range(weeks + 1))


def _topic_agency(category: str | None) -> str:
    return {"infrastruktur": "Dinas PUTR", "kebersihan": "Dinas Lingkungan Hidup", "pelayanan": "instansi terkait",
            "kesehatan": "Dinas Kesehatan", "bantuan_sosial": "Dinas Sosial"}.get(category or "", "instansi terkait")


def weekly_brief(src: Source, end: date, *, rules: tuple[Rule, ...] | None = None, days: int = 7,
                 with_alerts: bool = True, with_forecast: bool = True, hist: Any = None,
                 beyond: BeyondSpec | None = None) -> Brief:
    """The brief of the ``days`` local days ending at ``end`` (inclusive). ``hist``: the
    hourly history up to ``end`` if already loaded. ``beyond``: the live script's out-of-scope
    topics (their labels; without it a topic reads as its name in words). Synchronous."""
    from ivr.analytics.alerts import AlertRules, load_complaints
    from ivr.analytics.forecast import load_history
    from ivr.analytics.topics import fit_topics

    start = end - timedelta(days=days - 1)
    rules = rules if rules is not None else load_rules()
    if hist is None:
        hist = load_history(src, end - timedelta(days=364), end)
    # complaints and their topics once, for the patterns and the alerts
    comp = load_complaints(src, end - timedelta(days=AlertRules().baseline_days + max(days, 7) + 2), end)
    model = fit_topics(comp.description, authors=comp.reporters)
    ov = overview(src, start, end)
    cp = complaint_patterns(src, start, end, topics=(comp, model))
    st = stuck_states(src, start, end)
    alerts: list[Alert] = []
    if with_alerts:
        now = src.day_start(end + timedelta(days=1)).astimezone(src.tz)
        alerts = detect(src, now=now, lookback_days=days, hist=hist, complaints=comp, topics=model)
    fnext = None
    agents = None
    extras: dict[str, Any] = {}
    if with_forecast:
        from ivr.analytics.forecast import forecast
        from ivr.analytics.staffing import agents_needed

        fc = forecast(src, today=end + timedelta(days=1), horizon_days=7, hist=hist)
        fnext = fc.series("total")
        hand = fc.series("handoffs", "hour")
        aht = (ov.talk_mean_s or 240.0) + 30.0
        agents = max((agents_needed(p.mean, aht) for p in hand.points), default=0)
        extras["forecast"] = fc
    outside = beyond_periods(src, start, end, beyond)
    extras["beyond"] = outside
    cands = candidate_findings(src, start, end, ov, cp, st, alerts, fnext, agents, outside)
    return Brief(start, end, apply_rules(cands, rules), len(cands), ov, cp, st, tuple(alerts), extras)
