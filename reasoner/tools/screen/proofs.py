"""Proofs of columnar decisions: earlog's own evaluator on the slices of the book they rest on."""

# A row's decision depends on the rest of the book only through the LPP shipments of
# its (consignee, calendar year): its slice is that slot's rows up to it in (date, line)
# order. Rows later in a slot do not change the earlier ones, so one ``decide`` on a
# slot's rows up to its last selected row serves every selected row of the slot; slots
# are decided together in groups of about ``GROUP_ROWS`` rows. Models keep the
# production country their first row in the whole file gave them. Each decision must
# agree with the columnar one on every field the screen writes.

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from reasoner.lang.errors import EarlogError, EngineError
from reasoner.lang.span import Span
from reasoner.law.decision import ScenarioDecisions, decide, decision_record
from reasoner.law.scenario import Scenario, Transaction
from reasoner.tools.screen.files import DECISION_COLUMNS, proof_name, write_atomic

__all__ = ["SliceExplainer", "GROUP_ROWS"]

# Rows decided together (the slots of several selected rows).
GROUP_ROWS = 2000


class SliceExplainer:
    """Proofs for rows of a decided ``ColumnarScreen``.

    Args:
        screen: a decided ``ColumnarScreen``.
        fmt: ``json`` or ``svg``.
        theme: proof graph theme (svg).
    """

    def __init__(self, screen: Any, fmt: str = "json", theme: str = "default") -> None:
        self.screen = screen
        self.fmt = fmt
        self.theme = theme
        defaults = {m: c for m, (c, _) in screen.validator.model_from.items()}
        context: Scenario = screen.context
        models = tuple(dataclasses.replace(m, produced_in=defaults[m.id])
                       if m.produced_in is None and m.id in defaults else m
                       for m in context.models)
        self.context = dataclasses.replace(context, models=models)

    def _slices(self, lines: Sequence[int]) -> list[Transaction]:
        """The rows of the slots of ``lines`` up to the last of them in each slot, in
        (date, line) order."""
        rows = self.screen.rows(lines)
        return [self._transaction(r) for r in rows]

    def _transaction(self, r: tuple[Any, ...]) -> Transaction:
        (line, tid, typ, date, exporter, from_, to, consignee, item, model, quantity,
         end_use, final) = r
        where = Span(self.screen.file, int(line), 1)
        keys = ["id", "type", "date", "exporter", "from", "to", "ultimate_consignee", "end_use"]
        keys += [k for k, v in (("item", item), ("model", model), ("quantity", quantity),
                                ("final_destination", final)) if v is not None]
        return Transaction(id=tid, type=typ, date=date, exporter=exporter, from_=from_, to=to,
                           ultimate_consignee=consignee, end_use=end_use, item=item,
                           model=model, quantity=None if quantity is None else int(quantity),
                           final_destination=final, span=where,
                           spans=tuple((k, where) for k in keys))

    def decide(self, records: Sequence[tuple[int, Mapping[str, Any]]]) -> ScenarioDecisions:
        """``decide`` on the slices of ``records`` ((line, columnar record) pairs), checked
        against the columnar records.

        Raises:
            EngineError: a decision differs from the columnar one.
        """
        txs = self._slices([line for line, _ in records])
        result = decide(self.context.with_transactions(txs), self.screen.book.regime,
                        self.screen.as_of)
        mine = {d.transaction: decision_record(d) for d in result.decisions}
        for line, record in records:
            got = dict(mine[str(record["transaction"])])
            got["ruled_out"] = [{"exception": x["exception"], "citation": x["citation"]}
                                for x in got["ruled_out"]]
            differ = [k for k in DECISION_COLUMNS if got[k] != record[k]]
            if differ:
                raise EngineError(
                    f"transaction '{record['transaction']}' (line {line}): the columnar "
                    f"decision and earlog's evaluator on its slice differ in {', '.join(differ)}",
                    hint="this is a bug; screen with --engine earlog")
        return result

    def write(self, folder: Path, records: Iterator[tuple[int, Mapping[str, Any]]],
              unwritten: Callable[[int, EarlogError], None] | None = None) -> int:
        """Write the proof of each record into ``folder`` (``proof_name``); return how many
        were written.

        Args:
            folder: an existing folder.
            records: (line, columnar record) pairs.
            unwritten: called with the line and the error of a proof that could not be
                written, and the others are still written (default: the error is raised).

        Raises:
            EngineError: a decision differs from the columnar one.
            EarlogError: a proof could not be written (without ``unwritten``).
        """
        written = 0
        group: list[tuple[int, Mapping[str, Any]]] = []
        for pair in records:
            group.append(pair)
            if len(group) >= GROUP_ROWS:
                written += self._write_group(folder, group, unwritten)
                group = []
        if group:
            written += self._write_group(folder, group, unwritten)
        return written

    def _write_group(self, folder: Path, group: Sequence[tuple[int, Mapping[str, Any]]],
                     unwritten: Callable[[int, EarlogError], None] | None) -> int:
        from reasoner.render.export import ExplanationWriter

        result = self.decide(group)
        writer = ExplanationWriter(result)
        written = 0
        for line, record in group:
            tx = str(record["transaction"])
            if self.fmt == "svg":
                from reasoner.render import get_theme, to_dot, to_image

                data = to_image(to_dot(writer.graph(tx).to_networkx(), get_theme(self.theme)),
                                "svg")
            else:
                data = writer.json(tx).encode("utf-8")
            try:
                write_atomic(folder / proof_name(tx, line, self.fmt), data)
            except EarlogError as exc:
                if unwritten is None:
                    raise
                unwritten(line, exc)
            else:
                written += 1
        return written
