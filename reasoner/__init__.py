"""earlog: a Datalog legal reasoner for the EAR's AI Diffusion framework (90 FR 4544).

The pipeline, one module per arrow::

    rule text --syntax--> Program (ir: frozen, with spans)
      --checks--> CheckedProgram (arity, safety, strata via networkx SCCs)
      --engine--> Model (facts + provenance)
      --proof / whynot--> Proof, WhyNot (DAGs) --proofgraph--> graph
      --render--> text | DOT | SVG | GraphML | JSON | Mermaid
    scenario YAML --scenario--> facts;  rulebook + facts --decision--> decisions
    decision + proofs --explanation--> what `earlog explain` shows
      --memo--> Memo (IRAC) --render--> Markdown | HTML | DOCX   (with a --receipt--)
    scenario variants --whatif--> minimal flips;  two decisions --proofdiff--> diff
    CSV/JSONL rows --screenio--> rows --screen--> decisions in chunks (LPP carried forward)
      --screenio--> CSV/JSONL decisions, rejects, proofs
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from reasoner.version import __version__

# The public API, imported on first use (PEP 562): `earlog decide` does not pay for
# the memo, what-if and screening modules, nor networkx, when it does not use them.
_PUBLIC = {
    "CheckedProgram": "reasoner.lang.checks",
    "check": "reasoner.lang.checks",
    "Decision": "reasoner.law.decision",
    "ScenarioDecisions": "reasoner.law.decision",
    "decide": "reasoner.law.decision",
    "decision_json": "reasoner.law.decision",
    "Engine": "reasoner.engine",
    "Model": "reasoner.engine",
    "get_engine": "reasoner.engine",
    "EarlogError": "reasoner.lang.errors",
    "Program": "reasoner.lang.ir",
    "Memo": "reasoner.tools.memo.document",
    "build_memo": "reasoner.tools.memo.document",
    "ProofDiff": "reasoner.proof.diff",
    "diff_decisions": "reasoner.proof.diff",
    "Receipt": "reasoner.law.receipt",
    "make_receipt": "reasoner.law.receipt",
    "Rulebook": "reasoner.law.rulebook",
    "load_rulebook": "reasoner.law.rulebook",
    "Scenario": "reasoner.law.scenario",
    "load_scenario": "reasoner.law.scenario",
    "parse_scenario": "reasoner.law.scenario",
    "Screener": "reasoner.tools.screen.screener",
    "parse_program": "reasoner.lang.syntax",
    "parse_query": "reasoner.lang.syntax",
    "WhatIfResult": "reasoner.tools.whatif.search",
    "what_if": "reasoner.tools.whatif.search",
    "what_if_set": "reasoner.tools.whatif.search",
}


__all__ = [
    "__version__",
    "CheckedProgram",
    "Decision",
    "EarlogError",
    "Engine",
    "Memo",
    "Model",
    "Program",
    "ProofDiff",
    "Receipt",
    "Rulebook",
    "Scenario",
    "ScenarioDecisions",
    "Screener",
    "WhatIfResult",
    "build_memo",
    "check",
    "decide",
    "decision_json",
    "diff_decisions",
    "get_engine",
    "load_rulebook",
    "load_scenario",
    "make_receipt",
    "parse_program",
    "parse_query",
    "parse_scenario",
    "what_if",
    "what_if_set",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'reasoner' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # the names, for type checkers and editors
    from reasoner.lang.checks import CheckedProgram, check
    from reasoner.law.decision import Decision, ScenarioDecisions, decide, decision_json
    from reasoner.engine import Engine, Model, get_engine
    from reasoner.lang.errors import EarlogError
    from reasoner.lang.ir import Program
    from reasoner.tools.memo.document import Memo, build_memo
    from reasoner.proof.diff import ProofDiff, diff_decisions
    from reasoner.law.receipt import Receipt, make_receipt
    from reasoner.law.rulebook import Rulebook, load_rulebook
    from reasoner.law.scenario import Scenario, load_scenario, parse_scenario
    from reasoner.tools.screen.screener import Screener
    from reasoner.lang.syntax import parse_program, parse_query
    from reasoner.tools.whatif.search import WhatIfResult, what_if, what_if_set
