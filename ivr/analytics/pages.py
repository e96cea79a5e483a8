"""The analytics pages' content, independent of the web: each builder reads the figures and
returns a :class:`Page` of headline figures, tables (rendered as HTML and downloadable as CSV)
and chart data (drawn in the browser by the vendored ECharts).

Builders are synchronous and may take seconds on a year of calls: the web app runs them in a
worker thread and caches what they return (:mod:`ivr.analytics.service`). Every cell is a
string already formatted for an Indonesian reader; regional counts under the disclosure
threshold are ``"<5"`` in tables, and hidden (``null`` with a ``"<5"`` label) in chart data.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from ivr.analytics.complaints import complaint_patterns
from ivr.analytics.db import Source
from ivr.analytics.privacy import DEFAULT_THRESHOLD, EXPORT_NOTICE, Count, shown
from ivr.analytics.queries import daily_calls, overview

__all__ = ["Table", "Chart", "Page", "table_csv", "dashboard_page", "forecast_page", "complaints_page",
           "stuck_page", "follow_ups_page", "follow_up_table", "beyond_page", "beyond_table", "AlertView",
           "DEFAULT_SCHEDULE"]

#: agents on duty when nobody has set the schedule on the forecast page
DEFAULT_SCHEDULE = "Mon-Fri 08-16=4"

_DAYS_ID = ("Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min")


@dataclass(frozen=True)
class Table:
    name: str                                   # slug: the CSV is <page>/<name>.csv
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    links: tuple[str | None, ...] = ()          # a link for each row's first cell (or none)
    note: str = ""


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    kind: str                                   # line | bar | hbar (horizontal) | band | heat
    data: dict[str, Any]


@dataclass(frozen=True)
class Page:
    key: str
    title: str
    period: str
    generated_at: datetime
    figures: tuple[tuple[str, str], ...] = ()   # (label, value) cards
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()
    notes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)


@dataclass(frozen=True)
class AlertView:
    """A stored surge alert as the pages show it (no personal data in any field)."""
    kind: str
    label: str
    first_seen: datetime
    last_seen: datetime
    observed: int
    expected: float
    p_value: float


def table_csv(page: Page, t: Table, threshold: int = DEFAULT_THRESHOLD) -> str:
    """A table as CSV, starting with what the export holds (comment lines)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([f"# {page.title}: {t.title}"])
    w.writerow([f"# Periode: {page.period}; dibuat {page.generated_at.strftime('%d-%m-%Y %H:%M')}"])
    w.writerow(["# " + EXPORT_NOTICE.format(threshold=threshold)])
    w.writerow(list(t.columns))
    for r in t.rows:
        w.writerow(list(r))
    return buf.getvalue()


# ---------------------------------------------------------------------------- formatting


def pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%".replace(".", ",")


