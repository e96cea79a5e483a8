"""Second review of the copied personal values (``ivr.privacy.call_values``): what must not be
hidden (the script's own words) and what must be (a caller's free words repeating a value the
call already holds)."""

from __future__ import annotations

from dialogs import load_script
from ivr.privacy.call_values import personal_values
from ivr.privacy.masking import FIELD_MASK, hide_values
from ivr.privacy.pii import Pii

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


def test_the_scripts_own_words_in_a_personal_variable_are_not_hidden_everywhere():
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
