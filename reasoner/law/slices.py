"""A transaction's slices of a model: what a search read about it, compared between transactions."""

# A search over a finished model for one transaction T (the ruled-out finder) reads
# rows, and where facts come from (given, or their first derivation). It reads them
# through ``Reads``, which notes each read that names T as a slice ``(kind, pred, pos)``:
# every row of ``pred`` with T at ``pos`` (kind "rows"), or those rows with where each
# comes from (kind "source"). ``Shared`` keeps a search's result under the forms of the
# slices it read, written with THIS for T; another transaction U whose slices have the
# same forms gets that result, with U for THIS.
#
# Forms write other transactions as OTHER (numbered within one row and where it comes
# from), so that transactions whose slices name each their own earlier transaction (an
# LPP running total carried along ``tx_slot_prev``) can share a result. The search may
# then only test a value that names another transaction for being one: it is not shared
# when it shows it in a text, compares it, searches a goal naming it, or reads with it
# (unless the read also names T and T's slice has at most one row alike, all found; U's
# slice then has as many, and U's read finds the row that corresponds).
#
# Invariant: U's search would read the same answers as T's (with U for T), so it would
# take the same steps and find the same result (with U for T). That holds because
#   - a search keeps no state from other searches (it starts from empty memos), so its
#     steps are a function of its reads' answers;
#   - a read that names neither transaction answers the same for both, and is shared
#     only if its answer names no transaction at all (else the search is not shared);
#   - a row naming T twice makes its slice unshared (rows are sorted, and T and U need
#     not sort alike against other values), and so does an answer of two or more rows
#     naming other transactions; forms carry each value's type (1 == True);
#   - the search tells ``Reads`` (``unshared``) when it orders or aggregates values
#     while T is bound, the only other place where T and U could differ.

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Collection, Generic, Hashable, Iterable, TypeVar

from reasoner.engine.matching import Index, Pattern
from reasoner.engine.model import Model, Row
from reasoner.engine.seminaive import Provenance
from reasoner.lang.ir import Fact, Value

__all__ = ["THIS", "Slice", "Source", "Reads", "Shared", "abstract", "concrete", "relative",
           "is_relative"]

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


class _Other:
    """Stands for another transaction in a shared form (the k-th met in a row)."""

    __slots__ = ("k",)

    def __init__(self, k: int) -> None:
        self.k = k

    def __repr__(self) -> str:
        return f"OTHER{self.k}"


_OTHERS: list[_Other] = []


def _other(k: int) -> _Other:
    while len(_OTHERS) <= k:
        _OTHERS.append(_Other(len(_OTHERS)))
    return _OTHERS[k]


def abstract(row: Row, tid: Value | None) -> Row:
    """``row`` with THIS for ``tid``."""
    return tuple([THIS if v == tid else v for v in row]) if tid in row else row


def relative(row: tuple[Any, ...], tid: Any, txs: frozenset[Value],
             seen: dict[Value, Any] | None = None) -> tuple[Any, ...]:
    """``row`` with THIS for ``tid`` and OTHER for the other transactions of ``txs``,
    numbered in the order ``seen`` met them (a new numbering when not given)."""
    if tid not in row and txs.isdisjoint(row):
        return row
    if seen is None:
        seen = {}
    out: list[Any] = []
    for v in row:
        if v == tid:
            out.append(THIS)
        elif v in txs:
            got = seen.get(v)
            if got is None:
                got = seen[v] = _other(len(seen))
            out.append(got)
        else:
            out.append(v)
    return tuple(out)


