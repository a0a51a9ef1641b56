"""Screening on DuckDB (the rulebook compiled to SQL, set-at-a-time) equals earlog's evaluator,
row for row: outcome, exceptions, review policy, citations, ruled-out codes and citations,
uncertainties."""

from __future__ import annotations

import csv
import glob
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytest.importorskip("duckdb")

from reasoner.cli import cli  # noqa: E402
from reasoner.lang.errors import EngineError  # noqa: E402
from reasoner.law.decision import decide, decision_record  # noqa: E402
from reasoner.law.scenario import Scenario, load_scenario  # noqa: E402
from reasoner.tools.screen.basis import BasisMarks  # noqa: E402
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


def columnar(ctx: Scenario, path: Path, fmt: str = "csv", sql: bool = True,
             **opts: Any) -> tuple[dict[str, dict[str, Any]], list[Any]]:
    """Decisions by transaction, and the rejected rows."""
    s = ColumnarScreen(ctx, str(path), **opts)
    try:
        rejected = s.accept_file(str(path), fmt) if sql else None
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


def coded(record: dict[str, Any]) -> dict[str, Any]:
    """A decision record whose ruled-out entries are only their code and citation."""
    out = dict(record)
    out["ruled_out"] = [{"exception": x["exception"], "citation": x["citation"]}
                        for x in record["ruled_out"]]
    return out


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# ---- equality with decide ----------------------------------------------------------------


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: Path(p).stem)
def test_screen_equals_decide_on_the_bundled_scenarios(path: str, tmp_path: Path) -> None:
    scenario = load_scenario(path)
    book = write_book(scenario, tmp_path / "book.csv")
    got, rejected = columnar(scenario, book)
    assert not rejected
    for d in decide(scenario).decisions:
        assert got[d.transaction] == coded(decision_record(d)), d.transaction


def test_orders_equal_decide_sql_and_row_validation() -> None:
    ctx = load_scenario(CONTEXT, require_transactions=False)
    rows = [r.values for r in read_rows(str(DATA / "orders.csv"), "csv")]
    assert all(rows)
    from reasoner.tools.screen.screener import validate_row

    txs = [validate_row(r, ctx, str(DATA / "orders.csv"))
           for r in read_rows(str(DATA / "orders.csv"), "csv")]
    want = {d.transaction: coded(decision_record(d))
            for d in decide(ctx.with_transactions(txs)).decisions}
    for sql in (True, False):
        got, rejected = columnar(ctx, DATA / "orders.csv", sql=sql)
        assert not rejected and got == want


# ---- equality with the earlog engine on generated books ---------------------------------------


def _both(tmp_path: Path, book: Path, ctx: Path, *opts: str, fmt: str = "csv") -> tuple[str, str]:
    outs = []
    for engine in ("duckdb", "earlog"):
        out = tmp_path / f"{engine}.{fmt}"
        code, _, err = run(str(book), "--context", str(ctx), "--engine", engine, "-o", str(out),
                           "--format", fmt, "--rejects", str(tmp_path / f"{engine}.rej.csv"),
                           *opts)
        assert code in (0, 3), err
        assert "Traceback" not in err
        outs.append(out.read_text(encoding="utf-8"))
    return outs[0], outs[1]


@pytest.mark.parametrize("regime", ["ifr", "enforced"])
def test_generated_book_equals_the_earlog_engine(tmp_path: Path, screen_data: Any,
                                                 regime: str) -> None:
    """An unsorted book of many consignees crossing the LPP cap, D:5 parents, VEUs, model
    weights, every exception: the two engines' CSV files are equal byte for byte."""
    ctx = screen_data.write_context(tmp_path / "context.yaml", consignees=40, seed=11)
    book = screen_data.write_rows(tmp_path / "book.csv", 2500, "csv", consignees=40, seed=11,
                                  shuffle=0.3)
    duck, earlog = _both(tmp_path, book, ctx, "--regime", regime)
    assert duck == earlog
    rows = read_csv(duck)
    assert len(rows) == 2500
    codes = {c for r in rows for c in r["exceptions"].split(";") if c}
    ruled = {x.split("=")[0] for r in rows for x in r["ruled_out"].split(";") if x}
    assert ruled == {"AIA", "ACM", "LPP", "NAC", "ACA", "UVEU", "NVEU"}
    if regime == "ifr":  # (the enforced posture needs no license for most of the book)
        assert codes == {"AIA", "ACM", "LPP", "NAC", "ACA", "UVEU", "NVEU"}
        assert any(r["outcome"] == "license_required" and "LPP=15 CFR 740.29(a)"
                   in r["ruled_out"] for r in rows)  # a consignee over the LPP cap
        assert any("U-ULTIMATE-PARENT" in r["uncertainties"] for r in rows)  # D:5 parents
    else:
        assert codes >= {"ACM", "NAC", "ACA"}


