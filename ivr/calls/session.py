"""One call: the dialog engine's actions executed on the call's media.

``CallSession(agi, runtime).run()`` is the FastAGI handler body for one call:

1. open the call record and answer;
2. open the media: AudioSocket (``EXEC AudioSocket`` through the AGI session) by default,
   or the AGI-only mode (STREAM FILE / RECORD FILE / WAIT FOR DIGIT);
3. run the dialog: ``Say`` plays a prompt (barge-in where the state allows it), ``Listen``
   waits for speech (VAD + recognizer + intent fusion), keys or a no-input timeout and turns
   it into ``Heard`` / ``Pressed`` / ``NoInput``; ``CreateTicket`` / ``LookupTicket`` go to the
   store (:mod:`ivr.calls.tickets`); ``Transfer`` hands the call to an agent queue
   (:mod:`ivr.calls.transfer`, :mod:`ivr.calls.handoff`); ``EndCall`` hangs up;
4. every turn is stored with its timings (:mod:`ivr.calls.turns`): speech end (or last key)
   to the first byte of the reply audio (``reply_ms``), recognition time (``asr_ms``);
5. whatever happens (hang-up in any state, an error), the engine is told ``Hangup`` (so a
   complaint in progress is still filed if the script says so), pending turns are written and
   the call record is closed.

The event loop never blocks: recognition and synthesis run on their engines' pools and every
database write on the store's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from dialogs import DialogEngine
from dialogs.engine import Snapshot, TurnResult
from dialogs.emergency import DEFAULT as EMERGENCY
from dialogs.actions import Action, CreateTicket, EndCall, Listen, LookupTicket, Say, Transfer
from dialogs.events import (
    CUT_MARK,
    CallStarted,
    CutAnswer,
    Event,
    Hangup,
    Heard,
    NoInput,
    PlaybackDone,
    Pressed,
    TransferFailed,
)
from ivr.calls.hangups import CALLER_GONE, MediaHangup
from ivr.calls.media.agi import AgiMedia
from ivr.calls.media.audiosocket import AudioSocketMedia
from ivr.calls.ports import (
    CallerInput,
    CallStatus,
    ListenSpec,
    Media,
    PlayResult,
    StreamFactory,
    TurnPolicy,
    Understood,
    Utterance,
)
from ivr.calls.runtime import Runtime
from ivr.calls.tickets import TicketDesk
from ivr.calls.transfer import TransferStep
from ivr.calls.turns import Turn, TurnLog
from ivr.config.logging import bind_call
from ivr.privacy.fields import answer_kind
from ivr.privacy.call_values import personal_values, prompt_personal
from ivr.privacy.masking import Personal, hide_values, mask_answer, mask_long_numbers, mask_record
from telephony import AgiSession

log = logging.getLogger(__name__)

T = TypeVar("T")


class MediaUnavailable(Exception):
    """The call's media never came up although the caller is still there (an error: the
    caller is handed to an agent)."""


@dataclass
class CallOutcome:
    call_id: str
    end_reason: str = "unknown"
    state: str | None = None
    turns: int = 0
    tickets: list[str] = field(default_factory=list)
    transferred: bool = False
    queue: str | None = None
    confirmations: int = 0  # "Maksud Anda ...?" (and the emergency safety question) asked
    confirmations_denied: int = 0  # of which the caller answered "no"


#: after the window closes, how long past the endpointer's confirmation delay (vad_start_ms) a
#: held turn waits for speech begun inside it before it goes on record
SETTLE_MS = 60
# speech cut by a hang-up (Session._record_cut): shorter than this is no words; its recognition
# is given this long before the call's end goes on without it
CUT_MIN_S = 0.4
CUT_RECOGNITION_S = 15.0
# ... and the recognizer's confidence below which its words are not given to the dialog (kept in
# the transcript only): Whisper's free transcription of line noise and hum ("Terima kasih.",
# "Maksud saya, ...") scored 0.006-0.022, espeak-ng requests cut at half to whole 0.054-0.26
# (docs/decisions.md, phase 10 lead)
CUT_MIN_CONFIDENCE = 0.04


class _Resumed(Exception):
    """The caller went on inside a held turn's window (the media joined the speech)."""

    def __init__(self, held: _Held) -> None:
        super().__init__("second look")
        self.held = held


