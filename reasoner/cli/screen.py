"""The ``screen`` command: a whole order book, streamed in chunks."""

from __future__ import annotations

import os
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
@click.option("--input-format", type=click.Choice(["csv", "jsonl"]), default=None,
              help="Format of FILE (default: by extension, .csv or .jsonl).")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv",
              show_default=True, help="Format of the decisions.")
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
@click.option("--sort", "sort_rows", is_flag=True,
              help="Sort the rows by date first (on-disk merge sort, bounded memory); decisions "
                   "then come out in date order. Without it, a row dated before an earlier row "
                   "of the same consignee and calendar year is rejected.")
@click.option("--jobs", type=click.IntRange(min=1), default=lambda: _cpus(),
              show_default="the number of CPUs",
              help="Worker processes; consignees are split between them (1: decide "
                   "in this process).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None,
              help="Rows decided together per worker (default 1000).")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Progress bar on stderr.")
def screen_cmd(file: str, context_path: str, input_format: str | None, fmt: str,
               output: str | None, rejects: str | None, explain_dir: str | None,
               explain_format: str, regime: str | None, as_of: Any, sort_rows: bool, jobs: int,
               chunk_size: int | None, progress: bool) -> None:
    """Decide every transaction of a CSV or JSONL FILE against a CONTEXT scenario.

    FILE has one transaction per row, with exactly the transaction fields of the
    scenario format as columns (an empty cell is null):

    \b
      id,type,date,exporter,from,to,ultimate_consignee,item,model,quantity,
      end_use,final_destination

    The decisions (the fields of the JSON decision contract, lists joined with
    ';' in CSV) stream to stdout or -o, in file order. A summary goes to stderr.

    LPP is counted per consignee and calendar year across the whole file, in date
    order: within each consignee and year, rows must not go back in date (such a
    row is rejected), unless --sort is given.

    A row that fails validation is reported on stderr (file:line: error: ...) and
    written to the rejects file with its line and the reason; the run goes on.

    \b
    Exit codes:
      0  every row was decided
      3  some rows were rejected (the others were decided; see the rejects file)
      1  bad input as a whole (context, CSV header, unreadable file): nothing written
      2  command-line usage error
    """
    code = guarded(_screen)(file, context_path, input_format, fmt, output, rejects, explain_dir,
                             explain_format, regime, as_of.date() if as_of else None, sort_rows,
                             jobs, chunk_size, progress)
    if code:
        sys.exit(code)


def _cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _screen(file: str, context_path: str, input_format: str | None, fmt: str,
            output: str | None, rejects: str | None, explain_dir: str | None,
            explain_format: str, regime: str | None, as_of: Any, sort_rows: bool, jobs: int,
            chunk_size: int | None, progress: bool) -> int:
    import time

    from reasoner.law.scenario import load_scenario
    from reasoner.tools.screen.screener import CHUNK_SIZE, Rejected, Screener, Summary, decision_record
    from reasoner.tools.screen.files import (AtomicFile, DecisionWriter, RejectWriter, input_format as pick_format,
                           proof_name, read_rows)

    kind = pick_format(file, input_format)
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
    screener = Screener(context, file, regime=regime, as_of=as_of,
                        chunk_size=chunk_size or CHUNK_SIZE,
                        proofs=explain_format if proof_dir else None, jobs=jobs, sort=sort_rows)
    out = AtomicFile(output, stdout=sys.stdout)
    rej = AtomicFile(rejects_path)
    writer, rejected = DecisionWriter(out, fmt), RejectWriter(rej)
    summary = Summary()
    bar = _progress_bar(file, progress)
    started = time.perf_counter()
    unwritten = 0
    try:
        for result in screener.run(read_rows(file, kind, on_bytes=bar.update)):
            summary.add(result)
            if isinstance(result, Rejected):
                rejected.write(result.line, result.reason, result.cells)
                for d in result.diagnostics:
                    bar.write(f"{file}:{result.line}: error: {d.message}"
                              + (f" (hint: {d.hint})" if d.hint else ""), file=sys.stderr)
                continue
            writer.write(decision_record(result.decision))
            if proof_dir is not None and result.proof is not None:
                name = proof_name(result.decision.transaction, result.line, explain_format)
                try:
                    write_atomic(proof_dir / name, result.proof)
                except EarlogError as exc:  # one proof lost is no reason to stop the run
                    unwritten += 1
                    bar.write(f"{file}:{result.line}: warning: proof not written: {exc}",
                              file=sys.stderr)
            if summary.decided % 500 == 0:
                bar.set_postfix(decided=summary.decided, rejected=summary.rejected, refresh=False)
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


def _progress_bar(file: str, enabled: bool) -> Any:
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: workers are forked
    try:
        total = Path(file).stat().st_size
    except OSError:
        total = None
    return tqdm(total=total, unit="B", unit_scale=True, desc="screening", file=sys.stderr,
                disable=not enabled, mininterval=0.5, leave=False)


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
