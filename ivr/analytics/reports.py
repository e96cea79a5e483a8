"""Daily and weekly reports: HTML, PDF and CSV from one :class:`Report`.

``build_report(src, start, end)`` gathers the period's figures (volumes, self-service rate,
transfers, abandon, waits, complaints and SLA, forecast against actual and the next week's
forecast with staffing, alerts, stuck states, follow-up questions after a service's answer,
requests outside the hotline's services per topic, the policy brief); the renderers only lay them
out. Every export starts with what it contains (:data:`ivr.analytics.privacy.EXPORT_NOTICE`)
and shows regional counts under the threshold as "<5".

Charts: the HTML carries each chart's data as JSON in ``<figure class="chart"
data-chart='...'>`` with the same figures in a table beside it (the web pages will draw them
with the vendored ECharts); the PDF draws them with matplotlib (Agg). PDF text uses DejaVu
Sans as shipped inside matplotlib (no system fonts needed). Synchronous: off the event loop.
"""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ivr.analytics.alerts import Alert
from ivr.analytics.brief import Brief, weekly_brief
from ivr.analytics.catalog import category_label
from ivr.analytics.db import Source
from ivr.analytics.privacy import DEFAULT_THRESHOLD, EXPORT_NOTICE, shown

__all__ = ["Report", "ForecastCheck", "build_report", "render_html", "render_pdf", "render_csv", "FORMATS"]

FORMATS = ("html", "pdf", "csv")
_MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
           "November", "Desember")


def tanggal(d: date) -> str:
    """A date the Indonesian way: 16 November 2026."""
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


@dataclass(frozen=True)
class ForecastCheck:
    day: date
    forecast: float
    lo: float
    hi: float
    actual: int

    @property
    def inside(self) -> bool:
        return self.lo <= self.actual <= self.hi


@dataclass(frozen=True)
class Report:
    kind: str                       # harian | mingguan | periode
    start: date
    end: date
    generated_at: datetime
    brief: Brief
    forecast_check: tuple[ForecastCheck, ...]
    next_days: tuple[ForecastCheck, ...]   # actual = 0 (future)
    peak_agents: int | None
    threshold: int = DEFAULT_THRESHOLD
    #: follow-up questions asked after a service's answer (:mod:`ivr.analytics.follow_ups`);
    #: None when the report was built without the script's questions
    follow_ups: Any = None
    #: requests outside the hotline's services per topic (:mod:`ivr.analytics.beyond`); None
    #: in a report built without them
    beyond: Any = None

    @property
    def title(self) -> str:
        name = {"harian": "Laporan Harian", "mingguan": "Laporan Mingguan"}.get(self.kind, "Laporan")
        return f"{name} Hotline Layanan Publik"

    @property
    def period(self) -> str:
        if self.start == self.end:
            return tanggal(self.start)
        return f"{tanggal(self.start)} - {tanggal(self.end)}"


def build_report(src: Source, start: date, end: date, *, now: datetime | None = None,
                 rules: Any = None, follow_ups: Any = None, beyond: Any = None) -> Report:
    """Figures of the local days ``start`` .. ``end`` (inclusive). ``follow_ups``: the live
    script's follow-up questions (a :class:`ivr.analytics.follow_ups.FollowUpSpec`), counted
    per service when given. ``beyond``: the live script's out-of-scope topics (a
    :class:`ivr.analytics.beyond.BeyondSpec`, their labels); requests outside the hotline's
    services are counted per topic either way."""
    if end < start:
        raise ValueError("the report ends before it starts")
    from ivr.analytics.forecast import forecast_history, load_history

    days = (end - start).days + 1
    kind = "harian" if days == 1 else "mingguan" if days == 7 else "periode"
    full = load_history(src, start - timedelta(days=364), end)        # loaded once for everything
    brief = weekly_brief(src, end, days=days, rules=rules, hist=full, beyond=beyond)
    # forecast made before the period, against what happened
    hist = full.head((start - full.start).days).trimmed()
    checks: tuple[ForecastCheck, ...] = ()
    if hist.days >= 28 and hist.counts.sum() > 0:
        fc = forecast_history(hist, src, min(days, 62), series=("total",)).series("total")
        actual = dict(brief.overview.by_day)
        checks = tuple(ForecastCheck(p.start.date(), p.mean, p.lo, p.hi, actual.get(p.start.date(), 0))
                       for p in fc.points)
    nxt: tuple[ForecastCheck, ...] = ()
    fut = brief.extras.get("forecast")
    if fut is not None:
        nxt = tuple(ForecastCheck(p.start.date(), p.mean, p.lo, p.hi, 0) for p in fut.series("total").points)
    peak = None
    if fut is not None:
        from ivr.analytics.staffing import agents_needed

        aht = (brief.overview.talk_mean_s or 240.0) + 30.0
        peak = max((agents_needed(p.mean, aht) for p in fut.series("handoffs", "hour").points), default=0)
    asks = None
    if follow_ups:
        from ivr.analytics.follow_ups import follow_up_questions

        asks = follow_up_questions(src, start, end, follow_ups)
    outside = brief.extras["beyond"][0]          # the brief counted the period's out-of-scope requests
    return Report(kind, start, end, now or datetime.now(src.tz), brief, checks, nxt, peak, follow_ups=asks,
                  beyond=outside)


