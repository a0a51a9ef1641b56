"""The ``earlog`` command: the only place that prints, reads argv and sets exit codes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import click

from reasoner.version import __version__
from reasoner.engine import ENGINES
from reasoner.lang.errors import EarlogError
from reasoner.lang.ir import Value, format_value
from reasoner.tools.screen.files import write_atomic

__all__ = ["main", "cli"]


# Texts that did not come from files (e.g. a query typed on the command line),
# so that diagnostics can show their excerpt.
_SOURCES: dict[str, str] = {}


def _fail(exc: EarlogError) -> None:
    click.echo(exc.render(_SOURCES), err=True)
    sys.exit(exc.exit_code)


def _guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn earlog errors into compiler-style messages and exit codes."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EarlogError as exc:
            _fail(exc)
    return wrapper


def _write(text: str, output: str | None) -> None:
    """Write all of ``text`` to ``output`` (atomically) or stdout."""
    if output is None or output == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    write_atomic(Path(output), text.encode("utf-8"))


def _cell(v: Value) -> str:
    return v if isinstance(v, str) else format_value(v)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain aligned text table."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="earlog")
def cli() -> None:
    """earlog: a Datalog legal reasoner for the EAR's AI Diffusion rule (90 FR 4544).

    Decide whether exports of advanced AI chips and model weights need a license,
    which exceptions apply and why, with pinpoint CFR citations on every step.
    """


@cli.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--rulebook", is_flag=True, help="Also require @id and @cite on every rule.")
@_guarded
def check_cmd(files: tuple[str, ...], rulebook: bool) -> None:
    """Parse rule FILES and run all static checks.

    Exit 0 and print a summary when the program is sound; otherwise print every
    problem (file:line:col, excerpt, hint), sorted by location, and exit 1.
    """
    from reasoner.lang.program import load_program

    checked = load_program(files, require_citations=rulebook)
    prog = checked.program
    click.echo(
        f"ok: {len(prog.rules)} rules, {len(prog.facts)} facts, {len(prog.decls)} inputs, "
        f"{len(set(checked.stratum_of.values()))} strata")


@cli.command("query")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.argument("goal")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@click.option("--regime", type=click.Choice(["ifr", "enforced"]), default=None,
              help="With a scenario: reading of the law (default: the scenario's own).")
@click.option("--engine", type=click.Choice(ENGINES), default="earlog", show_default=True,
              help="Evaluation backend.")
def query_cmd(files: tuple[str, ...], goal: str, fmt: str, regime: str | None, engine: str) -> None:
    """Answer GOAL over rule FILES (.dl) or over one scenario (.yaml) with the rulebook.

    GOAL is a conjunction of atoms, negations and comparisons in the rule language,
    e.g. 'review(Tx, "presumption_of_denial")', or a saved query file (.dlq), e.g.
    queries/denied.dlq.

    \b
    Examples:
      earlog query facts/scenarios/tier3-links.yaml queries/denied.dlq
      earlog query rules.dl 'path(X, "b"), X != "a"'
    """
    _guarded(_query)(files, goal, fmt, regime, engine)


def _query(files: tuple[str, ...], goal: str, fmt: str, regime: str | None, engine: str) -> None:
    from reasoner.lang.program import answer, load_program

    name = "<query>"
    if goal.endswith(".dlq") and Path(goal).is_file():
        name, goal = goal, Path(goal).read_text(encoding="utf-8")
    _SOURCES[name] = goal
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
                   "answers": [{k: _json_value(a[k]) for k in names} for a in answers]}
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    if not names:
        click.echo("yes" if answers else "no")
        return
    click.echo(table(names, [[_cell(a[k]) for k in names] for a in answers]))
    click.echo(f"({len(answers)} answer{'s' if len(answers) != 1 else ''})")


@cli.command("decide")
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="A readable table, or the JSON decision contract.")
@click.option("--regime", type=click.Choice(["ifr", "enforced"]), default=None,
              help="Reading of the law (default: the scenario's own, else ifr).")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Read the law at this date (YYYY-MM-DD) instead of each transaction's date.")
@click.option("--engine", type=click.Choice(ENGINES), default="earlog", show_default=True,
              help="Evaluation backend.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of stdout.")
def decide_cmd(scenarios: tuple[str, ...], fmt: str, regime: str | None, as_of: Any,
               engine: str, output: str | None) -> None:
    """Decide every transaction of each SCENARIO file (YAML).

    For each transaction: is a license required, which exceptions or
    authorizations are available, the review policy, the citations used and the
    uncertainties the decision depends on. Invalid scenarios are reported with
    file:line:col and nothing is decided for them.
    """
    _guarded(_decide)(scenarios, fmt, regime, as_of.date() if as_of else None, engine, output)


def _decide(scenarios: tuple[str, ...], fmt: str, regime: str | None, as_of: Any,
            engine: str, output: str | None) -> None:
    from reasoner.law.decision import decide, decision_json
    from reasoner.law.scenario import load_scenario

    loaded = [load_scenario(path) for path in scenarios]  # validate all before deciding any
    results = [decide(s, regime=regime, as_of=as_of, engine=engine) for s in loaded]
    if fmt == "json":
        payloads = [decision_json(r, command=_command(
            "decide", [r.scenario.file], {"--format": "json", "--regime": r.rulebook.regime,
                                          "--as-of": as_of.isoformat() if as_of else None,
                                          "--engine": None if engine == "earlog" else engine}))
            for r in results]
        body = payloads[0] if len(payloads) == 1 else payloads
        _write(json.dumps(body, indent=2, ensure_ascii=False) + "\n", output)
        return
    _write("\n\n".join(_decision_table(r) for r in results) + "\n", output)


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
        notes = [f"  {d.transaction}: " + "; ".join(d.citations)]
        if d.uncertainties:
            notes.append(f"    uncertain: {', '.join(d.uncertainties)}")
        for c in d.conditions:
            notes.append(f"    condition: {c}")
        lines.extend(notes)
    return "\n".join(lines)


@cli.command("rules")
@click.option("--regime", type=click.Choice(["ifr", "enforced"]), default="ifr", show_default=True,
              help="Which regime's rules.")
@click.option("--graph", is_flag=True,
              help="Export the predicate/rule dependency graph (with strata) instead of a list.")
@click.option("--format", "fmt", type=click.Choice(["text", "dot", "svg", "png", "pdf", "graphml",
                                                    "json", "mermaid"]),
              default=None, help="List: text or json. Graph: dot (default), svg, png, pdf, "
                                 "graphml, json, mermaid.")
@click.option("--focus", default=None, metavar="PREDICATE",
              help="Graph only the rules and predicates that PREDICATE depends on.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of labels.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file (required for png and pdf).")
def rules_cmd(regime: str, graph: bool, fmt: str | None, focus: str | None, lang: str,
              output: str | None) -> None:
    """List the rulebook's rules with their citations, or export how they interplay.

    \b
    Examples:
      earlog rules
      earlog rules --graph --format svg -o rules.svg
      earlog rules --graph --focus review --format svg -o review.svg
    """
    _guarded(_rules)(regime, graph, fmt, focus, lang, output)


def _rules(regime: str, graph: bool, fmt: str | None, focus: str | None, lang: str,
           output: str | None) -> None:
    from reasoner.law.rulebook import load_rulebook
    from reasoner.proof.rulegraph import rule_graph, rules_dot, rules_graphml, rules_json, rules_mermaid

    book = load_rulebook(regime)
    if not graph:
        if fmt not in (None, "text", "json"):
            raise EarlogError(f"--format {fmt} needs --graph", hint="lists are text or json")
        rules: list[dict[str, Any]] = [{"id": r.id, "cite": r.meta.cite, "predicate": r.head.pred,
                  "label": r.meta.zh if lang == "zh" else r.meta.en,
                  "regimes": list(r.meta.regimes), "uncertain": list(r.meta.uncertain),
                  "source": f"{r.span.file}:{r.span.line}"} for r in book.rules]
        if fmt == "json":
            _write(json.dumps(rules, indent=2, ensure_ascii=False) + "\n", output)
            return
        rows = [[r["id"], r["cite"], r["predicate"], ",".join(r["regimes"]) or "all",
                 ",".join(r["uncertain"]) or "-"] for r in rules]
        _write(table(["id", "citation", "concludes", "regimes", "uncertain"], rows)
               + f"\n({len(rows)} rules, regime {regime})\n", output)
        return
    g = rule_graph(book.checked)
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
    fmt = fmt or "dot"
    if fmt == "text":
        raise EarlogError("--graph exports a graph", hint="use --format dot, svg, graphml, json or mermaid")
    if fmt in ("png", "pdf") and output is None:
        raise EarlogError(f"--format {fmt} writes binary data; name a file with -o",
                          hint=f"e.g. -o rules.{fmt}")
    if fmt in ("dot", "svg", "png", "pdf"):
        dot = rules_dot(g, lang)
        if fmt == "dot":
            _write(dot, output)
            return
        from reasoner.render import to_image

        data = to_image(dot, fmt)
        if output is None:
            click.echo(data.decode("utf-8"), nl=False)
        else:
            write_atomic(Path(output), data)
        return
    writer = {"graphml": rules_graphml, "json": rules_json, "mermaid": rules_mermaid}[fmt]
    _write(writer(g), output)


# ---- proofs: why, why-not, explain ---------------------------------------------

PROOF_FORMATS = ("text", "dot", "svg", "png", "pdf", "graphml", "json", "mermaid")
BINARY_FORMATS = ("png", "pdf")


def _proof_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by why, why-not and explain."""
    options = [
        click.option("--format", "fmt", type=click.Choice(PROOF_FORMATS), default="text",
                     show_default=True, help="Terminal text, or a graph export."),
        click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
                     help="Write to this file (required for png and pdf)."),
        click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
                     help="Language of labels and connective words."),
        click.option("--compact", is_flag=True,
                     help="Show only the labelled legal steps: cited rules, given facts and "
                          "negated conditions (no arithmetic; why-nots show the conditions "
                          "that matched without their proofs)."),
        click.option("--max-depth", type=click.IntRange(min=0), default=None,
                     help="Cut the proof below this depth."),
        click.option("--regime", type=click.Choice(["ifr", "enforced"]), default=None,
                     help="Reading of the law (default: the scenario's own)."),
        click.option("--theme", type=click.Choice(["default", "mono"]), default="default",
                     show_default=True, help="Colours and shapes of graph exports."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _emit_proof(explained: Any, graph: Any, text: str, fmt: str, output: str | None,
                lang: str, theme: str, receipt: Any = None) -> None:
    from reasoner.render import get_theme, to_dot, to_graphml, to_image, to_json, to_mermaid

    if fmt == "text":
        _write(text, output)
        return
    if fmt in BINARY_FORMATS and output is None:
        raise EarlogError(f"--format {fmt} writes binary data; name a file with -o",
                          hint=f"e.g. -o proof.{fmt}")
    th = get_theme(theme)
    if fmt == "dot":
        _write(to_dot(graph, th, lang=lang), output)
    elif fmt in ("svg", "png", "pdf"):
        data = to_image(to_dot(graph, th, lang=lang), fmt)
        if output is None:
            click.echo(data.decode("utf-8"), nl=False)
        else:
            write_atomic(Path(output), data)
    elif fmt == "graphml":
        _write(to_graphml(graph), output)
    elif fmt == "json":
        _write(to_json(graph, receipt.to_dict() if receipt is not None else None), output)
    else:
        _write(to_mermaid(graph, th, lang=lang), output)


def _decided(scenario: str, regime: str | None) -> Any:
    from reasoner.law.decision import decide
    from reasoner.law.scenario import load_scenario

    return decide(load_scenario(scenario), regime=regime)


@cli.command("why")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("goal")
@_proof_options
def why_cmd(scenario: str, goal: str, **opts: Any) -> None:
    """Prove GOAL over SCENARIO: the cited steps that make it hold.

    GOAL is one atom, e.g. 'outcome("tx1", "license_required")' or
    'review("tx1", P)' (variables match any value; the first match is proved).
    Quote transaction ids: bare names are variables.
    """
    _guarded(_why)(scenario, goal, **opts)


def _why(scenario: str, goal: str, fmt: str, output: str | None, lang: str, compact: bool,
         max_depth: int | None, regime: str | None, theme: str) -> None:
    from reasoner.lang.errors import QueryError
    from reasoner.proof.explanation import parse_goal
    from reasoner.proof.why import ProofBuilder, compact as compact_proof
    from reasoner.proof.graph import to_graph
    from reasoner.render import to_text

    _SOURCES["<goal>"] = goal
    pred, pattern = parse_goal(goal)
    result = _decided(scenario, regime)
    rows = sorted((r for r in result.model.rows(pred)
                   if len(r) == len(pattern) and all(p is None or p == v for p, v in zip(pattern, r))),
                  key=lambda r: tuple(map(str, r)))
    if not rows:
        raise QueryError(f"{goal} does not hold in {scenario}",
                         hint=f"ask why not: earlog why-not {scenario} '{goal}'")
    proof = ProofBuilder(result.model, result.rulebook.checked, why_not_depth=1).proof(
        pred, rows[0], max_depth)
    shown = compact_proof(proof) if compact else proof
    receipt = _proof_receipt(result, "why", [scenario, goal], compact, max_depth)
    _emit_proof(shown, to_graph(shown), to_text(shown, lang, max_depth=max_depth),
                fmt, output, lang, theme, receipt)


@cli.command("why-not")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("goal")
@click.option("--depth", type=click.IntRange(min=1), default=3, show_default=True,
              help="How many levels of failing conditions to explain.")
@_proof_options
def why_not_cmd(scenario: str, goal: str, depth: int, **opts: Any) -> None:
    """Explain why GOAL does not hold over SCENARIO.

    For every rule that could derive GOAL: the first condition that fails, the
    facts that matched before it, and why it fails, with the provision it comes
    from. Example: earlog why-not S.yaml 'exception("tx2", "LPP")'
    """
    _guarded(_why_not)(scenario, goal, depth, **opts)


def _why_not(scenario: str, goal: str, depth: int, fmt: str, output: str | None, lang: str,
             compact: bool, max_depth: int | None, regime: str | None, theme: str) -> None:
    from reasoner.proof.explanation import parse_goal
    from reasoner.proof.graph import to_graph
    from reasoner.render import to_text
    from reasoner.proof.whynot import compact_why_not, why_not

    _SOURCES["<goal>"] = goal
    pred, pattern = parse_goal(goal)
    result = _decided(scenario, regime)
    w = why_not(result.model, result.rulebook.checked, pred, pattern, depth)
    shown = compact_why_not(w) if compact else w
    receipt = _proof_receipt(result, "why-not", [scenario, goal], compact, max_depth,
                             {"--depth": depth})
    _emit_proof(shown, to_graph(shown), to_text(shown, lang, max_depth=max_depth),
                fmt, output, lang, theme, receipt)


@cli.command("explain")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("transaction")
@_proof_options
def explain_cmd(scenario: str, transaction: str, **opts: Any) -> None:
    """Explain the decision for TRANSACTION in SCENARIO.

    Shows the outcome with its full cited proof and, for each exception or
    authorization that is not available, why not (its blocking provision).
    """
    _guarded(_explain)(scenario, transaction, **opts)


def _explain(scenario: str, transaction: str, fmt: str, output: str | None, lang: str,
             compact: bool, max_depth: int | None, regime: str | None, theme: str) -> None:
    from reasoner.proof.explanation import (compact_explanation, explain_transaction, explanation_graph,
                              explanation_text)

    result = _decided(scenario, regime)
    expl = explain_transaction(result, transaction, max_depth)
    shown = compact_explanation(expl) if compact else expl
    text = explanation_text(shown, lang, max_depth=max_depth)
    receipt = _proof_receipt(result, "explain", [scenario, transaction], compact, max_depth,
                             decisions=[expl.decision])
    _emit_proof(shown, explanation_graph(shown), text, fmt, output, lang, theme, receipt)


# ---- receipts, memos, what-if, proof diffs ------------------------------------------


def _command(name: str, arguments: Sequence[str], options: dict[str, Any]) -> str:
    """A clean ``earlog`` command line for a receipt (paths relative where possible)."""
    from reasoner.law.receipt import command_line, display_path

    shown = [display_path(a) if Path(a).suffix in (".yaml", ".yml") else a for a in arguments]
    return command_line(name, shown, options)


def _proof_receipt(result: Any, name: str, arguments: Sequence[str], compact: bool,
                   max_depth: int | None, extra: dict[str, Any] | None = None,
                   decisions: Any = None) -> Any:
    """The receipt of a proof's JSON export (``why``, ``why-not``, ``explain``)."""
    from reasoner.law.receipt import make_receipt

    options = {**(extra or {}), "--format": "json", "--regime": result.rulebook.regime,
               "--compact": compact, "--max-depth": max_depth}
    return make_receipt(result, _command(name, arguments, options), decisions)


MEMO_FORMATS = ("md", "html", "docx")


@cli.command("memo")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.argument("transactions", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(MEMO_FORMATS), default="md", show_default=True,
              help="Markdown, one self-contained HTML page, or a Word document (needs -o).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of stdout (required for docx).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of headings and labels.")
@click.option("--regime", type=click.Choice(["ifr", "enforced"]), default=None,
              help="Reading of the law (default: the scenario's own).")
def memo_cmd(scenario: str, transactions: tuple[str, ...], fmt: str, output: str | None,
             lang: str, regime: str | None) -> None:
    """Write a memo for each TRANSACTION of SCENARIO (all when none is given).

    Each memo is in IRAC form: the Issue in words; the Rule (each provision used,
    cited, with its plain-language reading); the Application (the scenario's facts
    with file:line, how each provision applies, and why each exception is ruled
    out); the Conclusion (outcome, review policy, conditions, uncertainties); and a
    receipt with the rulebook and scenario digests and the command that reproduces it.

    \b
    Examples:
      earlog memo facts/scenarios/enforced-posture.yaml prc-parent
      earlog memo S.yaml --format html -o memo.html
      earlog memo S.yaml tx1 --format docx -o memo.docx --lang zh
    """
    _guarded(_memo)(scenario, transactions, fmt, output, lang, regime)


def _memo(scenario: str, transactions: tuple[str, ...], fmt: str, output: str | None, lang: str,
          regime: str | None) -> None:
    from reasoner.proof.explanation import explain_transaction
    from reasoner.tools.memo.document import build_memo
    from reasoner.law.receipt import display_path

    if fmt == "docx" and output is None:
        raise EarlogError("--format docx writes binary data; name a file with -o",
                          hint="e.g. -o memo.docx")
    result = _decided(scenario, regime)
    memos = []
    for tx in transactions or tuple(d.transaction for d in result.decisions):
        expl = explain_transaction(result, tx)
        options = {"--format": fmt, "--lang": lang, "--regime": result.rulebook.regime,
                   "-o": display_path(output) if fmt == "docx" and output else None}
        memos.append(build_memo(result, expl, _command("memo", [scenario, tx], options), lang))
    if fmt == "docx":
        from reasoner.tools.memo.docx import memo_docx

        write_atomic(Path(output or ""), memo_docx(memos))
    elif fmt == "html":
        from reasoner.tools.memo.html import memo_html

        _write(memo_html(memos), output)
    else:
        from reasoner.tools.memo.markdown import memo_md

        _write(memo_md(memos), output)


@cli.command("what-if")
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
    _guarded(_what_if)(scenario, transaction, target, max_changes, max_candidates, assignments,
                       regime, lang, output)


def _what_if(scenario: str, transaction: str, target: str | None, max_changes: int,
             max_candidates: int, assignments: tuple[str, ...], regime: str | None, lang: str,
             output: str | None) -> None:
    from reasoner.tools.whatif.text import set_text, whatif_text
    from reasoner.law.scenario import load_scenario
    from reasoner.tools.whatif.search import what_if, what_if_set

    scn = load_scenario(scenario)
    if assignments:
        _write(set_text(what_if_set(scn, transaction, assignments, regime), lang), output)
        return

    def progress(done: int, budget: int) -> None:
        if done % 50 == 0:
            click.echo(f"what-if: {done}/{budget} variants decided", err=True)

    found = what_if(scn, transaction, regime, target, max_changes, max_candidates, progress)
    if found.bound_reached:
        click.echo(f"what-if: bound reached (--max-candidates {max_candidates})", err=True)
    _write(whatif_text(found, lang), output)


@cli.command("diff")
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
@click.option("--all-steps", is_flag=True,
              help="Text: list every step that appeared or disappeared, not only rules and facts.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of labels.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of stdout.")
def diff_cmd(left: str, right: str | None, regime: str | None, vs_regime: str | None,
             transactions: tuple[str, ...], fmt: str, all_steps: bool, lang: str,
             output: str | None) -> None:
    """Show which conclusions and proof steps change between two scenarios, or
    between two readings of one scenario.

    Transactions are matched by id. For each: the decision fields that differ,
    and the proof steps that appeared (+) or disappeared (-), found by comparing
    the explanation graphs (content-hash ids, then kind and label).

    \b
    Examples:
      earlog diff A.yaml B.yaml
      earlog diff S.yaml --regime ifr --vs-regime enforced
      earlog diff S.yaml --regime ifr --vs-regime enforced --format svg -o diff.svg
    """
    if right is None and vs_regime is None:
        raise click.UsageError("give a second scenario, or --vs-regime to compare two regimes")
    _guarded(_diff)(left, right, regime, vs_regime, transactions, fmt, all_steps, lang, output)


def _diff(left: str, right: str | None, regime: str | None, vs_regime: str | None,
          transactions: tuple[str, ...], fmt: str, all_steps: bool, lang: str,
          output: str | None) -> None:
    from reasoner.law.decision import decide
    from reasoner.proof.diff import diff_decisions
    from reasoner.law.receipt import display_path
    from reasoner.render.diff import diff_dot, diff_text
    from reasoner.law.scenario import load_scenario

    a = load_scenario(left)
    b = load_scenario(right) if right is not None else a
    found = diff_decisions(decide(a, regime=regime), decide(b, regime=vs_regime or regime),
                           transactions, display_path(left), display_path(right or left))
    if fmt == "text":
        _write(diff_text(found, lang, None if all_steps else ("rule", "fact")), output)
        return
    dot = diff_dot(found, lang=lang)
    if fmt == "dot":
        _write(dot, output)
        return
    from reasoner.render import to_image

    data = to_image(dot, "svg")
    if output is None:
        click.echo(data.decode("utf-8"), nl=False)
    else:
        write_atomic(Path(output), data)


# ---- bulk screening ---------------------------------------------------------------

SCREEN_REJECTED_EXIT = 3


@cli.command("screen")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--context", "context_path", required=True, type=click.Path(dir_okay=False),
              help="Scenario YAML without transactions: parties, items, models, history, regime.")
