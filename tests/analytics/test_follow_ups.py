"""Follow-up questions after a service's answer, per service: on SQLite and PostgreSQL, with the
questions and labels of the default script."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

DAY = date(2026, 11, 2)


def _spec():
    """The default script's, as an office whose PBB answer offers no processing time would
    have it (the "-" case)."""
    from dialogs import default_script_path, load_script
    from ivr.analytics.follow_ups import FollowUpSpec

    spec = FollowUpSpec.from_script(load_script(default_script_path()))
    return FollowUpSpec(spec.questions, {**spec.answers, "info_pbb": spec.answers["info_pbb"] - {"tanya_lama"}})


def test_the_spec_comes_from_the_script_with_staff_labels():
    from dialogs import default_script_path, load_script
    from ivr.analytics.follow_ups import FollowUpSpec

    assert "tanya_lama" in FollowUpSpec.from_script(load_script(default_script_path())).answers["info_pbb"]
    spec = _spec()
    assert spec.questions == {"tanya_syarat": "persyaratan", "tanya_biaya": "biaya",
                              "tanya_tempat": "tempat pengurusan", "tanya_jam": "jam pelayanan",
                              "tanya_lama": "lama proses", "tanya_nomor": "nomor tiket"}
    assert {"info_ktp", "info_kk", "info_bansos"} <= spec.states and "main_menu" not in spec.states
    assert "tanya_lama" in spec.answers["info_ktp"] and "tanya_lama" not in spec.answers["info_pbb"]


async def _seed(store) -> None:
    """Six KTP calls that heard the answer, one KK call, one complaint call, one call outside
    the day."""
    t0 = datetime(2026, 11, 2, 3, 0, tzinfo=timezone.utc)  # 10:00 in Jakarta

    async def call(cid: str, service: str, turns: list[tuple[str, str | None, str]], end_state: str,
                   start: datetime = t0) -> None:
        await store.calls.create(cid, script_version="7", started_at=start)
        for i, (state, intent, outcome) in enumerate(turns):
            await store.calls.add_turn(cid, i, "caller", "…", state=state, intent=intent, outcome=outcome,
                                       at=start + timedelta(seconds=10 * (i + 1)))
        await store.calls.close(cid, "completed", ended_at=start + timedelta(minutes=2), service=service,
                                end_state=end_state)

    menu = ("main_menu", "ktp", "accepted")
    # asked where (twice: one call), then the fee
    await call("k1", "ktp", [menu, ("info_ktp", "tanya_tempat", "accepted"), ("info_ktp", "tanya_tempat", "accepted"),
                             ("info_ktp", "tanya_biaya", "accepted")], "info_ktp")
    await call("k2", "ktp", [menu, ("info_ktp", "tanya_tempat", "confirmed")], "info_ktp")
    # a question not understood does not count; the caller said "sudah cukup"
    await call("k3", "ktp", [menu, ("info_ktp", "tanya_jam", "no_match"), ("info_ktp", "selesai", "accepted")],
               "goodbye")
    # hung up right after the answer: heard it, asked nothing
    await call("k4", "ktp", [menu], "info_ktp")
    await call("k5", "ktp", [menu, ("info_ktp", "selesai", "accepted")], "goodbye")
    await call("k6", "ktp", [menu, ("info_ktp", "tanya_syarat", "accepted")], "info_ktp")
    # KTP chosen but the call never reached the answer: not among those who heard it
    await call("k7", "ktp", [menu], "main_menu")
    await call("f1", "kk", [("main_menu", "kk", "accepted"), ("info_kk", "tanya_biaya", "accepted")], "info_kk")
    # the PBB answer offers no processing time: that question is not counted as 0 there
    await call("b1", "pbb", [("main_menu", "pbb", "accepted"), ("info_pbb", "tanya_biaya", "accepted")], "info_pbb")
    await call("p1", "pengaduan", [("main_menu", "pengaduan", "accepted")], "complaint_location")
    await call("old", "ktp", [menu, ("info_ktp", "tanya_tempat", "accepted")], "info_ktp",
               start=t0 - timedelta(days=3))


async def test_questions_per_service_on_both_databases(make_store):
    from ivr.analytics.db import Source
    from ivr.analytics.follow_ups import follow_up_questions

    store = await make_store()
    await _seed(store)
    rep = follow_up_questions(Source.from_store(store), DAY, DAY, _spec())
    rows = {s.service: s for s in rep.services}
    assert set(rows) == {"ktp", "kk", "pbb"}, rows   # the complaint call heard no answer
    ktp = rows["ktp"]
    assert (ktp.label, ktp.heard, ktp.asked) == ("KTP elektronik", 6, 3), ktp
    q = {r.intent: r for r in ktp.questions}
    assert [r.intent for r in ktp.questions][:3] == ["tanya_tempat", "tanya_syarat", "tanya_biaya"]
    assert (q["tanya_tempat"].calls, q["tanya_biaya"].calls, q["tanya_syarat"].calls,
            q["tanya_jam"].calls, q["tanya_lama"].calls) == (2, 1, 1, 0, 0)
    assert q["tanya_tempat"].label == "tempat pengurusan" and q["tanya_tempat"].share == pytest.approx(2 / 6)
    assert ktp.asked_share == pytest.approx(0.5)
    kk = rows["kk"]
    assert (kk.heard, kk.asked) == (1, 1) and kk.questions[0].intent == "tanya_biaya"
    assert rep.services[0].service == "ktp"
    # every question is offered after the KTP answer but the ticket number (after a complaint)
    assert [r.intent for r in ktp.questions if not r.offered] == ["tanya_nomor"]
    pbb = {r.intent: r for r in rows["pbb"].questions}
    assert not pbb["tanya_lama"].offered and pbb["tanya_biaya"].offered and pbb["tanya_biaya"].share == 1.0
    offered = [r.offered for r in rows["pbb"].questions]
    assert offered == sorted(offered, reverse=True), "the questions not offered come last"
    tot = {r.intent: r for r in rep.totals()}
    assert tot["tanya_biaya"].calls == 3 and tot["tanya_tempat"].calls == 2 and rep.heard == 8
    # processing time: of the 7 calls whose answer offers it (KTP and KK), none asked
    assert tot["tanya_lama"].calls == 0 and tot["tanya_biaya"].share == pytest.approx(3 / 8)
    # a wider period takes in the earlier call
    wide = follow_up_questions(Source.from_store(store), DAY - timedelta(days=5), DAY, _spec(), services=["ktp"])
    assert [s.service for s in wide.services] == ["ktp"] and wide.services[0].heard == 7
    assert {r.intent: r.calls for r in wide.services[0].questions}["tanya_tempat"] == 3


async def test_without_questions_in_the_script_there_is_nothing_to_count(make_store):
    from ivr.analytics.db import Source
    from ivr.analytics.follow_ups import FollowUpSpec, follow_up_questions

    store = await make_store()
    await _seed(store)
    assert follow_up_questions(Source.from_store(store), DAY, DAY, FollowUpSpec()).services == ()


async def test_the_live_script_version_gives_the_questions(make_store, tmp_path):
    """The questions and labels are the live version's (edited on the script pages), not the
    file's; without a live version, the file's."""
    from pathlib import Path

    from dialogs import default_script_path
    from ivr.analytics.follow_ups import LiveSpec

    path = Path(default_script_path())
    store = await make_store()
    live = LiveSpec(store, path)
    assert (await live.get()).label("tanya_biaya") == "biaya"
    text = path.read_text("utf-8").replace("label: biaya\n", "label: biaya pengurusan\n", 1)
    assert text != path.read_text("utf-8")
    await store.scripts.import_file(path.stem, text, None)
    assert (await live.get()).label("tanya_biaya") == "biaya pengurusan"


async def test_the_page_figures_hide_small_counts_as_the_table_does(make_store):
    """The page's figures follow the table's rule: a count of 1-4 is "<5" and no share of it is
    shown (the top question asked in 3 of 8 calls must not read "biaya (37,5%)")."""
    from ivr.analytics.db import Source
    from ivr.analytics.pages import follow_ups_page

    store = await make_store()
    await _seed(store)
    now = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
    fig = dict(follow_ups_page(Source.from_store(store), DAY, _spec(), now=now, days=1).figures)
    # 8 heard, 5 asked; the most asked question (the fee) only 3 times: no question to name
    assert fig == {"Mendengar jawaban layanan": "8", "Bertanya lanjutan": "62,5%", "Paling sering ditanyakan": "-"}
    fig = dict(follow_ups_page(Source.from_store(store), DAY, _spec(), now=now, days=1, threshold=10).figures)
    assert fig == {"Mendengar jawaban layanan": "<10", "Bertanya lanjutan": "<10", "Paling sering ditanyakan": "-"}


async def test_the_live_version_text_is_read_once_per_version(make_store):
    """Each page asks for the questions; the live version's text (50 kB, with its test results)
    is read once per version, not on every request."""
    from pathlib import Path

    from dialogs import default_script_path
    from ivr.analytics.follow_ups import LiveSpec

    path = Path(default_script_path())
    store = await make_store()
    await store.scripts.import_file(path.stem, path.read_text("utf-8"), None)
    reads = []
    get = store.scripts.get

    async def counted(version_id):
        reads.append(version_id)
        return await get(version_id)

    store.scripts.get = counted
    live = LiveSpec(store, path)
    for _ in range(3):
        assert (await live.get()).label("tanya_biaya") == "biaya"
    assert len(reads) == 1, reads


async def test_a_service_the_catalog_does_not_know_reads_as_words(make_store):
    # an intent a script editor added (its own answer with questions): "Layanan izin usaha",
    # as the desk says it, never the code
    from ivr.analytics.db import Source
    from ivr.analytics.follow_ups import follow_up_questions

    store = await make_store()
    t0 = datetime(2026, 11, 2, 3, 0, tzinfo=timezone.utc)
    await store.calls.create("z1", script_version="7", started_at=t0)
    await store.calls.add_turn("z1", 0, "caller", "…", state="info_ktp", intent="tanya_biaya", outcome="accepted",
                               at=t0 + timedelta(seconds=10))
    await store.calls.close("z1", "completed", ended_at=t0 + timedelta(minutes=1), service="izin_usaha",
                            end_state="info_ktp")
    rep = follow_up_questions(Source.from_store(store), DAY, DAY, _spec())
    assert [(s.service, s.label) for s in rep.services] == [("izin_usaha", "Layanan izin usaha")]


def test_a_large_count_of_callers_who_heard_the_answer_is_written_with_thousands():
    # "1.234" as every other count on the page and in the report, not "1234"
    from ivr.analytics.follow_ups import FollowUpReport, QuestionCount, ServiceQuestions
    from ivr.analytics.pages import follow_up_table
    from ivr.analytics.reports import _follow_up_section

    spec = _spec()
    qs = tuple(QuestionCount(q, lab, 0, 0.0) for q, lab in spec.questions.items())
    rep = FollowUpReport(DAY, DAY, (ServiceQuestions("ktp", "KTP elektronik", 1234, 0, qs),
                                    ServiceQuestions("kk", "Kartu keluarga", 3, 0, qs)), spec)
    rows = {r[0]: r for r in follow_up_table(rep).rows}
    assert rows["KTP elektronik"][1] == "1.234" and rows["Kartu keluarga"][1] == "<5"
    rows = {r[0]: r for r in _follow_up_section(rep, 5)[2]}
    assert rows["KTP elektronik"][1] == "1.234" and rows["Kartu keluarga"][1] == "<5"
