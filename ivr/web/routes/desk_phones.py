"""Admins: which phone each agent answers on (``GET/POST /admin/desk-phones``).

A staff account is mapped to its Asterisk queue member interface (``PJSIP/<extension>`` unless
another is given) and the queues its phone logs in to (none ticked: the configured
``agent_queues``). List, add, change and remove; every change is in the audit log and the live
desk of this process re-reads the mappings at once (the others on their next ``AgentConnect``
for a member they do not know).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from ivr.desk import Desk
from ivr.storage import Store, StoreError
from ivr.storage.desk import DeskAgent
from ivr.web.auth import Principal, require
from ivr.web.pages import remote, render

router = APIRouter()

PATH = "/admin/desk-phones"

#: what the store says about a bad mapping, said to the admin
_ERRORS = {"an agent needs a username and an extension of letters/digits":
           "Ekstensi hanya boleh berisi huruf, angka, tanda - dan _.",
           "an interface looks like PJSIP/2001": "Antarmuka harus seperti PJSIP/2001.",
           "queue names are letters, digits, - and _": "Nama antrean hanya boleh berisi huruf, angka, - dan _."}


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def _desk_changed(request: Request) -> None:
    desk = getattr(request.app.state, "desk", None)
    if isinstance(desk, Desk):
        await desk.reload_agents()
        desk.changed()


async def _page(request: Request, *, message: str | None = None, error: str | None = None, status: int = 200,
                form: dict[str, object] | None = None, edit: str | None = None) -> Response:
    store = _store(request)
    phones = await store.desk.agents()
    accounts = [a for a in await store.accounts.all() if not a.disabled]
    configured: list[str] = list(request.app.state.settings.agent_queues)
    queues = list(dict.fromkeys(configured + [q for p in phones for q in p.queues]))
    editing: DeskAgent | None = next((p for p in phones if p.username == edit), None) if edit else None
    if form is None and editing is not None:
        form = {"username": editing.username, "extension": editing.extension,
                "interface": "" if editing.interface == f"PJSIP/{editing.extension}" else editing.interface,
                "display_name": editing.display_name or "", "queues": list(editing.queues)}
    return render(request, "desk_phones.html", {"phones": phones, "accounts": accounts, "queues": queues,
                                                "configured": configured, "message": message, "error": error,
                                                "form": form or {}, "editing": editing is not None}, status)


@router.get(PATH)
async def phones_page(request: Request, edit: str | None = None,
                      principal: Principal = Depends(require("admin"))) -> Response:
    return await _page(request, edit=edit)


@router.post(PATH)
async def save_phone(request: Request, username: str = Form(""), extension: str = Form(""),
                     interface: str = Form(""), display_name: str = Form(""),
                     principal: Principal = Depends(require("admin"))) -> Response:
    """Add or change one agent's phone (the username is the key)."""
    store = _store(request)
    form_data = await request.form()
    queues = [q for q in form_data.getlist("queues") if isinstance(q, str)]
    form: dict[str, object] = {"username": username, "extension": extension, "interface": interface,
                               "display_name": display_name, "queues": queues}
    account = await store.accounts.get(username.strip()) if username.strip() else None
    if account is None or account.disabled:
        return await _page(request, error="Pilih akun petugas yang aktif.", status=422, form=form)
    before = await store.desk.agent(account.username)
    try:
        phone = await store.desk.map_agent(account.username, extension, interface=interface.strip() or None,
                                           display_name=display_name.strip()[:128] or None, queues=queues)
    except StoreError as exc:
        return await _page(request, error=_ERRORS.get(str(exc), "Isian tidak valid."), status=422, form=form)
    detail = f"{phone.interface} queues={','.join(phone.queues) or '-'}"
    if before is not None:
        detail = f"{before.interface} -> {detail}"
    await store.audit.record(principal.actor, principal.role, "change_agent_phone" if before else "map_agent_phone",
                             "agent", account.username, detail=detail, remote=remote(request))
    await _desk_changed(request)
    verb = "diubah" if before else "ditambahkan"
    return await _page(request, message=f"Telepon {account.username} ({phone.interface}) {verb}.",
                       status=200 if before else 201)


@router.post(PATH + "/{username}/remove")
async def remove_phone(request: Request, username: str, principal: Principal = Depends(require("admin"))) -> Response:
    store = _store(request)
    before = await store.desk.agent(username)
    if before is None or not await store.desk.unmap_agent(username):
        return await _page(request, error="Petugas ini tidak punya telepon terdaftar.", status=404)
    await store.audit.record(principal.actor, principal.role, "remove_agent_phone", "agent", username,
                             detail=before.interface, remote=remote(request))
    await _desk_changed(request)
    return await _page(request, message=f"Telepon {username} dihapus dari daftar.")
