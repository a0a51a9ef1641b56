"""The proof commands: ``why``, ``why-not`` and ``explain``."""

from __future__ import annotations

from typing import Any

import click

from reasoner.cli.common import (
    SOURCES, decided, emit_proof, guarded, level_of, proof_options, proof_receipt,
)

__all__ = ["why_cmd", "why_not_cmd", "explain_cmd"]


@click.command("why")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("goal")
@proof_options
def why_cmd(scenario: str, goal: str, **opts: Any) -> None:
    """Prove GOAL over SCENARIO: the cited steps that make it hold.

    GOAL is one atom, e.g. 'outcome("tx1", "license_required")' or
    'review("tx1", P)' (variables match any value; the first match is proved).
    Quote transaction ids: bare names are variables.
    """
    guarded(_why)(scenario, goal, **opts)


def _why(scenario: str, goal: str, fmt: str, output: str | None, lang: str, level: str | None,
         compact: bool, max_depth: int | None, regime: str | None, theme: str) -> None:
    from reasoner.lang.errors import QueryError
    from reasoner.proof.explanation import parse_goal
    from reasoner.proof.compaction import argue, compact as compact_proof
    from reasoner.proof.prove import proof_builder
    from reasoner.proof.graph import to_graph
    from reasoner.render import to_text

    SOURCES["<goal>"] = goal
    pred, pattern = parse_goal(goal)
    result = decided(scenario, regime)
    rows = sorted((r for r in result.model.rows(pred)
                   if len(r) == len(pattern) and all(p is None or p == v for p, v in zip(pattern, r))),
                  key=lambda r: tuple(map(str, r)))
    if not rows:
        raise QueryError(f"{goal} does not hold in {scenario}",
                         hint=f"ask why not: earlog why-not {scenario} '{goal}'")
    proof = proof_builder(result.model, result.rulebook.checked, why_not_depth=1).proof(
        pred, rows[0], max_depth)
    level = level_of(level, compact)
    shown = {"argument": argue, "steps": compact_proof}.get(level, lambda p: p)(proof)
    receipt = proof_receipt(result, "why", [scenario, goal], level, max_depth)
    emit_proof(shown, to_graph(shown), to_text(shown, lang, max_depth=max_depth,
                                               plain=level == "argument"),
               fmt, output, lang, theme, receipt)


@click.command("why-not")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("goal")
@click.option("--depth", type=click.IntRange(min=1), default=3, show_default=True,
              help="How many levels of failing conditions to explain.")
@proof_options
def why_not_cmd(scenario: str, goal: str, depth: int, **opts: Any) -> None:
    """Explain why GOAL does not hold over SCENARIO.

    For every rule that could derive GOAL: the first condition that fails, the
    facts that matched before it, and why it fails, with the provision it comes
    from. Example: earlog why-not S.yaml 'exception("tx2", "LPP")'
    """
    guarded(_why_not)(scenario, goal, depth, **opts)


def _why_not(scenario: str, goal: str, depth: int, fmt: str, output: str | None, lang: str,
             level: str | None, compact: bool, max_depth: int | None, regime: str | None,
             theme: str) -> None:
    from reasoner.proof.explanation import parse_goal
    from reasoner.proof.graph import to_graph
    from reasoner.render import to_text
    from reasoner.proof.compaction import argue_why_not, compact_why_not
    from reasoner.proof.prove import why_not

    SOURCES["<goal>"] = goal
    pred, pattern = parse_goal(goal)
    result = decided(scenario, regime)
    w = why_not(result.model, result.rulebook.checked, pred, pattern, depth)
    level = level_of(level, compact)
    shown = {"argument": argue_why_not, "steps": compact_why_not}.get(level, lambda x: x)(w)
    receipt = proof_receipt(result, "why-not", [scenario, goal], level, max_depth,
                             {"--depth": depth})
    emit_proof(shown, to_graph(shown), to_text(shown, lang, max_depth=max_depth,
                                               plain=level == "argument"),
               fmt, output, lang, theme, receipt)


@click.command("explain")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("transaction", required=False)
@proof_options
def explain_cmd(scenario: str, transaction: str | None, **opts: Any) -> None:
    """Explain the decision for TRANSACTION in SCENARIO (which may be left out when the
    scenario has only one transaction).

    By default, the argument a lawyer reads: scope, the license requirement, every
    exception or authorization (available, or the one condition that rules it out),
    the review policy and the open questions, each with its provision and the
    scenario facts (file:line) that decide it. --level steps and --level full show
    the derivation behind it.
    """
    guarded(_explain)(scenario, transaction, **opts)


def _explain(scenario: str, transaction: str | None, fmt: str, output: str | None, lang: str,
             level: str | None, compact: bool, max_depth: int | None, regime: str | None,
             theme: str) -> None:
    from reasoner.lang.errors import QueryError
    from reasoner.proof.explanation import explain_transaction
    from reasoner.render.argument import explanation_view

    level = level_of(level, compact)
    result = decided(scenario, regime)
    if transaction is None:
        ids = [d.transaction for d in result.decisions]
        if len(ids) != 1:
            raise QueryError(f"{scenario} has {len(ids)} transactions; name the one to explain",
                             hint=f"earlog explain {scenario} {ids[0] if ids else 'TX'} "
                             f"(transactions: {', '.join(ids) or 'none'})")
        transaction = ids[0]
    expl = explain_transaction(result, transaction, max_depth)
    receipt = proof_receipt(result, "explain", [scenario, transaction], level, max_depth,
                            decisions=[expl.decision])
    text, graph = explanation_view(result, expl, level, lang, max_depth)
    emit_proof(expl, graph, text, fmt, output, lang, theme, receipt)
