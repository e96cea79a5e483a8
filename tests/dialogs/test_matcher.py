"""Intent matching quality on the written test sets (bench/data), and its basic behaviour."""

from pathlib import Path

import pytest

from dialogs import IntentMatcher, match_intent

DATA = Path(__file__).resolve().parents[2] / "bench" / "data"


def rows(name):
    out = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and not line.startswith("text\t"):
            text, intent = line.split("\t")
            out.append((text, intent))
    return out


def routing(script, data) -> tuple[float, float]:
    """Share routed right (an intent below the confirm threshold counts as "none") and share
    of out-of-scope utterances routed to an intent at the accept threshold."""
    confirm, accept = script.settings.confirm, script.settings.accept
    correct = oos_routed = n_oos = 0
    for text, gold in data:
        m = script.matcher.match(text)
        pred = m.intent if m.intent and m.confidence >= confirm else "none"
        correct += pred == gold
        if gold == "none":
            n_oos += 1
            oos_routed += bool(m.intent and m.confidence >= accept)
    return correct / len(data), oos_routed / n_oos


def test_test_set_is_large_and_apart_from_the_examples(script):
    data = rows("intents_test.tsv") + rows("intents_fresh.tsv")
    assert len(data) >= 300
    examples = {e.lower() for i in script.intents.values() for e in i.examples} | \
               {e.lower() for e in script.out_of_scope}
    assert not [t for t, _ in data if t.lower() in examples]
    assert sum(1 for _, i in data if i == "none") >= 50


@pytest.mark.parametrize("name, min_acc", [("intents_test.tsv", 0.93), ("intents_fresh.tsv", 0.90)])
def test_routing_accuracy_and_out_of_scope(script, name, min_acc):
    accuracy, oos_routed = routing(script, rows(name))
    assert accuracy >= min_acc
    assert oos_routed <= 0.05


def test_candidates_restrict_the_answer(script):
    assert script.matcher.match("mau bayar pajak motor").intent == "pajak_kendaraan"
    m = script.matcher.match("mau bayar pajak motor", {"ktp", "kk"})
    assert m.intent != "pajak_kendaraan"
    assert script.matcher.match("ktp", set()).intent is None


def test_match_intent_uses_the_default_script():
    m = match_intent("akte kelahiran anak saya")
    assert m.intent == "akta_kelahiran" and 0 < m.confidence <= 1
    assert match_intent("").intent is None


def test_small_matcher_and_out_of_scope_class():
    m = IntentMatcher({"a": ["bayar pajak", "pajak motor"], "b": ["buat ktp", "ktp hilang"]},
                      out_of_scope=["pesan pizza", "harga pizza"])
    assert m.match("pajak motornya").intent == "a"
    assert m.match("ktp saya ilang").intent == "b"
    assert m.match("pesan pizza keju").intent is None
    assert m.match("qqq zzz").intent is None


# ---------------------------------------------------------------- emergencies and complaints
# Written for these tests (not taken from the bench sets): colloquial, typed, ASR-style.
EMERGENCIES = [
    "sesak napas",
    "suami saya sesak nafas parah",
    "tolong ada tabrakan",
    "ada yang ketabrak mobil",
    "bapak saya jatuh dari motor kepalanya bocor",
    "nenek saya tidak sadarkan diri",
    "adik saya kejang terus",
    "ada orang tenggelam di kali",
    "rumah tetangga kebakaran",
    "api di dapur gede banget",
    "tolong ada maling masuk rumah",
    "ada begal bawa golok",
    "istri saya pendarahan mau melahirkan",
    "ada ke celakaan di depan",          # ASR split
    "kecelakan motor",                  # typo
    "ambulance",
    "tolong tolong",
    "dada bapak saya sakit banget",
    "anak saya keracunan",
    "kakek saya stroke mendadak",
]


@pytest.mark.parametrize("text", EMERGENCIES)
def test_emergencies_are_caught_with_high_confidence(script, text):
    m = script.matcher.match(text)
    assert m.intent == "darurat", (text, m)
    assert m.confidence >= script.settings.accept, (text, m)


