"""Run the sample extensions.conf the way Asterisk's pbx would, for the few applications,
functions and expression operators it uses (a test helper, not a second Asterisk).

`Dialplan.run(context, exten)` walks the priorities like ``pbx.c``: ``${...}`` substitution
(variables, ``IF``, ``RAND``, ``LEN``, ``REGEX``, ``STRREPLACE``, ``CHANNEL``), ``$[...]`` expressions
(``=``, ``!=``, ``<``, ``>``, ``&``, ``|``, parentheses), ``Set``, ``GotoIf``, ``Goto``, and the
``h`` extension after the call ends. Applications that talk to the outside (``AGI``,
``Dial``, ``Queue``, ...) are recorded as steps; ``AGI`` and ``Dial`` call the hooks given by the
test, which return the variables the far end set. Anything else this helper does not know
fails the test, so a new construct in the sample dialplan is noticed rather than skipped.
Patterns follow Asterisk's (``X``, ``Z``, ``N``, ``[...]`` with ranges, ``.``, ``!``); the
most specific match wins as in ``pbx.c`` (explicit extensions before patterns, then fewer
possibilities per character).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

AgiHook = Callable[[str, dict[str, str]], dict[str, str]]
DialHook = Callable[[str, dict[str, str]], str]


@dataclass
class Priority:
    exten: str
    number: int
    label: str | None
    app: str
    args: str


@dataclass
class Run:
    steps: list[tuple[str, str]] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)

    def apps(self) -> list[str]:
        return [app for app, _ in self.steps]

    def args_of(self, app: str) -> list[str]:
        return [args for a, args in self.steps if a == app]


class DialplanError(AssertionError):
    pass


def parse(path: Path) -> tuple[dict[str, str], dict[str, list[Priority]]]:
    """[globals] (raw values) and the contexts' priorities, like pbx_config."""
    globals_: dict[str, str] = {}
    contexts: dict[str, list[Priority]] = {}
    ctx = None
    last: Priority | None = None
    for raw in path.read_text().splitlines():
        line = re.sub(r"(?<!\\);.*", "", raw).strip()
        if not line:
            continue
        if m := re.fullmatch(r"\[([^\]]+)\].*", line):
            ctx = m.group(1)
            contexts.setdefault(ctx, [])
            continue
        if ctx == "globals":
            name, _, value = line.partition("=")
            globals_[name.strip()] = value.strip()
            continue
        if ctx in (None, "general"):
            continue
        m = re.fullmatch(r"(exten|same)\s*=>\s*(.*)", line)
        if not m:
            raise DialplanError(f"cannot parse {raw!r}")
        kind, rest = m.groups()
        if kind == "exten":
            exten, prio, body = rest.split(",", 2)
        else:
            assert last is not None, raw
            exten, prio, body = last.exten, *rest.split(",", 1)
        pm = re.fullmatch(r"(\d+|n)(?:\((\w+)\))?", prio.strip())
        if not pm:
            raise DialplanError(f"bad priority in {raw!r}")
        number = int(pm.group(1)) if pm.group(1) != "n" else (last.number + 1 if last else 1)
        am = re.fullmatch(r"(\w+)(?:\((.*)\))?", body.strip())
        if not am:
            raise DialplanError(f"bad application in {raw!r}")
        last = Priority(exten.strip(), number, pm.group(2), am.group(1), am.group(2) or "")
        contexts[ctx].append(last)
    return globals_, contexts


def _pattern_regex(pattern: str) -> tuple[re.Pattern[str], list[int]]:
    body, sizes, out, i = pattern[1:], [], "", 0
    while i < len(body):
        ch = body[i]
        if ch == "X":
            out, size = out + "[0-9]", 10
        elif ch == "Z":
            out, size = out + "[1-9]", 9
        elif ch == "N":
            out, size = out + "[2-9]", 8
        elif ch == "[":
            j = body.index("]", i)
            chars = body[i + 1:j]
            size = len(re.sub(r"(.)-(.)", lambda m: "x" * (ord(m[2]) - ord(m[1]) + 1), chars))  # choices
            out, i = out + f"[{chars}]", j
        elif ch == ".":
            out, size = out + ".+", 10_000
        elif ch == "!":
            out, size = out + ".*", 10_001
        else:
            out, size = out + re.escape(ch), 1
        sizes.append(size)
        i += 1
    return re.compile(out), sizes


