"""PII protection: masks, AES-GCM encryption with kind binding, keyed hashes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.privacy.masking import mask_name, mask_nik, mask_phone
from ivr.privacy.pii import Pii, PiiError, normalize_phone
from tests.conftest import PII_TEST_KEY

OTHER_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def test_masks():
    assert mask_nik("3174012345670001") == "3174**********01"
    assert mask_nik("3174 0123 4567 0001") == "3174**********01"
    assert mask_phone("081234567890") == "0812*****890"
    assert mask_phone("+62 812-3456-7890") == "+6281******890"
    assert mask_name("Siti Nur Aminah") == "S*** N*** A***"
    assert mask_phone("123") == "***"


def test_phone_normalisation():
    assert normalize_phone("0812-3456-7890") == normalize_phone("+62 812 3456 7890") == "6281234567890"


def test_encrypt_roundtrip_and_kind_binding():
    p = Pii("encrypt", PII_TEST_KEY)
    a = p.protect("3174012345670001", "nik")
    b = p.protect("3174012345670001", "nik")
    assert a.masked == "3174**********01" and a.enc != b.enc  # fresh nonce each time
    assert a.hash == b.hash and len(a.hash) == 64
    assert p.reveal(a.masked, a.enc, "nik", allowed=True) == "3174012345670001"
    assert p.reveal(a.masked, a.enc, "nik", allowed=False) == a.masked
    with pytest.raises(PiiError):
        p.decrypt(a.enc, "phone")  # a NIK ciphertext is not a phone number
    tampered = a.enc[:-2] + ("A" if a.enc[-2] != "A" else "B") + a.enc[-1]
    with pytest.raises(PiiError):
        p.decrypt(tampered, "nik")
    with pytest.raises(PiiError):
        Pii("encrypt", OTHER_KEY).decrypt(a.enc, "nik")


def test_hash_is_keyed_and_normalised():
    p, q = Pii("mask", PII_TEST_KEY), Pii("mask", OTHER_KEY)
    assert p.hash("081234567890", "phone") == p.hash("+6281234567890", "phone")
    assert p.hash("081234567890", "phone") != q.hash("081234567890", "phone")
    assert p.hash("3174012345670001", "nik") != p.hash("3174012345670001", "phone")
    assert Pii("mask").hash("081234567890", "phone") is None  # no key, no lookups


def test_mask_mode_keeps_nothing_recoverable():
    p = Pii("mask", PII_TEST_KEY)
    prot = p.protect("Budi Santoso", "name")
    assert prot.enc is None and prot.masked == "B*** S***"
    assert p.reveal(prot.masked, prot.enc, "name", allowed=True) == "B*** S***"
    masked, enc = p.protect_json({"caller": "081234567890", "note": "NIK 3174012345670001"})
    assert enc is None and masked == {"caller": "[REDACTED]", "note": "NIK [NIK]"}


def test_config_errors():
    with pytest.raises(ValueError):
        Pii("encrypt")
    with pytest.raises(ValueError):
        Pii("mask", "c2hvcnQ=")
    with pytest.raises(ValueError):
        Pii("plain")


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_any_text_roundtrips(text):
    p = Pii("encrypt", PII_TEST_KEY)
    prot = p.protect(text, "text")
    if text:
        assert p.reveal(prot.masked, prot.enc, "text", allowed=True) == text
    else:
        assert prot.masked is None


@settings(max_examples=60, deadline=None)
@given(st.from_regex(r"[1-9][0-9]{15}", fullmatch=True), st.text(alphabet="abc ,.:", max_size=20))
def test_nik_never_survives_text_masking(nik, filler):
    p = Pii("mask")
    masked = p.protect(f"{filler}{nik}{filler}", "text").masked
    assert nik not in masked


def test_words_cut_short_by_a_hang_up_lose_every_long_number():
    """A slot filled with words a hang-up cut may hold a NIK or phone number only partly said,
    which text masking would not know for one: the field named cut loses every number of four
    digits or more; whole answers, and a prompt cut short (the same mark), keep theirs (years,
    house numbers, ticket numbers, hotlines)."""
    from dialogs.events import CUT_MARK
    from ivr.privacy.masking import mask_cut_answers

    pii = Pii("encrypt", PII_TEST_KEY)
    said = "di jalan melati, nomor saya 0812 3456" + CUT_MARK
    cut = pii.protect(said, "text", cut=True)
    assert "0812" not in cut.masked and "3456" not in cut.masked and cut.masked.endswith(CUT_MARK)
    assert pii.reveal(cut.masked, cut.enc, "text", True) == said
    whole = pii.protect("banjir sejak tahun 2021 di rumah nomor 1234", "text")
    assert "2021" in whole.masked and "1234" in whole.masked
    prompt = "Nomor tiket Anda 2611-00042-7. Info Dukcapil pusat di 1500537" + CUT_MARK
    assert pii.protect(prompt, "text").masked == prompt
    # slot values in a record (the engine's snapshot, the ticket it files)
    masked = mask_cut_answers({"vars": {"location": said, "ticket_id": "2611-00042-7"}, "path": ["a"]})
    assert "0812" not in masked["vars"]["location"] and masked["vars"]["ticket_id"] == "2611-00042-7"
