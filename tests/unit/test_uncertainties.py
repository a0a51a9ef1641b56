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


# What a Chinese text must keep exactly as the English has it: citations of the CFR and
# the Federal Register, bare section numbers, paragraph designators, ECCNs, Country Group
# codes, ISO dates, figures and the acronyms of exceptions and authorizations.
VERBATIM = re.compile(
    r"\b\d+ CFR (?:part )?\d+(?:\.\d+)?(?:\([0-9A-Za-z]+\))*"
    r"|\b\d+ FR \d+"
    r"|(?<![\w.])\d{3}\.\d+(?:\([0-9A-Za-z]+\))*"
    r"|(?<![\w)])(?:\((?:[a-z]|[ivx]+|\d+|[A-Z])\))+"
    r"|\b\d[A-E]\d{3}(?:\.[a-z0-9]+)*"
    r"|\b[A-E]:\d\b"
    r"|\b\d{4}-\d{2}-\d{2}\b"
    r"|\b\d{1,3}(?:,\d{3})+\b|\b\d+%"
    r"|\b(?:LPP|AIA|ACA|NAC|ACM|UVEU|NVEU|VEU|TPP|IFR|EAR|CCL|BIS|eCFR)\b")
# What a Chinese text says in its own words, and how: an English date as 2025年1月13日,
# a supplement as 补编5(a), a note of an ECCN as 注释2.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
RENDERED = (
    (re.compile(r"\b(" + "|".join(_MONTHS) + r")[a-z]*\.? (\d{1,2}), (\d{4})"),
     lambda m: f"{m[3]}年{_MONTHS.index(m[1]) + 1}月{int(m[2])}日"),
    (re.compile(r"\b(" + "|".join(_MONTHS) + r")[a-z]*\.? (\d{4})"),
     lambda m: f"{m[2]}年{_MONTHS.index(m[1]) + 1}月"),
    (re.compile(r"Supp\. No\. (\d+(?:\([a-z]\))?)"), lambda m: f"补编{m[1]}"),
    (re.compile(r"\bNote (\d)"), lambda m: f"注释{m[1]}"),
)
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("uid", sorted(load_rulebook("ifr").uncertainties))
def test_uncertainty_is_said_in_chinese_keeping_its_citations(uid: str) -> None:
    book = load_rulebook("ifr")
    for en, zh in ((book.uncertainties[uid], book.uncertainties_zh.get(uid, "")),
                   (book.settles[uid], book.settles_zh.get(uid, ""))):
        assert zh and CJK.search(zh), f"{uid}: no Chinese for {en!r}"
        assert not re.search(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", zh), zh
        assert '"' not in zh, f"{uid}: Chinese quotes “…” in {zh!r}"
        missing = [t for t in VERBATIM.findall(en) if t not in zh]
        missing += [f(m) for pattern, f in RENDERED for m in pattern.finditer(en)
                    if f(m) not in zh and m[0] not in zh]
        assert missing == [], f"{uid}: {missing} not in {zh!r}"


def test_verbatim_pattern_finds_what_it_must() -> None:
    text = ("15 CFR 742.6(b)(10)(iii)(A)(2) and 740.2(a)(9)(ii), under (d)(1), 90 FR 4544, "
            "ECCN 4E091 and 5A002.z.1.a, D:5, 2026-07-23, 790,000,000 TPP, 75%, AIA, paragraph (b)")
    assert VERBATIM.findall(text) == [
        "15 CFR 742.6(b)(10)(iii)(A)(2)", "740.2(a)(9)(ii)", "(d)(1)", "90 FR 4544", "4E091",
        "5A002.z.1.a", "D:5", "2026-07-23", "790,000,000", "TPP", "75%", "AIA", "(b)"]
    date, month = RENDERED[0][0].search("before Jan. 15, 2026"), RENDERED[1][0].search("in January 2025")
    assert date and RENDERED[0][1](date) == "2026年1月15日"
    assert month and RENDERED[1][1](month) == "2025年1月"


def test_both_regimes_carry_the_same_settles() -> None:
    ifr, enforced = load_rulebook("ifr"), load_rulebook("enforced")
    assert set(ifr.settles) == set(ifr.uncertainties) == set(ifr.sources)
    assert set(ifr.uncertainties_zh) == set(ifr.settles_zh) == set(ifr.uncertainties)
    assert dict(enforced.settles) == dict(ifr.settles)
    assert dict(enforced.settles_zh) == dict(ifr.settles_zh)
    assert dict(enforced.uncertainties_zh) == dict(ifr.uncertainties_zh)


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


def test_rules_uncertainties_command_in_chinese() -> None:
    book = load_rulebook("ifr")
    result = CliRunner().invoke(main, ["rules", "--uncertainties", "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert f"U-SUPP5B: {book.uncertainties_zh['U-SUPP5B']}\n" in result.output
    assert f"  settled by: {book.settles_zh['U-SUPP5B']}\n" in result.output
    assert "  source: 15 CFR 742.6(b)(10)(iii)(B)" in result.output   # the public text's own words
    assert book.uncertainties["U-SUPP5B"] not in result.output
    as_json = CliRunner().invoke(main, ["rules", "--uncertainties", "--format", "json",
                                        "--lang", "zh"])
    entries = {e["id"]: e for e in json.loads(as_json.output)}
    assert entries["U-HK"]["text"] == book.uncertainties_zh["U-HK"]
    assert entries["U-HK"]["settle"] == book.settles_zh["U-HK"]


def test_doctests() -> None:
    for module in (ccl, rulebook_module):
        assert doctest.testmod(module).failed == 0
