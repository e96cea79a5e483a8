"""Admin pages: dialog scripts (list and validate) and the audit log."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Request

from ivr.web.app import render
from ivr.web.auth import Principal, check_csrf, require

router = APIRouter()
MAX_SCRIPT_BYTES = 512 * 1024


def _validate(name: str, text: str | None = None, path: Path | None = None) -> dict[str, Any]:
    try:
        from dialogs import ScriptError, load_script
    except ImportError as exc:  # dialogs not installed/broken: say so, do not crash the page
        return {"name": name, "ok": False, "issues": [f"dialogs package unavailable: {exc}"], "info": {}}
    try:
        script = load_script(path, text=None) if path is not None else load_script(name, text=text)
    except ScriptError as exc:
        return {"name": name, "ok": False, "issues": [str(i) for i in exc.issues], "info": {}}
    except Exception as exc:  # a bug in the loader must not hide the other scripts
        return {"name": name, "ok": False, "issues": [f"{type(exc).__name__}: {exc}"], "info": {}}
    info = {
        "script": getattr(script, "name", "?"),
        "states": len(getattr(script, "states", {}) or {}),
        "intents": len(getattr(script, "intents", {}) or {}),
    }
    return {"name": name, "ok": True, "issues": [], "info": info}


def _script_files(request: Request) -> list[Path]:
    settings = request.app.state.settings
    files: list[Path] = []
    try:
        configured = settings.script_path()
        files.append(configured)
    except Exception:
        configured = None
    dirs = {p.parent for p in files}
    try:
        from dialogs import default_script_path

        dirs.add(Path(default_script_path()).parent)
    except Exception:
        pass
    for d in sorted(dirs):
        if d.is_dir():
            for p in sorted(d.glob("*.y*ml")):
                if ".tests." in p.name:  # a script's test cases, not a script
                    continue
                if p not in files:
                    files.append(p)
    return files


@router.get("/admin/scripts")
async def scripts_page(request: Request, principal: Principal = Depends(require("admin"))):
    import asyncio

    files = _script_files(request)
    configured = files[0] if files else None

    def check_all() -> list[dict[str, Any]]:
        out = []
        for p in files:
            r = _validate(str(p), path=p)
            try:
                r["version"] = hashlib.sha256(p.read_bytes()).hexdigest()[:12]
            except OSError:
                r["version"] = "-"
            r["active"] = p == configured
            out.append(r)
        return out

    results = await asyncio.get_running_loop().run_in_executor(None, check_all)
    return render(request, "scripts.html", {"scripts": results, "checked": None, "source": ""})


@router.post("/admin/scripts/validate")
async def validate_script(request: Request, source: str = Form(""), csrf: str = Form(""),
                          principal: Principal = Depends(require("admin"))):
    import asyncio

    if not check_csrf(principal, csrf):
        return render(request, "error.html", {"title": "Formulir kedaluwarsa", "message": ""}, 403)
    if len(source.encode()) > MAX_SCRIPT_BYTES:
        checked = {"name": "uploaded", "ok": False, "issues": ["script too large (max 512 KiB)"], "info": {}}
    else:
        checked = await asyncio.get_running_loop().run_in_executor(None, _validate, "uploaded.yaml", source)
    return render(request, "scripts.html", {"scripts": [], "checked": checked, "source": source},
                  200 if checked["ok"] else 422)


@router.get("/admin/audit")
async def audit_page(request: Request, subject_type: str | None = None, subject_id: str | None = None,
                     principal: Principal = Depends(require("admin"))):
    entries = await request.app.state.store.list_audit(subject_type=subject_type or None,
                                                       subject_id=subject_id or None, limit=200)
    return render(request, "audit.html", {"entries": entries})
