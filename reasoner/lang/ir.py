"""The frozen intermediate representation of Datalog programs, with source spans."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Union

from reasoner.lang.span import NO_SPAN, Span

__all__ = [
    "body_preds",
    "Value",
    "Var",
    "Const",
    "Call",
    "Term",
    "Atom",
    "Literal",
    "Comparison",
    "Aggregate",
    "BodyItem",
    "Meta",
    "ELEMENTS",
    "Rule",
    "Fact",
    "Decl",
    "Program",
    "format_value",
    "variables",
    "COMPARISONS",
    "FUNCTIONS",
    "AGGREGATES",
]

Value = Union[str, int, Decimal, bool, _dt.date]

COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
# name -> arity; the fixed set of built-in functions (no escape into Python).
FUNCTIONS = {"+": 2, "-": 2, "*": 2, "/": 2, "neg": 1, "max": 2, "min": 2, "abs": 1, "year": 1}
AGGREGATES = ("sum", "count", "min", "max")


@dataclass(frozen=True, slots=True)
class Var:
    """A variable; ``_`` is anonymous (each occurrence is distinct)."""

    name: str
    span: Span = field(default=NO_SPAN, compare=False)

    def __str__(self) -> str:
        return self.name

    @property
    def anonymous(self) -> bool:
        return self.name.startswith("_")


@dataclass(frozen=True, slots=True)
class Const:
    value: Value
    span: Span = field(default=NO_SPAN, compare=False)

    def __str__(self) -> str:
        return format_value(self.value)


@dataclass(frozen=True, slots=True)
class Call:
    """An arithmetic operator or built-in function applied to terms."""

    fn: str
    args: tuple["Term", ...]
    span: Span = field(default=NO_SPAN, compare=False)

    def __str__(self) -> str:
        if self.fn in ("+", "-", "*", "/"):
            return f"({self.args[0]} {self.fn} {self.args[1]})"
        if self.fn == "neg":
            return f"-{self.args[0]}"
        return f"{self.fn}({', '.join(map(str, self.args))})"


Term = Union[Var, Const, Call]


@dataclass(frozen=True, slots=True)
class Atom:
    pred: str
    args: tuple[Term, ...]
    span: Span = field(default=NO_SPAN, compare=False)

    def __str__(self) -> str:
        return f"{self.pred}({', '.join(map(str, self.args))})"


@dataclass(frozen=True, slots=True)
class Literal:
    """A positive or negated atom in a rule body."""

    atom: Atom
    negated: bool = False

    @property
    def span(self) -> Span:
        return self.atom.span

    def __str__(self) -> str:
        return f"not {self.atom}" if self.negated else str(self.atom)


@dataclass(frozen=True, slots=True)
class Comparison:
    """``left op right``; ``X = expr`` with X otherwise unbound binds X."""

    op: str
    left: Term
    right: Term
    span: Span = field(default=NO_SPAN, compare=False)

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


@dataclass(frozen=True, slots=True)
class Aggregate:
    """``Result = fn(Term : body)`` over the distinct matches of ``body``.

    Variables of ``body`` that also occur outside the aggregate are group keys;
    the others are local to it.
    """

    result: Var
    fn: str
    term: Term
    body: tuple["BodyItem", ...]
    span: Span = field(default=NO_SPAN, compare=False)

    def __str__(self) -> str:
        inner = ", ".join(map(str, self.body))
        return f"{self.result} = {self.fn}({self.term} : {inner})"


BodyItem = Union[Literal, Comparison, Aggregate]


# The parts of a decision's legal argument a rule can decide, in the order a memo
# discusses them. A rule marked with one of these is part of the argument: its
# provision is a basis of the outcome when it holds (``filter``: when it keeps an
# exception available); unmarked rules are helper steps folded into the sentences
# of the element rules above them.
ELEMENTS = {
    "scope": "whether the framework governs the transaction (item, model, jurisdiction)",
    "requirement": "whether a license is required, and under which paragraph",
    "exception": "what an exception or authorization covers",
    "bar": "a provision that takes an exception away",
    "filter": "a provision that limits which exceptions remain available",
    "pending": "an exception that depends on a fact not stated",
    "obligation": "a condition attached to an available exception",
    "policy": "the license review policy",
}


@dataclass(frozen=True, slots=True)
class Meta:
    """What a rule means in law: citation, labels, where and when it applies.

    ``element`` names the part of a legal argument the rule decides (a key of
    ``ELEMENTS``); empty for the helper steps that an argument folds away.
    """

    id: str = ""
    cite: str = ""
    en: str = ""
    zh: str = ""
    regimes: tuple[str, ...] = ()
    effective_from: _dt.date | None = None
    effective_to: _dt.date | None = None
    uncertain: tuple[str, ...] = ()
    note: str = ""
    element: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    head: Atom
    body: tuple[BodyItem, ...]
    meta: Meta = Meta()
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def id(self) -> str:
        return self.meta.id

    def __str__(self) -> str:
        if not self.body:
            return f"{self.head}."
        return f"{self.head} :- {', '.join(map(str, self.body))}."


@dataclass(frozen=True, slots=True)
class Fact:
    """A given (base) fact; remembers where it came from."""

    pred: str
    values: tuple[Value, ...]
    span: Span = field(default=NO_SPAN, compare=False)

    def __str__(self) -> str:
        return f"{self.pred}({', '.join(format_value(v) for v in self.values)})"


@dataclass(frozen=True, slots=True)
class Decl:
    """``input pred(A, B).``: a predicate whose facts come from outside the file."""

    pred: str
    params: tuple[str, ...]
    meta: Meta = Meta()
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def arity(self) -> int:
        return len(self.params)


@dataclass(frozen=True, slots=True)
class Program:
    rules: tuple[Rule, ...] = ()
    facts: tuple[Fact, ...] = ()
    decls: tuple[Decl, ...] = ()

    def __add__(self, other: "Program") -> "Program":
        return Program(
            self.rules + other.rules, self.facts + other.facts, self.decls + other.decls
        )

    def with_facts(self, facts: tuple[Fact, ...]) -> "Program":
        return Program(self.rules, self.facts + facts, self.decls)


def format_value(v: Value) -> str:
    """Datalog spelling of a value: strings quoted, dates and numbers bare.

    Example:
        >>> format_value("CN"), format_value(Decimal("2.5")), format_value(True)
        ('"CN"', '2.5', 'true')
    """
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, Decimal):
        return format(v.normalize(), "f") if v == v.to_integral_value() else str(v)
    return str(v)


def variables(term: Term | Atom | BodyItem) -> set[str]:
    """Names of the named (non-anonymous) variables occurring in a term or body item."""
    if isinstance(term, Var):
        return set() if term.anonymous else {term.name}
    if isinstance(term, Const):
        return set()
    if isinstance(term, Call):
        return set().union(*(variables(a) for a in term.args)) if term.args else set()
    if isinstance(term, Atom):
        return set().union(*(variables(a) for a in term.args)) if term.args else set()
    if isinstance(term, Literal):
        return variables(term.atom)
    if isinstance(term, Comparison):
        return variables(term.left) | variables(term.right)
    # Aggregate: only the variables visible outside it
    return {term.result.name}


def body_preds(body: Iterable[Any]) -> set[str]:
    """The predicates a rule body reads, inside aggregates too."""
    out: set[str] = set()
    for item in body:
        if isinstance(item, Literal):
            out.add(item.atom.pred)
        elif isinstance(item, Aggregate):
            out |= body_preds(item.body)
    return out
