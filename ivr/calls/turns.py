"""A call's turn log: every prompt and caller turn numbered, timed and written in order.

A caller turn is kept until the first byte of the reply to it goes out, which gives its
``reply_ms`` (end of speech, or last key, to the first reply audio). Complete turns are queued
and a per-call writer task stores them in order, off the path between the caller's input and
our reply. :meth:`TurnLog.finish` writes whatever is left when the call ends.

Each caller turn also records how the dialog took it (:meth:`TurnLog.settle`, the analytics'
``turns.outcome``). A turn the dialog asked the caller to confirm is held until the answer
comes: it is stored "confirmed", or "corrected" when the caller said no.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ivr.calls.ports import CallRecords

log = logging.getLogger(__name__)


@dataclass
class Turn:
    """One turn, kept until its reply has started (to know ``reply_ms``)."""

    idx: int
    state: str | None
    source: str  # speech | dtmf | event (no input) | prompt
    at: datetime
    who: str = "caller"
    text: str | None = None  # as records keep it: personal data masked
    clear: str | None = None  # what was really said, when ``text`` is masked (encrypted at rest)
    intent: str | None = None
    confidence: float | None = None
    digits: str | None = None
    asr_ms: float | None = None
    reply_ms: float | None = None
    ref_at: float | None = None  # monotonic: end of speech or last key
    detected_at: float | None = None  # monotonic: endpointer decided / key collected
    speech_s: float | None = None
    extra: dict[str, float] = field(default_factory=dict)  # prep_ms, endpoint_ms
    queued: bool = False
    outcome: str | None = None  # how the dialog took it (caller turns; see TurnLog.settle)
    held: bool = False  # waiting for the answer to a confirmation question
    superseded: bool = False  # prompts: answered a decision the second look dropped
    #: caller turns the dialog told were outside the hotline's services: the script's topic
    beyond: str | None = None


def turn_outcome(engine_outcome: str, transferred: bool) -> str:
    """The stored outcome of a caller turn from the engine's ``last_turn.outcome``
    (``dialogs.engine.TurnResult``): accepted/filled/denied -> accepted, confirming ->
    confirmed (until the answer says otherwise), not understood as they are; a turn that sent
    the call to an agent -> agent."""
    if transferred:
        return "agent"
    if engine_outcome in ("no_match", "invalid", "no_input"):
        return engine_outcome
    if engine_outcome == "confirming":
        return "confirmed"
    return "accepted"


class TurnLog:
    def __init__(self, call_id: str, records: CallRecords) -> None:
        self.call_id = call_id
        self.records = records
        #: turns written (or attempted) so far
        self.stored = 0
        self._index = 0
        self._turns: list[Turn] = []
        self._unreplied: list[Turn] = []
        self._write_q: list[Turn] = []
        self._writer: asyncio.Task[None] | None = None
        self._last_caller: Turn | None = None
        self._confirming: Turn | None = None
        #: written before any turn (the call record they belong to), if set
        self.after: asyncio.Future[None] | None = None
        #: told of every turn as it is added (the live calls' journal)
        self.on_add: Callable[[Turn], None] | None = None

    def next_index(self) -> int:
        self._index += 1
        return self._index

    def add(self, turn: Turn, *, awaits_reply: bool = False) -> None:
        """Keep ``turn``; a caller turn that ``awaits_reply`` gets its ``reply_ms`` from the
        next :meth:`reply_started`."""
        self._turns.append(turn)
        if self.on_add is not None:
            try:
                self.on_add(turn)
            except Exception:
                log.exception("turn observer failed")
        if awaits_reply:
            self._unreplied.append(turn)
        if turn.who == "caller":
            self._last_caller = turn

    def settle(self, engine_outcome: str, *, transferred: bool = False, beyond: str | None = None) -> None:
        """The dialog took the last caller turn with ``engine_outcome``. A turn it asked to
        confirm is held (not written) until the caller's answer settles it. ``beyond``: the
        caller was told the request is outside the hotline's services, on this topic."""
        turn, self._last_caller = self._last_caller, None
        if turn is None:
            return
        confirming, self._confirming = self._confirming, None
        if confirming is not None and confirming is not turn:
            confirming.outcome = "corrected" if engine_outcome == "denied" else "confirmed"
            confirming.held = False
        turn.outcome = turn_outcome(engine_outcome, transferred)
        turn.beyond = beyond
        if engine_outcome == "confirming":
            turn.held = True
            self._confirming = turn

    def reply_started(self, first_byte: float, prep_ms: float) -> float | None:
        """The first reply audio goes out at ``first_byte`` (monotonic): that closes the turns
        waiting for it. Returns the ``reply_ms`` of the last of them, None if none waited."""
        replied = [t for t in self._unreplied if t.ref_at is not None]
        for turn in replied:
            assert turn.ref_at is not None
            turn.reply_ms = max(0.0, (first_byte - turn.ref_at) * 1000)
            turn.extra["prep_ms"] = round(prep_ms, 2)
        return replied[-1].reply_ms if replied else None

    def flush(self) -> None:
        """Queue the turns that are complete for storage (the writer task stores them)."""
        ready = [t for t in self._turns if not t.queued and not t.held
                 and not (t in self._unreplied and t.reply_ms is None)]
        for turn in ready:
            turn.queued = True
            self._write_q.append(turn)
        self._unreplied = [t for t in self._unreplied if t.reply_ms is None]
        self._turns = [t for t in self._turns if not t.queued]
        if self._write_q and (self._writer is None or self._writer.done()):
            self._writer = asyncio.create_task(self._write_queued(), name=f"turns-{self.call_id[:8]}")

    async def finish(self) -> None:
        """Write everything still kept (the call is over)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer
        for turn in self._turns:
            turn.held = False  # a confirmation the caller never answered stays "confirmed"
        self._write_q.extend(t for t in self._turns if not t.queued)
        self._turns.clear()
        await self._write_queued()
        self._unreplied.clear()

    async def _write_queued(self) -> None:
        if self.after is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.after)
        while self._write_q:
            await self._store(self._write_q.pop(0))

    async def _store(self, turn: Turn) -> None:
        self.stored += 1
        try:
            await self.records.add_turn(
                self.call_id, turn.idx, turn.who, turn.text, source=turn.source, at=turn.at,
                intent=turn.intent, confidence=turn.confidence, asr_ms=turn.asr_ms, reply_ms=turn.reply_ms,
                state=turn.state, outcome=turn.outcome, clear=turn.clear, superseded=turn.superseded,
                beyond=turn.beyond,
            )
        except Exception:
            log.exception("could not store turn %s", turn.idx)
        log.info("turn", extra={"idx": turn.idx, "state": turn.state, "source": turn.source,
                                "intent": turn.intent, "confidence": turn.confidence,
                                "asr_ms": _r(turn.asr_ms), "reply_ms": _r(turn.reply_ms)})


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 1)
