"""The dialog engine: events in, actions out. Pure: no I/O, no clock, no randomness.

One engine per call. `start()` (or `handle(CallStarted(...))`) enters the script's start
state; each later event returns the list of actions to perform, in order. The whole dialog
state is a small JSON-safe dict (`snapshot()` / `DialogEngine.restore()`).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypedDict, cast

from dialogs.emergency import DEFAULT as EMERGENCY
from dialogs.actions import Action, CreateTicket, EndCall, Listen, LookupTicket, Say, Transfer, TransferContext
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
    TicketCreated,
    TicketStatus,
    TransferFailed,
)
from dialogs.lang.asking import asks_question
from dialogs.lang.greetings import REPLIES as GREETING_REPLIES
from dialogs.lang.greetings import greeting_reply
from dialogs.lang.ids import normalize_phone, validate_nik
from dialogs.lang.normalize import normalize
from dialogs.lang.numbers import words_to_digits
from dialogs.matcher import OTHER_TOPIC, Match
from dialogs.model import Flow, FlowCancel, Prompt, Script, State
from dialogs.personal import FIELD_KIND, PLACEHOLDER, answer_kind, personal_variables
from dialogs.slots import parse_slot
from dialogs.templates import render

log = logging.getLogger(__name__)

SNAPSHOT_VERSION = 1
_MAX_HOPS = 64
_MAX_PATH = 50
_FORMAT_SPEC = re.compile(r"\{([a-z][a-z0-9_]*):[a-z]+\}")  # "{caller_number:digits}"
_NO_WORDS = {"tidak", "bukan", "salah", "jangan", "batal", "belum", "keliru", "jangan"}
_YES_WORDS = {"ya", "betul", "benar", "boleh", "oke", "setuju", "silakan", "silahkan",
              "tentu", "baik", "lanjut", "yakin", "sip", "yes"}
_WEAK_YES = {"mau", "bisa", "sudah", "pernah", "ada"}   # yes only as a short answer
_KEY_WORDS = {"*": "bintang", "#": "pagar"}
_DIGITS_KINDS = {"digits", "nik", "phone", "ticket", "date"}


def yes_or_no(text: str) -> str | None:
    """Rule-based yes/no for short answers: negation wins ("tidak benar" is no)."""
    words = normalize(text).split()
    if not words:
        return None
    # the answer comes first: "ya, tidak apa-apa" is yes, "tidak, saya mau ..." is no,
    # "belum benar" is no; words after the fourth are the caller going on about something else
    short = len(words) <= 3
    for w in words[:4]:
        if w in _NO_WORDS:
            return "no"
        if w in _YES_WORDS or (short and w in _WEAK_YES):
            return "yes"
    return None


class Snapshot(TypedDict):
    """The whole dialog state of a call, JSON-safe (`DialogEngine.snapshot`)."""

    v: int
    script: str
    state: str | None
    phase: str          # idle | listening | confirming | waiting_ticket | waiting_lookup | transferring | ended
    vars: dict[str, str]
    misses: int
    confirm_misses: int
    pending: str | None
    after: str | list[str] | None   # waiting_ticket: next state; waiting_lookup: [found, not_found]
    on_failed: str | None
    last_intent: str | None
    last_confidence: float | None
    path: list[str]
    filed: bool         # a ticket was asked for since the caller entered the current flow
    answered: str | None  # the follow-up question last answered in place in this state ("ulangi" repeats it)
    request: str | None   # the words of the request being acted on, until the next listen (`carried`)
    offered: bool         # the whole answer was offered after the reply to the request's question
    kept: bool            # the caller said no to "Anda ingin membatalkan ...?" in the current state


class _Turn(TypedDict):
    state: str
    input: str
    outcome: str
    intent: str | None
    confidence: float | None
    candidate: str | None
    beyond: str | None


@dataclass(frozen=True)
class TurnResult:
    """How the engine took one input of the caller, for tools and logs (`ivr chat`).

    state: the state that was listening; input: "speech", "keys" or "none" (silence);
    outcome: "accepted" (``intent`` taken: an intent, a choice option, "yes"/"no" or a global
    command), "confirming" (the caller is asked whether ``intent`` is meant), "denied" (the
    caller said no to the question about ``intent``), "filled" (the listen's slot took the
    answer), or not understood: "no_match", "invalid", "no_input" (``intent`` None;
    ``candidate`` is the best intent that fell short of the thresholds, if there was one).
    confidence: the confidence the decision was made with (for speech not matched to
    anything, the recognizer's). beyond: the out-of-scope topic ("paspor") when the caller
    was told the request is outside the hotline's services (outcome "no_match").
    """

    state: str
    input: str
    outcome: str
    intent: str | None = None
    confidence: float | None = None
    candidate: str | None = None
    beyond: str | None = None


class DialogEngine:
    def __init__(self, script: Script, *, strict: bool = False,
                 personal_names: Callable[[str], bool] | None = None):
        """strict=True lets internal errors propagate (tests); otherwise an unexpected
        error is logged and the caller is handed to an agent. ``personal_names``: the runtime's
        rule for variables personal by their name (``alamat_rumah``, ``no_kk``): a prompt saying
        one the script alone does not count as personal, or counts as free text, keeps it as a
        placeholder of kind ``"field"`` (hidden whole)."""
        self.script = script
        self.strict = strict
        self.personal_names = personal_names
        self._s: Snapshot = {
            "v": SNAPSHOT_VERSION,
            "script": script.name,
            "state": None,
            "phase": "idle",
            "vars": {},
            "misses": 0,
            "confirm_misses": 0,
            "pending": None,
            "after": None,
            "on_failed": None,
            "last_intent": None,
            "last_confidence": None,
            "path": [],
            "filed": False,
            "answered": None,
            "request": None,
            "offered": False,
            "kept": False,
        }
        self._turn: _Turn | None = None
        self._hazard = False  # the words of the Heard being handled name a hazard (dialogs.emergency)
        self._vetoed = False  # they rule an emergency out (paperwork, a past event)
        self._near = False  # the runtime gives the emergency some weight ("near"): a confirmation names 112
        self._offered = False  # the input being handled answers the offer of the whole answer

    # ----------------------------------------------------------------- public
    @property
    def state(self) -> str | None:
        return self._s["state"]

    @property
    def phase(self) -> str:
        return self._s["phase"]

    @property
    def variables(self) -> dict[str, str]:
        return dict(self._s["vars"])

    @property
    def last_intent(self) -> str | None:
        return self._s["last_intent"]

    @property
    def last_confidence(self) -> float | None:
        return self._s["last_confidence"]

    @property
    def last_turn(self) -> TurnResult | None:
        """How the input given to the last `handle()` call was taken; None if that event was
        not the caller's input. (`last_intent` / `last_confidence` are the last *accepted*
        ones and may come from an earlier turn.)"""
        return TurnResult(**self._turn) if self._turn is not None else None

    @property
    def ended(self) -> bool:
        return self._s["phase"] == "ended"

    def start(self, event: CallStarted | None = None) -> list[Action]:
        return self.handle(event or CallStarted())

    def handle(self, event: Event) -> list[Action]:
        """The actions answering `event`, in order (empty when it asks for nothing)."""
        self._turn = None
        self._hazard = False
        self._vetoed = False
        self._near = False
        self._offered = False
        state = self._s["state"]
        if self._s["phase"] in ("listening", "confirming") and state is not None \
                and isinstance(event, (Heard, Pressed, NoInput)):
            self._turn = {"state": state, "outcome": "no_match", "intent": None, "candidate": None, "beyond": None,
                          "input": "speech" if isinstance(event, Heard) else "keys" if isinstance(event, Pressed)
                          else "none",
                          "confidence": _clamp(event.confidence) if isinstance(event, Heard) else None}
        try:
            return self._handle(event)
        except Exception:
            if self.strict:
                raise
            log.exception("dialog engine error in state %s", self._s.get("state"))
            return self._fail_safe()

    def snapshot(self) -> Snapshot:
        return copy.deepcopy(self._s)

    @classmethod
    def restore(cls, script: Script, snapshot: Mapping[str, object], *, strict: bool = False,
                personal_names: Callable[[str], bool] | None = None) -> DialogEngine:
        """An engine in the state `snapshot` describes (a `snapshot()` read back from JSON;
        keys it lacks keep their initial values)."""
        if not isinstance(snapshot, Mapping) or snapshot.get("v") != SNAPSHOT_VERSION:
            raise ValueError("not a dialog snapshot of this version")
        state = snapshot.get("state")
        if state is not None and state not in script.states:
            raise ValueError(f"snapshot state {state!r} is not in script {script.name!r}")
        engine = cls(script, strict=strict, personal_names=personal_names)
        merged = {k: copy.deepcopy(snapshot[k]) if k in snapshot else v for k, v in engine._s.items()}
        engine._s = cast(Snapshot, merged)
        return engine

    # --------------------------------------------------------------- dispatch
    def _handle(self, event: Event) -> list[Action]:
        phase = self._s["phase"]
        # the offer of the whole answer is for the caller's next input only
        offered = self._offered = self._s.get("offered") is True and isinstance(event, (Heard, Pressed, NoInput))
        if isinstance(event, (Heard, Pressed, NoInput)):
            self._s["offered"] = False
        if phase != "confirming":
            # a request's words carry only into the listen its own turn leads to (`carried`),
            # or the one a "Maksud Anda ...?" about it leads to: never into a state entered on a
            # later event (a failed transfer, a ticket filed, the next turn)
            self._s["request"] = None
        if isinstance(event, Hangup):
            self._s["phase"] = "ended"
            cut = None
            if event.cut is not None:
                try:
                    cut = self._take_cut(event.cut, phase)
                except Exception:  # noqa: BLE001 - the words are a bonus: the complaint is filed anyway
                    cut = None
            return self._hangup_ticket(cut)
        if phase == "ended":
            return []
        if isinstance(event, CallStarted):
            if phase != "idle":
                return []
            return self._begin(event)
        if phase == "idle":
            return []
        if isinstance(event, PlaybackDone):
            return []
        if isinstance(event, TransferFailed):
            return self._transfer_failed(event) if phase == "transferring" else []
        if isinstance(event, TicketCreated):
            if phase != "waiting_ticket":
                return []
            self._s["vars"]["ticket_id"] = str(event.ticket_id)
            after = self._s["after"]
            assert isinstance(after, str)
            return self._enter(after)
        if isinstance(event, TicketStatus):
            if phase != "waiting_lookup":
                return []
            self._s["vars"]["ticket_id"] = str(event.ticket_id or "")
            self._s["vars"]["ticket_status"] = str(event.status) if event.status is not None else ""
            self._s["vars"]["ticket_updated"] = str(event.updated) if event.updated else ""
            after = self._s["after"]
            assert isinstance(after, list)
            found, not_found = after
            return self._enter(found if event.status is not None else not_found)
        if phase in ("listening", "confirming") and isinstance(event, Heard):
            urgent = self._emergency_first(event)
            if urgent is not None:
                return urgent
        if phase == "listening":
            if isinstance(event, Heard):
                if offered:
                    taken = self._offer_answered(event)
                    if taken is not None:
                        return taken
                    if event.intent in ("yes", "no"):
                        # the offer's yes/no listen decided among yes and no only: the words
                        # ("ya, syaratnya apa", another service) are heard as typed ones
                        event = dataclasses.replace(event, intent=None)
                return self._heard(event)
            if isinstance(event, Pressed):
                if offered:
                    taken = self._offer_pressed(event)
                    if taken is not None:
                        return taken
                return self._pressed(event)
            if isinstance(event, NoInput):
                return self._miss("no_input")
        elif phase == "confirming":
            if isinstance(event, Heard):
                return self._confirm_heard(event)
            if isinstance(event, Pressed):
                return self._confirm_pressed(event)
            if isinstance(event, NoInput):
                return self._confirm_retry("no_input")
        return []

    # ------------------------------------------------------------ call start
    def _begin(self, event: CallStarted) -> list[Action]:
        vars_ = self._s["vars"]
        for k, v in (event.variables or {}).items():
            if isinstance(k, str) and re.fullmatch(r"[a-z][a-z0-9_]*", k):
                vars_[k] = str(v)
        vars_["caller_number"] = normalize_phone(str(event.caller_number or "")) or ""
        vars_["call_id"] = str(event.call_id or "")
        today = ""
        if event.today:
            try:
                today = dt.date.fromisoformat(str(event.today)[:10]).isoformat()
            except ValueError:
                today = ""
        vars_["today"] = today
        return self._enter(self.script.start)

    def _today(self) -> dt.date | None:
        t = self._s["vars"].get("today")
        return dt.date.fromisoformat(t) if t else None

    # --------------------------------------------------------------- states
    def _enter(self, sid: str) -> list[Action]:
        out: list[Action] = []
        states = self.script.states
        s = self._s
        for _ in range(_MAX_HOPS):
            st = states[sid]
            flow = self.script.flow_of(sid)
            current = self.script.flow_of(s["state"])
            if flow is not current:
                if current is not None and s["filed"]:
                    self._forget(current)
                if flow is not None:
                    s["filed"] = False   # the caller enters a flow: nothing filed in it yet
            s["state"] = sid
            s["misses"] = 0
            s["confirm_misses"] = 0
            s["pending"] = None
            s["answered"] = None
            s["kept"] = False
            s["path"].append(sid)
            del s["path"][:-_MAX_PATH]
            for name, tmpl in st.set.items():
                s["vars"][name] = self._render_plain(tmpl)
            asked = self._asked_first(st)
            if asked is not None:
                out.extend(self._answer_first(st, asked))
                return out
            carried = self._carried(st)
            if carried is not None:
                out.extend(self._say(st.carried, st))
                sid = carried
                continue
            out.extend(self._say(st.say, st))
            if st.listen is not None:
                out.append(self._listen(st))
                s["phase"] = "listening"
                return out
            if st.next:
                sid = st.next
                continue
            if st.branch:
                sid = self._branch(st)
                continue
            if st.transfer is not None:
                t = st.transfer
                out.extend(self._transfer(t.queue or st.queue or self.script.settings.queue,
                                          t.reason, t.on_failed))
                return out
            if st.create_ticket is not None:
                ct = st.create_ticket
                fields: dict[str, str | bool] = {k: self._render_plain(v) for k, v in ct.fields.items()}
                out.append(CreateTicket(kind=ct.kind, fields=fields))
                s["filed"] = True
                s["phase"] = "waiting_ticket"
                s["after"] = ct.next
                return out
            if st.lookup_ticket is not None:
                lt = st.lookup_ticket
                ticket = self._render_plain(lt.ticket)
                if not ticket:
                    sid = lt.not_found
                    continue
                out.append(LookupTicket(ticket_id=ticket))
                s["phase"] = "waiting_lookup"
                s["after"] = [lt.found, lt.not_found]
                return out
            out.append(EndCall(reason=st.end or "end"))
            s["phase"] = "ended"
            return out
        out.append(EndCall(reason="loop"))
        self._s["phase"] = "ended"
        return out

    def _asked_first(self, st: State) -> str | None:
        """The follow-up question the request that led to ``st`` asks along with naming its
        service ("akta kelahiran biayanya berapa"): one of ``st``'s `answers:`, read from the
        request's words as a follow-up question about the state's own service is
        (`Script.question_asked`), in a state that gives a long answer, when the request asks
        something (`asks_question`: "ktp saya alamatnya salah" holds the place question's cue
        word but asks nothing); None to say the answer. The request's words are left for
        `_carried` when no question is asked."""
        request = self._s.get("request")
        if not request or not st.answers or st.listen is None or st.listen.kind != "intent" \
                or not _long_answer(st) or not asks_question(request):
            return None
        question = self.script.question_asked(st.id, request)
        if question is None:
            return None
        self._s["request"] = None
        answer = {p.text for p in st.say}
        if any(p.text in answer for p in st.answers[question]):
            return None   # the reply is the answer itself (the levy's requirements): said once
        return question

    def _answer_first(self, st: State, question: str) -> list[Action]:
        """The reply to the request's question first, then the offer of the whole answer
        (`offer_answer`): "ya" or key 1 says it (`_offer_answered`, `_offer_pressed`); anything else is heard as in the
        state after its answer (another question, another service, "selesai"; silence asks
        whether there is anything else). "ulangi" repeats the reply."""
        self._s["answered"] = question
        self._s["offered"] = True
        self._s["phase"] = "listening"
        offer = self.script.settings.prompts.get("offer_answer", ())[:1]
        if not offer:
            return [*self._say([*st.answers[question], *_asked_again(st)], st), self._listen(st)]
        return [*self._say([*st.answers[question], *offer], st), self._offer_listen(st)]

    def _offer_listen(self, st: State) -> Listen:
        """The state's own listen with the yes/no phrases beside its labels: the offer is a yes/no
        question, and the recognizer scores "ya" and "tidak" too (bench/probe_offer_answer.py,
        3 voices: a spoken yes or no taken right 11 times in 30 from the free transcript alone,
        25 so; another question or "petugas" after the offer 12 of 15 either way; a yes/no listen
        alone took 18 of 30 and 1 of 15). Keys 1 and 2 answer, the others keep their meaning in
        the state (`_offer_pressed`)."""
        return self.script.offer_listen(st.id)

    def _offer_answered(self, ev: Heard) -> list[Action] | None:
        """The caller's answer to the offer of the whole answer: "ya" says it (the state's
        answer and closing question), "tidak" asks the closing question only; None when the
        words are not that answer ("biayanya berapa", "ya, syaratnya apa", another service):
        they are heard as any other in the state."""
        text = (ev.text or "").strip()
        answer = ev.intent if ev.intent in ("yes", "no") else (yes_or_no(text) if text else None)
        if answer is None:
            return None
        st = self._current()
        said = yes_or_no(text) if text else None
        if len(text.split()) > 1 or (text and said is None):
            # (one word that is no yes or no, "Selesai.", "KTP", "petugas": the recognizer's
            # yes/no here decides among the state's labels with no bar, and an unsure one at
            # 0.3 said the whole answer for "Selesai.")
            m = self.script.match_answer(st.id, text)
            g = self.script.globals.get(m.intent or "")
            if m.intent is not None and m.intent not in ("yes", "no") \
                    and m.confidence >= self.script.settings.confirm \
                    and (g is None or g.action != "repeat" or said is None):
                # more than yes or no: a question or a request of its own ("ya, syaratnya apa",
                # "tidak, terima kasih" is "selesai"); "mau dengar lengkapnya" reads as "ulangi",
                # which here would repeat the short reply: the yes stands
                return None
            if self._beyond(st, text, m) is not None:
                # a request another office handles ("mau perpanjang paspor": "mau" alone is a
                # yes; "tidak, mau bikin sim"): heard as usual, so the caller is told where to go
                return None
        return self._offer_taken(answer, _clamp(ev.confidence))

    def _offer_pressed(self, ev: Pressed) -> list[Action] | None:
        """The offer is a yes/no question: its keys (1 ya, 2 tidak) answer it, as at every other
        yes/no question of the line (the state's own "1", menu utama, is offered only in the
        closing question, not said yet); other keys keep their meaning in the state."""
        key = "".join(ch for ch in str(ev.digits) if ch in "0123456789*#")
        answer = self.script.yesno_dtmf.get(key)
        return self._offer_taken(answer, 1.0) if answer in ("yes", "no") else None

    def _offer_taken(self, answer: str, conf: float) -> list[Action]:
        st = self._current()
        self._note("accepted", answer, conf)
        self._s["misses"] = 0
        if answer == "yes":
            self._s["answered"] = None
            return [*self._say(st.say, st), self._listen(st)]
        return [*self._say(_asked_again(st), st), self._listen(st)]

    def _carried(self, st: State) -> str | None:
        """Where a choice state goes without asking when the request that led to it already
        named one of its options ("saya mau lapor jalan rusak" into the complaint's category):
        the option taken (slot and label set) if the state has ``carried`` and the words match an
        option confidently; ``None`` to ask. The request's words are used once, by the first
        listening state entered."""
        ls = st.listen
        if ls is None:
            return None
        request, self._s["request"] = self._s.get("request"), None
        if not st.carried or not request or ls.kind != "choice" or not ls.slot:
            return None
        option = self.script.named_option(st.id, request)
        if option is None:
            matcher = self.script.choice_matchers.get(st.id)
            m = matcher.match(request) if matcher is not None else None
            if m is None or m.intent is None or m.confidence < self.script.settings.accept:
                return None
            option = m.intent
        target = st.on.get(option) or st.on.get("filled") or st.next
        if target is None:
            return None
        self._s["vars"][ls.slot] = option
        self._s["vars"][ls.slot + "_label"] = ls.labels.get(option, option.replace("_", " "))
        return target

    def _branch(self, st: State) -> str:
        br = st.branch
        assert br is not None
        value = str(self._s["vars"].get(br.variable, "") or "")
        if not value and br.empty:
            return br.empty
        return br.cases.get(value, br.default)

    def _near_cancel(self, text: str) -> list[Action] | None:
        """Words that sound like the flow's cancel as the recognizer garbles it ("Matal",
        "Tidak jadik."): the caller is asked whether they want to cancel (a cancel forgets
        their answers, so it is never taken on a guess). Spoken cancels left a complaint 8 times
        in 84 on the phone (bench/probe_cancel.py); the rest were filed as its answers."""
        left = self._cancel_flow()
        if left is None or not text:
            return None
        if self._s.get("kept") is True:
            # the caller said no to the question in this state: their words are what they mean
            # (a caller in "Batam" asked again at every answer of the location, with no way out)
            return None
        if not left[1].near(text, (*self.script.yes, *self.script.no)):
            return None
        s = self._s
        s["phase"] = "confirming"
        s["pending"] = CANCEL
        s["last_confidence"] = None
        s["confirm_misses"] = 0  # a question of its own (an earlier one may have run out its retries)
        self._note("confirming", CANCEL)
        return self._confirm_question()

    def _cancel_flow(self) -> tuple[Flow, FlowCancel] | None:
        flow = self.script.flow_of(self._s["state"] or "")
        if flow is None or flow.cancel is None:
            return None
        return flow, flow.cancel

    def _leave_flow(self, flow: Flow, cancel: FlowCancel, conf: float) -> list[Action]:
        """The caller cancels the task on purpose ("batal", "kembali ke menu utama"): nothing of
        it is filed, what they had told it is forgotten, and the script's goodbye to the task is
        said before it goes on."""
        self._note("accepted", CANCEL, conf)
        self._forget(flow)
        return [*self._say(cancel.say, self._current()), *self._enter(cancel.goto)]

    def _forget(self, flow: Flow) -> None:
        """The caller leaves a flow that filed its task: its answers are done with (a second
        task asks them again, so a first complaint's location is never filed with a second).
        Only then: a flow left before it filed (a detour through a state it does not list, a
        misheard emergency) keeps what the caller had said, and so does a slot set before it."""
        vars_ = self._s["vars"]
        names = set(flow.on_hangup.variables) if flow.on_hangup is not None else set()
        for member in flow.states:
            asked = self.script.states[member].listen if member in self.script.states else None
            if asked is not None and asked.slot:
                names.update((asked.slot, f"{asked.slot}_label"))
        for name in names:
            vars_.pop(name, None)

    def _take_cut(self, cut: CutAnswer, phase: str) -> str | None:
        """Words cut by the hang-up (`Hangup.cut`) as the answer of the listen they were said
        in: the slot it fills (None: not taken). Only a free-text slot that is not a name takes
        them, marked cut (`CUT_MARK`), and only while the dialog was listening for it: in its
        state (the answer: as a finished one would, it fills the slot), or, when they continue
        the answer the dialog took there (``follows``) and it moved on, after that answer. A
        number, a yes/no, a menu choice or a name cut short is no answer; words that read as a
        command (``selesai``, ``petugas``) are not taken as one either, and nothing is acted on."""
        text = " ".join((cut.text or "").split()).rstrip(" .,;:!?…")
        st = self.script.states.get(cut.state)
        ls = st.listen if st is not None else None
        if not text or ls is None or ls.kind != "free" or not ls.slot \
                or answer_kind(ls.kind, ls.slot) != "text":
            return None
        s = self._s
        vars_ = s["vars"]
        if cut.state == s["state"]:
            if phase != "listening" or self._reads_as_command(text):
                # (not listening: a yes/no question was asked meanwhile, the safety question)
                return None
            vars_[ls.slot] = text + CUT_MARK
            return ls.slot
        before = vars_.get(ls.slot)
        if cut.follows and before and phase in ("listening", "confirming") and self._left_last(cut.state):
            vars_[ls.slot] = f"{before} {text}{CUT_MARK}"
            return ls.slot
        return None

    def _left_last(self, sid: str) -> bool:
        """Whether ``sid`` is the last state that listened before the current one (the answer
        taken there moved the dialog on through states that do not listen)."""
        path = self._s["path"]
        for prev in reversed(path[:-1]):
            st = self.script.states.get(prev)  # (a state a newer script removed: no listen)
            if st is not None and st.listen is not None:
                return prev == sid
        return False

    def _reads_as_command(self, text: str) -> bool:
        """A short answer that reads as one of the script's global commands."""
        # (not the emergency: words naming a hazard are what happened, kept as said)
        commands = [g for g in self.script.globals if g != EMERGENCY.label]
        if not commands or len(text.split()) > 3:
            return False
        m = self.script.matcher.match(text, commands)
        return m.intent is not None and m.confidence >= self.script.settings.confirm

    def _hangup_ticket(self, cut: str | None = None) -> list[Action]:
        """The caller hung up: what the flow they were in files for them (`on_hangup`), when
        they had given what it asks for and nothing was filed since they entered it. ``cut``:
        the slot the words cut by the hang-up went to (the ticket says which: ``cut_by_hangup``)."""
        s = self._s
        flow = self.script.flow_of(s["state"])
        todo = flow.on_hangup if flow is not None else None
        if todo is None or s["filed"] or s["state"] is None:
            return []
        vars_ = s["vars"]
        if not any(vars_.get(k) for k in todo.when_any):
            return []
        fields: dict[str, str | bool] = {k: vars_[k] for k in todo.variables if vars_.get(k)}
        fields["incomplete"] = True
        fields["stopped_at"] = s["state"]
        if cut is not None and cut in fields:
            fields["cut_by_hangup"] = cut
        s["filed"] = True
        return [CreateTicket(kind=todo.kind, fields=fields)]

    def _render_plain(self, text: str) -> str:
        return render(text, self._s["vars"], {})

    def _say(self, prompts: Sequence[Prompt], st: State | None) -> list[Say]:
        barge = st.listen.barge_in if st is not None and st.listen is not None else self.script.settings.barge_in
        out = []
        for p in prompts:
            static = not p.variables
            text = p.text if static else render(p.text, self._vars_for_render(), self.script.formats)
            record, personal = (None, ()) if static else self._record_form(p)
            out.append(Say(text=text, prompt_id=p.id, audio_file=p.file if static else None,
                           barge_in=barge, static=static, record=record, personal=personal))
        return out

    def _record_form(self, p: Prompt) -> tuple[str | None, tuple[tuple[str, str, str], ...]]:
        """The prompt with its personal variables left as "{name}", and their (name, kind,
        value); (None, ()) when it says nothing personal."""
        kinds = dict(personal_variables(self.script))
        if self.personal_names is not None:
            for n in p.variables:
                if kinds.get(n) in (None, "text") and self.personal_names(n):
                    kinds[n] = FIELD_KIND
        values = self._vars_for_render()
        personal = tuple((n, kinds[n], str(values.get(n, "") or "")) for n in dict.fromkeys(p.variables)
                         if n in kinds and values.get(n))
        if not personal:
            return None, ()
        marked = dict(values, **{n: f"\x00{n}\x00" for n, _, _ in personal})
        formats = dict(self.script.formats, **{n: "plain" for n, _, _ in personal})
        record = render(_FORMAT_SPEC.sub(lambda m: "{" + m.group(1) + "}" if m.group(1) in kinds else m.group(0),
                                         p.text), marked, formats)
        return re.sub("\x00([a-z][a-z0-9_]*)\x00", lambda m: PLACEHOLDER.format(m.group(1)), record), personal

    def _vars_for_render(self) -> dict[str, str]:
        v = self._s["vars"]
        pending = self._s.get("pending")
        if pending:
            intent = self.script.intents.get(pending)
            v = dict(v, intent_label=intent.label if intent else pending.replace("_", " "))
        return v

    def _listen(self, st: State) -> Listen:
        return self.script.listen_action(st.id)

    def _pending(self) -> str:
        """The answer being confirmed (phase "confirming")."""
        pending = self._s["pending"]
        assert pending is not None
        return pending

    def _current(self) -> State:
        state = self._s["state"]
        assert state is not None
        return self.script.states[state]

    # --------------------------------------------------------------- hand-off
    def _transfer(self, queue: str, reason: str, on_failed: str | None) -> list[Action]:
        s = self._s
        context: TransferContext = {
            "state": s["state"],
            "reason": reason,
            "intent": s["last_intent"],
            "confidence": s["last_confidence"],
            "variables": {k: v for k, v in s["vars"].items() if v not in ("", None)},
            "path": list(s["path"][-20:]),
        }
        s["phase"] = "transferring"
        s["on_failed"] = on_failed or self.script.settings.on_transfer_failed
        return [Transfer(queue=queue, reason=reason, context=context)]

    def _agent(self, reason: str) -> list[Action]:
        st = self._current()
        out: list[Action] = list(self._say(self.script.settings.prompts["agent"][:1], None))
        out.extend(self._transfer(st.queue or self.script.settings.queue, reason, None))
        return out

    def _transfer_failed(self, event: TransferFailed) -> list[Action]:
        reason = event.reason if event.reason in ("no_agents", "closed_hours", "error") else "error"
        self._s["vars"]["transfer_failed_reason"] = reason
        target = self._s["on_failed"]
        if target and target in self.script.states:
            return self._enter(target)
        self._s["phase"] = "ended"
        return [Say(text="Mohon maaf, petugas kami belum dapat menerima panggilan. Silakan hubungi kami kembali nanti.",
                    prompt_id="builtin.transfer_failed", barge_in=False), EndCall(reason="transfer_failed")]

    def _fail_safe(self) -> list[Action]:
        self._s["phase"] = "transferring"
        self._s["on_failed"] = None
        return [Say(text="Mohon maaf, terjadi gangguan. Saya sambungkan ke petugas kami.",
                    prompt_id="builtin.error", barge_in=False),
                Transfer(queue=self.script.settings.queue, reason="engine_error",
                         context={"state": self._s["state"]})]

    # ------------------------------------------------------------ the ladder
    def _note(self, outcome: str, intent: str | None = None, conf: float | None = None,
              candidate: str | None = None) -> None:
        """Record how the current input was taken (see `last_turn`)."""
        t = self._turn
        if t is None:
            return
        t["outcome"], t["intent"] = outcome, intent
        if conf is not None:
            t["confidence"] = round(conf, 3)
        if outcome not in ("no_match", "invalid", "no_input"):
            t["candidate"] = None
        elif candidate is not None:
            t["candidate"] = candidate

    def _miss(self, kind: str, out_of_scope: str | None = None) -> list[Action]:
        """A turn not understood (``kind``: no_input, no_match, invalid), on the fallback ladder.
        ``out_of_scope``: the topic of a request the hotline does not handle, told so on the
        ladder's first rungs (the `out_of_scope` prompt) instead of "not understood"; it counts
        as a miss, and the turn records the topic (``TurnResult.beyond``) only when told."""
        self._note(kind)
        st = self._current()
        ls = st.listen
        assert ls is not None
        s = self._s
        # a request another office handles, told where to go, was understood: it does not move
        # the ladder (a second one heard the keypad prompt instead of its referral, a third
        # went to an agent); one on no topic of its own still does
        referral = (out_of_scope is not None and "out_of_scope" in self.script.settings.prompts
                    and self._refers(out_of_scope))
        if not referral:
            s["misses"] += 1
        s["pending"] = None
        n = s["misses"]
        if n <= ls.retries or referral:
            own = {"no_input": st.no_input, "no_match": st.no_match, "invalid": st.invalid or st.no_match}[kind]
            if out_of_scope is not None and "out_of_scope" in self.script.settings.prompts:
                out = self._say(self._told_beyond(out_of_scope), st)
                if self._turn is not None:
                    self._turn["beyond"] = out_of_scope
            elif own:
                out = self._say([own[min(n - 1, len(own) - 1)]], st)
            else:
                prompts = self.script.settings.prompts
                defaults = prompts[kind]
                if _long_answer(st) and kind == "no_input" and "no_input_after_answer" in prompts:
                    # silence after a long answer: ask, do not replay it ("ulangi" replays)
                    out = self._say(prompts["no_input_after_answer"][:1], st)
                else:
                    out = self._say([defaults[min(n - 1, len(defaults) - 1)], *_asked_again(st)], st)
            return [*out, self._listen(st)]
        if n == ls.retries + 1 and self._keypad_possible(st):
            return [self._keypad_prompt(st), self._listen(st)]
        if "fallback" in st.on:
            return self._enter(st.on["fallback"])
        return self._agent(f"{kind}_limit")

    def _refers(self, topic: str) -> bool:
        t = self.script.out_of_scope_topics.get(topic)
        return t is not None and t.say is not None

    def _told_beyond(self, topic: str) -> list[Prompt]:
        """What a caller asking for ``topic`` (out of scope) hears: the topic's referral between
        the head (di luar layanan, 112) and the tail (keperluan lain); the generic prompt when
        the topic has none."""
        prompts = self.script.settings.prompts
        t = self.script.out_of_scope_topics.get(topic)
        if t is None or t.say is None:
            return list(prompts["out_of_scope"][:1])
        return [*prompts["out_of_scope_head"][:1], t.say, *prompts["out_of_scope_tail"][:1]]

    def _keypad_possible(self, st: State) -> bool:
        ls = st.listen
        assert ls is not None
        return bool(ls.dtmf) or ls.kind in _DIGITS_KINDS or ls.kind == "yesno"

    def _keypad_prompt(self, st: State) -> Say:
        ls = st.listen
        assert ls is not None
        if st.keypad is not None:
            return self._say([st.keypad], st)[0]
        prompts = self.script.settings.prompts
        if ls.kind in _DIGITS_KINDS:
            return self._say(prompts["keypad_digits"][:1], st)[0]
        head = prompts["keypad_menu"][0]
        dtmf = dict(ls.dtmf)
        if ls.kind == "yesno":
            for k, v in self.script.yesno_dtmf.items():
                dtmf.setdefault(k, v)
        parts = []
        for key, outcome in dtmf.items():
            label = ls.labels.get(outcome)
            if label is None:
                if outcome in ("yes", "no"):
                    label = "ya" if outcome == "yes" else "tidak"
                elif outcome in self.script.intents:
                    label = self.script.intents[outcome].label
                else:
                    label = outcome.replace("_", " ")
            parts.append(f"tekan {_KEY_WORDS.get(key, key)} untuk {label}")
        listed = ", ".join(parts)
        # the list starts a sentence after the head's full stop ("... Anda. Tekan 1 ...")
        if listed and head.text.rstrip().endswith((".", "!", "?")):
            listed = listed[0].upper() + listed[1:]
        text = head.text + " " + listed + "." if parts else head.text
        return Say(text=text, prompt_id=f"{st.id}.keypad.auto", barge_in=ls.barge_in, static=True)

    # ---------------------------------------------------------------- speech
    def _heard(self, ev: Heard) -> list[Action]:
        st = self._current()
        ls = st.listen
        assert ls is not None
        text = (ev.text or "").strip()
        asr_conf = _clamp(ev.confidence)
        if not text and ev.intent is None and not ev.slots:
            return self._miss("no_input")
        left = self._cancel_flow()
        if left is not None and text and left[1].said_in(text):
            return self._leave_flow(*left, asr_conf)
        kind = ls.kind
        if kind in ("free", "yesno") and text:
            # free text takes any words: a garbled "batal" would be filed as the location; a
            # yes/no question would read "Tidak jadik." as its "tidak"
            asked = self._near_cancel(text)
            if asked is not None:
                return asked
        if kind == "intent":
            reply = greeting_reply(text) if text else None
            if reply is not None:
                return self._greet(st, reply)
            cands = self.script.candidates(st.id)
            beyond: str | None = None
            if ev.intent is not None:
                ok = ev.intent in cands or ev.intent in ls.options
                intent, conf = (ev.intent if ok else None), asr_conf
                if intent is not None and text:
                    # the recognizer decided among the state's labels; a follow-up question
                    # is read against its words as a typed one is (Script.follow_up)
                    m = self.script.follow_up(st.id, text, Match(intent, conf))
                    if m.intent != intent:
                        intent, conf = m.intent, min(m.confidence, asr_conf)
                if text and (intent is None or conf < self.script.settings.confirm):
                    # unsure, or a label this state does not take (the recognizer always names
                    # one): words that read as a request the hotline does not handle are told
                    # so, as typed ones are (its confidence is the decision's, not the words')
                    beyond = self._beyond(st, text, self.script.match_answer(st.id, text))
            else:
                m = self.script.match_answer(st.id, text, asr_conf)
                intent, conf = m.intent, m.confidence
                # said clearly enough to tell the caller so (a garbled transcript is "not understood")
                if asr_conf >= self.script.settings.accept:
                    beyond = self._beyond(st, text, m)
            if intent == EMERGENCY.label and self._vetoed and text:
                # the words read as paperwork or a past event: the best other intent
                m = self.script.matcher.match(text, [c for c in cands if c != EMERGENCY.label])
                intent, conf = m.intent, min(m.confidence, asr_conf)
                if intent is None and asr_conf >= self.script.settings.accept:
                    # a theft reported after the fact ("kemalingan kemarin"): told where to go
                    beyond = self._beyond(st, text, m)
            if intent is None:
                return self._miss("no_match", out_of_scope=beyond)
            self._s["request"] = text or None
            return self._decide(intent, conf, out_of_scope=beyond)
        if kind == "yesno":
            answer = ev.intent if ev.intent in ("yes", "no") else (yes_or_no(text) if text else None)
            if answer is None and text:
                m = self.script.yesno_matcher.match(text)
                if m.intent and m.confidence >= self.script.settings.accept:
                    answer = m.intent
            if answer is not None and asr_conf >= self.script.settings.confirm:
                return self._choose(answer, asr_conf)
            return self._try_global(text, ev, asr_conf) or self._miss("no_match")
        if kind == "choice":
            matcher = self.script.choice_matchers.get(st.id)
            option: str | None
            if ev.intent is not None and ev.intent in ls.options:
                option, conf = ev.intent, asr_conf
            elif matcher is not None and text:
                m = matcher.match(text)
                option, conf = m.intent, min(m.confidence, asr_conf)
            else:
                option, conf = None, 0.0
            if (option is None or conf < self.script.settings.confirm) and text:
                # the answer names one option word for word inside a longer sentence ("di depan
                # pasar ada lubang besar"), which the sentence-level match scores low
                named = self.script.named_option(st.id, text)
                if named is not None:
                    option, conf = named, asr_conf
            if option is not None and conf >= self.script.settings.confirm:
                return self._decide(option, conf)
            return self._try_global(text, ev, asr_conf) or self._near_cancel(text) or self._miss("no_match")
        # slot kinds
        value = None
        if ev.slots and ls.slot and ev.slots.get(ls.slot):
            value = parse_slot(kind, str(ev.slots[ls.slot]), ls, self._today())
        if value is None and text:
            value = parse_slot(kind, text, ls, self._today())
        # free text is kept whatever the recognizer's confidence: it is the caller's own words,
        # the recording is kept beside it and a readback lets the caller correct it; gating it
        # dropped descriptions for resembling none of the global commands scored beside them
        if value is not None and (kind == "free" or asr_conf >= self.script.settings.confirm):
            if kind == "free":
                glob = self._try_global(text, ev, asr_conf, short_only=True)
                if glob is not None:
                    return glob
            return self._fill(value)
        glob = self._try_global(text, ev, asr_conf)
        if glob is not None:
            return glob
        if "skip" in st.on and text and _is_skip(text):
            # taken, as the keypad's skip key is (not a turn "not understood" in the analytics)
            return self._choose("skip", asr_conf)
        asked = self._near_cancel(text) if text else None
        if asked is not None:
            return asked
        has_digits = bool(words_to_digits(text)) if text else False
        return self._miss("invalid" if has_digits and kind != "free" else "no_match")

    def _beyond(self, st: State, text: str, m: Match) -> str | None:
        """The out-of-scope topic the caller is told about, when ``m`` (``text`` matched in
        ``st``) is a request the hotline does not handle: not a follow-up question asked where
        none is answered ("jam berapa buka kantornya" in the main menu: which office is not
        said yet), and in a state that takes every service the prompt invites the caller to
        name (not a sub-menu). A question about another office's service ("paspor biayanya
        berapa") is told where to go (`Script.topic_asked`)."""
        if not (m.out_of_scope and self._takes_every_service(st)):
            return None
        if self.script.matcher.match(text, self.script.questions).intent is None:
            return m.topic or OTHER_TOPIC
        return self.script.topic_asked(st.id, text)

    def _takes_every_service(self, st: State) -> bool:
        """Whether ``st`` listens for every intent the entry menu does (the main menu, an
        information state), so that a caller told what the hotline handles can name it there."""
        return self.script.candidates(self.script.entry_menu) <= self.script.candidates(st.id)

    def _try_global(self, text: str, ev: Heard, asr_conf: float, short_only: bool = False) -> list[Action] | None:
        globals_ = self.script.globals
        if not globals_:
            return None
        if short_only and len(text.split()) > 3:
            return self._urgent_global(text, ev, asr_conf)
        if ev.intent is not None:
            if ev.intent in globals_:
                # the recognizer's decision among the state's answers and the globals: taken
                # as typed words are, at the global's threshold. Below it, "selesai" at 0.29
                # ended a complaint call on a garbled "batal saja", and "darurat" at 0.14 cut a
                # complaint short on "batalkan pengaduan" (bench/probe_cancel.py)
                if asr_conf >= self._global_needs(ev.intent):
                    return self._run_global(ev.intent, asr_conf)
                if ev.intent == EMERGENCY.label:
                    if self._s["phase"] != "confirming":
                        return self._ask_emergency()  # unsure: the safety question, never nothing
                elif text and self._keyword_said(ev.intent, text) \
                        and not (short_only and len(text.split()) > 3):
                    # unsure, but the words are the command's own ("petugas", "sambungkan ke
                    # petugas" at 0.45 in a yes/no step): taken, as typed they are; the garbled
                    # cancels the gate is for hold none ("Matal saja" heard as "selesai")
                    return self._run_global(ev.intent, asr_conf)
            return None
        if not text:
            return None
        m = self.script.matcher.match(text, globals_)
        if m.intent is None:
            return None
        conf = min(m.confidence, asr_conf)
        if short_only and self._ends_call(m.intent) and not self._goodbye_alone(m.intent, text):
            # a free answer ends the call only when it is the global's own words and nothing
            # else ("selesai", "terima kasih, Bu"): "tidak ada" as the complaint's location was
            # taken as goodbye ("tidak ada lagi"), and so were "puskesmas tutup", "belum selesai",
            # "cukup parah" as its description; the complaint lost
            return None
        if conf >= self._global_needs(m.intent):
            return self._run_global(m.intent, conf)
        return None

    def _keyword_said(self, name: str, text: str) -> bool:
        intent = self.script.intents.get(name)
        said = f" {normalize(text)} "
        return intent is not None and any(f" {normalize(k)} " in said for k in intent.keywords)

    def _goodbye_alone(self, name: str, text: str) -> bool:
        """Whether ``text`` is the global ``name``'s keywords alone, with polite words around
        them ("sudah, terima kasih ya", "itu saja"), not an answer that holds one ("kantor
        tutup", "proyek belum selesai")."""
        intent = self.script.intents.get(name)
        if intent is None or not self._keyword_said(name, text):
            return False
        own = {w for k in intent.keywords for w in normalize(k).split()}
        return all(w in own or w in _GOODBYE_GLUE for w in normalize(text).split())

    def _global_needs(self, name: str) -> float:
        """The confidence a global is acted on at without a question: the confirm threshold for
        one the script never asks back (``confirm: false``, an emergency), else accept."""
        g = self.script.globals[name]
        return self.script.settings.confirm if not g.confirm else self.script.settings.accept

    def _emergency_first(self, ev: Heard) -> list[Action] | None:
        """Before anything else, in every listening state: an emergency (the runtime's reading
        of the audio, ``ev.emergency == "now"``, or ``dialogs.emergency`` on the words) is acted
        on at once; a borderline one (``"maybe"``) in an intent listen asks "Apakah ini keadaan
        darurat?". Only for scripts with the detector's global (``darurat``)."""
        name = EMERGENCY.label
        if name not in self.script.globals:
            return None
        text = (ev.text or "").strip()
        st = self._current()
        narrative = st.listen is not None and st.listen.kind == "free"
        verdict = EMERGENCY.from_text(text, narrative=narrative) if text else None
        self._hazard = verdict is not None and bool(verdict.cues)
        self._vetoed = bool(text) and EMERGENCY.vetoed(text)
        self._near = ev.emergency == "near"
        if ev.emergency == "now" or (verdict is not None and verdict.emergency):
            self._s["phase"] = "listening"
            self._s["pending"] = None
            return self._choose(name, 1.0)
        if self._s["phase"] == "confirming":
            return None
        if ev.emergency == "maybe" and st.listen is not None and st.listen.kind == "intent":
            return self._ask_emergency()
        return None

    def _ask_emergency(self) -> list[Action]:
        """The safety net: confirm an emergency the words or the audio only hint at."""
        self._s["phase"] = "confirming"
        self._s["pending"] = EMERGENCY.label
        self._s["last_confidence"] = 1.0
        self._s["confirm_misses"] = 0
        self._note("confirming", EMERGENCY.label, 1.0)
        return self._confirm_question()

    def _ends_call(self, name: str) -> bool:
        g = self.script.globals.get(name)
        target = self.script.states.get(g.goto) if g is not None and g.goto else None
        return target is not None and target.end is not None

    def _urgent_global(self, text: str, ev: Heard, asr_conf: float) -> list[Action] | None:
        """In a long free-text answer, only a global that is never asked back (an emergency)
        still counts, and only when it wins against every intent of the script with
        confidence >= accept: "ada kebakaran di rumah saya sekarang" is an emergency, but
        "jalan rusak sering ada kecelakaan" stays a complaint description."""
        if ev.intent is not None or not text:
            return None
        m = self.script.matcher.match(text)
        name = m.intent
        g = self.script.globals.get(name) if name is not None else None
        if name is None or g is None or g.confirm:
            return None
        conf = min(m.confidence, asr_conf)
        if conf >= self.script.settings.accept:
            return self._run_global(name, conf)
        return None

    def _decide(self, outcome: str, conf: float, out_of_scope: str | None = None) -> list[Action]:
        """``outcome`` taken at ``conf``: accepted, asked about ("Maksud Anda ...?") or a miss
        (``out_of_scope``: the words read as a request the hotline does not handle, on this
        topic)."""
        self._note("no_match", conf=conf, candidate=outcome)
        settings = self.script.settings
        st = self._current()
        g = self.script.globals.get(outcome)
        # a follow-up answered in place is cheaper to give than to confirm: a wrong one costs
        # the caller one short answer, a question costs a turn either way
        no_question = ((g is not None and not g.confirm) or (st.listen is not None and not st.listen.confirm)
                       or outcome in st.answers)
        if conf >= settings.accept or (no_question and conf >= settings.confirm):
            return self._choose(outcome, conf)
        if outcome in ("yes", "no") and st.listen is not None and st.listen.kind == "intent":
            # a bare "ya"/"tidak" to "Ada lagi yang bisa kami bantu?" (options "yes"/"no"):
            # "Maksud Anda ...?" about it is no question to ask; unsure, it is not understood
            return self._miss("no_match")
        if conf >= settings.confirm and st.listen is not None and st.listen.confirm:
            self._s["phase"] = "confirming"
            self._s["pending"] = outcome
            self._s["last_confidence"] = round(conf, 3)
            self._note("confirming", outcome, conf)
            return self._confirm_question()
        return self._miss("no_match", out_of_scope=out_of_scope)

    def _confirm_question(self) -> list[Action]:
        st = self._current()
        pending = self._s["pending"]
        ls = st.listen
        if pending == CANCEL:
            p = self.script.settings.prompts["confirm_cancel"][0]
            lst = self.script.listen_action("yesno")
            # rendered as every prompt is (a script's own wording may name the task's answers:
            # "... pengaduan di {location}?" was spoken with its braces); barge-in as a question
            asked = dataclasses.replace(self._say([p], st)[0], barge_in=True)
            return [asked,
                    Listen(state=st.id, kind="yesno", expect=lst.expect, slot=None, dtmf=lst.dtmf,
                           max_digits=1, timeout_s=lst.timeout_s, barge_in=True)]
        if pending == EMERGENCY.label and "confirm_emergency" in self.script.settings.prompts:
            p = self.script.settings.prompts["confirm_emergency"][0]
            lst = self.script.listen_action("yesno")
            text = render(p.text, self._vars_for_render(), self.script.formats)
            return [Say(text=text, prompt_id=p.id, barge_in=True, static=not p.variables),
                    Listen(state=st.id, kind="yesno", expect=lst.expect, slot=None, dtmf=lst.dtmf,
                           max_digits=1, timeout_s=lst.timeout_s, barge_in=True)]
        label = None
        if ls is not None and pending is not None and pending in ls.labels:
            label = ls.labels[pending]
        prompts = self.script.settings.prompts
        near = self._near and "confirm_intent_emergency" in prompts
        p = prompts["confirm_intent_emergency" if near else "confirm_intent"][0]
        vars_ = self._vars_for_render()
        if label:
            vars_ = dict(vars_, intent_label=label)
        text = render(p.text, vars_, self.script.formats)
        lst = self.script.listen_action("yesno")
        listen = Listen(state=st.id, kind="yesno", expect=lst.expect, slot=None, dtmf=lst.dtmf,
                        max_digits=1, timeout_s=lst.timeout_s, barge_in=True)
        return [Say(text=text, prompt_id=p.id, barge_in=True, static=False), listen]

    def _choose(self, outcome: str, conf: float | None = None) -> list[Action]:
        if outcome == CANCEL and self._s["pending"] == CANCEL:
            left = self._cancel_flow()
            if left is not None:  # the caller said yes to "Anda ingin membatalkan ...?"
                self._s["phase"], self._s["pending"] = "listening", None
                return self._leave_flow(*left, conf if conf is not None else 1.0)
        self._note("accepted", outcome, conf)
        st = self._current()
        s = self._s
        s["phase"] = "listening"
        s["pending"] = None
        if outcome in st.answers:
            # last_intent / last_confidence stay the service's (the transfer context pairs them)
            return self._answer(st, outcome)
        if conf is not None:
            s["last_confidence"] = round(conf, 3)
        if outcome in self.script.intents:
            s["last_intent"] = outcome
            if outcome not in self.script.globals:
                s["vars"]["last_intent"] = outcome
        if outcome in self.script.globals and outcome not in st.on:
            return self._run_global(outcome, conf)
        ls = st.listen
        if ls is not None and ls.kind == "choice" and ls.slot:
            s["vars"][ls.slot] = outcome
            s["vars"][ls.slot + "_label"] = ls.labels.get(outcome, outcome.replace("_", " "))
        target = st.on.get(outcome) or (st.on.get("filled") if ls is not None and ls.kind == "choice" else None)
        if target is None and ls is not None and ls.kind == "choice":
            target = st.next
        if target is None:
            return self._miss("no_match")
        return self._enter(target)

    def _run_global(self, name: str, conf: float | None) -> list[Action]:
        if self._hazard and self._ends_call(name) and EMERGENCY.label in self.script.globals:
            # words of danger never end the call ("saya terjebak, sudah selesai ..."): ask
            return self._ask_emergency()
        self._note("accepted", name, conf)
        g = self.script.globals[name]
        s = self._s
        if conf is not None:
            s["last_confidence"] = round(conf, 3)
        if g.action == "repeat":
            return self._repeat()
        s["last_intent"] = name if name in self.script.intents else s["last_intent"]
        if g.action == "agent":
            return self._agent("caller_request")
        assert g.goto is not None
        return self._enter(g.goto)

    def _greet(self, st: State, reply: str) -> list[Action]:
        """A greeting on its own ("halo", "selamat pagi, Bu"): answered in kind, then the
        state's question again (after a long answer only its closing question). Not a miss:
        the caller has not asked for anything yet. Recorded as a turn not understood."""
        self._note("no_match")
        again = _asked_again(st)
        greet = Prompt(f"greeting.{GREETING_REPLIES.index(reply)}", reply)
        return [*self._say([greet, *again], st), self._listen(st)]

    def _answer(self, st: State, question: str) -> list[Action]:
        """A follow-up question answered in place (`answers:`): its answer, then the state's
        closing question when the state gives a long answer ("Ada lagi yang bisa kami
        bantu?"); the caller stays in the state, and what they came for (``last_intent``)
        is unchanged."""
        self._s["misses"] = 0
        self._s["answered"] = question
        closing = st.say[-1:] if _long_answer(st) else ()
        return [*self._say([*st.answers[question], *closing], st), self._listen(st)]

    def _repeat(self) -> list[Action]:
        st = self._current()
        if self._s["phase"] == "confirming":
            return self._confirm_question()
        self._s["phase"] = "listening"
        answered = self._s.get("answered")
        if self._offered and answered is not None and answered in st.answers:
            # "ulangi" right after the reply to the request's question: it, and the offer again
            return self._answer_first(st, answered)
        if answered is not None and answered in st.answers:
            # "ulangi" after a follow-up answer: that answer, not the state's whole answer again
            return self._answer(st, answered)
        return [*self._say(st.say, st), self._listen(st)]

    def _fill(self, value: str) -> list[Action]:
        self._note("filled")
        st = self._current()
        ls = st.listen
        assert ls is not None and ls.slot is not None
        self._s["vars"][ls.slot] = value
        target = st.on.get("filled") or st.next
        assert target is not None
        return self._enter(target)

    # -------------------------------------------------------------------- keys
    def _pressed(self, ev: Pressed) -> list[Action]:
        st = self._current()
        ls = st.listen
        assert ls is not None
        d = "".join(ch for ch in str(ev.digits) if ch in "0123456789*#")
        if not d and "#" in ls.dtmf:
            d = "#"   # the terminator alone (runtimes may drop it and deliver no digits)
        if not d:
            return self._miss("no_input")
        if d in ls.dtmf:
            return self._key_outcome(ls.dtmf[d])
        kind = ls.kind
        if kind in ("intent", "yesno", "choice"):
            key = d[0]
            if key in ls.dtmf:
                return self._key_outcome(ls.dtmf[key])
            if kind == "yesno" and key in self.script.yesno_dtmf:
                return self._choose(self.script.yesno_dtmf[key], 1.0)
            if key in self.script.global_dtmf:
                return self._run_global(self.script.global_dtmf[key], 1.0)
            return self._miss("no_match")
        if kind in _DIGITS_KINDS:
            body = d.rstrip("#")
            value = None
            if body and "*" not in body and "#" not in body:
                if kind == "nik":
                    value = body if validate_nik(body, self._today()).valid else None
                else:
                    value = parse_slot(kind, body, ls, self._today())
            if value is not None:
                return self._fill(value)
            if body in self.script.global_dtmf:
                return self._run_global(self.script.global_dtmf[body], 1.0)
            return self._miss("invalid")
        if d.rstrip("#") in self.script.global_dtmf:
            return self._run_global(self.script.global_dtmf[d.rstrip("#")], 1.0)
        return self._miss("no_match")

    def _key_outcome(self, outcome: str) -> list[Action]:
        st = self._current()
        if outcome in self.script.globals and outcome not in st.on:
            return self._run_global(outcome, 1.0)
        if outcome not in st.on and st.listen is not None and st.listen.kind == "yesno":
            return self._choose(outcome, 1.0)
        if outcome in st.on or (st.listen is not None and st.listen.kind == "choice"):
            return self._choose(outcome, 1.0)
        return self._miss("no_match")

    # ----------------------------------------------------------- confirmation
    def _confirm_heard(self, ev: Heard) -> list[Action]:
        text = (ev.text or "").strip()
        st = self._current()
        # a clear new request replaces the question ("bukan, saya mau akta kelahiran")
        if ev.intent is None and len(text.split()) >= 3 and st.listen is not None and st.listen.kind == "intent":
            m = self.script.follow_up(st.id, text, self.script.matcher.match(text, self.script.candidates(st.id)))
            conf = min(m.confidence, _clamp(ev.confidence))
            if m.intent is not None and m.intent != self._s["pending"] and conf >= self.script.settings.accept:
                self._s["request"] = text   # its words, not those of the request being confirmed
                return self._choose(m.intent, conf)
        left = self._cancel_flow() if self._s["pending"] == CANCEL else None
        if left is not None and text and (left[1].said_in(text) or left[1].near(text, self.script.yes)):
            # "batal" again to "Anda ingin membatalkan?" (a "no" word of the yes/no lists)
            return self._choose(CANCEL, _clamp(ev.confidence))
        answer = ev.intent if ev.intent in ("yes", "no") else (yes_or_no(text) if text else None)
        if answer == "yes":
            return self._choose(self._pending(), self._s["last_confidence"])
        if answer == "no":
            return self._confirm_denied()
        if not text:
            return self._confirm_retry("no_input")
        glob = self._try_global(text, ev, _clamp(ev.confidence))
        if glob is not None:
            return glob
        return self._confirm_retry("no_match")

    def _confirm_pressed(self, ev: Pressed) -> list[Action]:
        key = "".join(ch for ch in str(ev.digits) if ch in "0123456789*#")[:1]
        if key in self.script.yesno_dtmf:
            if self.script.yesno_dtmf[key] == "yes":
                return self._choose(self._pending(), 1.0)
            return self._confirm_denied()
        if key in self.script.global_dtmf:
            return self._run_global(self.script.global_dtmf[key], 1.0)
        return self._confirm_retry("no_match")

    def _confirm_denied(self) -> list[Action]:
        self._note("denied", self._s["pending"])
        st = self._current()
        if self._s["pending"] == CANCEL:
            # not cancelling after all: the step's question again, not a miss
            self._s["phase"], self._s["pending"] = "listening", None
            self._s["kept"] = True
            kept = self.script.settings.prompts["cancel_kept"][:1]
            return [*self._say((*kept, *_asked_again(st)), st), self._listen(st)]
        self._s["phase"] = "listening"
        self._s["pending"] = None
        self._s["misses"] += 1
        assert st.listen is not None
        if self._s["misses"] > st.listen.retries + 1:
            return self._agent("not_understood")
        return [*self._say(self.script.settings.prompts["confirm_denied"][:1], st), self._listen(st)]

    def _confirm_retry(self, kind: str) -> list[Action]:
        self._note(kind)
        self._s["confirm_misses"] += 1
        if self._s["confirm_misses"] >= 2:
            self._s["phase"] = "listening"
            self._s["pending"] = None
            return self._miss(kind)
        return self._confirm_question()


#: the pending answer of "Anda ingin membatalkan ...?" (a garbled cancel asked back); the
#: turn's intent as a cancel's is ("batal", ``_leave_flow``)
CANCEL = "batal"

LONG_ANSWER_CHARS = 250  # a state whose prompts are this long (about 15 s spoken) gives an answer


def _long_answer(st: State) -> bool:
    return len(st.say) > 1 and sum(len(p.text) for p in st.say) >= LONG_ANSWER_CHARS


#: words around a goodbye that leave it one ("sudah, terima kasih banyak ya", "itu saja dulu")
_GOODBYE_GLUE = frozenset({"ya", "iya", "oke", "ok", "baik", "sudah", "udah", "saja", "aja", "begitu", "gitu",
                           "itu", "dulu", "deh", "banyak"})  # (not "Bu", "Pak": "Bu Dadah" is a name)

_SKIP_WORDS = {"tidak", "lewati", "lewat", "skip", "tanpa", "rahasia", "anonim"}


def _asked_again(st: State) -> tuple[Prompt, ...]:
    """What asks the state's question again: after a long answer only its closing question
    (not the answer replayed), else all the state says."""
    return st.say[-1:] if _long_answer(st) else st.say


def _is_skip(text: str) -> bool:
    words = normalize(text).split()
    return bool(words) and len(words) <= 5 and any(w in _SKIP_WORDS for w in words) and not words_to_digits(text)


def _clamp(x: object) -> float:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    if v != v:
        return 0.0
    return max(0.0, min(1.0, v))
