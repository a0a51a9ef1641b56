"""Screening on DuckDB (the rulebook compiled to SQL) equals earlog's evaluator, row for row."""

from __future__ import annotations

import csv
import glob
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytest.importorskip("duckdb")

from reasoner.cli import cli  # noqa: E402
from reasoner.law.decision import decide, decision_record  # noqa: E402
from reasoner.law.scenario import Scenario, load_scenario  # noqa: E402
from reasoner.tools.screen.columnar import ColumnarScreen  # noqa: E402
from reasoner.tools.screen.files import DECISION_COLUMNS, TX_COLUMNS, read_rows  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "screen"
CONTEXT = DATA / "context.yaml"
SCENARIOS = sorted(glob.glob(str(REPO / "facts" / "scenarios" / "*.yaml")))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["screen", *args, "--no-progress"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def columnar(ctx: Scenario, path: Path, fmt: str = "csv", plain: bool = True,
             **opts: Any) -> tuple[dict[str, dict[str, Any]], list[Any]]:
    """Decisions by transaction, and the rejected rows."""
    s = ColumnarScreen(ctx, str(path), **opts)
    try:
        rejected = s.accept_file(str(path), fmt) if plain else None
        if rejected is None:
            rejected = list(s.accept(read_rows(str(path), fmt)))
        s.decide()
        return {r["transaction"]: r for _, r in s.records()}, rejected
    finally:
        s.close()


def write_book(scenario: Scenario, path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(TX_COLUMNS)
        for t in scenario.transactions:
            w.writerow([t.id, t.type, t.date.isoformat(), t.exporter, t.from_, t.to,
                        t.ultimate_consignee, t.item or "", t.model or "",
                        "" if t.quantity is None else t.quantity, t.end_use,
                        t.final_destination or ""])
    return path


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: Path(p).stem)
def test_screen_equals_decide_on_the_bundled_scenarios(path: str, tmp_path: Path) -> None:
    scenario = load_scenario(path)
    book = write_book(scenario, tmp_path / "book.csv")
    got, rejected = columnar(scenario, book)
    assert not rejected
    for d in decide(scenario).decisions:
        assert got[d.transaction] == decision_record(d), d.transaction


@pytest.mark.parametrize("regime", ["ifr", "enforced"])
def test_generated_book_equals_the_earlog_engine(tmp_path: Path, screen_data: Any,
                                                 regime: str) -> None:
    """An unsorted book of many consignees crossing the LPP cap, D:5 parents, VEUs:
    the two engines' output files are equal, citations and uncertainties included."""
    ctx = screen_data.write_context(tmp_path / "context.yaml", consignees=40, seed=11)
    book = screen_data.write_rows(tmp_path / "book.csv", 3000, "csv", consignees=40, seed=11,
                                  shuffle=0.3)
    outs = {}
    for engine in ("duckdb", "earlog"):
        out = tmp_path / f"{engine}.csv"
        code, _, err = run(str(book), "--context", str(ctx), "--engine", engine,
                           "--regime", regime, "-o", str(out))
        assert code == 0, err
        outs[engine] = {r["transaction"]: r for r in csv.DictReader(io.StringIO(out.read_text()))}
    assert len(outs["duckdb"]) == 3000
    assert outs["duckdb"] == outs["earlog"]
    rows = outs["earlog"].values()
    if regime == "ifr":  # the enforced reading has no LPP
        assert sum(r["exceptions"] == "LPP" for r in rows) >= 20
        assert any(r["outcome"] == "license_required" and r["review_policy"] for r in rows)
    assert any(r["outcome"] == "license_required" and "LPP" not in r["exceptions"]
               and r["uncertainties"] for r in rows)


def test_unsorted_book_is_decided_in_full_by_default(tmp_path: Path, screen_data: Any) -> None:
    ctx = screen_data.write_context(tmp_path / "context.yaml", consignees=50, seed=4)
    book = screen_data.write_rows(tmp_path / "book.csv", 20000, "csv", consignees=50, seed=4,
                                  shuffle=1.0)
    out = tmp_path / "out.csv"
    code, _, err = run(str(book), "--context", str(ctx), "-o", str(out))
    assert code == 0, err
    assert "20000 decided, 0 rejected" in err
    assert len(out.read_text().splitlines()) == 20001


def test_sql_validation_equals_row_by_row_validation(tmp_path: Path) -> None:
    """A plain CSV file validated in SQL rejects the same rows, with the same reasons,
    as Screener's validation, and decides the others alike."""
    lines = (DATA / "bad.csv").read_text().splitlines()
    plain = [ln for ln in lines if ln.count(",") == 11]  # the short row stops DuckDB
    plain += ["y1,export,2025-05-01,nvidia_us,US,SG,sg_a,h100,,0600,inference,",
              "y2,export,2025-05-02,nvidia_us,us,SG,sg_a,h100,,6,inference,",
              "y3,export,2025-05-03,nvidia_us,US,SG,sg_a,h100,,6,inference,null",
              "y4,sale,2025-05-03,nvidia_us,US,SG,sg_a,h100,,6,inference,",
              "ok1,export,2025-05-04,nvidia_us,US,SG,sg_b,h100,,6,inference,"]
    src = tmp_path / "book.csv"
    src.write_text("\n".join(plain) + "\n")
    ctx = load_scenario(CONTEXT, require_transactions=False)
    fast, fast_rejected = columnar(ctx, src)
    slow, slow_rejected = columnar(ctx, src, plain=False)
    assert fast == slow
    assert [(r.line, r.reason) for r in fast_rejected] == [(r.line, r.reason) for r in slow_rejected]
    assert len(fast_rejected) >= 4
    assert any("duplicate transaction id 'ok1'" in r.reason for r in fast_rejected)


def test_parquet_in_and_out(tmp_path: Path) -> None:
    import duckdb

    book = tmp_path / "orders.parquet"
    src = str(DATA / "orders.csv").replace("'", "''")
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{src}', all_varchar=true)) TO '{book}' "
               "(FORMAT parquet)")
    out = tmp_path / "out.parquet"
    code, _, err = run(str(book), "--context", str(CONTEXT), "--format", "parquet", "-o", str(out))
    assert code == 0, err
    got = duckdb.sql(f"SELECT * FROM read_parquet('{out}')").fetchall()
    code, csv_out, _ = run(str(DATA / "orders.csv"), "--context", str(CONTEXT))
    want = list(csv.DictReader(io.StringIO(csv_out)))
    assert [g[0] for g in got] == [w["transaction"] for w in want]
    cols = dict(zip(DECISION_COLUMNS, range(len(DECISION_COLUMNS))))
    for g, w in zip(got, want):
        assert ";".join(g[cols["citations"]]) == w["citations"]
        assert g[cols["outcome"]] == w["outcome"]


