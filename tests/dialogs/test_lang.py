import datetime as dt

import pytest

from dialogs.lang import (
    digits_to_words,
    extract_nik,
    format_date_id,
    normalize,
    normalize_phone,
    number_to_words,
    parse_date,
    parse_plate,
    phone_e164,
    phonetic_key,
    spell_digits,
    stem_tokens,
    validate_nik,
    words_to_digits,
)
from dialogs.lang.ids import PROVINCE_CODES


@pytest.mark.parametrize(
    "spoken, digits",
    [
        ("tiga dua nol satu", "3201"),
        ("tiga puluh dua", "32"),
        ("dua ribu dua puluh enam", "2026"),
        ("seribu sembilan ratus sembilan puluh lima", "1995"),
        ("sebelas", "11"),
        ("dua belas tiga", "123"),
        ("seratus dua puluh tiga", "123"),
        ("kosong delapan satu dua", "0812"),
        ("nol delapan 12 tiga", "08123"),
        ("satu juta dua ratus ribu", "1200000"),
        ("tanggal tujuh belas", "17"),
        ("tidak ada angka", ""),
    ],
)
def test_words_to_digits(spoken, digits):
    assert words_to_digits(spoken) == digits


def test_digits_to_words():
    assert number_to_words(2026) == "dua ribu dua puluh enam"
    assert spell_digits("3201") == "tiga dua nol satu"
    assert digits_to_words("tahun 2026") == "tahun dua ribu dua puluh enam"
    # round trip for every number a caller might say
    for n in (0, 7, 11, 19, 32, 100, 115, 999, 1000, 2026, 17845):
        assert words_to_digits(number_to_words(n)) == str(n)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Gimana cara bikin E-KTP??", "bagaimana cara buat ktp"),
        ("ka te pe saya ilang", "ktp saya hilang"),
        ("KTP-el gak ada", "ktp tidak ada"),
        ("udah ngurus kartu keluarga", "sudah urus kk"),
        ("mo nanya akte lahir", "mau tanya akta kelahiran"),
        ("ndak tau", "tidak tau"),
        ("tolonggg", "tolong"),
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_stemming_and_phonetics():
    assert stem_tokens("pengurusan perpindahan kelahiran") == ["urus", "pindah", "kelahiran"]
    assert stem_tokens("meninggal") == ["meninggal"]  # not "tinggal"
    assert phonetic_key("kartu") == phonetic_key("kartu")
    assert phonetic_key("sertifikat") == phonetic_key("sertipikat")
    assert phonetic_key("khusus") == phonetic_key("kusus")


def test_province_codes_are_the_38_provinces():
    assert len(PROVINCE_CODES) == 38
    assert {"11", "31", "36", "65", "76", "91", "92", "93", "94", "95", "96"} <= set(PROVINCE_CODES)
    assert "20" not in PROVINCE_CODES and "97" not in PROVINCE_CODES


def test_nik_validation():
    today = dt.date(2026, 11, 28)
    woman = validate_nik("3273014508950001", today)
    assert woman.valid and woman.female and woman.birth_date == dt.date(1995, 8, 5)
    assert woman.province == "Jawa Barat"
    man = validate_nik("3171031203010002", today)
    assert man.valid and man.female is False and man.birth_date == dt.date(2001, 3, 12)
    assert not validate_nik("327301450895000", today).valid          # 15 digits
    assert not validate_nik("9973014508950001", today).valid         # no province 99
    assert not validate_nik("3273013213950001", today).valid         # month 13
    assert not validate_nik("3273017202950001", today).valid         # day 72 (32 for women)
    assert not validate_nik("3273013102950001", today).valid         # 31 February
    assert not validate_nik("3273014508950000", today).valid         # serial 0000
    # the two-digit year is read in the latest century that keeps the date in the past:
    # 01-12-26 is after today in 2026, so the holder was born in 1926
    assert validate_nik("3273010112260001", today).birth_date == dt.date(1926, 12, 1)
    assert validate_nik("3273010111260001", today).birth_date == dt.date(2026, 11, 1)
    # 29 February 2000 existed, 29 February 1900 did not: 29-02-00 is only valid as 2000
    assert validate_nik("3273012902000001", today).birth_date == dt.date(2000, 2, 29)
    assert not validate_nik("3273012902000001", dt.date(1999, 1, 1)).valid


def test_extract_nik_spoken():
    spoken = "tiga dua tujuh tiga nol satu empat lima nol delapan sembilan lima nol nol nol satu"
    assert extract_nik(spoken) == "3273014508950001"
    assert extract_nik("nik saya 3273014508950001 ya") == "3273014508950001"
    assert extract_nik("satu dua tiga") is None


@pytest.mark.parametrize(
    "text, phone",
    [
        ("+62 812-3456-7890", "081234567890"),
        ("6281234567890", "081234567890"),
        ("0812 3456 789", "08123456789"),
        ("kosong delapan lima tujuh satu dua tiga empat lima enam tujuh delapan", "085712345678"),
        ("021 5550123", "0215550123"),
        ("12345", None),
        ("anonymous", None),
        ("", None),
    ],
)
def test_phone(text, phone):
    assert normalize_phone(text) == phone
    # the international form is the same number, 62 instead of the leading 0
    assert phone_e164(text) == (None if phone is None else "62" + phone[1:])


@pytest.mark.parametrize(
    "text, plate",
    [
        ("B 1234 XYZ", "B 1234 XYZ"),
        ("b1234xyz", "B 1234 XYZ"),
        ("AB-12-CD", "AB 12 CD"),
        ("be satu dua tiga empat eks ye zet", "B 1234 XYZ"),
        ("de dua puluh ka", "D 20 K"),
        ("Q 1234 AB", None),          # no region Q
        ("B 12345 X", None),          # five digits
    ],
)
def test_plate(text, plate):
    assert parse_plate(text) == plate


def test_dates():
    today = dt.date(2026, 11, 28)
    assert parse_date("17 Agustus 2026") == dt.date(2026, 8, 17)
    assert parse_date("tujuh belas agustus dua ribu dua puluh enam") == dt.date(2026, 8, 17)
    assert parse_date("17/8/26", today) == dt.date(2026, 8, 17)
    assert parse_date("2026-08-17") == dt.date(2026, 8, 17)
    assert parse_date("tanggal 3 mei", today) == dt.date(2026, 5, 3)
    assert parse_date("kemarin", today) == dt.date(2026, 11, 27)
    assert parse_date("31 februari 2026") is None
    assert parse_date("besok pagi") is None
    assert format_date_id(dt.date(2026, 8, 17)) == "17 Agustus 2026"
    assert format_date_id("2026-11-02T10:00:00+07:00") == "2 November 2026"
    assert format_date_id("20-11-2026") == "20 November 2026"
    with pytest.raises(ValueError):
        format_date_id("kemarin sore")


def test_spelled_acronyms_with_dashes_and_bepejes():
    from dialogs.lang.normalize import normalize

    # letter names joined by dashes are not a reduplication ("be-be" is not "be")
    assert normalize("pe-be-be saya belum lunas") == "pbb saya belum lunas"
    assert normalize("ka-ka saya hilang") == "kk saya hilang"
    assert normalize("bepejes saya tidak aktif") == "bpjs saya tidak aktif"
    assert normalize("anak-anak saya") == "anak saya"  # a real reduplication still folds
