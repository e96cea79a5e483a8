"""The masker against the ways Indonesians write and say a NIK or a phone number
(property-based): digits grouped by spaces, double spaces, dots, dashes, slashes, brackets,
+62/62/0 prefixes, number words ("nol delapan satu dua", "kosong", "enam dua", "dua belas",
"tiga puluh empat") and mixtures of digits and words, inside ordinary sentences. No false
negatives on generated numbers; ordinary short numbers (RT 05, years, ages, ticket numbers)
are left alone. The oracle is ``dialogs.lang.numbers.words_to_digits``: after masking, no
digit of the number can be read back from the text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.lang.numbers import words_to_digits
from ivr.privacy.masking import NIK_MASK, PHONE_MASK, mask_text

DIGIT_WORDS = ["nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"]
ZERO_WORDS = ["nol", "kosong"]
SEPARATORS = [" ", "  ", ".", "-", "/", " - ", ", ", ". "]
# context words that are not numbers (nor start a name: "nama saya" is masked on purpose)
CONTEXT = ["nomor", "saya", "hp", "nik", "adalah", "ini", "ya", "pak", "bu", "telepon", "ktp",
           "tolong", "dicatat", "hubungi", "di", "kalau", "bisa", "terima", "kasih", "wa"]


def _pair_words(pair: str, zero: str) -> str:
    """Two digits as a person may group them: "12" -> "dua belas", "34" -> "tiga puluh empat"."""
    a, b = int(pair[0]), int(pair[1])
    if a == 0:
        return f"{zero} {DIGIT_WORDS[b] if b else zero}"
    if a == 1:
        return {0: "sepuluh", 1: "sebelas"}.get(b, f"{DIGIT_WORDS[b]} belas")
    return f"{DIGIT_WORDS[a]} puluh" + (f" {DIGIT_WORDS[b]}" if b else "")


@st.composite
def spoken(draw: st.DrawFn, digits: str) -> str:
    """``digits`` written or said in one of the usual ways."""
    style = draw(st.sampled_from(["plain", "grouped", "words", "pairs", "mixed"]))
    sep = draw(st.sampled_from(SEPARATORS))
    zero = draw(st.sampled_from(ZERO_WORDS))
    if style == "plain":
        return digits
    cuts = sorted(draw(st.sets(st.integers(1, len(digits) - 1), min_size=1, max_size=4)))
    groups = [digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)])]
    if style == "grouped":
        if groups[0] == "0" and "." in sep:  # "0.812...": a decimal, not how a number is written
            sep = " "
        return sep.join(groups)
    if style == "words":
        word_sep = draw(st.sampled_from([" ", "  ", ", "]))
        return word_sep.join(zero if d == "0" else DIGIT_WORDS[int(d)] for d in digits)
    if style == "pairs":
        body = digits if len(digits) % 2 == 0 else digits[:-1]
        words = [_pair_words(body[i:i + 2], zero) for i in range(0, len(body), 2)]
        if len(body) < len(digits):
            words.append(zero if digits[-1] == "0" else DIGIT_WORDS[int(digits[-1])])
        return " ".join(words)
    if groups[0] == "0" and "." in sep:  # as "grouped": "0.21..." written so is a decimal
        sep = " "
    out = []
    for g in groups:  # mixed: each group as digits or as words
        if draw(st.booleans()):
            out.append(g)
        else:
            out.append(" ".join(zero if d == "0" else DIGIT_WORDS[int(d)] for d in g))
    return sep.join(out) if sep.strip() else " ".join(out)


nik_digits = st.builds(
    lambda prov, rest: f"{prov}{rest}",
    st.integers(11, 94).map(str), st.text("0123456789", min_size=14, max_size=14))
mobile_rest = st.text("0123456789", min_size=8, max_size=11).map(lambda r: "8" + r)  # after the 0 / 62
landline_area = st.sampled_from(["21", "22", "274", "31", "361", "411", "61", "778"])
landline_rest = st.text("0123456789", min_size=6, max_size=8)
context = st.lists(st.sampled_from(CONTEXT), max_size=4).map(" ".join)


def _assert_gone(text: str, masked: str, mask: str) -> None:
    assert mask in masked, (text, masked)
    assert words_to_digits(masked.replace(mask, " ")) == "", (text, masked)


@settings(max_examples=400, deadline=None)
@given(nik_digits.flatmap(spoken), context, context)
def test_every_nik_is_masked(number: str, before: str, after: str) -> None:
    text = f"{before} {number} {after}".strip()
    _assert_gone(text, mask_text(text), NIK_MASK)


@settings(max_examples=400, deadline=None)
@given(mobile_rest, st.sampled_from(["0", "kosong ", "nol ", "+62 ", "+62", "62", "plus enam dua ",
                                     "enam dua ", "(0", "+62 ("]), st.data(), context, context)
def test_every_mobile_is_masked(rest: str, prefix: str, data: st.DataObject, before: str, after: str) -> None:
    if prefix.endswith("("):  # "(0812) 3456 7890", "+62 (812) 3456 7890"
        number = f"{prefix}{rest[:3]}) {data.draw(spoken(rest[3:]))}"
    elif prefix == "0":
        number = data.draw(spoken("0" + rest))
    else:
        number = prefix + data.draw(spoken(rest))
    text = f"{before} {number} {after}".strip()
    _assert_gone(text, mask_text(text), PHONE_MASK)


@settings(max_examples=300, deadline=None)
@given(landline_area, landline_rest, st.sampled_from(["0", "(0", "+62 ", "+62 ("]), st.data(), context, context)
def test_every_landline_is_masked(area: str, rest: str, prefix: str, data: st.DataObject,
                                  before: str, after: str) -> None:
    if prefix.endswith("("):
        number = f"{prefix}{area}) {data.draw(spoken(rest))}"
    elif prefix == "0":
        number = data.draw(spoken("0" + area + rest))
    else:
        number = prefix + data.draw(spoken(area + rest))
    text = f"{before} {number} {after}".strip()
    _assert_gone(text, mask_text(text), PHONE_MASK)


def test_a_compound_read_out_as_groups_is_masked() -> None:
    # 021 000 201 read out in groups: "dua puluh satu" is 20 then 1 here, not 21 (a falsifying
    # example hypothesis found for the landline property above)
    text = "nol dua sepuluh nol nol dua puluh satu"
    assert mask_text(text) == PHONE_MASK
    # the usual reading still decides the kind, and short numbers stay
    assert mask_text("+62 delapan puluh satu dua puluh satu dua puluh satu dua puluh satu nol nol") == PHONE_MASK
    assert mask_text("RT dua puluh satu RW nol lima") == "RT dua puluh satu RW nol lima"


def test_a_number_word_across_other_words_is_another_number() -> None:
    # "tiga puluh menit, dua ribu": the "dua" belongs to "dua ribu", not to "tiga puluh" (read
    # as 30, 2 the parts made a landline of a date, a duration and a year; a falsifying example
    # hypothesis found for the property below)
    text = "tanggal 1/05/2024, tiga puluh menit, dua ribu dua puluh empat"
    assert mask_text(text) == text
    # said with only spaces between, the groups still join: a phone number read out is masked
    assert mask_text("nol lima dua nol dua empat tiga puluh dua dua") == PHONE_MASK
    # and across joining characters only: "dua-puluh-tiga", "dua, belas" are still one number
    assert mask_text("nol delapan satu satu dua-puluh-tiga empat lima enam tujuh") == PHONE_MASK
    assert mask_text("nol delapan satu satu dua, belas tiga empat lima enam tujuh") == PHONE_MASK


def test_formats_named_in_the_issue() -> None:
    for text in ["NIK 3174.0123.4567.0001", "NIK 3174/0123/4567/0001", "NIK 3174  0123  4567  0001",
                 "NIK (3174) 0123 4567 0001", "tiga satu tujuh empat nol satu dua tiga empat lima enam tujuh nol nol nol satu",
                 "3174 nol satu dua tiga 4567 kosong kosong kosong satu"]:
        assert mask_text(text).count(NIK_MASK) == 1 and not any(c.isdigit() for c in mask_text(text)), text
    for text in ["0812.3456.7890", "0812/3456/7890", "(0812) 3456 7890", "+62 812  3456 7890",
                 "nol delapan satu dua tiga empat lima enam tujuh delapan sembilan nol",
                 "kosong delapan satu dua, tiga empat lima enam, tujuh delapan sembilan nol",
                 "enam dua delapan satu dua tiga empat lima enam tujuh delapan",
                 "plus enam dua delapan satu dua tiga empat lima enam tujuh delapan",
                 "nol delapan dua belas tiga puluh empat lima enam tujuh delapan",
                 "0812 tiga empat lima enam 7890", "(021) 555-1234", "+62 (21) 5551234"]:
        assert mask_text(f"nomor saya {text} ya") == f"nomor saya {PHONE_MASK} ya", text


def test_a_name_after_nama_saya() -> None:
    assert mask_text("nama saya Budi Santoso dari Bandung") == "nama saya [NAMA] dari Bandung"
    assert mask_text("atas nama siti aminah, NIK 3174012345670001") == "atas nama [NAMA], NIK [NIK]"


ORDINARY = st.one_of(
    st.integers(1, 30).map(lambda n: f"RT {n:02d} RW {n % 9 + 1:02d}"),
    st.integers(1900, 2099).map(lambda y: f"tahun {y}"),
    st.integers(1, 99).map(lambda a: f"umur {a} tahun"),
    st.integers(1, 999).map(lambda a: f"rumah nomor {a}"),
    st.integers(1, 31).map(lambda d: f"tanggal {d}/05/2024"),
    st.integers(0, 99999).map(lambda n: f"tiket 2611-{n:05d}-7"),
    st.sampled_from(["RT nol lima RW nol tiga", "dua ribu dua puluh empat", "dua hari yang lalu",
                     "satu atau dua orang", "jam sembilan pagi", "lantai tiga", "tiga puluh menit",
                     "kelas dua belas"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ORDINARY, min_size=1, max_size=3).map(", ".join), context)
def test_ordinary_numbers_are_left(numbers: str, words: str) -> None:
    text = f"{words} {numbers}".strip()
    assert mask_text(text) == text


@pytest.mark.parametrize("text,kept", [
    ("nik saya 317405120312", "nik saya"),  # a NIK cut short: 12 of its 16 digits
    ("nomor saya 0812 3456", "nomor saya"),
    ("nik saya tiga satu tujuh empat", "nik saya"),  # said, cut after four digits
])
def test_a_number_cut_short_is_masked_whole(text, kept):
    # speech cut by a hang-up (ivr.calls.session._record_cut): a partial NIK or phone number is
    # not recognisable as one, so any number of four digits or more goes
    from ivr.privacy.masking import FIELD_MASK, mask_long_numbers, mask_text

    out = mask_long_numbers(text)
    assert out == f"{kept} {FIELD_MASK}", out
    assert mask_text(text) == text  # what free text keeps: why cut words need more
    assert mask_long_numbers("di rt 3 rw 12") == "di rt 3 rw 12"


def test_a_zero_then_a_dot_then_words_is_a_number_said():
    """"0." before digits is a decimal ("0.93 persen"); before number words it is a number said
    in groups (found by the property tests above before their generator left it out)."""
    assert mask_text("nomor saya 0.dua satu nol nol nol nol nol nol") == "nomor saya [PHONE]"
    assert mask_text("naik 0.93 persen") == "naik 0.93 persen"


@pytest.mark.parametrize("ident", [
    "6e022559267f41a2852e8564465bcf69",  # the call id a CI run masked in a hand-off context
    "6e022559-267f-41a2-852e-8564465bcf69",
    "a" + "081234567890" + "b" * 19,
    "f" + "3174051203120001" + "0" * 47,  # a digest holding a NIK-like run
])
def test_a_machine_id_is_not_a_phone_number(ident):
    """Call ids (uuid4 hex) and digests hold digit runs that read as phone numbers or NIKs; they
    are identifiers staff correlate logs by, not anything a caller said."""
    line = f"call {ident} handed to queue hotline"
    assert mask_text(line) == line
    # a number said next to one is still masked
    assert mask_text(f"{line}, nomor saya 081234567890") == f"{line}, nomor saya {PHONE_MASK}"


@settings(max_examples=300, deadline=None)
@given(st.uuids(version=4), st.booleans())
def test_no_call_id_is_masked(ident, dashed):
    text = f"call_id={ident if dashed else ident.hex}"
    assert mask_text(text) == text


def test_a_number_glued_to_words_is_still_masked():
    assert mask_text("wa081234567890") == f"wa{PHONE_MASK}"
    assert mask_text("nik:3174051203120001") == f"nik:{NIK_MASK}"
