"""Lowering a validated scenario to the input facts of ``reasoner/rulebook/inputs.dl``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reasoner.lang.ir import Fact
from reasoner.lang.errors import ScenarioError
from reasoner.lang.span import NO_SPAN
from reasoner.law.scenario.records import REGIMES, Entity, Item, Model, Scenario, Transaction

__all__ = ["scenario_facts"]



def scenario_facts(scn: Scenario, regime: str | None = None) -> tuple[Fact, ...]:
    """The input facts of ``reasoner/rulebook/inputs.dl`` for a scenario.

    Each fact's span is the YAML node it came from; defaulted facts point at the
    record they belong to (a regime given here, not in the file, has no span).

    Args:
        scn: a validated scenario.
        regime: overrides the scenario's regime when given.

    Returns:
        The facts, grouped by record in file order.

    Raises:
        ScenarioError: ``regime`` is not one of REGIMES.

    Example:
        >>> from reasoner.law.scenario import parse_scenario
        >>> s = parse_scenario("scenario: demo\\nentities: {}\\n", "demo.yaml",
        ...                    require_transactions=False)
        >>> [str(f) for f in scenario_facts(s, "enforced")]
        ['regime("enforced")']
    """
    if regime is not None and regime not in REGIMES:
        raise ScenarioError(f"unknown regime '{regime}'", NO_SPAN,
                            f"expected one of: {', '.join(REGIMES)}")
    facts: list[Fact] = []
    if regime is not None:
        facts.append(Fact("regime", (regime,), NO_SPAN))
    else:
        given = any(key == "regime" for key, _ in scn.spans)
        facts.append(Fact("regime", (scn.regime,), scn.where("regime" if given else "scenario")))
    for e in scn.entities:
        facts.extend(_entity_facts(e))
    for i in scn.items:
        facts.extend(_item_facts(i))
    for m in scn.models:
        facts.extend(_model_facts(m, scn.transactions))
    for t in scn.transactions:
        facts.extend(_tx_facts(t, scn))
    for lic in scn.history.licensed_tpp:
        facts.append(Fact("licensed_tpp", (lic.country, lic.tpp), lic.span))
    for lpp in scn.history.lpp_shipped:
        facts.append(Fact("lpp_shipped", (lpp.entity, lpp.year, lpp.tpp, "history"), lpp.span))
    return tuple(facts)


def _tri(value: bool | None) -> str:
    """Three-valued facts: "yes", "no" or "unknown"."""
    return "unknown" if value is None else ("yes" if value else "no")


def _entity_facts(e: Entity) -> Iterable[Fact]:
    yield Fact("entity", (e.id,), e.span)
    yield Fact("located_in", (e.id, e.located_in), e.where("located_in"))
    yield Fact("hq_in", (e.id, e.headquartered_in), e.where("headquartered_in"))
    if e.parent is not None:
        yield Fact("parent", (e.id, e.parent), e.where("parent"))
        yield Fact("majority_owned", (e.id, _tri(e.majority_owned)),
                   e.where("majority_owned") if e.majority_owned is not None else e.where("parent"))
    if e.government_controlled:
        yield Fact("government_controlled", (e.id,), e.where("government_controlled"))
    if e.veu is not None and e.veu.type == "uveu":
        yield Fact("uveu", (e.id,), e.veu.span)
    if e.veu is not None and e.veu.type == "nveu" and e.veu.country is not None:
        yield Fact("nveu", (e.id, e.veu.country), e.veu.span)
    yield Fact("storage_compliant", (e.id, _tri(e.weights_storage_compliant)),
               e.where("weights_storage_compliant"))


def _item_facts(i: Item) -> Iterable[Fact]:
    yield Fact("item", (i.id,), i.span)
    yield Fact("item_eccn", (i.id, i.eccn), i.where("eccn"))
    if i.tpp_per_unit is not None:
        yield Fact("item_tpp", (i.id, i.tpp_per_unit), i.where("tpp_per_unit"))
    if i.performance_density is not None:
        yield Fact("item_density", (i.id, i.performance_density), i.where("performance_density"))
    yield Fact("item_datacenter", (i.id, _tri(i.datacenter)), i.where("datacenter"))
    if i.designer is not None:
        yield Fact("item_designer", (i.id, i.designer), i.where("designer"))


def _model_facts(m: Model, txs: Sequence[Transaction]) -> Iterable[Fact]:
    yield Fact("model", (m.id,), m.span)
    yield Fact("model_ops", (m.id, m.training_operations), m.where("training_operations"))
    if m.published:
        yield Fact("model_published", (m.id,), m.where("published"))
    if m.derived_from is not None:
        yield Fact("model_derived_from", (m.id, m.derived_from), m.where("derived_from"))
    if m.additional_operations is not None:
        yield Fact("model_additional_ops", (m.id, m.additional_operations),
                   m.where("additional_operations"))
    if m.trained_on_ear_hardware:
        yield Fact("model_trained_on_ear_hw", (m.id,), m.where("trained_on_ear_hardware"))
    if m.produced_in is not None:
        yield Fact("model_produced_in", (m.id, m.produced_in), m.where("produced_in"))
    else:
        # default (SCENARIOS.md): the `from` country of the model's first transaction
        first = next((t for t in txs if t.model == m.id), None)
        if first is not None:
            yield Fact("model_produced_in", (m.id, first.from_), first.where("from"))
    yield Fact("model_below_best", (m.id, _tri(m.below_best_published)),
               m.where("below_best_published"))


def _tx_facts(t: Transaction, scn: Scenario) -> Iterable[Fact]:
    yield Fact("tx", (t.id,), t.span)
    yield Fact("tx_type", (t.id, t.type), t.where("type"))
    yield Fact("tx_date", (t.id, t.date), t.where("date"))
    if scn.as_of is not None:
        yield Fact("tx_as_of", (t.id, scn.as_of), scn.where("as_of"))
    else:
        yield Fact("tx_as_of", (t.id, t.date), t.where("date"))
    yield Fact("tx_exporter", (t.id, t.exporter), t.where("exporter"))
    yield Fact("tx_from", (t.id, t.from_), t.where("from"))
    yield Fact("tx_to", (t.id, t.to), t.where("to"))
    yield Fact("tx_consignee", (t.id, t.ultimate_consignee), t.where("ultimate_consignee"))
    if t.item is not None:
        yield Fact("tx_item", (t.id, t.item), t.where("item"))
    if t.model is not None:
        yield Fact("tx_model", (t.id, t.model), t.where("model"))
    if t.quantity is not None:
        yield Fact("tx_quantity", (t.id, t.quantity), t.where("quantity"))
    yield Fact("tx_end_use", (t.id, t.end_use), t.where("end_use"))
    if t.final_destination is not None:
        yield Fact("tx_final_destination", (t.id, t.final_destination),
                   t.where("final_destination"))
