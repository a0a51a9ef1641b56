"""The Python API (reasoner.api, re-exported as `import reasoner as earlog`)."""

from __future__ import annotations

from dataclasses import replace

import json

import reasoner as earlog
from legal_cases import REPO
from reasoner.law.decision import Decision, ScenarioDecisions, decide, decision_json
from reasoner.law.scenario import load_scenario
from reasoner.tools.whatif.search import WhatIfResult

AIA = REPO / "facts" / "scenarios" / "aia-tier1.yaml"
ORDER = {
    "scenario": "sg-order",
    "entities": {"nvidia_us": {"located_in": "US", "headquartered_in": "US"},
                 "sg_cloud": {"located_in": "SG", "headquartered_in": "SG"}},
    "items": {"h100": {"eccn": "3A090.a", "tpp_per_unit": 15832, "datacenter": True,
                       "designer": "approved"}},
    "transactions": [{"id": "tx1", "type": "export", "date": "2025-06-16",
                      "exporter": "nvidia_us", "from": "US", "to": "SG",
                      "ultimate_consignee": "sg_cloud", "item": "h100", "quantity": 1000,
                      "end_use": "inference"}],
}


def _lineless(d: Decision) -> Decision:
    return replace(d, ruled_out=tuple(replace(x, facts=()) for x in d.ruled_out))


def test_decide_keeps_the_old_signature_and_accepts_paths_dicts_and_text() -> None:
    scn = load_scenario(AIA)
    old = decide(scn, regime="enforced")
    new = earlog.decide(scn, regime="enforced")
    assert isinstance(new, ScenarioDecisions) and new.decisions == old.decisions
    assert earlog.decide(str(AIA)).decisions == decide(scn).decisions
    # from text, the facts that rule an exception out name the text, not the file
    from_text = earlog.decide(AIA.read_text(encoding="utf-8")).decisions
    assert [_lineless(d) for d in from_text] == [_lineless(d) for d in decide(scn).decisions]
    from_dict = earlog.decide(ORDER)
    assert from_dict["tx1"].exceptions == ("LPP",)
    assert from_dict.to_dict() == decision_json(from_dict)


def test_decisions_display_as_a_table() -> None:
    r = earlog.decide(AIA)
    html = r._repr_html_()
    assert html.count("<tr>") == len(r.decisions) + 1 and "dc-germany" in html
    md = r._repr_markdown_()
    assert "| transaction | outcome |" in md and "| dc-germany | permitted |" in md


def test_explain_shows_the_argument_and_an_inline_svg() -> None:
    x = earlog.explain(ORDER, "tx1")
    assert x.decision.outcome == "permitted"
    html = x._repr_html_()
    assert html.startswith("<pre") and "<svg" in html and "<?xml" not in html
    assert "Outcome: permitted" in x._repr_markdown_()
    d = x.to_dict()
    assert d["decision"]["exceptions"] == ["LPP"] and d["proof"]["schema"] == "earlog-proof/1"
    json.dumps(d)


def test_what_if_set_and_search() -> None:
    w = earlog.what_if(ORDER, "tx1", set={"sg_cloud.headquartered_in": "CN"})
    assert w.to_dict()["after"]["review_policy"] == "presumption_of_denial"
    assert "<svg" in w._repr_html_()
    found = earlog.what_if(ORDER, "tx1", max_changes=1, max_candidates=40)
    assert isinstance(found, WhatIfResult) and found.flips
    assert found.to_dict()["flips"][0]["decision"]["outcome"] != "permitted"


def test_interview_with_answers() -> None:
    draft = REPO / "tests" / "data" / "interview" / "acm-draft.yaml"
    done = earlog.interview(draft, answers={"tx1.end_use": "development",
                                            "tx1.final_destination": "DE"})
    assert done.settled == {"tx1": True} and done.questions == ()
    assert done.decisions[0].exceptions == ("ACM",)
    assert "# the buyer" in done.scenario_yaml
    half = earlog.interview(draft, answers={"tx1.end_use": "development"})
    assert [q["field"] for q in half.to_dict()["questions"]] == ["tx1.final_destination"]
    assert "Questions that would change this answer" in half._repr_html_()
    assert half.steps[0]["answer"] == "development"
    assert half.decisions[0].missing == ("final_destination",)  # decidable, not settled
