"""A simulated caller that reacts to the hotline, for end-to-end tests and benches.

It drives the Asterisk peer through its public ``Call`` step: each time the in-process
hotline starts listening, the caller decides what to do (speak a synthesised request, press
keys, answer a confirmation truthfully, use the keypad once it is offered, hang up) and
appends those steps to the peer call's script. Silence keeps flowing while it waits, as it
does on a real line.

The caller knows only what a person on the phone would: the prompt it heard (its text and
prompt id, from the session's events) and the menu keys announced (the Listen's DTMF map).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dialogs import Script
from ivr.calls.ports import LiveCall
from ivr.calls.runtime import Runtime
from telephony.peer import AsteriskPeer, Call, CallResult, Dtmf, Hangup, PeerCall, PeerEvent, SayPcm, Silence, Step

CONFIRM_PROMPT = "settings.confirm_intent"


@dataclass
class Answer:
    """What the caller does in one state: speech (8 kHz PCM) and/or keys."""

    speech: bytes | None = None
    keys: str | None = None
    speech_alt: list[bytes] = field(default_factory=list)  # other phrasings for reprompts


@dataclass
class Goal:
    intent: str | None = None  # the service to reach from the menus (e.g. "ktp")
    speech: list[bytes] = field(default_factory=list)  # phrasings of the request, 8 kHz PCM
    answers: dict[str, Answer] = field(default_factory=dict)  # per state
    keypad_only: bool = False
    success_state: str | None = None  # reaching it (a prompt in it) counts as success
    hang_up_in: str | None = None  # hang up as soon as this state listens
    hang_up_on_success: bool = True
    listen_after_success_s: float = 0.0  # keep listening this long (hotline time) first
    max_turns: int = 12
    barge_in_after_s: float | None = None  # answer this long into a prompt that allows barge-in
    hear_whole: tuple[str, ...] = ()  # states whose prompts are heard to the end all the same
    yes: bytes | None = None  # how this caller says "ya" / "tidak"
    no: bytes | None = None


@dataclass
class Outcome:
    success: bool = False
    turns: int = 0
    states: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # prompt ids heard
    confirmations: int = 0
    keypad_used: bool = False
    success_at: float | None = None


class EventRouter:
    """Routes a runtime's session events to the simulated caller of that call."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self._callers: dict[str, "ReactiveCaller"] = {}
        runtime.call_listeners.append(self._on)

    def attach(self, channel_uniqueid: str, caller: "ReactiveCaller") -> None:
        self._callers[channel_uniqueid] = caller

    def detach(self, channel_uniqueid: str) -> None:
        self._callers.pop(channel_uniqueid, None)

    def close(self) -> None:
        if self._on in self.rt.call_listeners:
            self.rt.call_listeners.remove(self._on)

    def _on(self, session: LiveCall, kind: str, data: dict[str, Any]) -> None:
        caller = self._callers.get(session.channel_id or "")
        if caller is not None:
            caller.on_session_event(session, kind, data)


