"""Tests for reasoner.scenario: loading, validation diagnostics and input facts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from reasoner.lang.errors import CheckFailed, EarlogError, ScenarioError, render_diagnostics
from reasoner.lang.ir import Fact
from reasoner.law.scenario import (
    Scenario,
    Transaction,
    is_country_code,
    load_scenario,
    parse_scenario,
    parse_transaction,
    scenario_facts,
)
from reasoner.lang.span import Span

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = Path("/work/shared/ear/examples")
BAD = REPO / "tests" / "bad_scenarios"

MINIMAL = """\
scenario: demo
as_of: 2025-06-02
entities:
  nvidia_us: {located_in: US, headquartered_in: US}
  sgcloud:
    name: SG Cloud Pte. Ltd.
    located_in: sg
    headquartered_in: SG
    parent: holdco
    government_controlled: true
    veu: {type: nveu, country: IN}
    weights_storage_compliant: false
  holdco: {located_in: HK, headquartered_in: HK, veu: {type: uveu}}
items:
  h100:
    eccn: 3A090.a
    tpp_per_unit: 15832
    performance_density: 19.6
    datacenter: null
    designer: none
models:
  frontier:
    training_operations: 3.0e26
    published: false
    trained_on_ear_hardware: true
    below_best_published: false
  tuned:
    training_operations: 26_900_000
    published: "true"
    trained_on_ear_hardware: false
    derived_from: frontier
    additional_operations: 9007199254740993
    produced_in: FR
transactions:
  - id: t1
    type: export
    date: 2025-07-01
    exporter: nvidia_us
    from: US
    to: SG
    ultimate_consignee: sgcloud
    item: h100
    quantity: 1e3
    end_use: development
    final_destination: MY
  - {id: t2, type: reexport, date: 2025-08-01, exporter: sgcloud, from: SG, to: IN,
     ultimate_consignee: holdco, model: frontier, end_use: storage}
history:
  licensed_tpp_by_country: {SG: 120_000_000, IN: 0}
  lpp_tpp_by_consignee:
    sgcloud: {2025: 5000000, 2024: 1.5e6}
