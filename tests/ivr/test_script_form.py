"""The script form and YAML anchors: a text its author wrote once and reused by alias (an
information answer reused as the reply to "syaratnya apa?", the shared closing question) is
changed everywhere it is used, and stays one anchored text in the YAML."""

from __future__ import annotations

from pathlib import Path

from dialogs import load_script
from ivr.web.script_form import apply_form, form_fields

DEFAULT = Path(__file__).resolve().parents[2] / "dialogs" / "scripts" / "default.yaml"


def test_editing_an_answer_also_changes_its_reuse_as_a_follow_up_reply():
    text = DEFAULT.read_text(encoding="utf-8")
    # the follow-up replies are not fields of the form: only the answer they reuse is
    assert not any(".answers" in f.name or f.name.startswith("answers") for f in form_fields(text))
    new = "Untuk KTP elektronik, datanglah ke Disdukcapil dengan Kartu Keluarga. Layanan ini gratis."
    out = apply_form(text, {"say.info_ktp.0": new})
    script = load_script("edited.yaml", text=out)
    assert script.states["info_ktp"].say[0].text == new
    assert script.states["info_ktp"].answers["tanya_syarat"][0].text == new
    assert "&ktp_answer" in out and "tanya_syarat: *ktp_answer" in out


def test_editing_a_shared_closing_question_changes_it_in_every_state():
    text = DEFAULT.read_text(encoding="utf-8")
    closing = "Ada lagi yang bisa kami bantu? Sebutkan layanan lain, atau ucapkan selesai."
    out = apply_form(text, {"say.info_kk.1": closing})
    script = load_script("edited.yaml", text=out)
    assert {script.states[s].say[-1].text for s in script.states if s.startswith("info_")} == {closing}
