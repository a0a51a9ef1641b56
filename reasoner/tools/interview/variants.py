"""Deciding many variants of one scenario in one evaluation of the rulebook."""

# A variant is the scenario with some fields changed (what-if's ``Change``). Deciding
# each variant alone costs a full evaluation of the rulebook over the reference facts
# (about 60 ms); here K variants are renamed apart (every entity, item, model and
# transaction id gets the suffix "~k") and decided as one scenario, so the shared
# reference facts are evaluated once. Renaming apart is sound because no rule names an
# id, and every aggregate (LPP per consignee and year, AIA shipments per consignee)
# groups by ids that the renaming keeps apart; the licensed TPP per country comes from
# the history alone and is the same in every variant. tests/unit/test_interview.py checks
# that a batch decides every variant exactly as deciding it alone does.

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from reasoner.law.decision import Decision, decide
from reasoner.law.scenario import Entity, History, Scenario, Veu
from reasoner.tools.whatif.search import Change

__all__ = ["BATCH", "apply_plain", "decide_variants"]

# Variants decided per evaluation (bounds the model's size).
BATCH = 150


def apply_plain(scn: Scenario, changes: Sequence[Change]) -> Scenario:
    """``scn`` with ``changes`` set on its records directly, without validation.

    For values taken from validated domains only (countries, the contract's enums,
    ids of existing records); a user's answer goes through ``whatif.apply_changes``,
    which validates it like a scenario file.
    """
    if not changes:
        return scn
    by_record: dict[tuple[str, str], dict[str, Any]] = {}
    for c in changes:
        by_record.setdefault((c.section, c.id), {})[_attr(c.key)] = _record_value(c.key, c.new)

    def replaced(name: str) -> tuple[Any, ...]:
        return tuple(dataclasses.replace(r, **by_record[(name, r.id)])
                     if (name, r.id) in by_record else r for r in getattr(scn, name))

    # an entity the scenario lacks is added (a parent not in the scenario, with its country)
    known = {e.id for e in scn.entities}
    added = tuple(Entity(rid, **fields) for (name, rid), fields in by_record.items()
                  if name == "entities" and rid not in known)
    return dataclasses.replace(scn, entities=replaced("entities") + added, items=replaced("items"),
                               models=replaced("models"), transactions=replaced("transactions"))


def _attr(key: str) -> str:
    return "from_" if key == "from" else key


def _record_value(key: str, value: Any) -> Any:
    if key == "veu" and isinstance(value, tuple):
        return Veu(**dict(value))
    if key == "government_controlled" and value is None:
        return False
    return value


def decide_variants(scn: Scenario, tx: str, variants: Sequence[Sequence[Change]],
                    regime: str | None = None) -> list[Decision]:
    """The decision for ``tx`` in each variant of ``scn``, in order.

    Args:
        scn: a validated scenario.
        tx: the transaction whose decision is wanted.
        variants: the changes of each variant (values from validated domains).
        regime: ``ifr`` or ``enforced``; default the scenario's own.
    """
    out: list[Decision] = []
    for start in range(0, len(variants), BATCH):
        chunk = [apply_plain(scn, v) for v in variants[start:start + BATCH]]
        merged = _merged(scn, chunk)
        result = decide(merged, regime=regime)
        by_id = {d.transaction: d for d in result.decisions}
        out += [_unrenamed(by_id[f"{tx}~{k}"], tx, f"~{k}") for k in range(len(chunk))]
    return out


def _unrenamed(d: Decision, tx: str, suffix: str) -> Decision:
    """A variant's decision under its own ids again: ids never hold "~", so the suffix
    can be taken out of the reasons that name them."""
    ruled_out = tuple(dataclasses.replace(r, reason=r.reason.replace(suffix, ""),
                                          reason_zh=r.reason_zh.replace(suffix, ""))
                      for r in d.ruled_out)
    return dataclasses.replace(d, transaction=tx, ruled_out=ruled_out)


def _merged(base: Scenario, variants: list[Scenario]) -> Scenario:
    parts = [_renamed(v, f"~{k}") for k, v in enumerate(variants)]
    licensed = base.history.licensed_tpp
    return dataclasses.replace(
        base,
        entities=tuple(e for p in parts for e in p.entities),
        items=tuple(i for p in parts for i in p.items),
        models=tuple(m for p in parts for m in p.models),
        transactions=tuple(t for p in parts for t in p.transactions),
        history=History(licensed, tuple(s for p in parts for s in p.history.lpp_shipped),
                        base.history.span))


def _renamed(scn: Scenario, suffix: str) -> Scenario:
    def name(rid: str | None) -> str | None:
        return None if rid is None else rid + suffix

    entities = tuple(dataclasses.replace(e, id=e.id + suffix, parent=name(e.parent))
                     for e in scn.entities)
    items = tuple(dataclasses.replace(i, id=i.id + suffix) for i in scn.items)
    models = tuple(dataclasses.replace(m, id=m.id + suffix, derived_from=name(m.derived_from))
                   for m in scn.models)
    txs = tuple(dataclasses.replace(t, id=t.id + suffix, exporter=t.exporter + suffix,
                                    ultimate_consignee=t.ultimate_consignee + suffix,
                                    item=name(t.item), model=name(t.model))
                for t in scn.transactions)
    lpp = tuple(dataclasses.replace(s, entity=s.entity + suffix)
                for s in scn.history.lpp_shipped)
    return dataclasses.replace(scn, entities=entities, items=items, models=models,
                               transactions=txs,
                               history=History(scn.history.licensed_tpp, lpp, scn.history.span))


