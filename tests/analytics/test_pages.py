"""The analytics pages through the real web app (ASGI, bearer token) on the demo history, on
SQLite and PostgreSQL: every page renders its figures, every table downloads as CSV with the
export notice, regional counts under 5 show as "<5", stuck states link to the script pages,
the schedule is editable, and no NIK, phone number or name appears anywhere."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import datetime, time, timedelta, timezone

import pytest

from ivr.analytics.privacy import scan_personal_data
from ivr.config.clock import fixed_clock
from ivr.config.settings import load_settings
from ivr.privacy.pii import Pii
from ivr.storage import Store
from ivr.web import create_app
from tests.analytics.conftest import END
from tests.conftest import PII_TEST_KEY
from tests.ivr.staff import api_token, asgi_client, make_account

PAGES = ("/analytics", "/analytics/forecast", "/analytics/complaints", "/analytics/alerts", "/analytics/stuck",
         "/analytics/asks", "/analytics/beyond", "/analytics/reports")


def web_store(demo, at: datetime) -> Store:
    """A second store on the demo database whose clock is stopped at ``at``."""
    db = demo.store.database
    return Store(db.url, pii=Pii("encrypt", PII_TEST_KEY), schema=db.schema, clock=fixed_clock(at),
                 timezone_name="Asia/Jakarta")


def app_for(demo, tmp_path, monkeypatch, at: datetime):
    for k in ("IVR_CONFIG_FILE",):
        monkeypatch.delenv(k, raising=False)
    settings = load_settings(data_dir=tmp_path / "data", pii_mode="encrypt", pii_key=PII_TEST_KEY)
    store = web_store(demo, at)
    return create_app(settings, store), store, settings


async def staff(store: Store, role: str) -> tuple[str, str]:
    """An account of ``role`` on the (shared) demo database and a personal API token for it."""
    user, _ = await make_account(store, role, f"{role}-{uuid.uuid4().hex[:8]}")
    return user, await api_token(store, user)


@pytest.fixture
async def client(demo, tmp_path, monkeypatch):
    at = datetime.combine(END, time(20, 0), tzinfo=demo.src.tz)
    app, store, settings = app_for(demo, tmp_path, monkeypatch, at)
    _, token = await staff(store, "supervisor")
    async with asgi_client(app, token) as c:
        c.app = app            # type: ignore[attr-defined]
        c.store = store        # type: ignore[attr-defined]
        c.settings = settings  # type: ignore[attr-defined]
        yield c
    store.database.engine.dispose()


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def _csv_links(html: str) -> list[str]:
    return sorted(set(re.findall(r'href="(/analytics/[a-z]+/[a-z_]+\.csv[^"]*)"', html)))


async def test_pages_render_and_tables_download(client, demo):
    seen: list[str] = []
    for path in PAGES:
        r = await client.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert '<script src="/static/vendor/echarts/echarts.min.js"></script>' in r.text
        seen.append(r.text)
        for link in _csv_links(r.text):
            c = await client.get(link.replace("&amp;", "&"))
            assert c.status_code == 200, link
            assert c.headers["content-type"].startswith("text/csv")
            rows = list(csv.reader(io.StringIO(c.text)))
            assert rows[2][0].startswith("# Isi: angka agregat"), link     # says what it contains
            assert "Tidak memuat NIK" in rows[2][0]
            seen.append(c.text)
    dash = seen[0]
    assert "Panggilan minggu ini" in dash and "Kepatuhan SLA (minggu)" in dash
    assert 'id="table-sla_instansi"' in dash and 'id="table-peringatan_aktif"' in dash
    # every page and export is free of personal data
    for text in seen:
        assert scan_personal_data(text) == []


async def test_dashboard_figures_match_the_queries(client, demo):
    from ivr.analytics.queries import overview

    r = await client.get(f"/analytics?tanggal={END.isoformat()}")
    week_start = END - timedelta(days=END.weekday())
    ov = overview(demo.src, week_start, END)
    text = _text(r.text)
    assert f"{ov.calls:,}".replace(",", ".") in text
    c = await client.get(f"/analytics/dashboard/ringkasan.csv?tanggal={END.isoformat()}")
    rows = {row[0]: row for row in csv.reader(io.StringIO(c.text)) if row and not row[0].startswith("#")}
    assert rows["Panggilan"][2] == f"{ov.calls:,}".replace(",", ".")


async def test_forecast_page_states_quality_and_staffing(client):
    r = await client.get("/analytics/forecast")
    text = _text(r.text)
    assert "Ketepatan prakiraan" in text and "naif musiman" in text
    assert re.search(r"untuk \d+ dari \d+ layanan", text)
    assert 'id="table-kebutuhan_petugas"' in r.text and "Petugas dibutuhkan" in text
    assert 'data-kind="band"' in r.text
    # the schedule is editable (form with CSRF for sessions; bearer here)
    bad = await client.post("/analytics/forecast/schedule", data={"schedule": "every day lots", "csrf": ""})
    assert bad.status_code in (400, 403)


async def test_schedule_edit_changes_scheduled_agents(client):
    svc_before = await client.get("/analytics/forecast/jadwal_petugas.csv")
    assert "Sen" in svc_before.text
    from ivr.web.routes.analytics import service

    svc = service_of(client)
    await svc.set_schedule("Mon-Fri 08-16=7", "admin:test")
    c = await client.get("/analytics/forecast/jadwal_petugas.csv")
    rows = [r for r in csv.reader(io.StringIO(c.text)) if r and r[0] == "Sen"]
    assert rows[0][1 + 9] == "7"
    assert await client.store.analytics.setting("staff_schedule") == "Mon-Fri 08-16=7"
    assert service is not None


def service_of(client):
    from ivr.web.routes.analytics import service

    class _Req:
        app = client.app
    return service(_Req())  # type: ignore[arg-type]


async def test_heat_table_hides_small_counts(client, demo):
    from ivr.analytics.complaints import complaint_patterns

    cp = complaint_patterns(demo.src, END - timedelta(days=27), END, with_topics=False)
    small = sum(1 for _, _, counts in cp.heat for n in counts if 0 < n < 5)
    assert small > 0, "the demo should have small cells"
    c = await client.get(f"/analytics/complaints/kecamatan_kategori.csv?tanggal={END.isoformat()}")
    body = [r for r in csv.reader(io.StringIO(c.text)) if r and not r[0].startswith("#")][1:]
    cells = [x for r in body for x in r[1:]]
    assert cells.count("<5") == small
    assert not any(x in {"1", "2", "3", "4"} for x in cells)
    r = await client.get(f"/analytics/complaints?tanggal={END.isoformat()}")
    # the chart data carries no hidden value either
    assert '"hidden_label": "&lt;5"' in r.text or "&#34;hidden_label&#34;: &#34;&lt;5&#34;" in r.text


async def test_stuck_states_link_to_the_script_pages(client):
    r = await client.get(f"/analytics/stuck?tanggal={END.isoformat()}")
    links = re.findall(r'href="(/admin/scripts/[^"#]+#state-[^"]+)"', r.text)
    assert links, r.text[:1000]


async def test_only_supervisors_and_admins_open_analytics(client):
    _, agent = await staff(client.store, "agent")
    r = await client.get("/analytics", headers={"Authorization": f"Bearer {agent}"})
    assert r.status_code == 403
    r = await client.get("/analytics/dashboard/ringkasan.csv", headers={"Authorization": f"Bearer {agent}"})
    assert r.status_code == 403
    _, admin = await staff(client.store, "admin")
    assert (await client.get("/analytics/stuck", headers={"Authorization": f"Bearer {admin}"})).status_code == 200


async def test_reports_listed_and_downloadable(client, tmp_path):
    folder = client.settings.data_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "laporan-harian-2026-11-30.csv").write_text("# laporan\n", "utf-8")
    (folder / "notes.txt").write_text("x", "utf-8")
    r = await client.get("/analytics/reports")
    assert "laporan-harian-2026-11-30.csv" in r.text and "notes.txt" not in r.text
    d = await client.get("/analytics/reports/laporan-harian-2026-11-30.csv")
    assert d.status_code == 200 and d.text == "# laporan\n"
    assert (await client.get("/analytics/reports/notes.txt")).status_code == 404
    assert (await client.get("/analytics/reports/..%2Fivr.sqlite3")).status_code == 404


async def test_follow_up_questions_per_service(client, demo):
    """The demo's callers ask after the answers; the page shows, per service in staff words,
    how many of those who heard the answer asked each question, with the script's labels."""
    from dialogs import default_script_path, load_script
    from ivr.analytics.follow_ups import FollowUpSpec, follow_up_questions

    r = await client.get(f"/analytics/asks?tanggal={END.isoformat()}")
    assert r.status_code == 200
    text = _text(r.text)
    assert "Pertanyaan lanjutan setelah jawaban" in text and 'id="table-pertanyaan_lanjutan"' in r.text
    assert 'href="/analytics/asks" aria-current="page"' in r.text
    c = await client.get(f"/analytics/asks/pertanyaan_lanjutan.csv?tanggal={END.isoformat()}")
    rows = [row for row in csv.reader(io.StringIO(c.text)) if row and not row[0].startswith("#")]
    assert rows[0] == ["Layanan", "Mendengar jawaban", "Bertanya lanjutan", "Menanyakan persyaratan",
                       "Menanyakan biaya", "Menanyakan tempat pengurusan", "Menanyakan jam pelayanan",
                       "Menanyakan lama proses", "Menanyakan nomor tiket"]
    body = {row[0]: row for row in rows[1:]}
    rep = follow_up_questions(demo.src, END - timedelta(days=27), END,
                              FollowUpSpec.from_script(load_script(default_script_path())))
    ktp = next(s for s in rep.services if s.service == "ktp")
    where = next(q for q in ktp.questions if q.intent == "tanya_tempat")
    assert ktp.heard >= 5 and where.calls >= 5, ktp
    assert body["KTP elektronik"][1] == f"{ktp.heard:,}".replace(",", ".")
    share = f"{where.share * 100:.1f}%".replace(".", ",")
    assert body["KTP elektronik"][5] == f"{where.calls:,}".replace(",", ".") + f" ({share})"
    assert body["Pengaduan"][8] != "-"                   # after a complaint: the ticket number again
    assert body["KTP elektronik"][8] == "-"              # no ticket number after the KTP answer
    assert body["Pajak kendaraan"][7] not in ("-", "0")  # its answer offers processing time
    cells = [x for row in rows[1:] for x in row[1:]]
    assert not any(x.split(" ")[0] in {"1", "2", "3", "4"} for x in cells)   # small counts are "<5"
    assert "Paling sering ditanyakan" in text


