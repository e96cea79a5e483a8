"""The parts of ivr/ import each other only in the directions docs/architecture.md draws, so
there is no import cycle and, e.g., the web app never reaches into the call core."""

from __future__ import annotations

import ast
from pathlib import Path

IVR = Path(__file__).resolve().parents[2] / "ivr"

#: part -> the parts of ivr it may import (besides itself); "serve" is ivr/serve.py
ALLOWED = {
    "config": {"privacy"},
    "privacy": set(),
    "storage": {"config", "privacy"},
    "calls": {"config", "privacy", "storage"},
    "desk": {"config", "privacy", "storage"},
    "web": {"analytics", "config", "desk", "observability", "privacy", "storage"},
    "simulation": {"calls", "config", "privacy", "storage"},
    "serve": {"analytics", "calls", "config", "desk", "observability", "privacy", "storage", "web"},
    "cli": {"analytics", "serve", "simulation", "calls", "config", "desk", "privacy", "storage", "web"},
    "analytics": {"config", "privacy", "storage"},
    "observability": set(),
}


def _part(path: Path) -> str:
    rel = path.relative_to(IVR)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imported_parts(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            bits = name.split(".")
            if bits[0] == "ivr" and len(bits) > 1:
                found.add(bits[1])
    return found


def test_parts_import_each_other_only_downwards():
    wrong = []
    for path in sorted(IVR.rglob("*.py")):
        if "migrations" in path.parts or path == IVR / "__init__.py":
            continue
        part = _part(path)
        assert part in ALLOWED, f"{path.relative_to(IVR)}: a new part of ivr/ needs a place in docs/architecture.md"
        for other in _imported_parts(path) - {part}:
            if other not in ALLOWED[part]:
                wrong.append(f"{path.relative_to(IVR)} imports ivr.{other}")
    assert not wrong, wrong


def test_web_routers_never_import_the_app():
    for path in (IVR / "web" / "routes").glob("*.py"):
        tree = ast.parse(path.read_text())
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "ivr.web.app" not in modules, path.name
