"""The live desk for agents, the wallboard for supervisors, and the desk's JSON API.

* ``GET /desk``: the agent's desk (one live connection: ``GET /desk/events``, server-sent
  events, resumed with ``Last-Event-ID``); the pop, the ticket form, wrap-up, queue
  login/pause, the callback list;
* ``GET /wallboard``: supervisors and admins;
* ``/api/desk/...``: what the pages' scripts call (session cookie + ``X-CSRF-Token``, or a
  bearer token).

The :class:`ivr.desk.Desk` is ``app.state.desk`` (None: no live desk in this process; the
pages say so).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, time as dtime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from ivr.desk import Desk, DeskEvent
from ivr.desk.events import for_agent
from ivr.desk.pop import recording_path
from ivr.desk.service import DeskError
from ivr.storage import Store, StoreError
from ivr.storage.desk import DISPOSITIONS
from ivr.storage.views import TICKET_TRANSITIONS
from ivr.storage.ticket_ids import format_ticket_id
from ivr.web.auth import Principal, may_reveal, require
from ivr.web.labels import label
from ivr.web.pages import remote, render
from ivr.web.routes.tickets import work_of

router = APIRouter()

STAFF = ("agent", "supervisor", "admin")
SUPERVISORS = ("supervisor", "admin")

DISPOSITION_LABELS = {"answered": "Terjawab", "ticket_filed": "Tiket dibuat", "callback_promised": "Janji telepon balik",
                      "transferred": "Dialihkan", "dropped": "Terputus"}
#: the assignment queue of each agency's tickets (agency -> queue); others go to "umum"
AGENCY_QUEUES = {"Disdukcapil": "kependudukan", "Bapenda": "pajak", "Dinkes": "kesehatan", "Dinsos": "sosial",
                 "DPUTR": "infrastruktur", "PDAM": "air-bersih", "DLH": "lingkungan"}


def username_of(principal: Principal) -> str:
    """The staff username (W1's accounts give ``principal.username``; before them, the name
    typed at login)."""
    name = getattr(principal, "username", None)
    if isinstance(name, str) and name:
        return name
    return principal.actor.split(":", 1)[-1]


def _desk(request: Request) -> Desk | None:
    desk = getattr(request.app.state, "desk", None)
    return desk if isinstance(desk, Desk) else None


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


class DeskNotRunning(Exception):
    """No live desk in this process (the app answers 503, see :func:`ivr.web.app.create_app`)."""


def running_desk(request: Request) -> Desk:
    """FastAPI dependency: this process' live desk, else :class:`DeskNotRunning` (503).
    Declared after the principal, so who may not use the desk hears 401/403 first."""
    desk = _desk(request)
    if desk is None:
        raise DeskNotRunning()
    return desk


def _err(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


# ---------------------------------------------------------------------------------- pages

@router.get("/desk")
async def desk_page(request: Request, principal: Principal = Depends(require(*STAFF))) -> Response:
    await _store(request).audit.record(principal.actor, principal.role, "open_desk", "desk", None,
                                       remote=remote(request))
    return render(request, "desk.html", {"username": username_of(principal), "live": _desk(request) is not None,
                                         "dispositions": DISPOSITION_LABELS, "agencies": sorted(AGENCY_QUEUES)})


@router.get("/wallboard")
async def wallboard_page(request: Request, principal: Principal = Depends(require(*SUPERVISORS))) -> Response:
    return render(request, "wallboard.html", {"live": _desk(request) is not None})


# ---------------------------------------------------------------------------------- live events

@router.get("/desk/events", response_model=None)
async def desk_events(request: Request, principal: Principal = Depends(require(*STAFF)),
                      desk: Desk = Depends(running_desk)) -> Response:
    from sse_starlette.sse import EventSourceResponse

    user, role = username_of(principal), principal.role
    sub = desk.hub.subscribe(user, role)
    missed = desk.hub.missed(request.headers.get("last-event-id"), user, role)
    desk.changed()

    async def stream() -> AsyncIterator[dict[str, object] | bytes]:
        if missed is None:
            snap = desk.snapshot(user, role)
            yield {"id": desk.hub.last_id, "event": "snapshot", "data": snap.sse_data(), "retry": 1000}
        else:
            for ev in missed:
                yield {"id": ev.id, "event": ev.kind, "data": ev.sse_data()}
        async for ev in sub.events():
            yield ev.sse_frame   # encoded once per event, whatever the number of browsers

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/api/desk/state", response_model=None)
async def desk_state(request: Request, principal: Principal = Depends(require(*STAFF, api=True)),
                     desk: Desk = Depends(running_desk)) -> Any:
    return json.loads(desk.snapshot(username_of(principal), principal.role).sse_data())


# ---------------------------------------------------------------------------------- agent state

class QueueBody(BaseModel):
    action: str = Field(pattern="^(login|logout)$")
    queues: list[str] | None = None


class PauseBody(BaseModel):
    paused: bool
    reason: str = Field("", max_length=64)


@router.post("/api/desk/queue", response_model=None)
async def desk_queue(request: Request, body: QueueBody,
                     principal: Principal = Depends(require(*STAFF, api=True)),
                     desk: Desk = Depends(running_desk)) -> Any:
    user = username_of(principal)
    try:
        if body.action == "login":
            queues = await desk.queue_login(user, body.queues)
        else:
            await desk.queue_logout(user)
            queues = []
    except DeskError as exc:
        return _err(str(exc), 409)
    await _store(request).audit.record(principal.actor, principal.role, f"queue_{body.action}", "agent", user,
                                       detail=",".join(queues) or None, remote=remote(request))
    return {"ok": True, "queues": queues}


@router.post("/api/desk/pause", response_model=None)
async def desk_pause(request: Request, body: PauseBody,
                     principal: Principal = Depends(require(*STAFF, api=True)),
                     desk: Desk = Depends(running_desk)) -> Any:
    user = username_of(principal)
    try:
        await desk.pause(user, body.paused, body.reason)
    except DeskError as exc:
        return _err(str(exc), 409)
    await _store(request).audit.record(principal.actor, principal.role, "pause" if body.paused else "unpause",
                                       "agent", user, detail=body.reason or None, remote=remote(request))
    return {"ok": True}


# ---------------------------------------------------------------------------------- working the call

class TicketBody(BaseModel):
    call_id: str | None = Field(None, max_length=64)
    kind: str = Field("complaint", pattern="^(complaint|callback)$")
    category: str | None = Field(None, max_length=128)
    agency: str | None = Field(None, max_length=64)
    location: str | None = Field(None, max_length=2000)
    description: str | None = Field(None, max_length=4000)
    status: str | None = Field(None, max_length=16)
    note: str | None = Field(None, max_length=2000)
    callback_number: str | None = Field(None, max_length=32)


def _sla_end(store: Store, due: Any) -> datetime:
    return datetime.combine(due, dtime(23, 59, 59), tzinfo=store.tickets.tz)


async def _assign(store: Store, public_id: str, agency: str | None, owner: str) -> None:
    t = await store.tickets.get(public_id)
    if t is None:
        return
    await store.desk.assign(public_id, assign_queue=AGENCY_QUEUES.get(agency or "", "umum") if agency else None,
                            owner=owner, sla_due_at=_sla_end(store, t.sla_due))


@router.post("/api/desk/tickets", response_model=None)
async def desk_file_ticket(request: Request, body: TicketBody,
                           principal: Principal = Depends(require(*STAFF, api=True))) -> Any:
    """File a ticket from the pop (linked to the call)."""
    store = _store(request)
    user = username_of(principal)
    caller_number = None
    if body.kind == "callback":
        caller_number = body.callback_number
    try:
        pid = await store.tickets.create(body.kind, category=body.category, location=body.location,
                                         description=body.description, call_id=body.call_id, agency=body.agency,
                                         reporter_phone=caller_number,
                                         extra={"filed_by": principal.actor, "note": body.note} if body.note else
                                         {"filed_by": principal.actor})
        await _assign(store, pid, body.agency, user)
        if body.kind == "callback" and caller_number:
            await store.desk.set_callback(pid, caller_number)
    except StoreError as exc:
        return _err(str(exc))
    await store.audit.record(principal.actor, principal.role, "file_ticket", "ticket", pid,
                             detail=f"call {body.call_id}" if body.call_id else None, remote=remote(request))
    await _ticket_event(request, pid, user, "filed")
    return {"ok": True, "ticket": pid}


async def _ticket_event(request: Request, pid: str, user: str, what: str) -> None:
    desk = _desk(request)
    if desk is None:
        return
    t = await _store(request).tickets.get(pid)
    data = {"ticket": pid, "what": what, "agent": user,
            "display_id": t.display_id if t else pid, "status": t.status if t else None,
            "kind": t.kind if t else None}
    await desk.publish(DeskEvent("ticket", data, "all", at=time.time()), figures=True)


@router.post("/api/desk/tickets/{public_id}", response_model=None)
async def desk_update_ticket(request: Request, public_id: str, body: TicketBody,
                             principal: Principal = Depends(require(*STAFF, api=True))) -> Any:
    store = _store(request)
    user = username_of(principal)
    t = await store.tickets.get(public_id)
    if t is None:
        return _err("Tiket tidak ditemukan.", 404)
    try:
        await store.desk.update_ticket(public_id, actor=principal.actor, category=body.category, agency=body.agency,
                                       location=body.location, description=body.description, note=body.note)
        if body.status and body.status != t.status:
            if body.status not in TICKET_TRANSITIONS.get(t.status, set()):
                return _err("Perubahan status ini tidak diizinkan.", 409)
            await store.tickets.update_status(public_id, body.status, note=body.note, actor=principal.actor)
        await _assign(store, public_id, body.agency or t.agency, user)
    except StoreError as exc:
        return _err(str(exc))
    await store.audit.record(principal.actor, principal.role, "update_ticket", "ticket", public_id,
                             remote=remote(request))
    await _ticket_event(request, public_id, user, "updated")
    return {"ok": True, "ticket": public_id}


class WrapBody(BaseModel):
    call_id: str = Field(max_length=64)
    disposition: str
    ticket: str | None = Field(None, max_length=16)
    note: str | None = Field(None, max_length=2000)


@router.post("/api/desk/wrapup", response_model=None)
async def desk_wrapup(request: Request, body: WrapBody,
                      principal: Principal = Depends(require(*STAFF, api=True))) -> Any:
    if body.disposition not in DISPOSITIONS:
        return _err("Disposisi tidak dikenal.")
    store = _store(request)
    user = username_of(principal)
    try:
        await store.desk.dispose(body.call_id, user, body.disposition, ticket_id=body.ticket, note=body.note)
    except StoreError as exc:
        return _err(str(exc), 404)
    await store.audit.record(principal.actor, principal.role, "wrap_up", "call", body.call_id,
                             detail=body.disposition, remote=remote(request))
    desk = _desk(request)
    if desk is not None:
        await desk.wrap_up(user)
        await desk.publish(DeskEvent("wrapup", {"call_id": body.call_id, "disposition": body.disposition,
                                                "agent": user}, for_agent(user), at=time.time()), figures=True)
    return {"ok": True}


@router.get("/desk/calls/{call_id}/turns/{index}/audio", response_model=None)
async def desk_turn_audio(request: Request, call_id: str, index: int,
                          principal: Principal = Depends(require(*STAFF))) -> Response:
    """The caller's own recorded turn (audited: a voice is personal data)."""
    store = _store(request)
    call = await store.calls.get(call_id)
    turn = next((t for t in call.turns if t.index == index and t.who == "caller"), None) if call else None
    path = recording_path(store, turn.audio_path) if turn else None
    if path is None:
        return _err("Rekaman tidak tersedia.", 404)
    await store.audit.record(principal.actor, principal.role, "play_recording", "call", call_id,
                             detail=f"turn {index}", revealed=True, remote=remote(request))
    return FileResponse(path, media_type="audio/wav")


