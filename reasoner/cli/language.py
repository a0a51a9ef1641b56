"""Commands over Datalog itself: ``check``, ``query`` and ``rules``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from reasoner.engine import ENGINES
from reasoner.lang.errors import EarlogError, QueryError, decode_text
from reasoner.tools.screen.files import write_atomic
from reasoner.cli.common import (SOURCES, cell, guarded, json_value, master_option, table,
                                 use_master, write_output)

if TYPE_CHECKING:
    from reasoner.lang.checks import CheckedProgram

__all__ = ["check_cmd", "query_cmd", "rules_cmd"]


@click.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--rulebook", is_flag=True,
              help="Also require @id and @cite on every rule, and load the reference facts "
                   "(facts/reference/*.dl) the rulebook is checked with.")
@guarded
def check_cmd(files: tuple[str, ...], rulebook: bool) -> None:
    """Parse rule FILES and run all static checks.

    Exit 0 and print a summary when the program is sound; otherwise print every
    problem (file:line:col, excerpt, hint), sorted by location, and exit 1.
    """
    from reasoner.lang.program import load_program

    from reasoner.lang.checks import growth_warnings

    if rulebook:
        files = _with_reference_facts(files)
    checked = load_program(files, require_citations=rulebook)
    prog = checked.program
    for warning in growth_warnings(checked):
        click.echo(warning.render(SOURCES), err=True)
    click.echo(
        f"ok: {len(prog.rules)} rules, {len(prog.facts)} facts, {len(prog.decls)} inputs, "
        f"{len(set(checked.stratum_of.values()))} strata")


def _with_reference_facts(files: tuple[str, ...]) -> tuple[str, ...]:
    """``files`` and the reference fact files not among them."""
    from reasoner.law.rulebook import reference_dir

    ref = reference_dir()
    given = {Path(f).resolve() for f in files}
    extra = [str(p) for p in sorted(ref.glob("*.dl")) if p.resolve() not in given] \
        if ref.is_dir() else []
    return (*files, *extra)


@click.command("query")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.argument("goal")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@click.option("--regime", type=click.Choice(["ifr", "enforced"]), default=None,
              help="With a scenario: reading of the law (default: the scenario's own).")
@click.option("--engine", type=click.Choice(ENGINES), default="earlog", show_default=True,
              help="Evaluation backend.")
@master_option
def query_cmd(files: tuple[str, ...], goal: str, fmt: str, regime: str | None, engine: str,
              master: str | None) -> None:
    """Answer GOAL over rule FILES (.dl) or over one scenario (.yaml) with the rulebook.

    GOAL is a conjunction of atoms, negations and comparisons in the rule language,
    e.g. 'review(Tx, "presumption_of_denial")', or a saved query file (.dlq), e.g.
    queries/denied.dlq.

    \b
    Examples:
      earlog query facts/scenarios/tier3-links.yaml queries/denied.dlq
      earlog query rules.dl 'path(X, "b"), X != "a"'
    """
    use_master(engine, master)
    guarded(_query)(files, goal, fmt, regime, engine)


def _query(files: tuple[str, ...], goal: str, fmt: str, regime: str | None, engine: str) -> None:
    from reasoner.engine.query import answer
    from reasoner.lang.program import load_program

    name = "<query>"
    if goal.endswith(".dlq") and Path(goal).is_file():
        name, goal = goal, decode_text(Path(goal).read_bytes(), goal, QueryError)
    SOURCES[name] = goal
    scenarios = [f for f in files if f.endswith((".yaml", ".yml"))]
    if scenarios:
        if len(files) != 1:
            raise EarlogError("give either one scenario (.yaml) or rule files (.dl), not both",
                              hint="a scenario is queried with the rulebook's rules")
        from reasoner.law.decision import decide
        from reasoner.law.scenario import load_scenario

        result = decide(load_scenario(scenarios[0]), regime=regime, engine=engine)
        checked, model = result.rulebook.checked, result.model
    else:
        from reasoner.engine import get_engine

        checked = load_program(files)
        model = get_engine(engine).evaluate(checked, provenance=False)
    names, answers = answer(checked, model, goal, name)
    if fmt == "json":
        payload = {"query": goal.strip(), "variables": names,
                   "answers": [{k: json_value(a[k]) for k in names} for a in answers]}
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    if not names:
        click.echo("yes" if answers else "no")
        return
    click.echo(table(names, [[cell(a[k]) for k in names] for a in answers]))
    click.echo(f"({len(answers)} answer{'s' if len(answers) != 1 else ''})")


@click.command("rules")
@click.option("--regime", type=click.Choice(["ifr", "enforced"]), default="ifr", show_default=True,
              help="Which regime's rules.")
@click.option("--graph", is_flag=True,
              help="Export how the rules interplay instead of a list: the element map (default) "
                   "or the full predicate/rule dependency graph.")
@click.option("--level", type=click.Choice(["element", "full"]), default=None,
              help="Graph: 'element' (default) maps the provisions of the scope, license "
                   "requirement, exceptions with their bars and filters, and review policy with "
                   "its precedence; 'full' draws every predicate and rule (implied by --focus).")
@click.option("--format", "fmt", type=click.Choice(["text", "dot", "svg", "png", "pdf", "graphml",
                                                    "json", "mermaid"]),
              default=None, help="List: text or json. Graph: dot (default), svg, png, pdf, "
                                 "graphml, json, mermaid.")
@click.option("--focus", default=None, metavar="PREDICATE",
              help="Graph only the rules and predicates that PREDICATE depends on (full level).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of labels (and of the --uncertainties texts).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file (required for png and pdf).")
@click.option("--uncertainties", "uncertain", is_flag=True,
              help="List each flagged uncertainty with its public source and the rules that "
                   "raise it (text or json).")
def rules_cmd(regime: str, graph: bool, level: str | None, fmt: str | None, focus: str | None,
              lang: str, output: str | None, uncertain: bool) -> None:
    """List the rulebook's rules with their citations, or export how they interplay.

    \b
    Examples:
      earlog rules
      earlog rules --graph --format png -o rulemap.png
      earlog rules --graph --level full --format svg -o rules.svg
      earlog rules --graph --focus review --format svg -o review.svg
      earlog rules --uncertainties
      earlog rules --uncertainties --lang zh
    """
    if uncertain:
        guarded(_uncertainties)(regime, graph, fmt, lang, output)
        return
    guarded(_rules)(regime, graph, level, fmt, focus, lang, output)


def _uncertainties(regime: str, graph: bool, fmt: str | None, lang: str,
                   output: str | None) -> None:
    from reasoner.law.rulebook import load_rulebook, uncertainty_raisers

    if graph or fmt not in (None, "text", "json"):
        raise EarlogError("--uncertainties lists text or json",
                          hint="drop --graph; use --format text or json")
    book = load_rulebook(regime)
    raisers = uncertainty_raisers(book)
    # the text and what settles it in --lang (English where a Chinese one is missing);
    # the source is the public text's own citation
    texts, settles = ((book.uncertainties_zh, book.settles_zh) if lang == "zh"
                      else (book.uncertainties, book.settles))
    entries = [{"id": u, "text": texts.get(u) or book.uncertainties[u],
                "source": book.sources.get(u, ""),
                "settle": settles.get(u) or book.settles.get(u, ""),
                "rules": list(raisers.get(u, ()))}
               for u in sorted(book.uncertainties)]
    if fmt == "json":
        write_output(json.dumps(entries, indent=2, ensure_ascii=False) + "\n", output)
        return
    lines = []
    for e in entries:
        lines.append(f"{e['id']}: {e['text']}")
        lines.append(f"  source: {e['source'] or '-'}")
        lines.append(f"  settled by: {e['settle'] or '-'}")
        lines.append(f"  raised by: {', '.join(e['rules']) or f'no rule under regime {regime}'}")
    write_output("\n".join(lines) + f"\n({len(entries)} uncertainties, regime {regime})\n",
                 output)


def _rules(regime: str, graph: bool, level: str | None, fmt: str | None, focus: str | None,
           lang: str, output: str | None) -> None:
    from reasoner.law.rulebook import load_rulebook

    book = load_rulebook(regime)
    if not graph:
        if fmt not in (None, "text", "json"):
            raise EarlogError(f"--format {fmt} needs --graph", hint="lists are text or json")
        if level is not None or focus is not None:
            raise EarlogError("--level and --focus shape a graph", hint="add --graph")
        rules: list[dict[str, Any]] = [{"id": r.id, "cite": r.meta.cite, "predicate": r.head.pred,
                  "label": r.meta.zh if lang == "zh" else r.meta.en,
                  "regimes": list(r.meta.regimes), "uncertain": list(r.meta.uncertain),
                  "source": f"{r.span.file}:{r.span.line}"} for r in book.rules]
        if fmt == "json":
            write_output(json.dumps(rules, indent=2, ensure_ascii=False) + "\n", output)
            return
        rows = [[r["id"], r["cite"], r["predicate"], ",".join(r["regimes"]) or "all",
                 ",".join(r["uncertain"]) or "-"] for r in rules]
        write_output(table(["id", "citation", "concludes", "regimes", "uncertain"], rows)
               + f"\n({len(rows)} rules, regime {regime})\n", output)
        return
    fmt = fmt or "dot"
    if fmt == "text":
        raise EarlogError("--graph exports a graph", hint="use --format dot, svg, graphml, json or mermaid")
    if fmt in ("png", "pdf") and output is None:
        raise EarlogError(f"--format {fmt} writes binary data; name a file with -o",
                          hint=f"e.g. -o rules.{fmt}")
    if level == "element" and focus is not None:
        raise EarlogError("--focus draws the full graph around one predicate",
                          hint="drop --level element, or use --level full")
    if (level or ("full" if focus else "element")) == "element":
        _element_map(book.checked, fmt, lang, output)
        return
    _full_graph(book.checked, fmt, focus, lang, output)


def _element_map(checked: CheckedProgram, fmt: str, lang: str, output: str | None) -> None:
    from reasoner.proof.rulegraph import rules_graphml
    from reasoner.proof.rulemap import element_map, element_map_dot, element_map_json, element_map_mermaid

    g = element_map(checked)
    if fmt in ("dot", "svg", "png", "pdf"):
        _write_image(element_map_dot(g, lang), fmt, output)
        return
    text = {"graphml": lambda: rules_graphml(g), "json": lambda: element_map_json(g),
            "mermaid": lambda: element_map_mermaid(g, lang)}[fmt]()
    write_output(text, output)


def _write_image(dot: str, fmt: str, output: str | None) -> None:
    if fmt == "dot":
        write_output(dot, output)
        return
    from reasoner.render import to_image

    data = to_image(dot, fmt)
    if output is None:
        click.echo(data.decode("utf-8"), nl=False)
    else:
        write_atomic(Path(output), data)


def _full_graph(checked: CheckedProgram, fmt: str, focus: str | None, lang: str, output: str | None) -> None:
    from reasoner.proof.rulegraph import rule_graph, rules_dot, rules_graphml, rules_json, rules_mermaid

    g = rule_graph(checked)
    if focus is not None:
        import difflib

        if f"p:{focus}" not in g:
            close = difflib.get_close_matches(focus, [d["name"] for _, d in g.nodes(data=True)
                                                      if d["kind"] != "rule"], n=1)
            raise EarlogError(f"unknown predicate '{focus}'",
                              hint=f"did you mean '{close[0]}'?" if close else "see: earlog rules")
        import networkx as nx

        keep = nx.ancestors(g, f"p:{focus}") | {f"p:{focus}"}
        g = g.subgraph(keep).copy()
    if fmt in ("dot", "svg", "png", "pdf"):
        _write_image(rules_dot(g, lang), fmt, output)
        return
    writer = {"graphml": rules_graphml, "json": rules_json, "mermaid": rules_mermaid}[fmt]
    write_output(writer(g), output)
