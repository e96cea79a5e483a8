import json

import pytest

from dialogs import (
    CallStarted,
    CreateTicket,
    DialogEngine,
    EndCall,
    Hangup,
    Heard,
    Listen,
    LookupTicket,
    NoInput,
    PlaybackDone,
    Pressed,
    Say,
    TicketCreated,
    TicketStatus,
    Transfer,
    TransferFailed,
)


def says(actions):
    return " ".join(a.text for a in actions if isinstance(a, Say))


def started(script, **kw):
    e = DialogEngine(script, strict=True)
    e.handle(CallStarted(**kw))
    return e


def test_start_ends_with_listen_and_static_prompts(script):
    e = DialogEngine(script, strict=True)
    actions = e.start()
    assert isinstance(actions[-1], Listen)
    assert all(isinstance(a, Say) and a.static for a in actions[:-1])
    listen = actions[-1]
    assert listen.state == "main_menu" and listen.kind == "intent"
    assert "ktp" in listen.expect and "darurat" in listen.expect
    assert listen.max_digits == 1 and listen.barge_in


def test_events_before_start_and_after_end_are_ignored(script):
    e = DialogEngine(script, strict=True)
    assert e.handle(Heard("ktp")) == []
    e.start()
    assert e.handle(Hangup()) == []
    assert e.ended
    assert e.handle(Pressed("1")) == [] and e.handle(CallStarted()) == []


def test_dtmf_and_speech_reach_the_same_service(script):
    a = started(script)
    a.handle(Pressed("1"))
    out_a = a.handle(Pressed("1"))
    b = started(script)
    out_b = b.handle(Heard("mau urus ktp"))
    assert a.state == b.state == "info_ktp"
    assert says(out_a) == says(out_b)
    assert "gratis" in says(out_a)


def test_emergency_from_any_listening_state(script):
    for path in ([], [Pressed("1")], [Pressed("5")], [Pressed("6")]):
        e = started(script)
        for ev in path:
            e.handle(ev)
        out = e.handle(Heard("tolong ada kebakaran", 0.5))
        assert e.state == "emergency", path
        text = says(out)
        assert "112" in text and "119" in text


def test_repeat_repeats_the_prompt_without_counting_a_miss(script):
    e = started(script)
    first = e.handle(Heard("bayar pbb"))
    again = e.handle(Heard("ulangi"))
    assert says(again) == says(first)
    again2 = e.handle(Pressed("*"))
    assert says(again2) == says(first)
    assert e.snapshot()["misses"] == 0


def test_ladder_uses_different_wording_then_keypad_then_agent(script):
    e = started(script)
    a1 = says(e.handle(NoInput()))
    a2 = says(e.handle(NoInput()))
    out = e.handle(NoInput())
    assert a1 != a2
    assert "tekan 1" in a2.lower()
    assert isinstance(out[-1], Transfer) and out[-1].reason == "no_input_limit"
    e = started(script)
    m1 = says(e.handle(Heard("xyzzy plugh")))
    assert "belum mengerti" in m1
    assert m1 != a1


def test_keypad_prompt_is_generated_when_the_state_has_none(script):
    e = started(script)
    e.handle(Pressed("3"))  # menu_kesehatan has no keypad text of its own
    e.handle(NoInput())
    out = e.handle(NoInput())
    # the generated list starts a sentence after the head's full stop
    assert "Anda. Tekan 1 untuk BPJS Kesehatan, tekan 2" in says(out)
    assert "tekan 9 untuk menu utama" in says(out)


def test_confirmation_thresholds(script):
    acc, conf = script.settings.accept, script.settings.confirm
    e = started(script)
    e.handle(Heard("bpjs", (acc + conf) / 2))
    assert e.phase == "confirming"
    out = e.handle(NoInput())
    assert e.phase == "confirming" and "Maksud Anda" in says(out)
    e.handle(Pressed("1"))
    assert e.state == "info_bpjs"
    e = started(script)
    e.handle(Heard("bpjs", conf / 2))
    assert e.state == "main_menu" and e.phase == "listening"


def test_confirmation_replaced_by_clear_new_request(script):
    e = started(script)
    e.handle(Heard("pajak", 0.4))
    assert e.phase == "confirming"
    e.handle(Heard("saya mau bikin akta kelahiran anak"))
    assert e.state == "info_akta_kelahiran"


