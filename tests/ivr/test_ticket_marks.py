"""A complaint filed when the caller hung up shows its marks where staff read it: the "Belum
lengkap" badge on the list (and a filter for them), the step the caller stopped at in words on
the ticket, the field the hang-up cut, the call page and the desk's pop; nothing personal is
newly shown (the marks are read from the masked ``extra``)."""

from __future__ import annotations

import re

import pytest

from dialogs import CallStarted, CreateTicket, CutAnswer, DialogEngine, Hangup, Heard, Pressed
from dialogs import default_script_path
from dialogs.loader import load_script
from ivr.calls.tickets import file_ticket
from ivr.desk.marks import CUT_NOTE, hangup_marks, step_label
from ivr.desk.pop import build_pop
from ivr.web import create_app
from tests.ivr.staff import asgi_client, make_account, sign_in, staff_store

CALLER = "081234567890"


def hangup_fields(state: str, cut: str | None) -> dict[str, object]:
    """The fields the engine files when the caller hangs up in ``state`` of the default script
    (cut short while saying ``cut`` there, if given)."""
    e = DialogEngine(load_script(default_script_path()), strict=True)
    e.handle(CallStarted(caller_number=CALLER, call_id="c1", today="2026-12-07"))
    for ev in (Pressed("5"), Pressed("2")):  # complaints, then "kebersihan"
        e.handle(ev)
    answers = {"complaint_location": [], "complaint_description": [Heard("di jalan merdeka kelurahan sukamaju")],
               "complaint_identity": [Heard("di jalan merdeka kelurahan sukamaju"),
                                      Heard("sampahnya tidak diangkut sejak minggu lalu")]}[state]
    for ev in answers:
        e.handle(ev)
    assert e.state == state
    out = e.handle(Hangup(cut=CutAnswer(state, cut) if cut else None))
    [ticket] = [a for a in out if isinstance(a, CreateTicket)]
    return dict(ticket.fields)


@pytest.fixture
async def site(tmp_path, monkeypatch):
    settings, store = await staff_store(tmp_path, monkeypatch, pii_mode="encrypt")
    await make_account(store, "agent", "rina")
    cut_call = await store.calls.create(caller=CALLER)
    cut = await file_ticket(store.tickets, "complaint",
                            hangup_fields("complaint_description", f"sampahnya menumpuk, telepon saya {CALLER} dan"),
                            call_id=cut_call, client_id=f"{cut_call}-t1")
    stopped = await file_ticket(store.tickets, "complaint", hangup_fields("complaint_identity", None),
                                call_id=await store.calls.create(caller=CALLER), client_id="x-t1")
    done = await store.tickets.create("complaint", category="kebersihan", location="Jl. Melati",
                                      description="sampah menumpuk")
    yield {"app": create_app(settings, store), "store": store, "cut": cut, "stopped": stopped, "done": done,
           "cut_call": cut_call}
    await store.close()


