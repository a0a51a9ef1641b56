"""Bulk screening: CSV/JSONL in and out, rejects, LPP across chunks, and equality with decide."""

from __future__ import annotations

from dataclasses import replace

import csv
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reasoner.cli import cli
from reasoner.law.decision import Decision, decide
from reasoner.law.scenario import Scenario, load_scenario
from reasoner.tools.screen.screener import Rejected, Screened, Screener, decision_record
from reasoner.tools.screen.files import DECISION_COLUMNS, ExternalSorter, proof_name, read_rows

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "screen"
CONTEXT = DATA / "context.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["screen", *args, "--no-progress"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def context() -> Scenario:
    return load_scenario(CONTEXT, require_transactions=False)


def screen(path: Path, ctx: Scenario | None = None, fmt: str = "csv",
           **opts: Any) -> list[Screened | Rejected]:
    ctx = ctx or context()
    return list(Screener(ctx, str(path), **opts).run(read_rows(str(path), fmt)))


def assert_equals_decide(results: list[Screened | Rejected], ctx: Scenario) -> None:
    """Screened decisions equal `decide` on a scenario of the same transactions, field by
    field (the contract's fields; `conditions` are not part of screening output)."""
    screened = [r for r in results if isinstance(r, Screened)]
    by_line = sorted(screened, key=lambda r: r.line)
    reference = decide(ctx.with_transactions(r.transaction for r in by_line))
    assert len(reference.decisions) == len(screened)
    got = {r.decision.transaction: decision_record(r.decision) for r in screened}
    for d in reference.decisions:
        want = decision_record(d)
        for key in DECISION_COLUMNS:
            if key == "ruled_out":
                # the same entries; the facts behind an LPP total name the rows each path read
                # it from (screen folds earlier chunks into one carried total)
                assert [_factless(x) for x in got[d.transaction][key]] == \
                    [_factless(x) for x in want[key]], (d.transaction, key)
                continue
            assert got[d.transaction][key] == want[key], (d.transaction, key)


def _factless(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "facts"}


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# ---- equality with decide --------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 2, 5, 1000], ids=lambda n: f"chunk{n}")
def test_csv_equals_decide(chunk_size: int) -> None:
    results = screen(DATA / "orders.csv", chunk_size=chunk_size)
    assert all(isinstance(r, Screened) for r in results)
    assert [r.line for r in results] == list(range(2, 14))  # file order
    assert_equals_decide(results, context())


def test_generated_book_equals_decide_with_workers(tmp_path: Path, screen_data: Any) -> None:
    gen = screen_data
    ctx_path = gen.write_context(tmp_path / "context.yaml", consignees=6, seed=3)
    rows = gen.write_rows(tmp_path / "orders.csv", 90, "csv", consignees=6, seed=3)
    ctx = load_scenario(ctx_path, require_transactions=False)
    one = screen(rows, ctx, chunk_size=4)
    two = screen(rows, ctx, chunk_size=4, jobs=2)
    assert [_lineless(r.decision) for r in one if isinstance(r, Screened)] == \
        [_lineless(r.decision) for r in two if isinstance(r, Screened)]
    assert_equals_decide(one, ctx)
    lpp = [r for r in one if isinstance(r, Screened) and r.decision.exceptions == ("LPP",)]
    assert len(lpp) >= 5  # the book exercises LPP accumulation


def test_model_produced_in_defaults_to_first_row_across_chunks() -> None:
    results = screen(DATA / "orders.csv", chunk_size=1)
    assert_equals_decide(results, context())


# ---- LPP across chunk boundaries ---------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 3, 1000], ids=lambda n: f"chunk{n}")
def test_lpp_accumulates_across_chunks(chunk_size: int) -> None:
    got = {r.decision.transaction: r.decision for r in screen(DATA / "orders.csv",
                                                                chunk_size=chunk_size)
           if isinstance(r, Screened)}
    # sg_b: 9,499,200 TPP per 600 units; the cap is 26,900,000 per calendar year
    assert got["b1"].exceptions == ("LPP",) and got["b2"].exceptions == ("LPP",)
    assert got["b3"].outcome == "license_required"  # 28,497,600 > cap
    assert got["b4"].exceptions == ("LPP",)  # 100 units still fit: 20,581,600
    assert got["b5"].exceptions == ("LPP",)  # a new calendar year
    # sg_a: 10,000,000 in the history, then a1 uses LPP, a2 would exceed the cap
    assert got["a1"].exceptions == ("LPP",)
    assert got["a2"].outcome == "license_required"


# ---- formats ------------------------------------------------------------------------