@dataclass
class _Held:
    """A spoken turn decided but not on record yet: speech the caller resumes within
    ``settings.turn_second_look_ms`` of the decision (``until``) makes it one turn with that
    speech. Nothing of it is written or told (transcript, turn log, journal, the engine's new
    state, the ``heard`` event) until the window is over or something that cannot be undone
    comes (a ticket, a transfer). A key the caller presses settles it first (no join)."""

    listen: Listen
    utt: Utterance
    heard: Understood
    turn: Turn
    entry: dict[str, object]
    heard_event: dict[str, object]  # the ``heard`` event, told on record (required: never empty)
    until: float  # monotonic
    factory: StreamFactory | None
    policy: TurnPolicy | None
    intent_before: str | None
    before: Snapshot | None = None  # the engine's state before it took the turn
    event: Event | None = None
    actions: list[Action] = field(default_factory=list)
    taken: TurnResult | None = None
    reply_at: float | None = None  # the reply's first byte (monotonic), once it began
    prep_ms: float = 0.0
    reply_text: str = ""
    #: the onset (monotonic) of the speech the caller resumed, read before the media joined it
    #: (the joined utterance then starts at the held one's onset)
    resumed_at: float | None = None
    #: prompts to put on record after the turn: (the prompt's turn, the fraction of it heard,
    #: superseded). The reply a join stopped is cut and its decision dropped: on record after
    #: the joined turn, interrupted and marked superseded
    prompts: list[tuple[Turn, float, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.heard_event:
            raise ValueError("a held turn needs its heard event (told when it goes on record)")


class CallSession:
    """Runs one call on the shared :class:`ivr.calls.runtime.Runtime`."""

    def __init__(self, agi: AgiSession, runtime: Runtime, *, media_mode: str | None = None) -> None:
        self.agi = agi
        self.rt = runtime
        #: the script this call runs to its end, whatever is published meanwhile
        self.release = runtime.release()
        self.settings = runtime.settings
        self.call_id = uuid.uuid4().hex
        self.channel_id: str | None = agi.env.get("uniqueid")
        caller = agi.env.get("callerid") or ""
        self.caller = "" if caller in ("unknown", "") else caller
        self.media_mode = media_mode or _arg_mode(agi.args) or self.settings.media_mode
        self.media: Media | None = None
        self.engine: DialogEngine | None = None
        self.outcome = CallOutcome(self.call_id)
        self.transcript: list[dict[str, object]] = []  # for the agent's screen
        self.slots: dict[str, object] = {}
        self.intent: str | None = None
        #: the service the call was about: the last intent the dialog accepted that is not a
        #: global command (help, repeat, goodbye)
        self.service: str | None = None
        self.turns = TurnLog(self.call_id, runtime.store.calls)
        self.journal = runtime.journal
        self.tickets = TicketDesk(runtime.store.tickets, self.call_id, self.settings.hours().tz, self._emit,
                                  journal=self.journal)
        if self.journal is not None:
            self.turns.on_add = self._journal_turn
        self.transfers = TransferStep(runtime.handoff)
        self._batch = 0
        self._state: str | None = None
        self._started = time.monotonic()
        self._listeners = list(runtime.call_listeners)
        self._record_task: asyncio.Future[None] | None = None
        self._held: _Held | None = None  # a spoken turn inside the second look's window
        #: keys pressed while a joined turn was heard wait for the next listen: the reply to
        #: that turn plays (only a key pressed during it stops it), then they answer its question
        self._keys_wait = False
        #: what the caller was saying when they hung up, recognised (_record_cut): told to the
        #: engine with the hang-up (the unfinished complaint keeps it in the slot it answered)
        self._cut: CutAnswer | None = None
        #: every personal value the dialog has held in this call: (kind, value) -> variable
        #: (kept when the dialog forgets a flow's answers: a summary set from them keeps them)
        self._personal: dict[tuple[str, str], str] = {}

    # ------------------------------------------------------------------ personal values
    def personal_values(self) -> Personal:
        """The personal values of this call so far (:mod:`ivr.privacy.call_values`): every
        masked copy the call writes hides them wherever the script copied one (a ticket field,
        a summary variable, a prompt reading it), by the mask of their kind."""
        engine = self.engine
        if engine is not None:
            for name, kind, value in personal_values(engine.script, engine.variables):
                self._personal.setdefault((kind, value), name)
        return tuple((name, kind, value) for (kind, value), name in self._personal.items())

    # ------------------------------------------------------------------ for observers
    def status(self) -> CallStatus:
        """This call as /status shows it (no personal data)."""
        return CallStatus(call_id=self.call_id, state=self._state, media_mode=self.media_mode,
                          seconds=round(time.monotonic() - self._started, 1))

    def _emit(self, kind: str, /, **data: object) -> None:
        for fn in self._listeners:
            try:
                fn(self, kind, data)
            except Exception:
                log.exception("call listener failed")

    # ------------------------------------------------------------------ run
    async def run(self) -> CallOutcome:
        with bind_call(self.call_id):
            self.rt.active_calls.add(self)
            try:
                await self._run()
            finally:
                self.rt.active_calls.discard(self)
        return self.outcome

    async def _run(self) -> None:
        log.info("call started", extra={"channel": self.channel_id, "media_mode": self.media_mode,
                                         "caller": self.caller})
        self._emit("call_started", caller=self.caller, channel=self.channel_id, media_mode=self.media_mode)
        end_reason = "completed"
        try:
            # the call record is written while the call goes on (a slow database never delays
            # the answer); turns are written after it
            if self.journal is not None:
                self.journal.open_call(self.call_id, caller=self.caller or None, started_at=time.time(),
                                       channel_id=self.channel_id, media_mode=self.media_mode,
                                       script_name=self.rt.script_name, script_version=self.rt.script_version)
            self._record_task = asyncio.ensure_future(self._open_record())
            self.turns.after = self._record_task
            await self.agi.answer()
            # the dialplan's sign that a dialog started here: after a crash it queues the caller
            # with the apology instead of restarting the dialog on the second controller
            await self.agi.set_variable("IVR_CALL_ID", self.call_id)
            await self._open_media()
            await self._dialog()
            end_reason = self.outcome.end_reason if self.outcome.end_reason != "unknown" else "completed"
        except CALLER_GONE:
            end_reason = "caller_hangup"
            await self._on_hangup()
        except asyncio.CancelledError:
            end_reason = "shutdown"
            with contextlib.suppress(Exception):
                await asyncio.shield(self._on_hangup(reason="shutdown"))
            raise
        except Exception:
            log.exception("call failed")
            end_reason = "error"
            if await self._rescue():
                end_reason = "error_transferred"
            else:
                with contextlib.suppress(Exception):
                    await self._on_hangup(reason="error")
        finally:
            self.outcome.end_reason = end_reason
            self.outcome.state = self._state
            await asyncio.shield(self._finish(end_reason))

    async def _rescue(self) -> bool:
        """After an internal error, hand a caller who is still there to an agent."""
        self._commit_held()
        if self.outcome.transferred or self.agi.hung_up:
            return False
        if self.media is not None and self.media.hung_up:
            return False
        queue = self.release.script.settings.queue or self.settings.agent_queues[0]
        await self._record_written()
        self.outcome.transferred = await self.transfers.rescue(self, queue)
        return self.outcome.transferred

    async def _open_record(self) -> None:
        try:
            await self.rt.store.calls.create(
                call_id=self.call_id,
                channel_id=self.channel_id,
                caller=self.caller or None,
                media_mode=self.media_mode,
                script_name=self.release.name,
                script_version=self.release.version,
            )
        except Exception:
            # the call goes on (the store journals writes while the database is down)
            log.exception("could not open the call record")

    async def _open_media(self) -> None:
        media: Media
        if self.media_mode == "agi":
            assert self.settings.sounds_dir is not None
            media = AgiMedia(self.agi, sounds_dir=self.settings.sounds_dir, wav_for=self.rt.speaker.wav_path,
                             endpointer_factory=self.rt.endpointer, call_id=self.call_id)
        else:
            if self.rt.audiosocket is None:
                raise MediaUnavailable("no AudioSocket server in this runtime")
            try:
                channel = await self.rt.audiosocket.open_channel(self.agi, timeout=5.0)
            except Exception as exc:
                if self.agi.hung_up:  # the caller hung up while the media was coming up
                    raise MediaHangup() from exc
                if isinstance(exc, CALLER_GONE):  # the caller is there, the media never came
                    raise MediaUnavailable(f"AudioSocket did not come up: {exc}") from exc
                raise
            taking = self.release.turn_taking is not None
            media = AudioSocketMedia(channel, self.rt.turn_endpointer, on_event=self._media_event,
                                     hangover_ms=self.settings.vad_end_ms if taking else None)
        self.media = media
        await media.start()

    def _media_event(self, kind: str, data: dict[str, object]) -> None:
        self._emit(kind, **data)

    # ------------------------------------------------------------------ dialog loop
    async def _dialog(self) -> None:
        engine = self.engine = self.release.new_engine()
        today = self.rt.clock().astimezone(self.settings.hours().tz).date().isoformat()
        actions = engine.handle(CallStarted(caller_number=self.caller or None, call_id=self.call_id, today=today))
        self._journal_state()
        while True:
            event = await self._execute(actions)
            if event is None:
                return
            engine = self.engine  # a second look may have put back the state before a turn
            held = self._held
            if held is not None:
                held.before = engine.snapshot()
            actions = engine.handle(event)
            if held is not None:
                # nothing of this turn is on record until the second look's window is over
                held.event, held.actions, held.taken = event, list(actions), engine.last_turn
                if held.taken is not None and held.taken.intent == EMERGENCY.label:
                    # an emergency the dialog took (the words in any listening state, or its
                    # safety question) is acted on at once, whatever the caller says next
                    self._commit_held()
            else:
                self._took(event, actions, engine.last_turn)

    def _took(self, event: Event, actions: Sequence[Action], taken: TurnResult | None) -> None:
        """The engine took ``event`` with ``actions``: on record (the journal's state, how the
        dialog took the caller's input)."""
        self._journal_state()
        engine = self.engine
        assert engine is not None
        if not isinstance(event, (Heard, Pressed, NoInput)) or taken is None:
            return
        # how the dialog took the caller's input (stuck-state analytics)
        self.turns.settle(taken.outcome, transferred=any(isinstance(a, Transfer) for a in actions),
                          beyond=taken.beyond)
        if taken.outcome == "confirming":
            self.outcome.confirmations += 1
            self._emit("confirm_asked", state=self._state, intent=taken.intent)
        elif taken.outcome == "denied":
            self.outcome.confirmations_denied += 1
            self._emit("confirm_denied", state=self._state, intent=taken.intent)
        script = engine.script
        if (taken.outcome == "accepted" and taken.intent in script.intents
                and taken.intent not in script.globals and taken.intent not in script.questions):
            self.service = taken.intent

    async def _execute(self, actions: Sequence[Action]) -> Event | None:
        """Run actions in order; return the next event for the engine, or None when done."""
        media = self.media
        assert media is not None
        interrupted = False
        reply_event: Event | None = None
        listen: Listen | None = None
        played_any = False
        upcoming = next((a for a in reversed(actions) if isinstance(a, Listen)), None)
        self._batch += 1
        if upcoming is not None:
            expected: Listen = upcoming
            self._emit("expect", batch=self._batch, state=expected.state, kind=expected.kind,
                       dtmf=dict(expected.dtmf), max_digits=expected.max_digits)
            # speech over these prompts (barge-in) is recognised against what comes next
            enough = self.release.understander.decisive(expected) if self.settings.turn_first_pass else None
            media.stream_factory = lambda: self.rt.open_stream(expected, media.sample_rate, enough)
            taking = self.release.turn_taking
            media.turn_policy = taking.policy(expected) if taking is not None else None
        else:
            media.stream_factory = None
            media.turn_policy = None
        skip = await self.transfers.announcement_to_skip(actions)
        try:
            for action in actions:
                if isinstance(action, Say):
                    if action is skip or interrupted:
                        self._emit("say_skipped", text=action.text)
                        continue
                    res = await self._say(action, media)
                    played_any = True
                    if res.barged and res.barged != "skip":
                        interrupted = True
                    continue
                if isinstance(action, Listen):
                    listen = action
                    continue
                self._look(media)  # a ticket, a transfer, the end: the turn goes on record first
                if isinstance(action, CreateTicket):
                    reply_event = await self._hold_while(self._create_ticket(action), media)
                elif isinstance(action, LookupTicket):
                    reply_event = await self._hold_while(self.tickets.lookup(action), media)
                elif isinstance(action, Transfer):
                    failed = await self._transfer(action)
                    if failed is None:
                        return None
                    reply_event = failed
                elif isinstance(action, EndCall):
                    await self._end_call(action)
                    return None
            self._look(media)
        except _Resumed as resumed:
            return await self._rejoin(resumed.held, media)
        if reply_event is not None:
            return reply_event
        if listen is not None:
            return await self._listen(listen, media)
        if played_any:
            return PlaybackDone()
        # the engine gave nothing to do: the dialog is over
        self.outcome.end_reason = "completed"
        await self._hangup_agi()
        return None

    # ------------------------------------------------------------------ the live calls' journal
    def _journal_state(self) -> None:
        if self.journal is not None and self.engine is not None:
            self.journal.snapshot(self.call_id, dict(self.engine.snapshot()), self.personal_values())

    def _journal_turn(self, turn: Turn) -> None:
        assert self.journal is not None
        # a prompt's outcome (interrupted) and mark (superseded) are known when it is added; a
        # caller turn's outcome comes later and is not journaled. ``superseded`` only when set
        # (journals written before it read as not superseded)
        mark = {"superseded": True} if turn.superseded else {}
        self.journal.turn(self.call_id, turn.text, idx=turn.idx, who=turn.who, source=turn.source,
                          state=turn.state, intent=turn.intent, confidence=turn.confidence,
                          at=turn.at.timestamp(), outcome=turn.outcome, **mark)

    # ------------------------------------------------------------------ waiting on the store
    async def _hold_while(self, work: Awaitable[T], media: Media) -> T:
        """``await work``; if it takes longer than ``hold_prompt_after_s`` (a slow or hung
        database, before the store's deadline sends the write to the journal), the caller
        hears the short hold prompt instead of silence."""
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=self.settings.hold_prompt_after_s)
        if not done:
            self._emit("hold", state=self._state)
            await self._say(Say(self.settings.hold_prompt, prompt_id="hold", barge_in=False), media)
        return await task

    # ------------------------------------------------------------------ Say
    async def _say(self, action: Say, media: Media) -> PlayResult:
        t0 = time.monotonic()
        pcm = await self.rt.speaker.pcm(action.text, static=action.static, audio_file=action.audio_file)
        prep_ms = (time.monotonic() - t0) * 1000
        barge = action.barge_in and self.settings.barge_in
        held = self._held
        if held is not None and self._resumed(held, media):
            raise _Resumed(held)  # the caller went on before the reply began: nothing of it plays
        self._emit("say", text=action.text, prompt_id=action.prompt_id,
                   seconds=len(pcm) / 2 / self.rt.sample_rate, barge_in=barge,
                   state=self.engine.state if self.engine is not None else None)
        # a prompt that says personal data is kept as its template with those fields masked
        # and a personal value the script copied into another variable it reads ("{ringkasan}")
        # by its own mask, wherever it stands
        values = self.personal_values()
        shown = action.text
        if action.record is not None:
            said = (action.personal if self.engine is None
                    else prompt_personal(self.engine.script, action.personal, values))
            shown = mask_record(action.record, said)
        shown = hide_values(shown, values)
        clear = action.text if shown != action.text else None
        turn = Turn(idx=self.turns.next_index(), state=self._state, source="prompt", at=self.rt.clock(),
                    who="system", text=shown, clear=clear)
        # the first reply audio goes out now: that closes the turns waiting for it
        first_byte = time.monotonic()
        reply_ms = self.turns.reply_started(first_byte, prep_ms)
        if reply_ms is not None:
            self._emit("reply", reply_ms=reply_ms, text=action.text, prep_ms=round(prep_ms, 1))
        timer: asyncio.TimerHandle | None = None
        if held is not None:
            held.reply_at, held.prep_ms, held.reply_text = first_byte, prep_ms, action.text
            # speech that began inside the window is confirmed (vad_start_ms) soon after it
            # ends: unless the caller went on by then, the turn goes on record while the reply plays
            settle = max(0.0, held.until - first_byte) + (self.settings.vad_start_ms + SETTLE_MS) / 1000
            timer = asyncio.get_running_loop().call_later(settle, self._settle_held, held, media)
        seconds = len(pcm) / 2 / self.rt.sample_rate
        began = time.monotonic()
        try:
            res = await media.play(pcm, barge_in=barge, text=action.text, typeahead=not self._keys_wait)
        except CALLER_GONE:
            # the caller hung up during the prompt: it is on record as far as it was played
            self._commit_held()
            self._record_prompt(turn, _heard(time.monotonic() - began, seconds))
            raise
        finally:
            if timer is not None:
                timer.cancel()
        heard = 1.0
        if res.barged:
            heard = _heard((res.stopped_at or res.ended_at) - res.started_at, seconds)
        elif not res.completed:  # stopped by the caller hanging up (noticed at the next step)
            heard = _heard(res.ended_at - res.started_at, seconds)
        undo = (held is not None and self._held is held and res.barged == "speech"
                and res.barge_onset_at is not None and res.barge_onset_at <= held.until
                and self._resumed(held, media))
        if undo:
            assert held is not None
            # the reply the caller cut by going on: on record after the joined turn (_listen)
            held.prompts.append((turn, heard, False))
        else:
            self._commit_held()
            self._record_prompt(turn, heard)
        self.turns.flush()
        if undo:
            assert held is not None
            # the caller went on within the window (the reply just begun is stopped): one turn
            self._emit("barged", by=res.barged, onset=res.barge_onset_at, detected=res.barge_detected_at,
                       stopped=res.stopped_at, started=res.started_at)
            raise _Resumed(held)
        if res.barged:
            self._emit("barged", by=res.barged, onset=res.barge_onset_at, detected=res.barge_detected_at,
                       stopped=res.stopped_at, started=res.started_at)
        else:
            self._emit("said", text=action.text, completed=res.completed)
        return res

    def _record_prompt(self, turn: Turn, heard: float, *, superseded: bool = False) -> None:
        """Keep a prompt as far as the caller heard it: ``heard`` is the fraction of its audio
        played. Cut short (barge-in, hang-up), it is stored up to that point (approximated by
        the same fraction of its words) and marked interrupted; never heard, not at all.
        ``superseded``: it answered a decision a second look dropped (the transcript says so)."""
        if heard < 1.0:
            turn.text = _cut(turn.text, heard)
            turn.clear = _cut(turn.clear, heard) if turn.clear is not None else None
            if not turn.text:
                return  # the caller heard none of it: not on record as said
            turn.outcome = "interrupted"
        turn.superseded = superseded  # the turn log, the journal and the store say so too
        self.turns.add(turn)
        entry = _entry({"who": "system"}, turn.text, turn.clear)
        if turn.outcome == "interrupted":
            entry["interrupted"] = True
        if superseded:
            entry["superseded"] = True
        self.transcript.append(entry)

    # ------------------------------------------------------------------ Listen
    async def _listen(self, action: Listen, media: Media, joined: _Held | None = None) -> Event:
        """``joined``: a turn whose caller went on within the second look's window: the media
        hands over one utterance of both, decided as one turn (the original stands if that
        decision fails)."""
        self._state = action.state
        dtmf_map = dict(action.dtmf)
        max_digits = action.max_digits
        spec = ListenSpec(
            timeout_s=float(action.timeout_s or self.settings.no_input_timeout_s),
            speech=True,
            max_digits=max_digits if max_digits else (1 if dtmf_map else None),
            interdigit_s=self.settings.dtmf_interdigit_timeout_s,
            max_speech_s=self.settings.max_utterance_s,
            # a joined turn is heard to its end: a key pressed meanwhile waits (it is taken
            # after that turn, as type-ahead), never dropped
            keys=joined is None,
        )
        if joined is None:
            self._keys_wait = False  # keys waiting answer this listen
            self._emit("listen", batch=self._batch, state=self._state, kind=action.kind, dtmf=dtmf_map,
                       max_digits=max_digits, expect_labels=list(action.expect))
        try:
            got: CallerInput = await media.listen(spec)
        except CALLER_GONE:
            if joined is None:
                # the caller hung up while speaking: what they had said is kept, as heard,
                # marked cut by the hang-up (the dialog takes no speech after a hang-up)
                await self._record_cut(action, media)
            raise
        if joined is not None and got.kind != "speech":
            # the speech joined is gone (not expected: it had begun): the original turn stands
            got = CallerInput("speech", utterance=joined.utt)
        personal = answer_kind(action.kind, action.slot)  # what the answer may hold
        if joined is not None:
            # the joined turn began with the held one: it takes its place (never stored), before
            # the reply it cut (the held decision's prompt turn numbers come after it)
            turn = Turn(idx=joined.turn.idx, state=self._state, source=got.kind, at=joined.turn.at)
        else:
            turn = Turn(idx=self.turns.next_index(), state=self._state, source=got.kind, at=self.rt.clock())
        if got.kind == "noinput":
            turn.source = "event"
            turn.text = "(no input)"
            self._emit("noinput", state=self._state, waited_s=got.waited_s)
            self.turns.add(turn)
            self.turns.flush()
            return NoInput()
        if got.kind == "dtmf":
            turn.digits = got.digits
            turn.text, turn.clear = _masked(got.digits, personal, self.personal_values())
            turn.ref_at = got.last_key_at
            turn.detected_at = time.monotonic()
            self._emit("pressed", digits=got.digits, state=self._state)
            self.transcript.append(_entry({"who": "caller", "state": self._state}, turn.text, turn.clear,
                                          key="keys"))
            self.turns.add(turn, awaits_reply=True)
            return Pressed(got.digits)
        utt = got.utterance
        assert utt is not None
        turn.ref_at = utt.end_at
        turn.detected_at = utt.detected_at
        turn.speech_s = round(utt.seconds, 3)
        t0 = time.monotonic()
        if joined is not None and utt is joined.utt:
            heard = joined.heard
        else:
            try:
                heard = await self.release.understander.understand(utt, action)
            except Exception:
                # a recognizer failure must not end the call: the engine's ladder takes over
                log.exception("recognition failed")
                heard = Understood(text="", intent=None, confidence=0.0)
            if joined is not None and not heard.text.strip() and joined.heard.text.strip():
                heard = joined.heard  # the joined decision failed: the original one stands
        turn.asr_ms = (time.monotonic() - t0) * 1000
        turn.text, turn.clear = _masked(heard.text, personal, self.personal_values())
        turn.intent = heard.intent
        turn.confidence = heard.confidence
        turn.extra["endpoint_ms"] = round((utt.detected_at - utt.end_at) * 1000, 1)
        intent_before = self.intent
        if heard.intent and heard.intent not in ("yes", "no"):
            self.intent = heard.intent
        told: dict[str, object] = dict(
            text=heard.text, intent=heard.intent, confidence=heard.confidence, state=self._state,
            asr_ms=turn.asr_ms, speech_s=utt.seconds, turn=utt.turn, probability=heard.probability,
            emergency=heard.emergency, joined=joined is not None, endpoint_ms=turn.extra["endpoint_ms"],
            stages=_stages(utt, heard, time.monotonic()))
        entry = _entry({"who": "caller", "intent": heard.intent, "confidence": round(heard.confidence, 3),
                        "state": self._state}, turn.text, turn.clear)
        # the replies to a dropped decision: on record after this turn, superseded
        prompts = [(t, h, True) for (t, h, _) in joined.prompts] if joined is not None else []
        grace = self.settings.turn_second_look_ms
        if (grace > 0 and media.joins and self.release.turn_taking is not None
                and heard.emergency != "now"):
            # not on record yet (nor told as heard): speech resuming inside the window joins
            # this turn (_look); an emergency is acted on at once, whatever the caller says next
            self._held = _Held(listen=action, utt=utt, heard=heard, turn=turn, entry=entry, heard_event=told,
                               until=utt.detected_at + grace / 1000, factory=media.stream_factory,
                               policy=media.turn_policy, intent_before=intent_before, prompts=prompts)
        else:
            self._emit("heard", **told)
            self.transcript.append(entry)
            self.turns.add(turn, awaits_reply=True)
            for prompt, part, superseded in prompts:
                self._record_prompt(prompt, part, superseded=superseded)
        return Heard(heard.text, heard.confidence, intent=heard.intent, emergency=heard.emergency)

    # ------------------------------------------------------------------ the second look
    def _resumed(self, held: _Held, media: Media) -> bool:
        """Whether the caller went on inside ``held``'s window (speech with an onset before
        ``held.until``); if so the media has joined that speech to ``held``'s utterance."""
        if media.keys_waiting():
            return False  # a key settles the held turn first (then it is taken as usual)
        onset = media.resumed()
        if onset is None or onset > held.until:
            return False
        factory, policy = media.stream_factory, media.turn_policy
        media.stream_factory, media.turn_policy = held.factory, held.policy  # heard as that listen's
        if media.join(held.utt):
            held.resumed_at = onset
            return True
        media.stream_factory, media.turn_policy = factory, policy
        return False

    def _look(self, media: Media) -> None:
        """Before what cannot be undone (a ticket, a transfer, the end, the next listen): the
        held turn is joined with resumed speech (raises :class:`_Resumed`) or goes on record."""
        held = self._held
        if held is None:
            return
        if self._resumed(held, media):
            raise _Resumed(held)
        self._commit_held()

    def _settle_held(self, held: _Held, media: Media) -> None:
        """The window is over while the reply plays: on record, unless speech begun inside it
        is about to stop the reply (its barge-in decides)."""
        if self._held is not held:
            return
        onset = media.resumed()
        if onset is not None and onset <= held.until:
            return
        self._commit_held()

    def _commit_held(self) -> None:
        """The held turn goes on record: the transcript, the turn log (and the live journal),
        the dialog's state and how it took the turn."""
        held, self._held = self._held, None
        if held is None:
            return
        self._emit("heard", **held.heard_event)
        self.transcript.append(held.entry)
        self.turns.add(held.turn, awaits_reply=True)
        if held.reply_at is not None:
            reply_ms = self.turns.reply_started(held.reply_at, held.prep_ms)
            if reply_ms is not None:
                self._emit("reply", reply_ms=reply_ms, text=held.reply_text, prep_ms=round(held.prep_ms, 1))
        for prompt, part, superseded in held.prompts:
            self._record_prompt(prompt, part, superseded=superseded)
        if held.event is not None:
            self._took(held.event, held.actions, held.taken)

    async def _rejoin(self, held: _Held, media: Media) -> Event:
        """The caller went on: the turn's decision is dropped (nothing of it is on record), the
        dialog is back where it was, and the joined speech is heard as that listen's answer."""
        if self._held is held:
            self._held = None
        engine = self.engine
        assert engine is not None and held.before is not None
        intent_after, self.intent = self.intent, held.intent_before
        media.stream_factory, media.turn_policy = held.factory, held.policy
        # the resumed speech's own onset, read before the join (media.resumed() now gives the
        # joined utterance's, i.e. the held turn's onset). ``after_ms``: from the held turn's
        # decision (the endpointer's end-of-turn, where the window starts) to that onset, at
        # most the window; below zero only by the speech detector's confirmation delay (speech
        # resumed during the endpointer's wait, confirmed after the decision). ``pause_ms``:
        # the caller's pause, from the end of the held turn's speech to that onset (>= 0).
        onset = held.resumed_at if held.resumed_at is not None else held.utt.detected_at
        self._emit("second_look", state=held.listen.state, intent=held.heard.intent,
                   after_ms=round((onset - held.utt.detected_at) * 1000, 1),
                   pause_ms=round(max(0.0, onset - held.utt.end_at) * 1000, 1),
                   replied=held.reply_at is not None)
        try:
            event = await self._listen(held.listen, media, joined=held)
        except BaseException as exc:
            # the caller hung up (or the call ended) while going on: the first half stands
            self.intent, self._held = intent_after, held
            self._commit_held()
            if isinstance(exc, CALLER_GONE):
                # and what they said after it is kept, as heard, marked cut by the hang-up
                await self._record_cut(held.listen, media, held)
            raise
        # the dialog takes the joined turn from where it was before the dropped decision
        self.engine = DialogEngine.restore(engine.script, held.before, strict=engine.strict,
                                             personal_names=engine.personal_names)
        # a key pressed while the joined turn was heard or decided waits for the next listen:
        # the reply to the joined turn plays first (a key pressed during it still stops it)
        self._keys_wait = media.keys_waiting()
        return event

    async def _record_cut(self, listen: Listen, media: Media, held: _Held | None = None) -> None:
        """The caller hung up while speaking: the speech the media holds that no listen took
        (``Media.unheard``) is recognised and put on record as a caller turn of its own, cut by
        the hang-up: its words end in " …" and it is marked interrupted, as a prompt a hang-up
        cut is. The dialog never acts on it (no intent), as it takes no speech after a hang-up;
        the engine is given the words with the hang-up (``Hangup.cut``) and keeps them as the
        answer of a free-text slot the listen asked for (the unfinished complaint), and they are
        journaled first, so that recovery after a crash files them too.
        ``held``: the caller was going on after a held turn (a join under way): only the
        continuation is recognised and it comes after the first half (and the reply it cut),
        whose decision stands."""
        try:
            await self._record_cut_turn(listen, media, held)
        except Exception:
            # what went wrong here must not take the place of the hang-up
            log.exception("speech cut by the hang-up not put on record")

    async def _record_cut_turn(self, listen: Listen, media: Media, held: _Held | None) -> None:
        utt = media.unheard()
        if utt is None:
            return
        with contextlib.suppress(Exception):
            if utt.stream is not None:
                utt.stream.close()  # decoded again from its audio, whole (or the continuation alone)
        pcm, onset = utt.pcm, utt.onset_at
        if held is not None:
            if pcm.startswith(held.utt.pcm):
                pcm = pcm[len(held.utt.pcm):]  # the joined utterance begins with the first half's audio
            if held.resumed_at is not None:
                onset = held.resumed_at
        if len(pcm) < CUT_MIN_S * utt.sample_rate * 2:
            return  # a click or a breath as the line dropped, not words (Whisper would invent some)
        rest = Utterance(pcm, utt.sample_rate, onset_at=onset, end_at=utt.end_at, detected_at=utt.detected_at,
                         turn=utt.turn)
        t0 = time.monotonic()
        try:
            # bounded: the call's end (its record, the engine's unfinished complaint) waits
            heard = await asyncio.wait_for(self.release.understander.understand(rest, listen), CUT_RECOGNITION_S)
        except (Exception, asyncio.CancelledError) as exc:
            task = asyncio.current_task()
            if isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling():
                raise  # this call's own task is being cancelled (shutdown), not the recognition
            log.warning("speech cut by the hang-up not recognised: %s", type(exc).__name__)
            return
        if not heard.text.strip():
            return
        shown, clear = _masked(heard.text.strip(), answer_kind(listen.kind, listen.slot),
                               self.personal_values())
        # a number cut short is no longer recognisable as a NIK or a phone number: any long one goes
        masked = mask_long_numbers(shown)
        if masked != shown:
            shown, clear = masked, clear if clear is not None else heard.text.strip()
        shown = f"{shown} …"
        clear = f"{clear} …" if clear is not None else None
        turn = Turn(idx=self.turns.next_index(), state=listen.state, source="speech", who="caller",
                    at=self.rt.clock() - timedelta(seconds=max(0.0, time.monotonic() - onset)),
                    text=shown, clear=clear, outcome="interrupted", asr_ms=(time.monotonic() - t0) * 1000,
                    speech_s=round(rest.seconds, 3))
        self.turns.add(turn)
        entry = _entry({"who": "caller", "state": listen.state}, shown, clear)
        entry["interrupted"] = True
        self.transcript.append(entry)
        # the words, clear, for the engine, where they may answer a free-text question (the
        # store protects a slot's value as it protects any answer; the journal protects its
        # records): never a name or a number cut short, which the engine would refuse anyway and
        # the journal should not hold, nor what the recognizer barely heard (noise it put words on)
        if answer_kind(listen.kind, listen.slot) == "text" and heard.confidence >= CUT_MIN_CONFIDENCE:
            self._cut = CutAnswer(listen.state, heard.text.strip() + CUT_MARK, follows=held is not None)
            if self.journal is not None:
                self.journal.cut(self.call_id, listen.state, self._cut.text, follows=self._cut.follows,
                                 personal=self.personal_values())
        # its emergency reading too: a caller cut off while asking for help can be called back
        self._emit("cut_by_hangup", state=listen.state, speech_s=rest.seconds, asr_ms=turn.asr_ms,
                   emergency=heard.emergency)

    # ------------------------------------------------------------------ tickets
    async def _record_written(self) -> None:
        """Wait until the call record is written (or journaled): what refers to it comes after."""
        if self._record_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._record_task)

    async def _create_ticket(self, action: CreateTicket) -> Event:
        await self._record_written()
        self.slots.update({k: v for k, v in action.fields.items() if v not in (None, "") and k != "call_id"})
        return await self.tickets.create(action, self.personal_values())

    # ------------------------------------------------------------------ transfer / end
    async def _transfer(self, action: Transfer) -> TransferFailed | None:
        """Hand the call over. Returns None when transferred, or the TransferFailed event."""
        await self._record_written()
        result = await self.transfers.transfer(self, action)
        if result.ok:
            self.outcome.transferred = True
            self.outcome.queue = result.queue
            self.outcome.end_reason = "transferred"
            self._emit("transfer", queue=result.queue, call_id=self.call_id)
            return None
        self._emit("transfer_failed", reason=result.reason, queue=result.queue)
        return TransferFailed(result.reason)

    async def _end_call(self, action: EndCall) -> None:
        self.outcome.end_reason = action.reason or "completed"
        self._emit("end_call", reason=self.outcome.end_reason)
        await self._hangup_agi()

    async def _hangup_agi(self) -> None:
        """End the call on purpose: the dialplan sees ``IVR_DONE=1`` (anything else after the
        AGI means the controller failed: apology, agents or another controller)."""
        if self.media is not None:
            with contextlib.suppress(Exception):
                await self.media.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.agi.set_variable("IVR_DONE", "1"), 2.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.agi.hangup(), 5.0)

    # ------------------------------------------------------------------ hang-up and close
    async def _on_hangup(self, reason: str = "caller_hangup") -> None:
        """Tell the engine, and file what it asks for (the script's flows file an unfinished
        complaint, marked incomplete); never touch the media."""
        self._commit_held()  # the caller's last turn stands
        self._emit("hangup", state=self._state, reason=reason)
        if self.engine is None:
            return
        try:
            actions = self.engine.handle(Hangup(cut=self._cut))
        except Exception:
            log.exception("engine failed on hang-up")
            actions = []
        self._journal_state()
        for action in actions:
            if isinstance(action, CreateTicket):
                await self._file_after_hangup(action, "could not file the ticket after hang-up")

    async def _file_after_hangup(self, action: CreateTicket, failure: str) -> None:
        try:
            await self._create_ticket(action)
        except Exception:
            log.exception(failure)

    async def _finish(self, end_reason: str) -> None:
        self._commit_held()
        await self.turns.finish()
        self.outcome.turns = self.turns.stored
        self.outcome.tickets = list(self.tickets.filed)
        if self.media is not None and not self.outcome.transferred:
            with contextlib.suppress(Exception):
                await self.media.close()
        try:
            await self.rt.store.calls.close(self.call_id, end_reason,
                                            handoff_outcome="pending" if self.outcome.transferred else None,
                                            service=self.service, end_state=self._state)
        except Exception:
            log.exception("could not close the call record")
        else:
            if self.journal is not None:  # everything is on record (database or write journal)
                self.journal.close_call(self.call_id)
        seconds = time.monotonic() - self._started
        log.info("call ended", extra={"end_reason": end_reason, "turns": self.outcome.turns,
                                      "seconds": round(seconds, 2), "state": self._state,
                                      "confirmations": self.outcome.confirmations,
                                      "confirmations_denied": self.outcome.confirmations_denied})
        self._emit("call_ended", reason=end_reason, turns=self.outcome.turns, seconds=seconds,
                   tickets=list(self.outcome.tickets))

    # ------------------------------------------------------------------ for the hand-off
    def context_for_agent(self) -> dict[str, object]:
        return {
            "call_id": self.call_id,
            "caller": self.caller or None,
            "intent": self.intent,
            # the service the call is about (the last intent may be a follow-up question)
            "service": self.service,
            "state": self._state,
            "slots": dict(self.slots),
            "ticket_id": self.tickets.last,
            "transcript": list(self.transcript),
        }


