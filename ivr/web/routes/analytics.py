"""Analytics pages for supervisors and admins: dashboard, forecast with staffing, complaints by
topic and region, alerts, stuck dialog states, follow-up questions after a service's answer,
requests outside the hotline's services, reports; every table downloadable as CSV.

The figures come from :class:`ivr.analytics.service.AnalyticsService` (built in a worker
thread, cached); charts are drawn by the vendored ECharts from JSON the page carries in data
attributes (``/static/analytics.js``; the app's CSP allows scripts from 'self' only).
No personal data: the pages show counts, regional counts under 5 as "<5".
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from ivr.analytics.pages import Page, table_csv
from ivr.analytics.service import AnalyticsService
from ivr.analytics.staffing import ScheduleError
from ivr.web.auth import Principal, check_csrf, require
from ivr.web.pages import remote, render

router = APIRouter()

ROLES = ("supervisor", "admin")

NAV = (("dashboard", "/analytics", "Dasbor"), ("forecast", "/analytics/forecast", "Prakiraan & petugas"),
       ("complaints", "/analytics/complaints", "Pengaduan"), ("alerts", "/analytics/alerts", "Peringatan"),
       ("stuck", "/analytics/stuck", "Keadaan tersendat"), ("asks", "/analytics/asks", "Pertanyaan lanjutan"),
       ("beyond", "/analytics/beyond", "Di luar layanan"),
       ("reports", "/analytics/reports", "Laporan"))
_REPORT_NAME = re.compile(r"^laporan-(harian|mingguan)-\d{4}-\d{2}-\d{2}(?:-\d{4}-\d{2}-\d{2})?\.(html|pdf|csv)$")


def service(request: Request) -> AnalyticsService:
    svc = getattr(request.app.state, "analytics", None)
    if svc is None:
        settings = request.app.state.settings
        svc = AnalyticsService(request.app.state.store, office_hours=settings.hours(),
                               reports_dir=reports_dir(settings.data_dir), script_path=settings.script_path())
        request.app.state.analytics = svc
    assert isinstance(svc, AnalyticsService)
    return svc


def reports_dir(data_dir: Path) -> Path:
    """Where scheduled reports are kept (``<data_dir>/reports``)."""
    return Path(data_dir) / "reports"


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _page(request: Request, page: Page, *, extra: dict[str, object] | None = None, status: int = 200) -> Response:
    charts = [{"id": c.id, "title": c.title, "kind": c.kind, "json": json.dumps(c.data, ensure_ascii=False)}
              for c in page.charts]
    ctx: dict[str, object] = {"page": page, "charts": charts, "nav": NAV, "query": request.url.query}
    ctx.update(extra or {})
    return render(request, "analytics.html", ctx, status)


async def _get(request: Request, key: str, day: date | None) -> Page:
    svc = service(request)
    if key == "dashboard":
        return await svc.dashboard(day)
    if key == "forecast":
        return await svc.forecast(day)
    if key == "complaints":
        return await svc.complaints(day)
    if key == "stuck":
        return await svc.stuck(day)
    if key == "asks":
        return await svc.follow_ups(day)
    if key == "beyond":
        return await svc.beyond(day)
    return await svc.alerts()


@router.get("/analytics")
async def dashboard(request: Request, tanggal: str | None = None,
                    principal: Principal = Depends(require(*ROLES))) -> Response:
    return _page(request, await service(request).dashboard(_day(tanggal)))


@router.get("/analytics/forecast")
async def forecast(request: Request, tanggal: str | None = None,
                   principal: Principal = Depends(require(*ROLES))) -> Response:
    return _page(request, await service(request).forecast(_day(tanggal)))


@router.post("/analytics/forecast/schedule")
async def set_schedule(request: Request, schedule: str = Form(""), csrf: str = Form(""),
                       principal: Principal = Depends(require(*ROLES))) -> Response:
    svc = service(request)
    if not check_csrf(principal, csrf):
        return render(request, "error.html", {"title": "Permintaan tidak sah",
                                              "message": "Muat ulang halaman lalu coba lagi."}, 403)
    try:
        await svc.set_schedule(schedule, principal.actor)
    except ScheduleError:
        page = await svc.forecast(None)
        return _page(request, page, extra={"error": "Jadwal tidak dapat dibaca. Tulis misalnya: "
                                                    "Mon-Fri 08-12=6,12-16=5; Sat 08-12=2"}, status=400)
    await request.app.state.store.audit.record(principal.actor, principal.role, "set_staff_schedule", "analytics",
                                               None, detail=schedule[:200], remote=remote(request))
    return RedirectResponse("/analytics/forecast", status_code=303)


@router.get("/analytics/complaints")
async def complaints(request: Request, tanggal: str | None = None,
                     principal: Principal = Depends(require(*ROLES))) -> Response:
    return _page(request, await service(request).complaints(_day(tanggal)))


@router.get("/analytics/alerts")
async def alerts(request: Request, principal: Principal = Depends(require(*ROLES))) -> Response:
    return _page(request, await service(request).alerts())


@router.get("/analytics/stuck")
async def stuck(request: Request, tanggal: str | None = None,
                principal: Principal = Depends(require(*ROLES))) -> Response:
    return _page(request, await service(request).stuck(_day(tanggal)))


@router.get("/analytics/asks")
async def follow_ups(request: Request, tanggal: str | None = None,
                     principal: Principal = Depends(require(*ROLES))) -> Response:
    return _page(request, await service(request).follow_ups(_day(tanggal)))


@router.get("/analytics/beyond")
async def beyond(request: Request, tanggal: str | None = None,
                 principal: Principal = Depends(require(*ROLES))) -> Response:
    return _page(request, await service(request).beyond(_day(tanggal)))


@router.get("/analytics/reports")
async def reports(request: Request, principal: Principal = Depends(require(*ROLES))) -> Response:
    svc = service(request)
    folder = svc.reports_dir
    files = sorted((p for p in folder.iterdir() if _REPORT_NAME.match(p.name)), key=lambda p: p.name,
                   reverse=True) if folder is not None and folder.is_dir() else []
    rows = tuple((p.name, {"harian": "Harian", "mingguan": "Mingguan"}[p.name.split("-")[1]],
                  p.suffix[1:].upper(), f"{p.stat().st_size / 1024:.0f} KB") for p in files)
    from ivr.analytics.pages import Table

    table = Table("laporan", "Laporan tersimpan", ("Berkas", "Jenis", "Format", "Ukuran"), rows,
                  links=tuple(f"/analytics/reports/{p.name}" for p in files),
                  note="Laporan harian dan mingguan dibuat otomatis oleh layanan; juga dapat dibuat dengan "
                       "`ivr report --from --to --format html|pdf|csv`.")
    page = Page("reports", "Laporan", "semua yang tersimpan", svc.now(), (("Laporan tersimpan", str(len(files))),),
                (table,))
    return _page(request, page)


@router.get("/analytics/reports/{name}")
async def report_file(request: Request, name: str, principal: Principal = Depends(require(*ROLES))) -> Response:
    folder = service(request).reports_dir
    if folder is None or not _REPORT_NAME.match(name) or not (folder / name).is_file():
        return render(request, "error.html", {"title": "Laporan tidak ditemukan", "message": ""}, 404)
    media = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}
    resp = FileResponse(folder / name, media_type=media[name.rsplit(".", 1)[1]], filename=name)
    if name.endswith(".html"):     # a kept report is a document, never a script host
        resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return resp


@router.get("/analytics/{key}/{name}.csv")
async def table_download(request: Request, key: str, name: str, tanggal: str | None = None,
                         principal: Principal = Depends(require(*ROLES))) -> Response:
    if key not in {k for k, _, _ in NAV} - {"reports"}:
        return render(request, "error.html", {"title": "Tabel tidak ditemukan", "message": ""}, 404)
    page = await _get(request, key, _day(tanggal))
    try:
        t = page.table(name)
    except KeyError:
        return render(request, "error.html", {"title": "Tabel tidak ditemukan", "message": ""}, 404)
    return Response(table_csv(page, t), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{key}-{name}.csv"'})
