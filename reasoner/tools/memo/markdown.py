"""Memos as Markdown (CommonMark with pipe tables), one section per transaction."""

from __future__ import annotations

import re
from typing import Sequence

from reasoner.tools.memo.document import Memo
from reasoner.law.receipt import receipt_lines

__all__ = ["memo_md", "md_escape", "md_code"]

# Markup characters; "<" only where it could open a tag, "_" only where it could
# open or close emphasis (not inside a word such as se_co).
_SPECIAL = re.compile(r"[\\`*\[\]|#]|<(?=[A-Za-z/!?])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def md_escape(text: str) -> str:
    r"""Text that Markdown shows as written: markup characters are backslash-escaped.

    An underscore inside a word (``se_co``) is left alone: it cannot start emphasis.

    Example:
        >>> md_escape("se_co | *A* _x <b> 1 <= 2")
        'se_co \\| \\*A\\* \\_x \\<b> 1 <= 2'
    """
    return _SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def md_code(text: str) -> str:
    """An inline code span that holds ``text`` whatever backticks it contains.

    Example:
        >>> md_code("a.yaml:3"), md_code("x`y")
        ('`a.yaml:3`', '`` x`y ``')
    """
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def memo_md(memos: Sequence[Memo]) -> str:
    """The memos as one Markdown document (a thematic break between memos).

    Returns:
        The text, ending in a newline; the same memos give the same bytes.
    """
    return "\n\n---\n\n".join(_one(m) for m in memos) + "\n"


def _one(m: Memo) -> str:
    w = m.words
    out = [f"# {md_escape(m.heading)}"]
    if m.description:
        out += ["", f"*{md_escape(m.description)}*"]
    out += ["", f"## {w['issue']}", "", md_escape(m.issue)]
    out += ["", f"## {w['rule']}", ""]
    for r in m.rules:
        out.append(f"- **{md_escape(r.cite)}**" + ("" if r.labels else f" {md_escape(w['no_label'])}"))
        out += [f"  - {md_escape(label)}" for label in r.labels]
    out += ["", f"## {w['application']}", "", f"### {w['facts']}", "",
            f"| {w['fact']} | {w['source']} |", "|---|---|"]
    out += [f"| {md_escape(f.label)} | {md_code(f.source)} |" for f in m.facts]
    out += ["", f"### {w['steps']}", ""]
    for n, s in enumerate(m.steps, 1):
        pad = " " * len(f"{n}. ")  # sub-items align with the item's text
        out.append(f"{n}. {md_escape(s.label)} \\[{md_escape(s.cite)}\\]")
        if s.facts:
            shown = "; ".join(f"{md_escape(f.label)} ({md_code(f.source)})" for f in s.facts)
            out.append(f"{pad}- {w['facts_used']}: {shown}")
        if s.tests:
            out.append(f"{pad}- {w['tests']}: " + "; ".join(md_escape(t) for t in s.tests))
    if m.ruled_out:
        out += ["", f"### {w['ruled_out']}", ""]
        for x in m.ruled_out:
            out.append(f"- **{md_escape(x.exception)}**: {md_escape(x.label)} "
                       f"\\[{md_escape(x.cite)}\\] \u2014 {w['fails_at']}: {md_escape(x.condition)}")
            out += [f"  - {w['because']}: {md_escape(d)}" for d in x.details]
    out += ["", f"## {w['conclusion']}", "", md_escape(m.conclusion), ""]
    out += [f"- {k}: {md_escape(v)}" for k, v in m.summary()]
    if m.decision.conditions:
        out.append(f"- {w['conditions']}:")
        out += [f"  - {md_escape(c)}" for c in m.decision.conditions]
    if m.uncertainties:
        out.append(f"- {w['uncertainties']}:")
        out += [f"  - **{md_escape(u)}**: {md_escape(text)}" if text else f"  - **{md_escape(u)}**"
                for u, text in m.uncertainties]
    out += ["", f"## {w['receipt']}", ""]
    out += [f"- {md_escape(k)}: {md_code(v)}" for k, v in receipt_lines(m.receipt, m.lang)]
    out += ["", f"*{md_escape(w['disclaimer'])}*"]
    return "\n".join(out)

