"""Finishing the calls a dead process left open (issue #15).

On start, :func:`recover_interrupted_calls` reads every journal file (:mod:`ivr.calls.journal`)
that no live process owns and, for each interrupted call, in this order and idempotently (a
crash during recovery only repeats it):

1. the call record (if it never reached the store) and every turn journaled (each keyed by
   ``(call_id, idx)``, so turns already stored are not duplicated);
2. every ticket the dialog had asked for and the store had not confirmed, under the client id
   it was asked with (filed once, whichever attempt got there);
3. what the dialog files for a caller who hangs up where this one was (the script's
   ``on_hangup``: the unfinished complaint, marked incomplete, with the state it stopped in),
   from the dialog engine restored from its last snapshot and told ``Hangup`` (with the words
   the caller was saying as the line dropped, if they were journaled: the complaint keeps them);
4. the call record closed: ``ended_at`` the time of its last journal record, ``end_reason``
   "interrupted", ``end_state`` the dialog state it was in.

Then the file is deleted. Writes go through the store, so with the database down they are
journaled like any other and replayed later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from dialogs import DialogEngine, Script
from dialogs.actions import CreateTicket
from dialogs.events import CutAnswer, Hangup
from ivr.calls.journal import CallJournal, JournaledCall
from ivr.calls.ports import CallStore
from ivr.calls.tickets import file_ticket
from ivr.privacy.call_values import personal_values
from ivr.privacy.fields import is_personal_field
from ivr.privacy.masking import FIELD_MASK
from ivr.storage.views import TURN_OUTCOMES

log = logging.getLogger(__name__)

END_REASON = "interrupted"


@dataclass
class Recovered:
    """What recovery did (for the log, tests and the fault bench)."""

    calls: list[str] = field(default_factory=list)
    turns: int = 0
    tickets: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


async def recover_interrupted_calls(journal: CallJournal, store: CallStore, script: Script) -> Recovered:
    """Finish every interrupted call in ``journal``'s directory tree (see the module doc)."""
    done = Recovered()
    for path in journal.own_leftovers():
        await _recover_file(journal, store, script, path, done)
    for d, fd in list(journal.orphan_dirs()):
        ok = True
        try:
            for path in sorted(d.glob("*.jsonl")):
                ok = await _recover_file(journal, store, script, path, done) and ok
        finally:
            CallJournal.release(d, fd, remove=ok and not any(d.glob("*.jsonl")))
    if done.calls or done.failed:
        log.warning("interrupted calls recovered", extra={"calls": len(done.calls), "turns": done.turns,
                                                          "tickets": len(done.tickets),
                                                          "failed": len(done.failed)})
    return done


async def _recover_file(journal: CallJournal, store: CallStore, script: Script, path: Path,
                        done: Recovered) -> bool:
    try:
        call = journal.read(path)
        await _recover(call, store, script, done)
    except Exception:
        log.exception("could not recover an interrupted call; its journal is kept")
        done.failed.append(path.stem)
        return False
    path.unlink(missing_ok=True)
    done.calls.append(call.call_id)
    return True


def _when(epoch: object) -> datetime | None:
    if isinstance(epoch, (int, float)) and epoch > 0:
        return datetime.fromtimestamp(float(epoch), timezone.utc)
    return None


async def _recover(call: JournaledCall, store: CallStore, script: Script, done: Recovered) -> None:
    cid = call.call_id
    start = call.start
    caller = start.get("caller")
    await store.calls.create(
        cid, caller=caller if isinstance(caller, str) and caller and caller != FIELD_MASK else None,
        media_mode=str(start.get("media_mode") or "audiosocket"),
        script_name=_str(start.get("script_name")), script_version=_str(start.get("script_version")),
        channel_id=_str(start.get("channel_id")), started_at=_when(start.get("started_at")))
    for idx in sorted(call.turns):
        t = call.turns[idx]
        who = t.get("who") if t.get("who") in ("caller", "system") else "caller"
        conf = t.get("confidence")
        # outcome and superseded: journaled since phase 9 (absent in older journals)
        outcome = t.get("outcome") if t.get("outcome") in TURN_OUTCOMES else None
        await store.calls.add_turn(cid, idx, str(who), _str(t.get("text")), source=str(t.get("source") or "speech"),
                                   intent=_str(t.get("intent")),
                                   confidence=float(conf) if isinstance(conf, (int, float)) else None,
                                   at=_when(t.get("at")), state=_str(t.get("state")), outcome=outcome,
                                   superseded=t.get("superseded") is True)
        done.turns += 1
    # the call's personal values as the dialog last held them: hidden in the tickets' masked
    # copies wherever the script's fields copied one (as the live call does)
    held = call.snapshot.get("vars") if call.snapshot is not None else None
    # with those the call had held before (journaled with the snapshot): a flow's answers the
    # dialog forgot after filing may still stand in a summary another ticket copies
    last = personal_values(script, held) if isinstance(held, dict) else ()
    personal = tuple(dict.fromkeys((*call.personal, *last)))
    for client_id, req in call.tickets.items():
        if client_id in call.filed:
            continue
        fields = req.get("fields")
        number = await file_ticket(store.tickets, str(req.get("kind") or "complaint"),
                                   fields if isinstance(fields, dict) else {}, call_id=cid, client_id=client_id,
                                   personal=personal)
        done.tickets.append(number)
    end_state: str | None = None
    if call.snapshot is not None:
        end_state = _str(call.snapshot.get("state"))
        for action in _hangup_actions(script, call.snapshot, _cut(call.cut)):
            if isinstance(action, CreateTicket):
                number = await file_ticket(store.tickets, action.kind, action.fields, call_id=cid,
                                           client_id=f"{cid}-hangup", personal=personal)
                done.tickets.append(number)
    await store.calls.close(cid, END_REASON, ended_at=_when(call.last_t), end_state=end_state)


def _cut(record: dict[str, object] | None) -> CutAnswer | None:
    """The journaled words cut by the hang-up, as the engine is told them."""
    if record is None:
        return None
    state, text = record.get("state"), record.get("text")
    if not isinstance(state, str) or not isinstance(text, str):
        return None
    return CutAnswer(state, text, follows=record.get("follows") is True)


def _hangup_actions(script: Script, snapshot: dict[str, object], cut: CutAnswer | None = None) -> list[object]:
    """What the dialog does when the caller hangs up in the state ``snapshot`` describes
    (``cut``: what they were saying as the line dropped)."""
    try:
        engine = DialogEngine.restore(script, snapshot, personal_names=is_personal_field)
    except ValueError:
        log.warning("an interrupted call's dialog state does not fit the script; nothing filed for it")
        return []
    return list(engine.handle(Hangup(cut=cut)))


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
