"""A request another office handles is told where to go: an out-of-scope topic's own `say`
("Untuk paspor dan visa, silakan datang ke kantor imigrasi terdekat ...") is heard between the
prompts `out_of_scope_head` ("Maaf, hal itu di luar layanan kami. Jika darurat, segera hubungi
112.") and `out_of_scope_tail` ("Silakan sebutkan keperluan lain, atau tekan 0 untuk
petugas."), in place of the generic `out_of_scope`. A crime or a loss reported after the fact
is the police's (topic lapor_polisi), not a complaint about public services; a danger in
progress stays an emergency."""

from __future__ import annotations

import pytest

from dialogs import CallStarted, DialogEngine, Heard, Say, ScriptError, load_script
from dialogs.loader import REFERRAL_MAX_CHARS
from ivr.storage.script_checks import validate


def says(actions) -> str:
    return " ".join(a.text for a in actions if isinstance(a, Say))


def started(script) -> DialogEngine:
    e = DialogEngine(script, strict=True)
    e.handle(CallStarted())
    return e


BASE = """
version: 1
name: t
start: menu
settings: {PROMPTS}
states:
  menu:
    say: Ada yang bisa dibantu?
    listen: {kind: intent, intents: [ktp]}
    on: {ktp: selesai}
  selesai:
    say: Terima kasih.
    end: completed
intents:
  ktp:
    label: KTP
    examples: [mau bikin ktp]
out_of_scope:
  paspor:
    label: Paspor
    say: {SAY}
    examples: [mau bikin paspor]
  lainnya: [resep masakan]
"""

REFERRAL = "Untuk paspor, silakan datang ke kantor imigrasi terdekat."


def script_with(say: str = REFERRAL, prompts: str = "{}"):
    return load_script("t.yaml", text=BASE.replace("{SAY}", say).replace("{PROMPTS}", prompts))


def test_a_topics_say_is_heard_between_the_head_with_112_and_the_tail():
    s = script_with(prompts="{prompts: {out_of_scope_head: 'Maaf, itu bukan layanan kami. Jika darurat, "
                            "hubungi 112.', out_of_scope_tail: 'Ada keperluan lain?'}}")
    assert s.out_of_scope_topics["paspor"].say.text == REFERRAL
    out = started(s).handle(Heard(text="mau bikin paspor"))
    assert says(out) == f"Maaf, itu bukan layanan kami. Jika darurat, hubungi 112. {REFERRAL} Ada keperluan lain?"
    assert [a.prompt_id for a in out if isinstance(a, Say)] == [
        "settings.out_of_scope_head[0]", "out_of_scope.paspor.say[0]", "settings.out_of_scope_tail[0]"]
    # a topic without one: the generic prompt, as before
    e = started(s)
    assert says(e.handle(Heard(text="resep masakan"))).startswith("Maaf, hal itu belum bisa kami bantu")
    assert e.last_turn.beyond == "lainnya"
    # static: pre-rendered with the other prompts
    assert REFERRAL in s.static_prompts()


def test_the_head_and_tail_have_defaults():
    out = started(script_with()).handle(Heard(text="mau bikin paspor"))
    assert says(out) == f"Maaf, hal itu di luar layanan kami. Jika darurat, segera hubungi 112. {REFERRAL} " \
                        "Silakan sebutkan keperluan lain."


@pytest.mark.parametrize("say, message", [
    ("Untuk paspor, hubungi kantor {kota}.",
     "Kalimat rujukan tidak boleh memakai variabel atau tanda kurung kurawal: kalimatnya sama untuk "
     "setiap penelepon."),
    ("Untuk paspor, datang ke kantor imigrasi. " * 5,
     f"Kalimat rujukan terlalu panjang (204 huruf; paling banyak {REFERRAL_MAX_CHARS}): cukup satu kalimat "
     "singkat, misalnya ke kantor mana penelepon harus datang."),
    ("''", "'' tidak boleh kosong."),
    ("{berkas: a.wav}", "'text' wajib diisi."),
])
def test_a_bad_referral_is_refused_in_indonesian(say, message):
    text = BASE.replace("{SAY}", say).replace("{PROMPTS}", "{}")
    with pytest.raises(ScriptError):
        load_script("t.yaml", text=text)
    verdict, script = validate(text)
    assert not verdict["ok"] and script is None
    assert any(i["path"].startswith("out_of_scope.paspor") and i["message"] == message
               for i in verdict["issues"]), verdict["issues"]


