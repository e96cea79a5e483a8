"""End of turn from the early result's words (asr.endpointing): pure rules, no audio."""

import pytest

from asr.endpointing import EarlyResult, EndOfTurn, TurnExpectation, digit_count

INTENT = TurnExpectation("intent")
DECIDER = EndOfTurn(short_ms=250, normal_ms=600, long_ms=1300, free_ms=900, confident_at=0.8, brief_s=1.6)


def wait(text, conf=0.0, expect=INTENT):
    return DECIDER.decide(EarlyResult(text, conf), expect)


def test_a_complete_confident_request_is_answered_after_the_short_hangover():
    d = wait("Saya mau bikin KTP baru.", 0.9)
    assert (d.wait_ms, d.reason) == (250, "complete")
    assert d.answer_now(250) and not d.answer_now(240)


def test_an_unsure_request_keeps_the_usual_hangover():
    assert wait("Saya mau bikin KTP baru.", 0.5).wait_ms == 600


@pytest.mark.parametrize("text", ["Saya mau urus, eh", "saya mau urus anu", "KTP saya, apa namanya",
                                  "Saya mau tanya soal", "mau daftar untuk", "pajak yang", "saya mau urus,",
                                  "Saya mau urus...", "nomor tiketnya"])
def test_a_request_that_looks_cut_waits_longer_even_when_confident(text):
    d = wait(text, 0.99)
    assert (d.wait_ms, d.reason) == (1300, "cut")


def test_a_request_ending_on_a_possessive_saya_is_whole():
    # "anak saya", "rumah saya": callers end requests on it
    assert wait("Saya mau bikin akta kelahiran anak saya.", 0.9).reason == "complete"


@pytest.mark.parametrize("text", ["Iya.", "tidak", "Bukan.", "ya betul", "nggak"])
def test_a_clear_yes_or_no_is_a_whole_answer(text):
    assert wait(text, expect=TurnExpectation("yesno")).wait_ms == 250


def test_a_hesitant_yes_no_waits():
    assert wait("eh,", expect=TurnExpectation("yesno")).wait_ms == 1300
    assert wait("mungkin", expect=TurnExpectation("yesno")).wait_ms == 600


def test_digits_short_of_the_expected_count_keep_listening():
    nik = TurnExpectation("digits", 16, 16)
    assert wait("tiga dua nol satu, dua tiga empat lima", expect=nik).reason == "cut"
    assert wait("3201 2345 6789 0001", expect=nik).wait_ms == 250


def test_a_phone_number_shorter_than_the_longest_allowed_waits_the_usual_hangover():
    phone = TurnExpectation("digits", 10, 13)
    assert wait("0812 3456 7890", expect=phone).wait_ms == 600  # 12 digits: 13 are possible
    assert wait("0812 3456 78901", expect=phone).wait_ms == 250
    assert wait("nomor saya", expect=phone).wait_ms == 1300


def test_free_descriptions_never_end_early():
    free = TurnExpectation("free")
    assert wait("Jalannya rusak parah.", 0.99, free).wait_ms == 900
    assert wait("lampunya mati sejak", 0.99, free).wait_ms == 1300


def test_no_words_is_the_usual_hangover():
    assert wait("", 0.99).reason == "empty"


def test_digit_count_reads_words_and_figures():
    assert digit_count("nol delapan 12, tiga") == 5
    assert digit_count("saya mau bayar") == 0


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        TurnExpectation("menu")


def test_confidence_has_one_bar_a_complete_request_at_it_is_answered_after_the_short_hangover():
    # no middle tier between "unsure" and "complete": the bar is confident_at
    assert wait("Saya mau bikin KTP baru.", 0.8).reason == "complete"
    assert wait("Saya mau bikin KTP baru.", 0.85).wait_ms == DECIDER.short_ms
    assert wait("Saya mau bikin KTP baru.", 0.79).reason == "unsure"