def test_intent_from_the_runtime_is_trusted(script):
    e = started(script)
    e.handle(Heard("(audio)", 0.9, intent="pbb"))
    assert e.state == "info_pbb"
    e = started(script)
    e.handle(Heard("(audio)", 0.9, intent="complaint_category"))  # not an intent here
    assert e.state == "main_menu"


def test_transfer_failed_callback_flow_without_caller_id(script):
    e = started(script, caller_number="anonymous")
    out = e.handle(Pressed("0"))
    tr = out[-1]
    assert isinstance(tr, Transfer) and tr.queue == "hotline"
    assert tr.context["state"] == "main_menu" and "path" in tr.context
    e.handle(TransferFailed("no_agents"))
    assert e.state == "callback_offer_busy"
    e.handle(Heard("iya boleh"))
    assert e.state == "callback_number_ask"
    e.handle(Pressed("123#"))
    assert e.state == "callback_number_ask"  # invalid number, asked again
    e.handle(Pressed("081311112222#"))
    out = e.handle(Heard("ya betul"))
    assert out == [CreateTicket(kind="callback", fields={
        "phone": "081311112222", "reason": "no_agents", "topic": "", "call_id": ""})]
    out = e.handle(TicketCreated("2611-00042-7"))
    # the number as people write it; speech reads its groups (tts.textprep)
    assert isinstance(out[-1], EndCall) and "nomor tiket 2611-00042-7." in says(out)


def test_transfer_failed_is_ignored_when_not_transferring(script):
    e = started(script)
    assert e.handle(TransferFailed("no_agents")) == []
    assert e.handle(TicketCreated("1")) == []
    assert e.handle(TicketStatus("1", "open")) == []
    assert e.handle(PlaybackDone()) == []


def test_lookup_status(script):
    e = started(script)
    e.handle(Heard("status pengaduan"))
    out = e.handle(Heard("nomor tiketnya 2 0 4 8 1"))
    assert out == [LookupTicket("20481")]
    out = e.handle(TicketStatus("20481", "resolved", None))
    assert "sudah selesai" in says(out) and "diperbarui" not in says(out)
    e = started(script)
    e.handle(Pressed("6"))
    e.handle(Pressed("777777#"))
    out = e.handle(TicketStatus("777777", "menunggu verifikasi", "2026-11-02T10:00:00"))
    assert "menunggu verifikasi" in says(out) and "2 November 2026" in says(out)
    e = started(script)
    e.handle(Pressed("6"))
    e.handle(Pressed("777777#"))
    out = e.handle(TicketStatus("777777", "open", "20-11-2026"))   # the runtime's dd-mm-yyyy
    assert "20 November 2026" in says(out) and "menunggu tindak lanjut" in says(out)


def test_lookup_reads_back_the_number_the_runtime_wrote(script):
    e = started(script)
    e.handle(Pressed("6"))
    assert e.handle(Pressed("2611000427#")) == [LookupTicket("2611000427")]
    out = e.handle(TicketStatus("2611-00042-7", "in_progress", "2026-11-20"))
    assert "Pengaduan nomor 2611-00042-7 terakhir diperbarui pada 20 November 2026" in says(out)
    e = started(script)
    e.handle(Pressed("6"))
    e.handle(Pressed("2611000428#"))
    out = e.handle(TicketStatus("2611-00042-8", None))
    assert "nomor tiket 2611-00042-8 tidak kami temukan" in says(out)


def test_last_turn_is_the_turn_just_handled(script):
    e = started(script)
    assert e.last_turn is None  # the call start is not the caller's input
    e.handle(Heard("bikin ktp", 0.9))
    t = e.last_turn
    assert (t.state, t.input, t.outcome, t.intent) == ("main_menu", "speech", "accepted", "ktp")
    assert 0.6 <= t.confidence <= 0.9 and e.state == "info_ktp"
    e.handle(Heard("harga emas hari ini", 0.8))
    t = e.last_turn
    assert (t.state, t.outcome, t.intent) == ("info_ktp", "no_match", None)
    assert e.last_intent == "ktp"  # the last *accepted* intent stays, the turn's own does not
    e.handle(Heard("menu utama", 0.4))   # between the thresholds: asked back
    t = e.last_turn
    assert (t.outcome, t.intent, t.confidence) == ("confirming", "menu", 0.4)
    e.handle(Pressed("2"))
    assert (e.last_turn.outcome, e.last_turn.intent, e.last_turn.input) == ("denied", "menu", "keys")
    e.handle(NoInput())
    assert (e.last_turn.outcome, e.last_turn.input, e.last_turn.confidence) == ("no_input", "none", None)
    e.handle(PlaybackDone())
    assert e.last_turn is None