@click.option("--input-format", type=click.Choice(["csv", "jsonl"]), default=None,
              help="Format of FILE (default: by extension, .csv or .jsonl).")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv",
              show_default=True, help="Format of the decisions.")
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
@click.option("--sort", "sort_rows", is_flag=True,
              help="Sort the rows by date first (on-disk merge sort, bounded memory); decisions "
                   "then come out in date order. Without it, a row dated before an earlier row "
                   "of the same consignee and calendar year is rejected.")
@click.option("--jobs", type=click.IntRange(min=1), default=lambda: _cpus(),
              show_default="the number of CPUs",
              help="Worker processes; consignees are split between them (1: decide "
                   "in this process).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None,
              help="Rows decided together per worker (default 1000).")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Progress bar on stderr.")
def screen_cmd(file: str, context_path: str, input_format: str | None, fmt: str,
               output: str | None, rejects: str | None, explain_dir: str | None,
               explain_format: str, regime: str | None, as_of: Any, sort_rows: bool, jobs: int,
               chunk_size: int | None, progress: bool) -> None:
    """Decide every transaction of a CSV or JSONL FILE against a CONTEXT scenario.

    FILE has one transaction per row, with exactly the transaction fields of the
    scenario format as columns (an empty cell is null):

    \b
      id,type,date,exporter,from,to,ultimate_consignee,item,model,quantity,
      end_use,final_destination

    The decisions (the fields of the JSON decision contract, lists joined with
    ';' in CSV) stream to stdout or -o, in file order. A summary goes to stderr.

    LPP is counted per consignee and calendar year across the whole file, in date
    order: within each consignee and year, rows must not go back in date (such a
    row is rejected), unless --sort is given.

    A row that fails validation is reported on stderr (file:line: error: ...) and
    written to the rejects file with its line and the reason; the run goes on.

    \b
    Exit codes:
      0  every row was decided
      3  some rows were rejected (the others were decided; see the rejects file)
      1  bad input as a whole (context, CSV header, unreadable file): nothing written
      2  command-line usage error
    """
    code = _guarded(_screen)(file, context_path, input_format, fmt, output, rejects, explain_dir,
                             explain_format, regime, as_of.date() if as_of else None, sort_rows,
                             jobs, chunk_size, progress)
    if code:
        sys.exit(code)


