"""Differential: ``earlog screen --engine spark`` writes what ``--engine earlog`` writes.

Generated books (bench/screen_data.py, as the DuckDB columnar tests use): unsorted, many
consignees crossing the LPP cap, D:5 parents, VEU holders, every exception; both regimes.
The CSV files are compared byte for byte (citations, ruled-out codes and citations,
uncertainties included); JSONL record by record (earlog's ruled-out entries also carry
their reason and facts, the columnar engines' their code and citation).

A screen on Spark local takes about four minutes on a busy 2-core host at 2,000 rows,
mostly fixed costs (hundreds of query stages and a job per relation collected), so by
default two books of 2,000 rows are screened (one per regime, one read as Parquet);
``EARLOG_SPARK_FULL=1`` screens 10,000-row books and adds JSONL output with --as-of.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reasoner.cli import cli
from tests.unit.test_screen_columnar import _parquet

FULL = bool(os.environ.get("EARLOG_SPARK_FULL"))
ROWS = 10_000 if FULL else 2_000
ALL_CODES = {"AIA", "ACM", "LPP", "NAC", "ACA", "UVEU", "NVEU"}


def _screen(book: Path, ctx: Path, out: Path, engine: str, *opts: str) -> str:
    result = CliRunner().invoke(cli, ["screen", str(book), "--context", str(ctx), "--engine",
                                      engine, "-o", str(out), "--rejects",
                                      str(out.with_suffix(".rej.csv")), "--no-progress", *opts])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    return out.read_text(encoding="utf-8")


@pytest.mark.parametrize("regime,fmt", [("ifr", "csv"), ("enforced", "parquet")])
def test_generated_book_spark_equals_earlog(tmp_path: Path, screen_data: Any, regime: str,
                                            fmt: str, spark_session: object,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The CSV decisions of both engines are equal byte for byte (the Spark run reading the
    book as Parquet in the enforced regime, with the settings of big books: adaptive
    execution, several shuffle partitions)."""
    if fmt == "parquet":
        from reasoner.tools.screen import sparkscreen

        monkeypatch.setattr(sparkscreen, "SMALL_BOOK", 0)
    ctx = screen_data.write_context(tmp_path / "context.yaml", consignees=30, seed=11)
    book = screen_data.write_rows(tmp_path / "book.csv", ROWS, "csv", consignees=30, seed=11,
                                  shuffle=0.3)
    read = book if fmt == "csv" else _parquet(book, tmp_path / "book.parquet")
    spark = _screen(read, ctx, tmp_path / "spark.csv", "spark", "--regime", regime)
    earlog = _screen(book, ctx, tmp_path / "earlog.csv", "earlog", "--regime", regime)
    assert spark == earlog
    rows = list(csv.DictReader(io.StringIO(spark)))
    assert len(rows) == ROWS
    ruled = {x.split("=")[0] for r in rows for x in r["ruled_out"].split(";") if x}
    assert ruled == ALL_CODES
    codes = {c for r in rows for c in r["exceptions"].split(";") if c}
    if regime == "ifr":  # the book exercises what the engine must get right
        assert codes == ALL_CODES
        assert any(r["outcome"] == "license_required" and "LPP=15 CFR 740.29(a)"
                   in r["ruled_out"] for r in rows)  # a consignee over the LPP cap
        assert any("U-ULTIMATE-PARENT" in r["uncertainties"] for r in rows)  # D:5 parents
    else:
        assert codes >= {"ACM", "NAC", "ACA"}


@pytest.mark.skipif(not FULL, reason="one more Spark run of a few minutes: EARLOG_SPARK_FULL=1")
def test_jsonl_out_as_of(tmp_path: Path, screen_data: Any, spark_session: object) -> None:
    """--as-of, JSONL out: every field of every record as earlog's."""
    ctx = screen_data.write_context(tmp_path / "context.yaml", consignees=20, seed=2)
    book = screen_data.write_rows(tmp_path / "book.csv", ROWS, "csv", consignees=20, seed=2)
    opts = ("--format", "jsonl", "--as-of", "2025-06-30")
    spark = _screen(book, ctx, tmp_path / "spark.jsonl", "spark", *opts)
    earlog = _screen(book, ctx, tmp_path / "earlog.jsonl", "earlog", *opts)
    want = [json.loads(line) for line in earlog.splitlines()]
    for record in want:
        record["ruled_out"] = [{"exception": x["exception"], "citation": x["citation"]}
                               for x in record["ruled_out"]]
    assert [json.loads(line) for line in spark.splitlines()] == want


def test_master_needs_the_spark_engine(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["screen", "x.csv", "--context", "c.yaml", "--master",
                                      "local[1]", "--no-progress"])
    assert result.exit_code == 2
    assert "--master applies to --engine spark only" in result.stderr


def test_missing_pyspark_is_a_clean_error(tmp_path: Path, screen_data: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pyspark (or Java) the run stops before reading, naming earlog[spark]."""
    from reasoner.engine.sql import spark_engine

    ctx = screen_data.write_context(tmp_path / "context.yaml", consignees=5, seed=1)
    book = screen_data.write_rows(tmp_path / "book.csv", 20, "csv", consignees=5, seed=1)
    monkeypatch.setattr(spark_engine, "_session", None)
    monkeypatch.setattr(spark_engine, "java_found", lambda: False)
    monkeypatch.setitem(__import__("sys").modules, "pyspark.sql", None)
    result = CliRunner().invoke(cli, ["screen", str(book), "--context", str(ctx), "--engine",
                                      "spark", "-o", str(tmp_path / "out.csv"), "--no-progress"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.stderr
    assert "pip install 'earlog[spark]'" in result.stderr
    assert not (tmp_path / "out.csv").exists()
