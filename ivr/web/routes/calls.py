"""The agent screen: what the caller already told the hotline before being handed over."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from ivr.storage.script_labels import BeyondSpec
from ivr.desk.pop import slot_rows
from ivr.storage import Call, Ticket
from ivr.storage.script_view import LiveScriptView
from ivr.storage.views import Turn
from ivr.web.labels import END_REASON_LABELS
from ivr.web.pages import MAX_PAGE, remote, render
from ivr.web.auth import STAFF, Principal, may_reveal, require

log = logging.getLogger(__name__)
router = APIRouter()
PAGE = 30


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
async def agent_home(request: Request, page: int = Query(1, ge=1, le=MAX_PAGE), status: str = "",
                     principal: Principal = Depends(require(*STAFF))) -> Response:
    """Calls, newest first, a page at a time; ``status``: ongoing, handed over, not handed over,
    or an end reason."""
    store = request.app.state.store
    filters: dict[str, object] = {}
    if status == "ongoing":
        filters["open_only"] = True
    elif status in ("handed_over", "not_handed_over"):
        filters["handed_over"] = status == "handed_over"
    elif status in END_REASON_LABELS:
        filters["end_reason"] = status
    else:
        status = ""
    calls = await store.calls.recent(limit=PAGE + 1, offset=(page - 1) * PAGE, **filters)
    await store.audit.record(principal.actor, principal.role, "list_calls", "call", None,
                             detail=f"page={page} status={status or '-'}", remote=remote(request))
    return render(request, "calls.html", {"calls": calls[:PAGE], "has_more": len(calls) > PAGE, "page": page,
                                          "status": status, "end_reasons": END_REASON_LABELS})


@router.get("/agent/calls/{call_id}")
async def agent_call(request: Request, call_id: str, reveal: bool = False,
                     principal: Principal = Depends(require(*STAFF))) -> Response:
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
        topics = [t.beyond if t.who == "caller" else None for t in call.turns]
    else:
        topics = _beyond_of(transcript, call.turns)
    transcript = [_entry_view(x, shown) if isinstance(x, dict) else {"who": "", "text": str(x)} for x in transcript]
    if any(topics):
        spec = await _beyond_spec(request)
        for entry, topic in zip(transcript, topics):
            if topic:
                entry["beyond"] = spec.told(topic)
    saved = ctx.get("slots")
    slots: Mapping[str, object] = saved if isinstance(saved, dict) else {}
    return render(request, "agent_call.html", {
        "call": call, "context": ctx, "transcript": transcript, "slot_rows": slot_rows(slots, masked=not shown),
        "tickets": tickets,
        "shown": shown, "can_reveal": can_reveal,
    })


@router.get("/api/calls/{call_id}", response_model=None)
async def api_call(request: Request, call_id: str, reveal: bool = False,
                   principal: Principal = Depends(require(*STAFF, api=True))) -> dict[str, object] | JSONResponse:
    call, context, tickets, shown = await _call_data(request, principal, call_id, reveal)
    if call is None:
        return JSONResponse({"error": "call not found"}, status_code=404)
    lines = context.get("transcript") if context is not None else None
    if context is not None and isinstance(lines, list):
        context = dict(context, transcript=[_entry_view(x, shown) if isinstance(x, dict) else x for x in lines])
    return {"call": call.to_json(), "context": context, "tickets": [t.public_id for t in tickets],
            "ticket_display_ids": [t.display_id for t in tickets], "revealed": shown}


def _beyond_of(transcript: Sequence[object], turns: Sequence[Turn]) -> list[str | None]:
    """Per entry of the hand-off context's transcript, the out-of-scope topic its caller turn
    was told (None: none).

    The call's session
    writes a caller's entry and its turn together, in the same order (a no-input event is a turn
    only), so the k-th caller entry is the k-th caller turn heard or pressed. An entry whose turn
    does not say the same words (a context saved otherwise) gets no topic rather than another's."""
    heard = [t for t in turns if t.who == "caller" and t.source != "event"]
    out: list[str | None] = []
    k = 0
    for entry in transcript:
        topic = None
        if isinstance(entry, Mapping) and entry.get("who") == "caller":
            turn = heard[k] if k < len(heard) else None
            k += 1
            said = {entry.get("text"), entry.get("keys"), entry.get("clear_text")} - {None}
            if turn is not None and turn.beyond and turn.text in said:
                topic = turn.beyond
        out.append(topic)
    return out


async def _beyond_spec(request: Request) -> BeyondSpec:
    """The out-of-scope topics of the live script (their labels staff read), read as the
    wallboard and the analytics read it; never raises (a topic unknown reads as its name)."""
    view = getattr(request.app.state, "beyond_topics", None)
    if not isinstance(view, LiveScriptView):
        view = LiveScriptView(request.app.state.store, request.app.state.settings.script_path(),
                              BeyondSpec.from_script, BeyondSpec(), "out-of-scope topics on the call page")
        request.app.state.beyond_topics = view
    try:
        spec = await view.get()
    except Exception:     # the page shows the topic's name rather than failing
        log.warning("out-of-scope topics not readable", exc_info=True)
        return BeyondSpec()
    return spec if isinstance(spec, BeyondSpec) else BeyondSpec()


def _entry_view(entry: Mapping[str, object], shown: bool) -> dict[str, object]:
    """A transcript entry as staff see it: masked; with what was really said (kept encrypted
    under ``clear_text``) only when revealed through the audited reveal."""
    entry = dict(entry)
    clear = entry.pop("clear_text", None)
    if shown and isinstance(clear, str):
        entry["keys" if "keys" in entry else "text"] = clear
    return entry