def is_relative(row: tuple[Any, ...]) -> bool:
    """Whether ``row`` (written by ``relative``) names another transaction."""
    return any(isinstance(v, _Other) for v in row)


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
        self.txs = transactions
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
        txs = self.txs
        for row in rows:
            if not txs.isdisjoint(row):
                self.shareable = False
                return

    def _others(self, values: Iterable[Value | None]) -> bool:
        """Whether ``values`` name a transaction other than the searched one."""
        txs, tid = self.txs, self._tid
        if txs.isdisjoint(values):
            return False
        return any(v != tid and v in txs for v in values if v is not None)

    def _anchored(self, pred: str, pattern: Pattern, found: Collection[Row]) -> None:
        """A read naming the transaction and others is shared when the rows of its slice
        alike the pattern (other transactions as OTHER) are at most one, all found."""
        tid, txs = self._tid, self.txs
        shape = relative(pattern, tid, txs)
        alike = [r for r in self.group(pred, pattern.index(tid)).get(tid, ())
                 if _fits(r, shape, tid, txs)]
        if len(alike) > 1 or len(alike) != len(found):
            self.shareable = False

    def _noted(self, kind: str, pred: str, pattern: Pattern, found: Collection[Row]) -> None:
        """Note a read during a search (see the module's invariant)."""
        tid = self._tid
        if tid in pattern:
            self.read.add((kind, pred, pattern.index(tid)))
            if not self.shareable:
                return
            if self._others(pattern):
                self._anchored(pred, pattern, found)
            elif len(found) > 1 and any(self._others(r) for r in found):
                self.shareable = False  # T and U need not sort them alike
        elif self.shareable:
            if self._others(pattern):
                self.shareable = False
            elif kind == "rows":
                self._answered(found)

    def rows(self, pred: str, pattern: Pattern) -> tuple[Row, ...]:
        """The rows of ``pred`` equal to ``pattern`` where it is not None, sorted."""
        found = super().rows(pred, pattern)
        if self._tid is not None:
            self._noted("rows", pred, pattern, found)
        return found

    def holds(self, pred: str, row: Row) -> bool:
        held = self.model.holds(pred, row)
        if self._tid is not None:
            self._noted("rows", pred, row, (row,) if held else ())
        return held

    def resolve(self, pred: str, row: tuple[Any, ...], tid: Value) -> Row | None:
        """The one row of ``pred`` that ``row`` (written by ``relative``) stands for, with
        ``tid`` for THIS (None unless exactly one fits)."""
        pattern = tuple([tid if v is THIS else None if isinstance(v, _Other) else v for v in row])
        fits = [r for r in Index.rows(self, pred, pattern) if _fits(r, row, tid, self.txs)]
        return fits[0] if len(fits) == 1 else None

    def source(self, fact: tuple[str, Row]) -> Source:
        """Where ``fact`` comes from: the given fact, or its recorded first derivation."""
        done = self._sources.get(fact)
        if done is None:
            done = self._sources[fact] = source(self.model, fact)
        tid = self._tid
        if tid is not None:
            row = fact[1]
            if tid in row or self._others(row):
                held = done[0] is not None or done[1] is not None
                self._noted("source", fact[0], row, (row,) if held else ())
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