def _cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _screen(file: str, context_path: str, input_format: str | None, fmt: str,
            output: str | None, rejects: str | None, explain_dir: str | None,
            explain_format: str, regime: str | None, as_of: Any, sort_rows: bool, jobs: int,
            chunk_size: int | None, progress: bool) -> int:
    import time

    from reasoner.law.scenario import load_scenario
    from reasoner.tools.screen.screener import CHUNK_SIZE, Rejected, Screener, Summary, decision_record
    from reasoner.tools.screen.files import (AtomicFile, DecisionWriter, RejectWriter, input_format as pick_format,
                           proof_name, read_rows)

    kind = pick_format(file, input_format)
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
    screener = Screener(context, file, regime=regime, as_of=as_of,
                        chunk_size=chunk_size or CHUNK_SIZE,
                        proofs=explain_format if proof_dir else None, jobs=jobs, sort=sort_rows)
    out = AtomicFile(output, stdout=sys.stdout)
    rej = AtomicFile(rejects_path)
    writer, rejected = DecisionWriter(out, fmt), RejectWriter(rej)
    summary = Summary()
    bar = _progress_bar(file, progress)
    started = time.perf_counter()
    try:
        for result in screener.run(read_rows(file, kind, on_bytes=bar.update)):
            summary.add(result)
            if isinstance(result, Rejected):
                rejected.write(result.line, result.reason, result.cells)
                for d in result.diagnostics:
                    bar.write(f"{file}:{result.line}: error: {d.message}"
                              + (f" (hint: {d.hint})" if d.hint else ""), file=sys.stderr)
                continue
            writer.write(decision_record(result.decision))
            if proof_dir is not None and result.proof is not None:
                name = proof_name(result.decision.transaction, result.line, explain_format)
                write_atomic(proof_dir / name, result.proof)
            if summary.decided % 500 == 0:
                bar.set_postfix(decided=summary.decided, rejected=summary.rejected, refresh=False)
    except BaseException:
        out.discard()
        rej.discard()
        raise
    finally:
        bar.close()
    out.commit()
    rej.commit()
    elapsed = time.perf_counter() - started
    click.echo(_screen_summary(file, summary, rejects_path, elapsed, proof_dir), err=True)
    return SCREEN_REJECTED_EXIT if summary.rejected else 0


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


