"""The datalog-conformance suite (core cases) run against earlog's evaluator."""

from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import os

import pytest
import yaml
from datalog_conformance import YamlTestRunner, discover_yaml_tests, get_tests_dir
from datalog_conformance.schema import Model as ConformanceModel
from datalog_conformance.schema import Program as ConformanceProgram
from datalog_conformance.schema import TestCase as ConformanceCase

from reasoner.lang.checks import check
from reasoner.engine import get_engine
from reasoner.lang.ir import Fact, Program, Value
from reasoner.lang.syntax import parse_program

__all__ = ["ConformanceAdapter"]

Scalar = str | int | float | bool

# case name -> why it is skipped when EARLOG_FAST_TESTS is set (it runs by default, so
# the suite counts all 113 passing core cases; the two share one ~90 s evaluation).
_SLOW = {
    "souffle_hmmer_CPtrLoad": "pointer analysis deriving 1.3 M facts: about a minute",
    "souffle_hmmer_CPtrStore": "pointer analysis deriving 1.3 M facts: about a minute",
}

# case name -> why earlog's answer differs from the case's expectation, on purpose.
_XFAIL = {
    "unsafe_negation_variable_only_in_negative_literal": (
        "contradicts the 14 nemo_negation cases: earlog follows Nemo, where a variable "
        "occurring only in one negated atom is local to it (not banned(X, _))"
    ),
}


_MODELS: dict[Any, ConformanceModel] = {}


class ConformanceAdapter:
    """datalog-conformance's ``DatalogEvaluator``: parse, check and run a program.

    Args:
        engine: the engine's name (``get_engine``); default earlog's evaluator.
    """

    def __init__(self, engine: str = "earlog") -> None:
        self.engine = engine

    def evaluate(self, program: ConformanceProgram) -> ConformanceModel:
        """Evaluate a conformance program with ``SemiNaiveEngine``.

        Args:
            program: the case's facts (pred -> rows of scalars) and rule strings.

        Returns:
            The model: every predicate of the program -> its set of rows.

        Raises:
            EarlogError: the program is rejected (the code names the reason).
        """
        # The 19 lubm cases share one 100k-fact program: evaluate each distinct
        # program once (the key is its whole content, so this cannot mask a case).
        key = (self.engine, tuple(program.rules),
               tuple((p, tuple(rows)) for p, rows in sorted(program.facts.items())))
        model = _MODELS.get(key)
        if model is None:
            model = _MODELS[key] = self._evaluate(program)
        return model

    def _evaluate(self, program: ConformanceProgram) -> ConformanceModel:
        text = "\n".join(_clause(r) for r in program.rules)
        parsed = parse_program(text, file="<conformance>")
        facts = tuple(
            Fact(pred, _to_row(row)) for pred, rows in program.facts.items() for row in rows
        )
        # Facts go into the program itself so check() sees (and checks) their arities.
        full = parsed.with_facts(facts)
        checked = check(full, inputs=_body_only_inputs(full))
        model = get_engine(self.engine).evaluate(checked, provenance=False)
        return ConformanceModel({
            pred: {_to_scalars(row) for row in rows} for pred, rows in model.relations.items()
        })


def _clause(rule: str) -> str:
    text = rule.strip()
    return text if text.endswith(".") else text + "."


def _body_only_inputs(program: Program) -> dict[str, int]:
    """Predicates used in bodies that have neither facts nor rules: empty inputs."""
    defined = {f.pred for f in program.facts} | {r.head.pred for r in program.rules}
    out: dict[str, int] = {}
    for rule in program.rules:
        for atom in _body_atoms(rule.body):
            if atom.pred not in defined:
                out.setdefault(atom.pred, len(atom.args))
    return out


def _body_atoms(body: Any) -> list[Any]:
    atoms = []
    for item in body:
        if hasattr(item, "atom"):
            atoms.append(item.atom)
        elif hasattr(item, "body"):
            atoms.extend(_body_atoms(item.body))
    return atoms


def _to_row(row: tuple[Scalar, ...]) -> tuple[Value, ...]:
    if any(isinstance(v, float) for v in row):
        return tuple(_to_value(v) for v in row)
    return tuple(row)


def _to_scalars(row: tuple[Value, ...]) -> tuple[Scalar, ...]:
    if all(type(v) in (str, int, bool) for v in row):
        return row  # type: ignore[return-value]
    return tuple(_to_scalar(v) for v in row)


def _to_value(v: Scalar) -> Value:
    if isinstance(v, float):
        d = Decimal(repr(v))
        return int(d) if d == d.to_integral_value() else d
    return v


def _to_scalar(v: Value) -> Scalar:
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


@contextmanager
def _libyaml() -> Iterator[None]:
    """Let the suite's loader use libyaml: its 40 MB of YAML take minutes in pure Python."""
    if not getattr(yaml, "__with_libyaml__", False):
        yield
        return
    original = yaml.safe_load
    yaml.safe_load = lambda text: yaml.load(text, Loader=yaml.CSafeLoader)
    try:
        yield
    finally:
        yaml.safe_load = original


def _discover_core() -> list[tuple[Path, ConformanceCase]]:
    """The suite's cases outside its ``defeasible`` part (not loaded at all)."""
    root = get_tests_dir()
    found: list[tuple[Path, ConformanceCase]] = []
    with _libyaml():
        for part in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "defeasible"):
            found += discover_yaml_tests(part)
    return [(path, case) for path, case in found if "defeasible" not in Path(path).parts]


def _core_cases() -> list[Any]:
    params = []
    for _, case in _discover_core():
        marks = []
        if case.name in _SLOW:
            marks.append(pytest.mark.skipif(
                bool(os.environ.get("EARLOG_FAST_TESTS")), reason=_SLOW[case.name]))
        if case.name in _XFAIL:
            marks.append(pytest.mark.xfail(strict=True, reason=_XFAIL[case.name]))
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


_CASES = _core_cases()


def test_core_case_count() -> None:
    assert len(_CASES) == 114


@pytest.mark.parametrize("case", _CASES)
def test_conformance(case: ConformanceCase) -> None:
    if case.skip:
        pytest.skip(case.skip)
    YamlTestRunner(ConformanceAdapter()).run_test_case(case)
