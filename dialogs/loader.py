"""Load a YAML dialog script: parse, validate against the schema, check the graph.

Every problem is collected and reported at once (`ScriptError.issues`), each with its path
(`states.info_ktp.listen.intents[2]`) and the line it is on. What a script may leave out is
filled in from the defaults in `dialogs.model` (the one place they are set); a script that
leaves out a declaration the runtime relies on loads with `Script.warnings`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from dialogs.errors import ScriptError, ScriptIssue
from dialogs.model import (
    BUILTIN_VARIABLES,
    DEFAULT_NO,
    DEFAULT_PROMPTS,
    DEFAULT_YES,
    DEFAULT_YESNO_DTMF,
    DEFAULTS,
    BranchSpec,
    Flow,
    FlowCancel,
    GlobalIntent,
    HangupTicket,
    Intent,
    ListenSpec,
    LookupSpec,
    OutOfScopeTopic,
    Prompt,
    Script,
    Settings,
    State,
    TicketSpec,
    TransferSpec,
    topic_words,
)
from dialogs.schema import SCHEMA, SLOT_KINDS
from dialogs.templates import template_problems, variables_in
from dialogs.yaml_source import MAX_BYTES, LineMap, PathT, fmt_path, parse_yaml

__all__ = ["check_script", "fmt_path", "load_script"]

log = logging.getLogger(__name__)

# Raw YAML data (mappings, lists, strings, numbers) is only known to be well-formed once the
# schema has checked it; the checks below read it as such.
Raw = Any

_VALIDATOR = Draft202012Validator(SCHEMA)
_MENU_KINDS = ("intent", "choice")
#: the longest out-of-scope referral (a topic's `say`): one sentence, heard after "di luar layanan"
REFERRAL_MAX_CHARS = 160


def load_script(source: str | Path, *, text: str | None = None) -> Script:
    """Load and validate a script file (or `text`, with `source` used as its name)."""
    path = Path(source) if text is None else None
    name = str(source)
    if text is None:
        try:
            size = Path(source).stat().st_size
            if size > MAX_BYTES:
                raise ScriptError(name, [ScriptIssue("", None, f"the file is {size:,} bytes; a script has at most {MAX_BYTES:,}")])
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ScriptError(name, [ScriptIssue("", None, f"cannot read file: {exc}")]) from None
    return _Builder(name, text, path).build()


def check_script(source: str, text: str) -> tuple[list[ScriptIssue], list[ScriptIssue]]:
    """Every problem (and warning) of a script's text without building it: what an editor
    checks as the admin types (the intent matchers are not built, so it is about twice as fast
    as :func:`load_script`)."""
    b = _Builder(source, text, None)
    try:
        b.check()
    except ScriptError as exc:
        return list(exc.issues), list(b.warnings)
    return [], list(b.warnings)


class _Builder:
    def __init__(self, source: str, text: str, path: Path | None):
        self.source = source
        self.text = text
        self.path = path
        self.issues: list[ScriptIssue] = []
        self.warnings: list[ScriptIssue] = []
        self.lines = LineMap()

    def err(self, path: PathT, message: str) -> None:
        self.issues.append(ScriptIssue(fmt_path(path), self.lines.line(path), message))

    def warn(self, path: PathT, message: str) -> None:
        self.warnings.append(ScriptIssue(fmt_path(path), self.lines.line(path), message))

    # ------------------------------------------------------------------ build
    def build(self) -> Script:
        data = self.check()
        script = self._model(data)
        for w in script.warnings:
            log.warning("%s: %s", self.source, w)
        return script

    def check(self) -> dict[str, Raw]:
        """Parse and check everything; :class:`ScriptError` with every issue, else the data."""
        data = self._parse()
        if not isinstance(data, dict):
            if not self.issues:
                self.err((), "a script is a mapping with version, name, start and states")
            raise ScriptError(self.source, self.issues)
        for error in _VALIDATOR.iter_errors(data):
            self._schema_issue(error)
        self._semantic(data)
        if self.issues:
            raise ScriptError(self.source, self.issues)
        return data

    def _parse(self) -> object:
        doc = parse_yaml(self.text)
        self.lines = doc.lines
        self.issues.extend(doc.issues)
        return doc.data

    def _schema_issue(self, error: ValidationError) -> None:
        """One schema error as a script issue, in words an admin reads."""
        if error.validator in ("oneOf", "anyOf") and error.context:
            deepest = best_match(error.context)
            if deepest is not None and len(deepest.absolute_path) > len(error.absolute_path):
                error = deepest
        path = tuple(error.absolute_path)
        msg = error.message
        if error.validator == "additionalProperties":
            schema = error.schema if isinstance(error.schema, dict) else {}
            extra = sorted(set(_mapping(error.instance)) - set(schema.get("properties", {})))
            for key in extra:
                self.err(path + (key,), f"unknown key '{key}'")
            return
        if error.validator == "oneOf" and isinstance(error.instance, dict):
            msg = "give exactly one of " + " / ".join(
                "'" + "', '".join(s.get("required", [])) + "'" for s in _list(error.validator_value)
            )
        if error.validator == "pattern":
            msg = f"{error.instance!r} is not a valid name (lower-case letters, digits, _)"
        if error.validator == "required":
            msg = msg.replace("is a required property", "is required")
        self.err(path, msg)

    # --------------------------------------------------------------- semantic
    def _semantic(self, data: dict[str, Raw]) -> None:
        states = _mapping(data.get("states"))
        intents = _mapping(data.get("intents"))
        globals_ = _mapping(data.get("globals"))
        handoff = _mapping(data.get("handoff"))

        def target(path: PathT, value: Raw) -> None:
            if isinstance(value, str) and value not in states:
                self.err(path, f"transition to unknown state '{value}'")

        start = data.get("start")
        if isinstance(start, str) and start not in states:
            self.err(("start",), f"start state '{start}' is not defined")
        target(("handoff", "on_failed"), handoff.get("on_failed"))

        # known variables
        known = set(BUILTIN_VARIABLES)
        declared = data.get("variables")
        if isinstance(declared, list):
            known |= {v for v in declared if isinstance(v, str)}
        for st in states.values():
            if not isinstance(st, dict):
                continue
            ls = st.get("listen")
            if isinstance(ls, dict) and isinstance(ls.get("slot"), str):
                known.add(ls["slot"])
                if ls.get("kind") == "choice":
                    known.add(ls["slot"] + "_label")
            if isinstance(st.get("set"), dict):
                known |= set(st["set"])

        for gname, g in globals_.items():
            if gname not in intents:
                self.err(("globals", gname), f"global '{gname}' is not a defined intent")
            if isinstance(g, dict):
                target(("globals", gname, "goto"), g.get("goto"))
        dtmf_globals = {g.get("dtmf"): n for n, g in globals_.items() if isinstance(g, dict) and g.get("dtmf")}
        if len(dtmf_globals) != len([g for g in globals_.values() if isinstance(g, dict) and g.get("dtmf")]):
            self.err(("globals",), "two global intents use the same key")

        conf = (data.get("settings") or {}).get("confidence") if isinstance(data.get("settings"), dict) else None
        if isinstance(conf, dict) and isinstance(conf.get("accept"), (int, float)) and isinstance(conf.get("confirm"), (int, float)):
            if conf["confirm"] > conf["accept"]:
                self.err(("settings", "confidence"), "confirm threshold must not exceed accept")

        self._check_templates(data, known)
        self._check_out_of_scope(data.get("out_of_scope"))

        for sid, st in states.items():
            if isinstance(st, dict):
                self._check_state(sid, st, states, intents, globals_, known, target)

        self._check_declarations(data, states, known)

        # reachability
        if isinstance(start, str) and start in states:
            roots = [start]
            if isinstance(handoff.get("on_failed"), str):
                roots.append(handoff["on_failed"])
            roots += [g["goto"] for g in globals_.values() if isinstance(g, dict) and isinstance(g.get("goto"), str)]
            seen: set[str] = set()
            todo = [r for r in roots if r in states]
            while todo:
                s = todo.pop()
                if s in seen:
                    continue
                seen.add(s)
                todo.extend(t for t in _targets(states.get(s)) if t in states and t not in seen)
            for sid in states:
                if sid not in seen:
                    self.err(("states", sid), f"state '{sid}' can never be reached")
        # loops that never wait for the caller
        self._check_loops(states)

    def _check_out_of_scope(self, oos: Raw) -> None:
        """An out-of-scope example belongs to one topic (the page counts requests per topic)."""
        if not isinstance(oos, dict):
            return
        where: dict[str, str] = {}
        for topic, spec in oos.items():
            say = spec.get("say") if isinstance(spec, dict) else None
            text = say.get("text") if isinstance(say, dict) else say
            if isinstance(text, str):
                self._check_referral(("out_of_scope", topic, "say"), text)
            examples = spec.get("examples") if isinstance(spec, dict) else spec
            for i, ex in enumerate(examples if isinstance(examples, list) else []):
                if not isinstance(ex, str):
                    continue
                key = " ".join(ex.lower().split())
                if key in where and where[key] != topic:
                    path: PathT = ("out_of_scope", topic) + (("examples", i) if isinstance(spec, dict) else (i,))
                    self.err(path, f"example '{ex}' is already under topic '{where[key]}'")
                where.setdefault(key, topic)

    def _check_referral(self, path: PathT, text: str) -> None:
        """A topic's ``say``: one short sentence, the same for every caller (it is said between
        the "di luar layanan ... 112" head and the "keperluan lain" tail)."""
        if "{" in text or "}" in text:
            self.err(path, "a referral takes no variables or braces")
        if len(text.strip()) > REFERRAL_MAX_CHARS:
            self.err(path, f"a referral has at most {REFERRAL_MAX_CHARS} characters, not {len(text.strip())}")
        if "112" in text:
            self.warn(path, "a referral need not name 112 (the prompt before it already does)")

    def _check_declarations(self, data: dict[str, Raw], states: dict[str, Raw], known: set[str]) -> None:
        """`entry_menu`, `menu: true` and `flows`: what the runtime relies on, declared."""

        def listens_for_choices(st: Raw) -> bool:
            ls = st.get("listen") if isinstance(st, dict) else None
            return isinstance(ls, dict) and ls.get("kind") in _MENU_KINDS

        entry = data.get("entry_menu")
        if isinstance(entry, str):
            if entry not in states:
                self.err(("entry_menu",), f"entry menu '{entry}' is not a state")
            elif not listens_for_choices(states[entry]):
                self.err(("entry_menu",), f"entry menu '{entry}' must listen with kind intent or choice")
        elif entry is None and states:
            self.warn(("entry_menu",), "no 'entry_menu': tools take the first state with 'menu: true' "
                                       "(else the first that listens for intents) as the menu of services")
        for sid, st in states.items():
            if isinstance(st, dict) and st.get("menu") is True and not listens_for_choices(st):
                self.err(("states", sid, "menu"), "a menu must listen with kind intent or choice")

        flows = data.get("flows")
        if not isinstance(flows, dict):
            if any(isinstance(st, dict) and "create_ticket" in st for st in states.values()):
                self.warn(("flows",), "no 'flows' with 'on_hangup': a caller who hangs up before a ticket "
                                      "is created leaves nothing behind")
            return
        owner: dict[str, str] = {}
        for fid, flow in flows.items():
            if not isinstance(flow, dict):
                continue
            base: PathT = ("flows", fid)
            for i, sid in enumerate(flow.get("states") or []):
                if not isinstance(sid, str):
                    continue
                if sid not in states:
                    self.err(base + ("states", i), f"unknown state '{sid}'")
                elif sid in owner and owner[sid] != fid:
                    self.err(base + ("states", i), f"state '{sid}' is already in flow '{owner[sid]}'")
                elif sid in owner:
                    self.err(base + ("states", i), f"state '{sid}' is listed twice")
                owner.setdefault(sid, fid)
            cancel = flow.get("cancel")
            if isinstance(cancel, dict):
                goto = cancel.get("goto")
                if isinstance(goto, str) and goto not in states:
                    self.err(base + ("cancel", "goto"), f"transition to unknown state '{goto}'")
            hang = flow.get("on_hangup")
            if isinstance(hang, dict):
                for key in ("variables", "when_any"):
                    for i, name in enumerate(hang.get(key) or []):
                        if isinstance(name, str) and name not in known:
                            self.err(base + ("on_hangup", key, i), f"unknown variable '{name}'")

    def _check_templates(self, data: dict[str, Raw], known: set[str]) -> None:
        def visit(node: Raw, path: PathT, is_template: bool) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    if path and path[0] == "intents" or k in ("examples", "keywords", "not_keywords", "options", "yes", "no", "out_of_scope"):
                        continue
                    tmpl = is_template or k in ("say", "no_input", "no_match", "invalid", "keypad", "set", "fields", "ticket", "prompts",
                                           "answers", "carried")
                    visit(v, path + (k,), tmpl)
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    visit(v, path + (i,), is_template)
            elif isinstance(node, str) and is_template:
                for problem in template_problems(node):
                    self.err(path, problem)
                for name, _ in variables_in(node):
                    if name not in known:
                        self.err(path, f"unknown variable '{{{name}}}'")

        visit(data.get("settings"), ("settings",), False)
        visit(data.get("states"), ("states",), False)

    def _check_state(self, sid: str, st: dict[str, Raw], states: dict[str, Raw], intents: dict[str, Raw],
                     globals_: dict[str, Raw], known: set[str], target: Callable[[PathT, Raw], None]) -> None:
        base: PathT = ("states", sid)
        exits: list[str] = [k for k in ("listen", "transfer", "create_ticket", "lookup_ticket", "branch", "end") if k in st]
        if "next" in st and "listen" not in st:
            exits.append("next")
        if len(exits) == 0:
            self.err(base, "state does nothing: give listen, next, transfer, create_ticket, lookup_ticket, branch or end")
        elif len(exits) > 1:
            self.err(base, f"state has more than one way out: {', '.join(exits)}")
        on = _mapping(st.get("on"))
        for k, v in on.items():
            target(base + ("on", k), v)
        target(base + ("next",), st.get("next"))
        for key, sub in (("transfer", "on_failed"), ("create_ticket", "next"),
                         ("lookup_ticket", "found"), ("lookup_ticket", "not_found"),
                         ("branch", "default"), ("branch", "empty")):
            if isinstance(st.get(key), dict):
                target(base + (key, sub), st[key].get(sub))
        br = st.get("branch")
        if isinstance(br, dict):
            if isinstance(br.get("cases"), dict):
                for k, v in br["cases"].items():
                    target(base + ("branch", "cases", k), v)
            if isinstance(br.get("variable"), str) and br["variable"] not in known:
                self.err(base + ("branch", "variable"), f"unknown variable '{br['variable']}'")
        if "on" in st and "listen" not in st:
            self.err(base + ("on",), "'on' needs 'listen' in the same state")
        if "answers" in st and "listen" not in st:
            self.err(base + ("answers",), "'answers' needs a listen of kind intent")
        if "carried" in st and "listen" not in st:
            self.err(base + ("carried",), "'carried' needs a listen of kind choice with a slot")
        ls = st.get("listen")
        if not isinstance(ls, dict):
            return
        lp = base + ("listen",)
        kind = ls.get("kind")
        outcomes: set[str] = set()
        if kind == "intent":
            names = ls.get("intents")
            if not isinstance(names, list):
                self.err(lp, "kind intent needs 'intents'")
                names = []
            for i, name in enumerate(names):
                if name not in intents:
                    self.err(lp + ("intents", i), f"unknown intent '{name}'")
                elif name not in on and name not in globals_:
                    self.err(lp + ("intents", i), f"intent '{name}' has no transition in 'on'")
                outcomes.add(name)
            for name in _mapping(st.get("answers")):   # follow-up questions answered in place
                if name not in intents:
                    self.err(base + ("answers", name), f"unknown intent '{name}'")
                elif name in names or name in globals_ or name in on:
                    self.err(base + ("answers", name), f"'{name}' is answered in place and also leads elsewhere")
            opts = _mapping(ls.get("options"))
            for name in opts:   # local answers of this menu ("menu utama", "pajak")
                outcomes.add(name)
                if name in intents:
                    self.err(lp + ("options", name), f"option '{name}' has the name of an intent")
                elif name not in on:
                    self.err(lp + ("options", name), f"option '{name}' has no transition in 'on'")
        elif kind == "choice":
            opts = _mapping(ls.get("options"))
            if not opts:
                self.err(lp, "kind choice needs 'options'")
            for name in opts:
                outcomes.add(name)
                if name not in on and "filled" not in on and "next" not in st:
                    self.err(lp + ("options", name), f"option '{name}' has no transition in 'on'")
        elif kind == "yesno":
            outcomes |= {"yes", "no"}
            for k in ("yes", "no"):
                if k not in on:
                    self.err(base + ("on",), f"yes/no state needs a transition for '{k}'")
        elif kind in SLOT_KINDS:
            if not ls.get("slot"):
                self.err(lp, f"kind {kind} needs 'slot' (the variable that receives the value)")
            if "filled" not in on and "next" not in st:
                self.err(base, "give 'next' or on.filled: where to go once the value is captured")
            outcomes |= {"filled", "skip"}
            if kind == "digits" and not (ls.get("length") or ls.get("max_length")):
                self.err(lp, "kind digits needs 'length' or 'max_length'")
        if kind != "intent" and "answers" in st:
            self.err(base + ("answers",), "'answers' needs a listen of kind intent")
        if "carried" in st and (kind != "choice" or not ls.get("slot")):
            self.err(base + ("carried",), "'carried' needs a listen of kind choice with a slot")
        if kind not in ("intent", "choice") and ("intents" in ls or "options" in ls):
            self.err(lp, f"'intents'/'options' do not apply to kind {kind}")
        mn, mx = ls.get("min_length"), ls.get("max_length")
        if isinstance(mn, int) and isinstance(mx, int) and mn > mx:
            self.err(lp + ("min_length",), "min_length is greater than max_length")
        dtmf = _mapping(ls.get("dtmf"))
        for key, outcome in dtmf.items():
            if outcome in globals_:
                continue
            if outcome not in on and outcome not in outcomes:
                self.err(lp + ("dtmf", key), f"key {key} leads to '{outcome}', which has no transition in 'on'")
            outcomes.add(outcome)
        for k in on:
            if k not in outcomes and k not in ("fallback", "filled"):
                self.err(base + ("on", k), f"'{k}' can never happen in this state")

    def _check_loops(self, states: dict[str, Raw]) -> None:
        def passes(s: Raw) -> list[str]:
            if not isinstance(s, dict) or any(k in s for k in ("listen", "transfer", "create_ticket", "lookup_ticket", "end")):
                return []
            return [t for t in _targets(s) if t in states]

        color: dict[str, int] = {}
        reported: set[str] = set()

        def dfs(u: str, stack: list[str]) -> None:
            color[u] = 1
            for v in passes(states.get(u)):
                if color.get(v) == 1 and v not in reported:
                    reported.add(v)
                    cyc = stack[stack.index(v):] + [v] if v in stack else [u, v]
                    self.err(("states", v), "loop that never waits for the caller: " + " -> ".join(cyc))
                elif v not in color:
                    dfs(v, stack + [v])
            color[u] = 2

        for sid in states:
            if sid not in color:
                dfs(sid, [sid])

    # ------------------------------------------------------------------ model
    def _model(self, data: dict[str, Raw]) -> Script:
        settings_d = data.get("settings", {})
        conf = settings_d.get("confidence", {})
        prompts_d: dict[str, Raw] = {k: list(v) for k, v in DEFAULT_PROMPTS.items()}
        prompts_d.update(settings_d.get("prompts", {}))
        prompts = {k: _prompts(v, f"settings.{k}") for k, v in prompts_d.items()}
        handoff = data.get("handoff", {})
        settings = Settings(
            timeout_s=float(settings_d.get("timeout_s", DEFAULTS.timeout_s)),
            retries=int(settings_d.get("retries", DEFAULTS.retries)),
            barge_in=bool(settings_d.get("barge_in", DEFAULTS.barge_in)),
            accept=float(conf.get("accept", DEFAULTS.accept)),
            confirm=float(conf.get("confirm", DEFAULTS.confirm)),
            prompts=prompts,
            queue=handoff.get("queue", DEFAULTS.queue),
            on_transfer_failed=handoff.get("on_failed", DEFAULTS.on_transfer_failed),
        )
        intents = {
            k: Intent(k, v["label"], tuple(v["examples"]), tuple(v.get("keywords", ())),
                      tuple(v.get("not_keywords", ())))
            for k, v in data.get("intents", {}).items()
        }
        globals_ = {
            k: GlobalIntent(k, v.get("goto"), v.get("action"), bool(v.get("confirm", True)), v.get("dtmf"))
            for k, v in data.get("globals", {}).items()
        }
        states = {sid: _state(sid, st, settings) for sid, st in data["states"].items()}
        flows = {
            fid: Flow(fid, frozenset(f["states"]), _hangup_ticket(f.get("on_hangup")), _flow_cancel(fid, f.get("cancel")))
            for fid, f in data.get("flows", {}).items()
        }
        yesno = data.get("yesno", {})
        return Script(
            name=data["name"],
            start=data["start"],
            settings=settings,
            intents=intents,
            globals_=globals_,
            states=states,
            yes=tuple(yesno.get("yes", DEFAULT_YES)),
            no=tuple(yesno.get("no", DEFAULT_NO)),
            yesno_dtmf=yesno.get("dtmf", DEFAULT_YESNO_DTMF),
            out_of_scope=_out_of_scope(data.get("out_of_scope", ())),
            variables=tuple(data.get("variables", ())),
            entry_menu=data.get("entry_menu"),
            flows=flows,
            warnings=tuple(self.warnings),
            source=self.source,
            path=self.path,
        )


def _flow_cancel(fid: str, raw: Raw) -> FlowCancel | None:
    if not isinstance(raw, dict):
        return None
    return FlowCancel(words=tuple(str(w) for w in raw["words"]), goto=str(raw["goto"]),
                      say=_prompts(raw.get("say"), f"flows.{fid}.cancel.say"))


def _state(sid: str, st: dict[str, Raw], settings: Settings) -> State:
    ls = st.get("listen")
    spec = None
    if ls is not None:
        length = ls.get("length")
        spec = ListenSpec(
            kind=ls["kind"],
            intents=tuple(ls.get("intents", ())),
            options={k: tuple(v) for k, v in ls.get("options", {}).items()},
            labels=dict(ls.get("labels", {})),
            slot=ls.get("slot"),
            min_length=ls.get("min_length", length),
            max_length=ls.get("max_length", length),
            dtmf=dict(ls.get("dtmf", {})),
            timeout_s=float(ls.get("timeout_s", settings.timeout_s)),
            retries=int(ls.get("retries", settings.retries)),
            barge_in=bool(ls.get("barge_in", settings.barge_in)),
            confirm=bool(ls.get("confirm", True)),
        )
    tr, ct, lt, br = (st.get(k) for k in ("transfer", "create_ticket", "lookup_ticket", "branch"))
    return State(
        id=sid,
        say=_prompts(st.get("say"), f"{sid}.say"),
        set=dict(st.get("set", {})),
        listen=spec,
        no_input=_prompts(st.get("no_input"), f"{sid}.no_input"),
        no_match=_prompts(st.get("no_match"), f"{sid}.no_match"),
        invalid=_prompts(st.get("invalid"), f"{sid}.invalid"),
        keypad=(_prompts(st.get("keypad"), f"{sid}.keypad") or (None,))[0],
        queue=st.get("queue"),
        on=dict(st.get("on", {})),
        answers={k: _prompts(v, f"{sid}.answers.{k}") for k, v in (st.get("answers") or {}).items()},
        carried=_prompts(st.get("carried"), f"{sid}.carried"),
        next=st.get("next"),
        transfer=TransferSpec(tr.get("queue"), tr.get("reason", "script"), tr.get("on_failed")) if tr is not None else None,
        create_ticket=TicketSpec(ct["kind"], ct["next"], dict(ct.get("fields") or {})) if ct is not None else None,
        lookup_ticket=LookupSpec(lt["ticket"], lt["found"], lt["not_found"]) if lt is not None else None,
        branch=BranchSpec(br["variable"], br["default"], dict(br.get("cases") or {}), br.get("empty"))
        if br is not None else None,
        end=st.get("end"),
        menu=bool(st.get("menu", False)),
    )


def _out_of_scope(raw: Raw) -> tuple[str, ...] | tuple[OutOfScopeTopic, ...]:
    """The script's ``out_of_scope``: a list of examples as it is (the topic "lainnya"), or
    its topics (a topic's label defaults to its name in words: "sim_polisi" -> "Sim polisi")."""
    if not isinstance(raw, dict):
        return tuple(raw)
    topics = []
    for topic, spec in raw.items():
        examples = spec["examples"] if isinstance(spec, dict) else spec
        label = spec.get("label") if isinstance(spec, dict) else None
        say = _prompts(spec.get("say"), f"out_of_scope.{topic}.say") if isinstance(spec, dict) else ()
        topics.append(OutOfScopeTopic(topic, label or topic_words(topic), tuple(examples),
                                      say[0] if say else None))
    return tuple(topics)


def _hangup_ticket(raw: Raw) -> HangupTicket | None:
    if raw is None:
        return None
    return HangupTicket(raw["kind"], tuple(raw["variables"]), tuple(raw["when_any"]))


def _prompts(value: Raw, pid: str) -> tuple[Prompt, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out: list[Prompt] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            out.append(Prompt(f"{pid}[{i}]", item.strip()))
        else:
            out.append(Prompt(f"{pid}[{i}]", item["text"].strip(), item.get("file")))
    return tuple(out)


def _list(value: Raw) -> list[Raw]:
    return value if isinstance(value, list) else []


def _mapping(value: Raw) -> dict[str, Raw]:
    """`value` if it is a mapping (the schema has not vouched for it yet), else empty."""
    return value if isinstance(value, dict) else {}


def _targets(st: Raw) -> list[str]:
    if not isinstance(st, dict):
        return []
    out: list[str] = []
    if isinstance(st.get("on"), dict):
        out += [v for v in st["on"].values() if isinstance(v, str)]
    if isinstance(st.get("next"), str):
        out.append(st["next"])
    for key, subs in (("transfer", ("on_failed",)), ("create_ticket", ("next",)),
                      ("lookup_ticket", ("found", "not_found")), ("branch", ("default", "empty"))):
        if isinstance(st.get(key), dict):
            out += [st[key][s] for s in subs if isinstance(st[key].get(s), str)]
    br = st.get("branch")
    if isinstance(br, dict) and isinstance(br.get("cases"), dict):
        out += [v for v in br["cases"].values() if isinstance(v, str)]
    return out