def _progress_bar(file: str, enabled: bool) -> Any:
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: workers are forked
    try:
        total = Path(file).stat().st_size
    except OSError:
        total = None
    return tqdm(total=total, unit="B", unit_scale=True, desc="screening", file=sys.stderr,
                disable=not enabled, mininterval=0.5, leave=False)


def _screen_summary(file: str, s: Any, rejects_path: str, elapsed: float,
                    proof_dir: Path | None) -> str:
    rate = (s.decided + s.rejected) / elapsed if elapsed > 0 else 0.0
    head = (f"screened {file}: {s.decided} decided, {s.rejected} rejected "
            f"in {elapsed:.1f} s ({rate:,.0f} rows/s)")
    parts = [head]
    if s.rejected:
        parts.append(f"rejected rows: {rejects_path}")
    if proof_dir is not None:
        parts.append(f"proofs: {s.proofs} in {proof_dir}")
    for title, counts in (("outcome", s.outcomes), ("exception", s.exceptions),
                          ("review policy", s.reviews)):
        rows = [[k, str(n)] for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        parts.append(table([title, "count"], rows or [["-", "0"]]))
    parts.append(table(["rejected", "count"], [["rows", str(s.rejected)]]))
    return "\n\n".join(parts)


# ---- the trainer's explorer ---------------------------------------------------------


@cli.command("serve")
@click.argument("scenario", type=click.Path(dir_okay=False), required=False)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but a loopback address shows the explorer "
                   "to your network.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--max-body", type=click.IntRange(min=1024), default=1 << 20, show_default=True,
              help="Largest request body accepted, in bytes.")
