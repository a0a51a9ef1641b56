"""Datalog compiled to SQL: the compiler (``compiler``), running it (``runner``), DuckDB."""

from __future__ import annotations

from reasoner.engine.sql.compiler import DUCKDB, Dialect, SqlProgram, compile_program, infer_kinds

__all__ = ["DUCKDB", "Dialect", "SqlProgram", "compile_program", "infer_kinds"]
