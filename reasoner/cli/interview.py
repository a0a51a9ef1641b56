"""The ``interview`` command: ask for the unstated facts that could change a decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from reasoner.cli.common import SOURCES, guarded
from reasoner.lang.errors import EarlogError, QueryError, ScenarioError
from reasoner.lang.span import Span

__all__ = ["interview_cmd"]


@click.command("interview")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("transaction", required=False)
@click.option("--answers", type=click.Path(dir_okay=False), default=None,
              help="Answer from this YAML file (ID.KEY: VALUE per line) instead of asking; "
                   "a question it does not answer counts as not known.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the completed scenario here (comments and layout kept).")
@click.option("--settle", type=click.Choice(["outcome", "decision"]), default="outcome",
              show_default=True,
              help="Stop when the outcome and review policy are settled, or also the "
                   "exceptions available.")
@click.option("--regime", type=click.Choice(["ifr", "enforced"]), default=None,
              help="Reading of the law (default: the scenario's own).")
@click.option("--max-variants", type=click.IntRange(min=1), default=4000, show_default=True,
              help="How many variants each analysis may decide.")
def interview_cmd(scenario: str, transaction: str | None, answers: str | None,
                  output: str | None, settle: str, regime: str | None,
                  max_variants: int) -> None:
    """Ask, one at a time, for the unstated facts that could change a decision.

    For each transaction (or TRANSACTION), the facts the file leaves unstated or
    defaulted (end use, final destination, an entity's headquarters, parent,
    government control, weights storage, VEU, an item's designer ...) are tried
    with every answer they could take (countries by the classes the rulebook
    tells apart); those whose answers change the decision are asked, the one whose
    answers settle the outcome most often first. Each question shows what each
    answer leads to; after each answer the scenario is decided again, and the
    interview stops as soon as the outcome is settled. An empty answer means not
    known. A scenario may leave out end_use, headquartered_in or located_in for
    the interview to ask.

    \b
    Examples:
      earlog interview draft.yaml
      earlog interview draft.yaml tx1 --answers answers.yaml -o complete.yaml
    """
    guarded(_interview)(scenario, transaction, answers, output, settle, regime, max_variants)


def _interview(scenario: str, transaction: str | None, answers: str | None,
               output: str | None, settle: str, regime: str | None, max_variants: int) -> None:
    from reasoner.tools.interview.draft import load_draft
    from reasoner.tools.interview.session import Interview
    from reasoner.tools.interview.text import closing_text, opening_text

    try:
        text = Path(scenario).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read scenario file '{scenario}': {exc}",
                            Span(scenario, 0, 0), "check the path") from None
    given = _answers(answers) if answers is not None else None
    iv = Interview(load_draft(text, scenario), regime, settle, max_variants)
    txs = [t.id for t in iv.draft.scenario.transactions]
    if transaction is not None and transaction not in txs:
        raise QueryError(f"no transaction '{transaction}' in scenario '{scenario}'",
                         hint="transactions: " + ", ".join(txs))
    for tx in [transaction] if transaction else txs:
        click.echo(opening_text(iv.analysis(tx), iv.draft.scenario.id))
        asked = _ask_all(iv, tx, given)
        click.echo(closing_text(iv.analysis(tx), iv.decision(tx), asked) + "\n")
    if given:
        unused = sorted(set(given) - {s.question.slot.name for s in iv.steps})
        if unused:
            click.echo("note: answers not asked for: " + ", ".join(unused), err=True)
    if output is not None:
        from reasoner.tools.screen.files import write_atomic

        write_atomic(Path(output), iv.draft.text.encode("utf-8"))
        left = sorted(f"{rid}.{key}" for _, rid, key in iv.draft.missing)
        click.echo(f"wrote {output}" + (f" (still missing: {', '.join(left)})" if left else ""),
                   err=True)


def _ask_all(iv: Any, tx: str, given: dict[str, str] | None) -> int:
    from reasoner.tools.interview.text import question_block, step_text

    n = 0
    while (q := iv.next_question(tx)) is not None:
        n += 1
        click.echo(question_block(n, q))
        while True:
            if given is not None:
                reply = given.get(q.slot.name)
                click.echo(f"  answer: {reply if reply is not None else '(not known)'}")
            else:
                reply = click.prompt("  answer", default="", show_default=False)
            try:
                step = iv.answer(tx, q, reply)
                break
            except EarlogError as exc:
                if given is not None:
                    raise
                click.echo(exc.render(SOURCES), err=True)
        click.echo(step_text(step))
    return n


def _answers(path: str) -> dict[str, str]:
    """``ID.KEY: VALUE`` pairs (values as text) from a YAML mapping."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError(f"cannot read answers file '{path}': {exc}", Span(path, 0, 0),
                            "write one 'ID.KEY: VALUE' per line, e.g. 'tx1.end_use: "
                            "development'") from None
    if not isinstance(data, dict):
        raise ScenarioError("expected a mapping of ID.KEY to answers", Span(path, 1, 1),
                            "e.g. 'tx1.end_use: development'")
    out = {}
    for k, v in data.items():
        if isinstance(v, bool):
            v = "yes" if v else "no"
        out[str(k)] = "none" if v is None else str(v)
    return out
