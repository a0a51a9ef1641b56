"""Asking an evaluated program a query: the answers as a table."""

from __future__ import annotations

from typing import Iterable

from reasoner.engine import Model, get_engine, solve
from reasoner.lang.checks import CheckedProgram
from reasoner.lang.errors import QueryError
from reasoner.lang.ir import Aggregate, Atom, BodyItem, Call, Comparison, Fact, Literal, Value, Var
from reasoner.lang.program import check_query
from reasoner.lang.syntax import parse_query

__all__ = ["answer", "run_query"]


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
