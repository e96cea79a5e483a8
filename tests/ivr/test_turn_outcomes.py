"""How the dialog took each caller turn reaches turns.outcome (the stuck-state analytics): a
turn the dialog asked the caller to confirm is held until the answer says "confirmed" or
"corrected"."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from ivr.calls.turns import Turn, TurnLog, turn_outcome

AT = datetime(2027, 3, 15, 3, 0, tzinfo=timezone.utc)


class Records:
    """The part of CallRecords the turn log uses, keeping what it was given."""

    def __init__(self) -> None:
        self.turns: list[dict[str, object]] = []

    async def add_turn(self, call_id: str, index: int, who: str, text: str | None, **kw: object) -> None:
        self.turns.append({"index": index, "who": who, "text": text, **kw})


def caller(log: TurnLog, text: str, state: str = "main_menu") -> Turn:
    turn = Turn(idx=log.next_index(), state=state, source="speech", at=AT, text=text)
    log.add(turn)
    return turn


def test_engine_outcomes_map_onto_the_stored_vocabulary():
    assert turn_outcome("accepted", False) == "accepted"
    assert turn_outcome("filled", False) == "accepted"
    assert turn_outcome("denied", False) == "accepted"
    assert turn_outcome("confirming", False) == "confirmed"
    assert [turn_outcome(o, False) for o in ("no_match", "invalid", "no_input")] == ["no_match", "invalid", "no_input"]
    assert turn_outcome("accepted", True) == "agent"


async def test_a_confirmed_guess_and_a_corrected_one():
    records = Records()
    log = TurnLog("c1", records)
    caller(log, "mau bikin ktp")
    log.settle("confirming")
    log.flush()
    caller(log, "iya")
    log.settle("accepted")
    caller(log, "urus akta")
    log.settle("confirming")
    caller(log, "bukan")
    log.settle("denied")
    caller(log, "hmm")
    log.settle("no_match")
    caller(log, "petugas")
    log.settle("accepted", transferred=True)
    await log.finish()
    got = [(t["text"], t["outcome"]) for t in sorted(records.turns, key=lambda t: t["index"])]
    assert got == [("mau bikin ktp", "confirmed"), ("iya", "accepted"), ("urus akta", "corrected"),
                   ("bukan", "accepted"), ("hmm", "no_match"), ("petugas", "agent")]
    assert all(t["state"] == "main_menu" for t in records.turns)


async def test_a_question_left_open_is_written_when_the_call_ends():
    records = Records()
    log = TurnLog("c2", records)
    caller(log, "bpjs")
    log.settle("confirming")
    log.flush()
    await asyncio.sleep(0)  # the writer task would have run by now
    assert records.turns == []  # held while the caller has not answered
    await log.finish()
    assert [(t["text"], t["outcome"]) for t in records.turns] == [("bpjs", "confirmed")]
