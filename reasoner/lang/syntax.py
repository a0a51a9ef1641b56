"""Parsing rule text (``.dl``) into the frozen IR, with spans and clear errors."""

from __future__ import annotations

import datetime as _dt
import functools
from decimal import Decimal
from importlib import resources
from typing import TYPE_CHECKING, Any

from reasoner.lang.errors import CheckFailed, Diagnostic, ParseError
from reasoner.lang.ir import (
    ELEMENTS,
    Aggregate,
    Atom,
    BodyItem,
    Call,
    Comparison,
    Const,
    Decl,
    Fact,
    Literal,
    Meta,
    Program,
    Rule,
    Term,
    Value,
    Var,
)
from reasoner.lang.span import Span

if TYPE_CHECKING:
    import lark  # imported where used: a cached rulebook needs no parser

__all__ = ["parse_program", "parse_query", "parse_number", "ANNOTATIONS"]

# annotation name -> (meaning, how many arguments: 1 or "+" for one or more)
ANNOTATIONS = {
    "id": "the rule's unique id",
    "cite": "pinpoint citation, e.g. \"15 CFR 740.29(a)\"",
    "en": "English label with {Var} placeholders",
    "zh": "Chinese label with {Var} placeholders",
    "regime": "regimes where the rule applies: ifr, enforced",
    "from": "first date the rule applies (YYYY-MM-DD)",
    "to": "last date the rule applies (YYYY-MM-DD)",
    "uncertain": "ids of flagged uncertainties the rule depends on",
    "note": "free-text note for readers",
    "element": "the part of the legal argument the rule decides: " + ", ".join(ELEMENTS),
}

_PRETTY = {
    "RPAR": "')'", "LPAR": "'('", "COMMA": "','", "DOT": "'.'", "COLON": "':'",
    "IF": "':-'", "__ANON_0": "':-'", "NAME": "a name", "STRING": "a string",
    "NUMBER": "a number", "DATE": "a date", "CMP": "a comparison", "BUILTIN": "a built-in",
    "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'", "AT": "'@'",
    "NOT": "'not'", "INPUT": "'input'", "TRUE": "'true'", "FALSE": "'false'",
    "$END": "end of input", "LBRACE": "'{'", "RBRACE": "'}'",
}


@functools.cache
def _parser() -> lark.Lark:
    import lark

    grammar = resources.files("reasoner.lang").joinpath("datalog.lark").read_text("utf-8")
    return lark.Lark(
        grammar, parser="lalr", start=["start", "query"], propagate_positions=True,
        maybe_placeholders=False,
    )


def parse_program(text: str, file: str = "<input>") -> Program:
    """Parse rule text into a Program.

    Args:
        text: the contents of a ``.dl`` file.
        file: the file name used in spans and messages.

    Returns:
        The program: rules (with metadata), facts and input declarations.

    Raises:
        ParseError: the text is not in the language (with location and hint).
        CheckFailed: several annotation problems, all reported together.

    Example:
        >>> p = parse_program('edge(1, 2). path(X, Y) :- edge(X, Y).')
        >>> str(p.rules[0]), str(p.facts[0])
        ('path(X, Y) :- edge(X, Y).', 'edge(1, 2)')
    """
    tree = _parse(text, file, "start")
    return _Lowering(file).program(tree)


def parse_query(text: str, file: str = "<query>") -> tuple[BodyItem, ...]:
    """Parse a query: a conjunction of body items, e.g. ``path(X, "b"), X != "a"``.

    Raises:
        ParseError: the query is malformed.
    """
    tree = _parse(text, file, "query")
    return _Lowering(file).body(tree.children[0])


# Limits that keep every later stage (lowering, checks, the engine's nested joins,
# proofs) within the interpreter's stack: a rule body's items, and the nesting of
# the syntax tree (an expression of N operators nests about N deep).
MAX_BODY = 100
MAX_NESTING = 120


def _parse(text: str, file: str, start: str) -> Any:
    import lark

    try:
        tree = _parser().parse(text, start=start)
    except lark.UnexpectedInput as exc:
        raise _parse_error(exc, text, file) from None
    except RecursionError:
        raise ParseError("the text nests too deeply to read", Span(file, 1, 1),
                         "split long expressions and bodies into helper rules") from None
    _within_limits(tree, file)
    return tree


def _within_limits(tree: Any, file: str) -> None:
    """Refuse a body of more than MAX_BODY items or a tree deeper than MAX_NESTING."""
    import lark

    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, lark.Tree):
            continue
        where = Span(file, getattr(node.meta, "line", 1), getattr(node.meta, "column", 1))
        if depth > MAX_NESTING:
            raise ParseError(f"expression nested more than {MAX_NESTING} levels deep", where,
                             "compute it in steps, through helper rules or variables")
        if node.data == "body" and len(node.children) > MAX_BODY:
            raise ParseError(f"a body of {len(node.children)} conditions; at most {MAX_BODY}",
                             where, "split the rule or query through helper rules")
        stack.extend((child, depth + 1) for child in node.children)