def test_generated_book_jsonl_equals_the_earlog_engine(tmp_path: Path, screen_data: Any) -> None:
    """JSONL: every field equal; a ruled-out entry as its code and citation."""
    ctx = screen_data.write_context(tmp_path / "context.yaml", consignees=30, seed=5)
    book = screen_data.write_rows(tmp_path / "book.jsonl", 1500, "jsonl", consignees=30, seed=5,
                                  shuffle=0.2)
    duck, earlog = _both(tmp_path, book, ctx, fmt="jsonl")
    want = [coded(json.loads(line)) for line in earlog.splitlines()]
    assert [json.loads(line) for line in duck.splitlines()] == want
    assert duck == "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in want)


@pytest.mark.parametrize("regime", ["ifr", "enforced"])
def test_10k_generated_book_equals_the_earlog_engine(tmp_path: Path, screen_data: Any,
                                                     regime: str) -> None:
    ctx = screen_data.write_context(tmp_path / "context.yaml")
    book = screen_data.write_rows(tmp_path / "book.csv", 10_000, "csv", shuffle=0.1)
    duck, earlog = _both(tmp_path, book, ctx, "--regime", regime)
    assert duck == earlog


def test_as_of_equals_the_earlog_engine(tmp_path: Path, screen_data: Any) -> None:
    ctx = screen_data.write_context(tmp_path / "context.yaml", consignees=20, seed=2)
    book = screen_data.write_rows(tmp_path / "book.csv", 600, "csv", consignees=20, seed=2)
    for day in ("2025-03-01", "2026-08-01"):
        duck, earlog = _both(tmp_path, book, ctx, "--as-of", day)
        assert duck == earlog, day


def test_a_randomly_ordered_book_is_decided_in_full(tmp_path: Path, screen_data: Any) -> None:
    """By default the engine sorts: a book in random date order has no row rejected, and its
    decisions equal those of the same book in date order (rows of one day keep their
    order: it decides which of them fits under the LPP cap first)."""
    ctx = screen_data.write_context(tmp_path / "context.yaml", consignees=60, seed=4)
    rows = list(screen_data.rows(20_000, consignees=60, seed=4))
    random.Random(9).shuffle(rows)
    book = tmp_path / "random.csv"
    with book.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, TX_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    out = tmp_path / "out.csv"
    code, _, err = run(str(book), "--context", str(ctx), "-o", str(out))
    assert code == 0, err
    assert "20000 decided, 0 rejected" in err
    got = read_csv(out.read_text(encoding="utf-8"))
    assert [r["transaction"] for r in got] == [r["id"] for r in rows]
    ordered = tmp_path / "ordered.csv"
    with ordered.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, TX_COLUMNS)
        w.writeheader()
        w.writerows(sorted(rows, key=lambda r: r["date"]))
    code, _, err = run(str(ordered), "--context", str(ctx), "-o", str(tmp_path / "o2.csv"))
    assert code == 0, err
    by_id = {r["transaction"]: r for r in read_csv((tmp_path / "o2.csv").read_text())}
    assert all(by_id[r["transaction"]] == r for r in got)
    code, _, err = run(str(book), "--context", str(ctx), "-o", str(tmp_path / "o3.csv"),
                       "--no-sort")
    assert code == 3 and "out of date order" in err


# ---- formats -------------------------------------------------------------------------------


def _parquet(src: Path, dst: Path) -> Path:
    import duckdb

    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_csv('{src}', all_varchar=true)) TO '{dst}' "
                "(FORMAT parquet)")
    con.close()
    return dst


def _read_parquet(path: Path) -> list[tuple[Any, ...]]:
    import duckdb

    con = duckdb.connect()
    try:
        return con.execute(f"SELECT * FROM read_parquet('{path}')").fetchall()
    finally:
        con.close()