def test_snapshot_restore_mid_call_gives_identical_behaviour(script):
    events = [Heard("mau ngadu"), Heard("sampah"), Heard("pasar baru"), Heard("bau sekali"),
              Pressed("1"), Heard("Rina"), Pressed("#")]
    rest = [Heard("iya"), Pressed("1"), TicketCreated("99"), Heard("selesai")]
    a = started(script, caller_number="081234567890", call_id="x")
    for ev in events:
        a.handle(ev)
    snap = a.snapshot()
    json.dumps(snap)  # JSON-safe
    b = DialogEngine.restore(script, json.loads(json.dumps(snap)), strict=True)
    for ev in rest:
        assert a.handle(ev) == b.handle(ev)
    assert a.snapshot() == b.snapshot()
    assert a.ended


def test_restore_rejects_foreign_snapshots(script):
    with pytest.raises(ValueError):
        DialogEngine.restore(script, {"v": 99})
    snap = started(script).snapshot()
    snap["state"] = "no_such_state"
    with pytest.raises(ValueError):
        DialogEngine.restore(script, snap)


def test_deterministic(script):
    evs = [Heard("halo"), NoInput(), Heard("bansos"), Pressed("0"), TransferFailed("closed_hours"), Pressed("2")]
    runs = []
    for _ in range(2):
        e = started(script, caller_number="081234567890")
        runs.append([e.handle(ev) for ev in evs])
    assert runs[0] == runs[1]
    assert isinstance(runs[0][-1][-1], EndCall)


def test_free_text_keeps_long_sentences_with_global_words(script):
    e = started(script)
    for ev in (Pressed("5"), Pressed("3"), Heard("kantor kelurahan")):
        e.handle(ev)
    e.handle(Heard("petugas di loket minta uang tambahan supaya cepat"))
    assert e.state == "complaint_identity"
    assert e.variables["description"].startswith("petugas di loket")


def test_nik_by_voice_and_invalid_nik(script):
    e = started(script, today="2026-11-28")
    for ev in (Pressed("5"), Pressed("3"), Heard("kecamatan"), Heard("pungli"), Pressed("1"), Heard("Ani")):
        e.handle(ev)
    assert e.state == "complaint_nik"
    out = e.handle(Heard("sembilan sembilan nol satu nol satu empat lima nol delapan sembilan lima nol nol nol satu"))
    assert e.state == "complaint_nik" and "belum sesuai" in says(out)
    e.handle(Heard("tiga dua tujuh tiga nol satu empat lima nol delapan sembilan lima nol nol nol satu"))
    assert e.variables["reporter_nik"] == "3273014508950001"


