"""Bulk screening: ``screener`` decides a stream of rows in chunks with earlog's evaluator;
``columnar`` decides a whole book set-at-a-time on DuckDB; ``sparkscreen`` runs its strata
and LPP fold on Spark; ``files`` reads rows and writes
decisions, rejects and proofs atomically."""

from __future__ import annotations

from reasoner.tools.screen.screener import Screener

__all__ = ["Screener"]
