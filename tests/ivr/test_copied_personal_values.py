"""A personal slot a script copies into a field or a text named otherwise (a ticket field
``keterangan: "Alamat {alamat_rumah} ..."``, a summary variable ``ringkasan`` the hand-off
carries and a prompt reads back) is masked there in every masked copy: the ticket's stored copy,
page and JSON (what the export prints), the transcript, the live calls' journal, the hand-off
context; the audited reveal shows it in clear (``ivr.privacy.call_values``,
``ivr.privacy.masking.hide_values``). A call through the real session, store, journal and
hand-off, its speech given as text (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import logging
import re
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from dialogs import CallStarted, Heard, load_script
from dialogs.actions import CreateTicket, Listen, Say, Transfer
from ivr.calls.handoff import Handoff
from ivr.calls.journal import CallJournal
from ivr.calls.ports import PlayResult
from ivr.calls.runtime import ScriptRelease
from ivr.calls.session import CallSession
from ivr.config.logging import configure_logging
from ivr.privacy.call_values import personal_kinds, personal_values
from ivr.privacy.masking import FIELD_MASK, hide_values
from ivr.privacy.pii import Pii
from ivr.web import create_app
from tests.conftest import PII_TEST_KEY
from tests.ivr.staff import asgi_client, make_account, sign_in
from tests.ivr.test_web import settings, web_store  # noqa: F401  (fixtures)

NAME, ADDRESS, CALLER = "Budi Santoso", "Jalan Kenanga 12 Cibiru", "081299998888"

SCRIPT = """\
version: 1
name: salinan
start: ask_name
intents:
  petugas: {label: petugas, examples: [petugas, operator]}
globals:
  petugas: {action: agent, dtmf: "0"}
states:
  ask_name:
    say: Silakan sebutkan nama Anda.
    listen: {kind: free, slot: nama_pemohon}
    next: ask_address
  ask_address:
    say: Silakan sebutkan alamat rumah Anda.
    listen: {kind: free, slot: alamat_rumah}
    next: summary
  summary:
    set: {ringkasan: "Pemohon {nama_pemohon} di {alamat_rumah}"}
    say: "Kami catat: {ringkasan}."
    next: file
  file:
    create_ticket:
      kind: complaint
      fields:
        category: kebersihan
        description: sampah menumpuk
        keterangan: "Alamat {alamat_rumah}, atas permintaan {nama_pemohon}"
      next: agent
  agent:
    say: Mohon tunggu, kami sambungkan ke petugas.
    transfer: {queue: umum, reason: script}
"""


def _leaks(text: str) -> list[str]:
    return [v for v in ("Budi", "Santoso", "Kenanga", "Cibiru") if v in text]


def _visible(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


class _Agi:
    env = {"callerid": CALLER, "uniqueid": "chan-1"}
    args: list[str] = []

    async def set_variable(self, name: str, value: str) -> None:
        return None

    async def hangup(self) -> None:
        return None


class _Media:
    async def play(self, pcm: bytes, *, barge_in: bool, text: str, typeahead: bool) -> PlayResult:
        now = time.monotonic()
        return PlayResult(completed=True, started_at=now, ended_at=now)

    async def close(self) -> None:
        return None


class _Speaker:
    async def pcm(self, text: str, *, static: bool, audio_file: str | None) -> bytes:
        return b"\0\0" * 800


async def _run(session: CallSession, actions: list[object]) -> object | None:
    """Play the engine's actions as the session does; the event a ticket answers with."""
    for action in actions:
        if isinstance(action, Say):
            await session._say(action, _Media())  # type: ignore[arg-type]
        elif isinstance(action, CreateTicket):
            return await session._create_ticket(action)
        elif isinstance(action, Transfer):
            assert await session._transfer(action) is None
            return None
        elif isinstance(action, Listen):
            return None
    return None


