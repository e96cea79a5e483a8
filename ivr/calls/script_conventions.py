"""What the runtime still infers from the default script's state and label *names*.

TODO(R2 merge): every function here goes once the script declares what it means (issue #18):
``Script.entry_menu``, ``Listen.navigation`` and the engine's own incomplete-complaint ticket on
``Hangup``. Until then this is the one place that knows the names; nothing else in ``ivr/``
compares a state id or a label with a literal.
"""

from __future__ import annotations

from collections.abc import Iterable

from dialogs import Script

#: the state that offers the services in the default script
ENTRY_MENU = "main_menu"
_NAVIGATION_PREFIX = "menu_"
_COMPLAINT_PREFIX = "complaint_"


def entry_menu(script: Script) -> str | None:
    """The state that offers the services (TODO(R2 merge): ``script.entry_menu``)."""
    return ENTRY_MENU if ENTRY_MENU in script.states else None


def navigation_labels(labels: Iterable[str]) -> frozenset[str]:
    """Labels that lead to another menu rather than to a service
    (TODO(R2 merge): ``listen.navigation``)."""
    return frozenset(lab for lab in labels if lab.startswith(_NAVIGATION_PREFIX))


def is_menu_state(state_id: str) -> bool:
    """A state whose choices lead to other states (TODO(R2 merge): ``State.menu``)."""
    return state_id.startswith(_NAVIGATION_PREFIX) or state_id == ENTRY_MENU


def in_complaint_flow(state_id: str | None) -> bool:
    """Whether ``state_id`` is part of the complaint flow (TODO(R2 merge): the engine files the
    incomplete complaint itself on ``Hangup``, driven by the script's declaration)."""
    return bool(state_id) and str(state_id).startswith(_COMPLAINT_PREFIX)
