"""`ivr demo-data`, `ivr report` and `ivr analytics ...` end to end on a SQLite file."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ivr.cli import app


def test_demo_data_report_and_analytics(tmp_path, monkeypatch):
    monkeypatch.setenv("IVR_DATA_DIR", str(tmp_path / "var"))
    run = CliRunner().invoke
    r = run(app, ["demo-data", "--days", "40", "--seed", "2", "--end", "2026-11-30", "--calls-per-day", "120"])
    assert r.exit_code == 0, r.output
    truth = json.loads((tmp_path / "var" / "demo-incidents.json").read_text())
    assert truth["days"] == 40 and truth["incidents"]
    r = run(app, ["demo-data", "--days", "40", "--seed", "2", "--end", "2026-11-30"])
    assert r.exit_code == 1 and "--replace" in r.output
    out = tmp_path / "w.csv"
    r = run(app, ["report", "--from", "2026-11-24", "--to", "2026-11-30", "--format", "csv", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_text().startswith("bagian,baris,kolom,nilai")
    # the follow-up questions of the script (no live version in this database: the file's)
    assert "Pertanyaan lanjutan setelah jawaban,KTP elektronik,tempat pengurusan," in out.read_text()
    # requests outside the hotline's services, per topic in the script's words
    assert "Permintaan di luar layanan,Paspor dan imigrasi,Panggilan," in out.read_text()
    assert "Permintaan di luar layanan,Semua topik,Panggilan," in out.read_text()
    r = run(app, ["report", "--from", "2026-11-30", "--to", "2026-11-24", "--format", "csv"])
    assert r.exit_code == 2
    r = run(app, ["report", "--from", "2026-11-24", "--to", "2026-11-30", "--format", "doc"])
    assert r.exit_code == 2
    r = run(app, ["analytics", "stuck", "--from", "2026-11-01", "--to", "2026-11-30"])
    assert r.exit_code == 0 and "main_menu" in r.output
    r = run(app, ["analytics", "forecast", "--days", "2", "--service", "total", "--json"])
    assert r.exit_code == 0, r.output
    fc = json.loads(r.output.splitlines()[0])
    assert fc["series"] == "total" and len(fc["points"]) == 2 and fc["points"][0]["start"].startswith("2026-12-01")
    r = run(app, ["analytics", "staffing", "--schedule", "Mon-Fri 08-16=x"])
    assert r.exit_code == 2