def test_the_decider_has_no_middle_tier_settings():
    with pytest.raises(TypeError):
        EndOfTurn(sure_at=0.9)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        EndOfTurn(likely_ms=800)  # type: ignore[call-arg]


def test_brief_audio_waits_longer_than_its_words_alone_would():
    # a second of speech then a pause is mostly a caller mid-request ("KTP saya ...")
    sure = EarlyResult("KTP saya hilang", 0.95, audio_s=1.0)
    d = DECIDER.decide(sure, INTENT)
    assert (d.wait_ms, d.reason) == (DECIDER.long_ms, "brief")
    assert DECIDER.decide(EarlyResult("KTP saya hilang", 0.95, audio_s=2.5), INTENT).wait_ms == DECIDER.short_ms
    unsure = DECIDER.decide(EarlyResult("kartu keluarga hilang", 0.3, audio_s=1.0), INTENT)
    assert (unsure.wait_ms, unsure.reason) == (DECIDER.long_ms, "brief")
    assert DECIDER.decide(EarlyResult("kartu keluarga hilang", 0.3, audio_s=2.5), INTENT).wait_ms == DECIDER.normal_ms
    # a short yes or no is a whole answer however brief; unknown length (0) changes nothing
    assert DECIDER.decide(EarlyResult("iya", 1.0, audio_s=0.5), TurnExpectation("yesno")).wait_ms == 250
    assert wait("KTP saya hilang", 0.95).wait_ms == 250


def test_the_default_decider_waits_least_for_a_confident_answer_and_longest_for_a_cut_one():
    d = EndOfTurn()
    waits = [d.decide(EarlyResult(t, c, 3.0), INTENT).wait_ms
             for t, c in (("saya mau bikin ktp baru", 0.7), ("saya mau bikin ktp baru", 0.3),
                          ("saya mau urus, eh", 0.95))]
    assert waits == sorted(waits) and len(set(waits)) == 3, waits
    # the same confident words after less audio: a caller who may go on
    assert d.decide(EarlyResult("saya mau bikin ktp baru", 0.7, 1.5), INTENT).wait_ms > waits[0]


def test_a_voice_that_did_not_close_keeps_a_confident_request_or_yes_waiting():
    # "jalan di depan rumah saya rusak, ..." decodes to a complete, confident request at the
    # pause; the voice (level or rising, asr.prosody) says the caller holds the turn
    held = EarlyResult("jalan di depan rumah saya rusak", 0.98, audio_s=2.6, continues=True)
    d = DECIDER.decide(held, INTENT)
    assert (d.wait_ms, d.reason) == (DECIDER.normal_ms, "rising")
    assert DECIDER.decide(EarlyResult("iya", 1.0, 0.5, continues=True), TurnExpectation("yesno")).reason == "rising"
    # without the cue, or with the reading switched off, the short hangover as before
    assert DECIDER.decide(EarlyResult(held.text, 0.98, audio_s=2.6), INTENT).wait_ms == DECIDER.short_ms
    off = EndOfTurn(short_ms=250, normal_ms=600, long_ms=1300, free_ms=900, confident_at=0.8, brief_s=1.6,
                    prosody=False)
    assert off.decide(held, INTENT).wait_ms == off.short_ms


def test_the_voice_never_shortens_a_wait_nor_touches_digits_and_free_descriptions():
    assert DECIDER.decide(EarlyResult("saya mau urus, eh", 0.9, 3.0, continues=True), INTENT).wait_ms == 1300
    assert DECIDER.decide(EarlyResult("kartu keluarga hilang", 0.3, 3.0, continues=True), INTENT).wait_ms == 600
    digits = TurnExpectation("digits", 4, 4)
    assert DECIDER.decide(EarlyResult("satu dua tiga empat", 0.0, 3.0, continues=True), digits).wait_ms == 250
    free = TurnExpectation("free")
    assert DECIDER.decide(EarlyResult("lampunya mati", 0.0, 3.0, continues=True), free).wait_ms == 900