def test_parquet_in_and_out(tmp_path: Path, screen_data: Any) -> None:
    ctx = screen_data.write_context(tmp_path / "context.yaml", consignees=20, seed=8)
    book = screen_data.write_rows(tmp_path / "book.csv", 800, "csv", consignees=20, seed=8,
                                  shuffle=0.2)
    pq = _parquet(book, tmp_path / "book.parquet")
    code, from_csv, err = run(str(book), "--context", str(ctx),
                              "--rejects", str(tmp_path / "r0.csv"))
    assert code == 0, err
    code, from_pq, err = run(str(pq), "--context", str(ctx), "--rejects", str(tmp_path / "r1.csv"))
    assert code == 0, err
    assert from_pq == from_csv
    outs = []
    for engine in ("duckdb", "earlog"):
        out = tmp_path / f"{engine}.parquet"
        code, _, err = run(str(pq), "--context", str(ctx), "--engine", engine, "--format",
                           "parquet", "-o", str(out), "--rejects", str(tmp_path / "r2.csv"))
        assert code == 0, err
        outs.append(_read_parquet(out))
    assert outs[0] == outs[1]
    assert len(outs[0]) == 800
    first = outs[0][0]
    assert first[0] == read_csv(from_csv)[0]["transaction"]
    code, _, err = run(str(book), "--context", str(ctx), "--format", "parquet")
    assert code == 2 and "needs -o" in err


def test_jsonl_input(tmp_path: Path) -> None:
    code, out_csv, err = run(str(DATA / "orders.csv"), "--context", str(CONTEXT),
                             "--rejects", str(tmp_path / "r1.csv"))
    assert code == 0, err
    code, out_jsonl, err = run(str(DATA / "orders.jsonl"), "--context", str(CONTEXT),
                               "--rejects", str(tmp_path / "r2.csv"))
    assert code == 0, err
    assert out_jsonl == out_csv


def test_canonical_rows_in_sql_equal_the_row_validation(tmp_path: Path) -> None:
    """Rows in SQL (canonical) and rows through the row validation: the same rejects, the
    same decisions, whichever path each row takes."""
    lines = (DATA / "orders.csv").read_text().splitlines()
    body = lines[1:] + [
        "p1,export,2025-03-03,nvidia_us,us,SG,sg_a,h100,,600,inference,",   # lower case
        "p2,export,2025-03-03,nvidia_us,US,SG,sg_a,h100,,0600,inference,",  # leading zero
        "p3,export,2025-02-30,nvidia_us,US,SG,sg_a,h100,,600,inference,",   # no such day
        "p4,Export,2025-03-03,nvidia_us,US,SG,sg_a,h100,,600,inference,",   # capital
        "a1,export,2025-03-03,nvidia_us,US,SG,sg_a,h100,,600,inference,",   # duplicate id
        "p5,export,2025-03-03,nvidia_us,US,SG,sg_a,,frontier,,other,",
        "p6,export,2025-03-03,nvidia_us,US,SG,sg_a,h100,frontier,600,inference,",
        "p7,export,2025-03-03,nvidia_us,US,SG,sg_a,h100,,600,inference,null",
        "p 8,export,2025-03-03,nvidia_us,US,SG,sg_a,h100,,600,inference,",
    ]
    book = tmp_path / "book.csv"
    book.write_text("\n".join([lines[0], *body]) + "\n")
    ctx = load_scenario(CONTEXT, require_transactions=False)
    in_sql, rej_sql = columnar(ctx, book, sql=True)
    by_row, rej_row = columnar(ctx, book, sql=False)
    assert in_sql == by_row
    assert [(r.line, r.reason) for r in rej_sql] == [(r.line, r.reason) for r in rej_row]
    assert {r.line for r in rej_sql} >= {16, 17, 18}  # a bad date, a bad type, a duplicate


@pytest.mark.parametrize("text, plain", [
    (b"a,b\r\n1,2\r\n3,4\r\n", True), (b"a,b\n1,2\n3,4\n", True),
    (b"a,b\r\n1,2\r3,4\r\n", False), (b"a,b\n1,2\n\n3,4\n", False),
    (b"a,b\r\n1,2\r\n\r\n3,4\r\n", False), (b'a,b\n1,"2"\n', False),
    (b"a,b\n1,2\r", False), (b"\xef\xbb\xbfa,b\n1,2\n", False),
], ids=["crlf", "lf", "lone-cr", "blank", "blank-crlf", "quote", "cr-at-end", "bom"])
def test_plain_csv_whatever_the_block_boundaries(tmp_path: Path, text: bytes, plain: bool) -> None:
    """A CSV file is plain (each line one row, read in SQL) or not, wherever its blocks are
    cut: a CR LF split by a boundary is no lone CR."""
    from reasoner.tools.screen.staging import _plain

    path = tmp_path / "book.csv"
    path.write_bytes(text)
    assert {_plain(str(path), size) for size in range(1, len(text) + 2)} == {plain}


