"""Bulk screening: ``screener`` decides a stream of rows in chunks with earlog's evaluator;
``columnar`` decides a whole book set-at-a-time on DuckDB; ``sparkscreen`` runs its strata
and LPP fold on Spark; ``files`` reads rows and writes decisions, rejects and proofs
atomically.

(Nothing is imported here: ``files`` serves every command, which must not pay for the
screener's imports at start-up.)"""
