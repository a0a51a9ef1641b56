"""What every command shares: error output, writing files, tables, proof options."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import click

from reasoner.lang.errors import EarlogError
from reasoner.lang.ir import Value, format_value
from reasoner.tools.screen.files import write_atomic

__all__ = ["LEVELS", "level_of", "warn_without_cjk_font", "SOURCES", "fail", "guarded", "write_output", "cell", "table", "PROOF_FORMATS", "BINARY_FORMATS", "proof_options", "emit_proof", "decided", "command_text", "proof_receipt", "json_value", "master_option", "use_master"]

# Texts that did not come from files (e.g. a query typed on the command line),
# so that diagnostics can show their excerpt.
SOURCES: dict[str, str] = {}


def fail(exc: EarlogError) -> None:
    click.echo(exc.render(SOURCES), err=True)
    sys.exit(exc.exit_code)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn earlog errors into compiler-style messages and exit codes."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EarlogError as exc:
            fail(exc)
    return wrapper


def write_output(text: str, output: str | None) -> None:
    """Write all of ``text`` to ``output`` (atomically) or stdout."""
    if output is None or output == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    write_atomic(Path(output), text.encode("utf-8"))


def cell(v: Value) -> str:
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


# ---- proofs: why, why-not, explain ---------------------------------------------

PROOF_FORMATS = ("text", "dot", "svg", "png", "pdf", "graphml", "json", "mermaid")
# How much of a proof is shown: the argument, every labelled legal step, or everything.
LEVELS = ("argument", "steps", "full")


def level_of(level: str | None, compact: bool) -> str:
    """The level asked for: ``--level``, else ``steps`` for the old ``--compact``, else argument."""
    if level is not None and compact and level != "steps":
        raise click.UsageError("--compact means --level steps; give one of them")
    return level or ("steps" if compact else "argument")
BINARY_FORMATS = ("png", "pdf")


def proof_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by why, why-not and explain."""
    options = [
        click.option("--format", "fmt", type=click.Choice(PROOF_FORMATS), default="text",
                     show_default=True, help="Terminal text, or a graph export."),
        click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
                     help="Write to this file (required for png and pdf)."),
        click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
                     help="Language of labels and connective words."),
        click.option("--level", type=click.Choice(LEVELS), default=None,
                     help="argument (default): the decision element by element, each with "
                          "its provision and deciding facts; steps: every labelled legal "
                          "step (cited rules, given facts, negations; no arithmetic); full: "
                          "the complete derivation."),
        click.option("--compact", is_flag=True, hidden=True,
                     help="The same as --level steps (kept for old scripts)."),
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


def emit_proof(explained: Any, graph: Any, text: str, fmt: str, output: str | None,
                lang: str, theme: str, receipt: Any = None) -> None:
    from reasoner.render import get_theme, to_dot, to_graphml, to_image, to_json, to_mermaid

    if fmt == "text":
        write_output(text, output)
        return
    if fmt in BINARY_FORMATS and output is None:
        raise EarlogError(f"--format {fmt} writes binary data; name a file with -o",
                          hint=f"e.g. -o proof.{fmt}")
    th = get_theme(theme)
    if lang == "zh" and fmt in BINARY_FORMATS:
        warn_without_cjk_font()
    if fmt == "dot":
        write_output(to_dot(graph, th, lang=lang), output)
    elif fmt in ("svg", "png", "pdf"):
        data = to_image(to_dot(graph, th, lang=lang), fmt)
        if output is None:
            click.echo(data.decode("utf-8"), nl=False)
        else:
            write_atomic(Path(output), data)
    elif fmt == "graphml":
        write_output(to_graphml(graph), output)
    elif fmt == "json":
        write_output(to_json(graph, receipt.to_dict() if receipt is not None else None), output)
    else:
        write_output(to_mermaid(graph, th, lang=lang), output)


def warn_without_cjk_font() -> None:
    """Say so on stderr when Chinese labels would be drawn without a font that has them."""
    from reasoner.render.export import CJK_HINT, cjk_font_available

    if not cjk_font_available():
        click.echo("warning: no font with Chinese glyphs was found; Chinese labels in the "
                   f"image will show as boxes\nhint: {CJK_HINT}", err=True)


def decided(scenario: str, regime: str | None) -> Any:
    from reasoner.law.decision import decide
    from reasoner.law.scenario import load_scenario

    return decide(load_scenario(scenario), regime=regime)


# ---- receipts, memos, what-if, proof diffs ------------------------------------------


def command_text(name: str, arguments: Sequence[str], options: dict[str, Any]) -> str:
    """A clean ``earlog`` command line for a receipt (paths relative where possible)."""
    from reasoner.law.receipt import command_line, display_path

    shown = [display_path(a) if Path(a).suffix in (".yaml", ".yml") else a for a in arguments]
    return command_line(name, shown, options)


def proof_receipt(result: Any, name: str, arguments: Sequence[str], level: str,
                   max_depth: int | None, extra: dict[str, Any] | None = None,
                   decisions: Any = None) -> Any:
    """The receipt of a proof's JSON export (``why``, ``why-not``, ``explain``)."""
    from reasoner.law.receipt import make_receipt

    options = {**(extra or {}), "--format": "json", "--regime": result.rulebook.regime,
               "--level": None if level == "argument" else level, "--max-depth": max_depth}
    return make_receipt(result, command_text(name, arguments, options), decisions)


def json_value(v: Value) -> Any:
    from decimal import Decimal
    import datetime as dt

    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def master_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--master`` option of the commands that take ``--engine``."""
    return click.option(
        "--master", default=None, metavar="URL",
        help="With --engine spark: the Spark master, e.g. local[2], spark://host:7077, "
             "yarn (default local[*], Spark in this process).")(fn)


def use_master(engine: str, master: str | None) -> None:
    """Point the Spark engine at ``master``.

    Raises:
        click.UsageError: ``--master`` without ``--engine spark``.
    """
    if master is None:
        return
    if engine != "spark":
        raise click.UsageError("--master applies to --engine spark only")
    from reasoner.engine.sql.spark_engine import configure

    configure(master=master)
