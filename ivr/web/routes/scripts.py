"""Admin pages for dialog scripts (issue 12): versions (paged), the YAML editor with errors on
their lines as you type, a form view for common edits, side-by-side diff, test cases, a
simulator, recognizer routing of an uploaded WAV, and publish / roll back.

Heavy work (loading and testing a script, diffs, recognition) runs on worker threads; what an
admin typed is escaped wherever it is shown (Jinja2 autoescape; JSON for the scripts)."""

from __future__ import annotations

import asyncio
import difflib
import secrets
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response

from dialogs import DialogEngine, Script
from dialogs.actions import CreateTicket, EndCall, Listen, LookupTicket, Say, Transfer
from dialogs.events import CallStarted, Event, Hangup, Heard, NoInput, Pressed
from ivr.config.settings import Settings
from ivr.storage import Store, StoreUnavailable
from ivr.storage.script_checks import Checked, check, quick_validate, validate
from ivr.storage.scripts import MAX_TEXT_BYTES, BeforeLive, ScriptConflict, ScriptNotFound, ScriptNotPublishable, ScriptVersion
from ivr.web.auth import Principal, check_csrf, require
from ivr.web.pages import remote, render
from ivr.web.script_form import FormError, apply_form, form_fields

router = APIRouter()
PAGE_SIZE = 50
MAX_WAV_BYTES = 2 * 1024 * 1024
MAX_SIMULATIONS = 200
admin = require("admin")
admin_api = require("admin", api=True)


