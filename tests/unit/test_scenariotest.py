"""`earlog test`: scenario files with expect blocks, their diffs, and JUnit XML."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from legal_cases import REPO, SHARED_EXAMPLES
from reasoner.cli import cli
from reasoner.law.decision import Decision
from reasoner.tools.scenariotest.cases import check_decision, run_files

EXAMPLES = sorted(str(p) for p in SHARED_EXAMPLES.glob("*.yaml"))
needs_examples = pytest.mark.skipif(not EXAMPLES, reason="../shared/ear/examples not present")
XSD = REPO / "tests" / "data" / "junit" / "junit.xsd"


def _run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.stdout, res.stderr


def _wrong(tmp_path: Path) -> Path:
    """e2 with a wrong expectation: 'under' expects AIA (it gets LPP) and a cite it lacks."""
    text = (SHARED_EXAMPLES / "e2-singapore-lpp-line.yaml").read_text(encoding="utf-8")
    text = text.replace("exceptions: [LPP]", "exceptions: [AIA]", 1)
    text = text.replace('cites: ["740.29(a)"]', 'cites: ["740.29(a)", "740.27(a)(1)"]', 1)
    path = tmp_path / "wrong.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _valid_junit(xml: str) -> None:
    lxml = pytest.importorskip("lxml.etree")
    schema = lxml.XMLSchema(lxml.parse(str(XSD)))
    doc = lxml.fromstring(xml.encode("utf-8"))
    assert schema.validate(doc), schema.error_log


@needs_examples
def test_public_examples_pass() -> None:
    code, out, err = _run("test", *EXAMPLES)
    assert code == 0, out + err
    assert out.count("PASS  ") == 7 and "FAIL" not in out
    assert out.splitlines()[-1].startswith("7 passed, 0 failed in 6 file(s)")


def test_own_scenarios_pass_with_separate_expectations() -> None:
    files = sorted(str(p) for p in (REPO / "facts" / "scenarios").glob("*.yaml"))
    code, out, err = _run("test", *files, "--expect",
                          str(REPO / "tests" / "scenario_expectations.yaml"))
    assert code == 0, out + err
    assert " failed" in out and ", 0 failed" in out
    assert "@enforced" in out  # a `regimes:` case is named with its regime


@needs_examples
def test_wrong_expectation_fails_with_a_readable_diff(tmp_path: Path) -> None:
    code, out, _ = _run("test", str(_wrong(tmp_path)), "--argument-lines", "5")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"FAIL  {tmp_path / 'wrong.yaml'} :: under"
    assert lines[1].split() == ["field", "expected", "got"]
    row = next(ln for ln in lines if "exceptions" in ln)
    assert row.split() == ["!", "exceptions", "[AIA]", "[LPP]"]
    assert any(ln.split() == ["outcome", "permitted", "permitted"] for ln in lines)
    assert any(ln.split() == ["!", "cites", "includes", "740.27(a)(1)", "missing"] for ln in lines)
    assert "    argument:" in lines and any(ln.startswith("      under: Does the export") for ln in lines)
    assert "      Outcome: permitted. A license is required, but the transaction may proceed " \
           "under LPP without one." in lines
    assert f"PASS  {tmp_path / 'wrong.yaml'} :: over" in lines
    assert lines[-1].startswith("1 passed, 1 failed")


@needs_examples
def test_junit_xml_validates_and_counts(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    bad = tmp_path / "bad.yaml"
    bad.write_text("scenario: bad\nentities: {}\ntransactions: []\n", encoding="utf-8")
    out = tmp_path / "report.xml"
    code, _, err = _run("test", *EXAMPLES, str(_wrong(tmp_path)), str(bad),
                        "--format", "junit", "-o", str(out))
    assert code == 1 and "no 'expect:' block" in err
    xml = out.read_text(encoding="utf-8")
    _valid_junit(xml)
    root = ET.fromstring(xml)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("10", "1", "1")
    failure = root.find(".//testcase[@name='under']/failure")
    assert failure is not None and failure.get("message", "").startswith(
        "exceptions: expected [AIA], got [LPP]")
    assert "argument:" in (failure.text or "")
    assert root.find(".//testsuite[@name='bad']/testcase/error") is not None


@needs_examples
def test_passing_junit_validates() -> None:
    code, out, _ = _run("test", *EXAMPLES, "--format", "junit")
    assert code == 0
    _valid_junit(out)
    assert 'failures="0"' in out and 'errors="0"' in out


def test_bad_expect_block_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        "scenario: x\nentities: {a: {located_in: US, headquartered_in: US}}\n"
        "items: {i: {eccn: 3A090.a}}\ntransactions:\n"
        "  - {id: t1, type: export, date: 2025-06-01, exporter: a, from: US, to: DE,\n"
        "     ultimate_consignee: a, item: i, quantity: 1, end_use: other}\n"
        "expect:\n  t9: {outcome: permitted}\n  t1: {outcom: permitted, exceptions: [AIB]}\n"
        "  regimes: {enforcd: {}}\n", encoding="utf-8")
    code, out, err = _run("test", str(path))
    assert code == 1 and "1 file error(s)" in out
    assert f"{path}:8:3: error: expect names transaction 't9', which the scenario lacks" in err
    assert f"{path}:9:8: error: unknown expectation 'outcom'" in err
    assert "did you mean 'outcome'?" in err
    assert "unknown exception code 'AIB'" in err and "did you mean 'AIA'?" in err
    assert "unknown regime 'enforcd'" in err and "4 errors generated" in err


def test_cites_are_must_include_substrings() -> None:
    d = Decision("t", dt.date(2025, 6, 1), True, True, ("LPP",), "permitted", None,
                 ("15 CFR 740.29(a)", "15 CFR 742.6(a)(6)(iii)(A)"), ("U-X",))
    checks = check_decision(d, {"exceptions": ["LPP"], "cites": ["740.29(a)", "740.27"],
                                "uncertainties": ["U-X"], "not_uncertainties": ["U-X"]})
    assert [(c.field, c.ok) for c in checks] == [
        ("exceptions", True), ("cites", True), ("cites", False), ("uncertainties", True),
        ("uncertainties", False)]
    assert checks[1].got == "15 CFR 740.29(a)"


@needs_examples
def test_run_files_api_agrees_with_legal_cases() -> None:
    """The tool reads expect blocks exactly as tests/legal_cases.py does."""
    from legal_cases import decide_with_expect, mismatches

    for r in run_files(EXAMPLES):
        assert r.error is None
        decisions, expect = decide_with_expect(Path(r.file))
        for case in r.cases:
            assert case.passed == (not mismatches(decisions[case.transaction],
                                                  expect[case.transaction]))
