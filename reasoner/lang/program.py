"""Loading rule files into one checked program, and checking queries against it."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from reasoner.lang.checks import CheckedProgram, check
from reasoner.lang.errors import CheckFailed, Diagnostic, EarlogError, ParseError, decode_text
from reasoner.lang.ir import Atom, BodyItem, Program, Rule, Var, variables
from reasoner.lang.syntax import parse_program

__all__ = ["load_program", "parse_files", "check_query"]


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
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise EarlogError(
                f"cannot read rule file '{name}': {exc.strerror}",
                hint="check the path; rule files end in .dl") from None
        try:
            program = program + parse_program(decode_text(raw, name, ParseError), name)
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