"""


def _minimal() -> Scenario:
    return parse_scenario(MINIMAL, "demo.yaml")


def _facts(scn: Scenario) -> dict[str, list[tuple[object, ...]]]:
    out: dict[str, list[tuple[object, ...]]] = {}
    for f in scenario_facts(scn):
        out.setdefault(f.pred, []).append(f.values)
    return out


# ---- public examples -------------------------------------------------------------

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


@pytest.mark.skipif(not EXAMPLE_FILES, reason="public examples not available")
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_public_examples_load(path: Path) -> None:
    scn = load_scenario(path, allow_expect=True)
    assert scn.file == str(path)
    assert isinstance(scn.expect, dict)
    assert set(scn.expect) == {t.id for t in scn.transactions}
    facts = scenario_facts(scn)
    assert facts[0] == Fact("regime", ("ifr",))
    for f in facts:
        assert f.span.file == str(path) and f.span.line > 0, f


@pytest.mark.skipif(not EXAMPLE_FILES, reason="public examples not available")
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_public_examples_reject_expect_by_default(path: Path) -> None:
    with pytest.raises(ScenarioError, match="unknown key 'expect' at the top level"):
        load_scenario(path)


def test_example_e1_facts_and_spans() -> None:
    path = EXAMPLES / "e1-swedish-sub-of-prc-parent.yaml"
    if not path.exists():
        pytest.skip("public examples not available")
    scn = load_scenario(path, allow_expect=True)
    by_str = {str(f): f for f in scenario_facts(scn)}
    parent = by_str['parent("se_co", "cn_parent")']
    assert (parent.span.line, parent.span.col, parent.span.end_col) == (7, 57, 66)
    hq = by_str['hq_in("cn_parent", "CN")']
    assert (hq.span.line, hq.span.col) == (6, 49)
    assert 'tx_item("tx1", "h100")' in by_str
    assert 'tx_quantity("tx1", 200)' in by_str
    assert 'item_tpp("h100", 15832)' in by_str
    assert 'item_datacenter("h100", "yes")' in by_str
    assert 'storage_compliant("se_co", "unknown")' in by_str
    tx_date = by_str['tx_date("tx1", 2025-06-16)']
    assert tx_date.values[1] == dt.date(2025, 6, 16) and tx_date.span.line == 11
    assert scn.expect["tx1"]["review_policy"] == "presumption_of_denial"
    assert scn.expect["tx1"]["exceptions"] == []


def test_example_e3_model_facts() -> None:
    path = EXAMPLES / "e3-open-weight-finetune.yaml"
    if not path.exists():
        pytest.skip("public examples not available")
    scn = load_scenario(path, allow_expect=True)
    facts = _facts(scn)
    assert ("tuned", 12 * 10**25) in facts["model_ops"]
    assert ("tuned", 2 * 10**25) in facts["model_additional_ops"]
    assert facts["model_published"] == [("base",)]
    assert facts["model_derived_from"] == [("tuned", "base")]
    # produced_in defaults to the `from` of the model's first transaction; base has none
    assert facts["model_produced_in"] == [("tuned", "US")]
    assert "tx_quantity" not in facts
    assert all(type(v) is int for _, v in facts["model_ops"])


def test_source_sha256_is_of_raw_bytes(tmp_path: Path) -> None:
    import hashlib

    raw = MINIMAL.encode("utf-8")
    path = tmp_path / "demo.yaml"
    path.write_bytes(raw)
    assert load_scenario(path).source_sha256 == hashlib.sha256(raw).hexdigest()
    assert parse_scenario(MINIMAL).source_sha256 == hashlib.sha256(raw).hexdigest()


# ---- numbers, dates, booleans ----------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("3e26", 3 * 10**26),
        ("3.0e26", 3 * 10**26),
        ("3.0E+26", 3 * 10**26),
        ("26_900_000", 26_900_000),
        ("26900000", 26_900_000),
        ("9007199254740993", 2**53 + 1),
        ("100000000000000000000000001", 10**26 + 1),
        ("1.5", Decimal("1.5")),
        ("0.25e1", Decimal("2.5")),
        ('"15832"', 15832),
    ],
    ids=["3e26", "3.0e26", "3.0E+26", "underscores", "plain", "2^53+1", "1e26+1", "decimal",
         "decimal-exp", "quoted"],
)
def test_numbers_are_exact(text: str, value: int | Decimal) -> None:
    scn = parse_scenario(MINIMAL.replace("training_operations: 3.0e26",
                                         f"training_operations: {text}"))
    ops = scn.model("frontier").training_operations
    assert ops == value and type(ops) is type(value)


def test_yaml11_implicit_types_do_not_leak() -> None:
    text = (MINIMAL.replace("    to: SG\n", "    to: NO\n")
            .replace("name: SG Cloud Pte. Ltd.", 'name: "null"')
            .replace("designer: none", "designer: 'none'")
            .replace("date: 2025-07-01", 'date: "2025-07-01"'))
    scn = parse_scenario(text)
    assert scn.transaction("t1").to == "NO"  # Norway, not false
    assert scn.entity("sgcloud").name == "null"  # quoted: a string
    assert scn.item("h100").designer == "none"
    assert scn.transaction("t1").date == dt.date(2025, 7, 1)


def test_control_character_is_a_yaml_error() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario("scenario: demo\ndescription: bell \x07\n", "c.yaml")
    assert "special character" in str(info.value)
    assert (info.value.span.line, info.value.span.col) == (2, 19)


def test_minimal_records() -> None:
    scn = _minimal()
    sg = scn.entity("sgcloud")
    assert sg.located_in == "SG"  # upper-cased
    assert sg.name == "SG Cloud Pte. Ltd."
    assert sg.government_controlled is True
    assert sg.veu is not None and (sg.veu.type, sg.veu.country) == ("nveu", "IN")
    assert sg.weights_storage_compliant is False
    h100 = scn.item("h100")
    assert h100.performance_density == Decimal("19.6")
    assert h100.designer == "none" and h100.datacenter is None
    tuned = scn.model("tuned")
    assert tuned.training_operations == 26_900_000
    assert tuned.additional_operations == 2**53 + 1
    assert tuned.published is True
    t1 = scn.transaction("t1")
    assert t1.quantity == 1000 and type(t1.quantity) is int
    assert t1.date == dt.date(2025, 7, 1) and scn.as_of == dt.date(2025, 6, 2)
    assert scn.history.lpp_shipped[1].tpp == 1_500_000
    with pytest.raises(KeyError):
        scn.entity("nobody")


def test_minimal_facts() -> None:
    facts = _facts(_minimal())
    assert facts["regime"] == [("ifr",)]
    assert ("sgcloud", "holdco") in facts["parent"]
    assert facts["government_controlled"] == [("sgcloud",)]
    assert facts["uveu"] == [("holdco",)]
    assert facts["nveu"] == [("sgcloud", "IN")]
    assert ("sgcloud", "no") in facts["storage_compliant"]
    assert ("holdco", "unknown") in facts["storage_compliant"]
    assert facts["item_density"] == [("h100", Decimal("19.6"))]
    assert facts["item_datacenter"] == [("h100", "unknown")]
    assert facts["item_designer"] == [("h100", "none")]
    assert facts["model_below_best"] == [("frontier", "no"), ("tuned", "unknown")]
    assert facts["model_produced_in"] == [("frontier", "SG"), ("tuned", "FR")]
    assert facts["model_trained_on_ear_hw"] == [("frontier",)]
    assert facts["model_published"] == [("tuned",)]
    assert facts["tx_as_of"] == [("t1", dt.date(2025, 6, 2)), ("t2", dt.date(2025, 6, 2))]
    assert facts["tx_final_destination"] == [("t1", "MY")]
    assert facts["tx_quantity"] == [("t1", 1000)]
    assert facts["tx_model"] == [("t2", "frontier")]
    assert facts["licensed_tpp"] == [("SG", 120_000_000), ("IN", 0)]
    assert facts["lpp_shipped"] == [("sgcloud", 2025, 5_000_000, "history"),
                                    ("sgcloud", 2024, 1_500_000, "history")]


def test_fact_spans_point_at_values() -> None:
    facts = {str(f): f.span for f in scenario_facts(_minimal())}
    assert facts['located_in("sgcloud", "SG")'] == Span("demo.yaml", 7, 17, 7, 19)
    assert facts['entity("sgcloud")'] == Span("demo.yaml", 5, 3, 5, 10)
    assert facts['tx_as_of("t1", 2025-06-02)'].line == 2  # the scenario's as_of
    assert facts['tx("t2")'].line == 46
    assert facts['model_produced_in("frontier", "SG")'].line == 46  # from t2's `from`
    assert facts['lpp_shipped("sgcloud", 2025, 5000000, "history")'].line == 51
    assert facts['regime("ifr")'] == Span("demo.yaml", 1, 11, 1, 15)  # default: the id


def test_regime_override() -> None:
    facts = scenario_facts(_minimal(), regime="enforced")
    assert facts[0].values == ("enforced",)
    with pytest.raises(ScenarioError, match="unknown regime 'lenient'"):
        scenario_facts(_minimal(), regime="lenient")


def test_tx_as_of_defaults_to_date() -> None:
    scn = parse_scenario(MINIMAL.replace("as_of: 2025-06-02\n", ""))
    facts = _facts(scn)
    assert facts["tx_as_of"] == [("t1", dt.date(2025, 7, 1)), ("t2", dt.date(2025, 8, 1))]


def test_records_are_frozen_and_hashable() -> None:
    scn = _minimal()
    with pytest.raises(dataclasses.FrozenInstanceError):
        scn.id = "x"  # type: ignore[misc]
    assert isinstance(scn.entities, tuple) and isinstance(scn.transactions, tuple)
    assert hash(scn.entity("sgcloud")) == hash(scn.entity("sgcloud"))


def test_with_transactions_builds_variants() -> None:
    scn = _minimal()
    t1 = scn.transaction("t1")
    variant = scn.with_transactions([dataclasses.replace(t1, quantity=5)])
    assert [t.id for t in variant.transactions] == ["t1"]
    assert _facts(variant)["tx_quantity"] == [("t1", 5)]
    assert scn.transaction("t1").quantity == 1000


def test_context_without_transactions() -> None:
    text = MINIMAL.split("transactions:")[0]
    with pytest.raises(ScenarioError, match="missing required key 'transactions'"):
        parse_scenario(text)
    ctx = parse_scenario(text, require_transactions=False)
    assert ctx.transactions == ()
    assert "tx" not in _facts(ctx)


# ---- parse_transaction (screening rows) ------------------------------------------

ROW = {"id": "r1", "type": "export", "date": "2025-06-02", "exporter": "nvidia_us",
       "from": "US", "to": "sg", "ultimate_consignee": "sgcloud", "item": "h100",
       "quantity": "26_000", "end_use": "inference", "final_destination": ""}


def test_parse_transaction_from_row() -> None:
    scn = _minimal()
    where = Span("rows.csv", 3, 1)
    tx = parse_transaction(ROW, scn, where)
    assert isinstance(tx, Transaction)
    assert (tx.to, tx.quantity, tx.final_destination) == ("SG", 26_000, None)
    assert tx.span == where and tx.where("quantity") == where
    facts = _facts(scn.with_transactions([tx]))
    assert facts["tx_to"] == [("r1", "SG")]


def test_parse_transaction_from_values() -> None:
    row = dict(ROW, quantity=10, date=dt.date(2025, 6, 2), final_destination=None)
    tx = parse_transaction(row, _minimal(), Span("rows.jsonl", 1, 1))
    assert tx.quantity == 10 and tx.date == dt.date(2025, 6, 2)


def test_parse_transaction_from_node() -> None:
    node = yaml.compose("{id: n1, type: export, date: 2025-06-02, exporter: nvidia_us, "
                        "from: US, to: SG, ultimate_consignee: sgcloud, model: tuned, "
                        "end_use: other}")
    tx = parse_transaction(node, _minimal(), Span("cli.yaml", 0, 0))
    assert tx.model == "tuned" and tx.where("model").col == 117


def test_parse_transaction_reports_all_problems_at_cell_spans() -> None:
    row = dict(ROW, id="t1", exporter="nvidia", quantity="-2", end_use="chat")
    spans = {k: Span("rows.csv", 4, i + 1) for i, k in enumerate(row)}
    with pytest.raises(CheckFailed) as info:
        parse_transaction(row, _minimal(), Span("rows.csv", 4, 1), spans)
    messages = [(d.span.col, d.message) for d in info.value.diagnostics]
    assert messages == [
        (1, "duplicate transaction id 't1'"),
        (4, "unknown entity 'nvidia' in 'exporter'"),
        (9, "expected a whole number of units (1 or more) for 'quantity', found '-2'"),
        (10, "invalid end_use 'chat'"),
    ]
    assert {d.code for d in info.value.diagnostics} == {"scenario_invalid"}


# ---- errors that are not about one node ------------------------------------------


def test_unreadable_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(missing)
    assert str(missing) in str(info.value)
    assert info.value.span.file == str(missing)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"scenario: x\ndescription: caf\xe9\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert (info.value.span.line, info.value.span.col) == (2, 17)


def test_country_codes() -> None:
    assert is_country_code("XK")  # Kosovo: not in pycountry, accepted on purpose
    assert is_country_code("MO") and is_country_code("TW") and is_country_code("HK")
    assert not is_country_code("UK") and not is_country_code("ZZ") and not is_country_code("cn")


def test_several_problems_are_one_check_failed() -> None:
    text = (BAD / "several_errors.yaml").read_text()
    with pytest.raises(CheckFailed) as info:
        parse_scenario(text, "x.yaml")
    spans = [d.span for d in info.value.diagnostics]
    assert spans == sorted(spans) and len(spans) == 4
    assert isinstance(info.value, EarlogError) and info.value.code == "scenario_invalid"


# ---- bad inputs: one file per error, expected diagnostic beside it ---------------

BAD_CASES = sorted(BAD.glob("*.yaml"))


@pytest.mark.parametrize("path", BAD_CASES, ids=lambda p: p.stem)
def test_bad_scenario(path: Path, update_golden: bool) -> None:
    rel = path.relative_to(REPO).as_posix()
    text = path.read_text(encoding="utf-8")
    with pytest.raises(EarlogError) as info:
        parse_scenario(text, rel)
    assert info.value.code == "scenario_invalid"
    actual = render_diagnostics(info.value.diagnostics, {rel: text}) + "\n"
    expected_path = path.with_suffix(".expected")
    if update_golden:
        expected_path.write_text(actual, encoding="utf-8")
    assert expected_path.exists(), f"run pytest --update-golden to create {expected_path.name}"
    assert actual == expected_path.read_text(encoding="utf-8")


# ---- issue 14: routes, ECCNs that do not exist, majority ownership ----------------


@pytest.mark.parametrize("kind,src,dst,ok", [
    ("export", "US", "us", False), ("reexport", "SG", "SG", False),
    ("transfer_in_country", "SG", "IN", False), ("transfer_in_country", "SG", "sg", True),
    ("export", "US", "SG", True), ("deemed_export", "US", "US", True),
])
def test_a_row_whose_route_contradicts_its_type_is_rejected(
        kind: str, src: str, dst: str, ok: bool) -> None:
    row = dict(ROW, type=kind, **{"from": src, "to": dst})
    if ok:
        assert parse_transaction(row, _minimal(), Span("rows.csv", 2, 1)).type == kind
        return
    with pytest.raises(ScenarioError, match="export|transfer") as info:
        parse_transaction(row, _minimal(), Span("rows.csv", 2, 1))
    assert "type" in (info.value.hint or "")


@pytest.mark.parametrize("eccn,ok", [
    ("3A090.a", True), ("3A090.c", True), ("3A090", True), ("3A991.a", True),
    ("5A992.c", True), ("EAR99", True), ("3A001.z.4.b", True), ("5D002.z.9", True),
    ("3A091", False), ("4E091.b", False), ("3A090.d", False), ("5A992.a", False),
    ("3A001.z.5.a", False), ("4D090.a", False),
], ids=lambda v: str(v))
def test_declared_eccns_must_exist(eccn: str, ok: bool) -> None:
    text = MINIMAL.replace("eccn: 3A090.a", f"eccn: {eccn}")
    if ok:
        assert parse_scenario(text).item("h100").eccn == eccn
        return
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "x.yaml")
    assert info.value.span.line == 16 and eccn.split(".")[0] in str(info.value)


def test_majority_owned_becomes_a_three_valued_fact_for_entities_with_a_parent() -> None:
    scn = parse_scenario(MINIMAL.replace("    parent: holdco\n",
                                         "    parent: holdco\n    majority_owned: false\n"))
    assert scn.entity("sgcloud").majority_owned is False
    facts = _facts(scn)
    assert facts["majority_owned"] == [("sgcloud", "no")]
    assert _facts(_minimal())["majority_owned"] == [("sgcloud", "unknown")]
