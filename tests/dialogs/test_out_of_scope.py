"""A request the hotline does not handle ("mau bikin paspor", the script's `out_of_scope`) is
told so, with what the hotline does handle and the emergency number, instead of "Maaf, saya
belum mengerti" (which invites the caller to say the same thing again until an agent takes
the call); it still counts as a miss on the ladder. A garbled transcript, or a follow-up
question asked before any service is named, stays "not understood"."""

from __future__ import annotations

from dialogs import CallStarted, DialogEngine, Heard, Say, load_script


def says(actions):
    return " ".join(a.text for a in actions if isinstance(a, Say))


def started(script) -> DialogEngine:
    e = DialogEngine(script, strict=True)
    e.handle(CallStarted())
    return e


def test_a_request_the_hotline_does_not_handle_is_told_so(script):
    told = script.settings.prompts["out_of_scope"][0].text
    assert "di luar layanan kami" in told and "112" in told and "pengaduan" in told
    e = started(script)
    # (a topic without its own referral: the topics with one, test_out_of_scope_referral.py)
    out = e.handle(Heard(text="mau tanya resep masakan"))
    assert says(out) == told and e.state == "main_menu"
    assert e.last_turn.outcome == "no_match"            # on record as a miss, for the analytics
    # a miss on the ladder: the second one gets the keypad, as any other miss (a request told
    # where to go is not: test_out_of_scope_referral.py)
    out = e.handle(Heard(text="mau tanya resep masakan"))
    assert "tekan 1 untuk kependudukan" in says(out).lower() and told not in says(out)


def test_unclear_words_and_questions_without_a_service_are_not_understood(script):
    not_understood = script.states["main_menu"].no_match[0].text
    e = started(script)
    assert says(e.handle(Heard(text="mau bikin paspor", confidence=0.4))) == not_understood
    e = started(script)
    assert says(e.handle(Heard(text="jam berapa buka kantornya"))) == not_understood
    e = started(script)
    assert says(e.handle(Heard(text="saya tidak tahu"))) == not_understood


def test_the_matcher_says_when_out_of_scope_won(script):
    assert script.matcher.match("mau bikin paspor").out_of_scope
    assert not script.matcher.match("qwerty asdf").out_of_scope
    assert not script.matcher.match("mau bikin ktp").out_of_scope


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
out_of_scope: [mau bikin paspor]
"""


def test_a_script_may_word_it_and_has_a_default():
    for prompts, expected in [("{}", "Maaf, hal itu belum bisa kami bantu di layanan ini."),
                              ("{prompts: {out_of_scope: Paspor diurus di kantor imigrasi.}}",
                               "Paspor diurus di kantor imigrasi.")]:
        s = load_script("t.yaml", text=BASE.replace("{PROMPTS}", prompts))
        e = DialogEngine(s, strict=True)
        e.handle(CallStarted())
        assert says(e.handle(Heard(text="mau bikin paspor"))).startswith(expected)
        assert expected in " ".join(s.static_prompts())


def test_a_sub_menu_says_not_understood_and_its_menu_again(script):
    # the out_of_scope prompt lists every service and invites another one, which a sub-menu
    # (it takes only its own services) would not take: there the caller hears "not
    # understood" and the sub-menu's keys again, as before
    e = started(script)
    e.handle(Heard(text="kependudukan"))
    assert e.state == "menu_kependudukan"
    out = says(e.handle(Heard(text="mau bikin paspor")))
    assert "di luar layanan kami" not in out and "belum mengerti" in out
    assert "Tekan 1 untuk KTP elektronik" in out
    # where every service is taken (an information state), the caller is told
    e = started(script)
    e.handle(Heard(text="ktp hilang"))
    assert e.state == "info_ktp"
    assert "di luar layanan kami" in says(e.handle(Heard(text="mau bikin paspor")))


def test_the_recognizers_unsure_decision_on_an_out_of_scope_request_is_told_so(script):
    # on the phone the recognizer always names its best label; unsure (below `confirm`) on
    # words that read as a request the hotline does not handle, the caller is told so, as a
    # typed request is (the label it leaned to is not a request the caller made)
    # (passports have their own referral, between the out_of_scope head and tail prompts)
    p = script.settings.prompts
    told = " ".join([p["out_of_scope_head"][0].text, script.out_of_scope_topics["paspor"].say.text,
                     p["out_of_scope_tail"][0].text])
    e = started(script)
    out = e.handle(Heard(text="mau perpanjang paspor", confidence=0.07, intent="pengaduan"))
    assert says(out) == told and e.state == "main_menu" and e.last_turn.outcome == "no_match"
    # a label this state does not take, on out-of-scope words: told so too
    e = started(script)
    assert says(e.handle(Heard(text="mau perpanjang paspor", confidence=0.9, intent="tanya_jam"))) == told
    # unsure on in-scope words, or a question without a service: not understood, as before
    not_understood = script.states["main_menu"].no_match[0].text
    e = started(script)
    assert says(e.handle(Heard(text="ktp saya hilang", confidence=0.1, intent="ktp"))) == not_understood
    e = started(script)
    assert says(e.handle(Heard(text="jam berapa buka kantornya", confidence=0.1, intent="ktp"))) == not_understood
