"""The datalog-conformance core cases run on the SQL backend (DuckDB).

A case whose program the backend refuses (``UnsupportedProgramError``) is skipped
with the refusal as the reason; every case it accepts must pass.
"""

from __future__ import annotations

import os

import pytest

pytest.importorskip("duckdb")

from datalog_conformance import YamlTestRunner  # noqa: E402
from datalog_conformance.schema import TestCase as ConformanceCase  # noqa: E402

from reasoner.lang.errors import UnsupportedProgramError  # noqa: E402
from tests.test_conformance import _SLOW, _XFAIL, ConformanceAdapter, _discover_core  # noqa: E402


def _cases() -> list[object]:
    params = []
    for _, case in _discover_core():
        marks = []
        if case.name in _SLOW:
            marks.append(pytest.mark.skipif(
                bool(os.environ.get("EARLOG_FAST_TESTS")), reason=_SLOW[case.name]))
        if case.name in _XFAIL:
            marks.append(pytest.mark.xfail(strict=True, reason=_XFAIL[case.name]))
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


def run_case(engine: str, case: ConformanceCase) -> None:
    """Run ``case`` on the SQL backend ``engine``; skip it, with the refusal as the reason,
    when the backend refuses its program."""
    if case.skip:
        pytest.skip(case.skip)
    adapter = ConformanceAdapter(engine)
    try:
        adapter.evaluate(case.program)  # type: ignore[attr-defined]
    except UnsupportedProgramError as exc:
        pytest.skip(f"refused: {exc}")
    except Exception:  # noqa: BLE001 - the runner checks expected errors itself
        pass
    YamlTestRunner(adapter).run_test_case(case)


@pytest.mark.parametrize("case", _cases())
def test_conformance_duckdb(case: ConformanceCase) -> None:
    run_case("duckdb", case)
