"""Dynamic prompts as fragments that repeat from call to call.

A prompt with a ticket number or a phone number differs from caller to caller only in its
digits. :func:`fragments` cuts what is to be spoken (after :func:`tts.textprep.prepare_text`)
into clauses at punctuation and each digit into its own fragment, so that a synthesizer's
fragment cache holds the whole vocabulary of such prompts after the first call: a ticket
read-back is the cached clauses and the cached digit words, joined with pauses.
:func:`join` trims each fragment's own silences and joins them with the pause it asks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from tts.textprep import DIGITS, prepare_text

__all__ = ["Fragment", "fragments", "join"]

#: pause after a fragment, by the punctuation that ends it (seconds)
PAUSES = {",": 0.18, ";": 0.25, ":": 0.25, ".": 0.35, "?": 0.35, "!": 0.35}
DIGIT_GAP = 0.08  # between the digits of one group
WORD_GAP = 0.06  # between a clause and a digit that follows it without punctuation
_CLAUSE = re.compile(r"[^,;:.?!]+[,;:.?!]*")
_DIGIT_WORDS = frozenset(DIGITS)


@dataclass(frozen=True)
class Fragment:
    text: str  # spoken words, ready for a synthesizer (already prepared)
    pause_s: float  # silence after it


def fragments(text: str) -> list[Fragment]:
    """What ``text`` says, as fragments: clauses, and every digit alone."""
    out: list[Fragment] = []
    for m in _CLAUSE.finditer(prepare_text(text)):
        clause = m.group(0).strip()
        if not clause or not any(c.isalnum() for c in clause):
            if out and clause:
                last = out[-1]
                out[-1] = Fragment(last.text, max(last.pause_s, PAUSES.get(clause[-1], 0.0)))
            continue
        end = clause[-1] if clause[-1] in PAUSES else ""
        words = clause.rstrip(",;:.?!").split()
        digit = [w.lower() in _DIGIT_WORDS for w in words]
        # a digit read alone ("tujuh") is part of a number read digit by digit when its clause
        # is only digits or it stands in a run of them; "empat belas hari" stays one phrase
        alone = [d and (all(digit) or (i > 0 and digit[i - 1]) or (i + 1 < len(words) and digit[i + 1]))
                 for i, d in enumerate(digit)]
        pending: list[str] = []
        for i, word in enumerate(words):
            if alone[i]:
                if pending:
                    out.append(Fragment(" ".join(pending), WORD_GAP))
                    pending = []
                out.append(Fragment(word.lower(), DIGIT_GAP))
            else:
                pending.append(word)
        if pending:
            out.append(Fragment(" ".join(pending) + end, PAUSES.get(end, WORD_GAP)))
        elif out:
            out[-1] = Fragment(out[-1].text, PAUSES.get(end, DIGIT_GAP))
    if out:
        out[-1] = Fragment(out[-1].text, 0.0)
    return out


def trim(pcm: bytes, sample_rate: int, *, threshold: int = 200, keep_s: float = 0.02) -> bytes:
    """``pcm`` without its leading and trailing silence (``keep_s`` of it kept)."""
    a = np.frombuffer(pcm, dtype=np.int16)
    loud = np.flatnonzero(np.abs(a.astype(np.int32)) > threshold)
    if loud.size == 0:
        return b""
    keep = int(keep_s * sample_rate)
    return a[max(0, loud[0] - keep):min(a.size, loud[-1] + 1 + keep)].tobytes()


def join(parts: list[tuple[bytes, float]], sample_rate: int) -> bytes:
    """Trimmed fragments, each followed by its pause."""
    out = bytearray()
    for pcm, pause_s in parts:
        out += trim(pcm, sample_rate)
        out += b"\x00\x00" * int(pause_s * sample_rate)
    return bytes(out)
