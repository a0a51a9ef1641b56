"""Files for bulk screening: reading CSV/JSONL rows, writing decisions, rejects and proofs atomically."""

from __future__ import annotations

import csv
import hashlib
import heapq
import io
import json
import os
import pickle
import re
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Callable, Generic, Iterable, Iterator, TypeVar

from reasoner.lang.errors import EarlogError

__all__ = [
    "TX_COLUMNS",
    "DECISION_COLUMNS",
    "REJECT_COLUMNS",
    "inert",
    "RawRow",
    "input_format",
    "read_rows",
    "count_rows",
    "ParquetDecisionWriter",
    "AtomicFile",
    "move_into_place",
    "DecisionWriter",
    "RejectWriter",
    "proof_name",
    "write_atomic",
    "ExternalSorter",
]

# The contract's transaction fields (SCENARIOS.md): the columns of a screening file.
TX_COLUMNS = ("id", "type", "date", "exporter", "from", "to", "ultimate_consignee", "item",
              "model", "quantity", "end_use", "final_destination")
# The contract's decision fields: the columns of screening output.
DECISION_COLUMNS = ("transaction", "as_of", "in_scope", "license_required", "exceptions",
                    "outcome", "review_policy", "citations", "ruled_out", "uncertainties")
# A rejected row: where it was, why, and its cells as read.
REJECT_COLUMNS = ("line", "error") + TX_COLUMNS

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RawRow:
    """One row of a screening file as read, before validation.

    Attributes:
        line: the line the row starts on (1-based; a CSV header is line 1).
        values: the cells by column (CSV: text, empty cells left out; JSONL: JSON
            values, nulls left out); None when the row could not be read at all.
        error: why the row could not be read (then ``values`` is None).
        cells: the row's cells as text, for the rejects file.
    """

    line: int
    values: dict[str, Any] | None
    error: str | None = None
    cells: tuple[tuple[str, str], ...] = ()


def input_format(path: str, given: str | None) -> str:
    """``csv``, ``jsonl`` or ``parquet``: ``given``, else by the file's extension.

    Raises:
        EarlogError: no format given and the extension is none of these.
    """
    if given:
        return given
    suffix = Path(path).suffix.lower()
    if suffix in (".csv",):
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise EarlogError(f"cannot tell the format of '{path}' from its extension",
                      hint="name it .csv, .jsonl or .parquet, or pass --input-format")


class _Lines:
    """Decoded lines of a binary file, counting the bytes consumed (for progress)."""

    def __init__(self, fh: IO[bytes], on_bytes: Callable[[int], None] | None) -> None:
        self.fh = fh
        self.on_bytes = on_bytes
        self.line = 0
        self.bad: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        for raw in self.fh:
            self.line += 1
            if self.on_bytes is not None:
                self.on_bytes(len(raw))
            if self.line == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.bad[self.line] = f"line is not UTF-8 (byte {exc.start + 1})"
                yield raw.decode("utf-8", errors="replace")


def read_rows(path: str, fmt: str, on_bytes: Callable[[int], None] | None = None) -> Iterator[RawRow]:
    """The rows of a CSV, JSONL or Parquet screening file, streamed (one row, or for
    Parquet one batch, in memory at a time).

    A CSV file has a header of exactly ``TX_COLUMNS`` (any order); a JSONL file has
    one JSON object per line (blank lines are skipped); a Parquet file has columns
    named by ``TX_COLUMNS`` (a row's "line" is its 1-based row number). Rows that
    cannot be read come back with ``error`` set; the file as a whole failing raises.

    Raises:
        EarlogError: the file cannot be opened, or the CSV header is wrong.
    """
    if fmt == "parquet":
        yield from _parquet_rows(path)
        return
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise EarlogError(f"cannot read '{path}': {exc.strerror or exc}",
                          hint="check the path and that the file is readable") from None
    with fh:
        lines = _Lines(fh, on_bytes)
        if fmt == "csv":
            yield from _csv_rows(path, lines)
        else:
            yield from _jsonl_rows(lines)


