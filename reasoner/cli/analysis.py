"""Analyses across variants: ``what-if`` and ``diff``."""

from __future__ import annotations

from pathlib import Path

import click

from reasoner.tools.screen.files import write_atomic
from reasoner.cli.common import guarded, write_output

__all__ = ["what_if_cmd", "diff_cmd"]


@click.command("what-if")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("transaction")
@click.option("--target", type=click.Choice(["permitted", "license_required", "out_of_scope",
                                             "indeterminate"]), default=None,
              help="Look for this outcome (default: any other outcome).")
@click.option("--max-changes", type=click.IntRange(1, 3), default=2, show_default=True,
              help="The largest set of changes tried.")
@click.option("--max-candidates", type=click.IntRange(min=1), default=300, show_default=True,
              help="How many variants may be decided in all (each takes ~0.05-0.3 s).")
@click.option("--set", "assignments", multiple=True, metavar="ID.KEY=VALUE",
              help="Decide one variant instead of searching, e.g. --set se_co.headquartered_in=DE "
                   "(repeatable).")
@click.option("--regime", type=click.Choice(["ifr", "enforced"]), default=None,
              help="Reading of the law (default: the scenario's own).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of the proof labels.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of stdout.")
def what_if_cmd(scenario: str, transaction: str, target: str | None, max_changes: int,
                max_candidates: int, assignments: tuple[str, ...], regime: str | None, lang: str,
                output: str | None) -> None:
    """Find the smallest sets of changes to SCENARIO's facts that flip TRANSACTION's outcome.

    The search changes declared fields (the consignee's headquarters, location,
    parent; its ultimate parent's headquarters; the destination, quantity, end
    use and final destination; the item's designer and datacenter status; the
    consignee's government control, weights storage and VEU) over small domains
    (one country per tier class plus the scenario's own), breadth-first by number
    of changes. Each variant is validated like a scenario file and decided again.
    It says when a bound stopped it. Progress goes to stderr.

    \b
    Examples:
      earlog what-if S.yaml tx1
      earlog what-if S.yaml tx1 --target permitted --max-changes 1
      earlog what-if S.yaml tx1 --set cn_parent.headquartered_in=DE --set tx1.quantity=100
    """
    guarded(_what_if)(scenario, transaction, target, max_changes, max_candidates, assignments,
                       regime, lang, output)


def _what_if(scenario: str, transaction: str, target: str | None, max_changes: int,
             max_candidates: int, assignments: tuple[str, ...], regime: str | None, lang: str,
             output: str | None) -> None:
    from reasoner.tools.whatif.text import set_text, whatif_text
    from reasoner.law.scenario import load_scenario
    from reasoner.tools.whatif.search import what_if, what_if_set

    scn = load_scenario(scenario)
    if assignments:
        write_output(set_text(what_if_set(scn, transaction, assignments, regime), lang), output)
        return

    def progress(done: int, budget: int) -> None:
        if done % 50 == 0:
            click.echo(f"what-if: {done}/{budget} variants decided", err=True)

    found = what_if(scn, transaction, regime, target, max_changes, max_candidates, progress)
    if found.bound_reached:
        click.echo(f"what-if: bound reached (--max-candidates {max_candidates})", err=True)
    write_output(whatif_text(found, lang), output)


@click.command("diff")
@click.argument("left", type=click.Path(dir_okay=False))
@click.argument("right", type=click.Path(dir_okay=False), required=False)
@click.option("--regime", type=click.Choice(["ifr", "enforced"]), default=None,
              help="Reading of the law for LEFT (default: its own).")
@click.option("--vs-regime", type=click.Choice(["ifr", "enforced"]), default=None,
              help="Reading of the law for the right side (default: --regime, else its own).")
@click.option("-t", "--transaction", "transactions", multiple=True,
              help="Only this transaction (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "dot", "svg"]), default="text",
              show_default=True, help="Text, or a graph with the changed steps highlighted.")
@click.option("--level", type=click.Choice(["argument", "full"]), default="argument",
              show_default=True,
              help="Compare the arguments statement by statement, or the full derivations "
                   "step by step.")
@click.option("--all-steps", is_flag=True,
              help="Text, --level full: list every step that appeared or disappeared, not only "
                   "rules and facts.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of labels.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of stdout.")
def diff_cmd(left: str, right: str | None, regime: str | None, vs_regime: str | None,
             transactions: tuple[str, ...], fmt: str, level: str, all_steps: bool, lang: str,
             output: str | None) -> None:
    """Show which conclusions and proof steps change between two scenarios, or
    between two readings of one scenario.

    Transactions are matched by id. For each: the decision fields that differ,
    and the statements of the argument (with --level full: the proof steps) that
    appeared (+) or disappeared (-), found by comparing the graphs (content-hash
    ids, then kind and label).

    \b
    Examples:
      earlog diff A.yaml B.yaml
      earlog diff S.yaml --regime ifr --vs-regime enforced
      earlog diff S.yaml --regime ifr --vs-regime enforced --format svg -o diff.svg
    """
    if right is None and vs_regime is None:
        raise click.UsageError("give a second scenario, or --vs-regime to compare two regimes")
    guarded(_diff)(left, right, regime, vs_regime, transactions, fmt, level, all_steps, lang,
                   output)


def _diff(left: str, right: str | None, regime: str | None, vs_regime: str | None,
          transactions: tuple[str, ...], fmt: str, level: str, all_steps: bool, lang: str,
          output: str | None) -> None:
    from reasoner.law.decision import decide
    from reasoner.proof.diff import diff_decisions
    from reasoner.law.receipt import display_path
    from reasoner.render.diff import diff_dot, diff_text
    from reasoner.law.scenario import load_scenario

    a = load_scenario(left)
    b = load_scenario(right) if right is not None else a
    found = diff_decisions(decide(a, regime=regime), decide(b, regime=vs_regime or regime),
                           transactions, display_path(left), display_path(right or left), level)
    if fmt == "text":
        listed = None if all_steps or level == "argument" else ("rule", "fact")
        write_output(diff_text(found, lang, listed), output)
        return
    dot = diff_dot(found, lang=lang)
    if fmt == "dot":
        write_output(dot, output)
        return
    from reasoner.render import to_image

    data = to_image(dot, "svg")
    if output is None:
        click.echo(data.decode("utf-8"), nl=False)
    else:
        write_atomic(Path(output), data)
