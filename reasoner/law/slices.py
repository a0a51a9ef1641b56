"""A transaction's slices of a model: what a search read about it, compared between transactions."""

# A search over a finished model for one transaction T (the ruled-out finder) reads
# rows, and where facts come from (given, or their first derivation). It reads them
# through ``Reads``, which notes each read that names T as a slice ``(kind, pred, pos)``:
# every row of ``pred`` with T at ``pos`` (kind "rows"), or those rows with where each
# comes from (kind "source"). ``Shared`` keeps a search's result under the forms of the
# slices it read, written with THIS for T; another transaction U whose slices have the
# same forms gets that result, with U for THIS.
#
# Invariant: U's search would read the same answers as T's (with U for T), so it would
# take the same steps and find the same result (with U for T). That holds because
#   - a search keeps no state from other searches (it starts from empty memos), so its
#     steps are a function of its reads' answers;
#   - a read that names neither transaction answers the same for both, and is shared
#     only if its answer names no transaction at all (else the search is not shared);
#   - a row naming T twice makes its slice unshared (rows are sorted, and T and U need
#     not sort alike against other values); forms carry each value's type (1 == True);
#   - the search tells ``Reads`` (``unshared``) when it orders or aggregates values
#     while T is bound, the only other place where T and U could differ.

from __future__ import annotations

from typing import Any, Callable, Generic, Hashable, Iterable, TypeVar

from reasoner.engine.matching import Index, Pattern
from reasoner.engine.model import Model, Row
from reasoner.engine.seminaive import Provenance
from reasoner.lang.ir import Fact, Value

__all__ = ["THIS", "Slice", "Source", "Reads", "Shared", "abstract", "concrete"]

# (kind, pred, pos): the rows of pred with the transaction at pos, kind "rows" or "source".
Slice = tuple[str, str, int]
# Where a fact comes from: the given fact, or its first derivation's rule index,
# bindings and premises (neither: the fact does not hold).
Source = tuple[Fact | None, tuple[int, tuple[tuple[str, Value], ...], tuple[tuple[str, Row], ...]] | None]
T = TypeVar("T")

# How many read patterns (sets of slices) are kept per search goal.
_SPECS_KEPT = 16
# A read pattern with this many results kept and none found again is dropped.
_DROP_AFTER = 64
# A slice's forms are computed one transaction at a time for this many, then for all.
_ONE_BY_ONE = 64


