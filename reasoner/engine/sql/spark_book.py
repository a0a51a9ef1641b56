"""Spark for columnar screening: compiled strata over a book's tables, and the capped running fold."""

from __future__ import annotations

from decimal import Context, Decimal, localcontext
from pathlib import Path
from typing import Any, Mapping, Sequence

from reasoner.engine.sql.compiler import SqlProgram, Step
from reasoner.engine.sql.spark_engine import SparkRun, session, spark_error

__all__ = ["read_table", "write_table", "run_book", "capped_fold"]

# Sums of exact integers of up to 38 digits stay exact in Python's decimals at this
# precision (the default, 28 digits, would round them).
_EXACT = Context(prec=80)


def read_table(path: str | Path, schema: Any = None, spark: Any = None) -> Any:
    """A Parquet file or folder, or a CSV file with a header row, as a DataFrame.

    Args:
        path: ``*.parquet`` (file or Spark's folder of parts) or ``*.csv``.
        schema: the columns' types (a ``StructType`` or a DDL string such as
            ``"id STRING, tpp DECIMAL(38,0), date DATE"``); CSV needs it for exact
            numbers and dates (without it every CSV column is a string).
        spark: the session (default: the process's, ``spark_engine.session()``).

    Raises:
        EngineError: Spark cannot read it.
    """
    spark = spark if spark is not None else session()
    reader = spark.read if schema is None else spark.read.schema(schema)
    text = str(path)
    try:
        if text.endswith(".csv"):
            return reader.option("header", True).csv(text)
        return reader.parquet(text)
    except Exception as exc:  # noqa: BLE001 - Spark's analysis errors, turned into ours
        raise spark_error(exc) from None


def write_table(df: Any, path: str | Path) -> None:
    """Write ``df`` where ``path`` says: a folder of Parquet parts (``*.parquet``),
    CSV parts with a header (``*.csv``) or JSON Lines parts (``*.jsonl``),
    replacing what is there. Spark writes one part per partition; ``df.coalesce(1)``
    first for one file.

    Raises:
        EngineError: Spark failed.
    """
    text = str(path)
    writer = df.write.mode("overwrite")
    try:
        if text.endswith(".csv"):
            writer.option("header", True).csv(text)
        elif text.endswith(".jsonl"):
            writer.json(text)
        else:
            writer.parquet(text)
    except Exception as exc:  # noqa: BLE001 - Spark's errors, turned into ours
        raise spark_error(exc) from None


def run_book(sql: SqlProgram, tables: Mapping[str, Any],
             columns: Mapping[str, Sequence[str]] | None = None,
             steps: Sequence[Step] | None = None, spark: Any = None) -> SparkRun:
    """Run compiled strata over input relations given as DataFrames (a whole book).

    Args:
        sql: the program compiled for ``SPARK`` (``runner.prepare(checked, kinds_rows,
            SPARK, marks)``; with ``marks``, rows carry the or of their proof's rule
            marks in columns m0.., e.g. citation and uncertainty bits).
        tables: predicate -> a DataFrame of its given rows (e.g. ``read_table``'s),
            any number of rows.
        columns: predicate -> the names of the DataFrame's columns that are the
            predicate's arguments, in order (default: its first columns).
        steps: run only these of ``sql.steps`` (default all), e.g. the strata up to
            those the LPP fold needs; more can follow on the returned run
            (``run.put_table``, then ``run.run(steps)``).
        spark: the session of ``tables`` (default the process's, ``session()``).

    Returns:
        The run: ``run.table(pred, names)`` is a relation's DataFrame (lazy: Spark
        computes it when it is written or counted). Close the run (or use it in a
        ``with`` block) once its tables are written.

    Raises:
        EngineError: Spark failed.

    Example (how the columnar screen uses it)::

        sql = prepare(book.checked, sample_rows, SPARK, marks)   # kinds from a sample
        with run_book(sql, {"tx_date": read_table("book.parquet").select("id", "date"), ...},
                      steps=before_lpp) as run:
            rows = run.table("lpp_candidate", ["tx", "consignee", "year", "date", "seq",
                                               "tpp", "cap", "start"])
            folded = capped_fold(rows, keys=["consignee", "year"], order=["date", "seq"],
                                 amount="tpp", cap="cap", start="start")
            run.put_table("lpp_shipped", folded.where("counts"),
                          ["consignee", "year", "tpp", "tx"])
            run.run(after_lpp)
            write_table(run.table("decision", ["tx", "outcome", "basis"]), "out.parquet")
    """
    run = SparkRun(sql, spark)
    try:
        for pred, df in tables.items():
            run.put_table(pred, df, (columns or {}).get(pred))
        run.run(steps)
    except BaseException:
        run.close()
        raise
    return run


def capped_fold(df: Any, keys: Sequence[str], order: Sequence[str], amount: str,
                cap: str, start: str | None = None, eligible: str | None = None,
                prior: str = "prior", counts: str = "counts") -> Any:
    """An ordered, capped running sum per group, as a grouped map (``applyInPandas``).

    Per group of ``keys`` (e.g. consignee and calendar year), in ``order`` (e.g.
    date, then sequence), each row gets the group's running total before it
    (``prior``: ``start``'s value in the group's first row, else 0, plus the amounts
    of the rows before it that count) and whether it counts (``counts``): a row
    counts when it is ``eligible`` (default: every row), its amount is known and
    ``prior + amount <= cap``; a row that does not fit does not count and adds
    nothing, so a later, smaller row may still fit. This is LPP's calendar-year
    total (15 CFR 740.29): a shipment that would exceed the cap is not an LPP
    shipment and does not use it up.

    Args:
        df: the rows; ``amount``, ``cap`` and ``start`` exact numbers (e.g.
            DECIMAL(38,0)), ``eligible`` a boolean column.
        keys, order: grouping and ordering columns (ties keep no defined order:
            make ``order`` total).
        amount, cap, start, eligible: column names.
        prior, counts: the names of the two columns added.

    Returns:
        ``df``'s rows and columns, with ``prior`` (the type of ``amount``) and
        ``counts`` (boolean) added; row order is not kept.

    Example::

        capped_fold(shipments, ["consignee", "year"], ["date", "seq"], "tpp", "cap")
    """
    from pyspark.sql.types import BooleanType, StructField, StructType

    fields = {f.name: f for f in df.schema.fields}
    out = StructType([*df.schema.fields,
                      StructField(prior, fields[amount].dataType, True),
                      StructField(counts, BooleanType(), False)])
    names = list(df.columns)

    def fold(pdf: Any) -> Any:
        pdf = pdf.sort_values(list(order), kind="stable").reset_index(drop=True)
        with localcontext(_EXACT):
            first = pdf[start].iloc[0] if start is not None and len(pdf) else None
            total = Decimal(0) if first is None else Decimal(first)
            priors, fits = [], []
            for amt, limit, ok in zip(pdf[amount], pdf[cap],
                                      pdf[eligible] if eligible is not None else [True] * len(pdf)):
                priors.append(total)
                yes = bool(ok) and _known(amt) and _known(limit) and total + Decimal(amt) <= Decimal(limit)
                fits.append(yes)
                if yes:
                    total += Decimal(amt)
        pdf[prior] = priors
        pdf[counts] = fits
        return pdf[[*names, prior, counts]]

    return df.groupBy(*keys).applyInPandas(fold, schema=out)


def _known(v: Any) -> bool:
    """A value that is there (not None, NaN or pandas' NA)."""
    if v is None:
        return False
    try:
        return bool(v == v)
    except TypeError:  # pandas.NA
        return False