def test_a_referral_naming_112_again_is_warned_about():
    text = BASE.replace("{SAY}", "Untuk paspor, ke kantor imigrasi; jika darurat, 112.").replace("{PROMPTS}", "{}")
    verdict, script = validate(text)
    assert verdict["ok"] and script is not None
    assert any(w["path"] == "out_of_scope.paspor.say" and "tidak perlu menyebut 112" in w["message"]
               for w in verdict["warnings"]), verdict["warnings"]


def test_the_default_script_refers_every_topic_but_lainnya(script):
    topics = script.out_of_scope_topics
    assert [t for t, v in topics.items() if v.say is None] == ["lainnya"]
    for t in topics.values():
        if t.say is not None:
            assert t.say.text.startswith("Untuk ") and t.say.text.endswith(".") and "112" not in t.say.text
            assert len(t.say.text) <= REFERRAL_MAX_CHARS
    head = script.settings.prompts["out_of_scope_head"][0].text
    assert head.endswith("Jika darurat, segera hubungi 112.")
    assert script.settings.prompts["out_of_scope_tail"][0].text.endswith("tekan 0 untuk petugas.")


@pytest.mark.parametrize("text, topic, where", [
    ("mau bikin paspor", "paspor", "kantor imigrasi"),
    ("perpanjang sim", "sim_polisi", "Polres"),
    ("tagihan listrik pln saya naik", "listrik", "123"),
    ("air pdam mati", "air", "PDAM"),
    ("sertifikat tanah", "pertanahan", "pertanahan"),
    ("mau nikah di kua", "nikah", "KUA"),
])
def test_a_typed_request_for_another_office_hears_where_to_go(script, text, topic, where):
    e = started(script)
    said = says(e.handle(Heard(text=text)))
    referral = script.out_of_scope_topics[topic].say.text
    assert e.last_turn.beyond == topic and referral in said and where in referral
    # 112 first, the referral, then another request or 0 for an agent
    assert said.index("112") < said.index(referral) < said.index("tekan 0 untuk petugas")
    assert e.state == "main_menu" and e.last_turn.outcome == "no_match"


@pytest.mark.parametrize("text", [
    "saya mau lapor pencurian",
    "mau lapor kehilangan dompet",
    "saya kena penipuan",
    "motor saya dicuri",
    "hp saya dicuri kemarin",
    "rumah saya kemalingan kemarin",     # an emergency word, vetoed as past: still the police's
])
def test_a_crime_reported_after_the_fact_hears_the_police_referral(script, text):
    e = started(script)
    said = says(e.handle(Heard(text=text)))
    assert e.last_turn.beyond == "lapor_polisi", said
    assert "kantor polisi terdekat" in said and "110" in said and said.index("112") < said.index("110")
    assert e.phase != "confirming" and "pengaduan" not in said


@pytest.mark.parametrize("complaint, category, crime", [
    ("ada pungli di kelurahan", "pelayanan petugas", "saya mau lapor pencurian"),
    ("pelayanan lambat sekali", "pelayanan petugas", "mau lapor kehilangan dompet"),
    ("petugas kasar", "pelayanan petugas", "saya kena penipuan"),
    ("saya mau lapor jalan rusak", "jalan dan fasilitas umum", "motor saya dicuri"),
])
def test_complaints_about_public_services_stay_complaints_crimes_do_not(script, complaint, category, crime):
    e = started(script)
    said = says(e.handle(Heard(text=complaint)))
    assert e.last_turn.beyond is None and f"Pengaduan Anda tentang {category}" in said
    e = started(script)
    said = says(e.handle(Heard(text=crime)))
    assert e.state == "main_menu" and e.phase != "confirming" and "pengaduan" not in said.lower()


