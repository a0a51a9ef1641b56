"""Static checks: each problem's code, location and hint; all collected, sorted; no Python escapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from reasoner.lang.checks import check
from reasoner.engine import SemiNaiveEngine, solve
from reasoner.lang.errors import CheckFailed, ParseError
from reasoner.lang.ir import Literal
from reasoner.lang.syntax import parse_program, parse_query

__all__: list[str] = []


def problems(text: str, require_citations: bool = False) -> CheckFailed:
    with pytest.raises(CheckFailed) as err:
        check(parse_program(text, file="rules.dl"), require_citations=require_citations)
    return err.value


# (text, code, "file:line:col" of the first problem, words in the message, words in the hint)
CASES = [
    ("edge(1, 2).\npath(X, Y) :- edgee(X, Y).",
     "unknown_predicate", "rules.dl:2:15", "unknown predicate 'edgee'", "did you mean 'edge'?"),
    ("e(1, 2).\np(X) :- e(X).",
     "arity_mismatch", "rules.dl:2:9", "'e' used with 1 argument(s); expected 2",
     "same number of arguments"),
    ("q(1).\np(X, Y) :- q(X).",
     "unbound_variable", "rules.dl:2:6", "variable 'Y' in the head", "add a positive atom"),
    ("q(1).\np(X) :- q(X), Y > 3.",
     "unbound_variable", "rules.dl:2:15", "variable 'Y' in a comparison", "binds 'Y'"),
    ("q(1). r(1, 2). s(1).\np(X) :- q(X), not r(X, Y), not s(Y).",
     "unbound_variable", "rules.dl:2:24", "variable 'Y' in a negated atom", "binds 'Y'"),
    ("q(1).\np(X) :- q(X), not p(X).",
     "cyclic_negation", "rules.dl:2:19", "negation of 'p' is inside the recursion of 'p'",
     "break the cycle"),
    ("q(1).\np(X, N) :- q(X), N = count(Y : p(Y, _)).",
     "cyclic_negation", "rules.dl:2:32", "aggregation of 'p'", "break the cycle"),
    ('q(1).\n@id("r1") p(X) :- q(X).\n@id("r1") r(X) :- q(X).',
     "duplicate_rule_id", "rules.dl:3:11", "duplicate rule id 'r1' (first at rules.dl:2:11)",
     "its own @id"),
]


@pytest.mark.parametrize("text, code, where, message, hint", CASES, ids=[
    "unknown-predicate", "arity", "unsafe-head", "unsafe-comparison", "two-negations",
    "cyclic-negation", "aggregation-through-recursion", "duplicate-id"])
def test_each_check_reports_code_location_and_hint(
    text: str, code: str, where: str, message: str, hint: str,
) -> None:
    err = problems(text)
    first = err.diagnostics[0]
    assert (err.code, first.code, str(first.span)) == (code, code, where)
    assert message in first.message
    assert hint in first.hint


def test_missing_citation_when_required() -> None:
    err = problems('q(1).\n@id("r1") p(X) :- q(X).', require_citations=True)
    (d,) = err.diagnostics
    assert (d.code, str(d.span)) == ("missing_citation", "rules.dl:2:11")
    assert "@cite" in d.message and "15 CFR" in d.hint
    cited = '@id("r1") @cite("15 CFR 740.29(a)") p(X) :- q(X).\nq(1).'
    check(parse_program(cited), require_citations=True)


def test_cyclic_negation_points_at_the_negated_atom() -> None:
    err = problems("q(1).\np(X) :- q(X), not p(X).")
    span = err.diagnostics[0].span
    assert (span.line, span.col, span.end_col) == (2, 19, 23)  # p(X) after 'not '


def test_negation_local_variable_is_allowed() -> None:
    # Nemo semantics: Y occurs only in the negated atom, so it is local to it
    program = parse_program("q(1). q(2). r(1, 5).\np(X) :- q(X), not r(X, Y).")
    model = SemiNaiveEngine().evaluate(check(program))
    assert model.rows("p") == {(2,)}


def test_all_problems_are_collected_and_sorted_by_location() -> None:
    text = ("q(1).\n"
            "p(X, Y) :- q(X).\n"        # unsafe Y, line 2
            "r(X) :- qq(X).\n"           # unknown predicate, line 3
            "s(X) :- q(X), not s(X).\n"  # cyclic negation, line 4
            "t(X) :- q(X, 1).\n")        # arity, line 5
    err = problems(text)
    codes = [d.code for d in err.diagnostics]
    assert codes == ["unbound_variable", "unknown_predicate", "cyclic_negation", "arity_mismatch"]
    spans = [d.span for d in err.diagnostics]
    assert spans == sorted(spans)
    rendered = err.render({"rules.dl": text})
    assert rendered.startswith("rules.dl:2:6: error: variable 'Y'")
    assert "    2 | p(X, Y) :- q(X)." in rendered and "^" in rendered
    assert rendered.endswith("4 errors generated")


# ---- injection: rule and query text never reach Python --------------------------------

def _payloads(tmp_path: Path) -> list[str]:
    target = tmp_path / "pwned"
    return [
        f"__import__('os').system('touch {target}')",
        f'__import__("os").system("touch {target}")',
        f"exec(\"import os; os.system('touch {target}')\")",
        f'exec("open(\\"{target}\\", \\"w\\")")',
    ]


@pytest.mark.parametrize("index", range(4), ids=["import-single", "import-double", "exec", "exec-open"])
def test_python_in_rule_text_is_a_parse_error(tmp_path: Path, index: int) -> None:
    text = _payloads(tmp_path)[index]
    with pytest.raises(ParseError) as err:
        parse_program(text)
    assert err.value.span.line == 1
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("index", range(2), ids=["import-single", "import-double"])
def test_python_in_query_text_is_a_parse_error(tmp_path: Path, index: int) -> None:
    with pytest.raises(ParseError):
        parse_query(_payloads(tmp_path)[index])
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("index", [2, 3], ids=["exec", "exec-open"])
def test_exec_in_query_text_is_only_an_atom(tmp_path: Path, index: int) -> None:
    # `exec("...")` is well-formed Datalog: an atom of a predicate named exec
    # with one string constant. It is data, never run: solving it finds nothing.
    (item,) = parse_query(_payloads(tmp_path)[index])
    assert isinstance(item, Literal) and item.atom.pred == "exec"
    model = SemiNaiveEngine().evaluate(check(parse_program("q(1).")))
    assert solve((item,), model) == []
    assert not (tmp_path / "pwned").exists()


def test_without_drops_only_the_named_conclusions() -> None:
    checked = check(parse_program(
        "p(1). p(2). q(X) :- p(X), not r(X). r(2). s(X) :- q(X). note(X) :- s(X)."))
    engine = SemiNaiveEngine()
    full = engine.evaluate(checked).as_dict()
    less = engine.evaluate(checked.without(["note"])).as_dict()
    assert full["note"] == {(1,)} and less["note"] == set()
    assert {p: r for p, r in less.items() if p != "note"} == \
        {p: r for p, r in full.items() if p != "note"}
    # rule indices are kept: provenance of the smaller program names the same rules
    prov = engine.evaluate(checked.without(["note"])).provenance
    assert prov is not None and checked.rules[prov[("s", (1,))].rule].head.pred == "s"


def test_without_refuses_a_predicate_another_rule_reads() -> None:
    checked = check(parse_program("p(1). q(X) :- p(X). s(X) :- q(X)."))
    with pytest.raises(ValueError, match="reads"):
        checked.without(["q"])
