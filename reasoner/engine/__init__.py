"""Evaluation backends behind one Engine interface.

Owns: ``model`` (the Engine interface and the Model it returns), ``plan`` (rule bodies
compiled into join plans), ``seminaive`` (earlog's stratified semi-naive evaluator,
the default, which records provenance), ``pydatalog_backend`` (the only module that
imports pyDatalog), ``query`` (answering a query over a model), ``matching`` (one condition at a time
against a finished model, for proofs, why-nots and ruled-out exceptions), ``sql`` (checked
programs compiled to SQL and run on DuckDB or Spark) and ``gcpause``.

May import: ``lang``.
"""

from __future__ import annotations

from reasoner.lang.errors import EngineError
from reasoner.engine.model import Derivation, Engine, Model, Row
from reasoner.engine.seminaive import SemiNaiveEngine, solve

__all__ = ["Derivation", "Engine", "Model", "Row", "SemiNaiveEngine", "solve", "get_engine", "ENGINES"]

ENGINES = ("earlog", "pydatalog", "duckdb", "spark")


def get_engine(name: str = "earlog") -> Engine:
    """The engine called ``name``: ``earlog`` (default), ``pydatalog``, ``duckdb`` or
    ``spark`` (on the process's Spark session: ``sql.spark_engine.configure``).

    Raises:
        EngineError: unknown engine name.
    """
    if name == "earlog":
        return SemiNaiveEngine()
    if name == "pydatalog":
        from reasoner.engine.pydatalog_backend import PyDatalogEngine

        engine: Engine = PyDatalogEngine()
        return engine
    if name == "duckdb":
        from reasoner.engine.sql.duckdb_engine import DuckDBEngine

        return DuckDBEngine()
    if name == "spark":
        from reasoner.engine.sql.spark_engine import SparkEngine

        return SparkEngine()
    raise EngineError(f"unknown engine '{name}'", hint="engines: " + ", ".join(ENGINES))