@click.option("--log", "log_requests", is_flag=True, help="Print one line per request to stderr.")
def serve_cmd(scenario: str | None, host: str, port: int, max_body: int,
              log_requests: bool) -> None:
    """Start the trainer's explorer: a local web page to edit SCENARIO's facts and watch
    the decisions, the proof and the rules that fired change.

    Without SCENARIO it starts from facts/scenarios/aia-tier1.yaml (or a small
    template). Every edit is validated as a scenario file is, then decided again;
    proof steps new since the last decision are highlighted. Stop with Ctrl-C.

    \b
    Examples:
      earlog serve
      earlog serve facts/scenarios/tier3-links.yaml --port 8080
    """
    _guarded(_serve)(scenario, host, port, max_body, log_requests)


def _serve(scenario: str | None, host: str, port: int, max_body: int, log_requests: bool) -> None:
    from reasoner.web.explorer import Explorer
    from reasoner.web.server import make_server, run

    explorer = Explorer.from_path(scenario)
    explorer.warm()
    log = (lambda line: click.echo(line, err=True)) if log_requests else None
    server = make_server(explorer, host, port, max_body, log)
    if not server.loopback:
        click.echo(f"warning: listening on {host}: anyone who can reach this machine can use "
                   "the explorer", err=True)
    click.echo(f"earlog explorer: {server.url}  (Ctrl-C to stop)")
    run(server)
    click.echo("earlog explorer: stopped", err=True)


def _json_value(v: Value) -> Any:
    from decimal import Decimal
    import datetime as dt

    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def main() -> None:
    """Console entry point."""
    cli(prog_name="earlog")
