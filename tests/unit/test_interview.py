"""`earlog interview`: which unstated facts could change a decision, asked best first."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from legal_cases import REPO, SHARED_EXAMPLES
from reasoner.cli import cli
from reasoner.law.decision import Decision, decide
from reasoner.law.rulebook import load_rulebook
from reasoner.law.scenario import load_scenario
from reasoner.tools.interview.analysis import analyse
from reasoner.tools.interview.draft import load_draft
from reasoner.tools.interview.questions import country_classes
from reasoner.tools.interview.session import Interview
from reasoner.tools.interview.variants import apply_plain, decide_variants
from reasoner.tools.whatif.search import candidate_changes

DATA = REPO / "tests" / "data" / "interview"
DRAFT = DATA / "acm-draft.yaml"


def _draft(path: Path = DRAFT):  # type: ignore[no-untyped-def]
    return load_draft(path.read_text(encoding="utf-8"), str(path))


def _run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.stdout, res.stderr


def _sans_citations(d: Decision) -> Decision:
    """Citations are read from first derivations: where a fact has two (a consignee
    headquartered in Macau with a PRC parent is "D:5 or Macau"-headquartered twice), which
    one comes first depends on the order of the facts, so a batch may cite the other one."""
    return dataclasses.replace(d, citations=())


@pytest.mark.parametrize("name,tx", [("b-items.yaml", "prc-sub-malaysia"),
                                     ("aia-tier1.yaml", "dc-germany"),
                                     ("lpp-accumulation.yaml", "july"),
                                     ("tier3-links.yaml", "prc-grandparent")])
def test_a_batch_decides_each_variant_as_deciding_it_alone(name: str, tx: str) -> None:
    scn = load_scenario(REPO / "facts" / "scenarios" / name)
    variants = [(c,) for c in candidate_changes(decide(scn), tx)]
    assert len(variants) > 20
    batch = decide_variants(scn, tx, variants)
    alone = [next(d for d in decide(apply_plain(scn, v)).decisions if d.transaction == tx)
             for v in variants]
    assert [_sans_citations(d) for d in batch] == [_sans_citations(d) for d in alone]
    assert len({d.outcome for d in alone}) > 1  # the variants do differ


def test_country_classes_partition_the_countries() -> None:
    classes = country_classes(load_rulebook("ifr"))
    flat = [c for cls in classes for c in cls]
    assert len(flat) == len(set(flat)) > 240
    of = {c: cls for cls in classes for c in cls}
    assert "FR" in of["DE"] and "IN" not in of["DE"]  # Tier 1 vs A:5-less Tier 2
    assert of["CN"] == ("CN",) and of["MO"] == ("MO",)  # named by rules
    assert "CN" not in of["VN"]


def test_the_first_question_is_the_one_that_decides_most() -> None:
    a = analyse(_draft(), "tx1")
    assert a.current is None and not a.settled
    assert [q.slot.name for q in a.questions] == ["tx1.end_use", "tx1.final_destination"]
    first, second = a.questions
    assert first.score > second.score
    assert first.decided == 3 and len(first.consequences) == 6
    leads = {c.choice.value: c.verdicts for c in first.consequences}
    assert leads["inference"] == ("license_required (presumption_of_approval)",)
    assert leads["development"] == ("license_required (presumption_of_approval)", "permitted")
    # fields the analysis tried that cannot change anything are not asked
    assert "vn_fab.weights_storage_compliant" not in {q.slot.name for q in a.questions}


def test_interview_shows_each_answer_and_writes_a_scenario_that_decides_the_same(
        tmp_path: Path) -> None:
    out = tmp_path / "complete.yaml"
    code, text, err = _run("interview", str(DRAFT), "--answers", str(DATA / "acm-answers.yaml"),
                           "-o", str(out))
    assert code == 0, text + err
    lines = text.splitlines()
    q1 = lines.index("Q1. The end use in tx1 is \u2026?  [tx1.end_use]")
    assert lines[q1 + 1].split("\u2192")[1].strip() == "license_required (presumption_of_approval)"
    assert lines[q1 + 1].split("\u2192")[0].split(", ")[0].strip() == "inference"
    assert "  answer: development" in lines
    assert lines[lines.index("  answer: development") + 1] == (
        "  \u2192 still open: license_required (presumption_of_approval) | permitted")
    assert any(ln.startswith("Q2. The items of tx1 finally go to a customer in") for ln in lines)
    assert lines[lines.index("  answer: DE") + 1] == "  \u2192 permitted"
    assert "settled after 2 question(s): tx1 is permitted under ACM" in text
    assert "Q3." not in text
    written = out.read_text(encoding="utf-8")
    assert "# the buyer" in written and "# 2,000 units: above the LPP cap" in written
    by_hand = decide(load_scenario(DATA / "acm-complete.yaml")).decisions[0]
    got = decide(load_scenario(out)).decisions[0]
    # the same decision; the facts that rule exceptions out name each file's own lines
    assert _lineless(got) == _lineless(by_hand) and got.exceptions == ("ACM",)
    assert [r.exception for r in got.ruled_out] == [r.exception for r in by_hand.ruled_out]


def _lineless(d: Decision) -> Decision:
    return dataclasses.replace(d, ruled_out=tuple(dataclasses.replace(x, facts=())
                                                  for x in d.ruled_out))


def test_no_question_when_the_outcome_is_settled(tmp_path: Path) -> None:
    if not SHARED_EXAMPLES.is_dir():
        pytest.skip("../shared/ear/examples not present")
    text = (SHARED_EXAMPLES / "e1-swedish-sub-of-prc-parent.yaml").read_text(encoding="utf-8")
    text = text.replace("cn_parent: {located_in: CN, headquartered_in: CN}",
                        "cn_parent: {located_in: CN, headquartered_in: CN, parent: null}")
    # under the OR test of Tier-1 headquarters a universal VEU would still be open to se_co
    text = text.replace("se_co: {located_in: SE, headquartered_in: SE, parent: cn_parent}",
                        "se_co: {located_in: SE, headquartered_in: SE, parent: cn_parent, "
                        "veu: null}")
    path = tmp_path / "e1.yaml"
    path.write_text(text, encoding="utf-8")
    a = analyse(_draft(path), "tx1")
    assert a.settled and a.questions == () and len(a.considered) >= 5
    code, out, _ = _run("interview", str(path))
    assert code == 0 and "Q1." not in out
    assert "settled after 0 question(s): tx1 is license_required" in out


def test_an_unstated_parent_is_asked_with_a_country_for_a_parent_not_in_the_scenario() -> None:
    if not SHARED_EXAMPLES.is_dir():
        pytest.skip("../shared/ear/examples not present")
    iv = Interview(_draft(SHARED_EXAMPLES / "e1-swedish-sub-of-prc-parent.yaml"))
    q = iv.next_question("tx1")
    # some answers settle the outcome; others (a parent that may itself have a parent, read
    # with the OR test of Tier-1 headquarters) leave it open
    assert q is not None and q.slot.name == "cn_parent.parent" and 0 < q.decided <= len(q.consequences)
    step = iv.answer("tx1", q, "DE")
    assert "cn_parent_parent: {located_in: DE, headquartered_in: DE}" in iv.draft.text
    assert not step.after.settled  # the new parent may have a parent of its own
    q2 = iv.next_question("tx1")
    assert q2 is not None and q2.slot.name == "cn_parent_parent.parent"
    step = iv.answer("tx1", q2, "none")
    assert step.after.settled and step.after.possible == ("permitted",)
    assert iv.next_question("tx1") is None


def test_not_known_leaves_the_outcome_open() -> None:
    iv = Interview(_draft())
    q = iv.next_question("tx1")
    assert q is not None
    iv.answer("tx1", q, "development")
    q2 = iv.next_question("tx1")
    assert q2 is not None and q2.slot.name == "tx1.final_destination"
    step = iv.answer("tx1", q2, "")
    assert step.answer is None and iv.next_question("tx1") is None
    assert not iv.analysis("tx1").settled


def test_a_bad_answer_is_an_error_with_a_hint(tmp_path: Path) -> None:
    answers = tmp_path / "a.yaml"
    answers.write_text("tx1.end_use: developing\n", encoding="utf-8")
    code, _, err = _run("interview", str(DRAFT), "--answers", str(answers))
    assert code == 1
    assert "error: 'developing' is not an answer for tx1.end_use" in err
    assert "did you mean 'development'?" in err


def test_answers_keep_the_documents_scalars_as_written() -> None:
    """ruamel's round trip: NO stays Norway, 26_900_000 and 3.0e26 stay numbers as written,
    `none` stays a designer status; a missing end_use is asked, not guessed."""
    text = (
        "scenario: rt\nentities:\n  nvidia_us: {located_in: US, headquartered_in: US}\n"
        "  no_co: {located_in: NO, headquartered_in: 'NO'}  # Norway\n"
        "items:\n  h100: {eccn: 3A090.a, tpp_per_unit: 26_900_000, designer: none}\n"
        "models:\n  m: {training_operations: 3.0e26, published: false, "
        "trained_on_ear_hardware: true}\n"
        "transactions:\n  - {id: t1, type: export, date: 2025-06-16, exporter: nvidia_us, "
        "from: US, to: NO, ultimate_consignee: no_co, item: h100, quantity: 1}\n")
    draft = load_draft(text, "rt.yaml")
    assert draft.missing == {("transactions", "t1", "end_use")}
    done = draft.with_value("transactions", "t1", "end_use", "inference")
    assert not done.missing
    assert done.text == text.replace("quantity: 1}", "quantity: 1, end_use: inference}")
    assert done.scenario.entities == draft.scenario.entities
    assert done.scenario.items == draft.scenario.items
    assert done.scenario.models == draft.scenario.models


def test_interactive_answers_re_ask_after_a_bad_answer() -> None:
    res = CliRunner().invoke(cli, ["interview", str(DRAFT), "tx1"],
                             input="developing\ndevelopment\nDE\n")
    assert res.exit_code == 0, res.output
    assert "error: 'developing' is not an answer for tx1.end_use" in res.stderr
    assert res.stdout.count("  answer: ") == 3  # asked again after the bad answer
    assert "settled after 2 question(s): tx1 is permitted under ACM" in res.stdout