class ReactiveCaller:
    def __init__(self, script: Script, goal: Goal, *, speed: float = 1.0, gap_s: float = 0.25) -> None:
        self.script = script
        self.goal = goal
        self.speed = speed
        self.gap_s = gap_s
        self.outcome = Outcome()
        self.session: LiveCall | None = None
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._listen: dict[str, Any] | None = None
        self._expect: dict[str, Any] | None = None
        self._answered_batch = -1
        self._say_at = 0.0
        self._last_say: dict[str, Any] | None = None
        self._attempts: dict[str, int] = {}
        self._hanging = False
        self._success_wait_until: float | None = None

    # -- the peer side
    def steps(self) -> list[Step]:
        return [Call(self._step)]

    def _sim(self, seconds: float) -> float:
        """Seconds of caller time for ``seconds`` of wall time (the peer scales its clock)."""
        return seconds * self.speed

    async def _step(self, call: PeerCall) -> None:
        if self._hanging or call.dead:
            return
        if self.outcome.success and self.goal.hang_up_on_success:
            loop = asyncio.get_running_loop()
            if self._success_wait_until is None:
                self._success_wait_until = loop.time() + self.goal.listen_after_success_s
            if loop.time() >= self._success_wait_until:
                self._hanging = True
                call.script.append(Hangup())
                return
        listen, self._listen = self._listen, None
        if listen is not None and listen.get("batch") == self._answered_batch:
            listen = None  # already answered over the prompt (barge-in)
        if listen is None and self.goal.barge_in_after_s is not None and self._expect is not None:
            say = self._last_say or {}
            loop = asyncio.get_running_loop()
            if (say.get("barge_in") and self._expect.get("batch") != self._answered_batch
                    and self._expect.get("state") not in self.goal.hear_whole
                    and loop.time() - self._say_at >= self.goal.barge_in_after_s):
                listen = self._expect
        if listen is not None:
            self._answered_batch = listen.get("batch", -2)
        if listen is None:
            call.script.extend([Silence(self._sim(0.1)), Call(self._step)])
            return
        if self.outcome.success and self.goal.hang_up_on_success:
            call.script.extend([Silence(self._sim(0.1)), Call(self._step)])
            return
        todo = self.decide(listen)
        if todo is None:
            self._hanging = True
            call.script.append(Hangup())
            return
        call.script.extend([Silence(self._sim(self.gap_s)), *todo, Call(self._step)])

    # -- the hotline side
    def on_session_event(self, session: LiveCall, kind: str, data: dict[str, Any]) -> None:
        self.session = session
        self.events.append((kind, data))
        if kind == "expect":
            self._expect = data
        elif kind == "say":
            self._last_say = data
            self._say_at = asyncio.get_running_loop().time()
            pid = data.get("prompt_id") or ""
            self.outcome.said.append(pid)
            state = data.get("state")
            if state and (not self.outcome.states or self.outcome.states[-1] != state):
                self.outcome.states.append(state)
            if self.goal.success_state and state == self.goal.success_state and not self.outcome.success:
                self.outcome.success = True
                self.outcome.success_at = asyncio.get_running_loop().time()
        elif kind == "listen":
            self._listen = data
        elif kind == "ticket" and self.goal.success_state == "ticket":
            self.outcome.success = True

    # -- policy
    def decide(self, listen: dict[str, Any]) -> list[Step] | None:
        state = listen.get("state") or ""
        dtmf: dict[str, str] = listen.get("dtmf") or {}
        g = self.goal
        if g.hang_up_in and state == g.hang_up_in:
            return None
        if self.outcome.turns >= g.max_turns:
            return None
        self.outcome.turns += 1
        n = self._attempts[state] = self._attempts.get(state, 0) + 1
        say = self._last_say or {}
        pid = say.get("prompt_id") or ""
        keypad_offered = ".keypad" in pid or "keypad_" in pid
        tail: list[Step] = [Silence(self._sim(1.0))]

        def speak(pcm: bytes | None) -> list[Step]:
            assert pcm is not None
            return [SayPcm(pcm, 8000), *tail]

        def press(keys: str) -> list[Step]:
            self.outcome.keypad_used = True
            return [Dtmf(keys), *tail]

        if pid.startswith(CONFIRM_PROMPT):
            self.outcome.confirmations += 1
            truthful = self._confirmation_matches(say.get("text") or "")
            if g.keypad_only or keypad_offered or (truthful and g.yes is None) or (not truthful and g.no is None):
                return press("1" if truthful else "2")
            return speak(g.yes if truthful else g.no)
        if state in g.answers:
            a = g.answers[state]
            if a.keys and (g.keypad_only or keypad_offered or a.speech is None):
                return press(a.keys)
            if a.speech is not None:
                alts = [a.speech, *a.speech_alt]
                return speak(alts[(n - 1) % len(alts)])
            return [Silence(self._sim(1.0))]
        if g.intent:
            key = self._menu_key(dtmf, g.intent)
            if key is not None and (g.keypad_only or keypad_offered or not g.speech or n > 2):
                return press(key)
            if g.speech:
                return speak(g.speech[(n - 1) % len(g.speech)])
            if key is not None:
                return press(key)
        return None

    def _confirmation_matches(self, text: str) -> bool:
        g = self.goal
        if not g.intent:
            return True
        intent = self.script.intents.get(g.intent)
        label = (intent.label if intent is not None else None) or g.intent.replace("_", " ")
        return label.lower() in text.lower()

    def _menu_key(self, dtmf: dict[str, str], intent: str) -> str | None:
        """The key announced for ``intent``, or for the sub-menu that offers it."""
        for key, label in dtmf.items():
            if label == intent:
                return key
        states = self.script.states
        sub_menus = self.script.menu_states - {self.script.entry_menu}
        for key, label in dtmf.items():
            st_id = None
            for st in states.values():
                on = st.on
                if label in on and on[label] in sub_menus:
                    st_id = on[label]
                    break
            if st_id is None:
                continue
            sub = states[st_id]
            ls = sub.listen
            if ls is not None and intent in ls.dtmf.values():
                return key
        return None


def service_state(script: Script, intent: str, menu: str | None = None) -> str | None:
    """The state the entry menu (or ``menu``) goes to for ``intent`` (e.g. ktp -> info_ktp)."""
    st = script.states.get(menu or script.entry_menu)
    return st.on.get(intent) if st is not None else None


async def run_caller(peer: AsteriskPeer, router: EventRouter, caller: ReactiveCaller, *,
                     caller_id: str = "081234567890", max_seconds: float = 300.0,
                     on_event: Callable[[PeerEvent], None] | None = None) -> CallResult:
    """Place one reactive call; returns the peer's CallResult (``caller.outcome`` has the rest)."""
    call = peer.start_call(caller.steps(), caller_id=caller_id, realtime=caller.speed,
                           max_seconds=max_seconds, on_event=on_event)
    router.attach(call.uniqueid, caller)
    try:
        return await call.result()
    finally:
        router.detach(call.uniqueid)
