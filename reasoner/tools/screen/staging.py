"""A screening book staged in DuckDB: every accepted row in table ``txs``, in SQL where it can."""

# How rows reach table ``txs(line, id, type, date, exporter, from_, to,
# ultimate_consignee, item, model, quantity, end_use, final_destination)``:
#
#   plain CSV / Parquet ──read_csv / read_parquet──▶ raw (text cells, line numbers)
#        ──canonical?──▶ yes: cast in SQL            (``screener._FastPath``'s conditions)
#                        no:  ``Screener``'s row validation, staged through a CSV file
#   other files (JSONL, quoted CSV) ──``Screener``'s row validation──▶ staged CSV file
#
# Invariants:
# * A row is accepted here exactly when ``Screener`` (sorting) accepts it: canonical
#   rows are the ones ``_FastPath`` builds a Transaction for, and every other row gets
#   ``validate_row`` and its diagnostics. Duplicate ids: the first valid row keeps it.
# * ``model_from``: a model without a production country gets the ``from`` of its first
#   accepted row in file order (SCENARIOS.md), as ``Screener`` records it.

from __future__ import annotations

import csv
import os
from typing import IO, Any, Callable, Iterable, Iterator, Sequence

from reasoner.engine.sql.runner import csv_cell
from reasoner.lang.errors import EngineError
from reasoner.lang.span import Span
from reasoner.law.scenario import Transaction
from reasoner.tools.screen.files import TX_COLUMNS, RawRow
from reasoner.tools.screen.screener import Rejected, Screener

__all__ = ["Stager", "TX_FIELDS", "quote_ident", "sql_text"]

# Columns of table ``txs``.
TX_FIELDS = ("line", "id", "type", "date", "exporter", "from_", "to", "ultimate_consignee",
             "item", "model", "quantity", "end_use", "final_destination")
_TX_TYPES = ("BIGINT", "VARCHAR", "VARCHAR", "DATE", "VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR",
             "VARCHAR", "VARCHAR", "HUGEINT", "VARCHAR", "VARCHAR")


def quote_ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_text(v: Any) -> str:
    """A SQL literal for a string, int or bool."""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


