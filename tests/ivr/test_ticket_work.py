"""Ticket lists show who works a ticket and by when (issue 13): owner, assignment queue and
agency, the SLA countdown or "terlambat"; filters "milik saya" and overdue, on the ticket list
page and on the desk's callback list."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from ivr.web import create_app
from ivr.web.labels import sla_left
from tests.ivr.staff import asgi_client, make_account, sign_in, staff_store


@pytest.fixture
async def seeded(tmp_path, monkeypatch):
    settings, store = await staff_store(tmp_path, monkeypatch)
    await make_account(store, "agent", "rina")
    await make_account(store, "supervisor", "sari")
    now = store.clock()
    t = {}
    # rina's, late by 3 hours; budi's, due in 2 days; nobody's, its SLA day long gone; rina's, late but resolved
    t["late_mine"] = await store.tickets.create("complaint", category="jalan", agency="DPUTR")
    await store.desk.assign(t["late_mine"], owner="rina", assign_queue="infrastruktur",
                            sla_due_at=now - timedelta(hours=3, minutes=5))
    t["budi"] = await store.tickets.create("complaint", category="air", agency="PDAM")
    await store.desk.assign(t["budi"], owner="budi", assign_queue="air-bersih",
                            sla_due_at=now + timedelta(days=2, hours=1, minutes=30))
    t["old"] = await store.tickets.create("complaint", category="ktp", created_at=now - timedelta(days=30))
    t["done"] = await store.tickets.create("complaint", category="sampah")
    await store.desk.assign(t["done"], owner="rina", sla_due_at=now - timedelta(days=1))
    await store.tickets.update_status(t["done"], "in_progress")
    await store.tickets.update_status(t["done"], "resolved")
    t["cb_mine"] = await store.tickets.create("callback", reporter_phone="081234567890", agency="Disdukcapil")
    await store.desk.assign(t["cb_mine"], owner="rina", assign_queue="kependudukan",
                            sla_due_at=now - timedelta(minutes=20))
    t["cb_other"] = await store.tickets.create("callback", reporter_phone="081298765432")
    await store.desk.assign(t["cb_other"], owner="budi", sla_due_at=now + timedelta(hours=5))
    yield create_app(settings, store), store, t
    await store.close()


def _row(html: str, pid: str) -> str:
    m = re.search(rf'<tr data-ticket="{pid}">(.*?)</tr>', html, re.S)
    assert m, f"no row for {pid}"
    return m.group(1)


def _cell(row: str, cls: str) -> str:
    m = re.search(rf'<td class="{cls}[^"]*">(.*?)</td>', row, re.S)
    assert m, f"no {cls} cell"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(1))).strip()


def test_countdown_words():
    assert sla_left(2 * 86400 + 3 * 3600 + 59) == "sisa 2 hari 3 jam"
    assert sla_left(-(3 * 3600 + 5 * 60)) == "terlambat 3 jam 5 menit"
    assert sla_left(-10) == "terlambat 1 menit"
    assert sla_left(-86400, closed=True) == "-"


async def test_ticket_list_shows_owner_queue_agency_and_countdown_and_filters(seeded):
    app, store, t = seeded
    async with asgi_client(app) as c:
        await sign_in(c, "rina")
        html = (await c.get("/tickets")).text
        late = _row(html, t["late_mine"])
        assert _cell(late, "owner") == "rina" and _cell(late, "queue") == "infrastruktur · DPUTR"
        assert "terlambat 3 jam 5 menit" in _cell(late, "sla") and 'class="sla overdue"' in late
        # the deadline shown is the one the countdown counts to (the assignment's), in local time
        due = (await store.desk.work([t["late_mine"]], store.tickets.tz))[t["late_mine"]].deadline
        assert _cell(late, "sla").startswith(due.astimezone(store.tickets.tz).strftime("%d-%m-%Y %H:%M "))
        budi = _row(html, t["budi"])
        assert _cell(budi, "owner") == "budi" and _cell(budi, "queue") == "air-bersih · PDAM"
        assert "sisa 2 hari 1 jam" in _cell(budi, "sla") and "overdue" not in budi
        old = _row(html, t["old"])
        assert _cell(old, "owner") == "Belum ada" and "terlambat" in _cell(old, "sla")
        done = _row(html, t["done"])
        assert "(-)" in _cell(done, "sla") and "overdue" not in done       # resolved: no countdown
        mine = (await c.get("/tickets?mine=1")).text
        assert set(re.findall(r'<tr data-ticket="(\d+)"', mine)) == {t["late_mine"], t["done"], t["cb_mine"]}
        assert 'id="f-mine" checked' in mine
        late_only = (await c.get("/tickets?overdue=1")).text
        assert set(re.findall(r'<tr data-ticket="(\d+)"', late_only)) == {t["late_mine"], t["old"], t["cb_mine"]}
        both = (await c.get("/tickets?overdue=1&mine=1&kind=complaint")).text
        assert re.findall(r'<tr data-ticket="(\d+)"', both) == [t["late_mine"]]
    entries = await store.audit.entries(action="list_tickets", limit=5)
    assert any("mine=1 overdue=1" in (e.detail or "") for e in entries)


async def test_desk_callback_list_shows_owner_and_sla_and_filters(seeded):
    app, store, t = seeded
    async with asgi_client(app) as c:
        await sign_in(c, "rina")
        items = {i["ticket"]: i for i in (await c.get("/api/desk/callbacks")).json()["callbacks"]}
        assert set(items) == {t["cb_mine"], t["cb_other"]}
        mine = items[t["cb_mine"]]
        assert (mine["owner"], mine["assign_queue"], mine["agency"]) == ("rina", "kependudukan", "Disdukcapil")
        assert mine["overdue"] is True and mine["sla_text"] == "terlambat 20 menit" and mine["sla_left_s"] < 0
        other = items[t["cb_other"]]
        assert other["overdue"] is False and other["sla_text"].startswith(("sisa 4 jam", "sisa 5 jam"))
        assert [i["ticket"] for i in (await c.get("/api/desk/callbacks?mine=1")).json()["callbacks"]] == [t["cb_mine"]]
        assert [i["ticket"] for i in (await c.get("/api/desk/callbacks?overdue=1")).json()["callbacks"]] == \
            [t["cb_mine"]]
        page = (await c.get("/desk")).text
        assert 'id="cb-mine"' in page and 'id="cb-overdue"' in page and "Milik saya" in page