class _Pattern(Generic[T]):
    """A read pattern of a goal: its slices, the results kept under their forms, how many
    times one was found again, and (once every slice's forms are all known) the slices'
    numbers per transaction."""

    __slots__ = ("spec", "kept", "found", "columns")

    def __init__(self, spec: tuple[Slice, ...]) -> None:
        self.spec = spec
        self.kept: dict[tuple[int, ...], T] = {}
        self.found = 0
        self.columns: list[dict[Value, int]] | None = None


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
        self._specs: dict[Hashable, list[_Pattern[T]]] = {}
        # per slice: the number of each form, and each transaction's (0: no rows, -1: not
        # shared); _whole has the slices whose every transaction's is known
        self._forms: dict[Slice, dict[Any, int]] = {}
        self._numbers: dict[Slice, dict[Value, int]] = {}
        self._whole: dict[Slice, dict[Value, int]] = {}
        self._files: dict[str, bool] = {}

    def find(self, tid: Value, goal: Hashable) -> T | None:
        """The result kept for ``goal`` under ``tid``'s forms, if any."""
        for pattern in self._specs.get(goal, ()):
            kept = pattern.kept
            if len(kept) >= _DROP_AFTER and not pattern.found:
                continue  # a pattern whose keys never repeat
            key = self._key(tid, pattern)
            if key is not None:
                found = kept.get(key)
                if found is not None:
                    pattern.found += 1
                    return found
        return None

    def keep(self, tid: Value, goal: Hashable, read: set[Slice], result: T) -> None:
        """Keep ``result`` of the search for ``goal`` and ``tid``, which read ``read``."""
        # (a slice's rows are part of where they come from: its "source" form decides its
        # "rows" form)
        spec = tuple(sorted(s for s in read if s[0] != "rows" or ("source", s[1], s[2]) not in read))
        patterns = self._specs.setdefault(goal, [])
        pattern = next((p for p in patterns if p.spec == spec), None)
        if pattern is None:
            if len(patterns) >= _SPECS_KEPT:
                return
            pattern = _Pattern(spec)
            patterns.append(pattern)
        if len(pattern.kept) >= _DROP_AFTER and not pattern.found:
            return
        key = self._key(tid, pattern)
        if key is not None:
            pattern.kept[key] = result

    def _key(self, tid: Value, pattern: _Pattern[T]) -> tuple[int, ...] | None:
        columns = pattern.columns
        if columns is not None:
            key = tuple([numbers.get(tid, 0) for numbers in columns])
        else:
            key = tuple([self._number(s, tid) for s in pattern.spec])
            whole = self._whole
            if all(s in whole for s in pattern.spec):
                pattern.columns = [whole[s] for s in pattern.spec]
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
        self._number_all(s, group, numbers, forms)
        self._whole[s] = numbers
        return numbers.get(tid, 0)

    def _number_all(self, s: Slice, group: dict[Any, list[Row]], numbers: dict[Value, int],
                    forms: dict[Any, int]) -> None:
        """Number every value's form of ``s`` in ``group`` (``_form``'s, made here for a
        lone row that names no other transaction and is given when kind is "source")."""
        kind, pred, pos = s
        txs, given, form_of = self._reads.txs, self.model.given, self._form
        for v, rows in group.items():
            if v in numbers:
                continue
            form: Any = None
            if len(rows) == 1:
                row = rows[0]
                rest = row[1:] if pos == 0 else row[:pos] + row[pos + 1:]
                if v in rest:
                    numbers[v] = -1
                    continue
                if txs.isdisjoint(rest):
                    shape = (rest, tuple(map(type, rest)))
                    if kind == "rows":
                        form = shape
                    else:
                        fact = given.get((pred, row))
                        if fact is not None:
                            form = (shape, self._scenario_file(fact.span.file))
            if form is None:
                form = form_of(kind, pred, pos, v, rows)
            numbers[v] = -1 if form is None else forms.setdefault(form, len(forms))

    def _form(self, kind: str, pred: str, pos: int, tid: Value, rows: list[Row]) -> Any:
        """The rows of ``pred`` with ``tid`` at ``pos`` without it, with each value's type
        (and where the row comes from, kind "source"), other transactions as OTHER; None
        when they cannot be shared."""
        out: list[Any] = []
        given, txs = self.model.given, self._reads.txs
        marked = False
        for row in rows:
            rest = row[:pos] + row[pos + 1:]
            if tid in rest:
                return None
            seen: dict[Value, Any] = {}
            shape = (rest if txs.isdisjoint(rest) else relative(rest, tid, txs, seen),
                     tuple(map(type, rest)))
            if kind == "rows":
                out.append(shape)
            else:
                fact = given.get((pred, row))
                if fact is not None:
                    out.append((shape, self._scenario_file(fact.span.file)))
                else:
                    out.append((shape, self._derivation_form((pred, row), tid, seen)))
            marked = marked or bool(seen)
        if len(out) == 1:
            return out[0]
        # (rows written with OTHER need not differ: each is counted)
        return ("counted", frozenset(Counter(out).items())) if marked else frozenset(out)

    def _scenario_file(self, file: str) -> bool:
        got = self._files.get(file)
        if got is None:
            got = self._files[file] = self._scenario(file)
        return got

    def _derivation_form(self, fact: tuple[str, Row], tid: Value, seen: dict[Value, Any]) -> Any:
        """The rule of a derived fact's first derivation (which names its bindings), its
        bindings' values and its premises, with their types (None: not derived)."""
        prov = self.model.provenance
        d = prov.first(fact) if isinstance(prov, Provenance) else source(self.model, fact)[1]
        if d is None:
            return None
        rule, bindings, premises = d
        txs = self._reads.txs
        values = tuple([v for _, v in bindings])
        return (rule, tuple(map(type, values)), relative(values, tid, txs, seen),
                tuple([(p, tuple(map(type, row)), relative(row, tid, txs, seen))
                       for p, row in premises]))


def _fits(row: Row, shape: tuple[Any, ...], tid: Any, txs: Collection[Value]) -> bool:
    """Whether ``row`` is alike ``shape`` (written by ``relative``; None: any value): THIS
    where ``tid`` is, other transactions where OTHER is (the same where it is the same),
    and equal values of the same type elsewhere."""
    others: dict[Any, Value] = {}
    for v, want in zip(row, shape):
        if want is None:
            continue
        if want is THIS:
            if v != tid or type(v) is not type(tid):
                return False
        elif isinstance(want, _Other):
            if v == tid or v not in txs or others.setdefault(want, v) != v:
                return False
        elif v != want or type(v) is not type(want):
            return False
    return len(set(others.values())) == len(others)
