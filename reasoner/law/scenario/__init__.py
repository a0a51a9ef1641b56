"""Scenario files (SCENARIOS.md): reading YAML, validating it into records, lowering to facts.

Owns: ``yamlnodes`` (reading YAML nodes with spans, scalars by field rule), ``records``
(the frozen records), ``validation`` (checking a file or a screening row) and ``facts``
(the rulebook's input facts).

May import: ``lang``.
"""

from __future__ import annotations

from reasoner.law.scenario.facts import scenario_facts
from reasoner.law.scenario.records import (
    DESIGNERS, END_USES, EXTRA_COUNTRIES, REGIMES, TX_TYPES, VEU_TYPES, Entity, History, Item,
    LicensedTpp, LppShipped, Model, Number, Scenario, Transaction, Veu, is_country_code,
)
from reasoner.law.scenario.validation import (bad_id_char, load_scenario, parse_scenario,
                                              parse_transaction)

__all__ = [
    "Number", "Veu", "Entity", "Item", "Model", "Transaction", "LicensedTpp", "LppShipped",
    "History", "Scenario", "load_scenario", "parse_scenario", "parse_transaction",
    "scenario_facts", "is_country_code", "REGIMES", "TX_TYPES", "END_USES", "DESIGNERS",
    "VEU_TYPES", "EXTRA_COUNTRIES", "bad_id_char",
]
