"""The ``screen`` command: a whole order book, on DuckDB set-at-a-time or on earlog's evaluator in chunks."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import click

from reasoner.lang.errors import EarlogError
from reasoner.tools.screen.files import write_atomic
from reasoner.cli.common import guarded, master_option, table, use_master

__all__ = ["screen_cmd"]

# ---- bulk screening ---------------------------------------------------------------

SCREEN_REJECTED_EXIT = 3
# --jobs when not given, measured on the 2-core development host shared with other jobs
# (bench/screen.py): DuckDB was 10-20 % faster with a thread per CPU than with one;
# earlog's worker processes were slower with two than with one (issue 16).
DEFAULT_EARLOG_JOBS = 1


@click.command("screen")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--context", "context_path", required=True, type=click.Path(dir_okay=False),
              help="Scenario YAML without transactions: parties, items, models, history, regime.")
@click.option("--engine", type=click.Choice(["duckdb", "earlog", "spark"]), default="duckdb",
              show_default=True,
              help="duckdb: the rulebook compiled to SQL, the whole book at once; earlog: "
                   "earlog's own evaluator, chunk by chunk (streams with --no-sort); spark: "
                   "the compiled strata and the LPP fold on Spark (--master), the decision "
                   "fields on DuckDB.")
@master_option
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
                   "the same consignee and calendar year.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              show_default="duckdb, spark: the CPUs; earlog: 1",
              help="duckdb: partitions decided at once, and DuckDB's threads (shared out "
                   "between the partitions as they are decided; spark: its DuckDB part's "
                   "threads); earlog: worker processes (consignees are split between them). "
                   "The defaults were the fastest measured on a busy 2-core host.")
@click.option("--memory-limit", default=None,
              help="duckdb (and spark's DuckDB part): a memory limit, e.g. 1GB (DuckDB "
                   "spills to a temporary folder beyond it).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None,
              help="earlog: rows decided together per worker (default 1000).")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Progress on stderr: rows decided, rate and time left.")
def screen_cmd(file: str, context_path: str, engine: str, master: str | None,
               input_format: str | None, fmt: str,
               output: str | None, rejects: str | None, explain_dir: str | None,
               explain_format: str, regime: str | None, as_of: Any, sort_rows: bool,
               jobs: int | None, memory_limit: str | None, chunk_size: int | None,
               progress: bool) -> None:
    """Decide every transaction of a CSV, JSONL or Parquet FILE against a CONTEXT scenario.

    FILE has one transaction per row, with exactly the transaction fields of the
    scenario format as columns (an empty cell is null):

    \b
      id,type,date,exporter,from,to,ultimate_consignee,item,model,quantity,
      end_use,final_destination

    The decisions (the fields of the JSON decision contract, lists joined with
    ';' in CSV, a ruled-out exception as CODE=citation) go to stdout or -o, in
    file order. A summary goes to stderr. The two engines write the same decisions;
    with --engine earlog, JSONL ruled-out entries also carry their reason and facts.

    LPP is counted per consignee and calendar year across the whole file, in date
    order: the rows are sorted by date (with --no-sort, a row going back in date
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
    use_master(engine, master)
    run = {"earlog": _screen_earlog, "duckdb": _screen_duckdb, "spark": _screen_spark}[engine]
    code = guarded(run)(file, context_path, input_format, fmt, output, rejects, explain_dir,
                        explain_format, regime, as_of.date() if as_of else None, sort_rows,
                        jobs, chunk_size, progress, memory_limit)
    if code:
        sys.exit(code)


# ---- earlog's evaluator, chunk by chunk ---------------------------------------------


def _screen_earlog(file: str, context_path: str, input_format: str | None, fmt: str,
                   output: str | None, rejects: str | None, explain_dir: str | None,
                   explain_format: str, regime: str | None, as_of: Any, sort_rows: bool,
                   jobs: int | None, chunk_size: int | None, progress: bool,
                   memory_limit: str | None) -> int:
    from reasoner.tools.screen.files import input_format as pick_format, read_rows, proof_name
    from reasoner.tools.screen.screener import CHUNK_SIZE, Rejected, Screener, Summary, decision_record

    kind = pick_format(file, input_format)
    context, rejects_path, proof_dir = _setup(file, context_path, output, rejects, explain_dir)
    screener = Screener(context, file, regime=regime, as_of=as_of,
                        chunk_size=chunk_size or CHUNK_SIZE,
                        proofs=explain_format if proof_dir else None,
                        jobs=jobs or DEFAULT_EARLOG_JOBS, sort=sort_rows)
    out, writer = _writer(output, fmt)
    rej = _rejects_file(rejects_path)
    summary = Summary()
    bar = _Progress(file, kind, progress)
    started = time.perf_counter()
    unwritten = _unwritten(bar, file, summary)
    try:
        results = screener.run(read_rows(file, kind))
        for result in _file_order(results) if sort_rows else results:
            summary.add(result)
            if isinstance(result, Rejected):
                bar.rejected(file, result)
                rej.writer.write(result.line, result.reason, result.cells)
                continue
            bar.decided(1)
            writer.write(decision_record(result.decision))
            if proof_dir is not None and result.proof is not None:
                name = proof_name(result.decision.transaction, result.line, explain_format)
                try:
                    write_atomic(proof_dir / name, result.proof)
                except EarlogError as exc:  # one proof lost is no reason to stop the run
                    unwritten(result.line, exc)
                else:
                    summary.proofs += 1
    except BaseException:
        out.discard()
        rej.file.discard()
        raise
    finally:
        bar.close()
    out.commit()
    rej.file.commit()
    elapsed = time.perf_counter() - started
    click.echo(_screen_summary(file, summary, rejects_path, elapsed, proof_dir), err=True)
    return SCREEN_REJECTED_EXIT if summary.rejected else 0


def _unwritten(bar: "_Progress", file: str, summary: Any) -> Callable[[int, EarlogError], None]:
    """What to do with a proof that could not be written: warn, count it, go on (one
    proof lost is no reason to lose the run's decisions)."""
    def warn(line: int, exc: EarlogError) -> None:
        summary.unwritten += 1
        bar.write(f"{file}:{line}: warning: proof not written: {exc}")
    return warn


def _file_order(results: Iterable[Any]) -> Iterator[Any]:
    """Rejected rows as they come; the decisions (date order when sorting) back in file
    order, through an on-disk merge sort (bounded memory)."""
    from reasoner.tools.screen.files import ExternalSorter
    from reasoner.tools.screen.screener import Rejected

    sorter: ExternalSorter[Any] = ExternalSorter(key=lambda r: r.line)
    try:
        for result in results:
            if isinstance(result, Rejected):
                yield result
            else:
                sorter.add(result)
        yield from sorter
    finally:
        sorter.close()


# ---- DuckDB, set-at-a-time --------------------------------------------------------------


def _screen_duckdb(*args: Any) -> int:
    """Validate and stage every row, decide the book at once on DuckDB, write."""
    from reasoner.tools.screen.columnar import ColumnarScreen

    return _screen_columnar(ColumnarScreen, *args)


def _screen_spark(*args: Any) -> int:
    """As ``_screen_duckdb``, with the strata and the LPP fold on Spark."""
    from reasoner.tools.screen.sparkscreen import SparkScreen

    return _screen_columnar(SparkScreen, *args)


def _screen_columnar(make: Any, file: str, context_path: str, input_format: str | None, fmt: str,
                     output: str | None, rejects: str | None, explain_dir: str | None,
                     explain_format: str, regime: str | None, as_of: Any, sort_rows: bool,
                     jobs: int | None, chunk_size: int | None, progress: bool,
                     memory_limit: str | None) -> int:
    """Validate and stage every row, decide the book at once (``make``: the screen's
    class), write."""
    from reasoner.tools.screen.files import input_format as pick_format, read_rows
    from reasoner.tools.screen.screener import PROOF_OUTCOMES, Summary

    kind = pick_format(file, input_format)
    context, rejects_path, proof_dir = _setup(file, context_path, output, rejects, explain_dir)
    screen = make(context, file, regime=regime, as_of=as_of, sort=sort_rows,
                  threads=jobs, memory_limit=memory_limit)
    rej = _rejects_file(rejects_path)
    out: Any = None
    summary = Summary()
    bar = _Progress(file, kind, progress)
    started = time.perf_counter()
    try:
        bar.stage("reading")
        found = screen.accept_file(file, kind)
        if found is not None:
            bar.read(screen.execute("SELECT COUNT(*) FROM txs")[0][0] + len(found))
        rows = read_rows(file, kind)
        for r in found if found is not None else screen.accept(bar.counting(rows)):
            summary.rejected += 1
            bar.rejected(file, r)
            rej.writer.write(r.line, r.reason, r.cells)
        bar.stage("deciding")
        screen.decide(on_stage=bar.describe, on_step=bar.step)
        summary.decided, summary.outcomes, summary.exceptions, summary.reviews = screen.counts()
        bar.stage("writing")
        out = _write_columnar(screen, output, fmt, bar)
        if proof_dir is not None:
            from reasoner.tools.screen.proofs import SliceExplainer

            bar.stage("proofs")
            explainer = SliceExplainer(screen, explain_format)
            summary.proofs = explainer.write(proof_dir, screen.records(outcomes=PROOF_OUTCOMES),
                                             _unwritten(bar, file, summary))
    except BaseException:
        if out is not None:
            out.discard()
        rej.file.discard()
        raise
    finally:
        bar.close()
        screen.close()
    out.commit()
    rej.file.commit()
    elapsed = time.perf_counter() - started
    click.echo(_screen_summary(file, summary, rejects_path, elapsed, proof_dir), err=True)
    return SCREEN_REJECTED_EXIT if summary.rejected else 0


def _write_columnar(screen: Any, output: str | None, fmt: str, bar: "_Progress") -> Any:
    """Write the decisions of a columnar run to ``output`` (uncommitted) or stdout."""
    from reasoner.tools.screen.files import AtomicFile

    if fmt == "parquet":
        assert output is not None
        out = _ParquetOut(output)
        screen.copy_parquet(str(out.tmp))
        return out
    target = AtomicFile(output, stdout=sys.stdout)
    for piece in screen.text(fmt):
        target.fh.write(piece)
        bar.wrote(piece.count("\n"))
    return target


class _ParquetOut:
    """A Parquet file written by DuckDB beside its target, renamed on commit."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp")

    def commit(self) -> None:
        from reasoner.tools.screen.files import move_into_place

        move_into_place(self.tmp, self.path)

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


# ---- shared ---------------------------------------------------------------------------


class _Rejects:
    def __init__(self, file: Any, writer: Any) -> None:
        self.file = file
        self.writer = writer


def _rejects_file(path: str) -> _Rejects:
    from reasoner.tools.screen.files import AtomicFile, RejectWriter

    out = AtomicFile(path)
    return _Rejects(out, RejectWriter(out))


def _writer(output: str | None, fmt: str) -> tuple[Any, Any]:
    """The output file (commit/discard) and its decision writer, for the earlog engine."""
    from reasoner.tools.screen.files import AtomicFile, DecisionWriter, ParquetDecisionWriter

    if fmt == "parquet":
        assert output is not None
        w = ParquetDecisionWriter(output)
        return w, w
    out = AtomicFile(output, stdout=sys.stdout)
    return out, DecisionWriter(out, fmt)


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

    if not Path(file).is_file():
        raise EarlogError(f"cannot read '{file}': no such file",
                          hint="check the path and that the file is readable")
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


# The stages whose progress is counted in rows (of the file's, until the engine counts
# the rows it decides).
_ROW_STAGES = ("reading", "writing", "screening", "deciding")


class _Progress:
    """Progress on stderr counting rows: read, decided and written, with the rate and the
    time left (the file's row count, counted first, is the total); DuckDB's stages by name."""

    def __init__(self, file: str, kind: str, enabled: bool) -> None:
        from tqdm import tqdm

        from reasoner.tools.screen.files import count_rows

        tqdm.monitor_interval = 0  # no monitor thread: workers are forked
        self.enabled = enabled
        total = count_rows(file, kind) if enabled else None
        self.bar = tqdm(total=total, unit=" rows", unit_scale=True, desc="screening",
                        file=sys.stderr, disable=not enabled, mininterval=0.5, leave=False,
                        dynamic_ncols=True)
        self.total = total

    def stage(self, name: str) -> None:
        """Start a stage: reading, deciding and writing count rows from zero (of the
        file's rows); the others show their time."""
        self.bar.set_description(name, refresh=False)
        self.bar.unit = " rows"
        self.bar.total = self.total if name in _ROW_STAGES else None
        self.bar.reset(total=self.bar.total)

    def describe(self, name: str) -> None:
        """Name what the stage is doing now (the columnar engines' steps)."""
        self.bar.set_description(name)

    def step(self, done: int, total: int) -> None:
        """Rows decided of ``total`` (the columnar engines)."""
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def counting(self, rows: Iterable[Any]) -> Iterator[Any]:
        for row in rows:
            self.bar.update(1)
            yield row

    def read(self, n: int) -> None:
        self.bar.update(n)

    def decided(self, n: int) -> None:
        self.bar.update(n)

    def wrote(self, n: int) -> None:
        self.bar.update(n)

    def rejected(self, file: str, r: Any) -> None:
        for d in r.diagnostics:
            self.write(f"{file}:{r.line}: error: {d.message}" + (f" (hint: {d.hint})" if d.hint else ""))

    def write(self, text: str) -> None:
        self.bar.write(text, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


def _screen_summary(file: str, s: Any, rejects_path: str, elapsed: float,
                    proof_dir: Path | None) -> str:
    rate = (s.decided + s.rejected) / elapsed if elapsed > 0 else 0.0
    head = (f"screened {file}: {s.decided} decided, {s.rejected} rejected "
            f"in {elapsed:.1f} s ({rate:,.0f} rows/s)")
    parts = [head]
    if s.rejected:
        parts.append(f"rejected rows: {rejects_path}")
    if proof_dir is not None:
        unwritten = f"; {s.unwritten} not written (see the warnings above)" if s.unwritten else ""
        parts.append(f"proofs: {s.proofs} in {proof_dir}{unwritten}")
    for title, counts in (("outcome", s.outcomes), ("exception", s.exceptions),
                          ("review policy", s.reviews)):
        rows = [[k, str(n)] for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        parts.append(table([title, "count"], rows or [["-", "0"]]))
    parts.append(table(["rejected", "count"], [["rows", str(s.rejected)]]))
    return "\n\n".join(parts)
