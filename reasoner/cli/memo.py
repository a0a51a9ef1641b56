"""The ``memo`` command: a research memo per transaction."""

from __future__ import annotations

from pathlib import Path

import click

from reasoner.lang.errors import EarlogError
from reasoner.tools.screen.files import write_atomic
from reasoner.cli.common import warn_without_cjk_font, command_text, decided, guarded, write_output

__all__ = ["memo_cmd"]


MEMO_FORMATS = ("md", "html", "docx")


@click.command("memo")
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
    guarded(_memo)(scenario, transactions, fmt, output, lang, regime)


def _memo(scenario: str, transactions: tuple[str, ...], fmt: str, output: str | None, lang: str,
          regime: str | None) -> None:
    from reasoner.proof.explanation import explain_transaction
    from reasoner.render.text import explanation_text
    from reasoner.tools.memo.document import build_memo
    from reasoner.law.receipt import display_path

    if fmt == "docx" and output is None:
        raise EarlogError("--format docx writes binary data; name a file with -o",
                          hint="e.g. -o memo.docx")
    result = decided(scenario, regime)
    memos = []
    for tx in transactions or tuple(d.transaction for d in result.decisions):
        expl = explain_transaction(result, tx)
        options = {"--format": fmt, "--lang": lang, "--regime": result.rulebook.regime,
                   "-o": display_path(output) if fmt == "docx" and output else None}
        memos.append(build_memo(result, expl, command_text("memo", [scenario, tx], options), lang,
                                appendix=explanation_text(expl, lang)))
    if fmt == "docx":
        from reasoner.tools.memo.docx import memo_docx

        if lang == "zh":
            warn_without_cjk_font()
        write_atomic(Path(output or ""), memo_docx(memos))
    elif fmt == "html":
        from reasoner.tools.memo.html import memo_html

        write_output(memo_html(memos), output)
    else:
        from reasoner.tools.memo.markdown import memo_md

        write_output(memo_md(memos), output)