def test_csv_and_jsonl_inputs_and_outputs_agree(tmp_path: Path) -> None:
    code, out_csv, err = run(str(DATA / "orders.csv"), "--context", str(CONTEXT),
                             "--rejects", str(tmp_path / "r1.csv"))
    assert code == 0, err
    code, out_jsonl, err = run(str(DATA / "orders.jsonl"), "--context", str(CONTEXT),
                               "--format", "jsonl", "--rejects", str(tmp_path / "r2.csv"))
    assert code == 0, err
    rows = read_csv(out_csv)
    records = [json.loads(line) for line in out_jsonl.splitlines()]
    assert list(rows[0]) == list(DECISION_COLUMNS)
    assert [r["transaction"] for r in rows] == [r["transaction"] for r in records]
    for row, rec in zip(rows, records):
        assert set(rec) == set(DECISION_COLUMNS)
        assert row["exceptions"] == ";".join(rec["exceptions"])
        assert row["citations"] == ";".join(rec["citations"])
        assert row["outcome"] == rec["outcome"]
        assert row["review_policy"] == (rec["review_policy"] or "")
        assert row["in_scope"] == ("true" if rec["in_scope"] else "false")


def test_input_format_option_overrides_extension(tmp_path: Path) -> None:
    odd = tmp_path / "orders.txt"
    odd.write_bytes((DATA / "orders.jsonl").read_bytes())
    code, _, err = run(str(odd), "--context", str(CONTEXT), "-o", str(tmp_path / "o.csv"))
    assert code == 1 and "cannot tell the format" in err
    code, _, err = run(str(odd), "--context", str(CONTEXT), "--input-format", "jsonl",
                       "-o", str(tmp_path / "o.csv"))
    assert code == 0, err
    assert len(read_csv((tmp_path / "o.csv").read_text())) == 12


# ---- bad rows --------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["duckdb", "earlog"])
def test_bad_rows_are_reported_rejected_and_counted(tmp_path: Path, engine: str) -> None:
    """With --no-sort, a row dated before an earlier row of its consignee and year is
    rejected too."""
    out = tmp_path / "decisions.csv"
    code, stdout, err = run(str(DATA / "bad.csv"), "--context", str(CONTEXT), "-o", str(out),
                            "--no-sort", "--engine", engine)
    assert code == 3
    assert stdout == ""
    decided = read_csv(out.read_text())
    assert [r["transaction"] for r in decided] == ["ok1", "ok2", "ok3"]
    rejects = read_csv((tmp_path / "decisions.rejects.csv").read_text())
    assert [(r["line"], r["id"]) for r in rejects] == [
        ("3", "x1"), ("4", "x2"), ("5", "ok1"), ("6", "x3"), ("8", "x4")]
    reasons = [r["error"] for r in rejects]
    assert reasons[0].startswith("unknown entity 'sg_z' in 'ultimate_consignee'")
    assert reasons[1].startswith("expected a date (YYYY-MM-DD) for 'date', found '2025-13-01'")
    assert reasons[2].startswith("duplicate transaction id 'ok1'") and "line 2" in reasons[2]
    assert reasons[3] == "expected 12 cells, found 10"
    assert reasons[4].startswith("out of date order: 'sg_b'") and "--sort" in reasons[4]
    bad = str(DATA / "bad.csv")
    for line in (3, 4, 5, 6, 8):
        assert f"{bad}:{line}: error: " in err
    assert "3 decided, 5 rejected" in err
    assert "rows      5" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("engine", ["duckdb", "earlog"])
def test_bad_rows_sorted_by_default(tmp_path: Path, engine: str) -> None:
    """By default the rows are sorted: the row out of date order is decided, in file order."""
    out = tmp_path / "decisions.csv"
    code, _, err = run(str(DATA / "bad.csv"), "--context", str(CONTEXT), "-o", str(out),
                       "--engine", engine)
    assert code == 3
    assert [r["transaction"] for r in read_csv(out.read_text())] == ["ok1", "ok2", "x4", "ok3"]
    rejects = read_csv((tmp_path / "decisions.rejects.csv").read_text())
    assert [r["line"] for r in rejects] == ["3", "4", "5", "6"]
    assert "4 decided, 4 rejected" in err and "Traceback" not in err


def test_rejects_file_beside_the_input_when_writing_to_stdout(tmp_path: Path) -> None:
    src = tmp_path / "book.csv"
    src.write_bytes((DATA / "bad.csv").read_bytes())
    code, stdout, _ = run(str(src), "--context", str(CONTEXT))
    assert code == 3
    assert len(read_csv(stdout)) == 4
    assert len(read_csv((tmp_path / "book.rejects.csv").read_text())) == 4