def test_jsonl_output_equals_the_earlog_engine(tmp_path: Path) -> None:
    outs = []
    for engine in ("duckdb", "earlog"):
        code, out, err = run(str(DATA / "orders.jsonl"), "--context", str(CONTEXT), "--format",
                             "jsonl", "--engine", engine)
        assert code == 0, err
        outs.append([json.loads(line) for line in out.splitlines()])
    assert outs[0] == outs[1] and len(outs[0]) == 12


def test_explain_dir_agrees_with_the_columnar_decisions(tmp_path: Path) -> None:
    proofs = tmp_path / "proofs"
    code, out, err = run(str(DATA / "orders.csv"), "--context", str(CONTEXT), "--explain-dir",
                         str(proofs))
    assert code == 0, err
    decided = [r for r in csv.DictReader(io.StringIO(out))
               if r["outcome"] in ("license_required", "indeterminate")]
    assert decided and sorted(p.name for p in proofs.iterdir()) == sorted(
        f"{r['transaction']}.json" for r in decided)
    assert all(json.loads(p.read_text()) for p in proofs.iterdir())


def test_empty_book_and_bad_settings(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text(",".join(TX_COLUMNS) + "\n")
    code, out, err = run(str(empty), "--context", str(CONTEXT))
    assert code == 0 and out.splitlines() == [",".join(DECISION_COLUMNS)]
    assert "0 decided, 0 rejected" in err
    code, _, err = run(str(DATA / "orders.csv"), "--context", str(CONTEXT), "--memory-limit",
                       "lots", "-o", str(tmp_path / "o.csv"))
    assert code == 1 and "DuckDB refused the setting" in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_memory_limit_spills_and_decides_alike(tmp_path: Path) -> None:
    ctx = load_scenario(CONTEXT, require_transactions=False)
    limited, _ = columnar(ctx, DATA / "orders.csv", memory_limit="200MB")
    free, _ = columnar(ctx, DATA / "orders.csv")
    assert limited == free and len(free) == 12
