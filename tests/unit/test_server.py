"""The explorer's JSON API over HTTP, without a browser: decide, field errors, proofs, highlights, rules, limits."""

from __future__ import annotations

import copy
import http.client
import json
import shutil
import threading
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from reasoner.cli import cli
from reasoner.web.explorer import MEMO_FORMATS, MEMO_UNAVAILABLE, Explorer
from reasoner.web.formdata import FORM_FILE, document_yaml, scenario_document
from reasoner.law.scenario import parse_scenario
from reasoner.web.server import ExplorerServer, make_server

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz 'dot'")

SCENARIO = """\
scenario: e1-sweden
regime: ifr
entities:
  nvidia_us: {located_in: US, headquartered_in: US}
  se_parent: {located_in: SE, headquartered_in: SE}
  cn_group: {name: PRC group, located_in: CN, headquartered_in: CN}
  se_dc: {name: Swedish data center, located_in: SE, headquartered_in: SE, parent: se_parent}
items:
  h100: {eccn: 3A090.a, tpp_per_unit: 15832, datacenter: true, designer: approved}
transactions:
  - {id: tx1, type: export, date: 2025-06-16, exporter: nvidia_us, from: US, to: SE,
     ultimate_consignee: se_dc, item: h100, quantity: 1000, end_use: inference}
"""
SE_DC = 3
MAX_BODY = 64 * 1024


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return scenario_document(parse_scenario(SCENARIO, "e1.yaml"))


@pytest.fixture(scope="module")
def server(document: dict[str, Any]) -> Iterator[ExplorerServer]:
    srv = make_server(Explorer(document, "e1.yaml"), "127.0.0.1", 0, max_body=MAX_BODY)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=10)


