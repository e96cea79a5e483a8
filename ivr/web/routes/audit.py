"""The access log (admins): who looked at or changed which caller's data, and every login,
failed login and account change."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from ivr.web.auth import Principal, require
from ivr.web.labels import AUDIT_ACTION_LABELS, SUBJECT_LABELS
from ivr.web.pages import MAX_PAGE, render

router = APIRouter()
PAGE = 100


@router.get("/admin/audit")
async def audit_page(request: Request, subject_type: str | None = None, subject_id: str | None = None,
                     actor: str | None = None, action: str | None = None,
                     page: int = Query(1, ge=1, le=MAX_PAGE),
                     principal: Principal = Depends(require("admin"))) -> HTMLResponse:
    entries = await request.app.state.store.audit.entries(
        subject_type=subject_type or None, subject_id=(subject_id or "").strip()[:64] or None,
        actor=(actor or "").strip()[:128] or None, action=action or None,
        limit=PAGE + 1, offset=(page - 1) * PAGE)
    return render(request, "audit.html", {
        "entries": entries[:PAGE], "has_more": len(entries) > PAGE, "page": page,
        "subject_type": subject_type or "", "subject_id": subject_id or "", "actor": actor or "",
        "action": action or "", "actions": AUDIT_ACTION_LABELS, "subjects": SUBJECT_LABELS})