class _This:
    """Stands for the transaction in a shared form."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "THIS"


THIS: Any = _This()


def abstract(row: Row, tid: Value | None) -> Row:
    """``row`` with THIS for ``tid``."""
    return tuple([THIS if v == tid else v for v in row]) if tid in row else row


def concrete(row: Row, tid: Value) -> Row:
    """``row`` with ``tid`` for THIS."""
    return tuple([tid if v is THIS else v for v in row]) if THIS in row else row


class Reads(Index):
    """A search's one door to a model: rows, and where facts come from.

    While a search for a transaction runs (``begin``), the reads that name it are noted
    in ``read`` and ``shareable`` turns False when a read's answer names a transaction
    although the read does not.

    Args:
        model: the evaluated model (``given`` and ``provenance`` are read).
        transactions: every transaction id of the model.
    """

    def __init__(self, model: Model, transactions: frozenset[Value]) -> None:
        super().__init__(model)
        self._txs = transactions
        self._tid: Value | None = None
        self.read: set[Slice] = set()
        self.shareable = True
        self._sources: dict[tuple[str, Row], Source] = {}

    def begin(self, tid: Value) -> None:
        """Start noting the reads of a search for ``tid``. Aggregates are computed again
        in each search, so that their reads are noted."""
        self._tid = tid
        self.read = set()
        self.shareable = True
        self.aggregates = {}

    def end(self) -> None:
        """Stop noting (``read`` and ``shareable`` keep what the search did)."""
        self._tid = None

    def unshared(self) -> None:
        """The search did something its result for another transaction may not repeat."""
        self.shareable = False

    def _answered(self, rows: Iterable[Row]) -> None:
        """A read that does not name the transaction answered ``rows``."""
        txs = self._txs
        for row in rows:
            if not txs.isdisjoint(row):
                self.shareable = False
                return

    def rows(self, pred: str, pattern: Pattern) -> tuple[Row, ...]:
        """The rows of ``pred`` equal to ``pattern`` where it is not None, sorted."""
        found = super().rows(pred, pattern)
        tid = self._tid
        if tid is not None:
            if tid in pattern:
                self.read.add(("rows", pred, pattern.index(tid)))
            elif self.shareable:
                self._answered(found)
        return found

    def holds(self, pred: str, row: Row) -> bool:
        tid = self._tid
        if tid is not None and tid in row:
            self.read.add(("rows", pred, row.index(tid)))
        return self.model.holds(pred, row)

    def source(self, fact: tuple[str, Row]) -> Source:
        """Where ``fact`` comes from: the given fact, or its recorded first derivation."""
        done = self._sources.get(fact)
        if done is None:
            done = self._sources[fact] = source(self.model, fact)
        tid = self._tid
        if tid is not None:
            row = fact[1]
            if tid in row:
                self.read.add(("source", fact[0], row.index(tid)))
            elif self.shareable and done[1] is not None:
                d = done[1]
                self._answered([tuple(v for _, v in d[1]), *(r for _, r in d[2])])
        return done


def source(model: Model, fact: tuple[str, Row]) -> Source:
    """Where ``fact`` comes from in ``model`` (see ``Source``)."""
    given = model.given.get(fact)
    prov = model.provenance
    if given is not None or prov is None:
        return given, None
    if isinstance(prov, Provenance):
        return None, prov.first(fact)
    d = prov.get(fact)
    return None, None if d is None else (d.rule, d.bindings, d.premises)


class Shared(Generic[T]):
    """Search results kept per goal under the forms of the slices the search read.

    Forms are numbered per slice, so a key is a tuple of small numbers; a slice's forms
    are computed per transaction at first, and for all transactions at once when many ask.
    A read pattern under which results are kept but never found again (each key new, as
    when the search reads a running total) is dropped.

    Args:
        reads: the searches' reads (its model and indexes).
        is_scenario_fact: whether a given fact's ``file`` is the scenario's.
    """

    def __init__(self, reads: Reads, is_scenario_fact: Callable[[str], bool]) -> None:
        self.model = reads.model
        self._reads = reads
        self._scenario = is_scenario_fact
        self._specs: dict[Hashable, list[tuple[Slice, ...]]] = {}
        self._kept: dict[tuple[Hashable, tuple[Slice, ...]], dict[tuple[int, ...], T]] = {}
        self._found: dict[tuple[Hashable, tuple[Slice, ...]], int] = {}
        # per slice: the number of each form, and each transaction's (0: no rows, -1: not
        # shared); _whole has the slices whose every transaction's is known
        self._forms: dict[Slice, dict[Any, int]] = {}
        self._numbers: dict[Slice, dict[Value, int]] = {}
        self._whole: dict[Slice, dict[Value, int]] = {}
        self._files: dict[str, bool] = {}

    def find(self, tid: Value, goal: Hashable) -> T | None:
        """The result kept for ``goal`` under ``tid``'s forms, if any."""
        for spec in self._specs.get(goal, ()):
            kept = self._kept[(goal, spec)]
            if len(kept) >= _DROP_AFTER and not self._found[(goal, spec)]:
                continue  # a pattern whose keys never repeat
            key = self._key(tid, spec)
            if key is not None:
                found = kept.get(key)
                if found is not None:
                    self._found[(goal, spec)] += 1
                    return found
        return None

    def keep(self, tid: Value, goal: Hashable, read: set[Slice], result: T) -> None:
        """Keep ``result`` of the search for ``goal`` and ``tid``, which read ``read``."""
        spec = tuple(sorted(read))
        specs = self._specs.setdefault(goal, [])
        if spec not in specs:
            if len(specs) >= _SPECS_KEPT:
                return
            specs.append(spec)
            self._kept[(goal, spec)] = {}
            self._found[(goal, spec)] = 0
        kept = self._kept[(goal, spec)]
        if len(kept) >= _DROP_AFTER and not self._found[(goal, spec)]:
            return
        key = self._key(tid, spec)
        if key is not None:
            kept[key] = result

    def _key(self, tid: Value, spec: tuple[Slice, ...]) -> tuple[int, ...] | None:
        whole = self._whole
        try:
            key = tuple([whole[s].get(tid, 0) for s in spec])
        except KeyError:
            key = tuple([self._number(s, tid) for s in spec])
        return None if -1 in key else key

    def _number(self, s: Slice, tid: Value) -> int:
        """The number of ``tid``'s form of ``s``."""
        numbers = self._whole.get(s)
        if numbers is not None:
            return numbers.get(tid, 0)  # (absent: no rows)
        kind, pred, pos = s
        forms = self._forms.get(s)
        if forms is None:
            forms = self._forms[s] = {frozenset(): 0}
            self._numbers[s] = {}
        numbers = self._numbers[s]
        n = numbers.get(tid)
        if n is not None:
            return n
        group = self._reads.group(pred, pos)
        if len(numbers) < _ONE_BY_ONE:
            form = self._form(kind, pred, pos, tid, group.get(tid, []))
            n = numbers[tid] = -1 if form is None else forms.setdefault(form, len(forms))
            return n
        for v, rows in group.items():
            if v not in numbers:
                form = self._form(kind, pred, pos, v, rows)
                numbers[v] = -1 if form is None else forms.setdefault(form, len(forms))
        self._whole[s] = numbers
        return numbers.get(tid, 0)

    def _form(self, kind: str, pred: str, pos: int, tid: Value, rows: list[Row]) -> Any:
        """The rows of ``pred`` with ``tid`` at ``pos`` without it, with each value's type
        (and where the row comes from, kind "source"); None when they cannot be shared."""
        out: list[Any] = []
        given = self.model.given
        for row in rows:
            rest = row[:pos] + row[pos + 1:]
            if tid in rest:
                return None
            shape = (rest, tuple(map(type, rest)))
            if kind == "rows":
                out.append(shape)
                continue
            fact = given.get((pred, row))
            if fact is not None:
                out.append((shape, self._scenario_file(fact.span.file)))
            else:
                out.append((shape, self._derivation_form((pred, row), tid)))
        return out[0] if len(out) == 1 else frozenset(out)

    def _scenario_file(self, file: str) -> bool:
        got = self._files.get(file)
        if got is None:
            got = self._files[file] = self._scenario(file)
        return got

    def _derivation_form(self, fact: tuple[str, Row], tid: Value) -> Any:
        d = source(self.model, fact)[1]
        if d is None:
            return None
        rule, bindings, premises = d
        return (rule, tuple(n for n, _ in bindings), _typed(tuple(v for _, v in bindings), tid),
                tuple((p, _typed(row, tid)) for p, row in premises))


def _typed(row: Row, tid: Value) -> tuple[Any, ...]:
    return (tuple(map(type, row)), abstract(row, tid))