# ---------------------------------------------------------------------------- tables


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%".replace(".", ",")


def _num(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "-"
    s = f"{x:,.{digits}f}"
    return s.replace(",", "\u00a0").replace(".", ",").replace("\u00a0", ".")


def sections(r: Report) -> list[tuple[str, list[str], list[list[str]]]]:
    """The report as titled tables of text (shared by the three formats)."""
    b = r.brief
    o, cp, st = b.overview, b.complaints, b.stuck
    out: list[tuple[str, list[str], list[list[str]]]] = []
    out.append(("Ringkasan", ["Ukuran", "Nilai"], [
        ["Panggilan", _num(o.calls)],
        ["Selesai dilayani mesin (swalayan)", _pct(o.self_service_rate)],
        ["Disambungkan ke petugas", f"{_num(o.handoffs)} ({_pct(o.transfer_rate)})"],
        ["Tersambung ke petugas", _num(o.connected)],
        ["Ditinggalkan saat menunggu", f"{_num(o.abandoned)} ({_pct(o.abandon_rate)})"],
        ["Di luar jam layanan", _num(o.closed_hours)],
        ["Median waktu tunggu (detik)", _num(o.wait_median_s)],
        ["Waktu tunggu persentil 90 (detik)", _num(o.wait_p90_s)],
        ["Dijawab dalam 20 detik", _pct(o.answered_20s)],
        ["Rata-rata lama bicara (detik)", _num(o.talk_mean_s)],
        ["Pengaduan baru", _num(o.complaints)],
        ["Permintaan telepon balik", _num(o.callbacks)],
    ]))
    out.append(("Panggilan per layanan", ["Layanan", "Panggilan", "Ke petugas"],
                [[s.label, _num(s.calls), _num(s.handoffs)] for s in o.by_service]))
    out.append(("Panggilan per jam", ["Jam", "Panggilan"], [[f"{h:02d}.00", _num(n)] for h, n in enumerate(o.by_hour)]))
    if len(o.by_day) > 1:
        out.append(("Panggilan per hari", ["Tanggal", "Panggilan"], [[tanggal(d), _num(n)] for d, n in o.by_day]))
    if r.forecast_check:
        out.append(("Prakiraan dibanding kenyataan", ["Tanggal", "Prakiraan", "Rentang 80%", "Kenyataan"],
                    [[tanggal(c.day), _num(c.forecast), f"{_num(c.lo)}-{_num(c.hi)}", _num(c.actual)]
                     for c in r.forecast_check]))
    if r.next_days:
        rows = [[tanggal(c.day), _num(c.forecast), f"{_num(c.lo)}-{_num(c.hi)}"] for c in r.next_days]
        out.append(("Prakiraan 7 hari ke depan" + (f" (puncak butuh {r.peak_agents} petugas)" if r.peak_agents else ""),
                    ["Tanggal", "Prakiraan", "Rentang 80%"], rows))
    out.append(("Pengaduan per kategori", ["Kategori", "Jumlah"], [[g.label, _num(g.count)] for g in cp.by_category]))
    out.append(("Pengaduan per instansi", ["Instansi", "Jumlah"], [[g.label, _num(g.count)] for g in cp.by_agency]))
    out.append(("Pengaduan per kecamatan", ["Kecamatan", "Jumlah"],
                [[g.label, shown(g.count, r.threshold)] for g in cp.by_district]))
    heat_rows = [[name, *[shown(n, r.threshold) for n in counts]] for _, name, counts in cp.heat if sum(counts)]
    out.append(("Kecamatan x kategori", ["Kecamatan", *[category_label(c) for c in cp.heat_categories]], heat_rows))
    out.append((f"Kepatuhan waktu tanggapan ({cp.sla_days} hari kerja) per instansi",
                ["Instansi", "Jatuh tempo", "Tepat waktu", "Persen", "Terlambat tanpa tanggapan"],
                [[s.label, _num(s.due), _num(s.met), _pct(s.rate), _num(s.overdue_open)] for s in cp.sla_by_agency]))
    out.append((f"Kepatuhan waktu tanggapan per kategori", ["Kategori", "Jatuh tempo", "Tepat waktu", "Persen"],
                [[s.label, _num(s.due), _num(s.met), _pct(s.rate)] for s in cp.sla_by_category]))
    rep = "tidak tersedia (butuh IVR_PII_KEY)" if cp.repeat_complainants is None else \
        f"{cp.repeat_complainants} orang, {_pct(cp.repeat_share)} pengaduan"
    out.append(("Pelapor berulang", ["Ukuran", "Nilai"], [["Pelapor dengan dua pengaduan atau lebih", rep]]))
    out.append(("Topik pengaduan (8 minggu)", ["Topik", "Minggu ini", "Per minggu", "Pertumbuhan", "Kecamatan terbanyak"],
                [[t.label, _num(t.this_week), " ".join(str(x) for x in t.weekly),
                  "-" if t.growth is None else f"{t.growth:.1f}x".replace(".", ","),
                  ", ".join(f"{g.label} ({shown(g.count, r.threshold)})" for g in t.top_districts)]
                 for t in cp.topics[:12]]))
    out.append(("Peringatan lonjakan", ["Pertama", "Peringatan", "Teramati", "Normal", "Jendela"],
                [[a.first_seen.strftime("%d-%m-%Y %H:%M"), a.label, _num(a.observed), _num(a.expected, 1),
                  f"{a.window_h} jam"] for a in b.alerts]))
    out.append(("Tahap dialog yang menyulitkan penelepon",
                ["Versi", "Tahap", "Masuk", "Tak terdengar", "Tak dipahami", "Tak sah", "Konfirmasi", "Ke petugas",
                 "Tutup telepon", "Tutup telepon saat berbicara", "Median detik", "Keyakinan"],
                [[s.script_version, s.state, _num(s.entries), _num(s.no_input), _num(s.no_match), _num(s.invalid),
                  _num(s.confirmations), _num(s.handoffs), _num(s.hangups), _num(s.cut_off), _num(s.median_s),
                  "-" if s.confidence is None else f"{s.confidence:.2f}".replace(".", ",")] for s in st.states[:15]]))
    out.append(("Maksud yang paling sering dikonfirmasi", ["Maksud", "Giliran", "Dikonfirmasi", "Dikoreksi"],
                [[i.intent, _num(i.turns), _num(i.confirmed), _num(i.corrected)] for i in st.intents[:10]]))
    if r.follow_ups is not None and r.follow_ups.spec:
        out.append(_follow_up_section(r.follow_ups, r.threshold))
    if r.beyond is not None:
        out.append(_beyond_section(r.beyond, r.threshold))
    return out


def _beyond_section(rep: Any, threshold: int) -> tuple[str, list[str], list[list[str]]]:
    """Per out-of-scope topic some call asked about: the calls told it is outside the hotline's
    services and their share of all calls (counts under the threshold as "<5", without a share)."""
    def row(label: str, n: int) -> list[str]:
        if 0 < n < threshold:
            return [label, shown(n, threshold), "-"]
        return [label, _num(n), _pct(n / rep.calls if rep.calls else None)]

    rows = [row(t.label, t.calls) for t in rep.asked] + [row("Semua topik", rep.beyond)]
    return ("Permintaan di luar layanan", ["Topik", "Panggilan", "Porsi dari semua panggilan"], rows)


def _follow_up_section(rep: Any, threshold: int) -> tuple[str, list[str], list[list[str]]]:
    """Per service: calls that heard its answer and the share that asked each follow-up
    question afterwards (counts under the threshold as "<5", without a share)."""
    def cell(n: int, of: int) -> str:
        if 0 < n < threshold:
            return shown(n, threshold)
        return f"{_num(n)} ({_pct(n / of if of else None)})" if n else "0"

    order = list(rep.spec.questions)
    rows = []
    for s in rep.services:
        by = {q.intent: q for q in s.questions}
        rows.append([s.label, shown(s.heard, threshold) if 0 < s.heard < threshold else _num(s.heard),
                     cell(s.asked, s.heard)]
                    + [cell(by[q].calls, s.heard) if by[q].offered else "-" for q in order])
    return ("Pertanyaan lanjutan setelah jawaban",
            ["Layanan", "Mendengar jawaban", "Bertanya lanjutan", *rep.spec.questions.values()], rows)


def _charts(r: Report) -> list[dict[str, Any]]:
    o = r.brief.overview
    charts = [{"id": "calls_by_hour", "type": "bar", "title": "Panggilan per jam",
               "x": [f"{h:02d}" for h in range(24)], "series": [{"name": "Panggilan", "data": list(o.by_hour)}]},
              {"id": "calls_by_service", "type": "bar", "title": "Panggilan per layanan",
               "x": [s.label for s in o.by_service], "series": [{"name": "Panggilan", "data": [s.calls for s in o.by_service]}]}]
    if r.forecast_check:
        charts.append({"id": "forecast_vs_actual", "type": "line", "title": "Prakiraan dibanding kenyataan",
                       "x": [c.day.isoformat() for c in r.forecast_check],
                       "series": [{"name": "Kenyataan", "data": [c.actual for c in r.forecast_check]},
                                  {"name": "Prakiraan", "data": [round(c.forecast, 1) for c in r.forecast_check]},
                                  {"name": "Batas bawah", "data": [c.lo for c in r.forecast_check]},
                                  {"name": "Batas atas", "data": [c.hi for c in r.forecast_check]}]})
    if r.next_days:
        charts.append({"id": "forecast_next", "type": "line", "title": "Prakiraan 7 hari ke depan",
                       "x": [c.day.isoformat() for c in r.next_days],
                       "series": [{"name": "Prakiraan", "data": [round(c.forecast, 1) for c in r.next_days]},
                                  {"name": "Batas bawah", "data": [c.lo for c in r.next_days]},
                                  {"name": "Batas atas", "data": [c.hi for c in r.next_days]}]})
    return charts


# ---------------------------------------------------------------------------- HTML


_CSS = """body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:70rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left}
td.n{text-align:right}.notice{background:#f4f4f4;padding:.5rem 1rem;font-size:.9rem}
.finding{margin:.75rem 0}.rec{color:#064;}.prio1{border-left:4px solid #b00;padding-left:.5rem}
.prio2{border-left:4px solid #d80;padding-left:.5rem}.prio3{border-left:4px solid #888;padding-left:.5rem}"""


def render_html(r: Report) -> str:
    e = html.escape
    parts = [f"<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\"><title>{e(r.title)}</title>",
             f"<style>{_CSS}</style></head><body>",
             f"<h1>{e(r.title)}</h1><p>Periode: {e(r.period)}. Dibuat {e(r.generated_at.strftime('%d-%m-%Y %H:%M'))}.</p>",
             f"<p class=\"notice\">{e(EXPORT_NOTICE.format(threshold=r.threshold))}</p>",
             "<h2>Ringkasan kebijakan</h2>"]
    if r.brief.findings:
        for f in r.brief.findings:
            parts.append(f"<div class=\"finding prio{f.priority}\"><p>{e(f.text)}</p>"
                         f"<p class=\"rec\">Rekomendasi: {e(f.recommendation)}</p>"
                         f"<p><a href=\"{e(f.link)}\">Data pendukung</a></p></div>")
    else:
        parts.append("<p>Tidak ada temuan yang memenuhi aturan pada periode ini.</p>")
    for chart in _charts(r):
        parts.append(f"<figure class=\"chart\" id=\"{e(chart['id'])}\" data-chart='{e(json.dumps(chart, ensure_ascii=False))}'>"
                     f"<figcaption>{e(chart['title'])}</figcaption></figure>")
    for title, head, rows in sections(r):
        parts.append(f"<h2>{e(title)}</h2>")
        if not rows:
            parts.append("<p>Tidak ada data.</p>")
            continue
        parts.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr></thead><tbody>")
        for row in rows:
            parts.append("<tr>" + "".join(
                f"<td class=\"n\">{e(c)}</td>" if _numeric(c) else f"<td>{e(c)}</td>" for c in row) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _numeric(c: str) -> bool:
    return bool(c) and (c[0].isdigit() or c.startswith("<")) and not any(ch.isalpha() for ch in c.replace("x", ""))


# ---------------------------------------------------------------------------- CSV


def render_csv(r: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["bagian", "baris", "kolom", "nilai"])
    w.writerow(["tentang", "isi", "", EXPORT_NOTICE.format(threshold=r.threshold)])
    w.writerow(["tentang", "periode", "", f"{r.start.isoformat()}..{r.end.isoformat()}"])
    for i, f in enumerate(r.brief.findings, 1):
        w.writerow(["ringkasan kebijakan", str(i), "temuan", f.text])
        w.writerow(["ringkasan kebijakan", str(i), "rekomendasi", f.recommendation])
        w.writerow(["ringkasan kebijakan", str(i), "data", f.link])
    for title, head, rows in sections(r):
        for row in rows:
            for h, c in zip(head[1:], row[1:]):
                w.writerow([title, row[0], h, c])
    return buf.getvalue()


# ---------------------------------------------------------------------------- PDF


def _font_paths() -> tuple[str, str]:
    import os

    import matplotlib

    base = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    return os.path.join(base, "DejaVuSans.ttf"), os.path.join(base, "DejaVuSans-Bold.ttf")


def _chart_png(chart: dict[str, Any]) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 2.6), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    x = list(range(len(chart["x"])))
    if chart["type"] == "bar":
        ax.bar(x, chart["series"][0]["data"], color="#2b6cb0")
    else:
        names = [s["name"] for s in chart["series"]]
        data = {s["name"]: s["data"] for s in chart["series"]}
        if "Batas bawah" in data:
            ax.fill_between(x, data["Batas bawah"], data["Batas atas"], color="#cbd5e0", label="Rentang 80%")
        for n in names:
            if n not in ("Batas bawah", "Batas atas"):
                ax.plot(x, data[n], marker="o", ms=3, label=n)
        ax.legend(fontsize=7, loc="upper left")
    step = max(1, len(x) // 12)
    ax.set_xticks(x[::step])
    ax.set_xticklabels([str(v)[-5:] if len(str(v)) > 8 else str(v) for v in chart["x"][::step]], fontsize=7,
                       rotation=30 if chart["id"] == "calls_by_service" else 0)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(chart["title"], fontsize=9)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def render_pdf(r: Report) -> bytes:
    from fpdf import FPDF

    regular, bold = _font_paths()
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("DejaVu", "", regular)
    pdf.add_font("DejaVu", "B", bold)
    pdf.set_title(r.title)
    pdf.set_creator("hotline-ivr")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(0, 8, r.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(0, 6, f"Periode: {r.period}. Dibuat {r.generated_at.strftime('%d-%m-%Y %H:%M')}.",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8)
    pdf.multi_cell(0, 4.5, EXPORT_NOTICE.format(threshold=r.threshold), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(0, 8, "Ringkasan kebijakan", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9.5)
    if not r.brief.findings:
        pdf.multi_cell(0, 5, "Tidak ada temuan yang memenuhi aturan pada periode ini.", new_x="LMARGIN", new_y="NEXT")
    for i, f in enumerate(r.brief.findings, 1):
        pdf.set_font("DejaVu", "B", 9.5)
        pdf.multi_cell(0, 5, f"{i}. {f.text}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 9.5)
        pdf.multi_cell(0, 5, f"Rekomendasi: {f.recommendation}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    for chart in _charts(r):
        pdf.image(io.BytesIO(_chart_png(chart)), w=180)
    for title, head, rows in sections(r):
        if not rows:
            continue
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 11)
        pdf.multi_cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 7 if len(head) > 6 else 8.5)
        widths = _widths(head, rows)
        with pdf.table(col_widths=widths, text_align="LEFT", line_height=4.2) as table:
            hr = table.row()
            for h in head:
                hr.cell(h)
            for row in rows:
                tr = table.row()
                for c in row:
                    tr.cell(str(c))
    return bytes(pdf.output())


def _widths(head: list[str], rows: list[list[str]]) -> tuple[int, ...]:
    longest = [max([len(h)] + [len(str(r[i])) for r in rows]) for i, h in enumerate(head)]
    return tuple(max(6, min(40, n)) for n in longest)