#: less than this much of a prompt played: the caller heard none of it
HEARD_MIN_S = 0.3


def _heard(played_s: float, seconds: float) -> float:
    """The fraction of a ``seconds``-long prompt heard after ``played_s`` of playback."""
    if played_s < HEARD_MIN_S or seconds <= 0:
        return 0.0
    return min(1.0, played_s / seconds)


def _cut(text: str | None, heard: float) -> str | None:
    """The words of ``text`` a caller heard who heard the fraction ``heard`` of it ("" if
    none), with an ellipsis where it was cut."""
    if not text:
        return text
    words = text.split()
    keep = int(len(words) * max(0.0, heard) + 0.5)
    if keep >= len(words):
        return text
    return " ".join(words[:keep]) + " …" if keep else ""


def _masked(text: str, kind: str | None, values: Personal = ()) -> tuple[str, str | None]:
    """(what records keep, the clear text when that differs) of a caller's answer where the
    dialog asked for personal data of ``kind`` (None: nothing personal asked; numbers and
    names in it are masked all the same). ``values``: the call's personal values so far, hidden
    where the caller repeats one in words kept as they are (a description naming the address
    or the name given before), as the ticket's copy of those words hides them."""
    if kind in (None, "text") and values:
        text_kept = hide_values(text, values)
        shown = mask_answer(text_kept, kind)
        return shown, (text if shown != text else None)
    shown = mask_answer(text, kind)
    return shown, (text if shown != text else None)