def _parse_error(exc: lark.UnexpectedInput, text: str, file: str) -> ParseError:
    import lark

    line = getattr(exc, "line", 1) or 1
    col = getattr(exc, "column", 1) or 1
    expected: set[str] = set()
    if isinstance(exc, lark.UnexpectedToken):
        expected = set(exc.accepts or exc.expected or ())
        tok = exc.token
        if tok.type == "$END":
            found = "end of input"
            lines = text.splitlines() or [""]
            line, col = len(lines), len(lines[-1]) + 1
        else:
            found = f"'{tok}'"
        width = max(len(str(tok)), 1)
    elif isinstance(exc, lark.UnexpectedCharacters):
        expected = set(exc.allowed or ())
        pos = exc.pos_in_stream or 0
        found = f"'{text[pos]}'" if pos < len(text) else "end"
        width = 1
    else:  # UnexpectedEOF
        expected = set(getattr(exc, "expected", ()) or ())
        found = "end of input"
        width = 1
    names = sorted({_PRETTY.get(e, e.lower()) for e in expected if not e.startswith("_")})
    want = ", ".join(names[:8]) if names else "a clause"
    hint = _hint_for(found, names)
    return ParseError(
        f"expected {want}; found {found}", Span(file, line, col, line, col + width), hint
    )


def _hint_for(found: str, expected: list[str]) -> str:
    if found == "end of input" and "'.'" in expected:
        return "every clause ends with a '.'"
    if found in ("'('", "'['") or "__" in found:
        return "the rule language has no Python; use the built-ins max, min, abs, year"
    if "'.'" in expected:
        return "did you forget the '.' that ends the clause?"
    return "clauses look like: head(X) :- body(X, \"const\"), not other(X), X > 3."


def parse_number(text: str) -> int | Decimal:
    """Read a numeric literal exactly: integral values become int, others Decimal.

    Example:
        >>> parse_number("3.0e26") == 3 * 10**26, parse_number("26_900_000")
        (True, 26900000)
        >>> parse_number("0.25")
        Decimal('0.25')
    """
    d = Decimal(text.replace("_", ""))
    if d == d.to_integral_value():
        return int(d)
    return d


@functools.cache
def _token_type() -> Any:
    import lark

    return lark.Token


