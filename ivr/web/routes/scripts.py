"""Admin pages for dialog scripts: the scripts the hotline can run, and checking a pasted one."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from dialogs import ScriptError, default_script_path, load_script
from ivr.config.settings import Settings
from fastapi.responses import Response

from ivr.web.pages import render
from ivr.web.auth import Principal, check_csrf, require

router = APIRouter()
MAX_SCRIPT_BYTES = 512 * 1024


def _validate(name: str, text: str | None = None, path: Path | None = None) -> dict[str, Any]:
    try:
        script = load_script(path, text=None) if path is not None else load_script(name, text=text)
    except ScriptError as exc:
        return {"name": name, "ok": False, "issues": [str(i) for i in exc.issues], "info": {}}
    except Exception as exc:  # a bug in the loader must not hide the other scripts
        return {"name": name, "ok": False, "issues": [f"{type(exc).__name__}: {exc}"], "info": {}}
    info = {"script": script.name, "states": len(script.states), "intents": len(script.intents)}
    return {"name": name, "ok": True, "issues": [], "info": info}


def _script_files(request: Request) -> list[Path]:
    """The active script first, then the other scripts beside it and beside the packaged one."""
    settings: Settings = request.app.state.settings
    files = [settings.script_path()]
    dirs = {files[0].parent, Path(default_script_path()).parent}
    for d in sorted(dirs):
        if d.is_dir():
            for p in sorted(d.glob("*.y*ml")):
                if ".tests." in p.name:  # a script's test cases, not a script
                    continue
                if p not in files:
                    files.append(p)
    return files


@router.get("/admin/scripts")
async def scripts_page(request: Request, principal: Principal = Depends(require("admin"))) -> Response:
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
                          principal: Principal = Depends(require("admin"))) -> Response:
    import asyncio

    if not check_csrf(principal, csrf):
        return render(request, "error.html", {"title": "Formulir kedaluwarsa", "message": ""}, 403)
    if len(source.encode()) > MAX_SCRIPT_BYTES:
        checked = {"name": "uploaded", "ok": False, "issues": ["script too large (max 512 KiB)"], "info": {}}
    else:
        checked = await asyncio.get_running_loop().run_in_executor(None, _validate, "uploaded.yaml", source)
    return render(request, "scripts.html", {"scripts": [], "checked": checked, "source": source},
                  200 if checked["ok"] else 422)
