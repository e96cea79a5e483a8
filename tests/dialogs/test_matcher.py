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


def test_test_set_is_large_and_apart_from_the_examples(script):
    data = rows("intents_test.tsv") + rows("intents_fresh.tsv")
    assert len(data) >= 300
    examples = {e.lower() for i in script.intents.values() for e in i.examples} | \
               {e.lower() for e in script.out_of_scope}
    assert not [t for t, _ in data if t.lower() in examples]
    assert sum(1 for _, i in data if i == "none") >= 50


@pytest.mark.parametrize("name, min_acc", [("intents_test.tsv", 0.93), ("intents_fresh.tsv", 0.90)])
def test_routing_accuracy_and_out_of_scope(script, name, min_acc):
    confirm, accept = script.settings.confirm, script.settings.accept
    data = rows(name)
    correct = oos_routed = n_oos = 0
    for text, gold in data:
        m = script.matcher.match(text)
        pred = m.intent if m.intent and m.confidence >= confirm else "none"
        correct += pred == gold
        if gold == "none":
            n_oos += 1
            oos_routed += bool(m.intent and m.confidence >= accept)
    assert correct / len(data) >= min_acc
    assert oos_routed / n_oos <= 0.05


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
