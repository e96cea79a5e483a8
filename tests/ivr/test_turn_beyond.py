"""A caller turn told its request is outside the hotline's services carries the topic
(``beyond``) from the engine's ``TurnResult`` through the turn log to the turns table
(migration 0011), on SQLite and PostgreSQL; other turns have none."""

from __future__ import annotations

from datetime import datetime, timezone

from ivr.calls.turns import Turn, TurnLog

AT = datetime(2027, 3, 15, 3, 0, tzinfo=timezone.utc)


class Records:
    """The part of CallRecords the turn log uses, keeping what it was given."""

    def __init__(self) -> None:
        self.turns: list[dict[str, object]] = []

    async def add_turn(self, call_id: str, index: int, who: str, text: str | None, **kw: object) -> None:
        self.turns.append({"index": index, "who": who, "text": text, **kw})


async def test_the_turn_log_passes_the_topic_of_a_turn_told_so():
    records = Records()
    log = TurnLog("c1", records)
    for text, outcome, beyond in (("mau bikin paspor", "no_match", "paspor"), ("hmm", "no_match", None),
                                  ("ktp", "accepted", None)):
        log.add(Turn(idx=log.next_index(), state="main_menu", source="speech", at=AT, text=text))
        log.settle(outcome, beyond=beyond)
    await log.finish()
    got = [(t["text"], t["outcome"], t["beyond"]) for t in sorted(records.turns, key=lambda t: t["index"])]
    assert got == [("mau bikin paspor", "no_match", "paspor"), ("hmm", "no_match", None),
                   ("ktp", "accepted", None)]


async def test_the_store_keeps_the_topic(store):
    cid = await store.calls.create(caller="081234567890")
    await store.calls.add_turn(cid, 1, "system", "Silakan sebutkan keperluan Anda.", source="prompt")
    await store.calls.add_turn(cid, 2, "caller", "mau bikin paspor", state="main_menu", outcome="no_match",
                               beyond="paspor")
    await store.calls.add_turn(cid, 3, "caller", "ktp", state="main_menu", outcome="accepted")
    turns = await store.calls.turns(cid)
    assert [(t.index, t.outcome, t.beyond) for t in turns] == [(1, None, None), (2, "no_match", "paspor"),
                                                               (3, "accepted", None)]
    assert (await store.calls.get(cid)).turns[1].to_json()["beyond"] == "paspor"



async def test_the_session_settles_the_turn_with_the_engines_topic():
    # the call session's one place that records how the dialog took a turn: the engine's
    # TurnResult.beyond reaches the turn log (the speech path to it is the session's usual one)
    from dialogs import CallStarted, DialogEngine, Heard, default_script_path, load_script
    from ivr.calls.session import CallSession

    engine = DialogEngine(load_script(default_script_path()), strict=True)
    engine.handle(CallStarted())
    records = Records()
    session = object.__new__(CallSession)   # only what _took reads: no call, no media
    session.journal, session.engine, session.turns = None, engine, TurnLog("c1", records)
    for text in ("mau tanya cara bikin paspor", "saya mau bikin ktp"):
        session.turns.add(Turn(idx=session.turns.next_index(), state=engine.state, source="speech", at=AT, text=text))
        event = Heard(text=text)
        session._took(event, engine.handle(event), engine.last_turn)
    await session.turns.finish()
    got = [(t["text"], t["outcome"], t["beyond"]) for t in sorted(records.turns, key=lambda t: t["index"])]
    assert got[0] == ("mau tanya cara bikin paspor", "no_match", "paspor")
    assert got[1][2] is None and got[1][1] in ("accepted", "confirmed")