def _csv_rows(path: str, lines: _Lines) -> Iterator[RawRow]:
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise EarlogError(f"{path}:1: cannot read the CSV header: {exc}") from None
    if header is None:
        raise EarlogError(f"{path}: the file is empty",
                          hint="the first line is a header: " + ",".join(TX_COLUMNS))
    names = [h.strip() for h in header]
    missing = [c for c in TX_COLUMNS if c not in names]
    unknown = [c for c in names if c not in TX_COLUMNS]
    dupes = sorted({c for c in names if names.count(c) > 1})
    if missing or unknown or dupes:
        found = []
        if missing:
            found.append("missing " + ", ".join(missing))
        if unknown:
            found.append("unknown " + ", ".join(repr(c) for c in unknown))
        if dupes:
            found.append("repeated " + ", ".join(dupes))
        raise EarlogError(f"{path}:1: the header must name exactly the transaction fields; "
                          + "; ".join(found), hint="columns: " + ",".join(TX_COLUMNS))
    start = 2
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RawRow(start, None, f"malformed CSV: {exc}")
            start = lines.line + 1
            continue
        line, start = start, lines.line + 1
        if not cells:
            continue
        shown = tuple(zip(names, cells))
        bad = next((lines.bad[k] for k in range(line, start) if k in lines.bad), None)
        if bad is not None:
            yield RawRow(line, None, bad, shown)
        elif len(cells) != len(names):
            yield RawRow(line, None, f"expected {len(names)} cells, found {len(cells)}", shown)
        else:
            yield RawRow(line, {k: v for k, v in shown if v != ""}, None, shown)


def _jsonl_rows(lines: _Lines) -> Iterator[RawRow]:
    for text in lines:
        line = lines.line
        if not text.strip():
            continue
        if line in lines.bad:
            yield RawRow(line, None, lines.bad[line])
            continue
        try:
            obj = json.loads(text, parse_float=Decimal)
        except ValueError as exc:
            yield RawRow(line, None, f"not JSON: {exc}")
            continue
        if not isinstance(obj, dict):
            yield RawRow(line, None, f"expected a JSON object, found {type(obj).__name__}")
            continue
        cells = tuple((str(k), v if isinstance(v, str) else json.dumps(v, default=str))
                      for k, v in obj.items())
        yield RawRow(line, {str(k): v for k, v in obj.items() if v is not None}, None, cells)


def _parquet_rows(path: str, batch: int = 20_000) -> Iterator[RawRow]:
    try:
        import duckdb
    except ImportError:
        raise EarlogError("reading Parquet needs the 'duckdb' package",
                          hint="pip install duckdb") from None
    con = duckdb.connect(":memory:")
    try:
        quoted = path.replace("'", "''")
        try:
            cur = con.execute(f"SELECT * FROM read_parquet('{quoted}')")
        except duckdb.Error as exc:
            raise EarlogError(f"{path}: cannot read it as Parquet: {str(exc).splitlines()[0]}",
                              hint="check the path and that the file is a Parquet file") from None
        names = [d[0] for d in cur.description]
        missing = [c for c in TX_COLUMNS if c not in names]
        unknown = [c for c in names if c not in TX_COLUMNS]
        if missing or unknown:
            found = (["missing " + ", ".join(missing)] if missing else []) + \
                (["unknown " + ", ".join(repr(c) for c in unknown)] if unknown else [])
            raise EarlogError(f"{path}: the columns must be exactly the transaction fields; "
                              + "; ".join(found), hint="columns: " + ",".join(TX_COLUMNS))
        line = 0
        while True:
            chunk = cur.fetchmany(batch)
            if not chunk:
                return
            for values in chunk:
                line += 1
                cells = tuple((k, _parquet_text(v)) for k, v in zip(names, values)
                              if v is not None)
                yield RawRow(line, {k: _parquet_value(k, v) for k, v in zip(names, values)
                                    if v is not None}, None, cells)
    finally:
        con.close()


def _parquet_text(v: Any) -> str:
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def _parquet_value(key: str, v: Any) -> Any:
    """A Parquet cell as the CSV reader gives it: text, except a whole quantity."""
    if key == "quantity" and isinstance(v, int) and not isinstance(v, bool):
        return v
    return _parquet_text(v)


def count_rows(path: str, fmt: str) -> int | None:
    """About how many rows a screening file has (its lines, less a CSV header; a Parquet
    file's row count); None if unknown."""
    try:
        if fmt == "parquet":
            import duckdb

            quoted = path.replace("'", "''")
            con = duckdb.connect(":memory:")
            try:
                got = con.execute(f"SELECT COUNT(*) FROM read_parquet('{quoted}')").fetchone()
            finally:
                con.close()
            return int(got[0]) if got else None
        lines = 0
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                lines += block.count(b"\n")
        return max(0, lines - (1 if fmt == "csv" else 0))
    except Exception:  # noqa: BLE001 - a progress total is only a hint
        return None


def move_into_place(tmp: Path, path: Path) -> None:
    """Rename the finished ``tmp`` to ``path`` (when it cannot be, ``tmp`` is removed).

    Raises:
        EarlogError: the rename failed.
    """
    try:
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise EarlogError(f"cannot write '{path}': {exc.strerror or exc}") from None