def request(srv: ExplorerServer, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def get_json(srv: ExplorerServer, path: str) -> tuple[int, Any]:
    status, _, body = request(srv, "GET", path)
    return status, json.loads(body)


def decide(srv: ExplorerServer, payload: dict[str, Any]) -> tuple[int, Any]:
    status, _, body = request(srv, "POST", "/api/decide", json.dumps(payload).encode(),
                              {"Content-Type": "application/json"})
    return status, json.loads(body)


def with_parent(document: dict[str, Any], parent: str) -> dict[str, Any]:
    doc = copy.deepcopy(document)
    doc["entities"][SE_DC]["parent"] = parent
    return doc


@pytest.fixture(scope="module")
def flipped(server: ExplorerServer, document: dict[str, Any]) -> tuple[Any, Any]:
    """The Swedish parent, then the PRC parent compared with it (the derivation view)."""
    status, before = decide(server, {"document": document, "level": "proof"})
    assert status == 200
    previous = {"state": before["state"], "transaction": "tx1", "nodes": before["proof"]["nodes"]}
    status, after = decide(server, {"document": with_parent(document, "cn_group"),
                                    "previous": previous, "level": "proof"})
    assert status == 200
    return before, after


# ---- page ----------------------------------------------------------------------------


def test_page_and_static_files(server: ExplorerServer) -> None:
    status, headers, body = request(server, "GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"<title>earlog" in body
    assert "script-src 'self'" in headers["content-security-policy"]
    for name in ("explorer.js", "explorer.css"):
        assert request(server, "GET", f"/static/{name}")[0] == 200
    assert request(server, "GET", "/static/../server.py")[0] == 404
    assert request(server, "GET", "/nowhere")[0] == 404


def test_init_offers_choices_and_says_whether_memos_exist(server: ExplorerServer) -> None:
    status, init = get_json(server, "/api/init")
    assert status == 200
    assert init["document"]["entities"][SE_DC]["parent"] == "se_parent"
    codes = {c["code"]: c["name"] for c in init["choices"]["countries"]}
    assert codes["SE"] == "Sweden" and "CN" in codes and "XK" in codes
    assert {"3A090.a", "4A090.a"} <= set(init["choices"]["eccns"])
    assert init["choices"]["end_uses"][0] == "inference"
    assert init["memo"] == {"formats": list(MEMO_FORMATS), "reason": MEMO_UNAVAILABLE}


def test_only_local_hosts_are_answered(server: ExplorerServer) -> None:
    status, _, body = request(server, "GET", "/api/init", headers={"Host": "attacker.example"})
    assert status == 403 and b"only local requests" in body
    assert request(server, "GET", "/api/init", headers={"Host": "localhost:1"})[0] == 200


# ---- deciding --------------------------------------------------------------------------


def test_decide_returns_the_contract_and_a_proof(server: ExplorerServer,
                                                 flipped: tuple[Any, Any]) -> None:
    before, _ = flipped
    d = before["decisions"][0]
    assert (d["transaction"], d["outcome"], d["exceptions"]) == ("tx1", "permitted", ["AIA", "LPP"])
    assert before["transaction"] == "tx1" and before["regime"] == "ifr"
    proof = before["proof"]
    assert "<svg" in proof["svg"] and proof["highlight"] == {} and proof["method"] is None
    assert all(len(n) == 16 for n in proof["nodes"])


def test_prc_parent_flips_the_decision_and_highlights_new_steps(flipped: tuple[Any, Any]) -> None:
    before, after = flipped
    d = after["decisions"][0]
    assert (d["outcome"], d["license_required"], d["review_policy"]) == (
        "license_required", True, "presumption_of_denial")
    proof = after["proof"]
    assert proof["method"] == "proofdiff" and proof["compared_with"] == before["state"]
    new = set(proof["highlight"])
    assert new and new <= set(proof["nodes"])
    assert new == set(proof["nodes"]) - set(before["proof"]["nodes"])
    assert set(proof["highlight"].values()) <= {"appeared", "changed"}
    assert proof["svg"].count("earlog&#45;new") == len(new)
    labels = [s["label_en"] for s in proof["steps"] if s["status"] == "appeared"]
    assert any("D:5" in label for label in labels)
    fields = {c["field"]: c for c in proof["changes"]}
    assert fields["outcome"] == {"field": "outcome", "before": "permitted",
                                 "after": "license_required"}


def test_the_argument_highlights_new_statements_and_lists_changed_fields(
        server: ExplorerServer, document: dict[str, Any]) -> None:
    _, before = decide(server, {"document": document})
    previous = {"state": before["state"], "transaction": "tx1", "nodes": before["proof"]["nodes"]}
    _, after = decide(server, {"document": with_parent(document, "cn_group"), "previous": previous})
    proof = after["proof"]
    assert proof["level"] == "argument" and proof["method"] == "statements"
    assert set(proof["highlight"]) == set(proof["nodes"]) - set(before["proof"]["nodes"])
    assert any("D:5" in s["label_en"] for s in proof["steps"])
    assert {c["field"] for c in proof["changes"]} >= {"outcome", "review_policy"}


def test_highlight_falls_back_to_node_ids(server: ExplorerServer, document: dict[str, Any],
                                          flipped: tuple[Any, Any]) -> None:
    before, after = flipped
    previous = {"state": "not-cached", "transaction": "tx1", "nodes": before["proof"]["nodes"]}
    status, again = decide(server, {"document": with_parent(document, "cn_group"),
                                    "previous": previous, "level": "proof"})
    assert status == 200 and again["state"] == after["state"]
    assert again["proof"]["method"] == "node-ids"
    assert set(again["proof"]["highlight"]) == set(after["proof"]["highlight"])


def test_other_transaction_or_same_state_highlights_nothing(server: ExplorerServer,
                                                             flipped: tuple[Any, Any],
                                                             document: dict[str, Any]) -> None:
    _, after = flipped
    doc = with_parent(document, "cn_group")
    for previous in ({"state": after["state"], "transaction": "tx1", "nodes": []},
                     {"state": after["state"], "transaction": "other", "nodes": []}):
        status, again = decide(server, {"document": doc, "previous": previous})
        assert status == 200 and again["proof"]["highlight"] == {}


def test_whynots_widen_the_proof(server: ExplorerServer, document: dict[str, Any]) -> None:
    _, plain = decide(server, {"document": document, "level": "proof"})
    _, wide = decide(server, {"document": document, "whynots": True})
    assert set(plain["proof"]["nodes"]) < set(wide["proof"]["nodes"])
    _, argued = decide(server, {"document": document})  # the argument, by default
    assert argued["proof"]["level"] == "argument" and len(argued["proof"]["nodes"]) <= 25
    assert decide(server, {"document": document, "level": "nope"})[0] == 400


@pytest.mark.parametrize("edit, path, words", [
    (lambda d: d["transactions"][0].update(quantity="lots"),
     ["transactions", 0, "quantity"], "whole number"),
    (lambda d: d["entities"][1].update(located_in="XX"),
     ["entities", 1, "located_in"], "unknown country code 'XX'"),
    (lambda d: d["entities"][SE_DC].update(parent="nobody"),
     ["entities", SE_DC, "parent"], "unknown entity 'nobody'"),
    (lambda d: d["entities"][SE_DC].update(headquartered_in=None),
     ["entities", SE_DC, "headquartered_in"], "missing required key"),
    (lambda d: d["transactions"][0].update(date="2025-02-30"),
     ["transactions", 0, "date"], "date"),
    (lambda d: d["transactions"][0].update(end_use="cooking"),
     ["transactions", 0, "end_use"], "cooking"),
    (lambda d: d["entities"][0].update(colour="blue"),
     ["entities", 0, "colour"], "colour"),
], ids=["quantity", "country", "dangling-parent", "missing-key", "bad-date", "end-use",
        "unknown-key"])
def test_validation_errors_name_their_field(server: ExplorerServer, document: dict[str, Any],
                                            edit: Any, path: list[Any], words: str) -> None:
    doc = copy.deepcopy(document)
    edit(doc)
    status, body = decide(server, {"document": doc})
    assert status == 422 and body["ok"] is False
    assert any(e["path"] == path and words in e["message"] for e in body["errors"]), body["errors"]


def test_text_is_data_never_yaml_or_code(server: ExplorerServer, document: dict[str, Any]) -> None:
    doc = copy.deepcopy(document)
    sneaky = 'x"\n"transactions": []\n!!python/object:os.system {}: \u2028 # {{'
    doc["description"] = sneaky
    doc["entities"][SE_DC]["name"] = "!!python/object/apply:os.system ['true']"
    status, body = decide(server, {"document": doc})
    assert status == 200 and body["decisions"][0]["outcome"] == "permitted"
    text, _ = document_yaml(doc)
    assert parse_scenario(text, FORM_FILE).description == sneaky


def test_malformed_requests(server: ExplorerServer) -> None:
    post = lambda body, ctype="application/json": request(  # noqa: E731
        server, "POST", "/api/decide", body, {"Content-Type": ctype})
    assert post(b"{}", "text/plain")[0] == 415
    assert post(b"{not json")[0] == 400
    assert post(b"[1, 2]")[0] == 400
    assert post(b'{"document": 3}')[0] == 400
    assert post(b'{"document": {}, "lang": "fr"}')[0] == 400
    assert post(b"[" * 30_000 + b"]" * 30_000)[0] == 400  # too deep for json, under the limit
    assert post(b"[" * 100_000 + b"]" * 100_000)[0] == 413


def test_body_size_limit(server: ExplorerServer, document: dict[str, Any]) -> None:
    doc = copy.deepcopy(document)
    doc["description"] = "x" * MAX_BODY
    status, _, body = request(server, "POST", "/api/decide", json.dumps({"document": doc}).encode(),
                              {"Content-Type": "application/json"})
    assert status == 413 and b"over the limit" in body
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
    try:  # the limit is read from Content-Length: the body is never read
        conn.putrequest("POST", "/api/decide")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(10 * MAX_BODY))
        conn.endheaders()
        assert conn.getresponse().status == 413
    finally:
        conn.close()


# ---- downloads -------------------------------------------------------------------------


def test_proof_downloads(server: ExplorerServer, flipped: tuple[Any, Any]) -> None:
    _, after = flipped
    q = f"state={after['state']}&tx=tx1"
    status, headers, svg = request(server, "GET", f"/api/proof?{q}&format=svg&download=1")
    assert status == 200 and headers["content-type"] == "image/svg+xml" and b"<svg" in svg
    assert headers["content-disposition"].startswith("attachment;")
    status, _, doc = request(server, "GET", f"/api/proof?{q}&format=json&level=proof")
    proof = json.loads(doc)
    assert proof["schema"] == "earlog-proof/1"
    assert {n["id"] for n in proof["nodes"]} == set(after["proof"]["nodes"])
    assert proof["receipt"]["command"].startswith("earlog why explorer.yaml")
    status, _, doc = request(server, "GET", f"/api/proof?{q}&format=json")  # the argument
    argued = json.loads(doc)
    assert argued["question"] == "argument" and len(argued["nodes"]) <= 25
    assert argued["receipt"]["command"].startswith("earlog explain explorer.yaml tx1")
    status, _, dot = request(server, "GET", f"/api/proof?{q}&format=dot&lang=zh")
    assert status == 200 and dot.startswith(b"digraph")
    status, _, graphml = request(server, "GET", f"/api/proof?{q}&format=graphml")
    assert status == 200 and b"<graphml" in graphml
    assert request(server, "GET", f"/api/proof?{q}&format=gif")[0] == 400
    assert request(server, "GET", f"/api/proof?state={after['state']}&tx=nope")[0] == 404
    assert request(server, "GET", "/api/proof?state=gone&tx=tx1")[0] == 404


def test_scenario_yaml_download_reproduces_the_decision(server: ExplorerServer,
                                                        flipped: tuple[Any, Any]) -> None:
    _, after = flipped
    status, headers, text = request(server, "GET", f"/api/scenario.yaml?state={after['state']}")
    assert status == 200 and FORM_FILE in headers["content-disposition"]
    scn = parse_scenario(text, FORM_FILE)
    assert scn.entity("se_dc").parent == "cn_group"


def test_memo_download(server: ExplorerServer, flipped: tuple[Any, Any]) -> None:
    _, after = flipped
    q = f"state={after['state']}&tx=tx1"
    if not MEMO_FORMATS:
        status, _, body = request(server, "GET", f"/api/memo?{q}&format=md")
        assert status == 400 and MEMO_UNAVAILABLE.split(" (")[0].encode() in body
        return
    status, headers, md = request(server, "GET", f"/api/memo?{q}&format=md")
    assert status == 200 and headers["content-type"].startswith("text/markdown")
    assert b"tx1" in md and b"742.6(b)(10)(iii)(A)(1)" in md
    if "docx" in MEMO_FORMATS:
        status, _, docx = request(server, "GET", f"/api/memo?{q}&format=docx")
        assert status == 200 and docx[:2] == b"PK"


# ---- rule interplay --------------------------------------------------------------------


def test_rule_graph_marks_rules_fired_for_the_transaction(server: ExplorerServer,
                                                          flipped: tuple[Any, Any]) -> None:
    before, after = flipped
    status, view = get_json(server, f"/api/rules?focus=d5_hq&depth=1&state={after['state']}&tx=tx1")
    assert status == 200 and "<svg" in view["svg"] and "r:d5_hq" in view["fired"]
    assert "earlog&#45;fired" in view["svg"] and "d5_hq" in view["predicates"]
    status, view = get_json(server, f"/api/rules?focus=d5_hq&depth=1&state={before['state']}&tx=tx1")
    assert "r:d5_hq" not in view["fired"]
    status, view = get_json(server, "/api/rules?focus=review&depth=0")
    assert status == 200 and view["rules"] > 10 and view["fired"] == []


def test_rule_map_is_the_default_view(server: ExplorerServer, flipped: tuple[Any, Any]) -> None:
    before, after = flipped
    a1 = "e:policy:15 CFR 742.6(b)(10)(iii)(A)(1)"
    status, view = get_json(server, f"/api/rules?state={after['state']}&tx=tx1")
    assert status == 200 and view["level"] == "element" and view["focus"] == ""
    assert a1 in view["fired"] and "review_a1" in view["groups"][a1]["rules"]
    assert view["groups"][a1]["title"] == "presumption of denial"
    assert len(view["groups"]) <= 40 and "earlog&#45;fired" in view["svg"]
    status, view = get_json(server, f"/api/rules?state={before['state']}&tx=tx1")
    assert a1 not in view["fired"] and "e:scope:in_scope" in view["fired"]
    status, view = get_json(server, "/api/rules?lang=zh")
    assert status == 200 and "审查政策" in view["svg"] and view["fired"] == []


def test_rule_details(server: ExplorerServer, flipped: tuple[Any, Any]) -> None:
    before, after = flipped
    status, rule = get_json(server, f"/api/rule?id=r:d5_hq&state={after['state']}")
    assert status == 200
    assert rule["cite"] == "15 CFR 742.6(b)(10)(iii)(A)(1)"
    assert rule["label_en"] and rule["label_zh"] and rule["fired_in"] == ["tx1"]
    assert {"predicate": "cons_hq", "polarity": "positive"} in rule["uses"]
    assert get_json(server, f"/api/rule?id=d5_hq&state={before['state']}")[1]["fired_in"] == []


def test_unknown_focus_and_rule(server: ExplorerServer) -> None:
    status, body = get_json(server, "/api/rules?focus=d5hq")
    assert status == 404 and "d5_hq" in body["hint"]
    assert get_json(server, "/api/rule?id=nope")[0] == 404
    assert get_json(server, "/api/rules?focus=review&depth=x")[0] == 400


# ---- command line ----------------------------------------------------------------------


def test_serve_help_and_invalid_scenario(tmp_path: Any) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0 and "--port" in result.output and "Ctrl-C" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.replace("to: SE", "to: XX"), encoding="utf-8")
    result = runner.invoke(cli, ["serve", str(bad), "--port", "0"])
    assert result.exit_code == 1
    assert f"{bad}:11:" in result.output and "unknown country code 'XX'" in result.output


