"""Every declared uncertainty is raised by a rule, rests on a public source and says what
would settle it."""

from __future__ import annotations

import doctest
import json
import re

import pytest
from click.testing import CliRunner

from reasoner.cli import cli as main
from reasoner.law import rulebook as rulebook_module
from reasoner.law.rulebook import REGIMES, load_rulebook, uncertainty_raisers
from reasoner.law.scenario import ccl

# Internal files a reader of the rulebook cannot look up. The texts cite the CFR as
# "15 CFR 740.27", so any section mark is a pointer into internal notes.
INTERNAL = re.compile(r"RULE_NOTES|SCENARIOS\.md|facts/reference|\.dl\b|§\s*\d", re.I)
# What a public source names: the CFR, the Federal Register, the CCL or a supplement.
PUBLIC = re.compile(r"\bCFR\b|\bFR\b|ECCN|Supp\. No\.|BIS")
# What settles an uncertainty: a fact the user states, or a public text or act of BIS.
SETTLER = re.compile(r"^State\b|\bCFR\b|\bFR\b|Federal Register|BIS|ECCN|Supp\. No\.|eCFR")


def _raised_anywhere() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for regime in REGIMES:
        for u, rules in uncertainty_raisers(load_rulebook(regime)).items():
            out.setdefault(u, set()).update(rules)
    return out


def test_every_declared_uncertainty_is_raised_by_a_rule() -> None:
    declared = set(load_rulebook("ifr").uncertainties)
    raised = _raised_anywhere()
    assert sorted(declared - set(raised)) == []
    # and no rule raises an id that is not declared (the loader checks @uncertain;
    # this covers the ids reference facts hand to tx_flag rules)
    assert sorted(set(raised) - declared) == []


@pytest.mark.parametrize("uid", sorted(load_rulebook("ifr").uncertainties))
def test_uncertainty_cites_a_public_source_and_what_settles_it(uid: str) -> None:
    book = load_rulebook("ifr")
    text, source, settle = book.uncertainties[uid], book.sources[uid], book.settles[uid]
    assert text and source and settle, f"{uid} needs a text, a source and a settle"
    for field, value in (("text", text), ("source", source), ("settle", settle)):
        assert not INTERNAL.search(value), f"{uid}: its {field} points to an internal file"
    assert PUBLIC.search(source), f"{uid}: {source!r} names no public text"
    # a fact to state ("State whether ...") or a public legal text or act that would decide
    assert SETTLER.search(settle), f"{uid}: {settle!r} names neither a fact nor a legal text"
    assert settle != text and settle != source


def test_both_regimes_carry_the_same_settles() -> None:
    ifr, enforced = load_rulebook("ifr"), load_rulebook("enforced")
    assert set(ifr.settles) == set(ifr.uncertainties) == set(ifr.sources)
    assert dict(enforced.settles) == dict(ifr.settles)


def test_internal_reference_pattern_catches_what_it_must() -> None:
    for bad in ("see RULE_NOTES 6.4", "per review.dl", "as in § 6.3 of the notes", "§15 G2",
                "facts/reference/eccns", "SCENARIOS.md"):
        assert INTERNAL.search(bad), bad
    for good in ("15 CFR 740.29(b)", "Supp. No. 10 to part 748, para 6", "90 FR 4544"):
        assert not INTERNAL.search(good), good


@pytest.mark.parametrize("uid,rule", [
    ("U-TIER1-HQ-D5", "tier1_hq_any_d5"),
    ("U-SUPP5B", "allocation_cap"),
    ("U-GROUPS-2026", "member_before_table"),
    ("U-ALLOC-CROSSING", "review_b2_crossing"),
    ("U-ACA-IFR-SCOPE", "aca_widening"),
    ("U-MAJORITY-OWNED", "maj_link_assumed"),
    ("U-744-23-D3", "review_744_23_d3_hq"),
    ("U-GROUPS-AE", "flag_group_membership"),
], ids=lambda v: str(v))
def test_named_rules_raise_the_issue_14_uncertainties(uid: str, rule: str) -> None:
    assert rule in _raised_anywhere()[uid]


def test_rules_uncertainties_command_lists_sources_and_rules() -> None:
    result = CliRunner().invoke(main, ["rules", "--uncertainties"])
    assert result.exit_code == 0, result.output
    assert "U-SUPP5B: " in result.output
    assert "  raised by: allocation_cap" in result.output
    assert "  source: 15 CFR 742.6(b)(10)(iii)(B)" in result.output
    assert "  settled by: The text of paragraph (b) of Supp. No. 5 to part 740" in result.output
    assert "RULE_NOTES" not in result.output
    as_json = CliRunner().invoke(main, ["rules", "--uncertainties", "--format", "json",
                                        "--regime", "enforced"])
    assert as_json.exit_code == 0, as_json.output
    entries = {e["id"]: e for e in json.loads(as_json.output)}
    assert entries["U-ENFORCED-REVIEW"]["rules"] == ["review_enforced_other"]
    assert entries["U-ALLOC-CROSSING"]["rules"] == []   # an 'ifr' rule only
    assert entries["U-MAJORITY-OWNED"]["settle"].startswith("State whether the end user's parent")
    bad = CliRunner().invoke(main, ["rules", "--uncertainties", "--graph"])
    assert bad.exit_code == 1 and "--uncertainties lists text or json" in bad.output


def test_doctests() -> None:
    for module in (ccl, rulebook_module):
        assert doctest.testmod(module).failed == 0
