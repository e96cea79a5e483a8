"""The weekly brief's findings on requests outside the hotline's services (``turns.beyond``):
a topic many callers asked about this week, its share of all calls and its change against the
week before, written by the packaged rule, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import insert

END = date(2026, 11, 29)            # a Sunday: the week is 23 .. 29 November 2026
JAKARTA = timezone(timedelta(hours=7))


def _spec():
    from dialogs import default_script_path, load_script
    from ivr.analytics.beyond import BeyondSpec

    return BeyondSpec.from_script(load_script(default_script_path()))


def _seed(store, weeks: dict[int, dict[str | None, int]]) -> None:
    """``weeks[k]``: calls of the k-th week before END's (0: this week) per topic (None: a call
    told nothing), each on the week's Wednesday at 10:00 in Jakarta, rows written directly."""
    from ivr.storage.models import CallRow, TurnRow

    calls, turns = [], []
    for k, per_topic in weeks.items():
        day = END - timedelta(days=7 * k + 4)
        at = datetime.combine(day, time(10, 0), JAKARTA).astimezone(timezone.utc)
        for topic, n in per_topic.items():
            for i in range(n):
                cid = f"w{k}-{topic or 'none'}-{i}"
                calls.append({"id": cid, "started_at": at, "media_mode": "agi", "service": "ktp"})
                turns.append({"call_id": cid, "idx": 0, "at": at, "who": "caller", "source": "speech",
                              "text": "…", "outcome": "no_match" if topic else "accepted", "beyond": topic})
    engine = store.database.engine
    with engine.begin() as conn:
        conn.execute(insert(CallRow.__table__), calls)
        conn.execute(insert(TurnRow.__table__), turns)


WEEKS: dict[int, dict[str | None, int]] = {
    # this week: 575 calls; 23 about passports (4%), 30 "lain-lain", 19 about PLN (under the
    # rule's 20), 21 about driving licences (fewer than last week), 6 about land (1%: under it)
    0: {"paspor": 23, "lainnya": 30, "listrik": 19, "sim_polisi": 21, None: 482},
    1: {"paspor": 9, "sim_polisi": 30, "listrik": 3, None: 100},
    2: {"paspor": 3, None: 50},
    3: {None: 50},
    4: {"paspor": 2, None: 50},
}


async def test_a_topic_many_callers_asked_about_is_in_the_brief(make_store):
    from ivr.analytics.brief import apply_rules, beyond_findings, beyond_periods, load_rules
    from ivr.analytics.db import Source

    store = await make_store()
    _seed(store, WEEKS)
    periods = beyond_periods(Source.from_store(store), END - timedelta(days=6), END, _spec())
    assert [p.calls for p in periods] == [575, 142, 53, 50, 52]
    cands = {c.evidence["topic_id"]: c for c in beyond_findings(periods[0], periods[1:], link="/analytics/beyond")}
    assert "lainnya" not in cands                   # a mix of unrelated requests: no finding of its own
    ev = cands["paspor"].evidence
    assert (ev["count"], ev["calls"], ev["previous"], ev["share"]) == (23, 575, 9, 0.04)
    assert ev["baseline"] == pytest.approx((9 + 3 + 0 + 2) / 4) and ev["growth"] == pytest.approx(23 / 3.5, abs=0.01)
    assert cands["listrik"].evidence["trend"] == "naik dari <5 penelepon minggu lalu"       # 3 last week: not shown
    out = apply_rules(list(cands.values()), load_rules())
    assert [f.evidence["topic_id"] for f in out] == ["paspor", "sim_polisi"]     # most callers first
    assert out[0].text == ("23 penelepon minggu ini menanyakan paspor dan imigrasi, yang berada di luar layanan "
                           "hotline (4% dari semua panggilan), naik dari 9 penelepon minggu lalu.")
    assert out[1].text.startswith("21 penelepon minggu ini menanyakan SIM dan kepolisian (SKCK")
    assert out[1].text.endswith("turun dari 30 penelepon minggu lalu.")
    assert "paspor dan imigrasi" in out[0].recommendation and out[0].priority == 2
    assert out[0].link == "/analytics/beyond"


