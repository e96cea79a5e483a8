"""Reports: PDF text holds the figures; no NIK, phone number or name in any export."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from itertools import product

import pytest

from ivr.analytics.demo import _FAMILY, _GIVEN
from ivr.analytics.privacy import scan_personal_data, shown
from ivr.analytics.reports import build_report, render_csv, render_html, render_pdf

NAMES = tuple(f"{g} {f}" for g, f in product(_GIVEN, _FAMILY))


@pytest.fixture(scope="module")
def weekly(demo_factory):
    d = demo_factory("sqlite")
    inc = d.result.plan.incidents[0]
    end = inc.start.astimezone(d.src.tz).date() + timedelta(days=3)
    return d, build_report(d.src, end - timedelta(days=6), end)


def _thousands(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def test_pdf_text_holds_the_figures(weekly, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian poppler-utils) is not installed")
    d, r = weekly
    pdf = render_pdf(r)
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Laporan Mingguan Hotline Layanan Publik" in text
    assert _thousands(r.brief.overview.calls) in text
    assert _thousands(r.brief.overview.complaints) in text
    for f in r.brief.findings[:3]:
        # the first words of every finding, and its numbers
        assert " ".join(f.text.split()[:4]) in " ".join(text.split())
    top = r.brief.overview.by_service[0]
    assert top.label in text and _thousands(top.calls) in text
    assert "Tidak memuat NIK" in text
    assert not scan_personal_data(text, NAMES)


def test_html_and_csv_carry_the_same_figures_and_chart_hooks(weekly):
    d, r = weekly
    html = render_html(r)
    csv = render_csv(r)
    assert 'class="chart"' in html and "data-chart=" in html and "calls_by_hour" in html
    import csv as csvmod
    import io

    cells = {row[3] for row in csvmod.reader(io.StringIO(csv))}
    for f in r.brief.findings:
        assert f.text in cells and f.recommendation in cells
        assert f.recommendation.split()[0] in html
    assert csv.splitlines()[1].startswith("tentang,isi,")
    assert f"Panggilan,Nilai,{_thousands(r.brief.overview.calls)}" in csv


def test_no_personal_data_in_any_export(weekly):
    d, r = weekly
    for text in (render_html(r), render_csv(r)):
        assert scan_personal_data(text, NAMES) == []
    # the check can fail: a clear number or name is found
    assert scan_personal_data("hubungi 081234567890 atau NIK 3204120101900001, Asep Suryana", NAMES)


def test_small_regional_counts_are_hidden(weekly):
    d, r = weekly
    small = [g for g in r.brief.complaints.by_district if 0 < g.count < 5]
    csv = render_csv(r)
    assert small, "a week has kecamatan with few complaints"
    for g in small:
        assert f"Pengaduan per kecamatan,{g.label},Jumlah,<5" in csv
    assert shown(0) == "0" and shown(4) == "<5" and shown(5) == "5" and shown(3, threshold=3) == "3"


def test_daily_report(demo_factory):
    d = demo_factory("sqlite")
    r = build_report(d.src, d.config.end, d.config.end)
    assert r.kind == "harian" and r.start == r.end
    assert len(r.forecast_check) == 1 and r.forecast_check[0].actual == r.brief.overview.calls
    assert "Laporan Harian" in render_html(r)


def test_reports_on_postgresql(demo_factory):
    d = demo_factory("postgres")
    r = build_report(d.src, d.config.end - timedelta(days=6), d.config.end)
    s = demo_factory("sqlite")
    rs = build_report(s.src, s.config.end - timedelta(days=6), s.config.end)
    # same demo, same figures on both databases
    assert r.brief.overview == rs.brief.overview
    assert [(x.state, x.entries, x.hangups) for x in r.brief.stuck.states] == \
        [(x.state, x.entries, x.hangups) for x in rs.brief.stuck.states]
    # time spent per state: read as float seconds in SQL, so each database's conversion counts
    medians = [(x.state, x.median_s) for x in r.brief.stuck.states]
    assert any(m for _, m in medians)
    assert medians == [(x.state, pytest.approx(x.median_s, abs=1e-3) if x.median_s is not None else None)
                       for x in rs.brief.stuck.states]
    assert r.brief.complaints.heat == rs.brief.complaints.heat


def test_weekly_report_says_what_callers_asked_after_the_answers(demo_factory, tmp_path):
    """Given the script's follow-up questions, the report carries them per service (HTML, CSV,
    PDF); without them it has no such section."""
    import csv as csvmod
    import io

    from dialogs import default_script_path, load_script
    from ivr.analytics.follow_ups import FollowUpSpec

    d = demo_factory("sqlite")
    spec = FollowUpSpec.from_script(load_script(default_script_path()))
    end = d.config.end
    r = build_report(d.src, end - timedelta(days=6), end, follow_ups=spec)
    ktp = next(s for s in r.follow_ups.services if s.service == "ktp")
    where = next(q for q in ktp.questions if q.intent == "tanya_tempat")
    assert ktp.heard >= 5 and where.calls >= 5, ktp
    rows = [row for row in csvmod.reader(io.StringIO(render_csv(r)))
            if row and row[0] == "Pertanyaan lanjutan setelah jawaban"]
    cells = {(row[1], row[2]): row[3] for row in rows}
    assert cells[("KTP elektronik", "Mendengar jawaban")] == _thousands(ktp.heard)
    share = f"{where.share * 100:.1f}%".replace(".", ",")
    assert cells[("KTP elektronik", "tempat pengurusan")] == f"{_thousands(where.calls)} ({share})"
    assert not any(v.split(" ")[0] in {"1", "2", "3", "4"} for v in cells.values())
    assert cells[("Pajak kendaraan", "lama proses")] not in ("-", "0")
    html = render_html(r)
    assert "<h2>Pertanyaan lanjutan setelah jawaban</h2>" in html and "jam pelayanan" in html
    assert "Pertanyaan lanjutan" not in render_html(build_report(d.src, end - timedelta(days=6), end))
    if shutil.which("pdftotext") is not None:
        path = tmp_path / "r.pdf"
        path.write_bytes(render_pdf(r))
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "Pertanyaan lanjutan setelah jawaban" in text and "KTP elektronik" in text


def test_weekly_report_counts_requests_outside_the_services(demo_factory, tmp_path):
    """Per topic of the script's out_of_scope, the calls told "di luar layanan" and their share
    of all calls (HTML, CSV, PDF); counts under 5 as "<5" without a share."""
    import csv as csvmod
    import io

    from dialogs import default_script_path, load_script
    from ivr.analytics.beyond import BeyondSpec

    d = demo_factory("sqlite")
    end = d.config.end
    r = build_report(d.src, end - timedelta(days=6), end, beyond=BeyondSpec.from_script(load_script(default_script_path())))
    rep = r.beyond
    assert rep.beyond > 0 and rep.asked, rep
    rows = [row for row in csvmod.reader(io.StringIO(render_csv(r))) if row and row[0] == "Permintaan di luar layanan"]
    cells = {(row[1], row[2]): row[3] for row in rows}
    for t in rep.asked:
        want = _thousands(t.calls) if t.calls >= 5 else shown(t.calls)
        assert cells[(t.label, "Panggilan")] == want
        assert cells[(t.label, "Porsi dari semua panggilan")] == (
            f"{t.share * 100:.1f}%".replace(".", ",") if t.calls >= 5 else "-")
    assert cells[("Semua topik", "Panggilan")] in (_thousands(rep.beyond), shown(rep.beyond))
    assert not any(v in {"1", "2", "3", "4"} for v in cells.values())
    html = render_html(r)
    assert "<h2>Permintaan di luar layanan</h2>" in html and rep.asked[0].label in html
    # without the script's labels the topics read as their names
    bare = build_report(d.src, end - timedelta(days=6), end)
    assert bare.beyond.asked and "Permintaan di luar layanan" in render_html(bare)
    if shutil.which("pdftotext") is not None:
        path = tmp_path / "r.pdf"
        path.write_bytes(render_pdf(r))
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "Permintaan di luar layanan" in text and rep.asked[0].label in text
