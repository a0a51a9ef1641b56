"""Each licensed transaction gets exactly one review policy (the rules never disagree)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reasoner.law.decision import decide
from reasoner.law.rulebook import REGIMES
from reasoner.law.scenario import load_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "facts" / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("regime", REGIMES)
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_at_most_one_review_policy_per_transaction(path: Path, regime: str) -> None:
    result = decide(load_scenario(path), regime=regime)
    for d in result.decisions:
        policies = {row[1] for row in result.model.rows("review") if row[0] == d.transaction}
        assert len(policies) <= 1, f"{d.transaction}: {sorted(map(str, policies))}"
        if d.outcome == "license_required":
            assert policies == {d.review_policy}
