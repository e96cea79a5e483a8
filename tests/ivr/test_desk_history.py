"""The screen pop finds a caller who calls back with everything about them (SQLite and
PostgreSQL): their earlier calls, the tickets filed with their number and the tickets filed in
their earlier calls, such as a complaint left unfinished when they hung up before the phone-number
step (it has no reporter number). Each ticket once, newest first, the limit kept, in a fixed
number of queries; codes in the words staff read on the pages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from ivr.desk.pop import build_pop
from ivr.privacy.pii import Pii
from tests.conftest import PII_TEST_KEY

CALLER = "081234567890"
OTHER = "085711112222"
T0 = datetime(2026, 11, 2, 3, 0, tzinfo=timezone.utc)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
async def site(make_store, tmp_path):
    store = await make_store(pii=Pii("mask", PII_TEST_KEY), outbox_dir=tmp_path / "outbox")
    ids: dict[str, str] = {}
    # an old call whose complaint was finished, the caller's number on it
    ids["call_old"] = await store.calls.create(caller=CALLER, started_at=at(0))
    await store.calls.close(ids["call_old"], "completed", ended_at=at(3), service="pengaduan")
    ids["finished"] = await store.tickets.create("complaint", category="infrastruktur", reporter_phone=CALLER,
                                                 call_id=ids["call_old"], created_at=at(2))
    # a callback asked for by the number (filed in no call)
    ids["callback"] = await store.tickets.create("callback", reporter_phone=CALLER, created_at=at(10))
    # the caller hung up before the phone-number step: the complaint has no reporter number
    ids["call_cut"] = await store.calls.create(caller=CALLER, started_at=at(20))
    await store.calls.close(ids["call_cut"], "caller_hangup", ended_at=at(24), service="pengaduan",
                            end_state="complaint_phone_ask")
    ids["unfinished"] = await store.tickets.create(
        "complaint", category="kebersihan", location="Jl. Melati", description="sampah menumpuk",
        call_id=ids["call_cut"], created_at=at(24),
        extra={"incomplete": True, "stopped_at": "complaint_phone_ask"})
    # someone else's call and complaint
    ids["stranger_call"] = await store.calls.create(caller=OTHER, started_at=at(30))
    ids["stranger"] = await store.tickets.create("complaint", category="kebersihan", call_id=ids["stranger_call"],
                                                 created_at=at(31))
    # the caller calls back; a ticket filed in this call is the pop's own, not history
    ids["now"] = await store.calls.create(caller=CALLER, started_at=at(60))
    ids["this_call"] = await store.tickets.create("complaint", reporter_phone=CALLER, call_id=ids["now"],
                                                  created_at=at(61))
    return store, ids


async def test_history_finds_the_tickets_of_earlier_calls_once_newest_first(site):
    store, ids = site
    h = await store.desk.caller_hash(ids["now"])
    got = await store.desk.history(h, exclude_call=ids["now"])
    assert [(i.kind, i.id) for i in got] == [
        ("ticket", ids["unfinished"]), ("call", ids["call_cut"]), ("ticket", ids["callback"]),
        ("ticket", ids["finished"]), ("call", ids["call_old"])]
    unfinished = got[0]
    assert (unfinished.ticket_kind, unfinished.category, unfinished.status) == ("complaint", "kebersihan", "open")
    assert unfinished.extra is not None and unfinished.extra["stopped_at"] == "complaint_phone_ask"
    # the limit is kept, the newest first
    assert [i.id for i in await store.desk.history(h, exclude_call=ids["now"], limit=2)] == [
        ids["unfinished"], ids["call_cut"]]
    # without a call to leave out, that call and its ticket are history too
    assert {i.id for i in await store.desk.history(h)} >= {ids["now"], ids["this_call"]}
    assert await store.desk.history(None) == []


async def test_a_complaint_filed_without_a_name_is_never_tied_to_the_number(site):
    # the caller declined to give their identity: the script promised "dicatat tanpa nama"
    store, ids = site
    c = await store.calls.create(caller=CALLER, started_at=at(45))
    await store.calls.close(c, "completed", ended_at=at(48), service="pengaduan")
    tid = await store.tickets.create("complaint", category="pelayanan", description="pungli", call_id=c,
                                     created_at=at(47), confidential=True)
    h = await store.desk.caller_hash(ids["now"])
    assert tid not in {i.id for i in await store.desk.history(h, exclude_call=ids["now"])}
    pop = await build_pop(store, ids["now"], queue="hotline", hold_s=5, member=None)
    assert tid not in {x["id"] for x in pop["history"]}
    assert ids["unfinished"] in {x["id"] for x in pop["history"]}  # an ordinary one still is


async def test_history_reads_in_a_fixed_number_of_queries(site):
    store, ids = site
    for n in range(6):  # more earlier calls, each with a complaint filed in it
        cid = await store.calls.create(caller=CALLER, started_at=at(40 + n))
        await store.tickets.create("complaint", call_id=cid, created_at=at(40 + n))
    h = await store.desk.caller_hash(ids["now"])
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        if " calls" in statement or " tickets" in statement:
            statements.append(statement)

    engine = store.database.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        got = await store.desk.history(h, exclude_call=ids["now"], limit=20)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(got) == 2 * 6 + 5 and len(statements) == 2, statements


async def test_the_pop_says_an_earlier_complaint_is_unfinished_in_staff_words(site):
    store, ids = site
    pop = await build_pop(store, ids["now"], queue="hotline", hold_s=5, member=None)
    [own] = pop["tickets"]
    assert own["public_id"] == ids["this_call"] and own["status"] == "open" and own["status_label"] == "Baru"
    assert own["kind_label"] == "Pengaduan"
    history = {h["id"]: h for h in pop["history"]}
    assert ids["this_call"] not in history and ids["now"] not in history
    unfinished = history[ids["unfinished"]]
    assert unfinished["summary"] == "Pengaduan / Kebersihan / Baru / Belum lengkap"
    assert unfinished["incomplete"] is True and unfinished["status"] == "open" and unfinished["status_label"] == "Baru"
    assert unfinished["hangup"]["sentence"] == "Penelepon menutup telepon saat menyebutkan nomor telepon."
    assert unfinished["display_id"].count("-") == 2
    finished = history[ids["finished"]]
    assert finished["summary"] == "Pengaduan / Jalan dan fasilitas umum / Baru" and finished["incomplete"] is False
    assert history[ids["callback"]]["summary"] == "Minta ditelepon / Baru"
    assert history[ids["call_cut"]]["summary"] == "Pengaduan / Penelepon menutup telepon"
    assert history[ids["call_old"]]["summary"] == "Pengaduan / Selesai"
    # no raw code in what the desk shows, and the number stays masked
    parts = {p for h in pop["history"] for p in h["summary"].split(" / ")}
    assert not parts & {"open", "complaint", "callback", "caller_hangup", "completed", "kebersihan", "pengaduan"}
    assert CALLER not in str(pop)


async def test_a_service_the_catalog_does_not_know_reads_as_words_in_office_time(site):
    # an intent a script editor added: the history says "Layanan izin usaha", never "izin_usaha"
    store, ids = site
    c = await store.calls.create(caller=CALLER, started_at=at(50))   # 03:50 UTC = 10:50 in Jakarta
    await store.calls.close(c, "transferred", ended_at=at(52), service="izin_usaha")
    pop = await build_pop(store, ids["now"], queue="hotline", hold_s=5, member=None)
    entry = {h["id"]: h for h in pop["history"]}[c]
    assert entry["summary"] == "Layanan izin usaha / Dialihkan ke petugas"
    assert entry["service"] == "izin_usaha"                     # the code stays for logic
    assert entry["at_text"] == "02-11-2026 10:50"               # the office's time, as the pages write it
    unfinished = {h["id"]: h for h in pop["history"]}[ids["unfinished"]]
    assert unfinished["at_text"] == "02-11-2026 10:24"


async def test_the_pop_reads_the_hand_off_context_in_staff_words_with_personal_data_masked(site):
    store, ids = site
    await store.handoffs.save_context(ids["now"], {
        "call_id": ids["now"], "caller": CALLER, "intent": "pengaduan", "reason": "not_understood",
        "slots": {"category": "kebersihan", "location": "Jl. Kenanga 5", "reporter_name": "Siti Aminah",
                  "reporter_nik": "3171234567890123", "reporter_phone": CALLER, "confidential": "false",
                  "follow_up_date": "besok"}})
    pop = await build_pop(store, ids["now"], queue="hotline", hold_s=5, member=None)
    assert (pop["purpose"], pop["purpose_label"]) == ("pengaduan", "Pengaduan")
    assert (pop["reason"], pop["reason_label"]) == ("not_understood", "Sistem belum memahami")
    rows = dict(pop["slot_rows"])
    assert rows == {"Jenis pengaduan": "Kebersihan", "Lokasi kejadian": "Jl. Kenanga 5",
                    "Nama pelapor": "Disamarkan (data pribadi)", "NIK pelapor": "Disamarkan (data pribadi)",
                    "Nomor telepon pelapor": "Disamarkan (data pribadi)", "Dirahasiakan": "Tidak",
                    "Follow up date": "besok"}
    assert "3171234567890123" not in str(pop) and "Siti" not in str(pop) and CALLER not in str(pop)
    # a reason or service no label knows still reads as words, never crashes
    await store.handoffs.save_context(ids["now"], {"intent": "izin_usaha", "reason": "no_input_limit"})
    pop = await build_pop(store, ids["now"], queue="hotline", hold_s=5, member=None)
    assert (pop["purpose_label"], pop["reason_label"]) == ("Layanan izin usaha", "Penelepon tidak menjawab")
    assert pop["slot_rows"] == []


async def test_a_personal_slot_the_masker_does_not_know_by_name_stays_masked_on_the_pop(site):
    """A field a script editor named (a name under "nama_pemohon", a WhatsApp number) or the
    number to call back as a foreign caller ID: the masker's field names and number patterns
    miss them, the pop does not show them (neither in its rows nor in the codes beside them)."""
    store, ids = site
    await store.handoffs.save_context(ids["now"], {
        "intent": "izin_usaha", "reason": "caller_request",
        "slots": {"nama_pemohon": "Budi Santoso", "callback_number": "+6591234567", "no_wa": "+65 9123 4567",
                  "kecamatan": "Cicalengka", "topic": "izin_usaha"}})
    pop = await build_pop(store, ids["now"], queue="hotline", hold_s=5, member=None)
    rows = dict(pop["slot_rows"])
    assert rows["Nama pemohon"] == rows["Nomor telepon balik"] == rows["No wa"] == "Disamarkan (data pribadi)"
    assert rows["Kecamatan"] == "Cicalengka" and rows["Keperluan"] == "Layanan izin usaha"
    assert "Budi" not in str(pop) and "9123" not in str(pop)
    assert pop["slots"]["kecamatan"] == "Cicalengka" and pop["slots"]["topic"] == "izin_usaha"


async def test_a_yes_or_no_reads_as_a_word_as_the_default_script_writes_it(site):
    # the default script sets confidential: "ya" / "tidak" (not "true"): the pop says "Ya"
    store, ids = site
    for given, shown in (("ya", "Ya"), ("tidak", "Tidak"), (True, "Ya"), ("false", "Tidak")):
        await store.handoffs.save_context(ids["now"], {"intent": "pengaduan", "slots": {"confidential": given}})
        pop = await build_pop(store, ids["now"], queue="hotline", hold_s=5, member=None)
        assert dict(pop["slot_rows"]) == {"Dirahasiakan": shown}, given


async def test_the_purpose_is_the_service_not_a_follow_up_question_heard_last(site):
    # the caller heard the KTP answer, asked the fee, then was handed over: the purpose is KTP,
    # not "Layanan tanya biaya"; a service of the catalog heard last stays the purpose
    store, ids = site
    for intent, service, purpose, words in (("tanya_biaya", "ktp", "ktp", "KTP elektronik"),
                                            ("ulangi", "izin_usaha", "izin_usaha", "Layanan izin usaha"),
                                            ("petugas", "ktp", "petugas", "Minta petugas"),
                                            ("pengaduan", None, "pengaduan", "Pengaduan")):
        await store.handoffs.save_context(ids["now"], {"intent": intent, "service": service})
        pop = await build_pop(store, ids["now"], queue="hotline", hold_s=5, member=None)
        assert (pop["purpose"], pop["purpose_label"]) == (purpose, words), intent


async def test_the_callback_list_keeps_the_soonest_promised_when_there_are_more(make_store, tmp_path):
    """More open callbacks than the list shows: the limit keeps the soonest promised ones, not
    whichever rows the database returns first (on SQLite and PostgreSQL)."""
    store = await make_store(pii=Pii("mask", PII_TEST_KEY), outbox_dir=tmp_path / "outbox")
    made = {}
    order = (70, 60, 50, 40, 30, 20, 10, 0)    # the soonest filed last (as a re-promised one may be)
    for minutes in order:
        made[minutes] = await store.tickets.create("callback", reporter_phone=OTHER, created_at=at(minutes))
    shown = await store.desk.callbacks(limit=3)
    assert [i.public_id for i in shown] == [made[0], made[10], made[20]]
    assert [i.public_id for i in await store.desk.callbacks()] == [made[m] for m in sorted(order)]
