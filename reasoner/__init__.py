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
    unstated facts --interview--> questions, best first;  expect: blocks --scenariotest--> PASS/FAIL
    decide / explain / what_if / interview --api--> objects that display in Jupyter
    CSV/JSONL rows --screenio--> rows --screen--> decisions in chunks (LPP carried forward)
      --screenio--> CSV/JSONL decisions, rejects, proofs
"""

from __future__ import annotations

from reasoner.version import __version__

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
# The notebook-friendly API: decide and what_if accept a Scenario as before (and also a
# path, a mapping or YAML text) and return subclasses of the results they always returned.
from reasoner.api import (
    Decisions, Explanation, InterviewResult, WhatIf, WhatIfSet, decide, explain, interview,
    what_if,
)

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
