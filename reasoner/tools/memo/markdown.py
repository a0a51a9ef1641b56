"""Memos as Markdown (CommonMark with pipe tables), one section per transaction."""

from __future__ import annotations

import re
from typing import Sequence

from reasoner.tools.memo.document import Memo, MemoPoint
from reasoner.law.receipt import receipt_lines
from reasoner.render.export import to_mermaid

__all__ = ["memo_md", "md_escape", "md_code", "md_cite"]

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


def md_cite(m: Memo, cite: str) -> str:
    """A citation as a link to its text on the memo's law date (``[cite](<url>)``)."""
    url = m.link(cite)
    return f"\\[{md_escape(cite)}\\]" if not url else f"[{md_escape(cite)}](<{url}>)"


def _one(m: Memo) -> str:
    w = m.words
    out = [f"# {md_escape(m.heading)}"]
    if m.description:
        out += ["", f"*{md_escape(m.description)}*"]
    out += ["", f"## {w['question']}", "", md_escape(m.question)]
    out += ["", f"## {w['brief']}", "", md_escape(" ".join(m.brief))]
    out += ["", f"## {w['facts']}", "", f"| {w['fact']} | {w['source']} |", "|---|---|"]
    out += [f"| {md_escape(f.label)} | {md_code(f.source)} |" for f in m.facts]
    out += ["", f"## {w['discussion']}"]
    for section in m.discussion:
        out += ["", f"### {md_escape(section.heading)}"]
        if section.points:
            out += [""] + _points(m, section.points)
        for sub in section.subsections:
            out += ["", f"#### {md_escape(sub.heading)}", ""]
            out += _points(m, sub.points)
        if section.note:
            out += ["", md_escape(section.note)]
    out += ["", f"## {w['conclusion']}", "", md_escape(m.conclusion), ""]
    out += [f"- {k}: {_summary_value(m, k, v)}" for k, v in m.summary()]
    # the argument graph as a Mermaid diagram (rendered by GitHub, GitLab, Obsidian...)
    out += ["", "```mermaid", to_mermaid(m.graph, lang=m.lang).rstrip(), "```", "",
            f"*{md_escape(w['figure'])}*"]
    out += ["", f"## {w['receipt']}", ""]
    out += [f"- {md_escape(k)}: {md_code(v)}" for k, v in receipt_lines(m.receipt, m.lang)]
    out += ["", f"*{md_escape(w['disclaimer'])}*"]
    if m.appendix:
        out += ["", f"## {w['appendix']}", "", md_escape(w["appendix_note"]), "",
                _fence(m.appendix)]
    return "\n".join(out)


def _summary_value(m: Memo, key: str, value: str) -> str:
    if key == m.words["basis"] and m.decision.citations:
        return "; ".join(md_cite(m, c) for c in m.decision.citations)
    return md_escape(value)


def _points(m: Memo, points: Sequence[MemoPoint]) -> list[str]:
    out = []
    for p in points:
        out.append(f"- {_mark(p)}{md_escape(p.text)}{_tail(m, p)}")
        out += [f"  - {md_escape(m.words['because'])} {md_escape(b.text)}{_tail(m, b)}"
                for b in p.because]
    return out


def _mark(p: MemoPoint) -> str:
    return "" if p.holds else "\u2717 "


def _tail(m: Memo, p: MemoPoint) -> str:
    out = f" {md_cite(m, p.cite)}" if p.cite else ""
    if p.facts:
        out += " (" + ", ".join(md_code(f) for f in p.facts) + ")"
    return out


def _fence(text: str) -> str:
    longest = max((len(x) for x in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"