@pytest.fixture
async def call(make_store, tmp_path, monkeypatch):
    from ivr.config.settings import load_settings

    for k in ("IVR_CONFIG_FILE", "IVR_AGENT_TOKEN", "IVR_ADMIN_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("IVR_PII_KEY", PII_TEST_KEY)
    settings = load_settings(data_dir=tmp_path / "data", pii_mode="encrypt", office_hours="always")
    store = await make_store(pii=Pii("encrypt", PII_TEST_KEY))
    await make_account(store, "agent", "rina")
    await make_account(store, "admin", "andi")
    journal = CallJournal(tmp_path / "journal", Pii("encrypt", PII_TEST_KEY))
    script = load_script("salinan.yaml", text=SCRIPT)
    release = ScriptRelease(script, "salinan", "1", understander=None)  # type: ignore[arg-type]
    rt = SimpleNamespace(release=lambda: release, settings=settings, store=store, journal=journal,
                         handoff=Handoff(settings, store.handoffs), call_listeners=[], speaker=_Speaker(),
                         sample_rate=8000, clock=lambda: datetime.now(UTC))
    logs = io.StringIO()
    handler = configure_logging("DEBUG", "json", logs)
    try:
        session = CallSession(_Agi(), rt)  # type: ignore[arg-type]
        await store.calls.create(session.call_id, caller=CALLER)
        engine = session.engine = release.new_engine()
        await _run(session, engine.start(CallStarted(caller_number=CALLER, call_id=session.call_id,
                                                     today="2026-12-07")))
        for said in (NAME, ADDRESS):
            event = await _run(session, engine.handle(Heard(said)))
            session._journal_state()
            while event is not None:
                event = await _run(session, engine.handle(event))  # type: ignore[arg-type]
                session._journal_state()
        await session.turns.finish()
        journal.flush()
    finally:
        logging.getLogger().removeHandler(handler)
    [ticket] = await store.tickets.query()
    yield SimpleNamespace(store=store, app=create_app(settings, store), session=session, ticket=ticket.public_id,
                          journal=tmp_path / "journal", logs=logs.getvalue())
    journal.close()


def test_values_copied_into_other_text_are_hidden_by_their_kind():
    script = load_script("salinan.yaml", text=SCRIPT)
    kinds = personal_kinds(script)
    assert kinds["nama_pemohon"] == "name" and kinds["alamat_rumah"] == "field"
    assert "ringkasan" not in kinds  # composed: the values inside it are hidden, not it whole
    values = personal_values(script, {"nama_pemohon": NAME, "alamat_rumah": ADDRESS,
                                      "ringkasan": f"Pemohon {NAME} di {ADDRESS}"})
    spaced = ADDRESS.replace(" ", "  ")  # however the words are spaced, whatever their case
    assert hide_values({"ringkasan": f"Pemohon {NAME.lower()} di {spaced}"}, values) == {
        "ringkasan": f"Pemohon B*** S*** di {FIELD_MASK}"}
    # a value inside a longer word is not one ("Budi Santosoa")
    assert hide_values(f"{NAME}a", values) == f"{NAME}a"


async def test_the_ticket_keeps_a_copied_address_and_name_masked_and_reveals_them_audited(call):
    stored = await call.store.tickets.get(call.ticket)
    assert stored.extra["keterangan"] == f"Alamat {FIELD_MASK}, atas permintaan B*** S***"
    async with asgi_client(call.app) as c:
        await sign_in(c, "rina")
        page = _visible((await c.get(f"/tickets/{call.ticket}")).text)
        api = (await c.get(f"/api/tickets/{call.ticket}")).text
        listed = (await c.get("/api/tickets")).text
    assert "Keterangan" in page
    assert not _leaks(page) and not _leaks(api) and not _leaks(listed), (_leaks(page), _leaks(api), _leaks(listed))
    async with asgi_client(call.app) as c:
        await sign_in(c, "andi")
        revealed = _visible((await c.get(f"/tickets/{call.ticket}?reveal=1")).text)
    assert f"Alamat {ADDRESS}, atas permintaan {NAME}" in revealed
    entries = await call.store.audit.entries(limit=5)
    assert any(e.action == "view_ticket" and e.revealed for e in entries)


async def test_the_transcript_and_the_hand_off_keep_a_copied_summary_masked(call):
    cid = call.session.call_id
    stored = await call.store.calls.get(cid)
    said = [t.text for t in stored.turns if t.who == "system"]
    assert f"Kami catat: Pemohon B*** S*** di {FIELD_MASK}." in said, said
    assert not _leaks(" ".join(t.text or "" for t in stored.turns if t.who == "system"))
    context = await call.store.handoffs.context(cid)
    assert context is not None and not _leaks(str(context)), _leaks(str(context))
    assert context["dialog"]["variables"]["ringkasan"] == f"Pemohon B*** S*** di {FIELD_MASK}"
    async with asgi_client(call.app) as c:
        await sign_in(c, "rina")
        page = _visible((await c.get(f"/agent/calls/{cid}")).text)
        api = (await c.get(f"/api/calls/{cid}")).text
    assert not _leaks(page) and not _leaks(api), (_leaks(page), _leaks(api))
    # the audited reveal: the clear summary, in the transcript and the context
    clear = await call.store.handoffs.context(cid, reveal=True)
    assert clear is not None and clear["dialog"]["variables"]["ringkasan"] == f"Pemohon {NAME} di {ADDRESS}"
    revealed = await call.store.calls.get(cid, reveal=True)
    assert f"Kami catat: Pemohon {NAME} di {ADDRESS}." in [t.text for t in revealed.turns]


async def test_the_journal_and_the_logs_keep_the_copies_masked(call):
    text = "".join(p.read_text() for p in call.journal.rglob("*.jsonl"))
    assert "keterangan" in text and "ringkasan" in text
    assert not _leaks(text), _leaks(text)
    assert not _leaks(call.logs), _leaks(call.logs)


async def test_the_admin_is_warned_in_indonesian_of_a_field_copying_a_personal_slot(settings, web_store):
    """The script editor: a ticket field not named personal that copies the reporter's name
    gets a warning with its line on the version's page (the default script has none)."""
    from tests.ivr.test_scripts_storage import TESTS, YAML

    await make_account(web_store, "admin", "andi")
    imported = await web_store.scripts.import_file("default", YAML, TESTS)
    line = '        description: "{description}"\n'
    assert YAML.count(line) == 1
    copying = YAML.replace(line, line + '        keterangan: "Dilaporkan oleh {reporter_name}"\n')
    draft = await web_store.scripts.save_draft("default", copying, base_id=imported.version_id, author="admin:andi")
    async with asgi_client(create_app(settings, web_store)) as c:
        await sign_in(c, "andi")
        clean = (await c.get(f"/admin/scripts/{imported.version_id}/edit")).text
        page = (await c.get(f"/admin/scripts/{draft.id}/edit")).text
    assert "Peringatan data pribadi" not in clean
    assert 'id="privacy-warnings"' in page, page
    [warning] = re.findall(r'<ul id="privacy-warnings"><li>([^<]*)</li>', page)
    number = copying.splitlines().index(line.rstrip("\n")) + 2
    assert warning.startswith(f"Baris {number}: Isian tiket &#39;keterangan&#39; memuat data pribadi ({{reporter_name}})")


async def test_a_ticket_filed_by_recovery_keeps_the_copies_masked(make_store, tmp_path):
    """The process dies after the ticket was asked for, before the store had it: recovery files
    it from the journal, hiding the values of the dialog's last snapshot as the call would."""
    import os

    from ivr.calls.recovery import recover_interrupted_calls

    script = load_script("salinan.yaml", text=SCRIPT)
    engine = ScriptRelease(script, "salinan", "1", understander=None).new_engine()  # type: ignore[arg-type]
    engine.start(CallStarted(caller_number=CALLER, call_id="c9", today="2026-12-07"))
    engine.handle(Heard(NAME))
    [ticket] = [a for a in engine.handle(Heard(ADDRESS)) if isinstance(a, CreateTicket)]
    dead = CallJournal(tmp_path / "journal", Pii("encrypt", PII_TEST_KEY), instance="dead")
    dead.open_call("c9", caller=CALLER, started_at=1.5, media_mode="audiosocket")
    dead.snapshot("c9", dict(engine.snapshot()))
    dead.ticket("c9", "c9-t1", ticket.kind, dict(ticket.fields))
    dead.flush()
    dead._pool.shutdown(wait=True)
    os.close(dead._lock_fd)  # the process is gone: its lock with it

    store = await make_store(pii=Pii("encrypt", PII_TEST_KEY))
    later = CallJournal(tmp_path / "journal", store.pii, instance="later")
    try:
        done = await recover_interrupted_calls(later, store, script)
        assert done.calls == ["c9"] and len(done.tickets) == 1, done
        masked = await store.tickets.get(done.tickets[0])
        assert masked.extra["keterangan"] == f"Alamat {FIELD_MASK}, atas permintaan B*** S***"
        clear = await store.tickets.get(done.tickets[0], reveal=True)
        assert clear.extra["keterangan"] == f"Alamat {ADDRESS}, atas permintaan {NAME}"
    finally:
        later.close()