class Stager:
    """Validates a book's rows and stages the accepted ones in table ``txs``.

    Args:
        execute: runs one statement on the screening database.
        validator: the ``Screener`` whose validation rows get (its ``sort`` decides
            whether rows out of date order are rejected).
        file: the input's name, for diagnostics.
        folder: a private temporary folder for staged files.
    """

    def __init__(self, execute: Callable[[str], list[tuple[Any, ...]]], cursor: Callable[[str], Any],
                 validator: Screener, file: str, folder: str) -> None:
        self.execute = execute
        self.cursor = cursor
        self.validator = validator
        self.file = file
        self.path = os.path.join(folder, "transactions.csv")
        self._fh: IO[str] | None = open(self.path, "w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._fh, lineterminator="\n")
        self._canonical = False
        self.staged = False

    # -- row by row ---------------------------------------------------------------------

    def accept(self, rows: Iterable[RawRow]) -> Iterator[Rejected]:
        """Validate ``rows`` in file order and stage the accepted ones; yield the rejected."""
        accept, write = self.validator._accept, self._write
        for row in rows:
            got = accept(row)
            if isinstance(got, Rejected):
                yield got
            else:
                write(row.line, got)

    def _write(self, line: int, t: Transaction) -> None:
        assert self._fh is not None
        self._writer.writerow((line, t.id, t.type, t.date.isoformat(), t.exporter, t.from_, t.to,
                               t.ultimate_consignee, _cell(t.item), _cell(t.model),
                               _cell(t.quantity), t.end_use, _cell(t.final_destination)))

    # -- the whole file in SQL --------------------------------------------------------------

    def accept_file(self, path: str, fmt: str) -> list[Rejected] | None:
        """Read and validate a plain CSV file or a Parquet file in the database; return its
        rejected rows in line order, or None (nothing done: use ``accept``).

        A plain CSV file (no quotes, lone carriage returns, blank lines or byte-order mark:
        each line is one row) or a Parquet file with exactly the transaction columns is
        read by DuckDB; its canonical rows are cast in SQL, the others go through the
        row validation. Only when sorting (out-of-order rows are not rejected).
        """
        if not self.validator.sort or fmt not in ("csv", "parquet") \
                or (fmt == "csv" and not _plain(path)):
            return None
        if not self._read_raw(path, fmt):
            return None
        self._valid_values()
        names = list(TX_COLUMNS)
        self.execute(f"CREATE TABLE raw_ok AS SELECT line, ({_canonical()}) AS ok FROM raw")
        rejected: list[Rejected] = []
        cur = self.cursor(f"SELECT r.line, {', '.join('r.' + quote_ident(n) for n in names)} "
                          "FROM raw r JOIN raw_ok k ON k.line = r.line WHERE NOT k.ok ORDER BY r.line")
        while True:
            chunk = cur.fetchmany(10_000)
            if not chunk:
                break
            for line, *cells in chunk:
                shown = tuple((n, "" if c is None else c) for n, c in zip(names, cells))
                row = RawRow(line, {n: c for n, c in zip(names, cells) if c is not None}, None,
                             shown)
                got = self._validate(row)
                if got is not None:
                    rejected.append(got)
        self._canonical = True
        self.finish()
        rejected += self._duplicates(names)
        self._model_defaults()
        for table in ("raw", "raw_ok", "txs_all", "txs_first", "valid"):
            self.execute(f"DROP TABLE IF EXISTS {table}")
        return sorted(rejected, key=lambda r: r.line)

    def _read_raw(self, path: str, fmt: str) -> bool:
        """Table ``raw(line, <TX_COLUMNS as text>)``; False when DuckDB cannot read the file
        with exactly the transaction columns (the row reader then says why)."""
        quoted = path.replace("'", "''")
        try:
            self.execute("SET preserve_insertion_order = true")
            if fmt == "csv":
                self.execute(f"CREATE TABLE raw0 AS SELECT * FROM read_csv('{quoted}', "
                             "header=true, all_varchar=true, delim=',', quote='\"', "
                             "escape='\"', strict_mode=true, null_padding=false)")
            else:
                self.execute(f"CREATE TABLE raw0 AS SELECT * FROM read_parquet('{quoted}')")
            names = [r[0] for r in self.execute("DESCRIBE raw0")]
            if sorted(n.strip() for n in names) != sorted(TX_COLUMNS) \
                    or any(n != n.strip() for n in names):
                self.execute("DROP TABLE raw0")
                return False
            first = 2 if fmt == "csv" else 1  # a CSV header is line 1; Parquet rows count from 1
            text = ", ".join(f"{_text_cast(n, fmt)} AS {quote_ident(n)}" for n in TX_COLUMNS)
            self.execute(f"CREATE TABLE raw AS SELECT rowid + {first} AS line, {text} FROM raw0")
            self.execute("DROP TABLE raw0")
        except EngineError:
            self.execute("DROP TABLE IF EXISTS raw0")
            self.execute("DROP TABLE IF EXISTS raw")
            return False
        finally:
            self.execute("SET preserve_insertion_order = false")
        return True

    def _validate(self, row: RawRow) -> Rejected | None:
        from reasoner.lang.errors import CheckFailed, ScenarioError
        from reasoner.tools.screen.screener import _rejected, validate_row

        v = self.validator
        try:
            tx = validate_row(row, v.context, self.file, v._fast)
        except (ScenarioError, CheckFailed) as exc:
            return _rejected(row, exc)
        self._write(row.line, tx)
        return None

    def _valid_values(self) -> None:
        """``valid(kind, value)``: the entities, items, models and countries a canonical row
        may name."""
        from reasoner.law.scenario import EXTRA_COUNTRIES
        from reasoner.law.scenario.iso3166 import ALPHA_2

        ctx = self.validator.context
        values = [("entity", e.id) for e in ctx.entities] + [("item", i.id) for i in ctx.items]
        values += [("model", m.id) for m in ctx.models]
        values += [("country", c) for c in sorted(set(ALPHA_2) | set(EXTRA_COUNTRIES))]
        self.execute("CREATE TABLE valid (kind VARCHAR, value VARCHAR)")
        for k in range(0, len(values), 500):
            self.execute("INSERT INTO valid VALUES " + ", ".join(
                f"({sql_text(a)}, {sql_text(b)})" for a, b in values[k:k + 500]))

    def finish(self) -> None:
        """Table ``txs``: the staged rows (and, from ``accept_file``, the canonical ones)."""
        if self.staged:
            return
        assert self._fh is not None
        self._fh.close()
        self._fh = None
        cols = ", ".join(f"'{n}': '{t}'" for n, t in zip(TX_FIELDS, _TX_TYPES))
        path = self.path.replace("'", "''")
        staged = (f"SELECT * FROM read_csv('{path}', header=false, columns={{{cols}}}, "
                  "quote='\"', escape='\"', auto_detect=false, force_not_null=['id', 'type', "
                  "'exporter', 'from_', 'to', 'ultimate_consignee', 'end_use'])")
        self.staged = True
        if not self._canonical:
            self.execute(f"CREATE TABLE txs AS {staged}")
            return
        self.execute(f"""CREATE TABLE txs_all AS
            SELECT r.line, r.id, r.type, CAST(r.date AS DATE) AS date, r.exporter,
                   r."from" AS from_, r."to", r.ultimate_consignee, r.item, r.model,
                   CAST(r.quantity AS HUGEINT) AS quantity, r.end_use, r.final_destination
            FROM raw r JOIN raw_ok k ON k.line = r.line WHERE k.ok
            UNION ALL {staged}""")
        self.execute("""CREATE TABLE txs_first AS
            SELECT *, min(line) OVER (PARTITION BY id) AS first FROM txs_all""")
        self.execute("CREATE TABLE txs AS SELECT * EXCLUDE (first) FROM txs_first "
                     "WHERE line = first")

    def _duplicates(self, names: Sequence[str]) -> list[Rejected]:
        from reasoner.lang.errors import ScenarioError
        from reasoner.tools.screen.screener import _rejected

        out = []
        for line, tid, first, *cells in self.execute(
                f"SELECT f.line, f.id, f.first, {', '.join('r.' + quote_ident(n) for n in names)} "
                "FROM txs_first f JOIN raw r ON r.line = f.line WHERE f.line > f.first"):
            shown = tuple((n, "" if c is None else c) for n, c in zip(names, cells))
            out.append(_rejected(RawRow(line, None, None, shown), ScenarioError(
                f"duplicate transaction id '{tid}'", Span(self.file, line, 1),
                f"first used at line {first}; transaction ids must be unique in the file")))
        return out

    def _model_defaults(self) -> None:
        """The production country of each model without one: its first row's ``from``."""
        defaulted = self.validator._defaulted
        if not defaulted:
            return
        names = ", ".join(sql_text(m) for m in sorted(defaulted))
        for model, country, line in self.execute(
                f"SELECT model, arg_min(from_, line), min(line) FROM txs "
                f"WHERE model IN ({names}) GROUP BY model"):
            self.validator.model_from[model] = (country, Span(self.file, int(line), 1))

    def close(self) -> None:
        """Close the staged file (the folder is the caller's)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _cell(v: Any) -> str:
    return "" if v is None else csv_cell(v)


def _text_cast(name: str, fmt: str) -> str:
    """A raw column as text the way the row reader gives it (Parquet: dates as ISO dates)."""
    col = quote_ident(name)
    if fmt == "csv":
        return col
    return f"CAST({col} AS VARCHAR)"


def _plain(path: str) -> bool:
    """Whether each line of a CSV file is one row: no quotes, lone CRs, blank lines or BOM
    (a CR split from its LF by a block boundary counts as lone: the file then just
    takes the row-by-row path)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(3)
            if head.startswith(b"\xef\xbb\xbf"):
                return False
            fh.seek(0)
            last = b""
            for block in iter(lambda: fh.read(1 << 22), b""):
                if b'"' in block or block.replace(b"\r\n", b"").count(b"\r") \
                        or b"\n\n" in block or b"\n\r\n" in block \
                        or (last == b"\n" and block.startswith((b"\n", b"\r\n"))):
                    return False
                last = block[-1:]
    except OSError:
        return False
    return True


def _canonical() -> str:
    """SQL: a row of ``raw`` is in canonical form (``screener._FastPath``'s conditions)."""
    from reasoner.law.scenario import END_USES, TX_TYPES

    def one_of(col: str, values: Sequence[str]) -> str:
        return f"{quote_ident(col)} IN ({', '.join(sql_text(v) for v in values)})"

    def valid(col: str, kind: str) -> str:
        return f"{quote_ident(col)} IN (SELECT value FROM valid WHERE kind = '{kind}')"

    nulls = "('~', 'null', 'Null', 'NULL')"
    text = [c for c in TX_COLUMNS if c != "quantity"]
    required = ("id", "type", "date", "exporter", "from", "to", "ultimate_consignee", "end_use")
    conds = [f"{quote_ident(c)} IS NOT NULL" for c in required]
    conds += [f"({quote_ident(c)} IS NULL OR {quote_ident(c)} NOT IN {nulls})" for c in text]
    conds += [one_of("type", TX_TYPES), one_of("end_use", END_USES),
              # an id free of control and format characters, quotes and backslashes
              # (``bad_id_char``): printable ASCII without ' " \ , or some non-ASCII
              # text, which takes the row path
              "regexp_full_match(id, '[ !#-&(-\\[\\]-~]+')",
              valid("exporter", "entity"), valid("ultimate_consignee", "entity"),
              valid("from", "country"), valid("to", "country"),
              f"(final_destination IS NULL OR {valid('final_destination', 'country')})",
              "((item IS NULL) <> (model IS NULL))",
              f"(item IS NULL OR ({valid('item', 'item')} AND "
              "regexp_full_match(quantity, '[1-9][0-9]{0,17}')))",
              f"(model IS NULL OR ({valid('model', 'model')} AND quantity IS NULL))",
              "regexp_full_match(date, '[0-9]{4}-[0-9]{2}-[0-9]{2}')",
              "TRY_CAST(date AS DATE) IS NOT NULL", "NOT starts_with(date, '0000')"]
    return "COALESCE(" + " AND ".join(conds) + ", FALSE)"
