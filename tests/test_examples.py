"""The public worked examples (shared/ear/examples) and earlog's own scenarios decide as expected."""

from __future__ import annotations

from pathlib import Path

from typing import Any

import pytest

from legal_cases import REPO, SHARED_EXAMPLES, decide_with_expect, mismatches
from reasoner.law.decision import decide
from reasoner.law.scenario import load_scenario


def _cases(folder: Path) -> list[tuple[Path, str, str | None]]:
    """(scenario file, transaction id, regime) for every transaction in an expect block."""
    import yaml

    out = []
    for path in sorted(folder.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        expect = raw.get("expect") or {}
        for tx in expect:
            if tx == "regimes":
                continue
            out.append((path, str(tx), None))
        for regime, block in (expect.get("regimes") or {}).items():
            for tx in block:
                out.append((path, str(tx), regime))
    return out


PUBLIC = _cases(SHARED_EXAMPLES) if SHARED_EXAMPLES.is_dir() else []
def _own_cases() -> tuple[list[tuple[Path, str, str | None]], dict[str, Any]]:
    import yaml

    raw = yaml.safe_load((REPO / "tests" / "scenario_expectations.yaml").read_text("utf-8"))
    out = []
    for name, expect in raw.items():
        path = REPO / "facts" / "scenarios" / name
        out += [(path, str(tx), None) for tx in expect if tx != "regimes"]
        for regime, block in (expect.get("regimes") or {}).items():
            out += [(path, str(tx), regime) for tx in block]
    return out, raw


OWN, OWN_EXPECT = _own_cases()


def _check(path: Path, tx: str, regime: str | None) -> None:
    if path.parent == SHARED_EXAMPLES:
        decisions, expect = decide_with_expect(path, regime)
    else:
        expect = OWN_EXPECT[path.name]
        result = decide(load_scenario(path), regime=regime)
        decisions = {d.transaction: d for d in result.decisions}
    want = expect["regimes"][regime][tx] if regime else expect[tx]
    problems = mismatches(decisions[tx], want)
    assert not problems, f"{path.name} {tx}: " + "; ".join(problems)


def test_every_own_scenario_has_expectations() -> None:
    files = {p.name for p in (REPO / "facts" / "scenarios").glob("*.yaml")}
    assert files == set(OWN_EXPECT)


@pytest.mark.skipif(not PUBLIC, reason="../shared/ear/examples not present")
@pytest.mark.parametrize("path,tx,regime", PUBLIC, ids=[f"{p.stem}:{t}" for p, t, _ in PUBLIC])
def test_public_example(path: Path, tx: str, regime: str | None) -> None:
    _check(path, tx, regime)


def test_all_seven_public_decisions_are_covered() -> None:
    if not PUBLIC:
        pytest.skip("../shared/ear/examples not present")
    assert len(PUBLIC) == 7


@pytest.mark.parametrize(
    "path,tx,regime", OWN, ids=[f"{p.stem}:{t}" + (f"@{r}" if r else "") for p, t, r in OWN])
def test_own_scenario(path: Path, tx: str, regime: str | None) -> None:
    _check(path, tx, regime)


@pytest.mark.skipif(not PUBLIC, reason="../shared/ear/examples not present")
@pytest.mark.parametrize("path,tx,regime", PUBLIC, ids=[f"{p.stem}:{t}" for p, t, _ in PUBLIC])
def test_public_example_explained(path: Path, tx: str, regime: str | None) -> None:
    """`earlog explain` shows the decisive citations and, for each unavailable
    exception, the condition that blocks it."""
    from reasoner.proof.explanation import explain_transaction
    from reasoner.render.text import explanation_text

    scn = load_scenario(path, allow_expect=True)
    expl = explain_transaction(decide(scn, regime=regime), tx)
    text = explanation_text(expl)
    for cite in scn.expect[tx].get("cites", []):
        assert cite in text, f"{cite} not shown in the explanation of {path.name} {tx}"
    for exception, whynot in expl.whynots:
        assert exception not in expl.decision.exceptions
        section = text.split(f"Why {exception} is not available:")[1]
        assert "fails:" in section.split("Why ")[0], f"no blocking condition for {exception}"
        assert any(a.failure is not None for a in whynot.attempts)