def _key(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.script_path().stem


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _expired(request: Request) -> Response:
    return render(request, "error.html", {"title": "Formulir kedaluwarsa",
                                          "message": "Muat ulang halaman lalu coba lagi."}, 403)


async def _version(request: Request, version_id: int) -> ScriptVersion | Response:
    try:
        return await _store(request).scripts.get(version_id)
    except ScriptNotFound:
        return render(request, "error.html", {"title": "Versi tidak ditemukan",
                                              "message": f"Tidak ada versi skrip dengan id {version_id}."}, 404)


# --------------------------------------------------------------------------- versions


@router.get("/admin/scripts")
async def scripts_page(request: Request, page: int = 1, principal: Principal = Depends(admin)) -> Response:
    key = _key(request)
    scripts = _store(request).scripts
    page = max(1, page)
    rows, total = await scripts.list(key, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    live = await scripts.live(key)
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    return render(request, "scripts.html", {"key": key, "versions": rows, "live": live, "total": total,
                                            "page": page, "pages": pages, "message": request.query_params.get("m")})


def _prerender(request: Request) -> BeforeLive:
    """What runs before a version goes live: its prompts rendered into the cache (when this
    process speaks), so the first caller after the publish hears no synthesis delay."""
    tools = request.app.state.script_tools

    async def before_live(checked: Checked) -> None:
        if tools is not None and checked.script is not None:
            await tools.prerender(checked.script)

    return before_live


async def _refresh_live(request: Request) -> None:
    """This process takes the new live version at once instead of at its next poll."""
    tools = request.app.state.script_tools
    if tools is not None:
        await tools.refresh()


@router.post("/admin/scripts/{version_id}/publish")
async def publish(request: Request, version_id: int, csrf: str = Form(""),
                  principal: Principal = Depends(admin)) -> Response:
    if not check_csrf(principal, csrf):
        return _expired(request)
    try:
        live = await _store(request).scripts.publish(version_id, actor=principal.actor, role=principal.role,
                                                     before_live=_prerender(request), remote=remote(request))
    except ScriptNotPublishable as exc:
        return render(request, "error.html", {"title": "Versi ini belum bisa diterbitkan",
                                              "message": " ".join(exc.reasons)}, 422)
    except ScriptNotFound:
        return render(request, "error.html", {"title": "Versi tidak ditemukan", "message": ""}, 404)
    except StoreUnavailable:
        return render(request, "error.html", {"title": "Gagal menerbitkan: basis data tidak tersedia",
                                              "message": "Versi yang sedang live tetap berjalan. Coba lagi nanti."}, 503)
    await _refresh_live(request)
    return RedirectResponse(f"/admin/scripts?m=terbit-{live.number}", status_code=303)


@router.post("/admin/scripts/rollback")
async def rollback(request: Request, csrf: str = Form(""), to_id: int | None = Form(None),
                   principal: Principal = Depends(admin)) -> Response:
    if not check_csrf(principal, csrf):
        return _expired(request)
    try:
        live = await _store(request).scripts.rollback(_key(request), actor=principal.actor, role=principal.role,
                                                      to_id=to_id, before_live=_prerender(request),
                                                      remote=remote(request))
    except ScriptNotFound:
        return render(request, "error.html", {"title": "Tidak ada versi sebelumnya",
                                              "message": "Belum ada versi lama yang pernah diterbitkan."}, 404)
    except ScriptNotPublishable as exc:
        return render(request, "error.html", {"title": "Versi itu tidak bisa dipakai lagi",
                                              "message": " ".join(exc.reasons)}, 422)
    except StoreUnavailable:
        return render(request, "error.html", {"title": "Gagal mengembalikan: basis data tidak tersedia",
                                              "message": "Versi yang sedang live tetap berjalan."}, 503)
    await _refresh_live(request)
    return RedirectResponse(f"/admin/scripts?m=kembali-{live.number}", status_code=303)


@router.get("/admin/scripts/diff")
async def diff_page(request: Request, a: int, b: int, principal: Principal = Depends(admin)) -> Response:
    va = await _version(request, a)
    if isinstance(va, Response):
        return va
    vb = await _version(request, b)
    if isinstance(vb, Response):
        return vb

    def table() -> str:
        return difflib.HtmlDiff(wrapcolumn=70).make_table(
            va.yaml_text.splitlines(), vb.yaml_text.splitlines(), f"versi {va.number}", f"versi {vb.number}",
            context=True, numlines=3)
    html = await asyncio.to_thread(table)
    return render(request, "script_diff.html", {"a": va, "b": vb, "table": html})


# --------------------------------------------------------------------------- editor


@router.get("/admin/scripts/{version_id}/edit")
async def editor(request: Request, version_id: int, principal: Principal = Depends(admin)) -> Response:
    v = await _version(request, version_id)
    if isinstance(v, Response):
        return v
    return render(request, "script_edit.html", {"v": v, "yaml_text": v.yaml_text, "conflict": None, "comment": ""})


@router.post("/api/admin/scripts/validate")
async def validate_api(request: Request, principal: Principal = Depends(admin_api)) -> Response:
    """``{"yaml": "..."}`` -> ``{"ok", "issues": [{line, column, message, path}]}`` (Indonesian
    messages), for the editor as the admin types."""
    if not check_csrf(principal, request.headers.get("x-csrf-token")):
        return JSONResponse({"error": "csrf"}, status_code=403)
    body = await request.body()
    if len(body) > MAX_TEXT_BYTES + 1024:
        return JSONResponse({"ok": False, "issues": [{"line": 1, "column": 1, "path": "",
                                                     "message": "Skrip terlalu besar (paling banyak 512 KiB)."}]})
    try:
        data = await request.json()
        text = str(data.get("yaml", "")) if isinstance(data, dict) else ""
    except ValueError:
        return JSONResponse({"error": "JSON expected"}, status_code=400)
    result = await asyncio.to_thread(quick_validate, text)
    issues = [{"line": i.get("line") or 1, "column": 1, "path": i.get("path", ""), "message": i["message"]}
              for i in result["issues"]]
    return JSONResponse({"ok": result["ok"], "issues": issues})


@router.post("/admin/scripts/save")
async def save(request: Request, yaml_text: str = Form(..., alias="yaml"), base_id: int = Form(...),
               comment: str = Form(""), force: str = Form(""), csrf: str = Form(""),
               principal: Principal = Depends(admin)) -> Response:
    if not check_csrf(principal, csrf):
        return _expired(request)
    base = await _version(request, base_id)
    if isinstance(base, Response):
        return base
    if len(yaml_text.encode("utf-8")) > MAX_TEXT_BYTES:
        return render(request, "script_edit.html", {"v": base, "yaml_text": yaml_text, "comment": comment,
                                                    "conflict": None,
                                                    "error": "Skrip terlalu besar (paling banyak 512 KiB)."}, 413)
    try:
        v = await _store(request).scripts.save_draft(base.script, yaml_text.replace("\r\n", "\n"), base_id=base_id,
                                                     author=principal.actor, comment=comment, force=bool(force))
    except ScriptConflict as exc:
        return render(request, "script_edit.html", {"v": base, "yaml_text": yaml_text, "comment": comment,
                                                    "conflict": exc.newer}, 409)
    return RedirectResponse(f"/admin/scripts/{v.id}/edit", status_code=303)


@router.get("/admin/scripts/{version_id}/form")
async def form_page(request: Request, version_id: int, principal: Principal = Depends(admin)) -> Response:
    v = await _version(request, version_id)
    if isinstance(v, Response):
        return v
    try:
        fields = await asyncio.to_thread(form_fields, v.yaml_text)
    except FormError as exc:
        return render(request, "error.html", {"title": "Tampilan formulir tidak tersedia", "message": str(exc)}, 422)
    return render(request, "script_form.html", {"v": v, "fields": fields})


@router.post("/admin/scripts/{version_id}/form")
async def form_save(request: Request, version_id: int, principal: Principal = Depends(admin)) -> Response:
    form = await request.form()
    if not check_csrf(principal, str(form.get("csrf", ""))):
        return _expired(request)
    v = await _version(request, version_id)
    if isinstance(v, Response):
        return v
    values = {k: str(val) for k, val in form.items() if isinstance(val, str)}
    try:
        text = await asyncio.to_thread(apply_form, v.yaml_text, values)
    except FormError as exc:
        return render(request, "error.html", {"title": "Isian tidak dapat dipakai", "message": str(exc)}, 422)
    try:
        new = await _store(request).scripts.save_draft(v.script, text, base_id=v.id, author=principal.actor,
                                                       comment=values.get("comment") or "ubah lewat formulir")
    except ScriptConflict as exc:
        return render(request, "script_edit.html", {"v": v, "yaml_text": text, "comment": values.get("comment", ""),
                                                    "conflict": exc.newer}, 409)
    return RedirectResponse(f"/admin/scripts/{new.id}/edit", status_code=303)


# --------------------------------------------------------------------------- test and simulate


@router.get("/admin/scripts/{version_id}/test")
async def test_page(request: Request, version_id: int, principal: Principal = Depends(admin)) -> Response:
    v = await _version(request, version_id)
    if isinstance(v, Response):
        return v
    checked = await asyncio.to_thread(check, v.yaml_text, v.tests_text)
    return render(request, "script_test.html", {"v": v, "validation": checked.validation, "tests": checked.tests})


class _Simulations:
    """Simulated calls in memory (one process), newest kept: id -> (version id, engine)."""

    def __init__(self) -> None:
        self.items: OrderedDict[str, tuple[int, DialogEngine]] = OrderedDict()
        self.scripts: OrderedDict[int, Script] = OrderedDict()


def _sims(request: Request) -> _Simulations:
    sims = getattr(request.app.state, "script_simulations", None)
    if sims is None:
        sims = request.app.state.script_simulations = _Simulations()
    return sims


async def _script_of(request: Request, version_id: int) -> Script | None:
    sims = _sims(request)
    if version_id in sims.scripts:
        return sims.scripts[version_id]
    v = await _store(request).scripts.get(version_id)
    result, script = await asyncio.to_thread(validate, v.yaml_text)
    if script is not None:
        sims.scripts[version_id] = script
        while len(sims.scripts) > 8:
            sims.scripts.popitem(last=False)
    return script


@router.get("/admin/scripts/{version_id}/simulate")
async def simulate_page(request: Request, version_id: int, principal: Principal = Depends(admin)) -> Response:
    v = await _version(request, version_id)
    if isinstance(v, Response):
        return v
    script = await _script_of(request, version_id)
    states = sorted(script.listening_states()) if script is not None else []
    return render(request, "script_simulate.html", {"v": v, "valid": script is not None, "states": states,
                                                    "audio": request.app.state.script_tools is not None})


def _turn(engine: DialogEngine, actions: list[Any]) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for a in actions:
        if isinstance(a, Say):
            out.append({"type": "say", "text": a.text})
        elif isinstance(a, Listen):
            out.append({"type": "listen", "kind": a.kind, "state": a.state})
        elif isinstance(a, Transfer):
            out.append({"type": "transfer", "queue": a.queue})
        elif isinstance(a, CreateTicket):
            out.append({"type": "ticket", "kind": a.kind})
        elif isinstance(a, LookupTicket):
            out.append({"type": "lookup", "ticket": a.ticket_id})
        elif isinstance(a, EndCall):
            out.append({"type": "end", "reason": a.reason})
        else:
            out.append({"type": type(a).__name__})
    intent, conf = engine.last_intent, engine.last_confidence
    turn = engine.last_turn
    if turn is not None and turn.outcome == "accepted" and turn.intent in engine.script.questions:
        # a follow-up question answered in place: the editor sees the question it was taken as
        # (the call stays about the service, last_intent)
        intent, conf = turn.intent, turn.confidence
    return {"state": engine.state, "phase": engine.phase, "intent": intent,
            "confidence": None if conf is None else round(conf, 3),
            "slots": dict(engine.variables), "actions": out}


@router.post("/api/admin/scripts/{version_id}/simulate")
async def simulate_turn(request: Request, version_id: int, principal: Principal = Depends(admin_api)) -> Response:
    """``{"sim": id|null, "say": text | "press": digits | "no_input": true | "hangup": true}``:
    one turn of a simulated call (``sim`` null starts one)."""
    if not check_csrf(principal, request.headers.get("x-csrf-token")):
        return JSONResponse({"error": "csrf"}, status_code=403)
    try:
        data = await request.json()
    except ValueError:
        return JSONResponse({"error": "JSON expected"}, status_code=400)
    if not isinstance(data, dict):
        return JSONResponse({"error": "JSON object expected"}, status_code=400)
    try:
        script = await _script_of(request, version_id)
    except ScriptNotFound:
        return JSONResponse({"error": "Versi tidak ditemukan."}, status_code=404)
    if script is None:
        return JSONResponse({"error": "Skrip versi ini belum valid, jadi belum bisa disimulasikan."}, status_code=422)
    sims = _sims(request)
    sid = data.get("sim")
    found = sims.items.get(str(sid)) if sid else None
    event: Event
    if found is None or found[0] != version_id:
        sid, engine = secrets.token_urlsafe(12), DialogEngine(script)
        sims.items[sid] = (version_id, engine)
        while len(sims.items) > MAX_SIMULATIONS:
            sims.items.popitem(last=False)
        event = CallStarted(caller_number="081200000000", call_id=f"sim-{sid[:8]}")
    elif "say" in data:
        engine = found[1]
        event = Heard(text=str(data["say"])[:500], confidence=1.0)
    elif "press" in data:
        engine = found[1]
        event = Pressed("".join(ch for ch in str(data["press"]) if ch in "0123456789*#")[:32] or "#")
    elif data.get("hangup"):
        engine = found[1]
        event = Hangup()
    else:
        engine = found[1]
        event = NoInput()
    try:
        actions = engine.handle(event)
    except Exception as exc:  # a script the engine cannot run: show it, keep the page
        return JSONResponse({"sim": sid, "error": f"Mesin dialog berhenti: {type(exc).__name__}"}, status_code=422)
    return JSONResponse({"sim": sid, **_turn(engine, actions)})


@router.get("/admin/scripts/audio")
async def prompt_audio(request: Request, text: str, principal: Principal = Depends(admin)) -> Response:
    """A prompt as callers hear it, from the real TTS (the running hotline's prompt cache)."""
    tools = request.app.state.script_tools
    if tools is None:
        return JSONResponse({"error": "Suara tidak tersedia di proses ini."}, status_code=503)
    if not text.strip() or len(text) > 1000:
        return JSONResponse({"error": "Teks kosong atau terlalu panjang."}, status_code=400)
    wav = await tools.speak_wav(text)
    return Response(wav, media_type="audio/wav", headers={"Cache-Control": "private, max-age=600"})


@router.post("/api/admin/scripts/{version_id}/route-audio")
async def route_audio(request: Request, version_id: int, state: str = Form(...), csrf: str = Form(""),
                      audio: UploadFile = File(...), principal: Principal = Depends(admin_api)) -> Response:
    """How the recognizer routes an uploaded WAV (8 or 16 kHz, mono, 16-bit) in ``state``."""
    if not check_csrf(principal, csrf or request.headers.get("x-csrf-token")):
        return JSONResponse({"error": "csrf"}, status_code=403)
    tools = request.app.state.script_tools
    if tools is None:
        return JSONResponse({"error": "Pengenal suara tidak tersedia di proses ini."}, status_code=503)
    data = await audio.read(MAX_WAV_BYTES + 1)
    if len(data) > MAX_WAV_BYTES:
        return JSONResponse({"error": "Berkas terlalu besar: paling banyak 2 MB (sekitar 60 detik suara 16 kHz)."},
                            status_code=413)
    script = await _script_of(request, version_id)
    if script is None:
        return JSONResponse({"error": "Skrip versi ini belum valid."}, status_code=422)
    if state not in script.listening_states():
        return JSONResponse({"error": f"State '{state}' tidak mendengarkan penelepon."}, status_code=400)
    from pcm.wav import read_wav

    try:
        pcm, rate = await asyncio.to_thread(read_wav, data)
    except Exception:
        return JSONResponse({"error": "Bukan berkas WAV yang bisa dibaca (PCM 16-bit mono)."}, status_code=400)
    result = await tools.route_audio(script, state, pcm, rate)
    return JSONResponse({"state": state, **result})