EMERGENCIES = [
    "tolong ada maling di rumah saya sekarang",
    "ada orang mau mencuri di rumah saya",       # was told "belum mengerti"
    "saya mau lapor kdrt",
    "ada pemerkosaan",
    "saya dijambret",
    "ada penembakan",
    "tolong nyawa saya terancam",
    "rumah saya kemalingan",
]


def test_a_danger_in_progress_stays_an_emergency(script):
    darurat = script.intents["darurat"]
    for text in [*EMERGENCIES, *darurat.examples, *darurat.keywords]:
        e = started(script)
        e.handle(Heard(text=text))
        assert e.state == "emergency" and e.last_turn.beyond is None, text


@pytest.mark.parametrize("question, topic, where", [
    ("paspor biayanya berapa", "paspor", "kantor imigrasi"),
    ("berapa lama bikin paspor", "paspor", "kantor imigrasi"),
    ("kantor imigrasi di mana", "paspor", "kantor imigrasi"),
    ("syarat perpanjang sim apa", "sim_polisi", "Polres"),
])
def test_a_question_about_another_offices_service_hears_where_to_go(script, question, topic, where):
    # in the main menu (was "Maaf, saya belum mengerti") and after an answer, where the
    # question was answered for the state's own service ("paspor biayanya berapa" after the
    # KTP answer: "Semua dokumen kependudukan gratis", a wrong fact for a passport)
    for first in ([], ["ktp hilang"]):
        e = started(script)
        for t in first:
            e.handle(Heard(text=t))
        out = e.handle(Heard(text=question))
        assert where in says(out) and "112" in says(out), (first, says(out))
        assert e.last_turn is not None and e.last_turn.beyond == topic
        assert "gratis" not in says(out)


@pytest.mark.parametrize("question, intent", [
    ("bisa online tidak ya", "tanya_tempat"),       # "pinjaman online" is an out-of-scope example
    ("jam berapa kantornya buka", "tanya_jam"),
    ("biayanya berapa ya", "tanya_biaya"),
    ("kantornya tutup jam berapa", "tanya_jam"),
])
def test_a_follow_up_question_about_the_service_answered_is_kept(script, question, intent):
    e = started(script)
    e.handle(Heard(text="ktp hilang"))
    e.handle(Heard(text=question))
    assert e.last_turn is not None and e.last_turn.intent == intent and e.state == "info_ktp"


@pytest.mark.parametrize("text", ["harga emas sekarang", "harga emas"])
def test_the_price_of_gold_is_not_sent_to_a_bank(script, text):
    # "harga emas" was a keuangan example, whose referral is "hubungi bank atau lembaga
    # keuangan Anda" (loans, credit, accounts): a price question hears the generic prompt
    e = started(script)
    out = e.handle(Heard(text=text))
    assert "bank" not in says(out)
    assert e.last_turn is not None and e.last_turn.beyond in ("lainnya", None)


def test_referrals_in_a_row_do_not_climb_the_ladder(script):
    # each was understood: a second heard the keypad prompt instead of its referral, a third
    # went to an agent
    e = started(script)
    for words in ("mau bikin paspor", "perpanjang sim", "tagihan listrik pln", "mau bikin paspor"):
        out = e.handle(Heard(text=words))
        said = says(out)
        assert said.startswith("Maaf, hal itu di luar layanan kami.") and "Untuk" in said, (words, said)
        assert e.state == "main_menu" and e.last_turn.beyond is not None
    # a miss after them is still the first rung ("belum mengerti" with the question)
    out = e.handle(Heard(text="blablabla"))
    assert e.state == "main_menu" and "belum mengerti" in says(out)


def test_a_topic_without_a_referral_still_counts_as_a_miss():
    e = started(script_with())
    e.handle(Heard(text="resep masakan"))
    out = e.handle(Heard(text="resep masakan"))  # the test script's menu: one retry
    assert e.phase == "transferring" and "petugas" in says(out)
    e = started(script_with())
    for _ in range(3):
        out = e.handle(Heard(text="mau bikin paspor"))
        assert e.phase == "listening" and REFERRAL in says(out)
