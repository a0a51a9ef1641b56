"""The EAR domain: the rulebook, scenarios, decisions and their receipts.

Owns: ``rulebook`` (loading ``reasoner/rulebook/*.dl``, the reference facts and the
uncertainty registry per regime), ``scenario/`` (reading, validating and lowering
scenario YAML to facts), ``decision`` (the JSON decision contract of SCENARIOS.md)
and ``receipt`` (what produced an output, and the command that reproduces it).
The rules themselves are data in ``reasoner/rulebook/``: their file paths appear in
proofs, so they stay where users read them.

May import: ``lang``, ``engine``.
"""