class AtomicFile:
    """A text file written to ``<name>.tmp`` beside its target and renamed on commit.

    Nothing appears at the target until :meth:`commit`; :meth:`discard` removes
    the temporary file. ``path`` None or ``-`` means stdout (written as it goes).
    """

    def __init__(self, path: str | None, stdout: IO[str] | None = None) -> None:
        self.path = None if path is None or path == "-" else Path(path)
        if self.path is None:
            self.tmp = None
            self.fh: IO[str] = stdout if stdout is not None else io.StringIO()
            return
        self.tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            self.fh = open(self.tmp, "w", encoding="utf-8", newline="")
        except OSError as exc:
            raise EarlogError(f"cannot write '{path}': {exc.strerror or exc}",
                              hint="check that the folder exists and is writable") from None

    def commit(self) -> None:
        """Flush and move the file into place (stdout: flush)."""
        self.fh.flush()
        if self.tmp is None or self.path is None:
            return
        self.fh.close()
        move_into_place(self.tmp, self.path)

    def discard(self) -> None:
        """Drop what was written (stdout: nothing to drop)."""
        if self.tmp is None:
            return
        self.fh.close()
        self.tmp.unlink(missing_ok=True)


class DecisionWriter:
    """Writes decision records (dicts with ``DECISION_COLUMNS``) as CSV or JSONL lines."""

    def __init__(self, out: AtomicFile, fmt: str) -> None:
        self.out = out
        self.fmt = fmt
        self._csv = csv.writer(out.fh, lineterminator="\n") if fmt == "csv" else None
        if self._csv is not None:
            self._csv.writerow(DECISION_COLUMNS)

    def write(self, record: dict[str, Any]) -> None:
        """One decision, one line (CSV: lists joined with ``;``, null empty; a ruled-out
        exception as ``CODE=citation``, its reason and facts in JSONL only)."""
        if self._csv is None:
            self.out.fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            return
        self._csv.writerow([_csv_cell(record[c]) for c in DECISION_COLUMNS])


class ParquetDecisionWriter:
    """Writes decision records to a Parquet file through a JSONL file beside it (DuckDB
    converts it on ``commit``): the columnar engine's schema, a ruled-out entry as
    its exception and citation.

    Args:
        path: the Parquet file to write (atomically, on commit).
    """

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.out = AtomicFile(str(self.path.with_name(f".{self.path.name}.jsonl")))

    def write(self, record: dict[str, Any]) -> None:
        """Buffer one decision."""
        rec = dict(record)
        rec["ruled_out"] = [{"exception": x["exception"], "citation": x["citation"]}
                            for x in rec["ruled_out"]]
        self.out.fh.write(json.dumps(rec, ensure_ascii=False) + "\n")

    def commit(self) -> None:
        """Convert the buffered decisions into the Parquet file.

        Raises:
            EarlogError: DuckDB is missing or cannot write the file.
        """
        self.out.commit()
        src = self.out.path
        assert src is not None
        try:
            import duckdb
        except ImportError:
            src.unlink(missing_ok=True)
            raise EarlogError("writing Parquet needs the 'duckdb' package",
                              hint="pip install duckdb") from None
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        cols = ("{'transaction': 'VARCHAR', 'as_of': 'DATE', 'in_scope': 'BOOLEAN', "
                "'license_required': 'BOOLEAN', 'exceptions': 'VARCHAR[]', 'outcome': 'VARCHAR', "
                "'review_policy': 'VARCHAR', 'citations': 'VARCHAR[]', "
                "'ruled_out': 'STRUCT(exception VARCHAR, citation VARCHAR)[]', "
                "'uncertainties': 'VARCHAR[]'}")
        con = duckdb.connect(":memory:")
        try:
            q = str(src).replace("'", "''")
            t = str(tmp).replace("'", "''")
            con.execute(f"COPY (SELECT * FROM read_json('{q}', format='newline_delimited', "
                        f"columns={cols})) TO '{t}' (FORMAT parquet)")
            tmp.replace(self.path)
        except (duckdb.Error, OSError) as exc:
            tmp.unlink(missing_ok=True)
            raise EarlogError(f"cannot write '{self.path}': {str(exc).splitlines()[0]}") from None
        finally:
            con.close()
            src.unlink(missing_ok=True)

    def discard(self) -> None:
        """Drop what was written."""
        self.out.discard()


