"""Dialog states in the words supervisors read on the wallboard ("Layanan KTP elektronik",
"Pengaduan: menyebutkan lokasi kejadian", "Menu utama"), never the raw state ids.

Labels come from the live script (the version callers hear now, as the follow-up analytics read
it, :class:`ivr.analytics.follow_ups.LiveSpec`):

* the start state is the greeting; a menu (``menu: true``) is "Menu utama" when the greeting
  leads to it, else "Menu <its name>" (the label a parent menu gives the choice, or its id's
  words);
* a state of a flow (``flows:``, e.g. the complaint) is the flow's task plus the step the
  desk's hang-up marks name ("Pengaduan: menyebutkan NIK");
* a state an intent leads to from a menu is that service as the desk names it
  (:func:`ivr.storage.catalog.service_words`; an intent the catalog does not know by the
  script's own label), and the other states whose id starts with the same word
  (``status_ask`` -> ``status_found``...) share it;
* the rest: a few known steps of the default script, else the id's words ("Langkah «callback
  number ask»"). The raw id is never shown alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ivr.desk.marks import STEP_LABELS
from ivr.storage.script_view import LiveScriptView
from ivr.storage.catalog import SERVICE_NAMES, service_words

if TYPE_CHECKING:
    from dialogs.model import Script
    from ivr.storage import Store

__all__ = ["NO_STATE", "LiveStepLabels", "StepLabels", "humanised"]


#: what a call not yet in a dialog state reads as
NO_STATE = "Baru tersambung"

#: flows by their id, as a task staff read
_FLOW_TASKS = {"complaint": "Pengaduan", "pengaduan": "Pengaduan", "callback": "Permintaan telepon balik"}

#: steps of the default script that no menu, flow or service names
_KNOWN = {
    "welcome": "Salam pembuka",
    "main_menu": "Menu utama",
    "anything_else": "Ditanya keperluan lain",
    "emergency": "Keadaan darurat",
    "goodbye": "Penutup panggilan",
    "goodbye_no_callback": "Penutup panggilan",
    "callback": "Permintaan telepon balik",
    "status": "Cek status pengaduan",
    "complaint": "Pengaduan",
}


def _words(state: str) -> list[str]:
    return [w for w in state.lower().replace("-", "_").replace(".", "_").split("_") if w]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    """"Puskesmas dan RSUD" -> "puskesmas dan RSUD"; an abbreviation ("KTP ...") or a proper
    name, every word capitalised ("Kartu Keluarga", "BPJS Kesehatan"), stays."""
    words = text.split()
    if text[1:2].isupper() or (len(words) > 1 and all(w[:1].isupper() for w in words)):
        return text
    return text[:1].lower() + text[1:]


def humanised(state: str) -> str:
    """A state no script label names: a known step of the default script, the task its first
    word names (``callback_number_ask`` -> "Permintaan telepon balik"), else its id's words."""
    if not state or state == "-":
        return NO_STATE
    if state in _KNOWN:
        return _KNOWN[state]
    words = _words(state)
    if words and words[0] in _KNOWN:
        return _KNOWN[words[0]]
    return f"Langkah «{' '.join(words) or state}»"


@dataclass(frozen=True)
class StepLabels:
    """State id -> the label supervisors read."""

    labels: Mapping[str, str] = field(default_factory=dict)

    def label(self, state: str | None) -> str:
        if not state or state == "-":
            return NO_STATE
        return self.labels.get(state) or humanised(state)

    @classmethod
    def from_script(cls, script: Script) -> StepLabels:
        out: dict[str, str] = {}
        states = script.states
        first = states.get(script.start)
        main = first.next if first is not None and first.next else None
        out[script.start] = _KNOWN["welcome"]
        # menus, named by the choice a parent menu gives them
        for sid, st in states.items():
            if not st.menu:
                continue
            if sid == main or sid == "main_menu":
                out[sid] = "Menu utama"
                continue
            named = next((p.listen.labels[k] for p in states.values() if p.listen is not None
                          for k, target in p.on.items() if target == sid and k in p.listen.labels), None)
            words = [w for w in _words(sid) if w != "menu"]
            out[sid] = f"Menu {named or ' '.join(words) or sid}"
        # flows: the task and the step
        for flow in script.flows.values():
            task = _FLOW_TASKS.get(flow.id) or _sentence(" ".join(_words(flow.id)))
            for sid in flow.states:
                step = STEP_LABELS.get(sid)
                out.setdefault(sid, f"{task}: {step}" if step else task)
        # services: the states intents lead to from a menu, and their id's first word
        seeds: dict[str, str] = {}
        for st in states.values():
            if not st.menu:
                continue
            for key, target in st.on.items():
                if target in out or target not in states or key not in script.intents:
                    continue
                intent = script.intents[key]
                label = service_words(key) if key in SERVICE_NAMES else _sentence(intent.label or key)
                words = _words(target)
                if words and words[0] == "info":  # an information state: what the caller hears
                    label = f"Informasi {_lower_first(label)}"
                out[target] = label
                if words:
                    seeds.setdefault(words[0], label)
        for sid in states:
            if sid in out:
                continue
            if sid in STEP_LABELS:  # a complaint step outside the flow (the ticket number read out)
                out[sid] = f"Pengaduan: {STEP_LABELS[sid]}"
                continue
            words = _words(sid)
            if words and words[0] in seeds and words[0] not in ("info", "layanan"):
                out[sid] = seeds[words[0]]
        return cls(out)


class LiveStepLabels:
    """The :class:`StepLabels` of the script callers hear now: the live version in the scripts
    store, else the script file; parsed once per version. Never raises: an unreadable script
    leaves the labels it had (or none: every state humanised)."""

    def __init__(self, store: Store | None, script_path: Path) -> None:
        self._view = LiveScriptView(store, script_path, StepLabels.from_script, StepLabels(), "wallboard steps")

    @property
    def current(self) -> StepLabels:
        return self._view.current

    async def refresh(self) -> StepLabels:
        return await self._view.get()
