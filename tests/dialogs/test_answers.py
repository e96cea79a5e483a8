"""Follow-up questions answered in place (`answers:` of a state): "berapa biayanya?" after the
KTP answer gets the fee, the caller stays with KTP; a question that names another service goes
there; the main menu does not take questions; scripts that misuse `answers` are refused."""

from __future__ import annotations

import pytest

from dialogs import CallStarted, DialogEngine, Heard, Listen, Pressed, Say, Transfer, load_script
from dialogs.errors import ScriptError
from ivr.storage.script_checks import indonesian


def says(actions):
    return " ".join(a.text for a in actions if isinstance(a, Say))


def in_state(script, keys: str) -> DialogEngine:
    e = DialogEngine(script, strict=True)
    e.handle(CallStarted())
    for k in keys:
        e.handle(Pressed(k))
    return e


def test_a_follow_up_question_is_answered_in_place(script):
    e = in_state(script, "11")          # kependudukan -> KTP
    assert e.state == "info_ktp" and e.last_intent == "ktp"
    out = e.handle(Heard(text="berapa biayanya"))
    fee = script.states["info_ktp"].answers["tanya_biaya"][0].text
    closing = script.states["info_ktp"].say[-1].text
    assert says(out) == f"{fee} {closing}"
    assert "gratis" in fee
    assert isinstance(out[-1], Listen) and out[-1].state == "info_ktp"
    # still with KTP: the service the caller came for is unchanged, the turn is on record
    assert e.state == "info_ktp" and e.last_intent == "ktp"
    assert e.last_turn.intent == "tanya_biaya" and e.last_turn.outcome == "accepted"
    # the next question too, and the caller can still leave
    assert "kantor" in says(e.handle(Heard(text="jam buka kantornya kapan")))
    e.handle(Heard(text="selesai"))
    assert e.ended


def test_each_information_state_answers_the_fee_and_the_place(script):
    for sid in [s for s in script.states if s.startswith("info_")]:
        st = script.states[sid]
        # every question is answered everywhere: one the state cannot take is matched to
        # something else ("berapa lama prosesnya" after the vehicle-tax answer was a complaint
        # status enquiry, asking for a ticket number)
        assert set(st.answers) == script.questions - {"tanya_nomor"}, sid   # the ticket number: complaint_done
        # "syaratnya apa?" right after a 20-second answer gets just the documents to bring,
        # not the whole answer again (the retribution answer has no list of its own: reused)
        assert len(st.answers["tanya_syarat"][0].text) <= len(st.say[0].text), sid
        assert st.answers.keys() <= script.candidates(sid)
        assert set(st.answers) <= set(script.expectations(sid)), "the recognizer scores the questions"


def test_a_question_naming_another_service_goes_there(script):
    e = in_state(script, "11")
    e.handle(Heard(text="berapa biaya bikin kk"))
    assert e.state == "info_kk" and e.last_intent == "kk"
    # naming the service of the state itself keeps the question
    out = e.handle(Heard(text="biaya kk berapa"))
    assert e.state == "info_kk" and e.last_turn.intent == "tanya_biaya"
    assert "gratis" in says(out)


def test_the_main_menu_takes_no_follow_up_question(script):
    e = in_state(script, "")
    assert "tanya_biaya" not in script.candidates("main_menu")
    assert "tanya_biaya" not in script.expectations("main_menu")
    e.handle(Heard(text="berapa biayanya"))
    assert e.state == "main_menu" and e.last_turn.outcome == "no_match"
    # "every intent" (no state) means services and commands, never a question
    assert script.matcher.match("jam berapa buka").intent not in script.questions


def test_a_recognised_question_is_answered_without_a_confirmation(script):
    e = in_state(script, "11")
    conf = (script.settings.confirm + script.settings.accept) / 2   # would ask "Maksud Anda ...?"
    out = e.handle(Heard(text="", intent="tanya_tempat", confidence=conf))
    assert e.phase == "listening" and "Disdukcapil" in says(out) and "Maksud Anda" not in says(out)


BASE = """
version: 1
name: t
start: info
intents:
  ktp: {label: KTP, examples: [buat ktp]}
  tanya_biaya: {label: biayanya, examples: [berapa biayanya]}
states:
  info:
    say: [Informasi KTP.]
    answers: {ANSWERS}
    listen: {kind: intent, intents: [ktp]}
    on: {ktp: info}
"""


@pytest.mark.parametrize("answers, message, indonesian_message", [
    ("{tanya_pajak: Ada.}", "unknown intent 'tanya_pajak'", "Intent 'tanya_pajak' tidak ada."),
    ("{ktp: Gratis.}", "'ktp' is answered in place and also leads elsewhere",
     "'ktp' sudah dijawab di tempat (answers), jadi tidak boleh juga menuju ke tempat lain."),
])
def test_answers_must_name_questions_that_lead_nowhere_else(answers, message, indonesian_message):
    with pytest.raises(ScriptError) as err:
        load_script("t.yaml", text=BASE.replace("{ANSWERS}", answers))
    assert message in str(err.value)
    assert indonesian(message) == indonesian_message


def test_answers_need_an_intent_listen():
    text = BASE.replace("{ANSWERS}", "{tanya_biaya: Gratis.}").replace(
        "listen: {kind: intent, intents: [ktp]}\n    on: {ktp: info}", "listen: {kind: yesno}\n    on: {yes: info, no: info}")
    with pytest.raises(ScriptError) as err:
        load_script("t.yaml", text=text)
    assert "'answers' needs a listen of kind intent" in str(err.value)
    ok = load_script("t.yaml", text=BASE.replace("{ANSWERS}", "{tanya_biaya: Gratis.}"))
    assert ok.questions == {"tanya_biaya"} and ok.states["info"].answers["tanya_biaya"][0].text == "Gratis."
    assert "Gratis." in ok.static_prompts()


