"""Read a YAML document the way scripts and test-case files are read: bounded, with the line
of every value.

Bounds (issue #15: a 377-byte "billion laughs" posted to the admin script check took 34 s and
5.3 GB): the text is at most ``MAX_BYTES``; a document uses at most ``MAX_ALIASES`` aliases
(``*name``) and, with every alias expanded, holds at most ``MAX_VALUES`` values. PyYAML shares
the node of an anchor between its aliases, so composing is cheap; it is every later walk over
the document (line numbers, schema validation, template checks) that would visit each
expansion. Sizes are counted on the shared nodes (each node once), so the check itself stays
linear. The default script (38 KB) uses 49 aliases and expands to about 3,100 values.

Booleans follow YAML 1.2: only true/false. ``on``, ``yes`` and ``no`` stay strings, as admins
mean them in scripts ("on:" transitions, "yes"/"no" answers).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from dialogs.errors import ScriptIssue

MAX_BYTES = 1_000_000
MAX_ALIASES = 1_000
MAX_VALUES = 200_000
MAX_DEPTH = 100

PathT = tuple[str | int, ...]


def fmt_path(path: Iterable[str | int]) -> str:
    """("states", "info_ktp", "listen", "intents", 2) -> "states.info_ktp.listen.intents[2]"."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out


class _Bounded(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans that counts the aliases it composes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_uses: list[tuple[yaml.Node, int]] = []   # (target node, 1-based line)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
            line = event.start_mark.line + 1 if event.start_mark is not None else None
            node = yaml.composer.Composer.compose_node(self, parent, index)
            if node is not None:
                self.alias_uses.append((node, line or 0))
                if len(self.alias_uses) > MAX_ALIASES:
                    raise _TooLarge(line,
                                    f"more than {MAX_ALIASES} aliases (*name): not a script an admin writes")
            return node
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _TooLarge(mark.line + 1 if mark is not None else None,
                                f"values nested more than {MAX_DEPTH} levels deep")
            return yaml.composer.Composer.compose_node(self, parent, index)
        finally:
            self.depth -= 1


_Bounded.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Bounded.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


#: libyaml's scanner and parser (C) under the same Python composer and bounds: 5x faster
#: (None when PyYAML was built without libyaml)
_CParser: Any = getattr(yaml, "CParser", None)


if _CParser is not None:
    class _FastBounded(yaml.composer.Composer, _CParser, yaml.constructor.SafeConstructor,  # type: ignore[misc]
                       yaml.resolver.Resolver):
        """The same bounded loading with libyaml producing the events; the composer (and so
        every bound above) stays the Python one. Syntax errors are re-read by
        :class:`_Bounded` so their messages do not depend on which parser is installed."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self.alias_uses: list[tuple[yaml.Node, int]] = []
            self.depth = 0

        compose_node = _Bounded.compose_node

    _FastBounded.yaml_implicit_resolvers = _Bounded.yaml_implicit_resolvers


class _TooLarge(Exception):
    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class LineMap:
    """path -> line number of a parsed document (also finds duplicate keys)."""

    def __init__(self) -> None:
        self.lines: dict[PathT, int] = {}
        self.duplicates: list[tuple[PathT, int]] = []

    def walk(self, node: yaml.Node, path: PathT = ()) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: set[object] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                if key in seen:
                    self.duplicates.append((path + (key,), key_node.start_mark.line + 1))
                seen.add(key)
                self.lines[path + (key,)] = key_node.start_mark.line + 1
                self.walk(value_node, path + (key,))
                self.lines[path + (key,)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(item, path + (i,))

    def line(self, path: Iterable[str | int]) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)


@dataclass
class YamlDocument:
    """A parsed document: ``data`` (None when it could not be read), the line of every path,
    and the problems found while reading (syntax, size, duplicate keys), in file order."""

    data: object
    lines: LineMap
    issues: list[ScriptIssue] = field(default_factory=list)


def parse_yaml(text: str) -> YamlDocument:
    """Parse one YAML document within the bounds above; never raises for bad input."""
    lines = LineMap()
    doc = YamlDocument(None, lines)
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        doc.issues.append(ScriptIssue("", None, f"the file is {size:,} bytes; a script has at most {MAX_BYTES:,}"))
        return doc
    try:
        loader = _loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                doc.issues.append(ScriptIssue("", None, "the file is empty"))
                return doc
            _check_expansion(node, loader.alias_uses)
            lines.walk(node)
            doc.data = loader.construct_document(node)
        finally:
            loader.dispose()
    except _TooLarge as exc:
        doc.issues.append(ScriptIssue("", exc.line, exc.message))
        return doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        msg = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        doc.issues.append(ScriptIssue("", line, f"YAML syntax error: {msg}"))
        return doc
    except yaml.YAMLError as exc:
        doc.issues.append(ScriptIssue("", None, f"YAML error: {exc}"))
        return doc
    for p, line in lines.duplicates:
        doc.issues.append(ScriptIssue(fmt_path(p), line, "duplicate key"))
    return doc


def _loader(text: str) -> _Bounded:
    """The fast loader when libyaml is there and the text parses; else the pure-Python one
    (whose syntax messages the tests and the admin pages know)."""
    if _CParser is None:
        return _Bounded(text)
    try:
        for _ in yaml.parse(text, Loader=yaml.CSafeLoader):
            pass
    except yaml.YAMLError:
        return _Bounded(text)
    return _FastBounded(text)


def _check_expansion(root: yaml.Node, alias_uses: list[tuple[yaml.Node, int]]) -> None:
    """Raise _TooLarge when the document, aliases expanded, holds more than MAX_VALUES values.
    Each distinct node is sized once (sizes of shared nodes are memoised)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        # iterative post-order: nesting is bounded, but recursion would still cost frames
        stack: list[tuple[yaml.Node, bool]] = [(node, False)]
        open_: set[int] = set()  # nodes whose children are being sized (the current path)
        while stack:
            n, done = stack.pop()
            if id(n) in sizes:
                continue
            kids = _children(n)
            if done:
                sizes[id(n)] = min(1 + sum(sizes[id(k)] for k in kids), MAX_VALUES + 1)
                open_.discard(id(n))
                continue
            if id(n) in open_:  # reached again below itself: an alias inside its own anchor
                raise _TooLarge(n.start_mark.line + 1, "an alias (*name) refers to the block that contains it")
            open_.add(id(n))
            stack.append((n, True))
            stack.extend((k, False) for k in kids if id(k) not in sizes)
        return sizes[id(node)]

    if size(root) <= MAX_VALUES:
        return
    worst = max(alias_uses, key=lambda use: size(use[0]), default=None)
    line = worst[1] or None if worst is not None else None
    raise _TooLarge(line, f"with its aliases (*name) expanded the document holds more than {MAX_VALUES:,} "
                          "values: aliases may repeat a block, not multiply it")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
