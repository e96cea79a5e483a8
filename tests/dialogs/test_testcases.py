from dialogs import default_script_path
from dialogs.testcases import default_cases_path, load_cases, run_cases


def test_default_script_cases_pass(script):
    cases = load_cases(default_cases_path(default_script_path()))
    results = run_cases(script, cases)
    assert len(results) >= 15
    failed = [(r.name, r.failures) for r in results if not r.passed]
    assert not failed


def test_failures_are_reported_per_step(script, tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(
        "cases:\n"
        "  - name: wrong\n"
        "    steps:\n"
        "      - start: {}\n"
        "        expect: {state: main_menu, actions: [Say, Listen]}\n"
        "      - press: '0'\n"
        "        expect: {transfer: kependudukan, say_contains: [sambungkan, tidak ada]}\n",
        encoding="utf-8")
    [res] = run_cases(script, load_cases(p))
    assert not res.passed
    assert any(f.startswith("step 1: actions are") for f in res.failures)
    assert any("expected Transfer to 'kependudukan'" in f for f in res.failures)
    assert any("'tidak ada'" in f for f in res.failures)
    assert not any("contains 'sambungkan'" in f for f in res.failures)