def test_starting_points_validate() -> None:
    from reasoner.web.formdata import empty_document

    status, body = Explorer(empty_document()).decide({"document": empty_document()})
    assert status == 200 and body["decisions"][0]["outcome"] == "permitted"
    bundled = Explorer.from_path(None)
    assert bundled.source.endswith("aia-tier1.yaml")
    assert [t["id"] for t in bundled.document["transactions"]][0] == "dc-germany"


def test_questions_that_would_change_the_answer(server: ExplorerServer,
                                                document: dict[str, Any]) -> None:
    """The panel's API: se_dc's parent chain ends at se_parent, which states no parent;
    a parent headquartered in D:5 would flip the decision, so that question is asked."""
    status, _, body = request(server, "POST", "/api/decide",
                              json.dumps({"document": document}).encode(),
                              {"Content-Type": "application/json"})
    state = json.loads(body)["state"]
    status, _, body = request(server, "GET", f"/api/questions?state={state}&tx=tx1")
    assert status == 200
    data = json.loads(body)
    fields = [q["field"] for q in data["questions"]]
    assert fields and fields[0] == "se_parent.parent" and not data["settled"]
    verdicts = {v["verdict"] for v in data["questions"][0]["leads_to"]}
    assert any("license_required (presumption_of_denial)" in v for v in verdicts)
    status, _, body = request(server, "GET", "/api/questions?state=nope&tx=tx1")
    assert status >= 400 and b"no decided scenario" in body
