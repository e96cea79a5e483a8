"""The in-memory form of a validated dialog script, and the one place its defaults are set."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from dialogs.errors import ScriptIssue
from dialogs.lang.greetings import REPLIES as GREETING_REPLIES
from dialogs.lang.normalize import normalize
from dialogs.matcher import OTHER_TOPIC, IntentMatcher, Match
from dialogs.templates import variables_in

if TYPE_CHECKING:
    from dialogs.actions import Listen

# Variables the engine always knows about, and how they are read aloud by default.
BUILTIN_VARIABLES: dict[str, str] = {
    "caller_number": "digits",
    "call_id": "plain",
    "today": "date",
    "ticket_id": "plain",   # written as people write it ("2611-00042-7"); speech reads the groups
    "ticket_status": "plain",
    "ticket_updated": "date",
    "transfer_failed_reason": "plain",
    "last_intent": "plain",
    "intent_label": "plain",
}
KIND_FORMATS = {"digits": "digits", "nik": "digits", "phone": "digits", "ticket": "digits",
                "date": "date", "plate": "digits"}

# ---- defaults of everything a script may leave out (the loader reads them from here) ----
DEFAULT_YES = ("ya", "iya", "betul", "benar", "boleh", "mau", "oke", "setuju", "ya betul",
               "iya benar", "silakan", "tentu", "baik", "sudah benar", "lanjut")
DEFAULT_NO = ("tidak", "nggak", "bukan", "salah", "jangan", "tidak mau", "bukan itu",
              "tidak usah", "enggak", "batal", "tidak perlu", "belum benar", "keliru")
DEFAULT_YESNO_DTMF: Mapping[str, str] = MappingProxyType({"1": "yes", "2": "no"})
DEFAULT_PROMPTS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "no_input": ("Maaf, saya tidak mendengar suara Anda.", "Maaf, suara Anda belum terdengar."),
    "no_match": ("Maaf, saya belum mengerti.", "Maaf, saya masih belum menangkap maksud Anda."),
    "out_of_scope": ("Maaf, hal itu belum bisa kami bantu di layanan ini. Silakan sebutkan keperluan lain.",),
    # said around an out-of-scope topic's own `say` (where to go instead): 112 before it, so a
    # referral an admin writes can never push the emergency number back or leave it out
    "out_of_scope_head": ("Maaf, hal itu di luar layanan kami. Jika darurat, segera hubungi 112.",),
    "out_of_scope_tail": ("Silakan sebutkan keperluan lain.",),
    "invalid": ("Maaf, nomor itu sepertinya belum benar.",),
    "keypad_menu": ("Silakan gunakan tombol telepon Anda.",),
    "keypad_digits": ("Silakan ketik nomornya dengan tombol telepon, lalu tekan tanda pagar.",),
    "confirm_intent": ("Maksud Anda {intent_label}? Silakan jawab ya atau tidak.",),
    "confirm_denied": ("Baik, silakan ulangi keperluan Anda.",),
    "confirm_cancel": ("Apakah Anda ingin membatalkan dan kembali ke menu utama? Silakan jawab ya atau tidak.",),
    "cancel_kept": ("Baik, kita lanjutkan.",),
    "no_input_after_answer": ("Ada lagi yang bisa dibantu? Ucapkan ulangi untuk mendengar jawabannya lagi, "
                              "atau selesai.",),
    # a first request that asks a question the service's answer state answers ("akta kelahiran
    # biayanya berapa") hears that reply, then this offer of the whole answer
    "offer_answer": ("Ingin mendengar informasi lengkapnya? Silakan jawab ya atau tidak.",),
    "confirm_emergency": ("Apakah ini keadaan darurat? Silakan jawab ya atau tidak.",),
    "confirm_intent_emergency": ("Jika darurat, segera hubungi 112. Maksud Anda {intent_label}? "
                                 "Silakan jawab ya atau tidak.",),
    "agent": ("Mohon tunggu sebentar, saya sambungkan ke petugas kami.",),
})


@dataclass(frozen=True)
class Prompt:
    id: str
    text: str
    file: str | None = None

    @property
    def variables(self) -> list[str]:
        return [n for n, _ in variables_in(self.text)]


@dataclass(frozen=True)
class Settings:
    """Script-wide settings (``settings:`` and ``handoff:``); the field defaults are the
    defaults of a script that leaves a key out."""

    timeout_s: float = 7.0
    retries: int = 1
    barge_in: bool = True
    accept: float = 0.7
    confirm: float = 0.4
    prompts: Mapping[str, tuple[Prompt, ...]] = field(default_factory=dict)
    queue: str = "umum"
    on_transfer_failed: str | None = None


DEFAULTS = Settings()


@dataclass(frozen=True)
class ListenSpec:
    kind: str
    intents: tuple[str, ...] = ()
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    slot: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    dtmf: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = DEFAULTS.timeout_s
    retries: int = DEFAULTS.retries
    barge_in: bool = DEFAULTS.barge_in
    confirm: bool = True


@dataclass(frozen=True)
class TransferSpec:
    queue: str | None = None
    reason: str = "script"
    on_failed: str | None = None


@dataclass(frozen=True)
class TicketSpec:
    kind: str
    next: str
    fields: Mapping[str, str] = field(default_factory=dict)   # name -> template


@dataclass(frozen=True)
class LookupSpec:
    ticket: str       # template
    found: str
    not_found: str


@dataclass(frozen=True)
class BranchSpec:
    variable: str
    default: str
    cases: Mapping[str, str] = field(default_factory=dict)
    empty: str | None = None


@dataclass(frozen=True)
class State:
    id: str
    say: tuple[Prompt, ...] = ()
    set: Mapping[str, str] = field(default_factory=dict)
    listen: ListenSpec | None = None
    no_input: tuple[Prompt, ...] = ()
    no_match: tuple[Prompt, ...] = ()
    invalid: tuple[Prompt, ...] = ()
    keypad: Prompt | None = None
    queue: str | None = None
    on: Mapping[str, str] = field(default_factory=dict)
    # follow-up questions answered in place: intent -> prompts (the caller stays here)
    answers: Mapping[str, tuple[Prompt, ...]] = field(default_factory=dict)
    # said instead of ``say`` when the words of the request that led here already name one of
    # this choice's options, which is then taken without asking (empty: always ask)
    carried: tuple[Prompt, ...] = ()
    next: str | None = None
    transfer: TransferSpec | None = None
    create_ticket: TicketSpec | None = None
    lookup_ticket: LookupSpec | None = None
    branch: BranchSpec | None = None
    end: str | None = None
    menu: bool = False    # declared `menu: true`: its choices lead to services or other menus


@dataclass(frozen=True)
class HangupTicket:
    """What a flow files when the caller hangs up inside it (``flows.<id>.on_hangup``):
    a ticket of ``kind`` with the non-empty ``variables``, when at least one of ``when_any``
    has a value and the flow has filed nothing since the caller entered it."""

    kind: str
    variables: tuple[str, ...]
    when_any: tuple[str, ...]


@dataclass(frozen=True)
class Flow:
    """A group of states the script declares as one task (``flows:``), e.g. the complaint."""

    id: str
    states: frozenset[str]
    on_hangup: HangupTicket | None = None
    cancel: FlowCancel | None = None


@dataclass(frozen=True)
class FlowCancel:
    """How a caller leaves a flow on purpose (``flows.<id>.cancel``): any of ``words`` said on
    its own in a listening state of the flow (politeness words aside) says ``say`` and goes to
    ``goto``; nothing of the flow is filed."""

    words: tuple[str, ...]
    goto: str
    say: tuple[Prompt, ...] = ()

    def said_in(self, text: str) -> bool:
        """Whether ``text`` is one of the words, give or take "saja", "deh", "ya", "pak"..."""
        said = " ".join(w for w in normalize(text).split() if w not in _FILLERS)
        return bool(said) and any(said == normalize(w) for w in self.words)

    def near(self, text: str, others: Iterable[str] = ()) -> bool:
        """Whether ``text`` sounds like one of the words as a recognizer garbles them ("Matal",
        "Tidak jadik.", "Kambali Kemenurutama", "Matalkan penyaduan"): its letters (spaces and
        fillers aside) at least ``CANCEL_NEAR`` alike to a cancel word's, and more alike to it
        than to any of ``others`` (the ordinary short answers: "tidak ada" is near "tidak
        jadi" but is what it says). Asked back before acting: a cancel forgets answers."""
        said = _letters(text)
        if not said or self.said_in(text):
            return False
        best = max((_alike(said, _letters(w)) for w in self.words), default=0.0)
        if best < CANCEL_NEAR:
            return False
        mine = {_letters(w) for w in self.words}  # "batal" is a "no" word too
        return all(_alike(said, o) < best for o in map(_letters, (*others, *_NOT_CANCEL)) if o not in mine)


#: how alike (difflib's ratio of the letters) a garbled cancel must be to a cancel word
#: (bench/probe_cancel.py: "matal"/"batal" 0.8; the place "Bantul" 0.73)
CANCEL_NEAR = 0.75
#: short answers that are near a cancel word and mean what they say
_NOT_CANCEL = ("tidak ada", "nggak ada", "belum ada", "tidak tahu", "tidak apa apa", "tidak usah",
               "tidak mau", "sudah jadi", "belum jadi", "tidak jelas")


def _letters(text: str) -> str:
    return "".join(ch for w in normalize(text).split() if w not in _FILLERS for ch in w if ch.isalpha())


def _alike(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() if a and b else 0.0


#: words around a request that change nothing ("batal saja", "tidak jadi deh, Bu")
#: (normalize already drops "deh", "dong", "sih", "nih")
_FILLERS = frozenset({"saja", "aja", "ya", "yah", "pak", "bu", "mbak", "mas", "kak", "dulu",
                      "sudah", "udah", "eh", "maaf", "tolong"})


@dataclass(frozen=True)
class Intent:
    id: str
    label: str
    examples: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    not_keywords: tuple[str, ...] = ()    # words that speak against the intent


def topic_words(topic: str) -> str:
    """A topic's name as staff read it when the script gives no label ("air_bersih" -> "Air bersih")."""
    words = topic.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


@dataclass(frozen=True)
class OutOfScopeTopic:
    """Requests the hotline does not handle, on one topic (``out_of_scope:`` in a script): the
    examples the matcher compares with, the label staff read on the analytics pages, and
    ``say``: one sentence telling the caller where to go instead ("Untuk paspor ..., silakan
    datang ke kantor imigrasi terdekat ..."), said between the prompts ``out_of_scope_head``
    and ``out_of_scope_tail`` in place of the generic ``out_of_scope`` (None: the generic one)."""

    id: str
    label: str
    examples: tuple[str, ...]
    say: Prompt | None = None


@dataclass(frozen=True)
class GlobalIntent:
    intent: str
    goto: str | None = None
    action: str | None = None        # "repeat" | "agent"
    confirm: bool = True
    dtmf: str | None = None


# the local options of an intent menu ("menu utama", "pajak") are tried when the intent
# matcher is less sure than this
LOCAL_OPTIONS_BELOW = 0.9
#: how far the out-of-scope class must lead a state's services (raw matcher scores) for a
#: question to be read as one about another office's service (`Script.topic_asked`): the
#: questions about a passport, a SIM, a train lead by 0.11-0.69; "bisa online tidak ya" (the
#: catch-all's neighbour "pinjaman online") by 0.04
TOPIC_ASKED_MARGIN = 0.1


class Script:
    """A loaded, validated script. Build it with `dialogs.load_script`."""

    def __init__(
        self,
        *,
        name: str,
        start: str,
        settings: Settings,
        intents: Mapping[str, Intent],
        globals_: Mapping[str, GlobalIntent],
        states: Mapping[str, State],
        yes: tuple[str, ...],
        no: tuple[str, ...],
        yesno_dtmf: Mapping[str, str],
        out_of_scope: tuple[str, ...] | tuple[OutOfScopeTopic, ...],
        variables: tuple[str, ...],
        entry_menu: str | None = None,
        flows: Mapping[str, Flow] | None = None,
        warnings: tuple[ScriptIssue, ...] = (),
        source: str = "<memory>",
        path: Path | None = None,
    ):
        self.name = name
        self.start = start
        self.settings = settings
        self.intents = dict(intents)
        self.globals = dict(globals_)
        self.states = dict(states)
        self.yes = yes
        self.no = no
        self.yesno_dtmf = dict(yesno_dtmf)
        topics = tuple(t for t in out_of_scope if isinstance(t, OutOfScopeTopic))
        plain = tuple(t for t in out_of_scope if isinstance(t, str))
        if plain:
            topics += (OutOfScopeTopic(OTHER_TOPIC, topic_words(OTHER_TOPIC), plain),)
        self.out_of_scope_topics: dict[str, OutOfScopeTopic] = {t.id: t for t in topics}
        """Topics of requests the hotline does not handle (script order; a plain list is the
        one topic "lainnya")."""
        self.out_of_scope: tuple[str, ...] = tuple(ex for t in topics for ex in t.examples)
        """Every out-of-scope example, in script order."""
        self.variables = variables
        self.flows: dict[str, Flow] = dict(flows or {})
        self.warnings = warnings
        self.source = source
        self.path = path
        self.entry_menu: str = entry_menu if entry_menu is not None else self._fallback_entry_menu()
        """The state that offers the services (`entry_menu:`; see `_fallback_entry_menu`)."""
        self.menu_states: frozenset[str] = frozenset(
            {s.id for s in self.states.values() if s.menu} | {self.entry_menu})
        """States declared `menu: true`, and the entry menu."""
        self._flow_of = {sid: f for f in self.flows.values() for sid in f.states}
        self.global_dtmf = {g.dtmf: g.intent for g in self.globals.values() if g.dtmf}
        self.formats = dict(BUILTIN_VARIABLES)
        for st in self.states.values():
            if st.listen and st.listen.slot:
                self.formats[st.listen.slot] = KIND_FORMATS.get(st.listen.kind, "plain")
        self.questions: frozenset[str] = frozenset(q for st in self.states.values() for q in st.answers)
        """Intents some state answers in place (`answers:`): follow-up questions, not services."""
        self.matcher: IntentMatcher = IntentMatcher(
            {i.id: i.examples for i in self.intents.values()},
            {i.id: i.keywords for i in self.intents.values()},
            {t.id: t.examples for t in topics},
            {i.id: i.not_keywords for i in self.intents.values() if i.not_keywords},
            # "every intent" means every service and command: a follow-up question counts
            # only where a state answers it
            default=[i for i in self.intents if i not in self.questions],
        )
        self.yesno_matcher = IntentMatcher({"yes": yes, "no": no})
        self.choice_matchers: dict[str, IntentMatcher] = {
            st.id: IntentMatcher(st.listen.options)
            for st in self.states.values()
            if st.listen and st.listen.kind in ("choice", "intent") and st.listen.options
        }
        self._listen_cache: dict[str, Listen] = {}
        self._candidates: dict[str, frozenset[str]] = {}
        for st in self.states.values():
            if st.listen is not None:
                self._candidates[st.id] = (frozenset(st.listen.intents) | frozenset(self.globals)
                                           | frozenset(st.answers))

    def _fallback_entry_menu(self) -> str:
        """A script without `entry_menu:`: its first state declared a menu, else its first
        state that listens for intents, else its start state."""
        for st in self.states.values():
            if st.menu:
                return st.id
        for st in self.states.values():
            if st.listen is not None and st.listen.kind == "intent":
                return st.id
        return self.start

    # ----------------------------------------------------------------- queries
    def candidates(self, state_id: str) -> frozenset[str]:
        """Intents the matcher may return in a state (its own plus the global ones)."""
        return self._candidates.get(state_id, frozenset(self.globals))

    def listening_states(self) -> list[str]:
        return [s.id for s in self.states.values() if s.listen is not None]

    def flow_of(self, state_id: str | None) -> Flow | None:
        """The declared flow `state_id` belongs to, if any."""
        return self._flow_of.get(state_id) if state_id is not None else None

    def navigation(self, state_id: str) -> frozenset[str]:
        """Labels of `state_id`'s listen that lead into a sub-menu: a state declared
        `menu: true` other than the entry menu and the state itself ("pajak" -> the tax
        menu). A way back to the entry menu ("menu utama") names no service, so it is not
        navigation in this sense."""
        st = self.states.get(state_id)
        if st is None or st.listen is None:
            return frozenset()
        sub_menus = self.menu_states - {self.entry_menu, state_id}
        return frozenset(label for label, target in st.on.items() if target in sub_menus)

    def named_option(self, state_id: str, text: str) -> str | None:
        """The one option of a choice state that ``text`` names word for word ("... mengadukan
        pungli di kelurahan" names ``pelayanan`` by its phrase "pungli"); None when it names
        none, or phrases of more than one option."""
        st = self.states.get(state_id)
        if st is None or st.listen is None or not st.listen.options:
            return None
        said = f" {normalize(text)} "
        named = {option for option, phrases in st.listen.options.items()
                 if any(f" {normalize(p)} " in said for p in phrases if normalize(p))}
        return named.pop() if len(named) == 1 else None

    def match_answer(self, state_id: str | None, text: str, ceiling: float = 1.0) -> Match:
        """The intent (or menu option) `text` asks for in an intent state (`state_id` None:
        any intent of the script). The confidence is capped at `ceiling` (the recognizer's
        confidence in the words). A menu's own options ("menu utama", "pajak") are tried when
        the intents matched with less than LOCAL_OPTIONS_BELOW and win when they match better.
        The engine and `dialogs.nlu` both decide this way."""
        cands = self.candidates(state_id) if state_id is not None else None
        m = self.matcher.match(text, cands)
        if state_id is not None:
            m = self.follow_up(state_id, text, m)
        intent, conf = m.intent, min(m.confidence, ceiling)
        local = self.choice_matchers.get(state_id) if state_id is not None else None
        if local is not None and conf < LOCAL_OPTIONS_BELOW:
            lm = local.match(text)
            if lm.intent is not None and lm.confidence > conf:
                return Match(lm.intent, min(lm.confidence, ceiling), lm.scores)
        beyond = intent is None and m.out_of_scope
        return Match(intent, conf, m.scores, out_of_scope=beyond, topic=m.topic if beyond else None)

    def follow_up(self, state_id: str, text: str, m: Match) -> Match:
        """`m` (taken in `state_id` from `text`) read as a follow-up in a state that answers
        questions (`answers:`): a question naming another service goes there
        (`_service_named`); the state's own service asked about with a question's cue words
        ("pajak motor bayar di mana" after the vehicle-tax answer) is that question, not the
        whole answer again (`_question_here`). The engine applies it to the recognizer's
        decisions too, which `match_answer` does not see."""
        st = self.states.get(state_id)
        if st is None or not st.answers or m.intent is None or not text:
            return m
        if m.intent in self.questions:
            topic = self.topic_asked(state_id, text)
            if topic is not None:
                # "paspor biayanya berapa" after the KTP answer: not the KTP fee ("gratis")
                return Match(None, 0.0, m.scores, out_of_scope=True, topic=topic)
            return self._service_named(state_id, text, self.candidates(state_id), m)
        if st.on.get(m.intent) == state_id:
            return self._question_here(st, text, m)
        return m

    def topic_asked(self, state_id: str, text: str) -> str | None:
        """The out-of-scope topic a question is about, when it names one ("paspor biayanya
        berapa", "kantor imigrasi di mana"): the out-of-scope class leads the services of
        ``state_id`` (questions left out) by TOPIC_ASKED_MARGIN and its topic is a named one,
        not the catch-all (OTHER_TOPIC: "jam berapa kantornya buka" names no office). None
        otherwise ("bisa online tidak ya": "pinjaman online" is an example of a topic, but
        hardly leads)."""
        cands = [c for c in self.candidates(state_id) if c not in self.questions]
        m = self.matcher.match(text, cands)
        if m.intent is not None or not m.out_of_scope or m.topic in (None, OTHER_TOPIC):
            return None
        lead = float(self.matcher.class_scores(text)[-1]) - max(m.scores.values(), default=0.0)
        return m.topic if lead >= TOPIC_ASKED_MARGIN else None

    def _question_here(self, st: State, text: str, m: Match) -> Match:
        asked = {q for q in self.matcher.keyword_intents(text) if q in st.answers}
        if not asked:
            return m
        q = self.matcher.match(text, list(st.answers))
        return q if q.intent in asked else m

    def question_asked(self, state_id: str, text: str) -> str | None:
        """The follow-up question of ``state_id``'s `answers:` that ``text`` asks, read as a
        question about the state's own service is (`_question_here`: a question's cue words,
        then the best of the state's questions): "bikin ktp elektronik syaratnya apa" asks
        ``tanya_syarat`` of ``info_ktp``. None when it asks none of them."""
        st = self.states.get(state_id)
        if st is None or not st.answers or not text:
            return None
        q = self._question_here(st, text, Match(None, 0.0))
        return q.intent

    def _service_named(self, state_id: str, text: str, cands: frozenset[str], m: Match) -> Match:
        """A follow-up question that names another service by its cue words ("berapa biaya
        bikin kk" after the KTP answer) goes to that service: its own answer says what it
        costs. Naming the service of this very state keeps the question. A service whose state
        does not answer the question needs at least as much cue-word evidence as the question:
        "berapa lama prosesnya" keeps the question (one weak cue of a complaint status enquiry,
        "proses"), "berapa lama laporan saya diproses" is that enquiry."""
        here = self.states[state_id].on
        cues = self.matcher.keyword_evidence(text)
        asked = cues.get(m.intent or "", 0.0)
        named = {i for i, w in cues.items()
                 if i in cands and i not in self.questions and here.get(i) not in (None, state_id)
                 and (m.intent in self.states[here[i]].answers or w >= asked)}
        if not named:
            return m
        other = self.matcher.match(text, [c for c in cands if c not in self.questions])
        return other if other.intent in named else m

    def expectations(self, state_id: str) -> dict[str, list[str]]:
        """label -> example phrases a recogniser can score in `state_id`.

        `state_id` "yesno" gives the yes/no phrases used by every confirmation.
        Intent states list their intents and the global ones; yes/no states "yes"/"no";
        choice states their options; slot states only the global intents.
        """
        if state_id == "yesno":
            return {"yes": list(self.yes), "no": list(self.no)}
        st = self.states.get(state_id)
        if st is None or st.listen is None:
            raise KeyError(f"state {state_id!r} does not listen")
        ls = st.listen
        out: dict[str, list[str]] = {}
        if ls.kind == "intent":
            for name in ls.intents:
                out[name] = list(self.intents[name].examples)
            for name, phrases in ls.options.items():
                out[name] = list(phrases)
            for name in st.answers:
                out[name] = list(self.intents[name].examples)
        elif ls.kind == "yesno":
            out = {"yes": list(self.yes), "no": list(self.no)}
        elif ls.kind == "choice":
            out = {k: list(v) for k, v in ls.options.items()}
        for name in self.globals:
            if name in self.intents and name not in out:
                out[name] = list(self.intents[name].examples)
        return out

    def listen_action(self, state_id: str) -> Listen:
        """The Listen action the engine emits in `state_id` (without running the engine).
        Built once per state; treat it as read-only."""
        cached = self._listen_cache.get(state_id)
        if cached is None:
            cached = self._listen_cache[state_id] = self._build_listen(state_id)
        return cached

    def offer_listen(self, state_id: str) -> Listen:
        """The Listen of the offer of ``state_id``'s whole answer (after the reply to a first
        request's question, `offer_answer`): the state's own, with the yes/no phrases beside its
        labels and the yes/no keys (1 ya, 2 tidak). Built once per state, as `listen_action`."""
        key = "offer:" + state_id
        cached = self._listen_cache.get(key)
        if cached is None:
            own, yn = self.listen_action(state_id), self.listen_action("yesno")
            cached = self._listen_cache[key] = replace(
                own, expect={**own.expect, **yn.expect}, dtmf={**own.dtmf, **yn.dtmf})
        return cached

    def offering_states(self) -> list[str]:
        """The states that may offer their whole answer after a first request's question (an
        intent listen with `answers:`, when the script has the `offer_answer` prompt)."""
        if not self.settings.prompts.get("offer_answer"):
            return []
        return [s.id for s in self.states.values()
                if s.listen is not None and s.listen.kind == "intent" and s.answers]

    def _build_listen(self, state_id: str) -> Listen:
        from dialogs.actions import Listen

        if state_id == "yesno":
            return Listen(state="yesno", kind="yesno", expect=self.expectations("yesno"),
                          slot=None, dtmf=dict(self.yesno_dtmf), max_digits=1,
                          timeout_s=self.settings.timeout_s, barge_in=True)
        st = self.states[state_id]
        ls = st.listen
        assert ls is not None
        dtmf = dict(ls.dtmf)
        if ls.kind == "yesno":
            for k, v in self.yesno_dtmf.items():
                dtmf.setdefault(k, v)
        if ls.kind in ("intent", "yesno", "choice", "free", "plate"):   # no digits to collect
            for k, v in self.global_dtmf.items():
                dtmf.setdefault(k, v)
        return Listen(
            state=state_id,
            kind=ls.kind,
            expect=self.expectations(state_id),
            slot=ls.slot,
            dtmf=dtmf,
            max_digits=self.max_digits(ls),
            timeout_s=ls.timeout_s,
            barge_in=ls.barge_in,
            navigation=self.navigation(state_id),
        )

    @staticmethod
    def max_digits(ls: ListenSpec) -> int | None:
        if ls.kind == "nik":
            return 16
        if ls.kind == "phone":
            return 13
        if ls.kind == "date":
            return 8
        if ls.kind in ("digits", "ticket"):
            return ls.max_length or 12
        if ls.kind in ("intent", "yesno", "choice"):
            return 1
        return None

    def static_prompts(self) -> list[str]:
        """Every prompt text without variables (for pre-rendering), in script order, unique."""
        seen: dict[str, None] = {}

        def add(p: Prompt) -> None:
            if not p.variables:
                seen.setdefault(p.text, None)

        for prompts in self.settings.prompts.values():
            for p in prompts:
                add(p)
        for reply in GREETING_REPLIES:   # answers in kind to a caller's greeting
            seen.setdefault(reply, None)
        for st in self.states.values():
            for group in (st.say, st.no_input, st.no_match, st.invalid, st.carried, *st.answers.values()):
                for p in group:
                    add(p)
            if st.keypad:
                add(st.keypad)
        for flow in self.flows.values():
            for p in flow.cancel.say if flow.cancel is not None else ():
                add(p)
        for topic in self.out_of_scope_topics.values():
            if topic.say is not None:
                add(topic.say)
        return list(seen)
