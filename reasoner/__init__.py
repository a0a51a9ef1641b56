"""earlog: a Datalog legal reasoner for the EAR's AI Diffusion framework (90 FR 4544).

The pipeline, one module per arrow::

    rule text --syntax--> Program (ir, frozen, with spans)
      --checks--> checked program (arity, safety, strata via networkx SCCs)
      --engine--> Model (facts + provenance)
      --proof--> Proof (DAG) --render--> text | DOT | SVG | GraphML | JSON
    scenario YAML --scenario--> facts;  rulebook + facts --decision--> decisions
"""

from __future__ import annotations

__version__ = "0.1.0"