async def test_requests_outside_the_services_per_topic(client, demo):
    """The demo's callers sometimes ask for what the hotline does not handle first (passports,
    PLN...); the page counts the calls per topic in the script's words, small counts as "<5"."""
    from dialogs import default_script_path, load_script
    from ivr.analytics.beyond import BeyondSpec, beyond_requests

    r = await client.get(f"/analytics/beyond?tanggal={END.isoformat()}")
    assert r.status_code == 200
    text = _text(r.text)
    assert "Permintaan di luar layanan" in text and 'id="table-di_luar_layanan"' in r.text
    assert 'href="/analytics/beyond" aria-current="page"' in r.text
    assert "Paling sering diminta" in text and 'id="chart-di_luar_layanan"' in r.text
    c = await client.get(f"/analytics/beyond/di_luar_layanan.csv?tanggal={END.isoformat()}")
    rows = [row for row in csv.reader(io.StringIO(c.text)) if row and not row[0].startswith("#")]
    assert rows[0] == ["Topik", "Panggilan", "Porsi dari semua panggilan"]
    body = {row[0]: row[1:] for row in rows[1:]}
    rep = beyond_requests(demo.src, END - timedelta(days=27), END,
                          BeyondSpec.from_script(load_script(default_script_path())))
    top = rep.asked[0]
    assert top.calls >= 5 and rep.calls > 0, rep
    share = f"{top.share * 100:.1f}%".replace(".", ",")
    assert body[top.label] == [f"{top.calls:,}".replace(",", "."), share]
    assert body["Semua topik"][0] == f"{rep.beyond:,}".replace(",", ".")
    assert "Paspor dan imigrasi" in body and "SIM dan kepolisian (SKCK, tilang)" in body
    assert not any(x in {"1", "2", "3", "4"} for row in rows[1:] for x in row[1:])   # small counts are "<5"
    assert all(v[1] == "-" for v in body.values() if v[0] == "<5")                     # with no share


