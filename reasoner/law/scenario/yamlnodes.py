"""Reading composed YAML nodes into exact typed values, with a span for every node."""

# YAML is only *composed* (yaml.compose): nodes keep their line and column and no tag ever
# constructs a Python object. A NodeReader reads each scalar by the rule of the field it
# fills, not by YAML 1.1's implicit typing (which reads 3.0e26 as a string and NO as false),
# and collects every problem as a Diagnostic before raising once. Scalar rules:
# * null is only a *plain* null, Null, NULL, ~ or empty value ("null" quoted is a string);
# * numbers (3e26, 3.0e26, 26_900_000, 1.5) are exact: int when integral, else Decimal
#   (reasoner.syntax.parse_number); never binary floats;
# * booleans are true / false (True, TRUE, ...); yes / no / on / off are errors;
# * dates are YYYY-MM-DD; a quoted number, boolean or date is read the same way.

from __future__ import annotations

import datetime as _dt
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Union

import yaml

from reasoner.lang.errors import CheckFailed, Diagnostic, EarlogError, decode_text
from reasoner.lang.span import Span
from reasoner.lang.syntax import parse_number

__all__ = [
    "Node",
    "Number",
    "Fields",
    "NodeReader",
    "decode",
    "compose",
    "node_span",
    "node_of",
    "describe",
    "is_null",
    "plain",
    "did_you_mean",
    "choices_hint",
]

Number = Union[int, Decimal]
Node = Any  # a yaml.Node; PyYAML ships no type stubs