# ---- proofs -------------------------------------------------------------------------------


def test_explain_dir_proves_on_slices_that_agree(tmp_path: Path) -> None:
    proofs = tmp_path / "proofs"
    code, stdout, err = run(str(DATA / "orders.csv"), "--context", str(CONTEXT),
                            "--explain-dir", str(proofs), "--rejects", str(tmp_path / "r.csv"))
    assert code == 0, err
    wanted = {r["transaction"] for r in read_csv(stdout)
              if r["outcome"] in ("license_required", "indeterminate")}
    assert wanted == {"cn1", "a2", "my1", "b3"}
    assert {p.stem for p in proofs.iterdir()} == wanted
    text = (proofs / "b3.json").read_text()
    assert "15 CFR 740.29(a)" in text and "LPP" in text
    assert "proofs: 4 in" in err


@pytest.mark.parametrize("engine", ["duckdb", "earlog"])
def test_a_proof_that_cannot_be_written_is_warned_of_and_the_run_goes_on(
        tmp_path: Path, engine: str) -> None:
    proofs = tmp_path / "proofs"
    (proofs / "b3.json" / "in-the-way").mkdir(parents=True)  # b3's proof cannot be renamed there
    out = tmp_path / "out.csv"
    code, _, err = run(str(DATA / "orders.csv"), "--context", str(CONTEXT), "--engine", engine,
                       "--explain-dir", str(proofs), "-o", str(out),
                       "--rejects", str(tmp_path / "r.csv"))
    assert code == 0, err
    assert f"orders.csv:9: warning: proof not written: cannot write '{proofs / 'b3.json'}'" in err
    assert {p.stem for p in proofs.iterdir() if p.is_file()} == {"cn1", "a2", "my1"}
    assert "proofs: 3 in" in err and "; 1 not written (see the warnings above)" in err
    assert "b3" in {r["transaction"] for r in read_csv(out.read_text(encoding="utf-8"))}


def test_slice_disagreement_is_an_error(tmp_path: Path) -> None:
    from reasoner.tools.screen.proofs import SliceExplainer

    ctx = load_scenario(CONTEXT, require_transactions=False)
    s = ColumnarScreen(ctx, str(DATA / "orders.csv"))
    try:
        s.accept_file(str(DATA / "orders.csv"), "csv")
        s.decide()
        line, record = next(iter(s.records(outcomes=["license_required"])))
        SliceExplainer(s).decide([(line, record)])
        wrong = dict(record, citations=["15 CFR 999.9"])
        with pytest.raises(EngineError, match="differ in citations"):
            SliceExplainer(s).decide([(line, wrong)])
    finally:
        s.close()


# ---- the machinery -------------------------------------------------------------------------


def test_marks_number_citations_as_the_decision_does() -> None:
    from reasoner.law.decision import _Marks
    from reasoner.law.rulebook import load_rulebook

    for regime in ("ifr", "enforced"):
        book = load_rulebook(regime)
        mine, theirs = BasisMarks(book), _Marks(book)
        assert mine.own == theirs.own and mine.names == theirs.names


def test_partitions_decide_alike(tmp_path: Path, screen_data: Any) -> None:
    """A book split by consignee into partitions decided one after another (as a big one
    is) gets the decisions of the whole book at once."""
    ctx_path = screen_data.write_context(tmp_path / "context.yaml", consignees=30, seed=6)
    book = screen_data.write_rows(tmp_path / "book.csv", 1200, "csv", consignees=30, seed=6,
                                  shuffle=0.2)
    ctx = load_scenario(ctx_path, require_transactions=False)
    whole, _ = columnar(ctx, book)
    for lanes in (1, 3):  # in turn, and three at once (4 partitions become 6)
        parts, _ = columnar(ctx, book, partition_rows=300, lanes=lanes)
        assert parts == whole and len(whole) == 1200
    slices = []
    for size in (None, 300):  # the slices proofs read: the staged rows, kept whole
        s = ColumnarScreen(ctx, str(book), partition_rows=size)
        try:
            assert s.accept_file(str(book), "csv") == []
            s.decide()
            slices.append(s.rows([2, 500, 1201]))
        finally:
            s.close()
    assert slices[0] == slices[1] and len(slices[0]) > 3


