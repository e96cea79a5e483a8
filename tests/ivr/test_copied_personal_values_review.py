"""Second review of the copied personal values (``ivr.privacy.call_values``): what must not be
hidden (the script's own words) and what must be (a caller's free words repeating a value the
call already holds)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from types import SimpleNamespace

from dialogs import CallStarted, load_script
from dialogs.actions import CreateTicket, Listen, Say
from ivr.calls.ports import CallerInput, Understood
from ivr.calls.runtime import ScriptRelease
from ivr.calls.session import CallSession
from ivr.privacy.call_values import personal_values
from ivr.privacy.masking import FIELD_MASK, hide_values
from ivr.privacy.pii import Pii
from tests.conftest import PII_TEST_KEY
from tests.ivr.test_copied_personal_values import CALLER, NAME, _Agi, _Media, _Speaker

CHOICE_SCRIPT = """\
version: 1
name: pilihan
start: jenis
states:
  jenis:
    say: Alamat yang dimaksud rumah atau kantor?
    listen:
      kind: choice
      slot: jenis_alamat
      options: {rumah: [rumah], kantor_desa: [kantor]}
      labels: {kantor_desa: Kantor Desa}
    next: nama
  nama:
    say: Silakan sebutkan nama Anda.
    listen: {kind: free, slot: nama_pemohon}
    next: anonim
  anonim:
    set: {nama_pelapor: "tidak disebutkan"}
    say: Ceritakan masalahnya.
    listen: {kind: free, slot: description}
    next: selesai
  selesai:
    say: Terima kasih.
    end: completed
"""


def test_the_scripts_own_words_in_a_personal_variable_are_not_hidden_everywhere() -> None:
    # a menu choice stored in a slot named personal ("jenis_alamat" = "rumah", its label) and a
    # literal the script sets ("nama_pelapor": "tidak disebutkan") are no caller's data: hiding
    # them would mask "rumah" or "tidak disebutkan" across the whole description
    script = load_script("pilihan.yaml", text=CHOICE_SCRIPT)
    values = personal_values(script, {
        "jenis_alamat": "rumah", "jenis_alamat_label": "rumah", "nama_pelapor": "tidak disebutkan",
        "nama_pemohon": "Budi Santoso", "description": "lampu di depan rumah mati"})
    text = "Lampu di depan rumah mati sejak kemarin, nama tidak disebutkan, kata Budi Santoso"
    assert hide_values(text, values) == (
        "Lampu di depan rumah mati sejak kemarin, nama tidak disebutkan, kata B*** S***")
    other = personal_values(script, {"jenis_alamat": "kantor_desa", "jenis_alamat_label": "Kantor Desa"})
    assert other == ()
    masked = Pii("mask").protect("Antrean panjang di kantor desa", "text", personal=other).masked
    assert masked == "Antrean panjang di kantor desa"
    # the address a caller said in a slot named personal is still hidden wherever it stands
    said = personal_values(script, {"alamat_rumah": "Jalan Kenanga 12"})
    assert hide_values("rumah di Jalan Kenanga 12", said) == f"rumah di {FIELD_MASK}"


DESC_SCRIPT = """\
version: 1
name: cerita
start: ask_name
states:
  ask_name:
    say: Silakan sebutkan nama Anda.
    listen: {kind: free, slot: nama_pemohon}
    next: ask_desc
  ask_desc:
    say: Ceritakan keluhan Anda.
    listen: {kind: free, slot: description}
    next: file
  file:
    create_ticket:
      kind: complaint
      fields: {category: kebersihan, description: "{description}", reporter_name: "{nama_pemohon}"}
      next: bye
  bye:
    say: Terima kasih.
    end: completed
