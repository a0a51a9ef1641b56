"""The decision contract of SCENARIOS.md (revised 2026-12-07): basis-only citations and
a complete ruled_out list, checked against its JSON schema on every bundled scenario and
every public example."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from reasoner.law.decision import EXCEPTION_CODES, decide, decision_json
from reasoner.law.scenario import load_scenario
from legal_cases import REPO, SHARED_EXAMPLES

SCHEMA = json.loads(resources.files("reasoner.law").joinpath("decision.schema.json").read_text())
FILES = sorted((REPO / "facts" / "scenarios").glob("*.yaml")) + sorted(SHARED_EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize("regime", ["ifr", "enforced"])
def test_decisions_follow_the_contract(path: Path, regime: str) -> None:
    scn = load_scenario(path, allow_expect=True)
    doc = decision_json(decide(scn, regime=regime))
    jsonschema.validate(doc, SCHEMA)
    for d in doc["decisions"]:
        ruled = [r["exception"] for r in d["ruled_out"]]
        if d["license_required"] and d["in_scope"]:
            # every code not available, once each, sorted by code (contract order)
            assert sorted(ruled + d["exceptions"]) == sorted(EXCEPTION_CODES)
            assert ruled == [c for c in EXCEPTION_CODES if c in ruled]
        else:
            assert ruled == []
        for r in d["ruled_out"]:
            assert "?" not in r["reason"]
        # the basis has no general heading when a pinpoint says it
        assert "15 CFR 740.2" not in d["citations"] and "15 CFR 742.6(a)" not in d["citations"]


@pytest.mark.skipif(not SHARED_EXAMPLES.is_dir(), reason="../shared is not beside this checkout")
@pytest.mark.parametrize("path", sorted(SHARED_EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_public_examples_cite_their_basis(path: Path) -> None:
    """Each example's expected cites are in the basis, which is short (a lawyer can see
    which provisions decide it)."""
    scn = load_scenario(path, allow_expect=True)
    for d in decide(scn).decisions:
        want = scn.expect.get(d.transaction, {})
        for cite in want.get("cites", []):
            assert any(cite in c for c in d.citations), (cite, d.citations)
        assert len(d.citations) <= 5, d.citations


def test_basis_of_the_swedish_subsidiary_is_requirement_and_policy() -> None:
    """e1: a license is required (742.6(a)(6)(iii)(A)) and reviewed under a presumption
    of denial ((b)(10)(iii)(A)(1)); no ruled-out exception's provision is in the basis."""
    path = REPO / "facts" / "scenarios" / "enforced-posture.yaml"
    d = next(d for d in decide(load_scenario(path), regime="ifr").decisions
             if d.transaction == "prc-parent")
    assert d.citations == ("15 CFR 742.6(a)(6)(iii)(A)", "15 CFR 742.6(b)(10)(iii)(A)(1)")
    assert {r.exception for r in d.ruled_out} == set(EXCEPTION_CODES)


def test_ruled_out_names_the_decisive_fact() -> None:
    """AIA for the Swedish subsidiary of a PRC parent fails on its parent's headquarters,
    and the facts point at the parent and its headquarters in the scenario file."""
    path = REPO / "facts" / "scenarios" / "enforced-posture.yaml"
    d = next(d for d in decide(load_scenario(path), regime="ifr").decisions
             if d.transaction == "prc-parent")
    aia = next(r for r in d.ruled_out if r.exception == "AIA")
    assert aia.citation == "15 CFR 740.27(a)(1)"
    assert "CN" in aia.reason and aia.reason.startswith("requires that ") and "; here, " in aia.reason
    assert all(f.startswith(str(path)) for f in aia.facts) and len(aia.facts) >= 2