def test_no_rejects_exit_zero_and_header_only_rejects_file(tmp_path: Path) -> None:
    code, _, err = run(str(DATA / "orders.csv"), "--context", str(CONTEXT),
                       "-o", str(tmp_path / "o.jsonl"), "--format", "jsonl")
    assert code == 0, err
    assert (tmp_path / "o.rejects.csv").read_text().startswith("line,error,id,")
    assert len(read_csv((tmp_path / "o.rejects.csv").read_text())) == 0
    assert "12 decided, 0 rejected" in err


def test_jsonl_bad_lines(tmp_path: Path) -> None:
    src = tmp_path / "book.jsonl"
    good = (DATA / "orders.jsonl").read_text().splitlines()
    src.write_text("\n".join([good[0], "{not json", "[1, 2]", "",
                              json.dumps({**json.loads(good[1]), "colour": "red"}), good[2]])
                   + "\n")
    code, _, err = run(str(src), "--context", str(CONTEXT), "-o", str(tmp_path / "o.csv"))
    assert code == 3
    rejects = read_csv((tmp_path / "o.rejects.csv").read_text())
    assert [r["line"] for r in rejects] == ["2", "3", "5"]
    assert rejects[0]["error"].startswith("not JSON")
    assert rejects[1]["error"] == "expected a JSON object, found list"
    assert rejects[2]["error"].startswith("unknown key 'colour'")
    assert len(read_csv((tmp_path / "o.csv").read_text())) == 2


def test_bad_header_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "book.csv"
    src.write_text("id,type,when\nx,export,2025-01-01\n")
    out = tmp_path / "o.csv"
    code, _, err = run(str(src), "--context", str(CONTEXT), "-o", str(out))
    assert code == 1
    assert "the header must name exactly the transaction fields" in err
    assert "missing date" in err and "unknown 'when'" in err
    assert not out.exists() and not (tmp_path / "o.rejects.csv").exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_bad_context_and_context_with_transactions(tmp_path: Path) -> None:
    code, _, err = run(str(DATA / "orders.csv"), "--context", str(REPO / "facts" / "scenarios"
                                                                   / "lpp-accumulation.yaml"),
                       "-o", str(tmp_path / "o.csv"))
    assert code == 1 and "has transactions" in err
    bad = tmp_path / "ctx.yaml"
    bad.write_text("scenario: x\nentities: {a: {located_in: XX, headquartered_in: US}}\n")
    code, _, err = run(str(DATA / "orders.csv"), "--context", str(bad), "-o", str(tmp_path / "o.csv"))
    assert code == 1 and "unknown country code 'XX'" in err
    assert not (tmp_path / "o.csv").exists()


# ---- ordering ---------------------------------------------------------------------------


def test_sort_decides_an_unsorted_book_like_decide(tmp_path: Path) -> None:
    lines = (DATA / "orders.csv").read_text().splitlines()
    body = lines[1:]
    random.Random(5).shuffle(body)
    src = tmp_path / "shuffled.csv"
    src.write_text("\n".join([lines[0], *body]) + "\n")
    unsorted = screen(src)
    assert any(isinstance(r, Rejected) and "out of date order" in r.reason for r in unsorted)
    results = screen(src, sort=True, chunk_size=2, run_size=3)  # several on-disk runs
    assert all(isinstance(r, Screened) for r in results) and len(results) == 12
    dates = [r.transaction.date for r in results if isinstance(r, Screened)]
    assert dates == sorted(dates)
    want = {r.decision.transaction: r.decision for r in screen(DATA / "orders.csv")
            if isinstance(r, Screened)}
    for r in results:
        assert isinstance(r, Screened)
        assert _lineless(r.decision) == _lineless(want[r.decision.transaction])
        # the facts that rule an exception out are the shuffled book's rows or the context's
        files = {f.rpartition(":")[0] for x in r.decision.ruled_out for f in x.facts}
        assert files <= {str(src), str(CONTEXT)}


def _lineless(d: Decision) -> Decision:
    """The decision without the file:line of its ruled-out facts (they name each input's lines)."""
    return replace(d, ruled_out=tuple(replace(x, facts=()) for x in d.ruled_out))


def test_external_sorter_is_stable_across_runs() -> None:
    items = [(k % 7, k) for k in range(100)]
    sorter: ExternalSorter[tuple[int, int]] = ExternalSorter(key=lambda p: p[0], run_size=9)
    for item in items:
        sorter.add(item)
    assert list(sorter) == sorted(items, key=lambda p: p[0])


