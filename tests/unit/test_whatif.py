"""What-if: minimal flipping change sets, search bounds, --set variants, faithful variants, CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reasoner.cli import cli
from reasoner.law.decision import decide
from reasoner.lang.errors import EarlogError, QueryError
from reasoner.tools.whatif.text import whatif_text
from reasoner.law.scenario import load_scenario, scenario_facts
from reasoner.tools.whatif.search import (
    CHANGEABLE, Change, apply_changes, candidate_changes, parse_assignment, what_if, what_if_set,
)

REPO = Path(__file__).resolve().parents[2]
SWEDISH = REPO / "tests" / "golden" / "memos" / "swedish-sub" / "scenario.yaml"
SCENARIOS = sorted((REPO / "facts" / "scenarios").glob("*.yaml"))
TIER1 = ("US", "DE", "SE")


@pytest.fixture(scope="module")
def swedish_search():  # type: ignore[no-untyped-def]
    """The Swedish subsidiary of a PRC parent, every single change tried."""
    return what_if(load_scenario(SWEDISH), "tx1", max_changes=1)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_moving_the_parents_headquarters_to_tier_1_is_the_first_flip(swedish_search) -> None:  # type: ignore[no-untyped-def]
    r = swedish_search
    assert r.before.outcome == "license_required"
    first = r.flips[0]
    (change,) = first.changes
    assert (change.id, change.key, change.old) == ("cn_parent", "headquartered_in", "CN")
    assert change.new in TIER1
    assert first.decision.outcome == "permitted" and "AIA" in first.decision.exceptions
    # the key step is AIA's own provision
    assert first.key_step.step.cite == "15 CFR 740.27(a)(1)"


def test_flips_are_ranked_by_size_then_declared_order(swedish_search) -> None:  # type: ignore[no-untyped-def]
    r = swedish_search
    assert all(len(f.changes) == 1 for f in r.flips)
    keys = [c.key for f in r.flips for c in f.changes]
    order = [ch.key for ch in CHANGEABLE]
    assert [order.index(k) for k in keys] == sorted(order.index(k) for k in keys)
    assert any(f.changes[0].key == "parent" and f.changes[0].new is None for f in r.flips)
    assert all(f.decision.outcome != "license_required" for f in r.flips)


def test_a_complete_search_says_which_bound_limited_it(swedish_search) -> None:  # type: ignore[no-untyped-def]
    r = swedish_search
    assert not r.bound_reached and r.complete_up_to == 1 and r.untried == 0
    assert r.evaluated == r.singles
    text = whatif_text(r)
    assert "every set of at most 1 change(s) was tried" in text
    assert "--max-changes 1" in text and "1. cn_parent.headquartered_in: CN \u2192" in text


def test_the_budget_bound_is_reported_in_the_result_and_the_text() -> None:
    r = what_if(load_scenario(SWEDISH), "tx1", max_changes=2, max_candidates=5)
    assert r.evaluated == 5 and r.bound_reached and r.complete_up_to == 0 and r.untried > 0
    assert "bound reached: --max-candidates 5" in whatif_text(r)


def test_sets_reported_are_minimal() -> None:
    r = what_if(load_scenario(SWEDISH), "tx1", max_changes=2, max_candidates=90)
    singles = {(c.id, c.key, c.new) for f in r.flips if len(f.changes) == 1 for c in f.changes}
    for f in r.flips:
        if len(f.changes) == 2:
            assert not any((c.id, c.key, c.new) in singles for c in f.changes)
            assert f.changes[0].field != f.changes[1].field


def test_target_outcome() -> None:
    r = what_if(load_scenario(SWEDISH), "tx1", target="indeterminate", max_changes=1)
    assert r.flips and all(f.decision.outcome == "indeterminate" for f in r.flips)
    with pytest.raises(QueryError, match="already"):
        what_if(load_scenario(SWEDISH), "tx1", target="license_required")


def test_candidates_come_from_declared_fields_and_small_domains() -> None:
    scn = load_scenario(SWEDISH)
    changes = list(candidate_changes(decide(scn), "tx1"))
    hq = [c.new for c in changes if (c.id, c.key) == ("cn_parent", "headquartered_in")]
    assert hq == ["US", "DE", "IN", "SG", "VN", "MO", "SE"]
    quantities = [c.new for c in changes if c.key == "quantity"]
    assert quantities == [100, 26_900_000 // 15832]
    assert {c.key for c in changes} <= {ch.key for ch in CHANGEABLE}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_a_variant_without_changes_is_the_scenario_itself(path: Path) -> None:
    scn = load_scenario(path)
    same = apply_changes(scn, ())
    assert same.entities == scn.entities and same.transactions == scn.transactions
    assert same.items == scn.items and same.models == scn.models
    assert [(f.pred, f.values, f.span) for f in scenario_facts(same)] == \
        [(f.pred, f.values, f.span) for f in scenario_facts(scn)]


def test_changed_facts_point_at_the_what_if() -> None:
    scn = load_scenario(SWEDISH)
    change = Change("entities", "cn_parent", "headquartered_in", "CN", "DE")
    variant = apply_changes(scn, [change])
    facts = {(f.pred, f.values[0]): f.span for f in scenario_facts(variant)}
    assert facts[("hq_in", "cn_parent")].file == "<what-if>"
    assert facts[("hq_in", "cn_parent")].line == 6
    assert facts[("hq_in", "se_co")].file == str(SWEDISH)


def test_set_redecides_one_variant() -> None:
    r = what_if_set(load_scenario(SWEDISH), "tx1",
                    ["cn_parent.headquartered_in=DE", "tx1.quantity=100"])
    assert r.before.outcome == "license_required" and r.after.outcome == "permitted"
    assert r.after.exceptions == ("AIA", "LPP")
    assert [str(c) for c in r.changes] == ["cn_parent.headquartered_in: CN \u2192 DE",
                                          "tx1.quantity: 200 \u2192 100"]


def test_the_key_step_keeps_the_test_that_flipped() -> None:
    lpp = next(p for p in SCENARIOS if p.name == "lpp-accumulation.yaml")
    flip = what_if(load_scenario(lpp), "july", max_changes=1).flips[0]
    assert [str(c) for c in flip.changes] == ["july.quantity: 600 \u2192 300"]
    # the cap test decides, so its values are shown (unlike explain --compact)
    assert "24,248,800 <= 26,900,000" in [q.step.en for q in flip.key_step.premises]


@pytest.mark.parametrize("assignment, message", [
    ("cn_parent.headquartered_in=CHN", "unknown country code 'CHN'"),
    ("cn_parent.hq=DE", "unknown key 'hq'"),
    ("cn_parent.parent=se_co", "parent cycle"),
    ("tx1.quantity=-1", "expected a whole number of units"),
    ("nobody.parent=null", "no entity, item, model or transaction 'nobody'"),
    ("no-equals-sign", "--set expects ID.KEY=VALUE"),
])
def test_bad_set_is_reported_like_bad_input(assignment: str, message: str) -> None:
    with pytest.raises(EarlogError) as info:
        what_if_set(load_scenario(SWEDISH), "tx1", [assignment])
    assert message in str(info.value)


def test_parse_assignment_reads_yaml_values() -> None:
    c = parse_assignment(load_scenario(SWEDISH), "se_co.veu={type: nveu, country: SE}")
    assert (c.section, c.id, c.key, str(c.new)) == ("entities", "se_co", "veu",
                                                    "{type: nveu, country: SE}")


# ---- CLI -------------------------------------------------------------------------


def test_cli_set_shows_old_and_new_decision() -> None:
    code, out, err = run("what-if", str(SWEDISH), "tx1", "--set", "se_co.parent=null")
    assert code == 0, err
    assert "* outcome           license_required" in out
    assert "the outcome changes" in out and "[15 CFR 740.27(a)(1)]" in out


def test_cli_search_reports_the_bound_on_stdout_and_stderr() -> None:
    code, out, err = run("what-if", str(SWEDISH), "tx1", "--max-candidates", "3")
    assert code == 0
    assert "bound reached" in out and "bound reached" in err


def test_cli_errors_are_diagnostics() -> None:
    code, out, err = run("what-if", str(SWEDISH), "tx1", "--set", "cn_parent.headquartered_in=XX")
    assert code == 1 and out == ""
    assert "error: --set cn_parent.headquartered_in=XX: unknown country code 'XX'" in err
    assert "Traceback" not in err
    code, _, err = run("what-if", str(SWEDISH), "nope")
    assert code == 1 and "no transaction 'nope'" in err
    code, _, err = run("what-if", str(SWEDISH), "tx1", "--max-changes", "9")
    assert code == 2
