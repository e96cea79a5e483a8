"""Script definition errors, kept apart from run-time behaviour."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScriptIssue:
    path: str            # e.g. "states.info_ktp.listen.intents[2]"
    line: int | None     # 1-based line in the YAML file, when known
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path or '<script>'}: {self.message}"


class ScriptError(Exception):
    """A script could not be loaded; `issues` lists every problem found, in file order."""

    def __init__(self, source: str, issues: list[ScriptIssue]):
        self.source = source
        self.issues = sorted(issues, key=lambda i: (i.line or 0, i.path))
        super().__init__(self.format())

    def format(self) -> str:
        head = f"{self.source}: {len(self.issues)} error(s)"
        return "\n".join([head, *(f"  {i}" for i in self.issues)])