def in_service(script, request: str) -> DialogEngine:
    e = in_state(script, "")
    e.handle(Heard(text=request))
    return e


@pytest.mark.parametrize("request_, question, answered", [
    ("mau bayar pajak motor", "pajak motor bayar di mana", "tanya_tempat"),
    ("mau bayar pajak motor", "berapa biaya pajak motor", "tanya_biaya"),
    ("bayar pbb", "bayar pbb di mana", "tanya_tempat"),
])
def test_a_question_naming_the_service_of_the_state_is_that_question(script, request_, question, answered):
    """Not the whole answer again: the question asked about it."""
    e = in_service(script, request_)
    sid = e.state
    assert sid is not None and sid.startswith("info_")
    out = e.handle(Heard(text=question))
    assert e.state == sid and e.last_turn.intent == answered
    assert says(out).startswith(script.states[sid].answers[answered][0].text)


def test_the_recognizers_decision_is_read_as_a_follow_up_too(script):
    """Live calls hand the engine the recognizer's decision (Heard.intent), not only words:
    a fee question naming BPJS after the bansos answer goes to BPJS, not to the bansos fee."""
    e = in_service(script, "mau tanya bansos")
    assert e.state == "info_bansos"
    e.handle(Heard(text="kalau bpjs bayar berapa", intent="tanya_biaya", confidence=0.9))
    assert e.state == "info_bpjs" and e.last_intent == "bpjs_kesehatan"
    # and the state's own service asked with a question's cue words is that question
    out = e.handle(Heard(text="bpjs daftarnya di mana", intent="bpjs_kesehatan", confidence=0.9))
    assert e.state == "info_bpjs" and e.last_turn.intent == "tanya_tempat"
    assert says(out).startswith(script.states["info_bpjs"].answers["tanya_tempat"][0].text)


def test_ulangi_after_a_follow_up_answer_repeats_that_answer(script):
    e = in_state(script, "11")
    fee = script.states["info_ktp"].answers["tanya_biaya"][0].text
    first = says(e.handle(Heard(text="berapa biayanya")))
    assert says(e.handle(Heard(text="ulangi"))) == first and first.startswith(fee)
    # also in a call resumed from its snapshot
    resumed = DialogEngine.restore(script, e.snapshot(), strict=True)
    assert says(resumed.handle(Pressed("*"))).startswith(fee)
    # a new service's answer is what "ulangi" repeats once the caller moved on
    e.handle(Heard(text="kalau akta kelahiran bagaimana"))
    assert e.state == "info_akta_kelahiran"
    assert says(e.handle(Heard(text="ulangi"))).startswith(script.states["info_akta_kelahiran"].say[0].text)


def test_a_new_request_instead_of_yes_or_no_is_read_as_a_follow_up_too(script):
    """ "Maksud Anda ...?" answered with a question about another service goes there."""
    e = in_service(script, "mau tanya bansos")
    e.handle(Heard(text="", intent="kk", confidence=(script.settings.confirm + script.settings.accept) / 2))
    assert e.phase == "confirming"
    e.handle(Heard(text="bukan, kalau bpjs bayar berapa"))
    assert e.state == "info_bpjs" and e.last_intent == "bpjs_kesehatan"


def test_answers_claim_nothing_the_domain_notes_do_not_support(script):
    """Reviewed against docs/DOMAIN facts: a BPJS member's first-level clinic is not always a
    puskesmas; the STNK does not print the tax amount; no objection procedure is described for
    PBB; online payment hours are not promised."""
    def answer(sid, q):
        return " ".join(p.text for p in script.states[sid].answers[q])
    assert "klinik" in answer("info_kesehatan", "tanya_tempat")
    assert "tertera di STNK" not in answer("info_pajak_kendaraan", "tanya_biaya")
    assert "keberatan" not in answer("info_pbb", "tanya_biaya")
    assert "kapan saja" not in answer("info_pbb", "tanya_jam")
    # and read well aloud: no doubled words
    assert "daring lewat layanan daring" not in answer("info_kk", "tanya_tempat")


def test_the_service_keeps_its_confidence_for_the_agent(script):
    """The transfer context pairs the service with the confidence it was taken with, not the
    confidence of a later follow-up question."""
    e = in_state(script, "11")   # KTP by keypad: certain
    e.handle(Heard(text="", intent="tanya_biaya", confidence=0.45))
    assert e.last_turn.intent == "tanya_biaya" and e.last_turn.confidence == 0.45
    assert e.last_intent == "ktp" and e.last_confidence == 1.0
    for _ in range(6):   # not understood until an agent takes over
        out = e.handle(Heard(text="hmm"))
        if any(isinstance(a, Transfer) for a in out):
            break
    ctx = next(a.context for a in out if isinstance(a, Transfer))
    assert ctx["intent"] == "ktp" and ctx["confidence"] == 1.0


@pytest.mark.parametrize("text, taken", [
    ("berapa lama prosesnya", "tanya_lama"),                # an example of the question itself
    ("brp lama prosesnya", "tanya_lama"),
    ("berapa lama laporan saya diproses", "status_pengaduan"),   # a complaint status enquiry
    ("kapan pengaduan saya selesai", "status_pengaduan"),
])
def test_a_weak_cue_of_a_service_that_cannot_answer_keeps_the_question(script, text, taken):
    """"proses" is a cue of the complaint status enquiry, whose state asks for a ticket number:
    alone it does not take "berapa lama prosesnya" there."""
    for sid in ("info_ktp", "info_pajak_kendaraan"):
        assert script.match_answer(sid, text).intent == taken, (sid, text)
