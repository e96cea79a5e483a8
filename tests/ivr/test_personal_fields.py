"""One rule for personal fields by name (``ivr.privacy.fields``): a slot a script editor named
freely (``nama_pemohon``, ``alamat_rumah``, ``no_hp_pelapor``) and filed into a ticket's
``extra`` fields is masked wherever it shows: the ticket page and its JSON (what the export
commands print), the live calls' journal, log records, the desk's rows, the transcript of the
answer and of a prompt that reads it back."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from ivr.calls.journal import CallJournal
from ivr.calls.tickets import file_ticket
from ivr.config.logging import configure_logging
from ivr.privacy.fields import answer_kind, is_personal_field
from ivr.privacy.masking import FIELD_MASK, mask_answer, mask_record, mask_value
from ivr.privacy.pii import Pii
from ivr.web import create_app
from tests.conftest import PII_TEST_KEY
from tests.ivr.staff import asgi_client, make_account, sign_in

NAME, ADDRESS, PHONE = "Budi Santoso", "Jalan Kenanga 12 Cibiru", "0812 3456 7890"
FIELDS = {"category": "kebersihan", "location": "Jl. Melati", "description": "sampah menumpuk",
          "nama_pemohon": NAME, "alamat_rumah": ADDRESS, "no_hp_pelapor": PHONE, "jumlah_kk": "3"}


@pytest.mark.parametrize("name", ["nama_pemohon", "alamat_rumah", "no_hp_pelapor", "nik_anak", "nikAnak",
                                  "NamaLengkap", "nomor-kk", "no_ktp", "tanggal_lahir", "emailPelapor",
                                  "no_wa", "callback_number", "CallerIDNum", "reporter", "clear_text"])
def test_personal_by_name(name):
    assert is_personal_field(name)


@pytest.mark.parametrize("name", ["kkn", "channel", "phonetic", "namespace", "location", "description",
                                  "category", "stopped_at", "cut_by_hangup", "info_ktp", "layanan_ktp",
                                  "ticket", "intent", "confidential", "jumlah", "kanal"])
def test_not_personal_by_name(name):
    assert not is_personal_field(name)


def test_mask_value_hides_a_field_named_personal_whole():
    assert mask_value({"nama_pemohon": NAME, "alamatRumah": ADDRESS, "jenis": "sampah"}) == {
        "nama_pemohon": FIELD_MASK, "alamatRumah": FIELD_MASK, "jenis": "sampah"}


def test_answers_and_prompts_of_a_slot_named_personal_are_hidden_in_the_transcript():
    # a free answer for "alamat_rumah" is no complaint text: hidden whole, not left as said
    kind = answer_kind("free", "alamat_rumah")
    assert mask_answer(ADDRESS, kind) == FIELD_MASK
    assert answer_kind("free", "description") == "text"       # a description stays readable
    assert answer_kind("digits", "no_kk") is not None          # keyed digits named personal
    assert mask_record("Alamat Anda {alamat_rumah}, benar?", [("alamat_rumah", "text", ADDRESS)]) == \
        f"Alamat Anda {FIELD_MASK}, benar?"


@pytest.fixture
async def site(make_store, tmp_path, monkeypatch):
    from ivr.config.settings import load_settings

    for k in ("IVR_CONFIG_FILE", "IVR_AGENT_TOKEN", "IVR_ADMIN_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("IVR_PII_KEY", PII_TEST_KEY)
    settings = load_settings(data_dir=tmp_path / "data", pii_mode="encrypt")
    store = await make_store(pii=Pii("encrypt", PII_TEST_KEY))
    await make_account(store, "agent", "rina")
    await make_account(store, "admin", "andi")
    call = await store.calls.create(caller="081299998888")
    ticket = await file_ticket(store.tickets, "complaint", FIELDS, call_id=call, client_id=f"{call}-t1")
    return {"app": create_app(settings, store), "store": store, "ticket": ticket}


def _visible(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _leaks(text: str) -> list[str]:
    return [v for v in ("Budi", "Santoso", "Kenanga", "3456", "7890") if v in text]


async def test_a_ticket_with_script_slots_named_personal_shows_them_masked(site):
    """SQLite and PostgreSQL: the stored masked copy, the page, the JSON API (and export)."""
    stored = await site["store"].tickets.get(site["ticket"])
    assert stored.extra["nama_pemohon"] == stored.extra["alamat_rumah"] == stored.extra["no_hp_pelapor"] == FIELD_MASK
    assert stored.extra["jumlah_kk"] == FIELD_MASK  # "kk": a family-card field, hidden whole too
    async with asgi_client(site["app"]) as c:
        await sign_in(c, "rina")
        page = _visible((await c.get(f"/tickets/{site['ticket']}")).text)
        api = (await c.get(f"/api/tickets/{site['ticket']}")).text
        listed = (await c.get("/api/tickets")).text
    assert not _leaks(page) and not _leaks(api) and not _leaks(listed), (_leaks(page), _leaks(api), _leaks(listed))
    # the page lists the script's own fields by name, their values said masked
    assert "Nama pemohon Disamarkan (data pribadi)" in page
    assert "Alamat rumah Disamarkan (data pribadi)" in page
    assert "No hp pelapor Disamarkan (data pribadi)" in page
    assert json.loads(api)["extra"]["nama_pemohon"] == FIELD_MASK


async def test_an_audited_reveal_shows_the_script_fields_in_clear(site):
    async with asgi_client(site["app"]) as c:
        await sign_in(c, "andi")
        page = _visible((await c.get(f"/tickets/{site['ticket']}?reveal=1")).text)
    assert f"Nama pemohon {NAME}" in page and f"Alamat rumah {ADDRESS}" in page
    entries = await site["store"].audit.entries(limit=5)
    assert any(e.action == "view_ticket" and e.revealed for e in entries)


def test_the_journal_and_the_logs_keep_the_fields_masked(tmp_path):
    journal = CallJournal(tmp_path / "journal", Pii("mask", PII_TEST_KEY))
    journal.ticket("c1", "c1-t1", "complaint", dict(FIELDS))
    journal.flush()
    text = "".join(p.read_text() for p in (tmp_path / "journal").rglob("*.jsonl"))
    assert "nama_pemohon" in text and not _leaks(text), _leaks(text)

    buf = io.StringIO()
    handler = configure_logging("DEBUG", "json", buf)
    try:
        logging.getLogger("ivr.calls.tickets").info("ticket fields", extra={"fields": dict(FIELDS),
                                                                             "nama_pemohon": NAME})
    finally:
        logging.getLogger().removeHandler(handler)
    out = buf.getvalue()
    assert "ticket fields" in out and not _leaks(out), _leaks(out)
    record = json.loads(out.splitlines()[-1])
    assert record["nama_pemohon"] == FIELD_MASK and record["fields"]["alamat_rumah"] == FIELD_MASK


def test_the_desk_rows_mask_personal_fields_and_the_text_of_others():
    from ivr.desk.pop import slot_rows

    rows = dict(slot_rows({"nama_pemohon": NAME, "keterangan": f"hubungi {PHONE}"}))
    assert rows["Nama pemohon"] == "Disamarkan (data pribadi)"
    assert "3456" not in rows["Keterangan"]


KK_SCRIPT = """\
version: 1
name: kk
start: ask
intents:
  petugas: {label: petugas, examples: [petugas, operator]}
