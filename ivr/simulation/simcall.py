"""A simulated call through the Asterisk peer, for ``ivr call``, tests and benches.

Steps (as ``ivr call`` takes them): a WAV file the caller says, ``dtmf:<digits>``,
``wait:<seconds>`` (silence), ``wait:prompt`` (silence until the hotline has stopped talking)
and ``hangup``. The call is placed against a running controller (``host:port``) or an
in-process one built from the settings.

Events, in order, as plain dicts ``{"t": seconds since the call started, "who": ...,
"event": ..., ...}``:

* from the peer (what a caller's phone sees): ``caller_says``, ``caller_keys``,
  ``caller_hangup``, ``hotline_audio`` (first audio after a pause), ``call_ended``;
* from an in-process session (what the hotline decided): ``hotline_says`` (the prompt text),
  ``hotline_heard`` (text, intent, confidence, recognition time), ``hotline_keys``,
  ``reply`` (end of caller speech or last key -> first reply audio, ms), ``barge_in``,
  ``ticket`` (``ticket_id``: the 10-digit key, ``display_id``: as people write it),
  ``transfer``, ``hangup``.

Against a running controller only the peer's events exist: the caller's side knows what
Asterisk knows (AGI commands, channel variables, the audio), not what the hotline decided.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.calls.ports import LiveCall
from ivr.calls.runtime import Runtime
from ivr.storage import Call, Store
from ivr.storage.ticket_ids import format_ticket_id
from telephony.peer import AsteriskPeer, CallResult, Dtmf, Hangup, PeerEvent, SayWav, Silence, Step, WaitForSilence
from telephony.peer.audio import read_wav


class StepError(ValueError):
    """A step given to ``ivr call`` that cannot be understood."""


def parse_steps(specs: list[str]) -> list[Step]:
    """``["hello.wav", "dtmf:12#", "wait:2", "wait:prompt", "hangup"]`` -> peer script steps."""
    steps: list[Step] = []
    for raw in specs:
        spec = raw.strip()
        low = spec.lower()
        if low == "hangup":
            steps.append(Hangup())
        elif low.startswith("dtmf:"):
            digits = spec[5:].strip()
            if not digits or any(c not in "0123456789*#ABCDabcd" for c in digits):
                raise StepError(f"{raw!r}: dtmf needs keys from 0-9 * # A-D, e.g. dtmf:12#")
            steps.append(Dtmf(digits.upper()))
        elif low.startswith("wait:"):
            arg = spec[5:].strip().lower()
            if arg in ("prompt", "silence", "quiet"):
                steps.append(WaitForSilence(min_seconds=0.8, timeout=120.0))
                continue
            try:
                seconds = float(arg.rstrip("s"))
            except ValueError:
                raise StepError(f"{raw!r}: wait needs seconds (wait:2.5) or wait:prompt") from None
            if not 0 <= seconds <= 600:
                raise StepError(f"{raw!r}: wait between 0 and 600 seconds")
            steps.append(Silence(seconds))
        else:
            path = Path(spec)
            if not path.is_file():
                raise StepError(f"{raw!r}: no such WAV file (steps: FILE.wav, dtmf:<keys>, wait:<s>, hangup)")
            try:
                read_wav(path)
            except Exception as exc:
                raise StepError(f"{raw!r}: not a readable WAV file ({exc})") from None
            steps.append(SayWav(path))
    return steps


@dataclass
class SimCallReport:
    result: CallResult
    events: list[dict[str, Any]] = field(default_factory=list)
    call_id: str | None = None  # the hotline's call id (in-process, or found in the store)
    replies_ms: list[float] = field(default_factory=list)  # hotline-measured reply times
    peer_latencies_ms: list[float] = field(default_factory=list)  # peer view: speech end -> audio


async def place_call(
    steps: list[Step],
    *,
    agi: tuple[str, int],
    caller_id: str = "081234567890",
    speed: float = 1.0,
    runtime: Runtime | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    max_seconds: float = 600.0,
) -> SimCallReport:
    """Run one call; ``runtime`` (in-process controller) adds the hotline's own events."""
    loop = asyncio.get_running_loop()
    events: list[dict[str, Any]] = []
    t0 = [loop.time()]
    replies_ms: list[float] = []
    mine: dict[str, LiveCall | None] = {"session": None}

    def emit(ev: dict[str, Any]) -> None:
        events.append(ev)
        if on_event is not None:
            on_event(ev)

    def peer_event(pe: PeerEvent) -> None:
        kind = pe.kind
        data = dict(pe.data or {})
        t = round(float(pe.t), 3)
        if kind == "call_started":
            emit({"t": t, "who": "call", "event": "call_started", "caller_id": caller_id})
        elif kind == "caller_speech_start":
            emit({"t": t, "who": "caller", "event": "caller_says", "seconds": data.get("seconds")})
        elif kind == "dtmf_sent":
            emit({"t": t, "who": "caller", "event": "caller_keys", "digits": data.get("digit")})
        elif kind == "caller_hangup":
            emit({"t": t, "who": "caller", "event": "caller_hangup"})
        elif kind == "heard_start":
            emit({"t": t, "who": "hotline", "event": "hotline_audio"})
        elif kind == "ended":
            emit({"t": t, "who": "call", "event": "call_ended", "ended_by": data.get("ended_by"),
                  "agi_status": data.get("agi_status")})

    listener: Callable[[LiveCall, str, dict[str, Any]], None] | None = None
    if runtime is not None:
        def _listener(session: LiveCall, kind: str, data: dict[str, Any]) -> None:
            if mine["session"] is None and kind == "call_started":
                mine["session"] = session  # the first call started after ours was placed
            if session is not mine["session"]:
                return
            t = round(time.monotonic() - t0[0], 3)
            if kind == "say":
                emit({"t": t, "who": "hotline", "event": "hotline_says", "text": data.get("text"),
                      "seconds": round(float(data.get("seconds") or 0), 2)})
            elif kind == "heard":
                emit({"t": t, "who": "hotline", "event": "hotline_heard", "text": data.get("text"),
                      "intent": data.get("intent"), "confidence": _r3(data.get("confidence")),
                      "asr_ms": _r1(data.get("asr_ms")), "state": data.get("state")})
            elif kind == "pressed":
                emit({"t": t, "who": "hotline", "event": "hotline_keys", "digits": data.get("digits"),
                      "state": data.get("state")})
            elif kind == "noinput":
                emit({"t": t, "who": "hotline", "event": "no_input", "state": data.get("state")})
            elif kind == "reply":
                ms = data.get("reply_ms")
                if ms is not None:
                    replies_ms.append(float(ms))
                emit({"t": t, "who": "hotline", "event": "reply", "reply_ms": _r1(ms)})
            elif kind == "barged":
                emit({"t": t, "who": "hotline", "event": "barge_in", "by": data.get("by")})
            elif kind == "ticket":
                emit({"t": t, "who": "hotline", "event": "ticket", "ticket_id": data.get("ticket_id"),
                      "display_id": format_ticket_id(str(data.get("ticket_id") or "")), "kind": data.get("kind")})
            elif kind == "transfer":
                emit({"t": t, "who": "hotline", "event": "transfer", "queue": data.get("queue")})
            elif kind == "transfer_failed":
                emit({"t": t, "who": "hotline", "event": "transfer_failed", "reason": data.get("reason")})
            elif kind == "end_call":
                emit({"t": t, "who": "hotline", "event": "hangup", "reason": data.get("reason")})

        listener = _listener
        runtime.call_listeners.append(listener)
    try:
        peer = AsteriskPeer(agi[0], agi[1], sounds_dir=runtime.settings.sounds_dir if runtime is not None else None)
        t0[0] = loop.time()
        call = peer.start_call(steps, caller_id=caller_id, realtime=speed, on_event=peer_event,
                               max_seconds=max_seconds)
        result = await call.result()
    finally:
        if runtime is not None and listener is not None:
            runtime.call_listeners.remove(listener)
    report = SimCallReport(result=result, events=events, replies_ms=replies_ms)
    session = mine["session"]
    if session is not None:
        report.call_id = session.call_id
    report.peer_latencies_ms = [round(x * 1000, 1) for x in result.response_latencies()]
    return report


async def find_call_in_store(store: Store, channel_id: str, *, tries: int = 20) -> Call | None:
    """The hotline's record of the call the peer placed (matched by the AGI uniqueid)."""
    for _ in range(tries):
        for c in await store.calls.recent(limit=50):
            if c.channel_id == channel_id:
                full = await store.calls.get(c.id)
                if full is not None and full.ended_at is not None:
                    return full
        await asyncio.sleep(0.25)
    return None


def _r1(v: Any) -> float | None:
    return None if v is None else round(float(v), 1)


def _r3(v: Any) -> float | None:
    return None if v is None else round(float(v), 3)
