"""The out-of-scope topics of the live script as staff read them (:class:`BeyondSpec`): shared
by the analytics (``ivr.analytics.beyond``), the call page and the agent's pop (``ivr.desk``),
which may not import the analytics (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BeyondSpec", "topic_words", "TOLD_PREFIX"]

#: what staff read beside a caller's turn told its request is outside the hotline's services
TOLD_PREFIX = "Di luar layanan"


def topic_words(topic: str) -> str:
    """A topic's name as staff read it when no label is known ("air_bersih" -> "Air bersih")."""
    words = topic.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


@dataclass(frozen=True)
class BeyondSpec:
    """The out-of-scope topics of a script: topic -> label staff read (script order)."""

    topics: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_script(cls, script: Any) -> "BeyondSpec":
        """From a ``dialogs.Script`` (duck-typed: ``out_of_scope_topics`` of topics with ``id``
        and ``label``)."""
        topics = getattr(script, "out_of_scope_topics", {}) or {}
        return cls({t.id: t.label for t in topics.values()})

    def label(self, topic: str) -> str:
        return self.topics.get(topic) or topic_words(topic)

    def told(self, topic: str) -> str:
        """Beside a turn told so, on the call page and the desk: "Di luar layanan: Paspor dan
        imigrasi" (a topic the script no longer has: its name in words)."""
        return f"{TOLD_PREFIX}: {self.label(topic)}"

    def key(self) -> tuple[tuple[str, str], ...]:
        """Hashable, for caches."""
        return tuple(self.topics.items())