# ---- proofs --------------------------------------------------------------------------------


def test_explain_dir_writes_proofs_of_license_required_and_indeterminate(tmp_path: Path) -> None:
    # earlog's engine in chunks (the DuckDB engine's proofs on slices: test_screen_columnar)
    proofs = tmp_path / "proofs"
    code, stdout, err = run(str(DATA / "orders.csv"), "--context", str(CONTEXT),
                            "--engine", "earlog", "--explain-dir", str(proofs),
                            "--rejects", str(tmp_path / "r.csv"))
    assert code == 0, err
    wanted = {r["transaction"] for r in read_csv(stdout)
              if r["outcome"] in ("license_required", "indeterminate")}
    assert wanted == {"cn1", "a2", "my1", "b3"}
    assert {p.stem for p in proofs.iterdir()} == wanted
    doc = json.loads((proofs / "b3.json").read_text())
    text = json.dumps(doc)
    assert "15 CFR 740.29(a)" in text and "LPP" in text
    assert "proofs: 4 in" in err


def test_proofs_only_when_asked() -> None:
    results = screen(DATA / "orders.csv")
    assert all(isinstance(r, Screened) and r.proof is None for r in results)


def test_proof_names_are_safe() -> None:
    assert proof_name("tx-1.a", 2, "json") == "tx-1.a.json"
    assert proof_name("../x", 9, "svg") == ".._x-line9.svg"
    assert proof_name(".hidden", 3, "json") == ".hidden-line3.json"


# ---- the validation fast path ----------------------------------------------------------


def _mutations(row: dict[str, Any]) -> list[dict[str, Any]]:
    out = [row]
    for key in list(row):
        out.append({k: v for k, v in row.items() if k != key})
        for bad in ("", "null", " ", "x", "us", " US", "0", "-3", "1.5", "1e3", "0012",
                    "2025-02-30", "2025-2-3", "EXPORT", "true", 7):
            out.append({**row, key: bad})
    out.append({**row, "colour": "red"})
    out.append({**row, "model": "frontier"})
    out.append({**row, "quantity": 12, "item": "h100"})
    out.append({**row, "quantity": True})
    return out


def test_fast_path_equals_parse_transaction(tmp_path: Path) -> None:
    from reasoner.lang.errors import EarlogError
    from reasoner.law.scenario import parse_transaction
    from reasoner.tools.screen.screener import _FastPath
    from reasoner.lang.span import Span

    ctx = context()
    fast = _FastPath(ctx)
    rows = [r.values for r in read_rows(str(DATA / "orders.csv"), "csv")]
    rows += [r.values for r in read_rows(str(DATA / "orders.jsonl"), "jsonl")]
    taken = checked = 0
    for base in rows:
        assert base is not None
        for values in _mutations(base):
            where = Span("f.csv", 9, 1)
            got = fast.transaction(values, where)
            try:
                want = parse_transaction(values, ctx, where=where)
            except EarlogError:
                assert got is None, values
                continue
            checked += 1
            if got is not None:
                taken += 1
                assert got == want and got.span == want.span and got.spans == want.spans, values
    assert taken > 20 and checked > taken  # both paths were exercised


@pytest.mark.parametrize("regime,as_of", [("enforced", None), (None, "2026-03-01")],
                         ids=["enforced", "as-of"])
def test_regime_and_as_of_equal_decide(regime: str | None, as_of: str | None) -> None:
    import datetime as dt

    when = dt.date.fromisoformat(as_of) if as_of else None
    ctx = context()
    results = screen(DATA / "orders.csv", ctx, chunk_size=3, regime=regime, as_of=when)
    txs = [r.transaction for r in results if isinstance(r, Screened)]
    reference = decide(ctx.with_transactions(txs), regime=regime, as_of=when).decisions
    got = [r.decision for r in results if isinstance(r, Screened)]
    ignore: set[str] = set()
    want = [{k: v for k, v in decision_record(_lineless(d)).items() if k not in ignore}
            for d in reference]
    assert [{k: v for k, v in decision_record(_lineless(d)).items() if k not in ignore}
            for d in got] == want
    if when is not None:
        assert all(d.as_of == when for d in got)


def test_cli_regime_option(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    code, _, err = run(str(DATA / "orders.csv"), "--context", str(CONTEXT), "--regime",
                       "enforced", "--as-of", "2026-03-01", "-o", str(out), "--format", "jsonl")
    assert code == 0, err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["as_of"] for r in records} == {"2026-03-01"}
