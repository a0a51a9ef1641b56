"""The ``screen`` command: a whole order book, streamed in chunks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from reasoner.lang.errors import EarlogError
from reasoner.tools.screen.files import write_atomic
from reasoner.cli.common import guarded, table

__all__ = ["screen_cmd"]

# ---- bulk screening ---------------------------------------------------------------

SCREEN_REJECTED_EXIT = 3


@click.command("screen")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--context", "context_path", required=True, type=click.Path(dir_okay=False),
              help="Scenario YAML without transactions: parties, items, models, history, regime.")
@click.option("--engine", type=click.Choice(["duckdb", "earlog"]), default="duckdb",
              show_default=True,
              help="duckdb: the rulebook compiled to SQL, the whole book at once (fast); "
                   "earlog: earlog's own evaluator, chunk by chunk.")
@click.option("--input-format", type=click.Choice(["csv", "jsonl", "parquet"]), default=None,
              help="Format of FILE (default: by extension, .csv, .jsonl or .parquet).")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "parquet"]), default="csv",
              show_default=True, help="Format of the decisions (parquet needs -o).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the decisions to this file (atomically) instead of stdout.")
@click.option("--rejects", type=click.Path(dir_okay=False), default=None,
              help="Rejects file (CSV: line, error, the row's cells). Default: "
                   "<output stem>.rejects.csv beside -o, else <FILE stem>.rejects.csv beside FILE.")
@click.option("--explain-dir", type=click.Path(file_okay=False), default=None,
              help="Write the proof of every license_required or indeterminate decision here, "
                   "one file per transaction (<id>.json or <id>.svg).")
@click.option("--explain-format", type=click.Choice(["json", "svg"]), default="json",
              show_default=True, help="Format of the proofs in --explain-dir.")
@click.option("--regime", type=click.Choice(["ifr", "enforced"]), default=None,
              help="Reading of the law (default: the context's own, else ifr).")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Read the law at this date (YYYY-MM-DD) instead of each transaction's date.")
@click.option("--sort/--no-sort", "sort_rows", default=True, show_default=True,
              help="Decide the rows in date order whatever their order in FILE. --no-sort "
                   "streams the rows instead and rejects a row dated before an earlier row of "
                   "the same consignee and calendar year. (--engine earlog sorts on disk and "
                   "then writes decisions in date order.)")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="duckdb: threads; earlog: worker processes (consignees split between "
                   "them). On a busy 2-core host both engines were measured faster with 1; "
                   "raise it where cores are idle.")
@click.option("--memory-limit", default=None,
              help="duckdb: memory limit, e.g. 1GB (beyond it DuckDB spills to disk).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None,
              help="Rows decided together per worker (default 1000).")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Progress bar on stderr.")
def screen_cmd(file: str, context_path: str, input_format: str | None, fmt: str,
               output: str | None, rejects: str | None, explain_dir: str | None,
               explain_format: str, regime: str | None, as_of: Any, sort_rows: bool,
               jobs: int, chunk_size: int | None, progress: bool, engine: str,
               memory_limit: str | None) -> None:
    """Decide every transaction of a CSV or JSONL FILE against a CONTEXT scenario.

    FILE has one transaction per row, with exactly the transaction fields of the
    scenario format as columns (an empty cell is null):

    \b
      id,type,date,exporter,from,to,ultimate_consignee,item,model,quantity,
      end_use,final_destination

    The decisions (the fields of the JSON decision contract, lists joined with
    ';' in CSV) stream to stdout or -o, in file order. A summary goes to stderr.

    LPP is counted per consignee and calendar year across the whole file, in date
    order (the rows are sorted by date; with --no-sort, a row going back in date
    within its consignee and year is rejected).

    A row that fails validation is reported on stderr (file:line: error: ...) and
    written to the rejects file with its line and the reason; the run goes on.

    \b
    Exit codes:
      0  every row was decided
      3  some rows were rejected (the others were decided; see the rejects file)
      1  bad input as a whole (context, CSV header, unreadable file): nothing written
      2  command-line usage error
    """
    if fmt == "parquet" and output in (None, "-"):
        raise click.UsageError("--format parquet needs -o FILE")
    run = _screen if engine == "earlog" else _screen_columnar
    code = guarded(run)(file, context_path, input_format, fmt, output, rejects, explain_dir,
                        explain_format, regime, as_of.date() if as_of else None, sort_rows,
                        jobs, chunk_size, progress, memory_limit)
    if code:
        sys.exit(code)


def _screen(file: str, context_path: str, input_format: str | None, fmt: str,
            output: str | None, rejects: str | None, explain_dir: str | None,
            explain_format: str, regime: str | None, as_of: Any, sort_rows: bool,
            jobs: int | None, chunk_size: int | None, progress: bool,
            memory_limit: str | None = None) -> int:
    import time

    from reasoner.law.scenario import load_scenario
    from reasoner.tools.screen.screener import CHUNK_SIZE, Rejected, Screener, Summary, decision_record
    from reasoner.tools.screen.files import (AtomicFile, DecisionWriter, RejectWriter, input_format as pick_format,
                           proof_name, read_rows)

    if fmt == "parquet":
        raise EarlogError("--engine earlog writes csv or jsonl", hint="use --engine duckdb")
    kind = pick_format(file, input_format)
    context, rejects_path, proof_dir = _setup(file, context_path, output, rejects, explain_dir)
    screener = Screener(context, file, regime=regime, as_of=as_of,
                        chunk_size=chunk_size or CHUNK_SIZE,
                        proofs=explain_format if proof_dir else None, jobs=jobs or 1,
                        sort=sort_rows)
    out = AtomicFile(output, stdout=sys.stdout)
    rej = AtomicFile(rejects_path)
    writer, rejected = DecisionWriter(out, fmt), RejectWriter(rej)
    summary = Summary()
    bar = _progress_bar(file, kind, progress)
    started = time.perf_counter()
    try:
        for result in screener.run(read_rows(file, kind)):
            summary.add(result)
            bar.update(1)
            if isinstance(result, Rejected):
                rejected.write(result.line, result.reason, result.cells)
                for d in result.diagnostics:
                    bar.write(f"{file}:{result.line}: error: {d.message}"
                              + (f" (hint: {d.hint})" if d.hint else ""), file=sys.stderr)
                continue
            writer.write(decision_record(result.decision))
            if proof_dir is not None and result.proof is not None:
                name = proof_name(result.decision.transaction, result.line, explain_format)
                write_atomic(proof_dir / name, result.proof)
    except BaseException:
        out.discard()
        rej.discard()
        raise
    finally:
        bar.close()
    out.commit()
    rej.commit()
    elapsed = time.perf_counter() - started
    click.echo(_screen_summary(file, summary, rejects_path, elapsed, proof_dir), err=True)
    return SCREEN_REJECTED_EXIT if summary.rejected else 0


def _rejects_path(file: str, output: str | None, rejects: str | None) -> str:
    """--rejects, else <output stem>.rejects.csv beside -o, else beside FILE."""
    if rejects is not None:
        path = Path(rejects)
    else:
        base = Path(output) if output not in (None, "-") else Path(file)
        path = base.with_name(f"{base.stem}.rejects.csv")
    for other in (file, output):
        if other is not None and other != "-" and path.resolve() == Path(other).resolve():
            raise EarlogError(f"the rejects file '{path}' would overwrite '{other}'",
                              hint="name another one with --rejects")
    return str(path)


def _setup(file: str, context_path: str, output: str | None, rejects: str | None,
           explain_dir: str | None) -> tuple[Any, str, Path | None]:
    """The context (without transactions), the rejects file and the proof folder."""
    from reasoner.law.scenario import load_scenario

    context = load_scenario(context_path, require_transactions=False)
    if context.transactions:
        raise EarlogError(f"the context '{context_path}' has transactions",
                          context.where("transactions"),
                          "a screening context holds parties, items, models and history; "
                          "the transactions come from FILE")
    rejects_path = _rejects_path(file, output, rejects)
    proof_dir = None
    if explain_dir is not None:
        proof_dir = Path(explain_dir)
        try:
            proof_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EarlogError(f"cannot create '{explain_dir}': {exc.strerror or exc}") from None
    return context, rejects_path, proof_dir


def _progress_bar(file: str, kind: str, enabled: bool) -> Any:
    """A bar counting rows (its total the file's row count, estimated from its lines)."""
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: workers are forked
    total = None
    if enabled:
        from reasoner.tools.screen.files import count_rows

        total = count_rows(file, kind)
    return tqdm(total=total, unit=" rows", unit_scale=True, desc="screening", file=sys.stderr,
                disable=not enabled, mininterval=0.5, leave=False)


def _screen_columnar(file: str, context_path: str, input_format: str | None, fmt: str,
                     output: str | None, rejects: str | None, explain_dir: str | None,
                     explain_format: str, regime: str | None, as_of: Any, sort_rows: bool,
                     jobs: int | None, chunk_size: int | None, progress: bool,
                     memory_limit: str | None) -> int:
    """``--engine duckdb``: validate and stage every row, decide the book at once, write."""
    import time

    from reasoner.tools.screen.columnar import ColumnarScreen
    from reasoner.tools.screen.files import (AtomicFile, DecisionWriter, RejectWriter,
                                             input_format as pick_format, read_rows)
    from reasoner.tools.screen.proofs import SliceExplainer
    from reasoner.tools.screen.screener import PROOF_OUTCOMES, Summary

    kind = pick_format(file, input_format)
    context, rejects_path, proof_dir = _setup(file, context_path, output, rejects, explain_dir)
    screen = ColumnarScreen(context, file, regime=regime, as_of=as_of, sort=sort_rows,
                            threads=jobs, memory_limit=memory_limit)
    rej = AtomicFile(rejects_path)
    out: Any = None
    summary = Summary()
    bar = _progress_bar(file, kind, progress)
    started = time.perf_counter()
    try:
        rejected = RejectWriter(rej)
        bar.set_description("validating")
        found = screen.accept_file(file, kind)
        if found is not None:
            bar.update(screen.accepted + len(found))
        for r in found if found is not None else screen.accept(
                read_rows(file, kind, on_row=bar.update)):
            summary.rejected += 1
            rejected.write(r.line, r.reason, r.cells)
            for d in r.diagnostics:
                bar.write(f"{file}:{r.line}: error: {d.message}"
                          + (f" (hint: {d.hint})" if d.hint else ""), file=sys.stderr)
        screen.decide(on_stage=bar.set_description)
        bar.set_description("writing")
        out = _write_columnar(screen, output, fmt)
        summary.decided, summary.outcomes, summary.exceptions, summary.reviews = screen.counts()
        if proof_dir is not None:
            bar.set_description("proofs")
            explainer = SliceExplainer(screen, explain_format)
            for line, record in screen.records(outcomes=PROOF_OUTCOMES):
                explainer.write(proof_dir, line, record)
                summary.proofs += 1
    except BaseException:
        if out is not None:
            out.discard()
        rej.discard()
        raise
    finally:
        bar.close()
        screen.close()
    out.commit()
    rej.commit()
    elapsed = time.perf_counter() - started
    click.echo(_screen_summary(file, summary, rejects_path, elapsed, proof_dir), err=True)
    return SCREEN_REJECTED_EXIT if summary.rejected else 0


def _write_columnar(screen: Any, output: str | None, fmt: str) -> Any:
    """Write the decisions of a columnar run to ``output`` (uncommitted) or stdout."""
    from reasoner.tools.screen.files import AtomicFile, DecisionWriter

    out = AtomicFile(output, stdout=sys.stdout)
    if fmt in ("csv", "parquet") and out.tmp is not None:
        out.fh.close()
        screen.copy_to(str(out.tmp), fmt)
        out.fh = open(out.tmp, "a", encoding="utf-8")
        return out
    writer = DecisionWriter(out, fmt)
    for _, record in screen.records():
        writer.write(record)
    return out


def _screen_summary(file: str, s: Any, rejects_path: str, elapsed: float,
                    proof_dir: Path | None) -> str:
    rate = (s.decided + s.rejected) / elapsed if elapsed > 0 else 0.0
    head = (f"screened {file}: {s.decided} decided, {s.rejected} rejected "
            f"in {elapsed:.1f} s ({rate:,.0f} rows/s)")
    parts = [head]
    if s.rejected:
        parts.append(f"rejected rows: {rejects_path}")
    if proof_dir is not None:
        parts.append(f"proofs: {s.proofs} in {proof_dir}")
    for title, counts in (("outcome", s.outcomes), ("exception", s.exceptions),
                          ("review policy", s.reviews)):
        rows = [[k, str(n)] for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        parts.append(table([title, "count"], rows or [["-", "0"]]))
    parts.append(table(["rejected", "count"], [["rows", str(s.rejected)]]))
    return "\n\n".join(parts)
