"""The ``test`` command: scenario files with ``expect:`` blocks, run as tests."""

from __future__ import annotations

import sys

import click

from reasoner.cli.common import SOURCES, guarded, write_output

__all__ = ["test_cmd"]


@click.command("test")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--expect", "expectations", type=click.Path(dir_okay=False), default=None,
              help="A file mapping scenario file names to expect blocks, for scenarios that "
                   "keep their expectations apart (e.g. tests/scenario_expectations.yaml).")
@click.option("--format", "fmt", type=click.Choice(["text", "junit"]), default="text",
              show_default=True, help="PASS/FAIL lines with diffs, or JUnit XML for CI.")
@click.option("--argument-lines", type=click.IntRange(min=0), default=40, show_default=True,
              help="Lines of the argument (explanation) shown under a failure.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the report to this file instead of stdout.")
def test_cmd(files: tuple[str, ...], expectations: str | None, fmt: str, argument_lines: int,
             output: str | None) -> None:
    """Run scenario FILES that carry `expect:` blocks and compare every decision.

    Prints PASS or FAIL per transaction (and per regime of a `regimes:` block);
    a failure shows each expected field beside what was decided, and the argument
    for the decision. Expected `cites` must each be part of a citation of the
    decision; `uncertainties` must each be flagged. Exit code 1 when any case
    fails or any file cannot be run (its error is printed on stderr).

    \b
    Examples:
      earlog test ../shared/ear/examples/*.yaml
      earlog test facts/scenarios/*.yaml --expect tests/scenario_expectations.yaml
      earlog test ../shared/ear/examples/*.yaml --format junit -o earlog-tests.xml
    """
    failed = guarded(_test)(files, expectations, fmt, argument_lines, output)
    sys.exit(1 if failed else 0)


def _test(files: tuple[str, ...], expectations: str | None, fmt: str, argument_lines: int,
          output: str | None) -> bool:
    from reasoner.tools.scenariotest.cases import run_files
    from reasoner.tools.scenariotest.report import junit_xml, report_text

    results = run_files(files, expectations)
    for r in results:
        if r.error is not None:
            click.echo(r.error.render(SOURCES), err=True)
    if fmt == "junit":
        write_output(junit_xml(results, SOURCES), output)
    else:
        write_output(report_text(results, argument_lines), output)
    return any(r.error is not None or not all(c.passed for c in r.cases) for r in results)
