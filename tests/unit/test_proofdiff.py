"""Proof diffs: changed conclusions and appeared/disappeared proof steps, across regimes and files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from reasoner.cli import cli
from reasoner.law.decision import decide
from reasoner.proof.diff import diff_decisions, merge_graphs
from reasoner.render.diff import DIFF_THEME, diff_dot, diff_text
from reasoner.law.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
POSTURE = REPO / "facts" / "scenarios" / "enforced-posture.yaml"
SWEDISH = REPO / "tests" / "golden" / "memos" / "swedish-sub" / "scenario.yaml"


@pytest.fixture(scope="module")
def regimes():  # type: ignore[no-untyped-def]
    """enforced-posture.yaml read as the IFR (left) and as the enforced posture (right)."""
    scn = load_scenario(POSTURE)
    return diff_decisions(decide(scn, regime="ifr"), decide(scn, regime="enforced"), level="full")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_germany_goes_from_aia_to_no_license(regimes) -> None:  # type: ignore[no-untyped-def]
    germany = next(t for t in regimes.transactions if t.transaction == "germany")
    fields = {f.name: f for f in germany.fields}
    assert fields["license_required"].before is True and fields["license_required"].after is False
    assert fields["exceptions"].removed == ("AIA",) and fields["exceptions"].added == ()
    assert "outcome" not in fields  # permitted either way, for different reasons
    assert "U-ENFORCED-POSTURE" in fields["uncertainties"].added
    steps = {(s.status, s.kind, s.cite, s.label_en) for s in germany.steps}
    assert ("disappeared", "rule", "15 CFR 740.27(a)(1)",
            "AIA covers germany: 3A090.a to an entity located in Supp. No. 5(a) whose "
            "headquarters and ultimate parent are in Supp. No. 5(a)") in steps
    assert ("appeared", "rule", "15 CFR 742.6(a)",
            "germany is permitted: no license is required") in steps


def test_a_step_that_stands_with_a_new_basis_is_changed_not_replaced(regimes) -> None:  # type: ignore[no-untyped-def]
    prc = next(t for t in regimes.transactions if t.transaction == "prc-parent")
    counts = dict(prc.counts)
    assert counts["changed"] > 0 and counts["same"] > 0
    root = prc.graph.graph["root"]
    assert prc.graph.nodes[root]["status"] == "changed"  # license_required, on another basis
    assert {s.status for s in prc.steps} == {"appeared", "disappeared"}


def test_every_node_and_edge_has_a_status(regimes) -> None:  # type: ignore[no-untyped-def]
    for t in regimes.transactions:
        assert {d["status"] for _, d in t.graph.nodes(data=True)} <= set(DIFF_THEME["status"])
        assert {d["status"] for _, _, d in t.graph.edges(data=True)} <= {
            "same", "appeared", "disappeared"}


def test_merging_a_graph_with_itself_changes_nothing() -> None:
    g = nx.DiGraph()
    g.add_node("a", kind="rule", outcome="holds", label_en="A", label_zh="A", cite="X 1", text="a")
    g.add_node("b", kind="fact", outcome="holds", label_en="B", label_zh="B", cite="", text="b")
    g.add_edge("a", "b", relation="premise", order=0)
    merged = merge_graphs(g, g)
    assert {d["status"] for _, d in merged.nodes(data=True)} == {"same"}
    h = nx.DiGraph()
    h.add_node("a2", **{**g.nodes["a"]})
    h.add_node("c", kind="fact", outcome="holds", label_en="C", label_zh="C", cite="", text="c")
    h.add_edge("a2", "c", relation="premise", order=0)
    merged = merge_graphs(g, h)
    status = {n: d["status"] for n, d in merged.nodes(data=True)}
    assert status == {"a2": "changed", "c": "appeared", "b": "disappeared"}
    assert merged.edges["a2", "b"]["status"] == "disappeared"


def test_two_scenarios_are_matched_by_transaction_id(tmp_path: Path) -> None:
    changed = tmp_path / "tier1-parent.yaml"
    changed.write_text(SWEDISH.read_text("utf-8").replace(
        "cn_parent: {located_in: CN, headquartered_in: CN}",
        "cn_parent: {located_in: DE, headquartered_in: DE}"), encoding="utf-8")
    d = diff_decisions(decide(load_scenario(SWEDISH)), decide(load_scenario(changed)), level="full")
    (tx,) = d.transactions
    fields = {f.name: (f.before, f.after) for f in tx.fields}
    assert fields["outcome"] == ("license_required", "permitted")
    text = diff_text(d)
    assert "tx1: decision changed" in text
    assert re.search(r"\n  outcome +license_required \u2192 permitted\n", text)
    assert "1 of 1 transaction(s) decided differently" in text


def test_diff_dot_highlights_changed_steps_with_theme_colours(regimes) -> None:  # type: ignore[no-untyped-def]
    dot = diff_dot(regimes)
    assert dot.startswith('digraph "proofdiff" {') and dot.count("subgraph") == 3
    assert DIFF_THEME["status"]["appeared"]["fillcolor"] in dot
    assert DIFF_THEME["status"]["disappeared"]["fillcolor"] in dot
    assert "label=\"+ germany is permitted: no license is required" in dot
    assert diff_dot(regimes) == dot


def test_cli_diff_across_regimes() -> None:
    code, out, err = run("diff", str(POSTURE), "--regime", "ifr", "--vs-regime", "enforced",
                         "-t", "germany")
    assert code == 0, err  # the arguments, statement by statement
    assert "germany: decision changed" in out and "  argument: " in out
    assert "    - [exception] AIA: AIA covers germany" in out
    code, out, err = run("diff", str(POSTURE), "--regime", "ifr", "--vs-regime", "enforced",
                         "-t", "germany", "--level", "full")
    assert code == 0, err
    assert "germany: decision changed" in out and "license_required  yes \u2192 no" in out
    assert "    - [rule] AIA covers germany" in out
    assert "    + [rule] germany is permitted: no license is required  [15 CFR 742.6(a)]" in out
    assert "prc-parent" not in out


def test_cli_diff_needs_two_sides_and_known_transactions() -> None:
    code, _, err = run("diff", str(POSTURE))
    assert code == 2 and "--vs-regime" in err
    code, _, err = run("diff", str(POSTURE), "--vs-regime", "ifr", "-t", "nope")
    assert code == 1 and "no transaction 'nope'" in err and "Traceback" not in err


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed (CI installs it)")
def test_cli_diff_svg(tmp_path: Path) -> None:
    out = tmp_path / "diff.svg"
    code, stdout, err = run("diff", str(POSTURE), "--regime", "ifr", "--vs-regime", "enforced",
                            "-t", "prc-parent", "--format", "svg", "-o", str(out))
    assert code == 0 and stdout == "", err
    assert out.read_text("utf-8").lstrip().startswith("<?xml") and "<svg" in out.read_text("utf-8")
