"""No NIK, phone number or name leaves through analytics: complaints with a planted NIK, phone
number and name (in the reporter fields and in the free-text description, many times over so
that they could surface as a topic) are filed through the hotline's own storage into a demo
history; then every analytics page, every table's CSV, the metrics and the reports (HTML, CSV,
and the PDF's text) are scanned."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, time, timedelta

import pytest

from ivr.analytics.privacy import scan_personal_data
from tests.analytics.conftest import END
from tests.analytics.test_pages import PAGES, app_for, staff, web_store
from tests.ivr.staff import asgi_client

NIK = "3201234567890123"
PHONE = "081298765432"
NAMES = ("Slamet Widodo", "Rahayu Kusumawati")
DESCRIPTIONS = (
    "Saya {name} NIK {nik} nomor {phone}, lampu jalan mati di depan rumah {name}",
    "Atas nama {name}, hubungi {phone_spaced}. Jalan berlubang dekat rumah {first}, NIK saya {nik}",
    "{first} {last} melapor sampah menumpuk, telepon {phone}",
)


async def _plant(demo) -> None:
    for i in range(60):
        day = END - timedelta(days=i % 20)
        store = web_store(demo, datetime.combine(day, time(10, i % 60), tzinfo=demo.src.tz))
        try:
            name = NAMES[i % 2]
            first, last = name.split(" ")
            text = DESCRIPTIONS[i % 3].format(name=name, nik=NIK, phone=PHONE, first=first, last=last,
                                              phone_spaced="0812 9876 5432")
            await store.tickets.create("complaint", category="jalan", location=f"RT 03 rumah {name}",
                                       description=text, reporter_name=name, reporter_nik=NIK,
                                       reporter_phone=PHONE)
        finally:
            await store.close()


@pytest.fixture
async def planted(demo_factory, backend):
    demo = demo_factory(backend, days=35, seed=23, calls_per_day=120, incidents=False)
    if not getattr(demo, "planted", False):
        await _plant(demo)
        demo.planted = True       # type: ignore[attr-defined]
    return demo


def _scan(text: str) -> list[str]:
    found = scan_personal_data(text, NAMES + tuple(n.split(" ")[1] for n in NAMES))
    # the names' distinctive words, alone or stemmed, in any case
    found += [w for w in ("slamet", "widodo", "rahayu", "kusumawati") if re.search(rf"\b{w}", text, re.I)]
    return found


async def test_no_personal_data_in_pages_exports_or_reports(planted, tmp_path, monkeypatch):
    from ivr.analytics.reports import build_report, render_csv, render_html, render_pdf

    app, store, _ = app_for(planted, tmp_path, monkeypatch, datetime.combine(END, time(20), tzinfo=planted.src.tz))
    outputs: dict[str, str] = {}
    _, token = await staff(store, "supervisor")
    try:
        async with asgi_client(app, token) as c:
            for path in PAGES + ("/analytics/complaints?tanggal=" + END.isoformat(), "/metrics"):
                r = await c.get(path)
                assert r.status_code == 200, path
                outputs[path] = r.text
                for link in set(re.findall(r'href="(/analytics/[a-z]+/[a-z_]+\.csv[^"]*)"', r.text)):
                    d = await c.get(link.replace("&amp;", "&"))
                    assert d.status_code == 200
                    outputs[link] = d.text
        # the planted complaints are in what was scanned (the topic table counts them)
        assert "Pengaduan per kategori" in outputs["/analytics/complaints"]
        rep = build_report(planted.src, END - timedelta(days=6), END)
        outputs["report.html"] = render_html(rep)
        outputs["report.csv"] = render_csv(rep)
        if shutil.which("pdftotext"):
            pdf = tmp_path / "r.pdf"
            pdf.write_bytes(render_pdf(rep))
            outputs["report.pdf"] = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                                                   text=True, check=True).stdout
    finally:
        store.database.engine.dispose()
    assert len(outputs) > 30
    leaks = {k: _scan(v) for k, v in outputs.items() if _scan(v)}
    assert leaks == {}