async def test_the_weekly_brief_and_report_carry_the_finding(make_store):
    from ivr.analytics.brief import weekly_brief
    from ivr.analytics.db import Source

    store = await make_store()
    _seed(store, WEEKS)
    b = weekly_brief(Source.from_store(store), END, with_alerts=False, with_forecast=False, beyond=_spec())
    found = [f for f in b.findings if f.kind == "beyond_topic"]
    assert [f.evidence["label"] for f in found] == ["Paspor dan imigrasi",
                                                    "SIM dan kepolisian (SKCK, tilang)"]
    assert found[0].link == f"/analytics/beyond?tanggal={END.isoformat()}"
    # the report (HTML, PDF, CSV) lists the brief's findings; its own out-of-scope table is the brief's count
    from ivr.analytics.reports import build_report, render_csv

    rep = build_report(Source.from_store(store), END - timedelta(days=6), END, beyond=_spec())
    assert (rep.beyond.calls, rep.beyond.asked[1].label) == (575, "Paspor dan imigrasi")   # after "lain-lain"
    assert found[0].text in render_csv(rep)
    # without the script's labels: the topic's name in words
    bare = weekly_brief(Source.from_store(store), END, with_alerts=False, with_forecast=False)
    assert [f.text.split(",")[0] for f in bare.findings if f.kind == "beyond_topic"][0] == \
        "23 penelepon minggu ini menanyakan paspor"


async def test_a_daily_report_says_today_not_this_week(make_store):
    """The scheduled daily report runs the same rules on one day: the finding speaks of the
    day ("hari ini", against "kemarin"), never of "minggu ini"."""
    from ivr.analytics.brief import weekly_brief
    from ivr.analytics.db import Source

    store = await make_store()
    _seed(store, {0: {"paspor": 25, None: 75}})      # all on END's week's Wednesday
    day = END - timedelta(days=4)
    b = weekly_brief(Source.from_store(store), day, days=1, with_alerts=False, with_forecast=False, beyond=_spec())
    [f] = [f for f in b.findings if f.kind == "beyond_topic"]
    assert f.text == ("25 penelepon hari ini menanyakan paspor dan imigrasi, yang berada di luar layanan hotline "
                      "(25% dari semua panggilan), kemarin tidak ada yang menanyakannya.")


def test_the_trend_words_and_the_labels_in_a_sentence():
    from ivr.analytics.brief import _in_sentence, _trend

    # the count names its unit: "naik dari 9 minggu lalu" would read "up from nine weeks ago"
    assert _trend(23, 9) == "naik dari 9 penelepon minggu lalu"
    assert _trend(5, 30) == "turun dari 30 penelepon minggu lalu"
    assert _trend(20, 20) == "sama dengan minggu lalu"
    assert _trend(20, 0) == "minggu lalu tidak ada yang menanyakannya"
    assert _trend(20, 4) == "naik dari <5 penelepon minggu lalu"
    assert _trend(20, 4, days=1) == "naik dari <5 penelepon kemarin"
    assert _in_sentence("Paspor dan imigrasi") == "paspor dan imigrasi"
    assert _in_sentence("SIM dan kepolisian") == "SIM dan kepolisian" and _in_sentence("PLN") == "PLN"


def test_a_rule_on_out_of_scope_topics_keeps_small_counts_out(tmp_path):
    from ivr.analytics.brief import RuleError, load_rules

    assert any(r.finding == "beyond_topic" and r.when["min_count"] >= 5 for r in load_rules())
    p = tmp_path / "r.yaml"
    p.write_text("rules:\n  - finding: beyond_topic\n    when: {min_count: 2}\n    text: '{count} {topic}'\n"
                 "    recommendation: ok\n", "utf-8")
    with pytest.raises(RuleError, match="small counts"):
        load_rules(p)
    # last week's count (or the mean of the weeks before) may be 1-4: a rule may test it, not write it
    for text in ("'{count} {topic}, naik dari {previous}'", "'{count} {topic}, rata-rata {baseline:.1f}'"):
        p.write_text("rules:\n  - finding: beyond_topic\n    when: {min_count: 20, max_previous: 100}\n"
                     f"    text: {text}\n    recommendation: ok\n", "utf-8")
        with pytest.raises(RuleError, match="small counts"):
            load_rules(p)
    p.write_text("rules:\n  - finding: beyond_topic\n    when: {min_count: 5, min_share: 0.02}\n"
                 "    text: '{count} {topic} {trend} {share:.0%}'\n    recommendation: '{label}'\n", "utf-8")
    assert load_rules(p)[0].when == {"min_count": 5.0, "min_share": 0.02}
