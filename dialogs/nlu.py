"""One-shot understanding of an utterance, as `ivr nlu` prints it."""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

from dialogs.engine import yes_or_no
from dialogs.lang.dates import parse_date
from dialogs.lang.ids import extract_nik, normalize_phone, parse_plate
from dialogs.lang.numbers import words_to_digits
from dialogs.model import Script
from dialogs.slots import parse_slot


class Understanding(TypedDict):
    intent: str | None
    confidence: float
    slots: dict[str, str]


def extract_entities(text: str, today: dt.date | None = None) -> dict[str, str]:
    """Values found in free text: nik, phone, plate, date (ISO), digits."""
    out: dict[str, str] = {}
    nik = extract_nik(text, today)
    if nik:
        out["nik"] = nik
    digits = words_to_digits(text)
    if digits and "nik" not in out:
        phone = normalize_phone(digits)
        if phone:
            out["phone"] = phone
    plate = parse_plate(text)
    if plate:
        out["plate"] = plate
    d = parse_date(text, today)
    if d:
        out["date"] = d.isoformat()
    if digits and not out:
        out["digits"] = digits
    return out


def understand(script: Script, text: str, state: str | None = None) -> Understanding:
    """{"intent": id | None, "confidence": 0..1, "slots": {...}} for `text`.

    state: interpret the text as an answer in that state (its intents, yes/no, options
    or slot kind); None: against every intent of the script.
    """
    slots = extract_entities(text)
    st = script.states.get(state) if state else None
    if state and (st is None or st.listen is None):
        raise KeyError(f"state {state!r} does not exist or does not listen")
    if st is None or st.listen is None or st.listen.kind == "intent":
        m = script.match_answer(st.id if st is not None else None, text)
        return {"intent": m.intent, "confidence": round(m.confidence, 3), "slots": slots}
    kind = st.listen.kind
    if kind == "yesno":
        ans = yes_or_no(text)
        if ans is not None:
            return {"intent": ans, "confidence": 1.0, "slots": slots}
        m = script.yesno_matcher.match(text)
        return {"intent": m.intent, "confidence": round(m.confidence, 3), "slots": slots}
    if kind == "choice":
        m = script.choice_matchers[st.id].match(text)
        return {"intent": m.intent, "confidence": round(m.confidence, 3), "slots": slots}
    # slot kinds: the intent stays None; the slot is what counts
    value = parse_slot(kind, text, st.listen)
    if value is not None and st.listen.slot:
        slots[st.listen.slot] = value
    return {"intent": None, "confidence": 1.0 if value is not None else 0.0, "slots": slots}
