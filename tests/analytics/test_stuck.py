"""Where callers get stuck, per dialog state: a caller who hung up mid-sentence (their words on
record as a turn cut by the hang-up, outcome "interrupted") is counted apart, as hung up while
speaking, and not as an input the dialog took (no-match, its time, its confidence)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

DAY = date(2026, 11, 2)


async def test_a_caller_cut_off_mid_sentence_is_counted_apart(tmp_path):
    from ivr.analytics.db import Source
    from ivr.analytics.stuck import stuck_states
    from ivr.storage import Store

    store = Store(f"sqlite:///{tmp_path / 'stuck.sqlite3'}")
    await store.amigrate()
    t0 = datetime(2026, 11, 2, 3, 0, tzinfo=timezone.utc)  # 10:00 in Jakarta

    async def call(cid: str, turns: list[tuple[str, str, float | None]], end_state: str) -> None:
        await store.calls.create(cid, script_version="3", started_at=t0)
        for i, (state, outcome, conf) in enumerate(turns):
            await store.calls.add_turn(cid, i, "caller", "…", state=state, outcome=outcome, confidence=conf,
                                       at=t0 + timedelta(seconds=10 * (i + 1)))
        await store.calls.close(cid, "caller_hangup", ended_at=t0 + timedelta(seconds=10 * len(turns) + 3),
                                end_state=end_state)

    try:
        # one caller hangs up while giving the location, one in silence there, one after a miss
        await call("a", [("main_menu", "accepted", 0.9), ("complaint_location", "interrupted", None)],
                   "complaint_location")
        await call("b", [("main_menu", "accepted", 0.8)], "complaint_location")
        await call("c", [("main_menu", "accepted", 0.7), ("complaint_location", "no_match", 0.4)],
                   "complaint_location")
        rep = stuck_states(Source.from_store(store), DAY, DAY)
        rows = {s.state: s for s in rep.states}
        loc = rows["complaint_location"]
        assert (loc.entries, loc.hangups, loc.cut_off) == (3, 3, 1), loc
        assert (loc.turns, loc.no_match, loc.no_input, loc.invalid) == (1, 1, 0, 0), loc
        assert loc.trouble_rate == 1.0 and loc.confidence == 0.4 and abs(loc.median_s - 3.0) < 0.01, loc
        assert rows["main_menu"].cut_off == 0 and rows["main_menu"].turns == 3
    finally:
        await store.close()


async def test_a_cut_that_continues_an_earlier_answer_counts_where_the_caller_was_speaking(tmp_path):
    """The caller went on with their description after the dialog had taken it and moved on to
    the identity question (the cut ``follows``: its turn is in complaint_description, the call
    ended in complaint_identity). The hang-up and the cut count at the same state: the one the
    caller was speaking in; the identity question still counts the call as reached."""
    from ivr.analytics.db import Source
    from ivr.analytics.stuck import stuck_states
    from ivr.storage import Store

    store = Store(f"sqlite:///{tmp_path / 'stuck.sqlite3'}")
    await store.amigrate()
    t0 = datetime(2026, 11, 2, 3, 0, tzinfo=timezone.utc)
    try:
        await store.calls.create("f", script_version="3", started_at=t0)
        for i, (state, outcome) in enumerate((("complaint_location", "accepted"),
                                              ("complaint_description", "accepted"),
                                              ("complaint_description", "interrupted"))):
            await store.calls.add_turn("f", i, "caller", "…", state=state, outcome=outcome,
                                       at=t0 + timedelta(seconds=10 * (i + 1)))
        await store.calls.close("f", "caller_hangup", ended_at=t0 + timedelta(seconds=35),
                                end_state="complaint_identity")
        # a caller who hung up in silence at the identity question still counts there
        await store.calls.create("g", script_version="3", started_at=t0)
        await store.calls.add_turn("g", 0, "caller", "…", state="complaint_description", outcome="accepted",
                                   at=t0 + timedelta(seconds=10))
        await store.calls.close("g", "caller_hangup", ended_at=t0 + timedelta(seconds=20),
                                end_state="complaint_identity")
        rows = {s.state: s for s in stuck_states(Source.from_store(store), DAY, DAY).states}
        desc, ident = rows["complaint_description"], rows["complaint_identity"]
        assert (desc.cut_off, desc.hangups, desc.entries) == (1, 1, 2), desc
        assert (ident.cut_off, ident.hangups, ident.entries) == (0, 1, 2), ident
        assert rows["complaint_location"].hangups == 0
    finally:
        await store.close()