# ---------------------------------------------------------------------------------- callbacks

@router.get("/api/desk/callbacks", response_model=None)
async def desk_callbacks(request: Request, mine: bool = False, overdue: bool = False,
                         principal: Principal = Depends(require(*STAFF, api=True))) -> Any:
    """Open callback requests, soonest promised first, each with its owner, assignment queue and
    agency, and SLA countdown; ``mine``: only the caller's own, ``overdue``: only those late."""
    store = _store(request)
    settings = request.app.state.settings
    items = await store.desk.callbacks()
    if mine:
        items = [i for i in items if i.owner == username_of(principal)]
    tickets = {t.public_id: t for t in await asyncio.gather(*(store.tickets.get(i.public_id) for i in items))
               if t is not None}
    work = await work_of(store, list(tickets.values()))
    if overdue:
        items = [i for i in items if work.get(i.public_id, {}).get("overdue")]
    clear = may_reveal(settings, principal) and store.pii.can_encrypt
    tz = request.app.state.tz
    out = []
    for i in items:
        number = i.phone_masked
        if clear:
            number = await store.desk.callback_number(i.public_id) or number
        w = work.get(i.public_id, {})
        out.append({"ticket": i.public_id, "display_id": format_ticket_id(i.public_id), "status": i.status,
                    "number": number, "dialable": i.dialable,
                    "promised_at": i.promised_at.isoformat() if i.promised_at else None,
                    "promised_text": i.promised_at.astimezone(tz).strftime("%d-%m-%Y %H:%M") if i.promised_at else "-",
                    "sla_due_at": w.get("deadline"), "sla_left_s": w.get("sla_left_s"),
                    "sla_text": w.get("sla_text", "-"), "overdue": bool(w.get("overdue")),
                    "owner": i.owner, "assign_queue": w.get("assign_queue"), "agency": w.get("agency"),
                    # the code for logic, the words for staff ("Tidak diangkat", not "no_answer")
                    "attempts": i.attempts, "last_outcome": i.last_outcome,
                    "last_outcome_label": label(i.last_outcome, "attempt_outcome", "Belum dicoba")})
    await store.audit.record(principal.actor, principal.role, "list_callbacks", "ticket", None, revealed=clear,
                             detail=f"mine={int(mine)} overdue={int(overdue)}", remote=remote(request))
    return {"callbacks": out, "revealed": clear}