def _entry(base: dict[str, object], shown: str | None, clear: str | None, *, key: str = "text") -> dict[str, object]:
    """A transcript entry for the agent's screen: the masked text, and the clear one under
    ``clear_text`` (a sensitive field: the stored context keeps it only encrypted)."""
    entry = dict(base, **{key: shown})
    if clear is not None:
        entry["clear_text"] = clear
    return entry


def _arg_mode(args: Sequence[str]) -> str | None:
    """The media mode named in the AGI URL's arguments (``agi://...?agi``), if any."""
    for a in args:
        if a in ("agi", "audiosocket"):
            return a
    return None



def _stages(utt: Utterance, heard: Understood, now: float) -> dict[str, float]:
    """Where a spoken turn's time went, for benches and diagnostics: instants as milliseconds
    after the end of speech (``*_at``: speculative decode submitted, started, done; the
    end-of-turn decision's read of it; the turn's end; the transcript; the dialog's intent),
    and the recognizer's stage durations (``*_ms``) and counts as they are."""
    out: dict[str, float] = {}
    for k, v in heard.timings.items():
        out[k] = round((v - utt.end_at) * 1000, 1) if k.endswith("_at") else v
    if utt.early_at is not None:
        out["early_read_at"] = round((utt.early_at - utt.end_at) * 1000, 1)
    out["turn_end_at"] = round((utt.detected_at - utt.end_at) * 1000, 1)
    out["heard_at"] = round((now - utt.end_at) * 1000, 1)
    return out
