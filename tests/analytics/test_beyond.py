"""Requests outside the hotline's services, per topic of the script's ``out_of_scope`` (the
turns the caller was told "di luar layanan" on, ``turns.beyond``): calls and their share of all
calls, on SQLite and PostgreSQL, with the live script's labels and the small-count rule."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

DAY = date(2026, 11, 2)
T0 = datetime(2026, 11, 2, 3, 0, tzinfo=timezone.utc)  # 10:00 in Jakarta


def _spec():
    from dialogs import default_script_path, load_script
    from ivr.analytics.beyond import BeyondSpec

    return BeyondSpec.from_script(load_script(default_script_path()))


async def _seed(store) -> None:
    """20 calls on the day: 6 told about passports (one twice, one also about a driving
    licence), 2 about PLN, 1 on a topic the script no longer has, 11 with none; one call about
    passports three days before."""

    async def call(cid: str, topics: list[str | None], start: datetime = T0) -> None:
        await store.calls.create(cid, script_version="7", started_at=start)
        for i, topic in enumerate(topics):
            await store.calls.add_turn(cid, i, "caller", "…", state="main_menu", outcome="no_match" if topic else "accepted",
                                       intent=None if topic else "ktp", beyond=topic,
                                       at=start + timedelta(seconds=10 * (i + 1)))
        await store.calls.close(cid, "completed", ended_at=start + timedelta(minutes=2), service="ktp",
                                end_state="info_ktp")

    await call("p1", ["paspor", "paspor", None])
    for n in range(2, 6):
        await call(f"p{n}", ["paspor", None])
    await call("m1", ["paspor", "sim_polisi", None])
    await call("l1", ["listrik", None])
    await call("l2", ["listrik"])
    await call("z1", ["zakat_fitrah", None])
    for n in range(11):
        await call(f"n{n}", [None])
    await call("old", ["paspor", None], start=T0 - timedelta(days=3))


def test_the_spec_has_the_scripts_topics_and_labels():
    spec = _spec()
    assert list(spec.topics)[:2] == ["paspor", "sim_polisi"] and spec.label("paspor") == "Paspor dan imigrasi"
    assert spec.label("lainnya").startswith("Lain-lain")
    assert spec.label("zakat_fitrah") == "Zakat fitrah"        # a topic the script no longer has


async def test_calls_per_topic_on_both_databases(make_store):
    from ivr.analytics.beyond import beyond_requests
    from ivr.analytics.db import Source

    store = await make_store()
    await _seed(store)
    rep = beyond_requests(Source.from_store(store), DAY, DAY, _spec())
    assert (rep.calls, rep.beyond) == (20, 9) and rep.share == pytest.approx(9 / 20)
    asked = [(t.topic, t.label, t.calls) for t in rep.asked]
    assert asked == [("paspor", "Paspor dan imigrasi", 6), ("listrik", "Listrik PLN", 2),
                     ("sim_polisi", "SIM dan kepolisian (SKCK, tilang)", 1),
                     ("zakat_fitrah", "Zakat fitrah", 1)]
    assert rep.topics[0].share == pytest.approx(6 / 20)
    # the script's other topics follow with 0, in script order
    assert [t.topic for t in rep.topics[4:]][:3] == ["air", "pertanahan", "pendidikan"]
    assert all(t.calls == 0 for t in rep.topics[4:]) and len(rep.topics) == 14
    wide = beyond_requests(Source.from_store(store), DAY - timedelta(days=5), DAY, _spec())
    assert (wide.calls, wide.beyond, wide.asked[0].calls) == (21, 10, 7)
    # without the script's labels: the topics' names in words
    bare = beyond_requests(Source.from_store(store), DAY, DAY)
    assert [t.label for t in bare.topics] == ["Paspor", "Listrik", "Sim polisi", "Zakat fitrah"]


async def test_the_page_shows_small_counts_as_under_five_without_a_share(make_store):
    from ivr.analytics.db import Source
    from ivr.analytics.pages import beyond_page

    store = await make_store()
    await _seed(store)
    now = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
    page = beyond_page(Source.from_store(store), DAY, _spec(), now=now, days=1)
    assert page.key == "beyond" and page.title == "Permintaan di luar layanan"
    assert dict(page.figures) == {"Panggilan pada periode": "20", "Meminta hal di luar layanan": "9 (45,0%)",
                                  "Paling sering diminta": "Paspor dan imigrasi (6)"}
    rows = {r[0]: r[1:] for r in page.table("di_luar_layanan").rows}
    assert rows["Paspor dan imigrasi"] == ("6", "30,0%")
    assert rows["Listrik PLN"] == ("<5", "-") and rows["Zakat fitrah"] == ("<5", "-")
    assert rows["Air PDAM"] == ("0", "0,0%") and rows["Semua topik"] == ("9", "45,0%")
    chart = page.charts[0].data
    assert chart["x"] == ["Paspor dan imigrasi"] and chart["series"][0]["data"] == [6]   # no bar under 5
    assert page.charts[0].kind == "hbar"
    page = beyond_page(Source.from_store(store), DAY, _spec(), now=now, days=1, threshold=10)
    assert dict(page.figures)["Meminta hal di luar layanan"] == "<10"
    assert dict(page.figures)["Paling sering diminta"] == "-" and not page.charts


async def test_the_report_section_lists_the_topics_asked_about(make_store):
    from ivr.analytics.beyond import beyond_requests
    from ivr.analytics.db import Source
    from ivr.analytics.reports import _beyond_section

    store = await make_store()
    await _seed(store)
    title, head, rows = _beyond_section(beyond_requests(Source.from_store(store), DAY, DAY, _spec()), 5)
    assert title == "Permintaan di luar layanan" and head == ["Topik", "Panggilan", "Porsi dari semua panggilan"]
    assert rows[0] == ["Paspor dan imigrasi", "6", "30,0%"] and rows[1] == ["Listrik PLN", "<5", "-"]
    assert rows[-1] == ["Semua topik", "9", "45,0%"] and len(rows) == 5    # topics nobody asked: not listed


async def test_the_live_script_version_gives_the_labels(make_store):
    from pathlib import Path

    from dialogs import default_script_path
    from ivr.analytics.follow_ups import LiveSpec

    path = Path(default_script_path())
    store = await make_store()
    live = LiveSpec(store, path)
    assert (await live.beyond()).label("paspor") == "Paspor dan imigrasi"
    text = path.read_text("utf-8").replace("label: Paspor dan imigrasi\n", "label: Paspor\n", 1)
    assert text != path.read_text("utf-8")
    await store.scripts.import_file(path.stem, text, None)
    assert (await live.beyond()).label("paspor") == "Paspor"
    assert (await live.get()).label("tanya_biaya") == "biaya"     # the same version's questions