@pytest.mark.parametrize("text, intent", [
    ("pengaduan tentang ambulans yang telat kemarin", "pengaduan"),
    ("mau komplain damkar datangnya telat", "pengaduan"),
    ("akta kematian korban kecelakaan", "akta_kematian"),
    ("kartu keluarga saya hangus waktu rumah kebakaran tahun lalu", "kk"),
    ("jadwal donor darah", "layanan_kesehatan"),
    ("hari ini hari apa sekarang", None),
])
def test_past_events_and_documents_are_not_emergencies(script, text, intent):
    m = script.matcher.match(text)
    got = m.intent if m.confidence >= script.settings.confirm else None
    assert got == intent, (text, m)


@pytest.mark.parametrize("text, intent", [
    # a complaint about an officer is a complaint, not a request for an agent
    ("petugas kelurahan minta uang", "pengaduan"),
    ("petugas samsat kasar", "pengaduan"),
    ("pegawai capil minta duit biar cepat", "pengaduan"),
    ("petugasnya tidak ramah", "pengaduan"),
    ("pungli di samsat", "pengaduan"),
    ("mau bicara dengan petugas", "petugas"),
    ("sambungkan ke operator", "petugas"),
    # status words with complaint words: the status of a complaint
    ("status komplain saya", "status_pengaduan"),
    ("aduan saya udah sampai mana", "status_pengaduan"),
    ("laporan pungli saya sudah sampai mana", "status_pengaduan"),
    ("saya mau ngadu", "pengaduan"),
    ("mau komplain pelayanan", "pengaduan"),
    ("ubah status kawin di kartu keluarga", "kk"),
])
def test_officer_complaints_and_complaint_status(script, text, intent):
    m = script.matcher.match(text)
    assert m.intent == intent and m.confidence >= script.settings.accept, (text, m)


def test_not_keywords_speak_against_an_intent():
    intents = {"agent": ["petugas", "operator", "bicara dengan petugas"],
               "complaint": ["mau mengadu", "lapor masalah pelayanan"]}
    kws = {"agent": ["petugas", "operator"], "complaint": ["minta uang", "mengadu"]}
    plain = IntentMatcher(intents, kws)
    with_neg = IntentMatcher(intents, kws, not_keywords={"agent": ["minta uang"]})
    assert plain.match("petugas minta uang").intent == "agent"
    assert with_neg.match("petugas minta uang").intent == "complaint"
    assert with_neg.match("mau bicara dengan petugas").intent == "agent"


def test_a_longer_cue_covers_a_shorter_one():
    m = IntentMatcher({"status": ["cek status laporan", "nomor tiket"],
                       "complaint": ["saya mau komplain", "mau komplain pelayanan"]},
                      {"status": ["status komplain"], "complaint": ["komplain"]})
    assert m.match("status komplain saya").intent == "status"
    assert m.match("saya mau komplain").intent == "complaint"


def test_cue_phrases_match_in_order_only():
    m = IntentMatcher({"a": ["aduan saya", "laporan saya"], "b": ["buat aduan", "mengadu"]},
                      {"a": ["aduan saya"], "b": ["aduan"]})
    assert m._keyword_evidence(["aduan", "saya"])[0][0] > 0
    assert m._keyword_evidence(["saya", "mau", "aduan"])[0][0] == 0


@pytest.mark.parametrize("text, intent", [
    ("kartukeluarga saya sobek", "kk"),           # words merged by the recogniser
    ("mau ngeluh soal jalan rusak", "pengaduan"),  # colloquial nasal prefix
    ("pajek motor", "pajak_kendaraan"),            # typo
    ("kartu keluwarga baru", "kk"),                # a repaired word completes a phrase
])
def test_words_are_repaired_against_the_vocabulary(script, text, intent):
    m = script.matcher.match(text)
    assert m.intent == intent and m.confidence >= script.settings.confirm, (text, m)


def test_held_out_set_accuracy(script):
    """The held-out set was written before the quality pass and never used for tuning."""
    data = rows("intents_heldout.tsv")
    assert len(data) >= 200 and sum(1 for _, i in data if i == "none") >= 40
    accuracy, oos_routed = routing(script, data)
    assert accuracy >= 0.90
    assert oos_routed <= 0.05
