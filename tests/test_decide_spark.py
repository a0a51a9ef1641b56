"""Differential: ``earlog decide --engine spark`` says what ``--engine earlog`` says.

Every bundled scenario is a case, compared as the JSON decision contract (outcome,
basis, ruled-out exceptions, uncertainties; only the receipt's command line, which
names the engine, differs). ``decide`` itself checks the Spark model against
earlog's evaluator fact by fact.

A rulebook evaluation on Spark local takes 40-120 s on a busy 2-core host (about
375 query stages, each a fixed cost; DuckDB takes 0.5 s), so by default only
``lpp-accumulation`` runs: two evaluations, the recursive LPP running totals, and
an exception lost to the cap. ``EARLOG_SPARK_FULL=1`` runs all 20 scenarios.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reasoner.cli import cli

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "facts" / "scenarios").glob("*.yaml"))
FULL = bool(os.environ.get("EARLOG_SPARK_FULL"))
DEFAULT = {"lpp-accumulation"}


def _decide(path: Path, engine: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["decide", str(path), "--format", "json", "--engine", engine])
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    payload["receipt"].pop("command")
    return payload


@pytest.mark.parametrize("path", [
    pytest.param(p, id=p.stem, marks=[] if FULL or p.stem in DEFAULT else [pytest.mark.skip(
        reason="a rulebook evaluation on Spark takes about a minute: set EARLOG_SPARK_FULL=1")])
    for p in SCENARIOS])
def test_decide_spark_equals_earlog(path: Path, spark_session: object) -> None:
    assert _decide(path, "spark") == _decide(path, "earlog")