def visible(html: str) -> str:
    """The page's text as read (tags and attributes dropped)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_ticket_page_says_unfinished_where_the_caller_stopped_and_what_was_cut(site):
    async with asgi_client(site["app"]) as c:
        await sign_in(c, "rina")
        page = (await c.get(f"/tickets/{site['cut']}")).text
        text = visible(page)
        assert 'id="incomplete-badge"' in page and "Belum lengkap" in text
        assert "Penelepon menutup telepon saat menceritakan kejadiannya." in text
        # the mark sits on the field that was cut, the value keeps its ' …'
        description = re.search(r'<dd id="description">(.*?)</dd>', page, re.S).group(1)
        assert 'id="cut-description"' in description and CUT_NOTE in description and "…" in description
        assert 'id="cut-location"' not in page
        assert "Isian uraian kejadian terpotong saat penelepon menutup telepon" in text
        # the state id is never what staff read; the caller's number said in the words stays masked
        assert "complaint_description" not in text and CALLER not in page

        page = (await c.get(f"/tickets/{site['stopped']}")).text
        text = visible(page)
        assert "Belum lengkap" in text and 'id="cut-note"' not in page and "cut-description" not in page
        assert "Penelepon menutup telepon saat ditanya kesediaan mencantumkan nama dan nomor telepon." in text

        page = (await c.get(f"/tickets/{site['done']}")).text
        assert "Belum lengkap" not in page and "hangup-marks" not in page


async def test_the_list_badges_unfinished_complaints_and_filters_them(site):
    async with asgi_client(site["app"]) as c:
        await sign_in(c, "rina")
        page = (await c.get("/tickets")).text
        rows = dict(re.findall(r'<tr data-ticket="(\d+)">(.*?)</tr>', page, re.S))
        assert set(rows) == {site["cut"], site["stopped"], site["done"]}
        assert "Belum lengkap" in rows[site["cut"]] and "Belum lengkap" in rows[site["stopped"]]
        assert "Belum lengkap" not in rows[site["done"]]
        assert 'id="f-incomplete"' in page and 'id="f-incomplete" checked' not in page

        page = (await c.get("/tickets?incomplete=1&kind=complaint")).text
        assert set(re.findall(r'<tr data-ticket="(\d+)">', page)) == {site["cut"], site["stopped"]}
        assert 'id="f-incomplete" checked' in page
    entries = await site["store"].audit.entries(action="list_tickets", limit=5)
    assert any("incomplete=1" in (e.detail or "") for e in entries)


async def test_the_call_page_and_the_desk_pop_carry_the_marks(site):
    async with asgi_client(site["app"]) as c:
        await sign_in(c, "rina")
        text = visible((await c.get(f"/agent/calls/{site['cut_call']}")).text)
        assert "Belum lengkap" in text and "Penelepon menutup telepon saat menceritakan kejadiannya." in text
    pop = await build_pop(site["store"], site["cut_call"], queue="hotline", hold_s=3, member=None)
    [ticket] = pop["tickets"]
    assert ticket["hangup"] == {"incomplete": True, "stopped_at": "complaint_description",
                                "step": "menceritakan kejadiannya",
                                "sentence": "Penelepon menutup telepon saat menceritakan kejadiannya.",
                                "cut_field": "description", "cut_label": "uraian kejadian"}
    assert CALLER not in str(ticket)


def test_a_step_reads_in_words_whatever_the_script_calls_it():
    assert step_label("complaint_location") == "menyebutkan lokasi kejadian"
    # a state a script editor added: a slot word in its id names it, else its words do
    assert step_label("laporan_lokasi_ulang") == "menyebutkan lokasi kejadian"
    assert step_label("follow_up_ask") == "berada di langkah «follow up ask»"
    assert hangup_marks(None) is None and hangup_marks({"note": "x"}) is None
    # anything but an id in the marks is not shown
    m = hangup_marks({"incomplete": "true", "stopped_at": "<b>x</b> y", "cut_by_hangup": 5})
    assert m is not None and m.incomplete and m.stopped_at is None and m.cut_field is None
    assert m.sentence == "Penelepon menutup telepon sebelum pengaduan selesai dicatat."


async def test_the_filter_finds_the_mark_however_it_was_filed(store):
    # SQLite and PostgreSQL: JSON true, a script's text "ya"; not false, another key, no extra
    ids = [await store.tickets.create("complaint", description="x", extra=extra)
           for extra in ({"incomplete": True, "stopped_at": "complaint_location"}, {"incomplete": "ya"},
                         {"incomplete": False}, {"note": "x"}, None)]
    found = {t.public_id for t in await store.tickets.query(incomplete=True)}
    assert found == set(ids[:2])
    assert len(await store.tickets.query(incomplete=True, status="closed")) == 0
    assert len(await store.tickets.query()) == 5


def test_every_labelled_step_is_a_state_of_the_default_script():
    """The fixed step labels name states the default script has: a renamed state would fall
    back to the generic wording without anyone noticing."""
    from dialogs import default_script_path, load_script
    from ivr.desk.marks import STEP_LABELS

    script = load_script(default_script_path())
    assert set(STEP_LABELS) <= set(script.states), sorted(set(STEP_LABELS) - set(script.states))
    complaint = {s for s in script.states if s.startswith("complaint_")}
    # and every state of its complaint flow that a caller can stop in has one
    assert complaint <= set(STEP_LABELS), sorted(complaint - set(STEP_LABELS))
