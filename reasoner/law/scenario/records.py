"""Scenario records: the frozen, located entities, items, models and transactions of a scenario."""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar


from reasoner.law.scenario.iso3166 import ALPHA_2
from reasoner.lang.span import NO_SPAN, Span
from reasoner.law.scenario.yamlnodes import Number

__all__ = [
    "Number", "Veu", "Entity", "Item", "Model", "Transaction", "LicensedTpp", "LppShipped",
    "History", "Scenario", "is_country_code", "REGIMES", "TX_TYPES", "END_USES", "DESIGNERS",
    "VEU_TYPES", "EXTRA_COUNTRIES", "EMPTY_HISTORY",
]

REGIMES = ("ifr", "enforced")
TX_TYPES = ("export", "reexport", "transfer_in_country", "deemed_export")
END_USES = ("inference", "training", "development", "production", "storage", "other")
DESIGNERS = ("approved", "authorized", "none")
VEU_TYPES = ("uveu", "nveu")
# Codes accepted although pycountry lacks them, with the country they name.
EXTRA_COUNTRIES = {"XK": "Kosovo"}

_R = TypeVar("_R")



# ---- records ---------------------------------------------------------------------


class _Located:
    """Mixin: a record that knows the span of its node and of each field's value."""

    __slots__ = ()
    span: Span
    spans: tuple[tuple[str, Span], ...]

    def where(self, key: str) -> Span:
        """Span of the value written for ``key`` (the YAML key name), else of the record."""
        for name, span in self.spans:
            if name == key:
                return span
        return self.span


@dataclass(frozen=True, slots=True)
class Veu:
    """A Data Center VEU: ``uveu`` (universal) or ``nveu`` for one ``country``."""

    type: str
    country: str | None = None
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class Entity(_Located):
    """A party. ``span`` is the span of its id (the mapping key)."""

    id: str
    located_in: str
    headquartered_in: str
    name: str | None = None
    parent: str | None = None
    government_controlled: bool = False
    veu: Veu | None = None
    weights_storage_compliant: bool | None = None  # None: unknown
    majority_owned: bool | None = None  # by its immediate parent (744.23(d)(2)); None: unknown
    span: Span = field(default=NO_SPAN, compare=False)
    spans: tuple[tuple[str, Span], ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class Item(_Located):
    """A commodity, software or technology. ``span`` is the span of its id."""

    id: str
    eccn: str
    tpp_per_unit: Number | None = None
    performance_density: Number | None = None
    datacenter: bool | None = None  # None: unknown
    designer: str | None = None
    span: Span = field(default=NO_SPAN, compare=False)
    spans: tuple[tuple[str, Span], ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class Model(_Located):
    """An AI model whose weights may be exported. ``span`` is the span of its id.

    ``produced_in`` is None when the file does not say; :func:`scenario_facts`
    then uses the ``from`` country of the model's first transaction.
    """

    id: str
    training_operations: Number
    published: bool
    trained_on_ear_hardware: bool
    derived_from: str | None = None
    additional_operations: Number | None = None
    produced_in: str | None = None
    below_best_published: bool | None = None  # None: not assessed
    span: Span = field(default=NO_SPAN, compare=False)
    spans: tuple[tuple[str, Span], ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class Transaction(_Located):
    """One transaction, decided whole. ``from_`` is the YAML key ``from``.

    ``span`` is the span of its ``id`` value (or of its mapping when it has none).
    """

    id: str
    type: str
    date: _dt.date
    exporter: str
    from_: str
    to: str
    ultimate_consignee: str
    end_use: str
    item: str | None = None
    model: str | None = None
    quantity: int | None = None
    final_destination: str | None = None
    span: Span = field(default=NO_SPAN, compare=False)
    spans: tuple[tuple[str, Span], ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class LicensedTpp:
    """``history.licensed_tpp_by_country``: TPP already licensed to ``country``."""

    country: str
    tpp: Number
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class LppShipped:
    """``history.lpp_tpp_by_consignee``: TPP shipped to ``entity`` under LPP in ``year``."""

    entity: str
    year: int
    tpp: Number
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True, slots=True)
class History:
    """What happened before the scenario; countries and consignees missing have 0."""

    licensed_tpp: tuple[LicensedTpp, ...] = ()
    lpp_shipped: tuple[LppShipped, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False)


EMPTY_HISTORY = History()


@dataclass(frozen=True, slots=True)
class Scenario(_Located):
    """A validated scenario file.

    Records are tuples in file order; look them up by id with :meth:`entity`,
    :meth:`item`, :meth:`model`, :meth:`transaction`. Variants are built with
    :meth:`with_transactions` or ``dataclasses.replace``. ``expect`` holds the
    test-only ``expect:`` block as plain data when parsed with ``allow_expect``.
    """

    id: str
    file: str
    source_sha256: str
    description: str | None = None
    as_of: _dt.date | None = None
    regime: str = "ifr"
    entities: tuple[Entity, ...] = ()
    items: tuple[Item, ...] = ()
    models: tuple[Model, ...] = ()
    transactions: tuple[Transaction, ...] = ()
    history: History = EMPTY_HISTORY
    expect: Any = field(default=None, compare=False)
    span: Span = field(default=NO_SPAN, compare=False)
    spans: tuple[tuple[str, Span], ...] = field(default=(), compare=False)

    def entity(self, eid: str) -> Entity:
        """The entity with id ``eid``; raises KeyError when there is none."""
        return _by_id(self.entities, eid)

    def item(self, iid: str) -> Item:
        """The item with id ``iid``; raises KeyError when there is none."""
        return _by_id(self.items, iid)

    def model(self, mid: str) -> Model:
        """The model with id ``mid``; raises KeyError when there is none."""
        return _by_id(self.models, mid)

    def transaction(self, tid: str) -> Transaction:
        """The transaction with id ``tid``; raises KeyError when there is none."""
        return _by_id(self.transactions, tid)

    def with_transactions(self, transactions: Iterable[Transaction]) -> Scenario:
        """The same scenario deciding ``transactions`` instead (a what-if variant)."""
        return dataclasses.replace(self, transactions=tuple(transactions))


def _by_id(records: Iterable[_R], rid: str) -> _R:
    for rec in records:
        if getattr(rec, "id") == rid:
            return rec
    raise KeyError(rid)



def is_country_code(code: str) -> bool:
    """True for an ISO 3166-1 alpha-2 code (upper case) or one of EXTRA_COUNTRIES.

    Example:
        >>> is_country_code("CN"), is_country_code("HK"), is_country_code("CHN")
        (True, True, False)
    """
    if len(code) != 2 or not code.isalpha() or not code.isupper():
        return False
    return code in EXTRA_COUNTRIES or code in ALPHA_2


