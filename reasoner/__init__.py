"""earlog: a Datalog legal reasoner for the EAR's AI Diffusion framework (90 FR 4544).

The pipeline, one module per arrow::

    rule text --syntax--> Program (ir: frozen, with spans)
      --checks--> CheckedProgram (arity, safety, strata via networkx SCCs)
      --engine--> Model (facts + provenance)
      --proof / whynot--> Proof, WhyNot (DAGs) --proofgraph--> graph
      --render--> text | DOT | SVG | GraphML | JSON | Mermaid
    scenario YAML --scenario--> facts;  rulebook + facts --decision--> decisions
    decision + proof --memo--> Memo (IRAC) --render--> Markdown | HTML | DOCX
    scenario variants --whatif--> minimal flips;  two decisions --proofdiff--> diff
    decision + proofs --explanation--> what `earlog explain` shows
"""

from __future__ import annotations

__version__ = "0.1.0"

from .checks import CheckedProgram, check
from .decision import Decision, ScenarioDecisions, decide, decision_json
from .engine import Engine, Model, get_engine
from .errors import EarlogError
from .ir import Program
from .rulebook import Rulebook, load_rulebook
from .scenario import Scenario, load_scenario, parse_scenario
from .syntax import parse_program, parse_query

__all__ = [
    "__version__",
    "CheckedProgram",
    "Decision",
    "EarlogError",
    "Engine",
    "Model",
    "Program",
    "Rulebook",
    "Scenario",
    "ScenarioDecisions",
    "check",
    "decide",
    "decision_json",
    "get_engine",
    "load_rulebook",
    "load_scenario",
    "parse_program",
    "parse_query",
    "parse_scenario",
]
