"""The task-success simulation of bench_understanding through the real dialog engine."""

from __future__ import annotations

import pytest

from bench.understanding import task, task_figures
from dialogs import Heard, default_script_path, load_script


@pytest.fixture(scope="module")
def script():
    return load_script(default_script_path())


def test_a_confident_right_decision_is_one_turn(script):
    t = task(script, "ktp", lambda i: Heard("mau bikin ktp", 0.9, intent="ktp"))
    assert t.success and t.turns == 1 and t.how == "speech"


def test_a_confirmed_decision_costs_the_yes(script):
    t = task(script, "ktp", lambda i: Heard("mau bikin ktp", 0.45, intent="ktp"))
    assert t.success and t.turns == 2 and t.how == "speech>yes"


def test_a_wrong_decision_accepted_at_once_fails(script):
    t = task(script, "ktp", lambda i: Heard("mau bikin kk", 0.95, intent="kk"))
    assert not t.success


def test_not_understood_twice_the_caller_uses_the_keys(script):
    t = task(script, "kk", lambda i: Heard("hmm", 0.05, intent=None))
    # two requests not understood, then 1 (kependudukan) and 2 (Kartu Keluarga)
    assert t.success and t.how == "speech>speech>key>key" and t.turns == 4


def test_an_emergency_reaches_the_emergency_state(script):
    asked = task(script, "darurat", lambda i: Heard("rolong", 0.1, intent="darurat", emergency="maybe"))
    assert asked.success and asked.how == "speech>yes"
    now = task(script, "darurat", lambda i: Heard("tolong kebakaran", 1.0, intent="darurat", emergency="now"))
    assert now.success and now.turns == 1


def test_figures_count_failures_as_never_reached(script):
    ok = task(script, "ktp", lambda i: Heard("ktp", 0.9, intent="ktp"))
    bad = task(script, "ktp", lambda i: Heard("kk", 0.95, intent="kk"))
    f = task_figures([ok, bad, bad])
    assert f["task_success"] == pytest.approx(1 / 3, abs=1e-3) and f["median_turns"] == 99


def test_an_emergency_not_understood_twice_reaches_the_emergency_key(script):
    # the keypad prompt after two misses names "Dalam keadaan darurat, tekan 8"
    t = task(script, "darurat", lambda i: Heard("rolong vermakal", 0.05, intent=None))
    assert t.success and t.how == "speech>speech>key" and t.turns == 3
