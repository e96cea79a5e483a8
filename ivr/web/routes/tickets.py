"""Tickets: list and detail pages, status changes, JSON API. Every access is audited."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from ivr.desk.pop import slot_rows
from ivr.storage import TICKET_KINDS, TICKET_STATUSES, Store, StoreError, Ticket
from ivr.storage.ticket_ids import parse_ticket_id
from ivr.web.labels import sla_left
from ivr.web.pages import MAX_OFFSET, MAX_PAGE, remote, render
from ivr.web.auth import STAFF, Principal, check_csrf, may_reveal, require

router = APIRouter()
PAGE = 50


def _filters(status: str | None, kind: str | None) -> tuple[str | None, str | None]:
    return (status if status in TICKET_STATUSES else None, kind if kind in TICKET_KINDS else None)


async def _load(request: Request, principal: Principal, ticket_id: str, reveal: bool,
                action: str) -> tuple[Ticket | None, bool]:
    store = request.app.state.store
    settings = request.app.state.settings
    ticket = await store.tickets.get(ticket_id)
    if ticket is None:
        await store.audit.record(principal.actor, principal.role, action, "ticket", ticket_id[:32],
                          detail="not found", remote=remote(request))
        return None, False
    shown = reveal and may_reveal(settings, principal, ticket.confidential) and store.pii.can_reveal
    if shown:
        ticket = await store.tickets.get(ticket.public_id, reveal=True)
    await store.audit.record(principal.actor, principal.role, action, "ticket", ticket.public_id,
                      revealed=shown, remote=remote(request))
    return ticket, shown


OPEN = ("open", "in_progress")


async def work_of(store: Store, tickets: list[Ticket]) -> dict[str, dict[str, object]]:
    """Per ticket: owner, assignment queue and agency, the SLA countdown (Indonesian) and whether
    it is overdue (open past its deadline)."""
    work = await store.desk.work([t.public_id for t in tickets], store.tickets.tz)
    now = store.clock()
    out: dict[str, dict[str, object]] = {}
    for t in tickets:
        w = work.get(t.public_id)
        if w is None:
            continue
        closed = t.status not in OPEN
        left = (w.deadline - now).total_seconds()
        out[t.public_id] = {"owner": w.owner, "assign_queue": w.assign_queue, "agency": t.agency,
                            "deadline": w.deadline.isoformat(), "deadline_at": w.deadline, "sla_left_s": None if closed else int(left),
                            "sla_text": sla_left(left, closed=closed), "overdue": not closed and left < 0,
                            "escalated": w.escalated}
    return out


@router.get("/tickets")
async def tickets_page(request: Request, status: str | None = None, kind: str | None = None,
                       page: int = Query(1, ge=1, le=MAX_PAGE), mine: bool = False, overdue: bool = False,
                       incomplete: bool = False, q: str | None = None,
                       principal: Principal = Depends(require(*STAFF))) -> Response:
    """Ticket list with filters (status, kind, "milik saya", overdue, "belum lengkap": filed
    unfinished at a hang-up), each with its owner,
    assignment queue and agency, and SLA countdown; ``q`` finds a ticket number, or a reporter's
    NIK or phone number (by keyed hash, so it needs IVR_PII_KEY)."""
    store = request.app.state.store
    status, kind = _filters(status, kind)
    page = max(1, page)
    query = re.sub(r"[\s\-.()]", "", q or "")
    search: dict[str, str] = {}
    notice = None
    if query:
        if parse_ticket_id(query):
            return RedirectResponse(f"/tickets/{parse_ticket_id(query)}", status_code=303)
        if not re.fullmatch(r"\+?\d{8,16}", query):
            notice = "Masukkan nomor tiket, NIK (16 angka) atau nomor telepon."
        elif not store.pii.can_search:
            notice = "Pencarian NIK/telepon memerlukan kunci IVR_PII_KEY."
        else:
            search = {"reporter_nik": query} if len(query) == 16 and not query.startswith("+") \
                else {"reporter_phone": query}
    tickets = [] if notice else await store.tickets.query(
        status=status, kind=kind, limit=PAGE + 1, offset=(page - 1) * PAGE, owner=principal.username if mine else None,
        overdue_at=store.clock() if overdue else None, incomplete=incomplete, **search)
    await store.audit.record(principal.actor, principal.role, "search_tickets" if search else "list_tickets", "ticket",
                      None, detail=f"status={status} kind={kind} page={page} mine={int(mine)} overdue={int(overdue)} "
                                   f"incomplete={int(incomplete)} by={','.join(search) or '-'}",
                      remote=remote(request))
    return render(request, "tickets.html", {
        "tickets": tickets[:PAGE], "has_more": len(tickets) > PAGE, "page": page, "q": q or "",
        "notice": notice, "status": status, "kind": kind, "statuses": TICKET_STATUSES, "kinds": TICKET_KINDS,
        "mine": mine, "overdue": overdue, "incomplete": incomplete, "work": await work_of(store, tickets[:PAGE]),
    })


@router.get("/tickets/{ticket_id}")
async def ticket_page(request: Request, ticket_id: str, reveal: bool = False,
                      principal: Principal = Depends(require(*STAFF))) -> Response:
    ticket, shown = await _load(request, principal, ticket_id, reveal, "view_ticket")
    if ticket is None:
        return render(request, "error.html", {"title": "Tiket tidak ditemukan",
                                              "message": "Periksa kembali nomor tiket."}, 404)
    settings = request.app.state.settings
    can_reveal = (may_reveal(settings, principal, ticket.confidential)
                  and request.app.state.store.pii.can_reveal and not shown)
    return render(request, "ticket.html", {"t": ticket, "shown": shown, "can_reveal": can_reveal,
                                           "extra_rows": slot_rows(ticket.extra or {}, masked=not shown),
                                           "statuses": TICKET_STATUSES, "message": None})


@router.post("/tickets/{ticket_id}/status")
async def ticket_status_form(request: Request, ticket_id: str, status: str = Form(...), note: str = Form(""),
                             csrf: str = Form(""), principal: Principal = Depends(require(*STAFF))) -> Response:
    if not check_csrf(principal, csrf):
        return render(request, "error.html", {"title": "Formulir kedaluwarsa",
                                              "message": "Muat ulang halaman lalu coba lagi."}, 403)
    store = request.app.state.store
    try:
        ticket = await store.tickets.update_status(ticket_id, status, note=note.strip() or None, actor=principal.actor)
    except StoreError as exc:
        ticket, _ = await _load(request, principal, ticket_id, False, "view_ticket")
        if ticket is None:
            return render(request, "error.html", {"title": "Tiket tidak ditemukan", "message": ""}, 404)
        return render(request, "ticket.html", {"t": ticket, "shown": False, "can_reveal": False,
                                               "extra_rows": slot_rows(ticket.extra or {}),
                                               "statuses": TICKET_STATUSES, "message": str(exc)}, 409)
    await store.audit.record(principal.actor, principal.role, "update_ticket", "ticket", ticket.public_id,
                      detail=f"status={status}", remote=remote(request))
    return RedirectResponse(f"/tickets/{ticket.public_id}", status_code=303)


# ----------------------------------------------------------------------------- JSON API


def _ticket_json(ticket: Ticket) -> dict[str, object]:
    return ticket.to_json()


@router.get("/api/tickets", response_model=None)
async def api_tickets(request: Request, status: str | None = None, kind: str | None = None,
                      limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=MAX_OFFSET),
                      principal: Principal = Depends(require(*STAFF, api=True))) -> dict[str, object]:
    store = request.app.state.store
    status, kind = _filters(status, kind)
    limit = max(1, min(limit, 500))
    tickets = await store.tickets.query(status=status, kind=kind, limit=limit, offset=max(0, offset))
    await store.audit.record(principal.actor, principal.role, "list_tickets", "ticket", None,
                      detail=f"api status={status} kind={kind}", remote=remote(request))
    return {"tickets": [_ticket_json(t) for t in tickets]}


@router.get("/api/tickets/{ticket_id}", response_model=None)
async def api_ticket(request: Request, ticket_id: str, reveal: bool = False,
                     principal: Principal = Depends(require(*STAFF, api=True))) -> dict[str, object] | JSONResponse:
    ticket, _ = await _load(request, principal, ticket_id, reveal, "view_ticket")
    if ticket is None:
        return JSONResponse({"error": "ticket not found"}, status_code=404)
    return _ticket_json(ticket)


class StatusChange(BaseModel):
    status: str
    note: str | None = None


@router.post("/api/tickets/{ticket_id}/status", response_model=None)
async def api_ticket_status(request: Request, ticket_id: str, change: StatusChange,
                            principal: Principal = Depends(require(*STAFF, api=True))) -> dict[str, object] | JSONResponse:
    store = request.app.state.store
    if parse_ticket_id(ticket_id) is None:
        return JSONResponse({"error": "not a valid ticket number"}, status_code=404)
    try:
        ticket = await store.tickets.update_status(ticket_id, change.status, note=change.note, actor=principal.actor)
    except StoreError as exc:
        code = 404 if "unknown" in str(exc) else 409
        return JSONResponse({"error": str(exc)}, status_code=code)
    await store.audit.record(principal.actor, principal.role, "update_ticket", "ticket", ticket.public_id,
                      detail=f"status={change.status}", remote=remote(request))
    return _ticket_json(ticket)
