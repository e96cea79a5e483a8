"""The access log (admins): who looked at or changed which caller's data."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ivr.web.auth import Principal, require
from ivr.web.pages import render

router = APIRouter()


@router.get("/admin/audit")
async def audit_page(request: Request, subject_type: str | None = None, subject_id: str | None = None,
                     principal: Principal = Depends(require("admin"))) -> HTMLResponse:
    entries = await request.app.state.store.audit.entries(subject_type=subject_type or None,
                                                       subject_id=subject_id or None, limit=200)
    return render(request, "audit.html", {"entries": entries})
