"""The script form and YAML anchors: a text its author wrote once and reused by alias (an
information answer reused as the reply to "syaratnya apa?", the shared closing question) is
changed everywhere it is used, and stays one anchored text in the YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogs import load_script
from ivr.web.script_form import FormError, apply_form, form_fields

DEFAULT = Path(__file__).resolve().parents[2] / "dialogs" / "scripts" / "default.yaml"


def test_editing_an_answer_also_changes_its_reuse_as_a_follow_up_reply():
    text = DEFAULT.read_text(encoding="utf-8")
    names = {f.name for f in form_fields(text)}
    # a reply that is the state's own answer (an alias) is edited where the answer is
    assert "answer.info_retribusi.tanya_syarat" not in names
    new = "Retribusi daerah dibayar ke dinas terkait atau lewat bank. Mintalah bukti pembayaran."
    out = apply_form(text, {"say.info_retribusi.0": new})
    script = load_script("edited.yaml", text=out)
    assert script.states["info_retribusi"].say[0].text == new
    assert script.states["info_retribusi"].answers["tanya_syarat"][0].text == new
    assert "&levy_answer" in out and "tanya_syarat: *levy_answer" in out


def test_follow_up_replies_are_form_fields_and_a_shared_one_changes_everywhere():
    text = DEFAULT.read_text(encoding="utf-8")
    fields = {f.name: f for f in form_fields(text) if f.group == "answers"}
    own = fields["answer.info_ktp.tanya_tempat"]
    assert own.label == "info_ktp: jawaban tentang tempat pengurusan"
    shared = fields["answer.info_ktp.tanya_biaya"]     # *free_documents, also in four other states
    assert "dipakai juga di" in shared.label and "info_kk" in shared.label
    assert "answer.info_kk.tanya_biaya" not in fields   # shown once, where it first appears
    fee = "Semua dokumen kependudukan tidak dipungut biaya apa pun."
    place = "KTP elektronik diurus di Disdukcapil atau di kantor kecamatan."
    out = apply_form(text, {"answer.info_ktp.tanya_biaya": fee, "answer.info_ktp.tanya_tempat": place})
    script = load_script("edited.yaml", text=out)
    for sid in ("info_ktp", "info_kk", "info_akta_kelahiran", "info_akta_kematian", "info_pindah"):
        assert script.states[sid].answers["tanya_biaya"][0].text == fee, sid
    assert script.states["info_ktp"].answers["tanya_tempat"][0].text == place
    assert script.states["info_kk"].answers["tanya_tempat"][0].text != place
    assert "tanya_biaya: *free_documents" in out
    # an emptied reply is refused, as an emptied prompt is
    with pytest.raises(FormError, match="tidak boleh kosong"):
        apply_form(text, {"answer.info_ktp.tanya_tempat": "  "})


def test_editing_a_shared_closing_question_changes_it_in_every_state():
    text = DEFAULT.read_text(encoding="utf-8")
    closing = "Ada lagi yang bisa kami bantu? Sebutkan layanan lain, atau ucapkan selesai."
    out = apply_form(text, {"say.info_kk.1": closing})
    script = load_script("edited.yaml", text=out)
    assert {script.states[s].say[-1].text for s in script.states if s.startswith("info_")} == {closing}


def test_the_sentence_for_a_category_already_named_is_a_form_field():
    text = DEFAULT.read_text(encoding="utf-8")
    field = {f.name: f for f in form_fields(text)}["carried.complaint_category"]
    assert field.value == "Pengaduan Anda tentang {category_label}."
    out = apply_form(text, {"carried.complaint_category": "Baik, kami catat pengaduan tentang {category_label}."})
    script = load_script("edited.yaml", text=out)
    assert script.states["complaint_category"].carried[0].text == "Baik, kami catat pengaduan tentang {category_label}."


ALIASED = """version: 1
name: t
start: a
settings:
  prompts:
    agent: &agent_line Mohon tunggu, saya sambungkan ke petugas.
states:
  a:
    say: Ada yang bisa dibantu?
    carried: &named Baik, tentang itu.
    answers:
      tanya_lama: *agent_line
      tanya_biaya: *named
    listen: {kind: intent, intents: [x]}
    on: {x: b}
  b:
    say: Terima kasih.
    end: completed
intents:
  x: {label: ex, examples: [satu]}
  tanya_lama: {label: lama proses, examples: [berapa lama]}
  tanya_biaya: {label: biaya, examples: [berapa biayanya]}
"""


def test_a_reply_that_is_a_shared_prompt_is_edited_where_the_prompt_is():
    # one text, one field: a reply aliasing a shared prompt (or a `carried` sentence) is not a
    # second field, which would change the prompt unseen, or lose one of two edits
    fields = {f.name: f for f in form_fields(ALIASED)}
    assert "prompt.agent" in fields and "answer.a.tanya_lama" not in fields
    assert "answer.a.tanya_biaya" not in fields


def test_what_a_cancelled_complaint_hears_is_a_form_field():
    text = DEFAULT.read_text(encoding="utf-8")
    field = {f.name: f for f in form_fields(text)}["cancel.complaint"]
    assert field.value == "Baik, pengaduan tidak jadi kami catat."
    out = apply_form(text, {"cancel.complaint": "Baik, pengaduan Anda kami batalkan."})
    assert load_script("edited.yaml", text=out).flows["complaint"].cancel.say[0].text == "Baik, pengaduan Anda kami batalkan."


def test_each_out_of_scope_topics_referral_is_a_form_field():
    text = DEFAULT.read_text(encoding="utf-8")
    fields = {f.name: f for f in form_fields(text)}
    field = fields["referral.paspor"]
    assert field.group == "referrals" and field.label == "Paspor dan imigrasi"
    assert field.value.startswith("Untuk paspor dan visa, silakan datang ke kantor imigrasi")
    assert fields["referral.lainnya"].value == ""            # no referral yet: shown empty
    new = "Untuk paspor, silakan datang ke kantor imigrasi di kota Anda."
    out = apply_form(text, {"referral.paspor": new,
                            "referral.lainnya": "Untuk hal lain,  silakan cari di situs resmi pemerintah daerah.",
                            "referral.listrik": ""})
    topics = load_script("edited.yaml", text=out).out_of_scope_topics
    assert topics["paspor"].say.text == new
    assert topics["lainnya"].say.text == "Untuk hal lain, silakan cari di situs resmi pemerintah daerah."
    assert topics["listrik"].say is None                      # emptied: the generic prompt
    assert "    label: Lain-lain (cuaca, berita, hiburan, belanja, dan lainnya)\n    say: Untuk hal lain" in out
    # the rest of the script unchanged (ruamel writes flow lists at its own width, so compared
    # as data, not as lines)
    import yaml

    before, after = yaml.safe_load(text), yaml.safe_load(out)
    before["out_of_scope"]["paspor"]["say"] = new
    before["out_of_scope"]["lainnya"]["say"] = "Untuk hal lain, silakan cari di situs resmi pemerintah daerah."
    del before["out_of_scope"]["listrik"]["say"]
    assert after == before
