"""Prompt templates: "Nomor tiket Anda {ticket_id}". Only variable names, nothing executable."""

from __future__ import annotations

import re
from collections.abc import Mapping

from dialogs.lang.dates import format_date_id
from dialogs.lang.numbers import number_to_words, spell_digits

FORMATS = ("plain", "digits", "number", "date")
_VAR_RE = re.compile(r"\{([a-z][a-z0-9_]*)(?::([a-z]+))?\}")
_BRACE_RE = re.compile(r"[{}]")


def variables_in(text: str) -> list[tuple[str, str | None]]:
    return [(m.group(1), m.group(2)) for m in _VAR_RE.finditer(text)]


def template_problems(text: str) -> list[str]:
    """Syntax problems: stray braces, unknown formats."""
    problems = []
    if _BRACE_RE.search(_VAR_RE.sub("", text)):
        problems.append("stray '{' or '}' (variables look like {name} or {name:digits})")
    for name, fmt in variables_in(text):
        if fmt is not None and fmt not in FORMATS:
            problems.append(f"unknown format '{fmt}' for {{{name}}} (use one of {', '.join(FORMATS)})")
    return problems


def render(text: str, values: Mapping[str, str], default_formats: Mapping[str, str]) -> str:
    """Substitute variables; missing ones become empty. Digits-type values are spelled."""

    def sub(m: re.Match[str]) -> str:
        name, fmt = m.group(1), m.group(2)
        value = str(values.get(name, "") or "")
        fmt = fmt or default_formats.get(name, "plain")
        if not value:
            return ""
        try:
            if fmt == "digits":
                return spell_digits(value, group=True)
            if fmt == "number" and value.isdigit():
                return number_to_words(value)
            if fmt == "date":
                return format_date_id(value)
        except (ValueError, IndexError):
            return value
        return value

    return re.sub(r"\s+", " ", _VAR_RE.sub(sub, text)).strip()