def test_a_failing_lane_stops_the_others_and_raises(tmp_path: Path, screen_data: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An error in one lane reaches the caller as itself, once the other lanes stopped; the
    partitions after it are not decided."""
    ctx_path = screen_data.write_context(tmp_path / "context.yaml", consignees=30, seed=6)
    book = screen_data.write_rows(tmp_path / "book.csv", 1200, "csv", consignees=30, seed=6)
    ctx = load_scenario(ctx_path, require_transactions=False)
    started: list[int] = []
    real = ColumnarScreen._compile

    def compile_or_fail(self: ColumnarScreen) -> Any:
        started.append(1)
        if len(started) == 2:
            raise EngineError("lane failed on purpose")
        return real(self)

    monkeypatch.setattr(ColumnarScreen, "_compile", compile_or_fail)
    s = ColumnarScreen(ctx, str(book), partition_rows=100, lanes=2)
    try:
        assert s.accept_file(str(book), "csv") == []
        with pytest.raises(EngineError, match="lane failed on purpose"):
            s.decide()
        assert len(started) < 12 and not s.decided
    finally:
        s.close()


def test_progress_counts_rows_decided(tmp_path: Path, screen_data: Any) -> None:
    """Progress is in rows: it only grows, moves with the strata of each partition (not
    only when one ends), and ends at every row decided; one lane or two."""
    ctx_path = screen_data.write_context(tmp_path / "context.yaml", consignees=30, seed=6)
    book = screen_data.write_rows(tmp_path / "book.csv", 900, "csv", consignees=30, seed=6)
    ctx = load_scenario(ctx_path, require_transactions=False)
    for lanes, size in ((1, None), (1, 300), (2, 300)):
        calls: list[tuple[int, int]] = []
        s = ColumnarScreen(ctx, str(book), partition_rows=size, lanes=lanes)
        try:
            assert s.accept_file(str(book), "csv") == []
            s.decide(on_step=lambda done, total: calls.append((done, total)))
        finally:
            s.close()
        done = [d for d, _ in calls]
        assert {t for _, t in calls} == {900}
        assert done == sorted(done) and done[-1] == 900
        parts = 1 if size is None else 3 if lanes == 1 else 4  # a multiple of the lanes
        assert len(set(done)) > 10 * parts, (lanes, size)  # the strata move it


def test_lanes_share_duckdbs_threads_while_they_run(tmp_path: Path, screen_data: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ctx_path = screen_data.write_context(tmp_path / "context.yaml", consignees=30, seed=6)
    book = screen_data.write_rows(tmp_path / "book.csv", 600, "csv", consignees=30, seed=6)
    ctx = load_scenario(ctx_path, require_transactions=False)
    seen: list[int] = []
    real = ColumnarScreen._decide_lane

    def spy(self: ColumnarScreen, *args: Any) -> None:
        seen.append(int(self.execute("SELECT current_setting('threads')")[0][0]))
        real(self, *args)

    monkeypatch.setattr(ColumnarScreen, "_decide_lane", spy)
    for lanes, size, during in ((2, 300, [2, 2]), (2, None, [4])):  # one partition: one lane
        seen.clear()
        s = ColumnarScreen(ctx, str(book), threads=4, lanes=lanes, partition_rows=size)
        try:
            assert s.accept_file(str(book), "csv") == []
            s.decide()
            assert seen == during
            assert s.execute("SELECT current_setting('threads')")[0][0] == 4  # staging, writing
        finally:
            s.close()


def test_cli_progress_counts_rows_through_the_stages(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["screen", str(DATA / "orders.csv"), "--context",
                                      str(CONTEXT), "-o", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.stderr
    frames = [f.strip() for f in result.stderr.split("\r")]
    n = len(read_csv((DATA / "orders.csv").read_text()))  # every row is decided
    stages = [f.split(":")[0] for f in frames if "%|" in f]
    assert {"reading", "loading", "evaluating", "ruling out", "deciding", "writing"} <= set(stages)
    deciding = [f for f in frames if f.startswith(("evaluating:", "ruling out:"))]
    assert all(f"/{n:.1f} " in f and "rows" in f for f in deciding), deciding
    assert any(f"{n:.1f}/{n:.1f}" in f for f in frames if f.startswith("ruling out:"))


def test_memory_limit_decides_alike(tmp_path: Path) -> None:
    code, plain, err = run(str(DATA / "orders.csv"), "--context", str(CONTEXT),
                           "--rejects", str(tmp_path / "r1.csv"))
    assert code == 0, err
    code, limited, err = run(str(DATA / "orders.csv"), "--context", str(CONTEXT),
                             "--memory-limit", "500MB", "--rejects", str(tmp_path / "r2.csv"))
    assert code == 0, err
    assert limited == plain
    code, _, err = run(str(DATA / "orders.csv"), "--context", str(CONTEXT),
                       "--memory-limit", "lots", "--rejects", str(tmp_path / "r3.csv"))
    assert code == 1 and "DuckDB refused the setting" in err and "Traceback" not in err


def test_empty_book(tmp_path: Path) -> None:
    book = tmp_path / "empty.csv"
    book.write_text(",".join(TX_COLUMNS) + "\n")
    for engine in ("duckdb", "earlog"):
        code, out, err = run(str(book), "--context", str(CONTEXT), "--engine", engine)
        assert code == 0, err
        assert out == ",".join(DECISION_COLUMNS) + "\n"
        assert "0 decided, 0 rejected" in err


def test_bad_files_are_clean_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    code, _, err = run(str(bad), "--context", str(CONTEXT), "-o", str(tmp_path / "o.csv"))
    assert code == 1 and "cannot read it as Parquet" in err and "Traceback" not in err
    wrong = _parquet(DATA / "orders.csv", tmp_path / "w.parquet")
    import duckdb

    con = duckdb.connect()
    con.execute(f"COPY (SELECT id, type FROM read_parquet('{wrong}')) TO '{tmp_path / 'c.parquet'}' "
                "(FORMAT parquet)")
    con.close()
    code, _, err = run(str(tmp_path / "c.parquet"), "--context", str(CONTEXT),
                       "-o", str(tmp_path / "o.csv"))
    assert code == 1 and "missing date" in err and "Traceback" not in err
    code, _, err = run(str(tmp_path / "nothing.csv"), "--context", str(CONTEXT))
    assert code == 1 and "no such file" in err
    header = tmp_path / "header.csv"
    header.write_text("id,type,when\nx,export,2025-01-01\n")
    code, _, err = run(str(header), "--context", str(CONTEXT), "-o", str(tmp_path / "o.csv"))
    assert code == 1 and f"{header}:1: the header must name exactly" in err
    assert not (tmp_path / "o.csv").exists()


def test_marks_follow_the_first_derivation() -> None:
    """A fact with two matches of its rule carries the marks of the match whose premises
    come first (body order, value order), as the evaluator's provenance records it, not
    the or of both."""
    from reasoner.engine.seminaive import SemiNaiveEngine
    from reasoner.engine.sql.compiler import DUCKDB, table_name
    from reasoner.engine.sql.duckdb_engine import connect, create_tables, executor
    from reasoner.engine.sql.runner import load_rows, prepare, run_steps
    from reasoner.lang.checks import check
    from reasoner.lang.syntax import parse_program

    text = """
        base(1). base(2). s("x").
        q(X) :- base(X), X = 1.
        q(X) :- base(X), X = 2.
        h(T) :- s(T), q(Y).
        k(T) :- q(Y), s(T).
    """
    checked = check(parse_program(text))
    marks = [0] * len(checked.rules)
    marks[0], marks[1] = 1, 2  # the two rules of q
    ours = SemiNaiveEngine().evaluate(checked)
    assert ours.provenance is not None
    memo: dict[Any, int] = {}
    want = {p: ours.provenance.rule_closure((p, ("x",)), marks, memo) for p in ("h", "k")}
    assert want == {"h": 1, "k": 1}  # q(1) comes first
    rows: dict[str, set[tuple[Any, ...]]] = {}
    for f in checked.program.facts:
        rows.setdefault(f.pred, set()).add(f.values)
    sql = prepare(checked, rows, DUCKDB, marks)
    con = connect(1)
    try:
        ex = executor(con)
        create_tables(ex, sql)
        for pred, rs in rows.items():
            load_rows(ex, sql, pred, rs)
        run_steps(ex, sql)
        got = {p: ex(f"SELECT m0 FROM {table_name(p)}")[0][0] for p in ("h", "k")}
    finally:
        con.close()
    assert got == want
