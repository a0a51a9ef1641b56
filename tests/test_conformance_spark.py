"""The datalog-conformance core cases run on the Spark backend (local mode).

The same cases as ``test_conformance_sql`` (DuckDB), on one Spark session shared by
the whole run: a case the SQL backend refuses is skipped with the refusal as the
reason; every case it accepts must pass.

Spark pays a fixed cost per query and per semi-naive round (a job each), so by
default the heaviest programs' cases are left out (``_HEAVY``, 28 in all): the
pointer analyses deriving 1.3 M facts, the 20 cases sharing the LUBM program's
100,000 facts, and the 6 whose recursion takes dozens of rounds. The other 86
cases are the default. ``EARLOG_SPARK_FULL=1`` runs them all.
"""

from __future__ import annotations

import os

import pytest
from datalog_conformance.schema import TestCase as ConformanceCase

from tests.test_conformance_sql import _cases, run_case

FULL = bool(os.environ.get("EARLOG_SPARK_FULL"))
# case name (or prefix) -> why it is left out unless EARLOG_SPARK_FULL is set
_HEAVY = {
    "souffle_hmmer_": "pointer analysis deriving 1.3 M facts",
    "souffle_lubm_": "the LUBM program's 100,000 facts",
    "souffle_minmax_": "60 semi-naive rounds, one Spark job each",
    "souffle_po": "partial orders: dozens of semi-naive rounds",
    "souffle_ranpo_": "a partial order: dozens of semi-naive rounds",
}


def _spark_cases() -> list[object]:
    out = []
    for param in _cases():
        case = param.values[0]  # type: ignore[attr-defined]
        heavy = next((why for prefix, why in _HEAVY.items() if case.name.startswith(prefix)), None)
        marks = list(param.marks)  # type: ignore[attr-defined]
        if heavy is not None:
            marks.append(pytest.mark.skipif(not FULL, reason=f"{heavy}: set EARLOG_SPARK_FULL=1"))
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


@pytest.mark.parametrize("case", _spark_cases())
def test_conformance_spark(case: ConformanceCase, spark_session: object) -> None:
    run_case("spark", case)