_NUMBER = re.compile(
    r"[+-]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+)?"
)
_NUMBER_HINT = (
    "write digits with optional '_' separators, a decimal point or an exponent, "
    "e.g. 15832, 26_900_000, 3.0e26"
)
_MAX_MAGNITUDE = 60  # up to 10**60: far above any threshold, and cheap to hold exactly
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NULLS = ("", "~", "null", "Null", "NULL")
_TRUE = ("true", "True", "TRUE")
_FALSE = ("false", "False", "FALSE")
_YAML11_BOOLS = ("yes", "no", "on", "off", "y", "n")
_CORE = "tag:yaml.org,2002:"
_TAGS = {_CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")}


# ---- text to nodes ---------------------------------------------------------------


def decode(raw: bytes, file: str, error: type[EarlogError]) -> str:
    """UTF-8 text of ``raw`` (a BOM is dropped); raises ``error`` at the first bad byte."""
    return decode_text(raw, file, error)


def compose(text: str, file: str, error: type[EarlogError]) -> Node | None:
    """The node tree of one YAML document (None when empty); nothing is constructed.

    Raises:
        ``error`` at the mark of a YAML syntax error, with YAML's context as the hint.

    Example:
        >>> node = compose("a: 3.0e26", "f.yaml", EarlogError)
        >>> node.value[0][1].value, str(node_span(node.value[0][1], "f.yaml"))
        ('3.0e26', 'f.yaml:1:4')
    """
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return _shallow(yaml.compose(text, Loader=fast), file, error)
        except yaml.YAMLError as exc:
            if "maximum nesting depth" in str(exc):
                raise error(f"YAML nested more than {MAX_DEPTH} levels deep", _mark_span(exc, file),
                            "a scenario needs a few levels; flatten the document") from None
            # the Python loader below words the same problem the way our diagnostics expect
    try:
        return _shallow(yaml.compose(text, Loader=yaml.SafeLoader), file, error)
    except RecursionError:
        raise error(f"YAML nested more than {MAX_DEPTH} levels deep", Span(file, 1, 1),
                    "a scenario needs a few levels; flatten the document") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem, hint = exc.problem or "", "check the indentation, and quote values that " \
            "contain ': ' or ' #'"
        if problem.startswith("but ") and exc.context:  # "expected X" / "but found Y"
            problem, hint = f"{exc.context}, {problem}", "put each document in its own file"
        elif exc.context:
            cm = exc.context_mark
            hint = exc.context + (f" at line {cm.line + 1}, column {cm.column + 1}" if cm else "")
        raise error(
            f"invalid YAML: {problem or exc.context}", Span(file, line, col, line, col + 1), hint
        ) from None
    except yaml.reader.ReaderError as exc:
        pos = exc.position
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        raise error(
            f"invalid YAML: special character {chr(exc.character)!r} is not allowed",
            Span(file, line, col, line, col + 1),
            "remove control characters from the file",
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - other YAML errors carry no mark
        raise error(f"invalid YAML: {exc}", Span(file, 1, 1)) from None


# Deeper documents are refused: node readers recurse, and scenarios need about six levels.
MAX_DEPTH = 64


def _shallow(root: Node | None, file: str, error: type[EarlogError]) -> Node | None:
    """``root``, after checking that no node is deeper than ``MAX_DEPTH``."""
    stack = [(root, 1)] if root is not None else []
    deepest: dict[int, int] = {}  # aliases share nodes: each is walked again only deeper
    while stack:
        node, depth = stack.pop()
        if deepest.get(id(node), 0) >= depth:
            continue
        deepest[id(node)] = depth
        if depth > MAX_DEPTH:
            raise error(f"YAML nested more than {MAX_DEPTH} levels deep", node_span(node, file),
                        "a scenario needs a few levels; flatten the document")
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend((part, depth + 1) for pair in node.value for part in pair)
    return root


def _mark_span(exc: yaml.YAMLError, file: str) -> Span:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Span(file, line, col, line, col + 1)


def node_span(node: Node, file: str) -> Span:
    """Where a node is: from its marks, or the span fixed by :func:`node_of`."""
    fixed = getattr(node, "earlog_span", None)
    if fixed is not None:
        return fixed  # type: ignore[no-any-return]
    sm, em = node.start_mark, node.end_mark
    return Span(file, sm.line + 1, sm.column + 1, em.line + 1, em.column + 1)


def node_of(value: Any, where: Span, spans: Mapping[str, Span] | None = None) -> Node:
    """A node tree for plain data (a CSV or JSON row), each node carrying a fixed span.

    Scalars become plain text: None and "" read as null, a float as its shortest
    decimal spelling, a date as ISO text. ``spans`` gives the span of each key's value.
    """
    spans = spans or {}
    if isinstance(value, Mapping):
        pairs = []
        for key, val in value.items():
            span = spans.get(str(key), where)
            pairs.append((node_of(str(key), span), node_of(val, span)))
        node: Node = yaml.MappingNode(_CORE + "map", pairs)
    elif isinstance(value, (list, tuple)):
        node = yaml.SequenceNode(_CORE + "seq", [node_of(v, where) for v in value])
    else:
        node = yaml.ScalarNode(_CORE + "str", _scalar_text(value), style=None)
    node.earlog_span = where
    return node


def _scalar_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return str(value)


def describe(node: Node) -> str:
    """How a node reads in a message: 'a mapping', 'a list', 'null' or the quoted text."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if is_null(node):
        return "null"
    return f"'{node.value}'"


def is_null(node: Node) -> bool:
    """True for a plain null scalar (quoted ``"null"`` is a string)."""
    return isinstance(node, yaml.ScalarNode) and not node.style and node.value in _NULLS


def plain(node: Node) -> Any:
    """Plain data for a node: dicts, lists and scalars, for blocks without a schema.

    Plain scalars read as null, booleans, exact numbers or dates when they look so;
    quoted scalars stay strings.

    Example:
        >>> plain(compose("{a: [3.0e26, no, 2025-06-02, '1']}", "f", EarlogError))
        {'a': [300000000000000000000000000, 'no', datetime.date(2025, 6, 2), '1']}
    """
    if isinstance(node, yaml.MappingNode):
        return {plain(k): plain(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [plain(v) for v in node.value]
    text = node.value
    if node.style:  # quoted or block (the C loader says "" for plain)
        return text
    if is_null(node):
        return None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    if _NUMBER.fullmatch(text) and _magnitude_ok(text):
        return parse_number(text)
    if _DATE.fullmatch(text):
        try:
            return _dt.date.fromisoformat(text)
        except ValueError:
            return text
    return text


def _magnitude_ok(text: str) -> bool:
    return Decimal(text.replace("_", "")).adjusted() <= _MAX_MAGNITUDE


# ---- suggestions -----------------------------------------------------------------


def did_you_mean(found: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to a misspelling, if one is close enough."""
    close = difflib.get_close_matches(found, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def choices_hint(found: str, choices: Sequence[str]) -> str:
    """``did you mean 'x'? expected one of: a, b, c`` (the first part when one is close)."""
    guess = did_you_mean(found, choices)
    listed = f"expected one of: {', '.join(choices)}"
    return f"did you mean '{guess}'? {listed}" if guess else listed


def _in(what: str) -> str:
    return "at the top level" if what == "the top level" else f"in {what}"


# ---- the reader ------------------------------------------------------------------


class Fields:
    """The accepted keys of one YAML mapping: key node and value node per key name."""

    def __init__(self, pairs: dict[str, tuple[Node, Node]]) -> None:
        self.pairs = pairs

    def value(self, key: str) -> Node | None:
        pair = self.pairs.get(key)
        return pair[1] if pair else None

    def key(self, key: str) -> Node | None:
        pair = self.pairs.get(key)
        return pair[0] if pair else None

    def __bool__(self) -> bool:
        return bool(self.pairs)


NO_FIELDS = Fields({})


class NodeReader:
    """Reads typed values from nodes of one file and collects the problems found.

    Invariant: a reader method that finds a problem records it and returns None;
    only :meth:`raise_problems` raises. Messages say what was expected and what was
    found; hints say how to fix it.

    Attributes:
        error: the error class raised for problems (its ``code`` goes on diagnostics).
        key_help: what to write for a missing required key, by key name.
    """

    error: type[EarlogError] = EarlogError
    key_help: Mapping[str, str] = {}

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Diagnostic] = []

    # -- problems --

    def span(self, node: Node) -> Span:
        return node_span(node, self.file)

    def point(self, node: Node) -> Span:
        """The start of a node, one column wide (for problems about a whole collection)."""
        s = self.span(node)
        return Span(s.file, s.line, s.col, s.line, s.col + 1) if s.line else s

    def report(self, where: Node | Span, message: str, hint: str = "") -> None:
        span = where if isinstance(where, Span) else self.span(where)
        self.problems.append(Diagnostic(span, message, hint, self.error.code))

    def raise_problems(self) -> None:
        """Raise ``error`` for one problem, CheckFailed (sorted) for several."""
        if len(self.problems) == 1:
            d = self.problems[0]
            raise self.error(d.message, d.span, d.hint)
        if self.problems:
            raise CheckFailed(self.problems)

    # -- structure --

    def check_tags(self, node: Node, seen: set[int] | None = None) -> None:
        """Explicit tags other than YAML's core ones (e.g. ``!!python/object``) are errors."""
        seen = set() if seen is None else seen
        if id(node) in seen:  # aliases share nodes
            return
        seen.add(id(node))
        if node.tag not in _TAGS:
            tag = node.tag.replace(_CORE, "!!")
            where = self.span(node) if isinstance(node, yaml.ScalarNode) else self.point(node)
            self.report(where, f"unsupported YAML tag '{tag}'",
                        "these files hold plain values; remove the tag")
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.check_tags(key, seen)
                self.check_tags(value, seen)
        elif isinstance(node, yaml.SequenceNode):
            for value in node.value:
                self.check_tags(value, seen)

    def pairs(self, node: Node, what: str,
              hint: str = "") -> list[tuple[str, Node, Node]] | None:
        """The (key text, key node, value node) of a mapping; duplicate keys are problems.

        Returns None (after reporting, with ``hint``) when ``node`` is not a mapping.
        """
        if not isinstance(node, yaml.MappingNode):
            where = node if isinstance(node, yaml.ScalarNode) else self.point(node)
            self.report(where, f"expected a mapping for {what}, found {describe(node)}", hint)
            return None
        out: list[tuple[str, Node, Node]] = []
        first: dict[str, Node] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode) or is_null(knode):
                self.report(self.point(knode), f"expected a key {_in(what)}, found "
                            f"{describe(knode)}")
                continue
            key = str(knode.value)
            if key in first:
                self.report(knode, f"duplicate key '{key}' {_in(what)}",
                            f"first given at line {self.span(first[key]).line}")
                continue
            first[key] = knode
            out.append((key, knode, vnode))
        return out

    def fields(self, node: Node, what: str, allowed: Sequence[str], required: Sequence[str],
               owner: Span, hints: Mapping[str, str] | None = None) -> Fields:
        """Check a record's keys: unknown keys (with did-you-mean) and missing required ones.

        A required key is not reported missing when an unknown key looks like it.
        """
        pairs = self.pairs(node, what)
        if pairs is None:
            return NO_FIELDS
        accepted: dict[str, tuple[Node, Node]] = {}
        misspelt: set[str] = set()
        for key, knode, vnode in pairs:
            if key in allowed:
                accepted[key] = (knode, vnode)
                continue
            guess = did_you_mean(key, allowed)
            if guess:
                misspelt.add(guess)
            hint = (hints or {}).get(key) or (
                f"did you mean '{guess}'?" if guess else f"expected one of: {', '.join(allowed)}")
            self.report(knode, f"unknown key '{key}' {_in(what)}", hint)
        for key in required:
            if key not in accepted and key not in misspelt:
                self.report(owner, f"missing required key '{key}' {_in(what)}",
                            f"add '{key}:' ({self.key_help.get(key, 'see the file format')})")
        return Fields(accepted)

    def field_spans(self, fields: Fields) -> tuple[tuple[str, Span], ...]:
        """The span of each accepted key's value, in file order."""
        return tuple((k, self.span(v)) for k, (_, v) in fields.pairs.items())

    # -- scalars --

    def text(self, node: Node | None, key: str, expected: str = "a value",
             required: bool = False) -> str | None:
        """The text of a non-null scalar; None when absent, null or not a scalar."""
        if node is None:
            return None
        if not isinstance(node, yaml.ScalarNode):
            self.report(self.point(node), f"expected {expected} for '{key}', found "
                        f"{describe(node)}", f"'{key}' takes a single value")
            return None
        if is_null(node):
            if required:
                self.report(node, f"expected {expected} for '{key}', found null")
            return None
        return str(node.value)

    def number(self, node: Node | None, key: str, required: bool = False) -> Number | None:
        """A non-negative exact number: int when integral, else Decimal."""
        text = self.text(node, key, "a number", required)
        if text is None:
            return None
        clean = text.strip()
        if not _NUMBER.fullmatch(clean):
            self.report(node, f"expected a number for '{key}', found '{text}'", _NUMBER_HINT)
            return None
        if not _magnitude_ok(clean):
            self.report(node, f"expected a number up to 1e{_MAX_MAGNITUDE} for '{key}', "
                        f"found '{text}'", "check the exponent")
            return None
        value = parse_number(clean)
        if value < 0:
            self.report(node, f"expected a non-negative number for '{key}', found '{text}'",
                        f"'{key}' cannot be negative")
            return None
        return value

    def whole(self, node: Node | None, key: str, expected: str, hint: str,
              minimum: int = 0, required: bool = False) -> int | None:
        """A whole number of at least ``minimum`` (``1e3`` is 1000; ``1.5`` is a problem)."""
        text = self.text(node, key, expected, required)
        if text is None:
            return None
        clean = text.strip()
        ok = _NUMBER.fullmatch(clean) and _magnitude_ok(clean)
        value = parse_number(clean) if ok else None
        if not isinstance(value, int) or value < minimum:
            self.report(node, f"expected {expected} for '{key}', found '{text}'", hint)
            return None
        return value

    def boolean(self, node: Node | None, key: str, nullable: bool = False,
                required: bool = False) -> bool | None:
        """``true`` / ``false``; with ``nullable``, null (unknown) is allowed too."""
        expected = "true, false or null" if nullable else "true or false"
        text = self.text(node, key, expected, required)
        if text is None:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        hint = "write true or false" + (" (or null for unknown)" if nullable else "")
        if text.lower() in _YAML11_BOOLS:
            hint += f"; YAML 1.1 spellings such as '{text}' are not accepted"
        self.report(node, f"expected {expected} for '{key}', found '{text}'", hint)
        return None

    def date(self, node: Node | None, key: str, required: bool = False) -> _dt.date | None:
        """A calendar date written ``YYYY-MM-DD``."""
        text = self.text(node, key, "a date (YYYY-MM-DD)", required)
        if text is None:
            return None
        reason = "write dates as YYYY-MM-DD, e.g. 2025-06-02"
        if _DATE.fullmatch(text.strip()):
            try:
                return _dt.date.fromisoformat(text.strip())
            except ValueError as exc:
                reason = str(exc)
        self.report(node, f"expected a date (YYYY-MM-DD) for '{key}', found '{text}'", reason)
        return None

    def choice(self, node: Node | None, key: str, allowed: Sequence[str],
               required: bool = False, note: str = "") -> str | None:
        """One of ``allowed``, exactly as written (free text is a problem, not a guess).

        ``note`` is appended to the hint (e.g. what leaving the key out means).
        """
        text = self.text(node, key, f"one of {', '.join(allowed)}", required)
        if text is None:
            return None
        if text in allowed:
            return text
        self.report(node, f"invalid {key} '{text}'", choices_hint(text, allowed) + note)
        return None