class _Lowering:
    """Turns lark trees into IR nodes; collects annotation problems."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Diagnostic] = []

    def span(self, node: Any) -> Span:
        if isinstance(node, _token_type()):
            line, col = node.line or 0, node.column or 0
            end_col = node.end_column if node.end_line == node.line and node.end_column else col + 1
            return Span(self.file, line, col, line, end_col)
        meta = node.meta
        if getattr(meta, "empty", True):
            return Span(self.file, 0, 0)
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def program(self, tree: Any) -> Program:
        rules: list[Rule] = []
        facts: list[Fact] = []
        decls: list[Decl] = []
        for item in tree.children:
            *annots, node = item.children
            meta = self.meta(annots)
            if node.data == "decl":
                name, *params = node.children
                decls.append(Decl(str(name), tuple(map(str, params)), meta, self.span(node)))
                continue
            head = self.atom(node.children[0])
            body = self.body(node.children[1]) if len(node.children) > 1 else ()
            fact = self.as_fact(head) if not body and not annots else None
            if fact is not None:
                facts.append(fact)
            else:
                rules.append(Rule(head, body, meta, self.span(node)))
        if self.problems:
            raise CheckFailed(self.problems)
        return Program(tuple(rules), tuple(facts), tuple(decls))

    def as_fact(self, head: Atom) -> Fact | None:
        if all(isinstance(a, Const) for a in head.args):
            values = tuple(a.value for a in head.args if isinstance(a, Const))
            return Fact(head.pred, values, head.span)
        return None

    def meta(self, annots: list[Any]) -> Meta:
        fields: dict[str, Any] = {}
        for a in annots:
            name_tok, *args = a.children
            name = str(name_tok)
            sp = self.span(a)
            if name not in ANNOTATIONS:
                self.problems.append(Diagnostic(
                    sp, f"unknown annotation '@{name}'",
                    "known annotations: " + ", ".join("@" + k for k in ANNOTATIONS),
                    "parse_error"))
                continue
            values = [self.annot_value(x) for x in args]
            if name in ("regime", "uncertain"):
                fields[name] = tuple(fields.get(name, ())) + tuple(str(v) for v in values)
                continue
            if len(values) != 1:
                self.problems.append(Diagnostic(
                    sp, f"@{name} takes exactly one argument; found {len(values)}",
                    f"@{name}: {ANNOTATIONS[name]}", "parse_error"))
                continue
            value = values[0]
            if name in ("from", "to"):
                if not isinstance(value, _dt.date):
                    self.problems.append(Diagnostic(
                        sp, f"@{name} expects a date like 2025-01-13; found {value!r}",
                        "write dates as YYYY-MM-DD without quotes", "parse_error"))
                    continue
                fields["effective_" + name] = value
            elif name == "element" and str(value) not in ELEMENTS:
                self.problems.append(Diagnostic(
                    sp, f"@element expects one of {', '.join(ELEMENTS)}; found {value!r}",
                    "mark the rule with the part of the argument it decides, or leave it "
                    "unmarked as a helper step", "parse_error"))
            else:
                fields[name] = str(value)
        return Meta(
            id=fields.get("id", ""), cite=fields.get("cite", ""), en=fields.get("en", ""),
            zh=fields.get("zh", ""), regimes=fields.get("regime", ()),
            effective_from=fields.get("effective_from"), effective_to=fields.get("effective_to"),
            uncertain=fields.get("uncertain", ()), note=fields.get("note", ""),
            element=fields.get("element", ""),
        )

    def annot_value(self, node: Any) -> Value:
        tok = node.children[0]
        if node.data == "a_string":
            return _unquote(str(tok))
        if node.data == "a_date":
            return self.date(tok)
        if node.data == "a_number":
            return parse_number(str(tok))
        return str(tok)

    def date(self, tok: Any) -> _dt.date:
        try:
            return _dt.date.fromisoformat(str(tok))
        except ValueError:
            raise ParseError(
                f"'{tok}' is not a calendar date", self.span(tok), "dates are YYYY-MM-DD"
            ) from None

    def body(self, tree: Any) -> tuple[BodyItem, ...]:
        return tuple(self.body_item(c) for c in tree.children)

    def body_item(self, node: Any) -> BodyItem:
        if node.data == "negation":
            return Literal(self.atom(node.children[0]), negated=True)
        if node.data == "atom":
            return Literal(self.atom(node))
        left_node, op_tok, right_node = node.children
        left = self.term(left_node)
        if getattr(right_node, "data", None) == "aggcall":
            return self.aggregate(left, str(op_tok), right_node, node)
        return Comparison(str(op_tok), left, self.term(right_node), self.span(node))

    def aggregate(self, left: Term, op: str, node: Any, whole: Any) -> Aggregate:
        fn_tok, term_node, body_node = node.children
        fn = str(fn_tok)
        if fn not in ("sum", "count", "min", "max"):
            raise ParseError(
                f"'{fn}' is not an aggregate", self.span(fn_tok),
                "aggregates are sum, count, min and max: Total = sum(T : p(X, T))")
        if not isinstance(left, Var) or op != "=":
            raise ParseError(
                "an aggregate must be assigned to a variable with '='", self.span(whole),
                "write: Total = sum(T : shipment(C, T))")
        return Aggregate(left, fn, self.term(term_node), self.body(body_node), self.span(whole))

    def atom(self, node: Any) -> Atom:
        name, *args = node.children
        return Atom(str(name), tuple(self.term(a) for a in args), self.span(node))

    def term(self, node: Any) -> Term:
        kind = node.data
        sp = self.span(node)
        if kind == "var":
            return Var(str(node.children[0]), sp)
        if kind == "string":
            return Const(_unquote(str(node.children[0])), sp)
        if kind == "number":
            return Const(parse_number(str(node.children[0])), sp)
        if kind == "date":
            return Const(self.date(node.children[0]), sp)
        if kind in ("true", "false"):
            return Const(kind == "true", sp)
        if kind == "call":
            fn, *args = node.children
            return self.call(str(fn), tuple(self.term(a) for a in args), sp, fn)
        if kind == "neg":
            inner = self.term(node.children[0])
            if isinstance(inner, Const) and isinstance(inner.value, (int, Decimal)) \
                    and not isinstance(inner.value, bool):
                return Const(-inner.value, sp)
            return Call("neg", (inner,), sp)
        op = {"add": "+", "sub": "-", "mul": "*", "div": "/"}[kind]
        return Call(op, (self.term(node.children[0]), self.term(node.children[1])), sp)

    def call(self, fn: str, args: tuple[Term, ...], sp: Span, tok: Any) -> Call:
        arity = {"max": 2, "min": 2, "abs": 1, "year": 1}.get(fn)
        if arity is None:
            raise ParseError(
                f"'{fn}' is an aggregate, not a function", sp,
                f"write: Result = {fn}(Term : body)")
        if len(args) != arity:
            raise ParseError(
                f"{fn}() takes {arity} argument(s); found {len(args)}", self.span(tok),
                "built-in functions: max(A, B), min(A, B), abs(A), year(Date)")
        return Call(fn, args, sp)


def _unquote(s: str) -> str:
    body = s[1:-1]
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)
