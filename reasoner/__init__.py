"""earlog: a Datalog legal reasoner for the EAR's AI Diffusion framework (90 FR 4544).

The pipeline, one folder per stage (imports run down this picture, never up)::

    lang/    rule text --syntax--> Program (ir: frozen, with spans)
               --checks--> CheckedProgram (arity, safety, strata via networkx SCCs)
    engine/    --seminaive | pydatalog--> Model (facts + provenance)
    law/     scenario YAML --scenario--> facts;  rulebook + facts --decision--> decisions
               (+ receipt: what produced an output)
    proof/   model --why / whynot (wired by prove)--> Proof, WhyNot (DAGs)
               --explanation--> a transaction's proof and why-nots --argument--> the
               decision argued element by element --graph--> networkx graph
               two decisions --diff--> changed fields and steps;  rules --rulegraph--> interplay
    render/  proof, graph --> text | DOT | SVG | PNG | PDF | GraphML | JSON | Mermaid
    tools/   memo (Markdown | HTML | DOCX), whatif (minimal flips), screen (order books
             in chunks, LPP carried forward), interview (unstated facts, best question
             first), scenariotest (expect: blocks, PASS/FAIL)
    web/     the explorer: a local page over the tools
    cli/     the ``earlog`` command, one module per command group
    api      decide / explain / what_if / interview as objects that display in Jupyter

This module re-exports the public API by name.
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
    "decide": "reasoner.api",
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
    "what_if": "reasoner.api",
    "what_if_set": "reasoner.tools.whatif.search",
    # the notebook-friendly API: decide and what_if accept a Scenario as before (and also a
    # path, a mapping or YAML text) and return subclasses of the results they always returned
    "Decisions": "reasoner.api",
    "Explanation": "reasoner.api",
    "InterviewResult": "reasoner.api",
    "WhatIf": "reasoner.api",
    "WhatIfSet": "reasoner.api",
    "explain": "reasoner.api",
    "interview": "reasoner.api",
}


__all__ = [
    "__version__",
    "CheckedProgram",
    "Decision",
    "Decisions",
    "EarlogError",
    "Explanation",
    "InterviewResult",
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
    "WhatIf",
    "WhatIfResult",
    "WhatIfSet",
    "build_memo",
    "check",
    "decide",
    "decision_json",
    "diff_decisions",
    "explain",
    "get_engine",
    "interview",
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
    from reasoner.law.decision import Decision, ScenarioDecisions, decision_json
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
    from reasoner.tools.whatif.search import WhatIfResult, what_if_set
    from reasoner.api import (
        Decisions, Explanation, InterviewResult, WhatIf, WhatIfSet, decide, explain, interview,
        what_if,
    )
