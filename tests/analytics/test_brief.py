"""The policy brief cites the numbers the queries return; rules are data, validated."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ivr.analytics.areas import district_of
from ivr.analytics.brief import Rule, RuleError, apply_rules, load_rules, weekly_brief
from ivr.analytics.queries import daily_calls
from ivr.storage.models import TicketRow


@pytest.fixture(scope="module")
def incident_week(demo_factory):
    """The brief of the week in which the first incident started (SQLite and PostgreSQL)."""
    out = {}

    def get(backend):
        if backend not in out:
            d = demo_factory(backend)
            inc = d.result.plan.incidents[0]
            end = inc.start.astimezone(d.src.tz).date() + timedelta(days=2)
            out[backend] = (d, weekly_brief(d.src, end))
        return out[backend]
    return get


def test_every_finding_states_the_numbers_the_queries_return(incident_week, backend):
    d, b = incident_week(backend)
    assert b.findings, "an incident week has findings"
    t = TicketRow.__table__
    checked = 0
    for f in b.findings:
        ev = f.evidence
        assert f.text and f.recommendation and f.link.startswith("/")
        for key, value in ev.items():
            if isinstance(value, int) and key in ("count", "observed", "due", "met", "abandoned", "queued"):
                assert str(value) in f.text, (key, value, f.text)
        if f.kind == "complaint_surge":
            with d.store.database.engine.connect() as conn:
                rows = conn.execute(select(t.c.area_code, t.c.category, t.c.created_at).where(
                    t.c.kind == "complaint", t.c.created_at >= d.src.day_start(b.start),
                    t.c.created_at < d.src.day_start(b.end + timedelta(days=1)))).all()
            cat = [c for c, lab in __import__("ivr.analytics.catalog", fromlist=["CATEGORIES"]).CATEGORIES.items()
                   if lab == ev["category"]][0]
            n = sum(1 for r in rows if district_of(r.area_code) == ev["district_code"] and r.category == cat)
            assert n == ev["count"]
            checked += 1
        if f.kind == "service_change":
            svc = {s.label: s.name for s in __import__("ivr.analytics.catalog", fromlist=["SERVICES"]).SERVICES}[ev["service"]]
            assert sum(daily_calls(d.src, b.start, b.end, svc).values()) == ev["count"]
            checked += 1
        if f.kind == "sla_low":
            sla = next(s for s in b.complaints.sla_by_agency if s.label == ev["agency"])
            assert (sla.due, sla.met) == (ev["due"], ev["met"])
            checked += 1
        if f.kind == "alert":
            assert any(a.label == ev["label"] and a.observed == ev["observed"] for a in b.alerts)
            checked += 1
    assert checked >= 1
    # the overview figures the brief rests on are the queries' own
    with d.store.database.engine.connect() as conn:
        complaints = conn.execute(select(func.count()).where(
            t.c.kind == "complaint", t.c.created_at >= d.src.day_start(b.start),
            t.c.created_at < d.src.day_start(b.end + timedelta(days=1)))).scalar()
    assert b.overview.complaints == b.complaints.total == complaints


def test_the_incident_is_in_the_brief(incident_week):
    d, b = incident_week("sqlite")
    inc = d.result.plan.incidents[0]
    texts = " ".join(f.text for f in b.findings)
    if inc.districts:
        from ivr.analytics.areas import load_areas

        assert any(load_areas().by_code[k].name in texts for k in inc.districts), texts
    assert any(f.priority == 1 for f in b.findings)


def test_rules_are_validated(tmp_path):
    rules = load_rules()
    assert {r.finding for r in rules} >= {"complaint_surge", "sla_low", "alert", "stuck_state"}
    bad = {
        "placeholder not in the evidence": "text: 'Naik {jumlah}'",
        "attribute access": "text: 'Naik {count.__class__}'",
        "unknown condition": "when: {min_warna: 2}\n    text: 'x {count}'",
    }
    for why, body in bad.items():
        p = tmp_path / "r.yaml"
        p.write_text("rules:\n  - finding: complaint_surge\n    " + body + "\n    recommendation: 'ok'\n"
                     + ("    when: {min_count: 10}\n" if "when" not in body else ""), "utf-8")
        with pytest.raises(RuleError):
            load_rules(p)
    p = tmp_path / "small.yaml"
    p.write_text("rules:\n  - finding: complaint_surge\n    when: {min_count: 2}\n    text: '{count}'\n"
                 "    recommendation: ok\n", "utf-8")
    with pytest.raises(RuleError, match="small areas"):
        load_rules(p)
    p = tmp_path / "extra.yaml"
    p.write_text("rules:\n  - finding: alert\n    text: '{label}'\n    recommendation: ok\n    kode: 1\n", "utf-8")
    with pytest.raises(RuleError, match="unknown keys"):
        load_rules(p)


def test_an_admin_rule_changes_the_brief(incident_week):
    from ivr.analytics.brief import Finding

    cands = [Finding("sla_low", {"agency": "Dinas PUTR", "due": 20, "met": 12, "overdue_open": 3, "rate": 0.6,
                                 "sla_days": 14}, "/x"),
             Finding("sla_low", {"agency": "BPBD", "due": 20, "met": 19, "overdue_open": 0, "rate": 0.95,
                                 "sla_days": 14}, "/y")]
    rule = Rule("r", "sla_low", {"max_rate": 0.8}, "{agency}: {rate:.0%} tepat waktu", "Tindak lanjuti {agency}.", 1)
    out = apply_rules(cands, (rule,))
    assert [f.text for f in out] == ["Dinas PUTR: 60% tepat waktu"]
    assert out[0].recommendation == "Tindak lanjuti Dinas PUTR."