def num(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "-"
    s = f"{x:,.{digits}f}"
    return s.replace(",", "_").replace(".", ",").replace("_", ".")


def secs(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f} dtk"


def _d(day: date) -> str:
    return day.strftime("%d-%m-%Y")


def _period(a: date, b: date) -> str:
    return _d(a) if a == b else f"{_d(a)} s.d. {_d(b)}"


# ---------------------------------------------------------------------------- dashboard


def dashboard_page(src: Source, today: date, alerts: list[AlertView], *, now: datetime) -> Page:
    week_start = today - timedelta(days=today.weekday())
    ov_d = overview(src, today, today)
    ov_w = overview(src, week_start, today)
    cp = complaint_patterns(src, week_start, today, with_topics=False, today=today + timedelta(days=1))
    due = sum(s.due for s in cp.sla_by_agency)
    met = sum(s.met for s in cp.sla_by_agency)
    sla_rate = met / due if due else None

    def row(label: str, f: Any) -> tuple[str, str, str]:
        return (label, f(ov_d), f(ov_w))

    summary = Table("ringkasan", "Ringkasan hari ini dan minggu ini", ("Ukuran", "Hari ini", "Minggu ini"), (
        row("Panggilan", lambda o: num(o.calls)),
        row("Selesai mandiri (tanpa petugas)", lambda o: pct(o.self_service_rate)),
        row("Disambungkan ke petugas", lambda o: num(o.handoffs)),
        row("Tingkat sambungan ke petugas", lambda o: pct(o.transfer_rate)),
        row("Penelepon menutup saat antre", lambda o: pct(o.abandon_rate)),
        row("Median waktu tunggu", lambda o: secs(o.wait_median_s)),
        row("Waktu tunggu persentil 90", lambda o: secs(o.wait_p90_s)),
        row("Dijawab dalam 20 detik", lambda o: pct(o.answered_20s)),
        row("Pengaduan baru", lambda o: num(o.complaints)),
        row("Permintaan telepon balik", lambda o: num(o.callbacks)),
    ))
    services = Table("layanan", "Panggilan per layanan minggu ini", ("Layanan", "Panggilan", "Ke petugas", "Porsi ke petugas"),
                     tuple((s.label, num(s.calls), num(s.handoffs), pct(s.share_handoff)) for s in ov_w.by_service))
    sla = Table("sla_instansi", f"Kepatuhan SLA pengaduan per instansi (tenggat {cp.sla_days} hari kerja jatuh minggu ini)",
                ("Instansi", "Jatuh tempo", "Tepat waktu", "Terlambat belum dijawab", "Belum jatuh tempo", "Kepatuhan"),
                tuple((s.label, num(s.due), num(s.met), num(s.overdue_open), num(s.pending), pct(s.rate))
                      for s in cp.sla_by_agency))
    active = Table("peringatan_aktif", "Peringatan lonjakan aktif (48 jam terakhir)",
                   ("Peringatan", "Jenis", "Pertama terlihat", "Terakhir terlihat", "Teramati", "Diharapkan"),
                   tuple(_alert_row(a) for a in alerts))
    last28 = daily_calls(src, today - timedelta(days=27), today)
    days28 = [today - timedelta(days=27 - i) for i in range(28)]
    charts = (
        Chart("jam_hari_ini", "Panggilan per jam hari ini", "bar",
              {"x": [f"{h:02d}" for h in range(24)], "series": [{"name": "Panggilan", "data": list(ov_d.by_hour)}]}),
        Chart("harian_28", "Panggilan per hari, 28 hari terakhir", "line",
              {"x": [d.strftime("%d-%m") for d in days28],
               "series": [{"name": "Panggilan", "data": [last28.get(d, 0) for d in days28]}]}),
    )
    figures = (
        ("Panggilan hari ini", num(ov_d.calls)),
        ("Panggilan minggu ini", num(ov_w.calls)),
        ("Selesai mandiri (minggu)", pct(ov_w.self_service_rate)),
        ("Ke petugas (minggu)", pct(ov_w.transfer_rate)),
        ("Menutup saat antre (minggu)", pct(ov_w.abandon_rate)),
        ("Median tunggu (minggu)", secs(ov_w.wait_median_s)),
        ("Pengaduan (minggu)", num(cp.total)),
        ("Kepatuhan SLA (minggu)", pct(sla_rate)),
        ("Peringatan aktif", num(len(alerts))),
    )
    return Page("dashboard", "Dasbor", f"hari ini {_d(today)}; minggu ini {_period(week_start, today)}", now,
                figures, (summary, services, sla, active), charts)


def _alert_row(a: AlertView) -> tuple[str, str, str, str, str, str]:
    kinds = {"service": "Layanan", "region": "Wilayah", "topic": "Topik"}
    return (a.label, kinds.get(a.kind, a.kind), a.first_seen.strftime("%d-%m-%Y %H:%M"),
            a.last_seen.strftime("%d-%m-%Y %H:%M"), num(a.observed), num(a.expected, 1))


def alerts_table(alerts: list[AlertView]) -> Table:
    return Table("peringatan", "Peringatan lonjakan", ("Peringatan", "Jenis", "Pertama terlihat", "Terakhir terlihat",
                                                       "Teramati", "Diharapkan"), tuple(_alert_row(a) for a in alerts),
                 note="Lonjakan diuji terhadap prakiraan atau rata-rata sebelumnya (uji binomial negatif, "
                      "dengan jumlah minimum agar angka kecil tidak memicu peringatan). Peringatan yang sama "
                      "hanya dicatat sekali.")


# ---------------------------------------------------------------------------- forecast and staffing


def forecast_page(src: Source, today: date, schedule_text: str, *, now: datetime, horizon_days: int = 14,
                  backtest_origins: int = 4) -> Page:
    from ivr.analytics.forecast import MODEL_NAME, backtest, forecast, load_history
    from ivr.analytics.staffing import Schedule, staffing_plan

    hist = load_history(src, today - timedelta(days=364), today - timedelta(days=1))
    fc = forecast(src, today=today, horizon_days=horizon_days, hist=hist)
    level = fc.daily[0].level if fc.daily else 0.8
    total = fc.series("total")
    charts = [Chart("prakiraan_total", f"Prakiraan panggilan per hari (interval {level:.0%})", "band", {
        "x": [p.start.strftime("%d-%m") for p in total.points],
        "mean": [round(p.mean, 1) for p in total.points],
        "lo": [round(p.lo, 1) for p in total.points], "hi": [round(p.hi, 1) for p in total.points]})]
    rows = []
    for s in fc.daily:
        for p in s.points:
            rows.append((_d(p.start.date()), s.label, num(p.mean, 1), num(p.lo), num(p.hi)))
    daily = Table("prakiraan_harian", f"Prakiraan harian {horizon_days} hari ke depan per layanan (interval {level:.0%})",
                  ("Tanggal", "Layanan", "Perkiraan", "Batas bawah", "Batas atas"), tuple(rows))
    sched = Schedule.parse(schedule_text)
    hours, aht = staffing_plan(src, sched, days=7, today=today)
    shown_hours = [h for h in hours if h.needed or h.scheduled]
    staffing = Table("kebutuhan_petugas", "Kebutuhan petugas per jam (Erlang C: 80% dijawab dalam 20 detik)",
                     ("Jam", "Perkiraan sambungan", "Petugas dibutuhkan", "Petugas terjadwal", "Selisih",
                      "Perkiraan tingkat layanan"),
                     tuple((h.start.strftime("%d-%m-%Y %H:00") + f" ({_DAYS_ID[h.start.weekday()]})",
                            num(h.handoffs, 1), str(h.needed), str(h.scheduled),
                            (f"kurang {h.gap}" if h.gap > 0 else "cukup"), pct(h.service_level))
                           for h in shown_hours))
    charts.append(Chart("petugas", "Petugas dibutuhkan dan terjadwal per jam, 7 hari ke depan", "line", {
        "x": [h.start.strftime("%d-%m %H:00") for h in hours],
        "series": [{"name": "Dibutuhkan", "data": [h.needed for h in hours], "step": True},
                   {"name": "Terjadwal", "data": [h.scheduled for h in hours], "step": True}]}))
    sched_rows = tuple((_DAYS_ID[d],) + tuple(str(sched.agents(d, h)) for h in range(24)) for d in range(7))
    schedule_table = Table("jadwal_petugas", "Petugas terjadwal per hari dan jam",
                           ("Hari",) + tuple(f"{h:02d}" for h in range(24)), sched_rows)
    # how good the forecast is: rolling-origin backtest against seasonal naive
    notes: list[str] = []
    quality_rows: list[tuple[str, ...]] = []
    quality: dict[str, Any] = {}
    try:
        bt = backtest(hist.trimmed(), origins=backtest_origins)
    except ValueError:
        notes.append("Riwayat belum cukup panjang untuk menguji ketepatan prakiraan (perlu sedikitnya 8 minggu).")
    else:
        for r in bt.rows:
            if r.granularity != "day":
                continue
            quality_rows.append((r.label, num(r.mase, 3), num(r.mase_naive, 3),
                                 num(r.relative, 2), "ya" if r.beats_naive else "tidak", pct(r.coverage)))
        services = [r for r in bt.rows if r.granularity == "day" and r.series not in ("total", "handoffs")]
        beat = sum(r.beats_naive for r in services)
        cov = sum(r.coverage for r in services) / len(services) if services else None
        quality = {"beating": beat, "services": len(services), "coverage": cov, "origins": len(bt.origins)}
        notes.append(f"Ketepatan prakiraan: pada uji mundur {len(bt.origins)} titik awal ({bt.horizon_days} hari ke depan), "
                     f"prakiraan lebih tepat daripada cara naif musiman (mengulang minggu lalu) untuk {beat} dari "
                     f"{len(services)} layanan (MASE lebih kecil); {pct(cov)} nilai sebenarnya jatuh di dalam "
                     f"interval {level:.0%}.")
    qtable = Table("ketepatan", "Ketepatan prakiraan harian (uji mundur, MASE terhadap naif musiman)",
                   ("Layanan", "MASE model", "MASE naif musiman", "Rasio", "Lebih baik", "Cakupan interval"),
                   tuple(quality_rows))
    first = total.points[0] if total.points else None
    when = first.start.strftime("%d-%m") if first else ""
    figures = ((f"Perkiraan panggilan {when}", num(first.mean) if first else "-"),
               (f"Rentang {when} ({level:.0%})", f"{num(first.lo)}-{num(first.hi)}" if first else "-"),
               ("Waktu penanganan rata-rata", secs(aht)),
               ("Jam kekurangan petugas (7 hari)", num(sum(1 for h in hours if h.gap > 0))),
               ("Layanan lebih baik dari naif",
                f"{quality['beating']} dari {quality['services']}" if quality else "-"))
    notes.append(f"Model: {MODEL_NAME}. Riwayat {_d(fc.history_start)} s.d. {_d(fc.history_end)}.")
    return Page("forecast", "Prakiraan dan kebutuhan petugas", f"mulai {_d(today)}", now, figures,
                (daily, staffing, schedule_table, qtable), tuple(charts), tuple(notes),
                extra={"schedule": schedule_text})


# ---------------------------------------------------------------------------- complaints


def complaints_page(src: Source, end: date, *, now: datetime, days: int = 28,
                    threshold: int = DEFAULT_THRESHOLD) -> Page:
    from ivr.analytics.catalog import category_label

    start = end - timedelta(days=days - 1)
    cp = complaint_patterns(src, start, end, today=end + timedelta(days=1))

    def groups(name: str, title: str, head: str, gs: Any) -> Table:
        return Table(name, title, (head, "Pengaduan"),
                     tuple((g.label, shown(g.count, threshold) if g.regional else num(g.count)) for g in gs))

    cats = [category_label(c) for c in cp.heat_categories]
    heat_rows = tuple((name,) + tuple(shown(n, threshold) for n in counts) for _, name, counts in cp.heat)
    heat = Table("kecamatan_kategori", "Pengaduan per kecamatan dan kategori", ("Kecamatan",) + tuple(cats), heat_rows,
                 note=f"Jumlah 1 sampai {threshold - 1} ditampilkan \"<{threshold}\" agar warga tidak dapat dikenali.")
    heat_data: list[list[Any]] = []
    for y, (_, _, counts) in enumerate(cp.heat):
        for x, n in enumerate(counts):
            c = Count(int(n), threshold)
            heat_data.append([x, y, None if c.hidden else int(n), str(c)])
    topics = Table("topik", "Topik pengaduan (dikelompokkan dari uraian)",
                   ("Topik", "Pengaduan", "Minggu ini", "Pertumbuhan (x rata-rata 4 minggu)", "Muncul", "Kategori utama",
                    "Kecamatan terbanyak"),
                   tuple((t.label, num(t.count), num(t.this_week), "-" if t.growth is None else num(t.growth, 1),
                          "ya" if t.emerging else "", category_label(t.top_category) if t.top_category else "-",
                          ", ".join(f"{g.label} ({shown(g.count, threshold)})" for g in t.top_districts))
                         for t in cp.topics))
    emerging = [t for t in cp.topics if t.emerging]
    em_table = Table("topik_muncul", "Topik yang sedang tumbuh (minggu ini ≥ 1,5× rata-rata 4 minggu sebelumnya)",
                     ("Topik", "Minggu ini", "Rata-rata 4 minggu", "Pertumbuhan"),
                     tuple((t.label, num(t.this_week), num(sum(t.weekly[-5:-1]) / 4, 1),
                            "-" if t.growth is None else num(t.growth, 1)) for t in emerging))

    def sla(name: str, title: str, head: str, rows: Any) -> Table:
        return Table(name, title, (head, "Jatuh tempo", "Tepat waktu", "Terlambat belum dijawab", "Belum jatuh tempo",
                                   "Kepatuhan"),
                     tuple((s.label, num(s.due), num(s.met), num(s.overdue_open), num(s.pending), pct(s.rate))
                           for s in rows))

    repeat = Table("pelapor_berulang", "Pelapor berulang (dihitung dari kunci tersamar, bukan NIK)",
                   ("Ukuran", "Nilai"),
                   (("Pelapor dengan dua pengaduan atau lebih",
                     "-" if cp.repeat_complainants is None else num(cp.repeat_complainants)),
                    ("Porsi pengaduan dari pelapor berulang", pct(cp.repeat_share))))
    charts = (
        Chart("kategori", "Pengaduan per kategori", "bar",
              {"x": [g.label for g in cp.by_category], "series": [{"name": "Pengaduan", "data": [g.count for g in cp.by_category]}]}),
        Chart("peta_panas", "Kecamatan × kategori", "heat",
              {"x": cats, "y": [name for _, name, _ in cp.heat], "data": heat_data, "hidden_label": f"<{threshold}"}),
        Chart("topik_mingguan", "Topik yang tumbuh: pengaduan per minggu", "line",
              {"x": _week_labels(len(emerging[0].weekly)) if emerging else [],
               "series": [{"name": t.label, "data": list(t.weekly)} for t in emerging[:6]]}),
    )
    figures = (("Pengaduan", num(cp.total)),
               ("Kategori terbanyak", cp.by_category[0].label if cp.by_category else "-"),
               ("Topik yang tumbuh", num(len(emerging))),
               ("Pelapor berulang", "-" if cp.repeat_complainants is None else num(cp.repeat_complainants)))
    return Page("complaints", "Pengaduan per topik dan wilayah", _period(start, end), now, figures, (
        groups("kategori", "Pengaduan per kategori", "Kategori", cp.by_category),
        groups("instansi", "Pengaduan per instansi", "Instansi", cp.by_agency),
        groups("kecamatan", "Pengaduan per kecamatan", "Kecamatan", cp.by_district),
        heat, topics, em_table,
        sla("sla_instansi", f"SLA per instansi (tenggat {cp.sla_days} hari kerja)", "Instansi", cp.sla_by_agency),
        sla("sla_kategori", f"SLA per kategori (tenggat {cp.sla_days} hari kerja)", "Kategori", cp.sla_by_category),
        repeat), charts)


def _week_labels(n: int) -> list[str]:
    return [f"{n - 1 - i} mgg lalu" for i in range(n - 1)] + ["minggu ini"]


# ---------------------------------------------------------------------------- stuck states


def script_state_link(version: str, state: str) -> str:
    """Where the script pages show a state (anchor ``state-<name>``)."""
    return f"/admin/scripts/{quote(version, safe='')}#state-{quote(state, safe='')}"


def stuck_page(src: Source, end: date, *, now: datetime, days: int = 28) -> Page:
    from ivr.analytics.stuck import stuck_states

    start = end - timedelta(days=days - 1)
    rep = stuck_states(src, start, end)
    states = Table("keadaan", "Di mana penelepon tersendat (per keadaan dialog dan versi skrip)",
                   ("Keadaan", "Versi skrip", "Masuk", "Giliran", "Tidak ada jawaban", "Tidak dikenali", "Tidak sah",
                    "Konfirmasi", "Dikoreksi", "Ke petugas", "Menutup telepon", "Menutup telepon saat berbicara", "Median waktu",
                    "Keyakinan pengenalan"),
                   tuple((s.state, s.script_version, num(s.entries), num(s.turns), num(s.no_input), num(s.no_match),
                          num(s.invalid), num(s.confirmations), num(s.corrected), num(s.handoffs), num(s.hangups),
                          num(s.cut_off), "-" if s.median_s is None else f"{s.median_s:.1f} dtk".replace(".", ","),
                          "-" if s.confidence is None else num(s.confidence, 2))
                         for s in rep.states),
                   links=tuple(script_state_link(s.script_version, s.state) for s in rep.states))
    intents = Table("maksud", "Maksud yang paling sering dikonfirmasi atau dikoreksi",
                    ("Maksud", "Giliran", "Dikonfirmasi", "Dikoreksi", "Porsi konfirmasi", "Keyakinan rata-rata"),
                    tuple((i.intent, num(i.turns), num(i.confirmed), num(i.corrected), pct(i.confirm_rate),
                           "-" if i.confidence is None else num(i.confidence, 2)) for i in rep.intents))
    worst = rep.states[:10]
    charts = (Chart("tersendat", "Sepuluh keadaan dengan masalah terbanyak", "bar", {
        "x": [s.state for s in worst],
        "series": [{"name": "Tidak ada jawaban", "data": [s.no_input for s in worst], "stack": "m"},
                   {"name": "Tidak dikenali", "data": [s.no_match for s in worst], "stack": "m"},
                   {"name": "Menutup telepon", "data": [s.hangups for s in worst], "stack": "m"}]}),)
    notes = (f"Giliran tanpa keadaan tercatat: {rep.turns_without_state}.",) if rep.turns_without_state else ()
    return Page("stuck", "Keadaan dialog tempat penelepon tersendat", _period(start, end), now,
                (("Keadaan dialog", num(len(rep.states))), ("Maksud", num(len(rep.intents)))),
                (states, intents), charts, notes)


# ---------------------------------------------------------------------------- follow-up questions


def _count(n: int, threshold: int) -> str:
    """A count as the pages write it ("1.234"); 1 to threshold-1 is ``"<5"``."""
    return shown(n, threshold) if 0 < n < threshold else num(n)


def _asked(n: int, heard: int, threshold: int) -> str:
    """``"12 (33,3%)"``; a count under the threshold is ``"<5"`` without its share."""
    if 0 < n < threshold:
        return shown(n, threshold)
    return f"{num(n)} ({pct(n / heard if heard else None)})" if n else "0"


def follow_up_table(rep: Any, threshold: int = DEFAULT_THRESHOLD) -> Table:
    """Per service, how many of the calls that heard its answer asked each follow-up question
    (a :class:`ivr.analytics.follow_ups.FollowUpReport`)."""
    labels = tuple(rep.spec.questions.values())
    order = tuple(rep.spec.questions)
    rows = []
    for s in rep.services:
        by = {q.intent: q for q in s.questions}
        rows.append((s.label, _count(s.heard, threshold), _asked(s.asked, s.heard, threshold))
                    + tuple(_asked(by[q].calls, s.heard, threshold) if by[q].offered else "-" for q in order))
    if not rep.spec:
        note = "Skrip yang berjalan tidak memiliki pertanyaan lanjutan (answers:), jadi belum ada yang dihitung."
    elif not rep.services:
        note = "Belum ada panggilan yang mendengar jawaban layanan pada periode ini."
    else:
        note = (f"Panggilan yang mendengar jawaban suatu layanan, dan berapa di antaranya menanyakan tiap hal "
                f"sesudahnya (porsi dari yang mendengar jawaban). Satu panggilan dihitung sekali per pertanyaan. "
                f"Jumlah 1 sampai {threshold - 1} ditampilkan \"<{threshold}\" tanpa porsi; \"-\": skrip tidak "
                f"menjawab pertanyaan itu untuk layanan tersebut. Pertanyaan yang "
                f"sering ditanyakan menandakan jawaban atau informasi publik kantor layanan yang masih kurang.")
    return Table("pertanyaan_lanjutan", "Pertanyaan lanjutan setelah jawaban",
                 ("Layanan", "Mendengar jawaban", "Bertanya lanjutan") + tuple(f"Menanyakan {lab}" for lab in labels),
                 tuple(rows), note=note)


def _chart_share(s: Any, intent: str, threshold: int) -> float | None:
    """Percent of a service's calls that asked ``intent``; None when not offered or too few."""
    q = next(q for q in s.questions if q.intent == intent)
    return round(100 * q.share, 1) if q.offered and q.calls >= threshold else None


def follow_ups_page(src: Source, end: date, spec: Any, *, now: datetime, days: int = 28,
                    threshold: int = DEFAULT_THRESHOLD) -> Page:
    from ivr.analytics.follow_ups import follow_up_questions

    start = end - timedelta(days=days - 1)
    rep = follow_up_questions(src, start, end, spec)
    # the figures follow the table's rule: a count of 1 to threshold-1 is "<5", and no share
    # of it is shown (3 of 8 calls: "37,5%" would give the 3 away)
    totals = [q for q in rep.totals() if q.calls >= threshold]
    top = totals[0] if totals else None
    figures = (("Mendengar jawaban layanan", _count(rep.heard, threshold)),
               ("Bertanya lanjutan", shown(rep.asked, threshold) if 0 < rep.asked < threshold
                else pct(rep.asked / rep.heard) if rep.heard else "-"),
               ("Paling sering ditanyakan", f"{top.label} ({pct(top.share)})" if top else "-"))
    shown_rows = [s for s in rep.services if s.heard >= threshold][:10]
    charts = (Chart("pertanyaan_lanjutan", "Porsi panggilan yang menanyakan hal berikut setelah jawaban", "bar", {
        "x": [s.label for s in shown_rows],
        "series": [{"name": lab, "data": [_chart_share(s, intent, threshold) for s in shown_rows]}
                   for intent, lab in rep.spec.questions.items()]}),) if shown_rows else ()
    return Page("asks", "Pertanyaan lanjutan setelah jawaban", _period(start, end), now, figures,
                (follow_up_table(rep, threshold),), charts)


# ---------------------------------------------------------------------------- requests outside the services


def _of_all(n: int, total: int, threshold: int) -> str:
    """The share of all calls (``"2,5%"``); none for a count under the threshold."""
    return "-" if 0 < n < threshold or not total else pct(n / total)


def beyond_table(rep: Any, threshold: int = DEFAULT_THRESHOLD) -> Table:
    """Per out-of-scope topic, the calls told a request on it is outside the hotline's
    services, and their share of all calls (a :class:`ivr.analytics.beyond.BeyondReport`)."""
    rows = [(t.label, _count(t.calls, threshold), _of_all(t.calls, rep.calls, threshold)) for t in rep.topics]
    if rep.topics:
        rows.append(("Semua topik", _count(rep.beyond, threshold), _of_all(rep.beyond, rep.calls, threshold)))
    if not rep.calls:
        note = "Belum ada panggilan pada periode ini."
    elif not rep.beyond:
        note = "Belum ada penelepon yang meminta hal di luar layanan pada periode ini."
    else:
        note = (f"Panggilan yang diberi tahu bahwa permintaannya di luar layanan hotline, per topik, dan "
                f"porsinya dari semua panggilan. Satu panggilan dihitung sekali per topik, jadi jumlah "
                f"per topik bisa melebihi baris \"Semua topik\". Jumlah 1 sampai {threshold - 1} ditampilkan "
                f"\"<{threshold}\" tanpa porsi. Hanya jumlah yang ditampilkan, bukan ucapan penelepon. "
                f"Topik yang sering diminta menunjukkan kebutuhan warga yang dapat diteruskan ke instansi "
                f"terkait atau dipertimbangkan sebagai layanan baru.")
    return Table("di_luar_layanan", "Permintaan di luar layanan per topik",
                 ("Topik", "Panggilan", "Porsi dari semua panggilan"), tuple(rows), note=note)


def beyond_page(src: Source, end: date, spec: Any = None, *, now: datetime, days: int = 28,
                threshold: int = DEFAULT_THRESHOLD) -> Page:
    """Requests the hotline does not handle, per topic of the script's ``out_of_scope``."""
    from ivr.analytics.beyond import beyond_requests

    start = end - timedelta(days=days - 1)
    rep = beyond_requests(src, start, end, spec)
    # the figures follow the table's rule: 1 to threshold-1 is "<5", with no share
    top = next((t for t in rep.topics if t.calls >= threshold), None)
    figures = (("Panggilan pada periode", num(rep.calls)),
               ("Meminta hal di luar layanan", _count(rep.beyond, threshold) if 0 < rep.beyond < threshold
                else f"{num(rep.beyond)} ({pct(rep.share)})" if rep.calls else "-"),
               ("Paling sering diminta", f"{top.label} ({_count(top.calls, threshold)})" if top else "-"))
    bars = [t for t in rep.topics if t.calls >= threshold][:12]
    # horizontal bars, each named by its label without the parenthesis ("SIM dan kepolisian")
    charts = (Chart("di_luar_layanan", "Panggilan per topik permintaan di luar layanan", "hbar", {
        "x": [t.label.split(" (")[0] for t in bars],
        "series": [{"name": "Panggilan", "data": [t.calls for t in bars]}]}),) if bars else ()
    return Page("beyond", "Permintaan di luar layanan", _period(start, end), now, figures,
                (beyond_table(rep, threshold),), charts)
