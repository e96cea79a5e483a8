"""Hostile YAML (issue #15): an alias bomb, deep nesting or a huge file is refused quickly with
a clear error and its line, in bounded memory; the default script's own anchors still work."""

from __future__ import annotations

import tracemalloc

import pytest

from dialogs import ScriptError, default_script_path, load_script
from dialogs.testcases import load_cases
from dialogs.yaml_source import MAX_ALIASES, MAX_BYTES, MAX_VALUES, parse_yaml


def billion_laughs(levels: int = 9) -> str:
    lines = ['version: 1', 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_alias_bomb_is_refused_with_its_line_in_bounded_memory():
    bomb = billion_laughs()
    assert len(bomb) < 600   # a few hundred bytes that expand to 9**9 values

    def load() -> None:
        with pytest.raises(ScriptError) as exc:
            load_script("bomb.yaml", text=bomb)
        (issue,) = exc.value.issues
        assert "aliases" in issue.message and f"{MAX_VALUES:,}" in issue.message
        assert issue.line is not None and 2 <= issue.line <= 10

    assert peak_bytes(load) < 50_000_000


def test_alias_bomb_in_a_test_case_file_is_refused(tmp_path):
    p = tmp_path / "bomb.tests.yaml"
    p.write_text(billion_laughs())
    with pytest.raises(ScriptError, match="aliases"):
        load_cases(p)


def test_many_aliases_deep_nesting_and_size_are_bounded():
    many = "a: &a x\nb: [" + ",".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    (issue,) = parse_yaml(many).issues
    assert f"more than {MAX_ALIASES} aliases" in issue.message and issue.line == 2
    deep = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    (issue,) = parse_yaml(deep).issues
    assert "nested more than" in issue.message and issue.line == 1
    (issue,) = parse_yaml("a: " + "x" * MAX_BYTES + "\n").issues
    assert "bytes" in issue.message


def test_the_default_scripts_anchors_are_within_the_bounds():
    doc = parse_yaml(default_script_path().read_text(encoding="utf-8"))
    assert doc.issues == []
    # ordinary reuse of blocks (&info_listen / *info_listen ...) stays far below the bounds
    text = default_script_path().read_text(encoding="utf-8")
    assert text.count("*") < MAX_ALIASES
    load_script(default_script_path())


@pytest.mark.timeout(20)
def test_an_alias_inside_its_own_anchor_is_refused_not_looped_on():
    for text in ("a: &a [*a]\n", "a: &a [" + ",".join(["*a"] * 3) + "]\n",
                 "x:\n  y: &y {z: [1, *y]}\n"):
        (issue,) = parse_yaml(text).issues
        assert "contains it" in issue.message and issue.line is not None
        with pytest.raises(ScriptError, match="contains it"):
            load_script("loop.yaml", text=text)
