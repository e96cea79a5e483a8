"""A call's personal values, for hiding them wherever a script copied them.

A script's templates may copy a personal slot into a field or a text whose name says nothing
personal: a ticket field ``keterangan: "Alamat {alamat_rumah}"``, a variable set for a hand-off
summary (``ringkasan: "{nama_pemohon} di {alamat_rumah}"``), a prompt reading that summary back.
Masking by a field's name (:func:`ivr.privacy.fields.is_personal_field`) does not reach the value
there, and free-text masking knows only NIKs, phone numbers and "nama saya ...". So the runtime
keeps the call's personal values themselves, with their kind, and every masked copy it writes
(ticket columns and fields, the live calls' journal, the hand-off context, a prompt's transcript)
replaces them by their mask wherever they stand (:func:`ivr.privacy.masking.hide_values`); the
clear or encrypted copy keeps them for an audited reveal.

Which variables hold one, and of what kind, comes from the script (the listen that fills them,
the dialog's own reading :func:`dialogs.personal.answer_kind` made stronger by the slot's name,
:func:`ivr.privacy.fields.answer_kind`), the runtime's builtins (the caller's number), a plain
copy of one (``reporter_phone: "{caller_number}"``), and the name rule for any other variable.
A variable *composed* from personal ones (``ringkasan``) is not a value of its own: the values
it was made of are hidden inside it.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Mapping

from dialogs.model import Script
from ivr.privacy.fields import FIELD_KIND, answer_kind, is_personal_field
from ivr.privacy.masking import HIDDEN_KINDS, Personal, hide_values

__all__ = ["composed_variables", "personal_kinds", "personal_values", "prompt_personal", "script_literals"]

_BUILTIN = {"caller_number": "phone", "callback_number": "phone"}
_COPY = re.compile(r"\s*\{([a-z][a-z0-9_]*)(?::[a-z]+)?\}\s*")

_CACHE: weakref.WeakKeyDictionary[Script, Mapping[str, str]] = weakref.WeakKeyDictionary()
_COMPOSED: weakref.WeakKeyDictionary[Script, frozenset[str]] = weakref.WeakKeyDictionary()
_LITERALS: weakref.WeakKeyDictionary[Script, frozenset[str]] = weakref.WeakKeyDictionary()


def personal_kinds(script: Script) -> Mapping[str, str]:
    """Variable -> kind (:data:`ivr.privacy.masking.HIDDEN_KINDS`) of every variable of
    ``script`` that holds one personal value: a slot a listen fills with a NIK, a phone number,
    a name or a field named personal (``alamat_rumah``), the caller's number, and variables set
    as a plain copy of one. Free text (a complaint's description) is not one; a free slot named
    after a thing (``nama_jalan``) is no person's name. Computed once per script."""
    known = _CACHE.get(script)
    if known is None:
        known = _CACHE[script] = _find(script)
    return known


def _find(script: Script) -> Mapping[str, str]:
    kinds = dict(_BUILTIN)
    for st in script.states.values():
        ls = st.listen
        if ls is None or not ls.slot:
            continue
        kind = answer_kind(ls.kind, ls.slot)
        if kind == "name" and not is_personal_field(ls.slot):
            continue
        if kind in HIDDEN_KINDS:
            kinds[ls.slot] = kind
    changed = True
    while changed:  # plain copies of a personal variable, to a fixed point
        changed = False
        for st in script.states.values():
            for name, template in st.set.items():
                m = _COPY.fullmatch(template)
                if name not in kinds and m is not None and m.group(1) in kinds:
                    kinds[name] = kinds[m.group(1)]
                    changed = True
    return kinds


def personal_values(script: Script, variables: Mapping[str, object],
                    personal_names: Callable[[str], bool] | None = is_personal_field) -> Personal:
    """(name, kind, value) of each personal value among a call's ``variables`` (the dialog
    engine's): those :func:`personal_kinds` knows, and any other variable named personal
    (``personal_names``, the runtime's rule) as a field hidden whole."""
    kinds = personal_kinds(script)
    literals = script_literals(script)
    out: list[tuple[str, str, str]] = []
    for name, value in variables.items():
        if not isinstance(value, str) or not value.strip():
            continue
        if _norm(value) in literals:
            continue  # the script's own word (a menu choice, a literal it sets), not the caller's
        kind = kinds.get(name)
        if kind is None and personal_names is not None and personal_names(name):
            kind = FIELD_KIND
        if kind is not None:
            out.append((name, kind, value))
    return tuple(out)


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def script_literals(script: Script) -> frozenset[str]:
    """The words ``script`` itself gives its variables (lower case, spaces collapsed): a choice
    listen's outcomes and labels (``jenis_alamat`` = "rumah"), a literal a ``set:`` or a ticket
    field writes (``nama_pelapor: "tidak disebutkan"``). Such a value in a variable named
    personal is no caller's data: hiding it wherever it stands would mask that word across
    every description and summary of the call (computed once per script)."""
    known = _LITERALS.get(script)
    if known is None:
        words: set[str] = set()
        for st in script.states.values():
            ls = st.listen
            if ls is not None and ls.kind == "choice":
                for outcome in (*ls.options, *ls.intents):
                    words.update((_norm(outcome), _norm(outcome.replace("_", " "))))
                words.update(_norm(label) for label in ls.labels.values())
            templates = [*st.set.values(), *(st.create_ticket.fields.values() if st.create_ticket else ())]
            words.update(_norm(t) for t in templates if "{" not in t)
        known = _LITERALS[script] = frozenset(w for w in words if w)
    return known


def composed_variables(script: Script) -> frozenset[str]:
    """The variables ``script`` sets from a template that is more than a plain copy of one
    variable (``ringkasan: "Pemohon {nama_pemohon} di {alamat_rumah}"``): text made of values,
    not one value (computed once per script)."""
    known = _COMPOSED.get(script)
    if known is None:
        known = _COMPOSED[script] = frozenset(
            name for st in script.states.values() for name, template in st.set.items()
            if "{" in template and _COPY.fullmatch(template) is None)
    return known


def prompt_personal(script: Script, personal: Personal, values: Personal) -> Personal:
    """A prompt's personal variables (``dialogs.actions.Say.personal``) as the runtime masks
    them: the dialog gives a composed variable (:func:`composed_variables`) the kind of the first
    personal value in it, so "{ringkasan}" would be masked whole as a name ("P*** B*** d***
    J***..."); it is text instead, with the call's personal ``values`` hidden inside it ("Pemohon
    B*** S*** di [REDACTED]"). A composed variable named personal keeps its kind (hidden whole)."""
    composed = composed_variables(script)
    return tuple((name, kind, value) if name not in composed or is_personal_field(name)
                 else (name, "text", str(hide_values(value, values))) for name, kind, value in personal)