def _csv_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return inert(";".join(f"{x['exception']}={x['citation']}" if isinstance(x, dict)
                              else str(x) for x in v))
    return inert(str(v))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: str) -> str:
    """A CSV cell that a spreadsheet will not run as a formula: one that begins with
    ``= + - @``, a tab or a carriage return gets a leading ``'`` (OWASP, CSV injection).

    Example:
        >>> inert("=cmd|' /C calc'!A0"), inert("-1"), inert("tx-1")
        ("'=cmd|' /C calc'!A0", "'-1", 'tx-1')
    """
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


class RejectWriter:
    """Writes rejected rows as CSV: line, error, then the row's cells as read."""

    def __init__(self, out: AtomicFile) -> None:
        self.out = out
        self._csv = csv.writer(out.fh, lineterminator="\n")
        self._csv.writerow(REJECT_COLUMNS)

    def write(self, line: int, error: str, cells: Iterable[tuple[str, str]]) -> None:
        given = dict(cells)
        self._csv.writerow([str(line), inert(error)] + [inert(given.get(c, "")) for c in TX_COLUMNS])


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def proof_name(tx: str, line: int, ext: str) -> str:
    """A file name for a transaction's proof: ``<id>.<ext>`` when the id is a safe
    name, else the id with unsafe characters replaced and ``-line<N>`` appended
    (ids are unique in a file, so names do not collide).

    Example:
        >>> proof_name("tx1", 2, "json"), proof_name("a/b", 7, "svg")
        ('tx1.json', 'a_b-line7.svg')
        >>> len(proof_name("x" * 300, 9, "json"))
        144
    """
    safe = _UNSAFE.sub("_", tx)
    if len(safe.encode("utf-8")) > _NAME_BYTES:
        # file names hold 255 bytes: a prefix, and a digest of the whole id
        digest = hashlib.sha256(tx.encode("utf-8")).hexdigest()[:12]
        cut = safe.encode("utf-8")[:_NAME_BYTES].decode("utf-8", errors="ignore")
        return f"{cut}-{digest}-line{line}.{ext}"
    if safe != tx or not safe or safe.startswith("."):
        safe = f"{safe}-line{line}"
    return f"{safe}.{ext}"


# The longest id (in UTF-8 bytes) kept whole in a proof file name.
_NAME_BYTES = 120


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    Raises:
        EarlogError: the file cannot be written.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise EarlogError(f"cannot write '{path}': {exc.strerror or exc}",
                          hint="check that the folder exists and is writable") from None


class _Run(Generic[_T]):
    """A sorted run of pickled items in a temporary file."""

    def __init__(self, items: list[_T], folder: str) -> None:
        fd, self.name = tempfile.mkstemp(prefix="earlog-sort-", suffix=".run", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            for item in items:
                pickle.dump(item, fh, protocol=pickle.HIGHEST_PROTOCOL)

    def __iter__(self) -> Iterator[_T]:
        try:
            with open(self.name, "rb") as fh:
                while True:
                    try:
                        yield pickle.load(fh)
                    except EOFError:
                        return
        finally:
            os.unlink(self.name)


class ExternalSorter(Generic[_T]):
    """Sorts items by ``key`` (stable) holding at most ``run_size`` of them in memory.

    :meth:`add` items, then iterate: full runs are sorted and pickled to temporary
    files (removed as they are read back), and a k-way merge streams them in order.
    A short input never touches the disk.
    """

    def __init__(self, key: Callable[[_T], Any], run_size: int = 20_000,
                 folder: str | None = None) -> None:
        self.key = key
        self.run_size = max(1, run_size)
        self.folder = folder or tempfile.gettempdir()
        self.runs: list[_Run[_T]] = []
        self.buf: list[_T] = []

    def add(self, item: _T) -> None:
        """Take one item."""
        self.buf.append(item)
        if len(self.buf) >= self.run_size:
            self.buf.sort(key=self.key)
            self.runs.append(_Run(self.buf, self.folder))
            self.buf = []

    def __iter__(self) -> Iterator[_T]:
        try:
            self.buf.sort(key=self.key)
            if not self.runs:
                yield from self.buf
                return
            self.runs.append(_Run(self.buf, self.folder))
            self.buf = []
            # ties: run number, then position in the run (input order): the merge is stable
            merged = heapq.merge(*[_keyed(run, self.key, n) for n, run in enumerate(self.runs)])
            for _, _, _, item in merged:
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Remove any run files left."""
        for run in self.runs:
            if os.path.exists(run.name):
                os.unlink(run.name)
        self.runs = []


def _keyed(run: _Run[_T], key: Callable[[_T], Any], n: int) -> Iterator[tuple[Any, int, int, _T]]:
    for k, item in enumerate(run):
        yield key(item), n, k, item
