"""Reports of scenario test runs: terminal text with a field-by-field diff, and JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Sequence

from reasoner.tools.scenariotest.cases import Case, FileResult

__all__ = ["ARGUMENT_LINES", "case_text", "summary", "report_text", "junit_xml"]

# A failed case shows at most this many lines of its argument, then how to see all of it.
ARGUMENT_LINES = 40


def _diff_table(case: Case) -> list[str]:
    """One row per check: '!' marks a mismatch; expected and got side by side."""
    rows = [("", "field", "expected", "got")]
    rows += [("!" if not c.ok else "", c.field, c.expected, c.got) for c in case.checks]
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    return ["    " + "  ".join(x.ljust(w[i]) for i, x in enumerate(r)).rstrip() for r in rows]


def case_text(case: Case, argument_lines: int = ARGUMENT_LINES) -> str:
    """``PASS``/``FAIL`` with the file and transaction; for a failure the field-by-field
    diff and the start of the argument (the explanation) for the decision."""
    head = f"{'PASS' if case.passed else 'FAIL'}  {case.file} :: {case.name}"
    if case.passed:
        return head
    out = [head, *_diff_table(case)]
    if case.argument:
        lines = case.argument.splitlines()
        out.append("    argument:")
        out += ["      " + ln if ln else "" for ln in lines[:argument_lines]]
        if len(lines) > argument_lines:
            regime = f" --regime {case.regime}" if case.regime_block else ""
            out.append(f"      ... {len(lines) - argument_lines} more line(s): "
                       f"earlog explain {case.file} {case.transaction}{regime}")
    return "\n".join(out)


def summary(results: Sequence[FileResult]) -> str:
    """``N passed, M failed, K file error(s) in F file(s) (T s)``."""
    cases = [c for r in results for c in r.cases]
    passed = sum(c.passed for c in cases)
    errors = sum(r.error is not None for r in results)
    seconds = sum(r.seconds for r in results)
    return (f"{passed} passed, {len(cases) - passed} failed"
            + (f", {errors} file error(s)" if errors else "")
            + f" in {len(results)} file(s) ({seconds:.1f} s)")


def report_text(results: Sequence[FileResult], argument_lines: int = ARGUMENT_LINES) -> str:
    """Every case's line (and diff), then the summary. File errors are not included:
    the CLI prints them like a compiler, on stderr."""
    out = [case_text(c, argument_lines) for r in results for c in r.cases]
    return "\n".join([*out, summary(results)]) + "\n"


def junit_xml(results: Sequence[FileResult], sources: dict[str, str] | None = None) -> str:
    """JUnit XML (the schema Jenkins, GitLab and GitHub read): one ``testsuite`` per file,
    one ``testcase`` per case; a mismatch is a ``failure`` whose text is the diff and
    the argument; a file that cannot be run is one ``testcase`` with an ``error``."""
    root = ET.Element("testsuites", name="earlog test")
    totals = [0, 0, 0, 0.0]
    for r in results:
        suite = ET.SubElement(root, "testsuite", name=r.scenario, file=r.file)
        tests, failures, errors = len(r.cases), sum(not c.passed for c in r.cases), 0
        for c in r.cases:
            tc = ET.SubElement(suite, "testcase", classname=r.scenario, name=c.name,
                               file=r.file, time=f"{c.seconds:.3f}")
            if not c.passed:
                first = c.failures()[0]
                msg = f"{first.field}: expected {first.expected}, got {first.got}"
                if len(c.failures()) > 1:
                    msg += f" (and {len(c.failures()) - 1} more)"
                fail = ET.SubElement(tc, "failure", message=msg, type="ExpectationMismatch")
                fail.text = case_text(c, 10**6)
        if r.error is not None:
            tests, errors = tests + 1, 1
            tc = ET.SubElement(suite, "testcase", classname=r.scenario, name="(scenario file)",
                               file=r.file, time=f"{r.seconds:.3f}")
            err = ET.SubElement(tc, "error", message=str(r.error), type=type(r.error).__name__)
            err.text = r.error.render(sources)
        suite.attrib.update(tests=str(tests), failures=str(failures), errors=str(errors),
                            skipped="0", time=f"{r.seconds:.3f}")
        totals = [totals[0] + tests, totals[1] + failures, totals[2] + errors,
                  totals[3] + r.seconds]
    root.attrib.update(tests=str(totals[0]), failures=str(totals[1]), errors=str(totals[2]),
                       time=f"{totals[3]:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
