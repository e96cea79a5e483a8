"""The agent screen: what the caller already told the hotline before being handed over."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from ivr.storage import Call, Ticket
from ivr.web.pages import remote, render
from ivr.web.auth import Principal, may_reveal, require

router = APIRouter()


async def _call_data(request: Request, principal: Principal, call_id: str,
                     reveal: bool) -> tuple[Call | None, dict[str, object] | None, list[Ticket], bool]:
    store = request.app.state.store
    settings = request.app.state.settings
    call = await store.calls.get(call_id)
    if call is None:
        await store.audit.record(principal.actor, principal.role, "view_call", "call", call_id[:64],
                          detail="not found", remote=remote(request))
        return None, None, [], False
    tickets = [t for t in [await store.tickets.get(pid) for pid in call.tickets] if t is not None]
    confidential = any(t.confidential for t in tickets)
    shown = reveal and may_reveal(settings, principal, confidential) and store.pii.can_reveal
    if shown:
        call = await store.calls.get(call_id, reveal=True)
    context = await store.handoffs.context(call_id, reveal=shown)
    await store.audit.record(principal.actor, principal.role, "view_call", "call", call_id,
                      revealed=shown, remote=remote(request))
    return call, context, tickets, shown


@router.get("/agent")
async def agent_home(request: Request, principal: Principal = Depends(require("admin", "agent"))) -> Response:
    store = request.app.state.store
    calls = await store.calls.recent(limit=30)
    await store.audit.record(principal.actor, principal.role, "list_calls", "call", None, remote=remote(request))
    return render(request, "calls.html", {"calls": calls})


@router.get("/agent/calls/{call_id}")
async def agent_call(request: Request, call_id: str, reveal: bool = False,
                     principal: Principal = Depends(require("admin", "agent"))) -> Response:
    call, context, tickets, shown = await _call_data(request, principal, call_id, reveal)
    if call is None:
        return render(request, "error.html", {"title": "Panggilan tidak ditemukan", "message": ""}, 404)
    settings = request.app.state.settings
    can_reveal = (not shown and request.app.state.store.pii.can_reveal
                  and may_reveal(settings, principal, any(t.confidential for t in tickets)))
    ctx = context or {}
    transcript = ctx.get("transcript")
    if not isinstance(transcript, list) or not transcript:
        transcript = [{"who": t.who, "text": t.text} for t in call.turns]
    transcript = [_entry_view(x, shown) if isinstance(x, dict) else {"who": "", "text": str(x)} for x in transcript]
    slots = ctx.get("slots") if isinstance(ctx.get("slots"), dict) else {}
    return render(request, "agent_call.html", {
        "call": call, "context": ctx, "transcript": transcript, "slots": slots, "tickets": tickets,
        "shown": shown, "can_reveal": can_reveal,
    })


@router.get("/api/calls/{call_id}", response_model=None)
async def api_call(request: Request, call_id: str, reveal: bool = False,
                   principal: Principal = Depends(require("admin", "agent", api=True))) -> dict[str, object] | JSONResponse:
    call, context, tickets, shown = await _call_data(request, principal, call_id, reveal)
    if call is None:
        return JSONResponse({"error": "call not found"}, status_code=404)
    lines = context.get("transcript") if context is not None else None
    if context is not None and isinstance(lines, list):
        context = dict(context, transcript=[_entry_view(x, shown) if isinstance(x, dict) else x for x in lines])
    return {"call": call.to_json(), "context": context, "tickets": [t.public_id for t in tickets],
            "ticket_display_ids": [t.display_id for t in tickets], "revealed": shown}


def _entry_view(entry: Mapping[str, object], shown: bool) -> dict[str, object]:
    """A transcript entry as staff see it: masked; with what was really said (kept encrypted
    under ``clear_text``) only when revealed through the audited reveal."""
    entry = dict(entry)
    clear = entry.pop("clear_text", None)
    if shown and isinstance(clear, str):
        entry["keys" if "keys" in entry else "text"] = clear
    return entry
