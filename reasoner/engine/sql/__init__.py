"""Datalog compiled to SQL: the compiler (``compiler``), running it (``runner``), DuckDB and Spark."""

from __future__ import annotations

from reasoner.engine.sql.compiler import (DUCKDB, SPARK, Dialect, SqlProgram, compile_program,
                                          infer_kinds)

__all__ = ["DUCKDB", "SPARK", "Dialect", "SqlProgram", "compile_program", "infer_kinds"]
