"""Spark's columnar pieces: strata over a book read from Parquet/CSV, and the capped LPP fold."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from reasoner.engine import SemiNaiveEngine
from reasoner.engine.sql.compiler import SPARK
from reasoner.engine.sql.runner import prepare
from reasoner.lang.checks import check
from reasoner.lang.ir import Fact
from reasoner.lang.syntax import parse_program

__all__: list[str] = []

E26 = 10 ** 26


def _python_fold(rows: list[dict[str, Any]]) -> dict[str, tuple[int, bool]]:
    """The fold, plainly: per (consignee, year) in (date, seq) order, a row counts when
    it is eligible, its TPP is known and it fits under the cap with the rows that counted."""
    out: dict[str, tuple[int, bool]] = {}
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["consignee"], row["year"]), []).append(row)
    for members in groups.values():
        members.sort(key=lambda r: (r["date"], r["seq"]))
        total = members[0]["start"]
        for row in members:
            fits = row["eligible"] and row["tpp"] is not None and total + row["tpp"] <= row["cap"]
            out[row["id"]] = (total, fits)
            if fits:
                total += row["tpp"]
    return out


def _book(seed: int, n: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    caps = {c: rnd.choice([E26, 3 * E26, 10 ** 27 + 7]) for c in "abcdefgh"}
    starts = {(c, y): rnd.choice([0, 0, E26 // 2, 2 * E26 + 1]) for c in caps for y in (2025, 2026)}
    rows = []
    for k in range(n):
        c, year = rnd.choice(sorted(caps)), rnd.choice([2025, 2026])
        rows.append({
            "id": f"tx{k}", "consignee": c, "year": year,
            "date": dt.date(year, rnd.randint(1, 12), rnd.randint(1, 28)), "seq": k,
            # amounts of 26-27 digits and small ones: sums beyond 64 bits and 28 digits
            "tpp": None if rnd.random() < 0.05 else rnd.choice(
                [rnd.randint(1, 9) * E26 // 10 + rnd.randint(0, 999), rnd.randint(1, 10 ** 6)]),
            "cap": caps[c], "start": starts[(c, year)], "eligible": rnd.random() < 0.85,
        })
    return rows


@pytest.mark.parametrize("seed", [1, 2])
def test_capped_fold_equals_a_plain_fold(seed: int, spark_session: Any) -> None:
    from reasoner.engine.sql.spark_book import capped_fold

    rows = _book(seed, 600)
    schema = ("id STRING, consignee STRING, year INT, date DATE, seq INT, tpp DECIMAL(38,0), "
              "cap DECIMAL(38,0), start DECIMAL(38,0), eligible BOOLEAN")
    cells = [tuple(Decimal(v) if isinstance(v, int) and k in ("tpp", "cap", "start") else v
                   for k, v in r.items()) for r in rows]
    df = spark_session.createDataFrame(cells, schema)
    folded = capped_fold(df, ["consignee", "year"], ["date", "seq"], "tpp", "cap",
                         start="start", eligible="eligible")
    got = {r["id"]: (int(r["prior"]), r["counts"]) for r in folded.collect()}
    want = _python_fold(rows)
    assert got == want
    # the data exercises the cap: rows that do not fit, and later rows that still do
    assert 50 < sum(1 for _, fits in want.values() if not fits) < 550


def test_fold_skips_what_does_not_fit(spark_session: Any) -> None:
    from reasoner.engine.sql.spark_book import capped_fold

    df = spark_session.createDataFrame(
        [("a", 1, Decimal(6)), ("a", 2, Decimal(5)), ("a", 3, Decimal(4)), ("b", 1, Decimal(11))],
        "c STRING, seq INT, tpp DECIMAL(38,0)").selectExpr("*", "CAST(10 AS DECIMAL(38,0)) AS cap")
    got = {(r["c"], r["seq"]): (int(r["prior"]), r["counts"])
           for r in capped_fold(df, ["c"], ["seq"], "tpp", "cap").collect()}
    # 6 fits; 6 + 5 does not (and adds nothing); 6 + 4 fits; 11 alone exceeds the cap
    assert got == {("a", 1): (0, True), ("a", 2): (6, False), ("a", 3): (6, True),
                   ("b", 1): (0, False)}


_PROGRAM = """
big(T, C) :- tx(T, C, N, D), N > 50000000000000000000000000.
late(T) :- tx(T, _, _, D), D >= 2025-07-01, not big(T, _).
total(C, S) :- cons(C), S = sum(N : tx(T, C, N, _)).
"""


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_run_book_reads_and_writes_tables(fmt: str, tmp_path: Path, spark_session: Any) -> None:
    import pandas as pd

    from reasoner.engine.sql.spark_book import read_table, run_book, write_table

    rnd = random.Random(7)
    txs = [(f"t{k}", rnd.choice("xyz"), rnd.randint(1, 9) * E26 // 10,
            dt.date(2025, rnd.randint(1, 12), 1)) for k in range(300)]
    checked = check(parse_program(_PROGRAM), inputs={"tx": 4, "cons": 1})
    facts = [Fact("tx", t) for t in txs] + [Fact("cons", (c,)) for c in "xyzw"]
    want = SemiNaiveEngine().evaluate(checked, facts)

    frame = pd.DataFrame([(t, c, Decimal(n), d) for t, c, n, d in txs],
                         columns=["id", "consignee", "tpp", "date"])
    path = tmp_path / f"book.{fmt}"
    if fmt == "parquet":
        frame.to_parquet(path)
        book = read_table(path)
    else:
        frame.to_csv(path, index=False)
        book = read_table(path, "id STRING, consignee STRING, tpp DECIMAL(38,0), date DATE")
    cons = spark_session.createDataFrame([(c,) for c in "xyzw"], "name STRING")
    sql = prepare(checked, {"tx": txs[:5], "cons": [("x",)]}, SPARK)  # kinds from a sample
    with run_book(sql, {"tx": book, "cons": cons},
                  columns={"tx": ["id", "consignee", "tpp", "date"]}) as run:
        late = run.table("late", ["id"])
        write_table(late, tmp_path / "late.parquet")
        total = {(r["c"], int(r["s"])) for r in run.table("total", ["c", "s"]).collect()}
    assert {r["id"] for r in read_table(tmp_path / "late.parquet").collect()} \
        == {t for (t,) in want.rows("late")}
    assert total == want.rows("total")


def test_run_book_in_stages(spark_session: Any) -> None:
    """Strata up to a point, then a table computed outside (the fold's), then the rest."""
    from reasoner.engine.sql.spark_book import run_book

    checked = check(parse_program(
        "cand(T, N) :- tx(T, N), N > 2. ok(T) :- cand(T, _), shipped(T). "
        "left(T) :- cand(T, _), not shipped(T)."), inputs={"tx": 2, "shipped": 1})
    txs = [(f"t{k}", k) for k in range(10)]
    sql = prepare(checked, {"tx": txs, "shipped": [("t1",)]}, SPARK)
    first = [s for s in sql.steps if "cand" in s.preds]
    rest = [s for s in sql.steps if "cand" not in s.preds]
    tx = spark_session.createDataFrame([(t, Decimal(n)) for t, n in txs], "id STRING, n DECIMAL(38,0)")
    with run_book(sql, {"tx": tx}, steps=first) as run:
        cand = run.table("cand", ["id", "n"])
        run.put_table("shipped", cand.where("n % 2 = 0").select("id"))  # computed outside
        run.run(rest)
        ok = {r["t"] for r in run.table("ok", ["t"]).collect()}
        left = {r["t"] for r in run.table("left", ["t"]).collect()}
    facts = [Fact("tx", t) for t in txs] + [Fact("shipped", (f"t{k}",)) for k in (4, 6, 8)]
    want = SemiNaiveEngine().evaluate(checked, facts)
    assert ok == {t for (t,) in want.rows("ok")} == {"t4", "t6", "t8"}
    assert left == {t for (t,) in want.rows("left")}
