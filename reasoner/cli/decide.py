"""The ``decide`` command: every transaction of a scenario, as a table or the JSON contract."""

from __future__ import annotations

import json
from typing import Any

import click

from reasoner.engine import ENGINES
from reasoner.cli.common import (command_text, guarded, master_option, table, use_master,
                                 write_output)

__all__ = ["decide_cmd"]


@click.command("decide")
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="A readable table, or the JSON decision contract.")
@click.option("--regime", type=click.Choice(["ifr", "enforced"]), default=None,
              help="Reading of the law (default: the scenario's own, else ifr).")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Read the law at this date (YYYY-MM-DD) instead of each transaction's date.")
@click.option("--engine", type=click.Choice(ENGINES), default="earlog", show_default=True,
              help="Evaluation backend.")
@master_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of stdout.")
def decide_cmd(scenarios: tuple[str, ...], fmt: str, regime: str | None, as_of: Any,
               engine: str, master: str | None, output: str | None) -> None:
    """Decide every transaction of each SCENARIO file (YAML).

    For each transaction: is a license required, which exceptions or
    authorizations are available, the review policy, the citations used and the
    uncertainties the decision depends on. Invalid scenarios are reported with
    file:line:col and nothing is decided for them.

    With --format json, each scenario gives one object of the decision contract
    (SCENARIOS.md), never wrapped: one file writes that object; several files
    write JSON Lines, one object per line, in the order given.
    """
    use_master(engine, master)
    guarded(_decide)(scenarios, fmt, regime, as_of.date() if as_of else None, engine, output)


def _decide(scenarios: tuple[str, ...], fmt: str, regime: str | None, as_of: Any,
            engine: str, output: str | None) -> None:
    from reasoner.law.decision import decide, decision_json
    from reasoner.law.scenario import load_scenario

    loaded = [load_scenario(path) for path in scenarios]  # validate all before deciding any
    results = [decide(s, regime=regime, as_of=as_of, engine=engine,
                      progress=_progress if len(s.transactions) >= PROGRESS_FROM else None)
               for s in loaded]
    if fmt == "json":
        payloads = [decision_json(r, command=command_text(
            "decide", [r.scenario.file], {"--format": "json", "--regime": r.rulebook.regime,
                                          "--as-of": as_of.isoformat() if as_of else None,
                                          "--engine": None if engine == "earlog" else engine}))
            for r in results]
        if len(payloads) == 1:  # exactly the SCENARIOS.md object
            write_output(json.dumps(payloads[0], indent=2, ensure_ascii=False) + "\n", output)
        else:  # JSON Lines: the same object per scenario, one per line, in argument order
            write_output("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in payloads),
                         output)
        return
    write_output("\n\n".join(_decision_table(r) for r in results) + "\n", output)


# Scenarios with this many transactions report each evaluation on stderr.
PROGRESS_FROM = 1000


def _progress(note: str) -> None:
    click.echo(f"earlog decide: {note}", err=True)


def _decision_table(result: Any) -> str:
    rows = []
    for d in result.decisions:
        rows.append([
            d.transaction, d.outcome,
            "-" if d.license_required is None else ("yes" if d.license_required else "no"),
            ", ".join(d.exceptions) or "-", d.review_policy or "-",
        ])
    head = (f"{result.scenario.id}  (regime {result.rulebook.regime}, "
            f"rulebook {result.rulebook.name} {result.rulebook.version})")
    lines = [head, table(["transaction", "outcome", "license", "exceptions", "review policy"], rows)]
    for d in result.decisions:
        notes = [f"  {d.transaction}: basis " + ("; ".join(d.citations) or "-")]
        for r in d.ruled_out:
            notes.append(f"    {r.exception} ruled out [{r.citation}]: {r.reason}")
        if d.uncertainties:
            notes.append(f"    uncertain: {', '.join(d.uncertainties)}")
        for c in d.conditions:
            notes.append(f"    condition: {c}")
        lines.extend(notes)
    return "\n".join(lines)