def matches(pattern: str, exten: str) -> bool:
    if not pattern.startswith("_"):
        return pattern == exten
    return _pattern_regex(pattern)[0].fullmatch(exten) is not None


class Dialplan:
    def __init__(self, path: Path) -> None:
        self.raw_globals, self.contexts = parse(path)
        # pbx_config expands ${...} in [globals] when loading, with no channel
        self.globals = {k: self.substitute(v, {}) for k, v in self.raw_globals.items()}

    # ---- extension lookup -------------------------------------------------------------------
    def find_exten(self, context: str, exten: str) -> str | None:
        names = list(dict.fromkeys(p.exten for p in self.contexts[context]))
        if exten in names:
            return exten
        candidates = [n for n in names if n.startswith("_") and matches(n, exten)]
        if not candidates:
            return None
        return min(candidates, key=lambda n: _pattern_regex(n)[1])

    def exists(self, context: str, exten: str) -> bool:
        return self.find_exten(context, exten) is not None

    # ---- substitution and expressions -------------------------------------------------------
    def substitute(self, text: str, chan: dict[str, str], rand: Callable[[int, int], int] = min) -> str:
        """``pbx_substitute_variables_helper_full``: find the end of ``${...}`` / ``$[...]`` by
        counting braces / brackets as pbx_variables.c does, substitute inside, then evaluate."""
        out, i = "", 0
        while i < len(text):
            if text.startswith("${", i) or text.startswith("$[", i):
                opener = text[i + 1]
                close = "}" if opener == "{" else "]"
                other = "$[" if opener == "{" else "${"
                depth, j = 1, i + 2
                while depth and j < len(text):
                    if text.startswith("$" + opener, j):
                        depth, j = depth + 1, j + 1
                    elif text[j] == opener:
                        depth += 1
                    elif text[j] == close:
                        depth -= 1
                    elif text.startswith(other, j):
                        j += 1
                    j += 1
                if depth:
                    raise DialplanError(f"missing {close!r} in {text!r}")
                inner = self.substitute(text[i + 2:j - 1], chan, rand)
                out += self._var(inner, chan, rand) if opener == "{" else str(self.expr(inner))
                i = j
            else:
                out, i = out + text[i], i + 1
        return out

    def _get(self, name: str, chan: dict[str, str]) -> str:
        return chan.get(name, self.globals.get(name, ""))

    def _var(self, inner: str, chan: dict[str, str], rand: Callable[[int, int], int]) -> str:
        m = re.fullmatch(r"(\w+)\((.*)\)", inner, flags=re.S)
        if not m:
            return self._get(inner, chan)
        fn, args = m.groups()
        if fn == "IF":
            cond, _, branches = args.partition("?")
            yes, _, no = branches.partition(":")
            return yes if self._true(cond) else no
        if fn == "RAND":
            lo, hi = (int(a) for a in args.split(","))
            return str(rand(lo, hi))
        if fn == "LEN":
            return str(len(args))
        if fn == "REGEX":
            rm = re.fullmatch(r'"(.*)" (.*)', args, flags=re.S)
            assert rm, args
            return "1" if re.search(rm.group(1), rm.group(2)) else "0"
        if fn == "CHANNEL":                 # channel properties the test gives as variables
            return chan.get(f"CHANNEL({args})", "")
        if fn == "STRREPLACE":
            var, find, repl = args.split(",", 2)
            return self._get(var, chan).replace(find, repl)
        raise DialplanError(f"function {fn} not known to the helper")

    @staticmethod
    def _true(value: str) -> bool:
        value = value.strip()
        return value not in ("", "0")

    def expr(self, text: str) -> str:
        tokens = re.findall(r'"[^"]*"|!=|[=<>&|()]|[^\s"=<>&|()!]+', text)
        pos = 0

        def peek() -> str | None:
            return tokens[pos] if pos < len(tokens) else None

        def take() -> str:
            nonlocal pos
            pos += 1
            return tokens[pos - 1]

        def atom() -> str:
            tok = take()
            if tok == "(":
                value = disj()
                assert take() == ")"
                return value
            return tok[1:-1] if tok.startswith('"') else tok

        def comparison() -> str:
            left = atom()
            while peek() in ("=", "!=", "<", ">"):
                op, right = take(), atom()
                both_num = re.fullmatch(r"-?\d+", left) and re.fullmatch(r"-?\d+", right)
                a, b = (int(left), int(right)) if both_num else (left, right)
                left = "1" if {"=": a == b, "!=": a != b, "<": a < b, ">": a > b}[op] else "0"
            return left

        def conj() -> str:
            left = comparison()
            while peek() == "&":
                take()
                right = comparison()
                left = left if self._true(left) and self._true(right) else "0"
            return left

        def disj() -> str:
            left = conj()
            while peek() == "|":
                take()
                right = conj()
                left = left if self._true(left) else (right if self._true(right) else "0")
            return left

        value = disj()
        if pos != len(tokens):
            raise DialplanError(f"cannot evaluate $[{text}]")
        return value

    # ---- running ----------------------------------------------------------------------------
    def run(self, context: str, exten: str, *, variables: dict[str, str] | None = None,
            agi: AgiHook | None = None, dial: DialHook | None = None,
            rand: Callable[[int, int], int] = min, max_steps: int = 200) -> Run:
        run = Run(variables=dict(variables or {}))
        chan = run.variables
        found = self.find_exten(context, exten)
        if found is None:
            raise DialplanError(f"no extension {exten} in [{context}]")
        cur_ctx, cur_ext, cur_prio = context, exten, 1
        for _ in range(max_steps):
            prios = [p for p in self.contexts[cur_ctx] if p.exten == self.find_exten(cur_ctx, cur_ext)]
            step = next((p for p in prios if p.number == cur_prio), None)
            if step is None:
                break
            chan["EXTEN"] = cur_ext
            args = self.substitute(step.args, chan, rand)
            run.steps.append((step.app, args))
            cur_prio += 1
            if step.app == "Set":
                name, _, value = args.partition("=")
                chan[name] = value
            elif step.app == "GotoIf":
                cond, _, targets = args.partition("?")
                yes, _, no = targets.partition(":")
                target = yes if self._true(cond) else no
                if target:
                    cur_ext, cur_prio = self._goto(cur_ctx, cur_ext, target)
            elif step.app == "Goto":
                cur_ext, cur_prio = self._goto(cur_ctx, cur_ext, args)
            elif step.app == "AGI":
                assert agi is not None, "the dialplan ran AGI but the test gave no controller"
                chan.update(agi(args, dict(chan)))
                if chan.get("AGISTATUS") == "HANGUP":     # AGI() returns -1: the pbx stops
                    break
            elif step.app == "Dial":
                chan["DIALSTATUS"] = dial(args, dict(chan)) if dial else "CHANUNAVAIL"
            elif step.app in ("Hangup", "Busy"):
                break
            elif step.app not in ("NoOp", "Answer", "Playback", "Queue", "Log", "UserEvent", "Playtones",
                                  "Wait", "Ringing", "AddQueueMember", "RemoveQueueMember", "PauseQueueMember",
                                  "UnpauseQueueMember"):
                raise DialplanError(f"application {step.app} not known to the helper")
        else:
            raise DialplanError("the dialplan loops")
        if self.exists(cur_ctx, "h") and cur_ext != "h":
            for p in (p for p in self.contexts[cur_ctx] if p.exten == "h"):
                run.steps.append((p.app, self.substitute(p.args, chan, rand)))
        return run

    def _goto(self, ctx: str, exten: str, target: str) -> tuple[str, int]:
        parts = target.split(",")
        if len(parts) == 1:
            label = parts[0]
            found = self.find_exten(ctx, exten)
            hit = next((p for p in self.contexts[ctx] if p.exten == found and p.label == label), None)
            if hit is None:
                raise DialplanError(f"no label {label} in {exten}@{ctx}")
            return exten, hit.number
        ext, prio = parts[-2], parts[-1]
        if not prio.isdigit():
            found = self.find_exten(ctx, ext)
            hit = next(p for p in self.contexts[ctx] if p.exten == found and p.label == prio)
            return ext, hit.number
        return ext, int(prio)
