"""The trainer's rule map: element groups, collapsed dependency paths, precedence, size."""

from __future__ import annotations

import json
import re
import shutil
import struct
import time

import pytest
from click.testing import CliRunner

from reasoner.cli import cli
from reasoner.lang.checks import check
from reasoner.lang.syntax import parse_program
from reasoner.law.decision import EXCEPTION_CODES
from reasoner.law.rulebook import load_rulebook
from reasoner.proof.rulemap import element_map, element_map_dot, element_map_json, element_map_mermaid

# Datalog syntax a reader of the map must never see: atoms with variables, rule arrows,
# predicate names, source locations.
DATALOG = re.compile(r"\w\((?:[A-Z_]|\"\w)|:-|\b[a-z]+_[a-z0-9_]+\b|\.dl\b|\.dl:\d+")
A1 = "e:policy:15 CFR 742.6(b)(10)(iii)(A)(1)"
A2 = "e:policy:15 CFR 742.6(b)(10)(iii)(A)(2)"
B = "e:policy:15 CFR 742.6(b)(10)(iii)(B)"


def _labels(dot: str) -> list[str]:
    return [m.replace("\\n", " ") for m in re.findall(r'label="((?:[^"\\]|\\.)*)"', dot)]


@pytest.mark.parametrize("regime", ["ifr", "enforced"])
def test_the_map_is_small_and_speaks_plain_words(regime: str) -> None:
    g = element_map(load_rulebook(regime).checked)
    assert 15 <= g.number_of_nodes() <= 40
    for lang in ("en", "zh"):
        labels = _labels(element_map_dot(g, lang))
        assert len(labels) >= g.number_of_nodes()
        bad = [t for t in labels if DATALOG.search(t)]
        assert not bad, bad
        text = " ".join(labels)
        missing = [c for c in EXCEPTION_CODES if not re.search(rf"\b{c}\b", text)]
        assert not missing, missing
    assert "需要许可证" in element_map_dot(g, "zh")


def test_edges_summarise_the_paths_through_helper_rules() -> None:
    g = element_map(load_rulebook("ifr").checked)
    kinds = {(u, v): d["kind"] for u, v, d in g.edges(data=True)}
    # in_scope feeds every license-requirement paragraph; a requirement reaches LPP
    # through the helper needs_license, which is not drawn.
    assert kinds[("e:scope:in_scope", "e:requirement:license_required/742.6(a)(13)")] == "positive"
    assert kinds[("e:requirement:license_required/742.6(a)(6)(iii)(A)", "e:exception:LPP")] == "positive"
    assert not any(n.startswith("e:") is False for n in g)
    # bars take their own exception away, never another code's
    assert kinds[("e:bar:AIA", "e:exception:AIA")] == "takes_away"
    assert kinds[("e:bar:LPP", "e:exception:LPP")] == "takes_away"
    assert ("e:bar:LPP", "e:exception:AIA") not in kinds
    assert all(kinds[("e:bar:*", f"e:exception:{c}")] == "takes_away" for c in EXCEPTION_CODES)
    assert kinds[("e:exception:AIA", "e:obligation:AIA")] == "positive"
    # transitive reduction: scope reaches the exceptions only through the requirement
    assert ("e:scope:in_scope", "e:exception:LPP") not in kinds


def test_policy_precedence_edges() -> None:
    g = element_map(load_rulebook("ifr").checked)
    kinds = {(u, v): d["kind"] for u, v, d in g.edges(data=True)}
    assert kinds[(A1, A2)] == kinds[(A1, B)] == kinds[(A2, B)] == "precedence"
    assert (A2, A1) not in kinds and (B, A1) not in kinds
    # 744.23(d)(2) and (d)(3)(i) each negate a premise of the other
    assert kinds[("e:policy:15 CFR 744.23(d)(2)", "e:policy:15 CFR 744.23(d)(3)(i)")] == "exclusive"
    dot = element_map_dot(g)
    assert 'label="prevails over"' in dot and "优先于" in element_map_dot(g, "zh")


def test_a_small_program_collapses_helpers_and_marks_negation() -> None:
    text = """
input fact(X).
@id(s) @element(scope) @cite("S 1") @en("s") @zh("s") in_scope(X) :- fact(X).
@id(h) @cite("H 1") @en("h") @zh("h") helper(X) :- in_scope(X).
@id(h2) @cite("H 2") @en("h2") @zh("h2") helper2(X) :- helper(X).
@id(r) @element(requirement) @cite("R 1") @en("r") @zh("r") license_required(X, "p") :- helper2(X).
@id(bl) @cite("B 1") @en("b") @zh("b") blocked(X) :- in_scope(X), fact(X).
@id(p1) @element(policy) @cite("P 1") @en("p1") @zh("p1") review(X, "presumption_of_denial") :- license_required(X, _), blocked(X).
@id(p2) @element(policy) @cite("P 2") @en("p2") @zh("p2") review(X, "presumption_of_approval") :- license_required(X, _), not blocked(X).
"""
    g = element_map(check(parse_program(text)))
    assert sorted(g) == ["e:policy:P 1", "e:policy:P 2", "e:requirement:license_required/p",
                         "e:scope:in_scope"]
    kinds = {(u, v): d["kind"] for u, v, d in g.edges(data=True)}
    assert kinds[("e:scope:in_scope", "e:requirement:license_required/p")] == "positive"
    assert kinds[("e:requirement:license_required/p", "e:policy:P 1")] == "positive"
    assert kinds[("e:policy:P 1", "e:policy:P 2")] == "precedence"
    # in_scope reaches P 2 only through "not blocked", and also through the requirement:
    # the transitive reduction keeps only the requirement's edge
    assert ("e:scope:in_scope", "e:policy:P 2") not in kinds
    assert g.nodes["e:policy:P 2"]["title_en"] == "presumption of approval"
    data = json.loads(element_map_json(g))
    assert data["schema"] == "earlog-rulemap/1" and len(data["nodes"]) == 4
    assert "==>" in element_map_mermaid(g)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
@pytest.mark.parametrize("regime", ["ifr", "enforced"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_png_fits_a_screen_and_renders_quickly(regime: str, lang: str) -> None:
    from reasoner.render import to_image

    g = element_map(load_rulebook(regime).checked)
    start = time.perf_counter()
    png = to_image(element_map_dot(g, lang), "png")
    elapsed = time.perf_counter() - start
    width, height = _png_size(png)
    assert width <= 2000 and height <= 2000, (width, height)
    assert 0.5 <= width / height <= 2.0
    assert elapsed < 5.0


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_levels() -> None:
    code, out, _ = _run("rules", "--graph", "--format", "json")
    assert code == 0 and json.loads(out)["schema"] == "earlog-rulemap/1"
    assert len(json.loads(out)["nodes"]) <= 40
    code, out, _ = _run("rules", "--graph", "--level", "full", "--format", "json")
    full = json.loads(out)
    assert code == 0 and full["schema"] == "earlog-rules/1"
    assert len(full["nodes"]) > 200 and any(n["id"] == "r:lpp" for n in full["nodes"])
    code, out, _ = _run("rules", "--graph", "--focus", "candidate", "--format", "json")
    assert code == 0 and json.loads(out)["schema"] == "earlog-rules/1"
    code, _, err = _run("rules", "--graph", "--level", "element", "--focus", "review")
    assert code == 1 and "--level full" in err
    code, out, _ = _run("rules", "--graph", "--lang", "zh")
    assert code == 0 and out.startswith("digraph rulemap") and "审查政策" in out
    code, _, err = _run("rules", "--level", "full")
    assert code == 1 and "--graph" in err
