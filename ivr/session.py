"""One call: the dialog engine's actions executed on the call's media.

``CallSession(agi, runtime).run()`` is the FastAGI handler body for one call:

1. open the call record (off the loop) and answer;
2. open the media: AudioSocket (``EXEC AudioSocket`` through the AGI session) by default,
   or the AGI-only mode (STREAM FILE / RECORD FILE / GET DATA);
3. run the dialog: ``Say`` plays a prompt (barge-in where the state allows it), ``Listen``
   waits for speech (VAD + recognizer + intent fusion), keys or a no-input timeout and turns
   it into ``Heard`` / ``Pressed`` / ``NoInput``; ``CreateTicket`` / ``LookupTicket`` go to the
   store; ``Transfer`` hands the call to an agent queue (see :mod:`ivr.handoff`); ``EndCall``
   hangs up;
4. every caller turn is stored with its timings: speech end (or last key) to the first byte of
   the reply audio (``reply_ms``), recognition time (``asr_ms``);
5. whatever happens (hang-up in any state, an error), the engine is told ``Hangup`` (so a
   complaint in progress is still filed if the script says so), pending turns are written and
   the call record is closed.

The event loop never blocks: recognition and synthesis run on their engines' pools and every
database write runs on the runtime's DB executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ivr.logging import bind_call
from ivr.media import AgiMedia, AudioSocketMedia, CallerInput, ListenSpec, MediaHangup, PlayResult

log = logging.getLogger("ivr.session")


@dataclass
class Turn:
    """One caller turn, kept until its reply has started (to know ``reply_ms``)."""

    idx: int
    state: str | None
    source: str  # speech | dtmf | event (no input) | prompt
    at: datetime
    who: str = "caller"
    text: str | None = None
    intent: str | None = None
    confidence: float | None = None
    digits: str | None = None
    asr_ms: float | None = None
    reply_ms: float | None = None
    ref_at: float | None = None  # monotonic: end of speech or last key
    detected_at: float | None = None  # monotonic: endpointer decided / key collected
    speech_s: float | None = None
    barge_in: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class CallOutcome:
    call_id: str
    end_reason: str = "unknown"
    state: str | None = None
    turns: int = 0
    tickets: list[str] = field(default_factory=list)
    transferred: bool = False
    queue: str | None = None


class CallSession:
    """Runs one call. ``runtime`` is an :class:`ivr.runtime.Runtime` (shared models, store)."""

    def __init__(self, agi: Any, runtime: Any, *, media_mode: str | None = None) -> None:
        self.agi = agi
        self.rt = runtime
        self.settings = runtime.settings
        env = getattr(agi, "env", {}) or {}
        self.env = env
        self.call_id = uuid.uuid4().hex
        self.channel_id = env.get("uniqueid")
        caller = env.get("callerid") or ""
        self.caller = "" if caller in ("unknown", "") else caller
        self.media_mode = media_mode or _arg_mode(agi) or self.settings.media_mode
        self.media: Any = None
        self.engine: Any = None
        self.outcome = CallOutcome(self.call_id)
        self.transcript: list[dict[str, Any]] = []  # for the agent's screen
        self.slots: dict[str, Any] = {}
        self.intent: str | None = None
        self.ticket_id: str | None = None
        self._turns: list[Turn] = []
        self._unreplied: list[Turn] = []
        self._turn_idx = 0
        self._batch = 0
        self._write_q: list[Turn] = []
        self._writer: asyncio.Task | None = None
        self._state: str | None = None
        self._record_opened = False
        self._started = time.monotonic()
        self._listeners = list(getattr(runtime, "call_listeners", []))

    # ------------------------------------------------------------------ events for observers
    def _emit(self, kind: str, /, **data: Any) -> None:
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
            await self._open_record()
            await self._guard_agi(self.agi.answer())
            await self._open_media()
            await self._dialog()
            end_reason = self.outcome.end_reason if self.outcome.end_reason != "unknown" else "completed"
        except (MediaHangup, _Hangup):
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
        if self.outcome.transferred or getattr(self.agi, "hung_up", False):
            return False
        if self.media is not None and getattr(self.media, "hung_up", False):
            return False
        try:
            from dialogs.actions import Transfer

            queue = getattr(getattr(self.rt.script, "settings", None), "queue", None) or self.settings.agent_queues[0]
            res = await self.rt.handoff.transfer(self, Transfer(queue=queue, reason="error", context={}))
            self.outcome.transferred = res.ok
            return res.ok
        except Exception:
            log.exception("could not hand the call over after an error")
            return False

    async def _guard_agi(self, coro: Any) -> Any:
        try:
            return await coro
        except Exception as exc:
            if type(exc).__name__ == "AgiHangup":
                raise _Hangup() from exc
            raise

    async def _open_record(self) -> None:
        try:
            await self.rt.store.create_call(
                call_id=self.call_id,
                channel_id=self.channel_id,
                caller=self.caller or None,
                media_mode=self.media_mode,
                script_name=getattr(self.rt, "script_name", None),
                script_version=getattr(self.rt, "script_version", None),
            )
            self._record_opened = True
        except Exception:
            # the call goes on (the store journals writes while the database is down)
            log.exception("could not open the call record")

    async def _open_media(self) -> None:
        if self.media_mode == "agi":
            self.media = AgiMedia(
                self.agi, sounds_dir=self.settings.sounds_dir, wav_for=self.rt.speaker.wav_path,
                endpointer_factory=self.rt.endpointer, call_id=self.call_id,
            )
        else:
            try:
                channel = await self.rt.audiosocket.open_channel(self.agi, timeout=5.0)
            except Exception as exc:
                if type(exc).__name__ == "AgiHangup" or getattr(self.agi, "hung_up", False):
                    raise _Hangup() from exc
                raise
            self.media = AudioSocketMedia(channel, self.rt.endpointer, on_event=self._media_event)
        await self.media.start()

    def _media_event(self, kind: str, data: dict) -> None:
        self._emit(kind, **data)

    # ------------------------------------------------------------------ dialog loop
    async def _dialog(self) -> None:
        from dialogs.events import CallStarted

        self.engine = self.rt.new_engine()
        today = self.rt.clock().astimezone(self.settings.hours().tz).date().isoformat()
        actions = list(self.engine.handle(CallStarted(
            caller_number=self.caller or None, call_id=self.call_id, today=today)))
        while True:
            event = await self._execute(actions)
            if event is None:
                return
            actions = self.engine.handle(event)

    async def _execute(self, actions: list) -> Any:
        """Run actions in order; return the next event for the engine, or None when done."""
        from dialogs.actions import CreateTicket, EndCall, Listen, LookupTicket, Say, Transfer
        from dialogs import events as ev

        interrupted = False
        reply_event: Any = None
        listen: Any = None
        played_any = False
        upcoming = next((a for a in reversed(actions) if isinstance(a, Listen)), None)
        self._batch += 1
        if upcoming is not None:
            self._emit("expect", batch=self._batch, state=upcoming.state, kind=upcoming.kind,
                       dtmf=dict(upcoming.dtmf or {}), max_digits=upcoming.max_digits)
        if self.media is not None and hasattr(self.media, "stream_factory"):
            # speech over these prompts (barge-in) is recognised against what comes next
            self.media.stream_factory = (
                (lambda la=upcoming: self.rt.open_stream(la, self.media.sample_rate)) if upcoming else None)
        skip = self._announcements_to_skip(actions, Say, Transfer)
        if skip:
            skip = await self._unless_transfer_possible(skip, actions, Transfer)
        for action in actions:
            if isinstance(action, Say):
                if id(action) in skip:
                    self._emit("say_skipped", text=action.text)
                    continue
                if interrupted:
                    self._emit("say_skipped", text=action.text)
                    continue
                res = await self._say(action)
                played_any = True
                if res.barged:
                    interrupted = True
            elif isinstance(action, Listen):
                listen = action
            elif isinstance(action, CreateTicket):
                reply_event = await self._create_ticket(action)
            elif isinstance(action, LookupTicket):
                reply_event = await self._lookup_ticket(action)
            elif isinstance(action, Transfer):
                failed = await self._transfer(action)
                if failed is None:
                    return None
                reply_event = failed
            elif isinstance(action, EndCall):
                await self._end_call(action)
                return None
            else:
                log.warning("unknown action %s ignored", type(action).__name__)
        if reply_event is not None:
            return reply_event
        if listen is not None:
            return await self._listen(listen)
        if played_any and hasattr(ev, "PlaybackDone"):
            return ev.PlaybackDone()
        # the engine gave nothing to do: the dialog is over
        self.outcome.end_reason = "completed"
        await self._hangup_agi()
        return None

    @staticmethod
    def _announcements_to_skip(actions: list, say_type: type, transfer_type: type) -> set[int]:
        """The "please hold, connecting you" prompt right before a Transfer, if any."""
        for i, action in enumerate(actions):
            if isinstance(action, transfer_type) and i > 0 and isinstance(actions[i - 1], say_type):
                return {id(actions[i - 1])}
        return set()

    async def _unless_transfer_possible(self, skip: set[int], actions: list, transfer_type: type) -> set[int]:
        """Keep the hold announcement only if the hand-off can happen: a caller is never told
        "connecting you" and then "no agent is available" (no agents logged in, closed hours)."""
        handoff = getattr(self.rt, "handoff", None)
        transfer = next(a for a in actions if isinstance(a, transfer_type))
        if handoff is None:
            return set()
        try:
            ok, _why = await handoff.availability(handoff.queue_for(getattr(transfer, "queue", None)))
        except Exception:  # the transfer itself will find out and report it
            return set()
        return set() if ok else skip

    # ------------------------------------------------------------------ Say
    async def _say(self, action: Any) -> PlayResult:
        t0 = time.monotonic()
        pcm = await self.rt.speaker.pcm(action.text, static=bool(getattr(action, "static", False)),
                                        audio_file=getattr(action, "audio_file", None))
        prep_ms = (time.monotonic() - t0) * 1000
        barge = bool(getattr(action, "barge_in", True)) and self.settings.barge_in
        self._emit("say", text=action.text, prompt_id=getattr(action, "prompt_id", None),
                   seconds=len(pcm) / 2 / self.rt.sample_rate, barge_in=barge,
                   state=getattr(self.engine, "state", None))
        self._turn_idx += 1
        self._turns.append(Turn(idx=self._turn_idx, state=self._state, source="prompt", at=self.rt.clock(),
                                who="system", text=action.text))
        # the first reply audio goes out now: that closes the turns waiting for it
        first_byte = time.monotonic()
        replied = [t for t in self._unreplied if t.ref_at is not None]
        for turn in replied:
            turn.reply_ms = max(0.0, (first_byte - turn.ref_at) * 1000)
            turn.extra["prep_ms"] = round(prep_ms, 2)
        if replied:
            self._emit("reply", reply_ms=replied[-1].reply_ms, text=action.text)
        res = await self.media.play(pcm, barge_in=barge, text=action.text)
        await self._flush_turns()
        self.transcript.append({"who": "system", "text": action.text})
        if res.barged:
            self._emit("barged", by=res.barged, onset=res.barge_onset_at, detected=res.barge_detected_at,
                       stopped=res.stopped_at, started=res.started_at)
        else:
            self._emit("said", text=action.text, completed=res.completed)
        return res

    # ------------------------------------------------------------------ Listen
    async def _listen(self, action: Any) -> Any:
        from dialogs.events import Heard, NoInput, Pressed

        self._state = getattr(action, "state", None)
        dtmf_map = dict(getattr(action, "dtmf", None) or {})
        max_digits = getattr(action, "max_digits", None)
        spec = ListenSpec(
            timeout_s=float(getattr(action, "timeout_s", None) or self.settings.no_input_timeout_s),
            speech=True,
            max_digits=max_digits if max_digits else (1 if dtmf_map else None),
            interdigit_s=self.settings.dtmf_interdigit_timeout_s,
            max_speech_s=self.settings.max_utterance_s,
        )
        self._emit("listen", batch=self._batch, state=self._state, kind=getattr(action, "kind", None), dtmf=dtmf_map,
                   max_digits=max_digits, expect_labels=list((getattr(action, "expect", None) or {}).keys()))
        got: CallerInput = await self.media.listen(spec)
        self._turn_idx += 1
        turn = Turn(idx=self._turn_idx, state=self._state, source=got.kind, at=self.rt.clock())
        if got.kind == "noinput":
            turn.source = "event"
            turn.text = "(no input)"
            self._emit("noinput", state=self._state, waited_s=got.waited_s)
            self._turns.append(turn)
            await self._flush_turns()
            return NoInput()
        if got.kind == "dtmf":
            turn.digits = got.digits
            turn.text = got.digits
            turn.ref_at = got.last_key_at
            turn.detected_at = time.monotonic()
            self._emit("pressed", digits=got.digits, state=self._state)
            self.transcript.append({"who": "caller", "keys": got.digits, "state": self._state})
            self._turns.append(turn)
            self._unreplied.append(turn)
            return Pressed(got.digits)
        utt = got.utterance
        assert utt is not None
        turn.ref_at = utt.end_at
        turn.detected_at = utt.detected_at
        turn.speech_s = round(utt.seconds, 3)
        t0 = time.monotonic()
        try:
            heard = await self.rt.understand(utt, action)
        except Exception:
            # a recognizer failure must not end the call: the engine's ladder takes over
            log.exception("recognition failed")
            from ivr.runtime import HeardResult

            heard = HeardResult(text="", confidence=0.0)
        turn.asr_ms = (time.monotonic() - t0) * 1000
        turn.text = heard.text
        turn.intent = heard.intent
        turn.confidence = heard.confidence
        turn.extra["endpoint_ms"] = round((utt.detected_at - utt.end_at) * 1000, 1)
        if heard.intent:
            self.intent = heard.intent if heard.intent not in ("yes", "no") else self.intent
        self._emit("heard", text=heard.text, intent=heard.intent, confidence=heard.confidence,
                   state=self._state, asr_ms=turn.asr_ms, speech_s=utt.seconds)
        self.transcript.append({"who": "caller", "text": heard.text, "intent": heard.intent,
                                "confidence": round(float(heard.confidence or 0), 3), "state": self._state})
        self._turns.append(turn)
        self._unreplied.append(turn)
        kwargs: dict[str, Any] = {}
        if heard.slots:
            kwargs["slots"] = dict(heard.slots)
        return Heard(heard.text, float(heard.confidence or 0.0), intent=heard.intent, **kwargs)

    # ------------------------------------------------------------------ tickets
    async def _create_ticket(self, action: Any) -> Any:
        from dialogs.events import TicketCreated

        from ivr.storage.ticket_ids import format_ticket_id

        fields = dict(getattr(action, "fields", {}) or {})
        self.slots.update({k: v for k, v in fields.items() if v not in (None, "") and k != "call_id"})
        ticket_id = await self.rt.store.create_ticket(action.kind, **ticket_kwargs(fields, self.call_id))
        self.ticket_id = str(ticket_id)  # the machine key (10 digits)
        self.outcome.tickets.append(self.ticket_id)
        written = format_ticket_id(self.ticket_id)  # what people read and hear: 2611-00042-7
        log.info("ticket created", extra={"ticket": written, "kind": action.kind})
        self._emit("ticket", ticket_id=self.ticket_id, display_id=written, kind=action.kind)
        return TicketCreated(written)

    async def _lookup_ticket(self, action: Any) -> Any:
        from dialogs.events import TicketStatus

        from ivr.storage.ticket_ids import format_ticket_id

        status = updated = None
        try:
            ticket = await self.rt.store.get_ticket(action.ticket_id)
            if ticket is not None:
                status = ticket.status
                local = ticket.updated_at.astimezone(self.settings.hours().tz)
                updated = local.strftime("%d-%m-%Y")
        except Exception:
            log.exception("ticket lookup failed")
        self._emit("ticket_status", ticket_id=action.ticket_id, status=status)
        # read back as people write it (ten digits in their groups, found or not)
        return TicketStatus(format_ticket_id(action.ticket_id), status, updated)

    # ------------------------------------------------------------------ transfer / end
    async def _transfer(self, action: Any) -> Any:
        """Hand the call over. Returns None when transferred, or the TransferFailed event."""
        result = await self.rt.handoff.transfer(self, action)
        if result.ok:
            self.outcome.transferred = True
            self.outcome.queue = result.queue
            self.outcome.end_reason = "transferred"
            self._emit("transfer", queue=result.queue, call_id=self.call_id)
            return None
        self._emit("transfer_failed", reason=result.reason, queue=result.queue)
        from dialogs.events import TransferFailed

        try:
            return TransferFailed(result.reason)
        except TypeError:
            return TransferFailed()

    async def _end_call(self, action: Any) -> None:
        self.outcome.end_reason = getattr(action, "reason", None) or "completed"
        self._emit("end_call", reason=self.outcome.end_reason)
        await self._hangup_agi()

    async def _hangup_agi(self) -> None:
        if self.media is not None:
            with contextlib.suppress(Exception):
                await self.media.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.agi.hangup(), 5.0)

    # ------------------------------------------------------------------ hang-up and close
    async def _on_hangup(self, reason: str = "caller_hangup") -> None:
        """Tell the engine, and file what it asks for (the script's flows file an unfinished
        complaint, marked incomplete); never touch the media."""
        self._emit("hangup", state=self._state, reason=reason)
        if self.engine is None:
            return
        from dialogs.actions import CreateTicket
        from dialogs.events import Hangup

        try:
            actions = list(self.engine.handle(Hangup()))
        except Exception:
            log.exception("engine failed on hang-up")
            actions = []
        for action in actions:
            if isinstance(action, CreateTicket):
                try:
                    await self._create_ticket(action)
                except Exception:
                    log.exception("could not file the ticket after hang-up")

    async def _flush_turns(self) -> None:
        """Queue the turns that are complete for storage; a per-call writer task stores them in
        order, off the path between the caller's input and our reply."""
        ready = [t for t in self._turns if not t.extra.get("_queued")
                 and not (t in self._unreplied and t.reply_ms is None)]
        for turn in ready:
            turn.extra["_queued"] = True
            self._write_q.append(turn)
        self._unreplied = [t for t in self._unreplied if t.reply_ms is None]
        self._turns = [t for t in self._turns if not t.extra.get("_queued")]
        if self._write_q and (self._writer is None or self._writer.done()):
            self._writer = asyncio.create_task(self._write_turns(), name=f"turns-{self.call_id[:8]}")

    async def _write_turns(self) -> None:
        while self._write_q:
            await self._store_turn(self._write_q.pop(0))

    async def _store_turn(self, turn: Turn) -> None:
        turn.extra["_stored"] = True
        self.outcome.turns += 1
        try:
            await self.rt.store.add_turn(
                self.call_id, turn.idx, turn.who, turn.text, source=turn.source, at=turn.at,
                intent=turn.intent, confidence=turn.confidence, asr_ms=turn.asr_ms, reply_ms=turn.reply_ms,
            )
        except Exception:
            log.exception("could not store turn %s", turn.idx)
        log.info("turn", extra={"idx": turn.idx, "state": turn.state, "source": turn.source,
                                "intent": turn.intent, "confidence": turn.confidence,
                                "asr_ms": _r(turn.asr_ms), "reply_ms": _r(turn.reply_ms)})

    async def _finish(self, end_reason: str) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer
        self._write_q.extend(t for t in self._turns if not t.extra.get("_queued"))
        self._turns.clear()
        await self._write_turns()
        self._unreplied.clear()
        if self.media is not None and not self.outcome.transferred:
            with contextlib.suppress(Exception):
                await self.media.close()
        try:
            await self.rt.store.close_call(self.call_id, end_reason,
                                           handoff_outcome="pending" if self.outcome.transferred else None)
        except Exception:
            log.exception("could not close the call record")
        seconds = time.monotonic() - self._started
        log.info("call ended", extra={"end_reason": end_reason, "turns": self.outcome.turns,
                                      "seconds": round(seconds, 2), "state": self._state})
        self._emit("call_ended", reason=end_reason, turns=self.outcome.turns, seconds=seconds,
                   tickets=list(self.outcome.tickets))

    # ------------------------------------------------------------------ for the hand-off
    def context_for_agent(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "caller": self.caller or None,
            "intent": self.intent,
            "state": self._state,
            "slots": dict(self.slots),
            "ticket_id": self.ticket_id,
            "transcript": list(self.transcript),
        }


class _Hangup(Exception):
    """AGI reported the caller hung up."""


def _arg_mode(agi: Any) -> str | None:
    for a in getattr(agi, "args", None) or []:
        if a in ("agi", "audiosocket"):
            return a
    return None


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


_TICKET_COLUMNS = ("category", "location", "description", "reporter_name", "reporter_nik", "reporter_phone")


def ticket_kwargs(fields: dict[str, Any], call_id: str) -> dict[str, Any]:
    """The dialog's CreateTicket fields -> Store.create_ticket keyword arguments."""
    kw: dict[str, Any] = {"call_id": call_id}
    extra: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, str):
            value = value.strip()
        if value in (None, ""):
            continue
        if key in _TICKET_COLUMNS:
            kw[key] = str(value)
        elif key in ("phone", "callback_number") and "reporter_phone" not in fields:
            kw["reporter_phone"] = str(value)
        elif key == "confidential":
            kw["confidential"] = str(value).lower() in ("ya", "yes", "true", "1", "iya")
        elif key == "call_id":
            continue  # the runtime's own id is authoritative
        else:
            extra[key] = value
    if extra:
        kw["extra"] = extra
    return kw