globals:
  petugas: {action: agent, dtmf: "0"}
states:
  ask:
    say: Sebutkan nomor KK Anda.
    listen:
      kind: digits
      min_length: 4
      max_length: 16
      slot: no_kk
    on:
      filled: readback
  readback:
    say: Nomor KK Anda {no_kk:plain}. Terima kasih.
    end: done
"""


def test_a_prompt_reading_back_a_slot_named_personal_keeps_it_hidden_in_the_transcript():
    """The runtime's engine (``personal_names``): a KK number keyed as digits, which the script
    alone does not count as personal, is a placeholder in the prompt's record form."""
    from dialogs import CallStarted, DialogEngine, Pressed, Say, load_script
    from ivr.calls.runtime import ScriptRelease

    script = load_script("kk.yaml", text=KK_SCRIPT)
    engine = ScriptRelease(script, "kk", None, understander=None).new_engine()  # type: ignore[arg-type]
    engine.handle(CallStarted(caller_number="081234567890", call_id="c1", today="2026-12-07"))
    [say] = [a for a in engine.handle(Pressed("1234")) if isinstance(a, Say)]
    assert "1234" in say.text
    assert say.record is not None and mask_record(say.record, say.personal) == f"Nomor KK Anda {FIELD_MASK}. Terima kasih."
    # without the runtime's rule the script alone says nothing personal there
    plain = DialogEngine(script)
    plain.handle(CallStarted(caller_number="081234567890", call_id="c1", today="2026-12-07"))
    [say] = [a for a in plain.handle(Pressed("1234")) if isinstance(a, Say)]
    assert say.record is None
