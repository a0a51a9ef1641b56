"""Shared pytest options and fixtures for earlog's tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite expected (golden) output files from the actual output; review the diff",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was started with ``--update-golden``."""
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def screen_data() -> ModuleType:
    """``bench/screen_data.py``, the generator of deterministic order books."""
    spec = importlib.util.spec_from_file_location("screen_data", REPO / "bench" / "screen_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def spark_session() -> object:
    """The process's Spark session (``local[*]``), started once for every Spark test;
    the test is skipped, saying why, where pyspark or Java is missing."""
    pytest.importorskip("pyspark", reason="the spark engine's tests need pyspark (earlog[spark])")
    from reasoner.engine.sql import spark_engine

    if not spark_engine.java_found():
        pytest.skip("the spark engine's tests need Java 17+ ('java' on PATH or in JAVA_HOME)")
    return spark_engine.session()