async def test_requests_outside_the_services_empty_state(tmp_path, monkeypatch):
    settings = load_settings(data_dir=tmp_path / "data", pii_mode="encrypt", pii_key=PII_TEST_KEY)
    store = Store(f"sqlite:///{tmp_path / 'empty.sqlite3'}", pii=Pii("encrypt", PII_TEST_KEY),
                  clock=fixed_clock(datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)), timezone_name="Asia/Jakarta")
    await store.amigrate()
    _, token = await staff(store, "supervisor")
    try:
        async with asgi_client(create_app(settings, store), token) as c:
            r = await c.get("/analytics/beyond")
        assert r.status_code == 200
        assert "Belum ada panggilan pada periode ini." in r.text
        # the script's topics are listed, at 0
        assert "Paspor dan imigrasi" in r.text
    finally:
        await store.close()


async def test_follow_up_questions_empty_state(tmp_path, monkeypatch):
    """A hotline with no calls yet: the table says so in words staff read."""
    settings = load_settings(data_dir=tmp_path / "data", pii_mode="encrypt", pii_key=PII_TEST_KEY)
    store = Store(f"sqlite:///{tmp_path / 'empty.sqlite3'}", pii=Pii("encrypt", PII_TEST_KEY),
                  clock=fixed_clock(datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)), timezone_name="Asia/Jakarta")
    await store.amigrate()
    _, token = await staff(store, "supervisor")
    try:
        async with asgi_client(create_app(settings, store), token) as c:
            r = await c.get("/analytics/asks")
        assert r.status_code == 200
        assert "Belum ada panggilan yang mendengar jawaban layanan pada periode ini." in r.text
        assert "Tidak ada data." in r.text
    finally:
        await store.close()
