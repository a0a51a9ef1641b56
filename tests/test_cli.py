"""The earlog command, end to end through click's CliRunner: exit codes, stdout, stderr."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from reasoner.cli import cli

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "facts" / "scenarios"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "g.dl"
    path.write_text('edge("a", "b"). edge("b", "c").\n'
                    "path(X, Y) :- edge(X, Y).\npath(X, Y) :- edge(X, Z), path(Z, Y).\n")
    return path


def test_check_ok(rules: Path) -> None:
    code, out, _ = run("check", str(rules))
    assert code == 0 and out.startswith("ok: 2 rules, 2 facts")


def test_check_reports_every_problem_sorted(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dl"
    bad.write_text('e("a").\np(X) :- ee(X).\nq(X, Y) :- e(X).\nloop() :- not loop().\n')
    code, _, err = run("check", str(bad))
    assert code == 1
    lines = [ln for ln in err.splitlines() if ": error: " in ln]
    assert [ln.split(": error: ")[0].split(":", 1)[1] for ln in lines] == ["2:9", "3:6", "4:15"]
    assert "did you mean 'e'?" in err and "3 errors generated" in err
    assert "Traceback" not in err


def test_check_rulebook_requires_citations(tmp_path: Path) -> None:
    f = tmp_path / "r.dl"
    f.write_text('e("a").\np(X) :- e(X).\n')
    code, _, err = run("check", "--rulebook", str(f))
    assert code == 1 and "has no @cite" in err


def test_query_table_and_json(rules: Path) -> None:
    code, out, _ = run("query", str(rules), 'path(X, "c")')
    assert code == 0 and out.split() == ["X", "-", "a", "b", "(2", "answers)"]
    code, out, _ = run("query", str(rules), 'path(X, "c")', "--format", "json")
    assert json.loads(out)["answers"] == [{"X": "a"}, {"X": "b"}]


def test_query_error_shows_excerpt(rules: Path) -> None:
    code, _, err = run("query", str(rules), "pth(X)")
    assert code == 1
    assert "<query>:1:1: error: unknown predicate 'pth'" in err and "^^^" in err


# exec("...") is a well-formed atom of the language (a predicate named exec with a
# string), so it is rejected as an unknown predicate; Python syntax is a parse error.
@pytest.mark.parametrize("text,query_error,file_error", [
    ("__import__('os').system('touch pwned')", "error: expected", "error: expected"),
    ('exec("import os; open(\'pwned\', \'w\')")', "unknown predicate 'exec'", "error: expected"),
    ("p(X) :- q(X), __import__('os').system('touch pwned').", "error: expected", "error: expected"),
], ids=["import", "exec", "rule-import"])
def test_injection_is_rejected_without_side_effect(
    tmp_path: Path, rules: Path, text: str, query_error: str, file_error: str
) -> None:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        code, _, err = run("query", str(rules), text)
        bad = tmp_path / "inj.dl"
        bad.write_text(text + "\n")
        code2, _, err2 = run("check", str(bad))
    finally:
        os.chdir(cwd)
    assert code == 1 and code2 == 1
    assert query_error in err and file_error in err2
    assert not (tmp_path / "pwned").exists()


def test_query_over_scenario_with_saved_query() -> None:
    code, out, _ = run("query", str(SCENARIOS / "tier3-links.yaml"), str(REPO / "queries" / "denied.dlq"))
    assert code == 0
    assert "prc-grandparent" in out and "742.6(a)(6)(iii)(A)" in out and "(3 answers)" in out


def test_decide_json_contract() -> None:
    code, out, _ = run("decide", str(SCENARIOS / "lpp-accumulation.yaml"), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert {"scenario", "regime", "rulebook", "decisions"} <= set(doc)
    assert set(doc["rulebook"]) >= {"name", "version", "sha256"}
    first = doc["decisions"][0]
    assert list(first)[:10] == ["transaction", "as_of", "in_scope", "license_required", "exceptions",
                                "outcome", "review_policy", "citations", "ruled_out", "uncertainties"]
    assert first["exceptions"] == ["LPP"] and first["outcome"] == "permitted"


def test_decide_regime_and_as_of_options() -> None:
    code, out, _ = run("decide", str(SCENARIOS / "enforced-posture.yaml"), "--regime", "ifr",
                       "--as-of", "2024-12-31", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["regime"] == "ifr"
    assert {d["outcome"] for d in doc["decisions"]} == {"out_of_scope"}
    assert {d["as_of"] for d in doc["decisions"]} == {"2024-12-31"}


def test_decide_invalid_scenario_decides_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((SCENARIOS / "allocation.yaml").read_text().replace("located_in: MY", "located_in: MYS"))
    out_file = tmp_path / "out.json"
    code, out, err = run("decide", str(bad), "--format", "json", "-o", str(out_file))
    assert code == 1 and out == "" and not out_file.exists()
    assert "unknown country code 'MYS'" in err and "hint:" in err


def test_rules_list_and_graph(tmp_path: Path) -> None:
    code, out, _ = run("rules")
    assert code == 0 and "15 CFR 740.29(a)" in out
    code, out, _ = run("rules", "--graph", "--focus", "candidate", "--format", "graphml")
    g = nx.parse_graphml(out)
    assert code == 0 and "p:candidate" in g and "r:lpp" in g


def test_why_and_why_not() -> None:
    s = str(SCENARIOS / "lpp-accumulation.yaml")
    code, out, _ = run("why", s, 'exception("march", "LPP")')
    assert code == 0 and "15 CFR 740.29(a)" in out
    code, out, _ = run("why-not", s, 'exception("july", "LPP")')
    assert code == 0 and "28,998,400 <= 26,900,000" in out
    code, _, err = run("why", s, 'exception("july", "LPP")')
    assert code == 1 and "does not hold" in err and "why-not" in err


def test_explain_compact_keeps_the_legal_steps_and_the_blocking_condition() -> None:
    s = str(SCENARIOS / "lpp-accumulation.yaml")
    _, full, _ = run("explain", s, "july", "--level", "full")
    code, short, _ = run("explain", s, "july", "--compact")
    assert run("explain", s, "july", "--level", "steps")[1] == short
    assert code == 0 and len(short.splitlines()) < 0.7 * len(full.splitlines())
    assert "28,998,400 <= 26,900,000" in short  # why LPP fails
    review = next(line for line in full.splitlines() if "presumption of approval" in line)
    assert review in short.splitlines() and "[15 CFR 742.6(b)(10)(iii)(B)]" in review
    kinds = {}
    for flag in (("--level", "full"), ("--compact",)):
        code, out, _ = run("explain", s, "july", "--format", "json", *flag)
        kinds[flag] = [n["kind"] for n in json.loads(out)["nodes"]]
    full_kinds = kinds[("--level", "full")]
    assert len(kinds[("--compact",)]) < len(full_kinds)
    assert kinds[("--compact",)].count("assignment") < full_kinds.count("assignment")


@pytest.mark.parametrize("fmt", ["dot", "json", "graphml", "mermaid", "text"])
def test_explain_formats(fmt: str) -> None:
    code, out, _ = run("explain", str(SCENARIOS / "tier3-links.yaml"), "prc-grandparent",
                       "--format", fmt)
    assert code == 0 and out
    if fmt == "json":
        assert json.loads(out)["schema"] == "earlog-proof/1"
    if fmt == "text":  # the argument: LPP ruled out under 740.2(a)(9)(ii) on the parent's seat
        lpp = next(line for line in out.splitlines() if line.lstrip("✗ ").startswith("LPP"))
        assert "[15 CFR 740.2(a)(9)(ii)]" in lpp and "tier3-links.yaml:" in lpp
        _, full, _ = run("explain", str(SCENARIOS / "tier3-links.yaml"), "prc-grandparent",
                         "--format", fmt, "--level", "full")
        assert "Why LPP is not available" in full and len(full) > 3 * len(out)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
def test_explain_svg_and_png_file(tmp_path: Path) -> None:
    code, out, _ = run("explain", str(SCENARIOS / "tier3-links.yaml"), "macau", "--format", "svg")
    assert code == 0 and "<svg" in out
    code, _, err = run("explain", str(SCENARIOS / "tier3-links.yaml"), "macau", "--format", "png")
    assert code == 1 and "-o" in err
    png = tmp_path / "p.png"
    code, _, _ = run("explain", str(SCENARIOS / "tier3-links.yaml"), "macau", "--format", "png",
                     "-o", str(png))
    assert code == 0 and png.read_bytes()[:4] == b"\x89PNG"


def test_explain_unknown_transaction() -> None:
    code, _, err = run("explain", str(SCENARIOS / "tier3-links.yaml"), "nope")
    assert code == 1 and "no transaction 'nope'" in err and "macau" in err


def test_explain_without_a_transaction(tmp_path: Path) -> None:
    many = SCENARIOS / "lpp-accumulation.yaml"
    code, _, err = run("explain", str(many))
    assert code == 1 and "has 4 transactions" in err and "march, july, transfer" in err
    one = tmp_path / "one.yaml"
    text = many.read_text("utf-8")
    one.write_text(text[:text.index("  - {id: july")], "utf-8")
    code, out, _ = run("explain", str(one))
    assert code == 0 and out == run("explain", str(one), "march")[1] and "march" in out


def test_usage_error_exit_code() -> None:
    code, _, _ = run("decide", "--format", "xml", str(SCENARIOS / "allocation.yaml"))
    assert code == 2
