"""Proofs of columnar decisions: earlog's own evaluator on one row's slice of the book."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping

from reasoner.lang.errors import EngineError
from reasoner.lang.span import Span
from reasoner.law.decision import ScenarioDecisions, decide, decision_record
from reasoner.law.scenario import Scenario, Transaction
from reasoner.tools.screen.files import proof_name, write_atomic

__all__ = ["SliceExplainer", "AGREEING_FIELDS"]

# The decision fields a slice's decision must share with the columnar one.
AGREEING_FIELDS = ("transaction", "as_of", "in_scope", "license_required", "exceptions",
                   "outcome", "review_policy")


class SliceExplainer:
    """Proofs for rows of a ``ColumnarScreen``.

    A transaction's decision depends on the rest of the book only through the LPP
    shipments of its (consignee, calendar year) slot, so its slice is that slot's
    transactions up to it in (date, line) order; models keep the production country
    they were given by their first row in the whole file. ``decide`` on the slice
    must agree with the columnar decision (``AGREEING_FIELDS``).

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

    def slice(self, line: int) -> list[Transaction]:
        """The transactions of ``line``'s slot up to and including it, in date order."""
        rows = self.screen.execute(f"""
            SELECT o.* FROM txs t JOIN txs o ON o.ultimate_consignee = t.ultimate_consignee
                AND year(o.date) = year(t.date) AND (o.date, o.line) <= (t.date, t.line)
            WHERE t.line = {int(line)} ORDER BY o.date, o.line""")
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

    def decide(self, line: int, record: Mapping[str, Any]) -> ScenarioDecisions:
        """``decide`` on ``line``'s slice, checked against the columnar ``record``.

        Raises:
            EngineError: the two decisions differ.
        """
        txs = self.slice(line)
        result = decide(self.context.with_transactions(txs), self.screen.book.regime,
                        self.screen.as_of)
        mine = next(decision_record(d) for d in result.decisions
                    if d.transaction == record["transaction"])
        differ = [k for k in AGREEING_FIELDS if mine[k] != record[k]]
        if differ:
            raise EngineError(
                f"transaction '{record['transaction']}' (line {line}): the columnar decision "
                f"and earlog's evaluator on its slice differ in {', '.join(differ)}",
                hint="this is a bug; screen with --engine earlog")
        return result

    def write(self, folder: Path, line: int, record: Mapping[str, Any]) -> Path:
        """Write the proof of ``record`` (line ``line``) into ``folder``; return its path."""
        from reasoner.proof.explanation import ExplanationWriter

        result = self.decide(line, record)
        writer = ExplanationWriter(result)
        tx = str(record["transaction"])
        if self.fmt == "svg":
            from reasoner.render import get_theme, to_dot, to_image

            data = to_image(to_dot(writer.graph(tx).to_networkx(), get_theme(self.theme)), "svg")
        else:
            data = writer.json(tx).encode("utf-8")
        path = folder / proof_name(tx, line, self.fmt)
        write_atomic(path, data)
        return path
