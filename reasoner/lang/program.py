"""Loading rule files into one checked program, and asking it queries."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from reasoner.lang.checks import CheckedProgram, check
from reasoner.engine import Model, get_engine, solve
from reasoner.lang.errors import CheckFailed, Diagnostic, EarlogError, QueryError
from reasoner.lang.ir import Aggregate, Atom, BodyItem, Call, Comparison, Fact, Literal, Program, Rule, Value, Var, variables
from reasoner.lang.syntax import parse_program, parse_query

__all__ = ["load_program", "parse_files", "check_query", "answer", "run_query"]


def parse_files(paths: Iterable[str | Path]) -> Program:
    """Parse several ``.dl`` files into one program; report every file's problems.

    Raises:
        CheckFailed: parse problems, from all files, sorted by location.
    """
    program = Program()
    problems: list[Diagnostic] = []
    for path in paths:
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise EarlogError(
                f"cannot read rule file '{name}': {exc.strerror}",
                hint="check the path; rule files end in .dl") from None
        try:
            program = program + parse_program(text, name)
        except EarlogError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise CheckFailed(problems)
    return program


def load_program(paths: Sequence[str | Path], require_citations: bool = False) -> CheckedProgram:
    """Parse and check rule files.

    Raises:
        CheckFailed: any parse or static-check problem.
    """
    return check(parse_files(paths), require_citations=require_citations)


_QUERY_HEAD = "query"


def check_query(checked: CheckedProgram, body: tuple[BodyItem, ...]) -> None:
    """Check a query body against a program: known predicates, arity, safety.

    Raises:
        CheckFailed: the query's problems, with spans into the query text.
    """
    names = sorted(set().union(*(variables(b) for b in body))) if body else []
    head = Atom(_QUERY_HEAD + "\u0000", tuple(Var(n) for n in names))
    probe = Program(checked.program.rules + (Rule(head, body),), checked.program.facts,
                    checked.program.decls)
    try:
        check(probe)
    except CheckFailed as exc:
        mine = [d for d in exc.diagnostics if d.span.file == _span_file(body)]
        if mine:
            raise CheckFailed(mine) from None


def _span_file(body: tuple[BodyItem, ...]) -> str:
    for item in body:
        span = getattr(item, "span", None)
        if span is not None:
            return str(span.file)
    return "<query>"


def answer(
    checked: CheckedProgram, model: Model, query: str, file: str = "<query>"
) -> tuple[list[str], list[dict[str, Value]]]:
    """Answer a query against an evaluated model.

    Returns:
        The query's variable names and one dict per answer (sorted).

    Raises:
        ParseError, CheckFailed: the query is malformed or unsafe.
        QueryError: the query is empty.
    """
    body = parse_query(query, file)
    if not body:
        raise QueryError("empty query", hint='ask e.g. path(X, "b")')
    check_query(checked, body)
    return _ordered_variables(body), solve(body, model)


def _ordered_variables(body: tuple[BodyItem, ...]) -> list[str]:
    """Named variables in order of first appearance (the columns of an answer table)."""
    seen: dict[str, None] = {}

    def walk(node: object) -> None:
        if isinstance(node, Var):
            if not node.anonymous:
                seen.setdefault(node.name, None)
        elif isinstance(node, (Call, Atom)):
            for a in node.args:
                walk(a)
        elif isinstance(node, Literal):
            walk(node.atom)
        elif isinstance(node, Comparison):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, Aggregate):
            walk(node.result)
    for item in body:
        walk(item)
    return list(seen)


def run_query(
    checked: CheckedProgram, query: str, facts: Iterable[Fact] = (), engine: str = "earlog"
) -> tuple[list[str], list[dict[str, Value]], Model]:
    """Evaluate the program over ``facts`` and answer a query (see ``answer``)."""
    model = get_engine(engine).evaluate(checked, facts, provenance=False)
    names, answers = answer(checked, model, query)
    return names, answers, model