"""


class _Understander:
    def __init__(self, said: list[str]) -> None:
        self.said = said

    async def understand(self, utt: object, listen: object) -> Understood:
        return Understood(text=self.said.pop(0), intent=None, confidence=0.9)


class _SpeakingMedia(_Media):
    joins = False
    stream_factory = None
    turn_policy = None

    async def listen(self, spec: object) -> CallerInput:
        now = time.monotonic()
        utt = SimpleNamespace(end_at=now, detected_at=now, seconds=1.0, turn=None, early_at=None)
        return CallerInput("speech", utterance=utt)  # type: ignore[arg-type]


async def test_a_caller_repeating_a_value_in_free_words_is_hidden_in_the_transcript_as_in_the_ticket(
        make_store, tmp_path, monkeypatch) -> None:
    # the name given first, then said again inside the complaint: the ticket's description
    # hides it (hide_values), so the transcript of the same words (call page, API, journal)
    # must too; the clear words stay for a reveal
    from ivr.config.settings import load_settings

    for k in ("IVR_CONFIG_FILE", "IVR_AGENT_TOKEN", "IVR_ADMIN_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("IVR_PII_KEY", PII_TEST_KEY)
    settings = load_settings(data_dir=tmp_path / "data", pii_mode="encrypt", office_hours="always",
                             turn_second_look_ms=0)
    store = await make_store(pii=Pii("encrypt", PII_TEST_KEY))
    script = load_script("cerita.yaml", text=DESC_SCRIPT)
    said = [NAME, f"sampah menumpuk di depan rumah {NAME} sejak seminggu"]
    release = ScriptRelease(script, "cerita", "1", understander=_Understander(said))  # type: ignore[arg-type]
    rt = SimpleNamespace(release=lambda: release, settings=settings, store=store, journal=None, handoff=None,
                         call_listeners=[], speaker=_Speaker(), sample_rate=8000, clock=lambda: datetime.now(UTC))
    session = CallSession(_Agi(), rt)  # type: ignore[arg-type]
    await store.calls.create(session.call_id, caller=CALLER)
    engine = session.engine = release.new_engine()
    media = _SpeakingMedia()
    actions = list(engine.start(CallStarted(caller_number=CALLER, call_id=session.call_id, today="2026-12-07")))
    for _ in range(20):
        event = None
        for action in actions:
            if isinstance(action, Say):
                await session._say(action, media)  # type: ignore[arg-type]
            elif isinstance(action, CreateTicket):
                event = await session._create_ticket(action)
            elif isinstance(action, Listen):
                event = await session._listen(action, media)  # type: ignore[arg-type]
        if event is None:
            break
        actions = list(engine.handle(event))
    await session.turns.finish()
    [ticket] = await store.tickets.query()
    stored = await store.tickets.get(ticket.public_id)
    assert stored is not None and "Budi" not in (stored.description or "")
    call = await store.calls.get(session.call_id)
    caller_turns = [t.text or "" for t in call.turns if t.who == "caller"]
    assert any("sampah menumpuk" in t for t in caller_turns), caller_turns
    assert not [t for t in caller_turns if "Budi" in t or "Santoso" in t], caller_turns
    assert "sampah menumpuk di depan rumah B*** S*** sejak seminggu" in caller_turns
    assert any(e.get("clear_text") == said_ for e in session.transcript
               for said_ in [f"sampah menumpuk di depan rumah {NAME} sejak seminggu"])


async def test_recovery_hides_a_value_the_dialog_forgot_but_a_summary_still_holds(make_store, tmp_path) -> None:
    # a first complaint filed, its flow left: the dialog forgets the name, the summary set from
    # it stays and a second ticket copies it; the process dies before the store has that ticket.
    # The live call hid the name (CallSession.personal_values keeps every value the call held):
    # the recovered ticket must too, from the values journaled with the snapshot
    import json
    import os

    from ivr.calls.journal import CallJournal
    from ivr.calls.recovery import recover_interrupted_calls
    from tests.ivr.test_copied_personal_values import SCRIPT

    script = load_script("salinan.yaml", text=SCRIPT)
    summary = f"Pemohon {NAME} di Jalan Kenanga 12"
    snap = {"state": "file", "vars": {"caller_number": CALLER, "ringkasan": summary}}
    held = (("nama_pemohon", "name", NAME), ("caller_number", "phone", CALLER))
    dead = CallJournal(tmp_path / "journal", Pii("encrypt", PII_TEST_KEY), instance="dead")
    dead.open_call("c7", caller=CALLER, started_at=1.5, media_mode="audiosocket")
    dead.snapshot("c7", snap, held)
    dead.ticket("c7", "c7-t2", "complaint", {"category": "kebersihan", "keterangan": summary}, held)
    dead.flush()
    dead._pool.shutdown(wait=True)
    os.close(dead._lock_fd)  # the process is gone: its lock with it
    records = [json.loads(line) for p in (tmp_path / "journal").rglob("*.jsonl") for line in p.read_text().splitlines()]
    assert records and not [r for r in records if "Budi" in json.dumps(r.get("m"))], records

    store = await make_store(pii=Pii("encrypt", PII_TEST_KEY))
    later = CallJournal(tmp_path / "journal", store.pii, instance="later")
    try:
        done = await recover_interrupted_calls(later, store, script)
        assert len(done.tickets) == 1, done
        masked = await store.tickets.get(done.tickets[0])
        assert masked is not None and masked.extra is not None
        assert masked.extra["keterangan"] == "Pemohon B*** S*** di Jalan Kenanga 12"
        clear = await store.tickets.get(done.tickets[0], reveal=True)
        assert clear is not None and clear.extra is not None and clear.extra["keterangan"] == summary
    finally:
        later.close()


def test_the_journals_copy_of_words_cut_by_a_hang_up_hides_the_calls_values(tmp_path) -> None:
    # the caller hangs up while repeating the name given before inside the complaint: the
    # journal's masked copy of those words hides it, as the turn and the ticket do
    import json

    from ivr.calls.journal import CallJournal

    journal = CallJournal(tmp_path / "journal", Pii("encrypt", PII_TEST_KEY), instance="one")
    try:
        journal.open_call("c5", caller=CALLER, started_at=1.0)
        journal.cut("c5", "ask_desc", f"sampah di depan rumah {NAME} …", personal=(("nama_pemohon", "name", NAME),))
        journal.flush()
        [path] = (tmp_path / "journal").rglob("c5.jsonl")
        [cut] = [r for r in map(json.loads, path.read_text().splitlines()) if r["k"] == "cut"]
        assert cut["m"]["text"] == "sampah di depan rumah B*** S*** …"
        assert journal.read(path).cut["text"] == f"sampah di depan rumah {NAME} …"  # type: ignore[index]
    finally:
        journal.close()


def test_a_value_the_recognizer_punctuated_is_found_without_its_punctuation() -> None:
    # Whisper ends a sentence with a full stop: the name slot holds "Budi Santoso."; the caller
    # saying the name again inside the complaint has no full stop after it
    values = (("nama_pemohon", "name", f"{NAME}."), ("alamat_rumah", "field", '"Jalan Kenanga 12",'))
    text = f"sampah di depan rumah {NAME} sejak seminggu, di Jalan Kenanga 12 juga. Pemohon {NAME}."
    assert hide_values(text, values) == (
        f"sampah di depan rumah B*** S*** sejak seminggu, di {FIELD_MASK} juga. Pemohon B*** S***.")