def test_internal_error_is_contained_when_not_strict(script, monkeypatch):
    e = DialogEngine(script)
    e.start()
    monkeypatch.setattr(e, "_heard", lambda ev: 1 / 0)
    out = e.handle(Heard("ktp"))
    assert isinstance(out[-1], Transfer) and out[-1].reason == "engine_error"
    strict = DialogEngine(script, strict=True)
    strict.start()
    monkeypatch.setattr(strict, "_heard", lambda ev: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        strict.handle(Heard("ktp"))


@pytest.mark.parametrize("text, answer", [
    ("ya", "yes"), ("iya betul", "yes"), ("ya tidak apa apa", "yes"), ("sudah benar", "yes"),
    ("boleh silakan", "yes"), ("tidak", "no"), ("nggak usah", "no"), ("bukan itu", "no"),
    ("belum benar", "no"), ("salah", "no"), ("hmm", None), ("", None),
    ("saya mau tanya soal pajak motor tahun ini ya", None),
])
def test_yes_or_no(text, answer):
    from dialogs.engine import yes_or_no
    assert yes_or_no(text) == answer


def test_runtime_intent_does_not_cut_a_free_text_answer(script):
    e = started(script)
    for ev in (Pressed("5"), Pressed("3"), Heard("kantor kelurahan")):
        e.handle(ev)
    e.handle(Heard("petugasnya minta uang lima puluh ribu", 0.9, intent="petugas"))
    assert e.state == "complaint_identity"
    e = started(script)
    for ev in (Pressed("5"), Pressed("3"), Heard("kantor kelurahan")):
        e.handle(ev)
    out = e.handle(Heard("petugas", 0.9, intent="petugas"))
    assert isinstance(out[-1], Transfer)


def test_choice_without_confirmation_accepts_a_middling_match(script):
    e = started(script)
    e.handle(Pressed("5"))
    assert e.state == "complaint_category"
    acc, conf = script.settings.accept, script.settings.confirm
    e.handle(Heard("sampah", (acc + conf) / 2))   # listen.confirm is false here
    assert e.state == "complaint_location"
    assert e.variables["category"] == "kebersihan" and e.variables["category_label"] == "kebersihan"


def test_listen_is_always_last_and_expectations_match_the_script(script):
    e = started(script)
    out = e.handle(Pressed("5"))
    listen = out[-1]
    assert isinstance(listen, Listen) and listen.kind == "choice"
    assert listen.expect == script.expectations("complaint_category")
    assert listen.dtmf["1"] == "infrastruktur" and listen.dtmf["0"] == "petugas"


def test_menu_options_are_understood_by_speech(script):
    e = started(script)
    e.handle(Heard("pajak"))
    assert e.state == "menu_pajak"
    e.handle(Heard("kembali ke menu utama"))
    assert e.state == "main_menu"
    e.handle(Heard("mau bayar pajak motor"))
    assert e.state == "info_pajak_kendaraan"   # a clear service still wins over the sub-menu
    e.handle(Heard("menu utama"))
    assert e.state == "main_menu"
    e.handle(Heard("kependudukan"))
    assert e.state == "menu_kependudukan"


def test_a_complaint_about_an_officer_is_not_a_transfer(script):
    e = started(script)
    out = e.handle(Heard("petugas kelurahan minta uang"))
    assert not any(isinstance(a, Transfer) for a in out)
    assert e.last_intent == "pengaduan" and e.state.startswith("complaint_")
    # from an information state, where "petugas" is a global intent, too
    e = started(script)
    e.handle(Heard("mau urus ktp"))
    assert e.state == "info_ktp"
    out = e.handle(Heard("petugas di kecamatan kasar sekali"))
    assert not any(isinstance(a, Transfer) for a in out)
    assert e.state.startswith("complaint_")
    # while asking for an agent still reaches one
    e = started(script)
    out = e.handle(Heard("saya mau bicara dengan petugas"))
    assert isinstance(out[-1], Transfer)


@pytest.mark.parametrize("text", ["sesak napas", "tolong ada tabrakan", "bapak saya pingsan nggak bangun bangun"])
def test_colloquial_emergencies_reach_the_emergency_state_at_once(script, text):
    e = started(script)
    out = e.handle(Heard(text, 0.8))
    assert e.state == "emergency" and e.phase != "confirming"
    assert "112" in says(out) and "119" in says(out)


def test_an_emergency_inside_a_long_free_text_answer(script):
    def at_description():
        e = started(script)
        for ev in (Pressed("5"), Pressed("3"), Heard("kantor kelurahan")):
            e.handle(ev)
        assert e.state == "complaint_description"
        return e

    e = at_description()
    out = e.handle(Heard("tolong ada kebakaran di rumah saya sekarang juga"))
    assert e.state == "emergency" and "112" in says(out)
    # a description that mentions an accident or a late ambulance stays a description
    for text in ("jalan rusak itu sering bikin kecelakaan motor",
                 "ambulans datang telat sekali waktu tetangga sakit kemarin"):
        e = at_description()
        e.handle(Heard(text))
        assert e.state == "complaint_identity", text
        assert e.variables["description"] == text


def test_free_text_is_kept_whatever_the_recognizer_confidence(script):
    """A complaint's location and description are the caller's own words: an unsure recognizer
    (its confidence is about the global commands scored beside them) does not drop them."""
    e = started(script)
    for ev in (Pressed("5"), Pressed("3")):
        e.handle(ev)
    assert e.state == "complaint_location"
    e.handle(Heard("dekat pasar kembang", 0.12))
    assert e.state == "complaint_description" and e.variables["location"] == "dekat pasar kembang"
    e.handle(Heard("lampu jalan mati sudah dua minggu", 0.05))
    assert e.state == "complaint_identity" and e.variables["description"] == "lampu jalan mati sudah dua minggu"
