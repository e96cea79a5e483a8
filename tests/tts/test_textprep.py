"""prepare_text: written Indonesian -> what is spoken."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tts import prepare_text
from tts.textprep import say_digits, spell


@pytest.mark.parametrize(
    "written, spoken",
    [
        # abbreviations
        ("Bawa KTP dan KK asli.", "Bawa ka te pe dan ka ka asli."),
        ("Iuran BPJS dan PBB.", "Iuran be pe je es dan pe be be."),
        ("Sebutkan NIK Anda.", "Sebutkan nik Anda."),
        ("Cetak ulang KTP-el atau e-KTP.", "Cetak ulang ka te pe el atau e ka te pe."),
        ("RT/RW sesuai KTP.", "er te er we sesuai ka te pe."),
        ("Alamat RT 05/RW 03.", "Alamat er te lima, er we tiga."),
        ("Bayar PKB dan STNK di Samsat.", "Bayar pe ka be dan es te en ka di samsat."),
        ("Daftar DTKS untuk PKH dan BPNT.", "Daftar de te ka es untuk pe ka ha dan be pe en te."),
        # money
        ("Biaya Rp 50.000.", "Biaya lima puluh ribu rupiah."),
        ("Denda Rp50.000,- per bulan.", "Denda lima puluh ribu rupiah per bulan."),
        ("Rp 1.500.000", "satu juta lima ratus ribu rupiah"),
        ("Rp 2,5 juta", "dua koma lima juta rupiah"),
        ("Sebesar 75.000 rupiah.", "Sebesar tujuh puluh lima ribu rupiah."),
        # times
        ("Buka pukul 08.00 WIB.", "Buka pukul delapan we i be."),
        ("Buka 08.00-15.00.", "Buka pukul delapan sampai pukul lima belas."),
        ("Jam 8:30", "pukul delapan lewat tiga puluh menit"),
        ("pukul 13.15 WITA", "pukul tiga belas lewat lima belas menit wita"),
        ("datang jam 9 pagi", "datang pukul sembilan pagi"),
        # dates
        ("Tanggal 28/11/2026.", "Tanggal dua puluh delapan November dua ribu dua puluh enam."),
        ("Sejak 1 Januari 2025", "Sejak satu Januari dua ribu dua puluh lima"),
        ("per 2026-11-28", "per dua puluh delapan November dua ribu dua puluh enam"),
        ("tanggal 17-08-45", "tanggal tujuh belas Agustus dua ribu empat puluh lima"),
        # digit by digit
        ("NIK 3201234567890001", "nik tiga dua nol satu, dua tiga empat lima, enam tujuh delapan sembilan, nol nol nol satu"),
        ("Hubungi 0812-3456-7890.", "Hubungi nol delapan satu dua, tiga empat lima enam, tujuh delapan sembilan nol."),
        ("Darurat: 112.", "Darurat: satu satu dua."),
        ("Call center 1500537", "Call center satu lima nol nol, lima tiga tujuh"),
        ("Nomor tiket Anda 48213.", "Nomor tiket Anda empat delapan dua satu tiga."),
        # the hotline's ticket numbers, written YYMM-SSSSS-C: read in the same groups
        ("Nomor tiket Anda 2611-00042-7.", "Nomor tiket Anda dua enam satu satu, nol nol nol empat dua, tujuh."),
        ("Sekali lagi, 2612-00001-6. Kami", "Sekali lagi, dua enam satu dua, nol nol nol nol satu, enam. Kami"),
        ("Pengaduan nomor 2701-90003-5 terakhir", "Pengaduan nomor dua tujuh nol satu, sembilan nol nol nol tiga, lima terakhir"),
        ("Tiket ADU-2026-000123 tercatat.", "Tiket a de u, dua nol dua enam, nol nol nol satu, dua tiga tercatat."),
        ("Kode OTP 004512", "Kode o te pe nol nol empat, lima satu dua"),
        # keys
        ("Tekan 1 untuk KTP, tekan # untuk mengulang.", "Tekan satu untuk ka te pe, tekan tanda pagar untuk mengulang."),
        ("tekan * untuk kembali", "tekan tanda bintang untuk kembali"),
        # plain numbers
        ("dalam 14 hari kerja", "dalam empat belas hari kerja"),
        ("ada 1.250 penduduk", "ada seribu dua ratus lima puluh penduduk"),
        ("naik 2,5%", "naik dua koma lima persen"),
        ("loket ke-3", "loket ketiga"),
        ("urutan ke-1", "urutan pertama"),
        ("100 orang", "seratus orang"),
        # nothing to do
        ("Terima kasih, selamat siang.", "Terima kasih, selamat siang."),
    ],
)
def test_examples(written: str, spoken: str) -> None:
    assert prepare_text(written) == spoken


def test_helpers() -> None:
    assert say_digits("0812") == "nol delapan satu dua"
    assert say_digits("12345678", group=4) == "satu dua tiga empat, lima enam tujuh delapan"
    assert spell("B12") == "be satu dua"


def test_markup_never_reaches_the_engine() -> None:
    assert "[" not in prepare_text("coba [[k'a]] ini") and "]" not in prepare_text("x ]] y")


def test_rejects_non_text() -> None:
    with pytest.raises(TypeError):
        prepare_text(None)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789 .,:-/RpKTPNIKab#*%+"), max_size=60))
def test_no_digits_survive(text: str) -> None:
    """Whatever mixture of digits and punctuation comes in, no digit is left for the engine."""
    out = prepare_text(text)
    assert not re.search(r"\d", out), out


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**12))
def test_any_integer_is_spoken(n: int) -> None:
    out = prepare_text(f"jumlah {n} orang")
    assert out.startswith("jumlah ") and out.endswith(" orang")
    assert not re.search(r"\d", out)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"\A[0-9]{10}\Z"), st.sampled_from(["Nomor tiket Anda {}.", "Sekali lagi, {}. Kami",
                                                          "dengan nomor tiket {}. Petugas"]))
def test_ticket_numbers_are_read_in_their_written_groups(digits: str, template: str) -> None:
    """A ticket number written 2611-00042-7 is read as those three groups, whatever its digits
    (never as a date, an amount or regrouped by fours)."""
    groups = (digits[:4], digits[4:9], digits[9])
    spoken = prepare_text(template.format("-".join(groups)))
    assert spoken == template.format(", ".join(say_digits(g) for g in groups))
