"""The dependency rule, checked on the source: the leaf packages asr, tts, dialogs and
telephony never import each other or ivr; they may import pcm, the audio leaf, which imports
nothing of ours (docs/decisions.md). Every import statement counts, lazy ones inside
functions included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"asr", "tts", "dialogs", "telephony", "pcm", "ivr"}
ALLOWED = {"asr": {"pcm"}, "tts": {"pcm"}, "dialogs": set(), "telephony": {"pcm"}, "pcm": set()}


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """(top-level package, line) of every absolute import in a file."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add((node.module.split(".")[0], node.lineno))
    return out


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_leaf_packages_import_only_what_the_rule_allows(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, package
    bad = [f"{f.relative_to(ROOT)}:{line} imports {name}"
           for f in files for name, line in sorted(imported_packages(f))
           if name in OURS and name != package and name not in ALLOWED[package]]
    assert bad == []


def test_the_scan_sees_lazy_imports(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("def f():\n    from ivr.settings import Settings\n    import dialogs.engine\n")
    assert imported_packages(p) == {("ivr", 2), ("dialogs", 3)}