@router.post("/api/desk/callbacks/{public_id}/dial", response_model=None)
async def desk_dial(request: Request, public_id: str,
                    principal: Principal = Depends(require(*STAFF, api=True)),
                    desk: Desk = Depends(running_desk)) -> Any:
    user = username_of(principal)
    try:
        attempt = await desk.call_back(public_id, user)
    except DeskError as exc:
        await _store(request).audit.record(principal.actor, principal.role, "call_back", "ticket", public_id,
                                           detail=f"refused: {exc}", remote=remote(request))
        return _err(str(exc), 422)
    await _store(request).audit.record(principal.actor, principal.role, "call_back", "ticket", public_id,
                                       detail=f"attempt {attempt}", remote=remote(request))
    return {"ok": True, "attempt": attempt}


# ---------------------------------------------------------------------------------- admin: phones

class AgentPhone(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    extension: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    display_name: str | None = Field(None, max_length=128)
    #: the queue member interface; default ``PJSIP/<extension>``
    interface: str | None = Field(None, max_length=128)
    #: the queues the phone logs in to; none: the configured ``agent_queues``
    queues: list[str] = Field(default_factory=list, max_length=32)


@router.post("/api/desk/agents", response_model=None)
async def desk_map_agent(request: Request, body: AgentPhone,
                         principal: Principal = Depends(require("admin", api=True))) -> Any:
    store = _store(request)
    try:
        agent = await store.desk.map_agent(body.username, body.extension, display_name=body.display_name,
                                           interface=body.interface, queues=body.queues)
    except StoreError as exc:
        return _err(str(exc))
    desk = _desk(request)
    if desk is not None:
        await desk.reload_agents()
        desk.changed()
    await store.audit.record(principal.actor, principal.role, "map_agent_phone", "agent", body.username,
                             detail=agent.interface, remote=remote(request))
    return {"ok": True, "interface": agent.interface, "queues": list(agent.queues)}


@router.delete("/api/desk/agents/{username}", response_model=None)
async def desk_unmap_agent(request: Request, username: str,
                           principal: Principal = Depends(require("admin", api=True))) -> Any:
    store = _store(request)
    before = await store.desk.agent(username)
    if before is None or not await store.desk.unmap_agent(username):
        return _err("no phone mapped to this username", 404)
    desk = _desk(request)
    if desk is not None:
        await desk.reload_agents()
        desk.changed()
    await store.audit.record(principal.actor, principal.role, "remove_agent_phone", "agent", username,
                             detail=before.interface, remote=remote(request))
    return {"ok": True}


@router.get("/api/desk/agents", response_model=None)
async def desk_agents(request: Request, principal: Principal = Depends(require(*SUPERVISORS, api=True))) -> Any:
    return {"agents": [vars(a) for a in await _store(request).desk.agents()]}
