"""Which of a script's variables hold personal data, and of what kind, so that the runtime can
keep prompts and answers out of records in clear.

A variable is personal when it is filled by a listen that asks for a NIK, a phone number or free
speech (a name, a description, a place), when it is the caller's number, or when it is set from
a personal variable (``reporter_phone: "{caller_number}"``). Free speech asked for a slot whose
name says "name"/"nama" is a name; other free speech is text that may hold one.

Kinds: ``"nik"``, ``"phone"``, ``"name"``, ``"text"``; and ``"field"`` (:data:`FIELD_KIND`): a
variable the runtime hides whole because its name says it is personal (the runtime's rule,
``ivr.privacy.fields``, given to the engine as ``personal_names``).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING

from dialogs.templates import variables_in

if TYPE_CHECKING:
    from dialogs.model import Script

__all__ = ["personal_variables", "answer_kind", "PLACEHOLDER", "FIELD_KIND"]

#: a value hidden whole because its name says it is personal (an address, a birth date...)
FIELD_KIND = "field"

#: how a personal variable stands in a prompt's record form: "{name}"
PLACEHOLDER = "{{{}}}"

_BUILTIN = {"caller_number": "phone", "callback_number": "phone"}
_KIND_OF_LISTEN = {"nik": "nik", "phone": "phone"}


def answer_kind(kind: str, slot: str | None) -> str | None:
    """The personal kind of what a caller answers to a listen of ``kind`` filling ``slot``
    (None: not personal: menus, yes/no, dates, ticket numbers)."""
    if kind in _KIND_OF_LISTEN:
        return _KIND_OF_LISTEN[kind]
    if kind == "free":
        name = (slot or "").lower()
        return "name" if "name" in name or "nama" in name else "text"
    return None


_CACHE: weakref.WeakKeyDictionary[Script, Mapping[str, str]] = weakref.WeakKeyDictionary()


def personal_variables(script: Script) -> Mapping[str, str]:
    """Variable name -> personal kind, for every personal variable of ``script`` (computed once
    per script)."""
    known = _CACHE.get(script)
    if known is None:
        known = _CACHE[script] = _find(script)
    return known


def _find(script: Script) -> Mapping[str, str]:
    found: dict[str, str] = dict(_BUILTIN)
    for st in script.states.values():
        if st.listen is not None and st.listen.slot:
            kind = answer_kind(st.listen.kind, st.listen.slot)
            if kind is not None:
                found[st.listen.slot] = kind
    changed = True
    while changed:  # variables set from personal ones, to a fixed point
        changed = False
        for st in script.states.values():
            for name, template in st.set.items():
                if name in found:
                    continue
                kinds = [found[v] for v, _ in variables_in(template) if v in found]
                if kinds:
                    found[name] = kinds[0]
                    changed = True
    return found
