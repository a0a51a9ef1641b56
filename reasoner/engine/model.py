"""What an engine returns: the derived facts and, optionally, how each was derived."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Protocol

from reasoner.lang.checks import CheckedProgram
from reasoner.lang.errors import EngineError
from reasoner.lang.ir import Fact, Value

__all__ = ["Row", "Derivation", "Model", "Engine", "given_rows"]

Row = tuple[Value, ...]


def given_rows(checked: CheckedProgram, facts: Iterable[Fact]
               ) -> tuple[dict[str, set[Row]], dict[tuple[str, Row], Fact]]:
    """The given rows per predicate (the program's facts, then ``facts``), and the fact
    each row came from (first wins).

    Raises:
        EngineError: a fact has the wrong arity.
    """
    rows: dict[str, set[Row]] = {}
    given: dict[tuple[str, Row], Fact] = {}
    for fact in (*checked.program.facts, *facts):
        want = checked.arity.get(fact.pred)
        if want is not None and want != len(fact.values):
            raise EngineError(
                f"fact {fact} has {len(fact.values)} argument(s); '{fact.pred}' takes {want}",
                fact.span, "check the fact file against the predicate's declaration")
        bucket = rows.setdefault(fact.pred, set())
        if fact.values not in bucket:
            bucket.add(fact.values)
            given[(fact.pred, fact.values)] = fact
    return rows, given


@dataclass(frozen=True, slots=True)
class Derivation:
    """The first derivation of a fact.

    Attributes:
        rule: index of the rule in the program.
        bindings: the rule's named variables and their values, sorted by name.
        premises: the positive body facts used, in body order, as (pred, row).
        level: derivation height: 0 for given facts, else 1 + max over premises.
    """

    rule: int
    bindings: tuple[tuple[str, Value], ...]
    premises: tuple[tuple[str, Row], ...]
    level: int


@dataclass(slots=True)
class Model:
    """The least stratified model of a program over some facts."""

    relations: dict[str, set[Row]]
    provenance: Mapping[tuple[str, Row], Derivation] | None = None
    given: Mapping[tuple[str, Row], Fact] = field(default_factory=dict)

    def rows(self, pred: str) -> set[Row]:
        return self.relations.get(pred, set())

    def holds(self, pred: str, row: Row) -> bool:
        return row in self.relations.get(pred, ())

    def as_dict(self) -> dict[str, set[Row]]:
        return {p: set(r) for p, r in self.relations.items()}


class Engine(Protocol):
    """An evaluation backend. Both backends compute the same model."""

    name: str

    def evaluate(
        self, checked: CheckedProgram, facts: Iterable[Fact] = (), provenance: bool = True
    ) -> Model:
        """Compute the least stratified model of ``checked`` plus ``facts``."""
        ...
