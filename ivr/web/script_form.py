"""The script form view: the common edits without YAML (the text of each prompt, the examples
of each intent, the queue names), read from and written back into the YAML with ruamel.yaml's
round trip, so comments, anchors and key order stay (long flow lists may be re-wrapped). A text
under a YAML anchor is one text: editing it in any of its places changes it wherever it is
aliased (the shared closing question, a reply shared by several states' `answers:`); such a
text is shown once, where it first appears.

Office hours are not part of a script (they are the hotline's ``IVR_OFFICE_HOURS`` setting), so
the form shows where to change them instead.

Field names: ``say.<state>[.<i>]``, ``carried.<state>[.<i>]``, ``cancel.<flow>[.<i>]``, ``prompt.<key>[.<i>]``, ``answer.<state>.<intent>[.<i>]``
(a state's reply to a follow-up question), ``referral.<topic>`` (where a caller asking for an
out-of-scope topic is told to go: the topic's ``say``; empty: the generic prompt),
``examples.<intent>`` (one example per line) and ``queue.<state>`` / ``queue.handoff``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import FoldedScalarString, ScalarString

from dialogs.yaml_source import parse_yaml

MAX_FIELD = 2000


class FormError(Exception):
    """The script cannot be shown or changed as a form (message in Indonesian)."""


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    value: str
    group: str       # prompts | answers | referrals | intents | queues
    multiline: bool = False


def _yaml() -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 100
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def _load(text: str) -> Any:
    doc = parse_yaml(text)  # bounded parse first: no alias bombs reach ruamel
    if doc.issues or not isinstance(doc.data, dict):
        raise FormError("YAML versi ini belum valid; perbaiki dulu di editor YAML.")
    return _yaml().load(text)


def _texts(node: Any) -> list[tuple[str, str]]:
    """(suffix, text) for a prompt given as text, list of texts, or {text: ...} items."""
    if isinstance(node, str):
        return [("", str(node))]
    if isinstance(node, dict) and isinstance(node.get("text"), str):
        return [("", str(node["text"]))]
    if isinstance(node, list):
        out = []
        for i, item in enumerate(node):
            for suffix, t in _texts(item):
                out.append((f".{i}{suffix}", t))
        return out
    return []


def form_fields(text: str) -> list[Field]:
    data = _load(text)
    fields: list[Field] = []
    prompts = (data.get("settings") or {}).get("prompts") or {}
    for key, node in prompts.items():
        for suffix, t in _texts(node):
            fields.append(Field(f"prompt.{key}{suffix}", f"Kalimat umum: {key}{suffix}", t, "prompts", True))
    for sid, st in (data.get("states") or {}).items():
        if isinstance(st, dict) and "say" in st:
            for suffix, t in _texts(st["say"]):
                fields.append(Field(f"say.{sid}{suffix}", f"{sid}{suffix}", t, "prompts", True))
        if isinstance(st, dict) and "carried" in st:
            for suffix, t in _texts(st["carried"]):
                fields.append(Field(f"carried.{sid}{suffix}", f"{sid}{suffix}: bila permintaan penelepon sudah "
                                    "menyebut pilihannya", t, "prompts", True))
    fields.extend(_answer_fields(data, fields))
    for fid, flow in (data.get("flows") or {}).items():
        cancel = flow.get("cancel") if isinstance(flow, dict) else None
        if isinstance(cancel, dict) and "say" in cancel:
            for suffix, t in _texts(cancel["say"]):
                fields.append(Field(f"cancel.{fid}{suffix}", f"{fid}{suffix}: bila penelepon membatalkan",
                                    t, "prompts", True))
    oos = data.get("out_of_scope")
    for topic, spec in (oos.items() if isinstance(oos, dict) else ()):
        # a topic written as {label, examples}: its referral, shown (empty) even when it has none
        if isinstance(spec, dict):
            said = _texts(spec.get("say"))
            fields.append(Field(f"referral.{topic}", f"{spec.get('label') or topic}", said[0][1] if said else "",
                                "referrals", True))
    for name, it in (data.get("intents") or {}).items():
        if isinstance(it, dict) and isinstance(it.get("examples"), list):
            ex = "\n".join(str(x) for x in it["examples"])
            fields.append(Field(f"examples.{name}", f"{name} ({it.get('label') or ''})", ex, "intents", True))
    handoff = data.get("handoff") or {}
    if isinstance(handoff, dict) and isinstance(handoff.get("queue"), str):
        fields.append(Field("queue.handoff", "Antrean petugas (bawaan)", handoff["queue"], "queues"))
    for sid, st in (data.get("states") or {}).items():
        if isinstance(st, dict) and isinstance(st.get("queue"), str):
            fields.append(Field(f"queue.{sid}", f"Antrean untuk {sid}", st["queue"], "queues"))
    return fields


def _answer_fields(data: Any, shown: list[Field]) -> list[Field]:
    """Each state's replies to follow-up questions (``answers:``), labelled with the question's
    staff label. A reply that is the very text of a field already shown (an alias of a YAML
    anchor: a state's own answer, a shared prompt, a reply shared by several states) is left out: it is edited
    where it first appears, and changes everywhere."""
    intents = data.get("intents") or {}
    states = data.get("states") or {}
    prompts = (data.get("settings") or {}).get("prompts") or {}
    # the texts shown as fields before: the shared prompts, the states' `say` and `carried`
    seen: list[Any] = [n for v in prompts.values() for n in (v if isinstance(v, list) else [v])]
    seen += [*_nodes(states, "say"), *_nodes(states, "carried")]
    replies = [(sid, intent, i, item, isinstance(node, list))
               for sid, st in states.items() if isinstance(st, dict) and isinstance(st.get("answers"), dict)
               for intent, node in st["answers"].items()
               for i, item in enumerate(node if isinstance(node, list) else [node])]
    out: list[Field] = []
    for sid, intent, i, item, listed in replies:
        if any(item is n for n in seen):
            continue
        seen.append(item)
        it = intents.get(intent)
        label = f"{sid}: jawaban tentang {(it.get('label') if isinstance(it, dict) else None) or intent}"
        others = sorted({s for s, _, _, other, _ in replies if other is item and s != sid})
        if others:
            label += f" (dipakai juga di {', '.join(others)})"
        index = f".{i}" if listed else ""
        for suffix, t in _texts(item):
            out.append(Field(f"answer.{sid}.{intent}{index}{suffix}", label, t, "answers", True))
    return out


def _nodes(states: Any, key: str) -> list[Any]:
    """Every text node under ``states.*.<key>`` (list items included), as loaded."""
    out: list[Any] = []
    for st in states.values():
        node = st.get(key) if isinstance(st, dict) else None
        out.extend(node if isinstance(node, list) else [node] if node is not None else [])
    return out


def _set_text(root: Any, parent: Any, key: Any, suffix: str, value: str) -> None:
    """Replace the text at ``parent[key]`` + ``suffix`` (``.i`` list indexes), keeping its style."""
    parts = [p for p in suffix.split(".") if p]
    node, k = parent, key
    for p in parts:
        node, k = node[k], int(p)
    old = node[k]
    if isinstance(old, dict):
        node, k, old = old, "text", old["text"]
    if str(old) == value:
        return
    new: Any = FoldedScalarString(value) if isinstance(old, FoldedScalarString) else value
    anchor = old.yaml_anchor() if isinstance(old, ScalarString) else None
    if anchor is None:
        node[k] = new
        return
    if not isinstance(new, ScalarString):
        new = type(old)(value)
    # one text under a YAML anchor (an answer reused as the reply to "syaratnya apa?", a shared
    # closing question): it is changed everywhere it is used, as its author wrote it once
    new.yaml_set_anchor(anchor.value, always_dump=True)
    _replace_everywhere(root, old, new)
    node[k] = new


def _set_referral(root: Any, spec: Any, value: str) -> None:
    """An out-of-scope topic's ``say``: written (after its label when new), or removed when
    emptied (the topic then hears the generic prompt)."""
    if not value:
        spec.pop("say", None)
    elif "say" in spec:
        _set_text(root, spec, "say", "", value)
    else:
        keys = list(spec)
        spec.insert(keys.index("label") + 1 if "label" in keys else 0, "say", value)


def _replace_everywhere(node: Any, old: Any, new: Any) -> None:
    """Put ``new`` wherever the very object ``old`` is in the tree (its aliases)."""
    if isinstance(node, dict):
        for key, v in node.items():
            if v is old:
                node[key] = new
            else:
                _replace_everywhere(v, old, new)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if v is old:
                node[i] = new
            else:
                _replace_everywhere(v, old, new)


def apply_form(text: str, values: dict[str, str]) -> str:
    """The YAML with the form's values written in (only what changed is touched)."""
    data = _load(text)
    known = {f.name: f for f in form_fields(text)}
    for name, raw in values.items():
        f = known.get(name)
        if f is None:
            continue
        value = raw.replace("\r\n", "\n").strip()
        if len(value) > MAX_FIELD:
            raise FormError(f"Isian {f.label} terlalu panjang (paling banyak {MAX_FIELD} huruf).")
        if value == f.value.strip():
            continue
        kind, _, rest = name.partition(".")
        if kind in ("say", "prompt", "answer", "carried", "cancel"):
            if not value:
                raise FormError(f"Kalimat {f.label} tidak boleh kosong.")
            value = " ".join(value.split())
            key, _, suffix = rest.partition(".")
            if kind == "answer":
                intent, _, suffix = suffix.partition(".")
                parent, at = data["states"][key]["answers"], intent
            elif kind in ("say", "carried"):
                parent, at = data["states"][key], kind
            elif kind == "cancel":
                parent, at = data["flows"][key]["cancel"], "say"
            else:
                parent, at = data["settings"]["prompts"], key
            _set_text(data, parent, at, ("." + suffix) if suffix else "", value)
        elif kind == "referral":
            _set_referral(data, data["out_of_scope"][rest], " ".join(value.split()))
        elif kind == "examples":
            lines = [ln.strip() for ln in value.split("\n") if ln.strip()]
            seq = data["intents"][rest]["examples"]
            seq.clear()
            seq.extend(lines)
        elif kind == "queue":
            if not value.replace("_", "").replace("-", "").isalnum():
                raise FormError(f"Nama antrean '{value}' hanya boleh huruf, angka, _ dan -.")
            if rest == "handoff":
                data["handoff"]["queue"] = value
            else:
                data["states"][rest]["queue"] = value
    buf = io.StringIO()
    _yaml().dump(data, buf)
    return buf.getvalue()
