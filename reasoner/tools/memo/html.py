"""Memos as one self-contained HTML page: inline CSS, the argument graph as inline SVG,
every citation a link to its text on the law date."""

from __future__ import annotations

import re
from html import escape
from typing import Sequence

from reasoner.tools.memo.document import Memo, MemoPoint
from reasoner.law.receipt import receipt_lines
from reasoner.render.dot import to_dot
from reasoner.render.export import to_image
from reasoner.render.theme import DEFAULT, Theme

__all__ = ["memo_html", "MEMO_CSS", "inline_svg"]

# The page's only style sheet; printed memos start each transaction on a new page.
MEMO_CSS = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 52rem; margin: 2rem auto;
       padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.5rem; border-bottom: 2px solid #1b1b1b; padding-bottom: .3rem; }
h2 { font-size: 1.2rem; margin-top: 1.8rem; }
h3 { font-size: 1.05rem; }
.cite { font-variant: small-caps; color: #37474f; white-space: nowrap; }
code, .src { font-family: Menlo, Consolas, monospace; font-size: .85em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #b0bec5; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #eceff1; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.summary dt { font-weight: bold; }
dl.summary dd { margin: 0; }
figure { margin: 1rem 0; overflow-x: auto; border: 1px solid #cfd8dc; padding: .5rem; }
figure svg { max-width: none; height: auto; }
.disclaimer { font-style: italic; color: #546e7a; }
.brief { font-size: 1.05rem; border-left: 3px solid #37474f; padding-left: .8rem; }
.unmet { color: #c62828; font-weight: bold; }
.cite a { color: inherit; }
pre { font-size: .75rem; white-space: pre-wrap; background: #fafafa; padding: .5rem; }
.appendix { page-break-before: always; break-before: page; }
article + article { page-break-before: always; break-before: page; margin-top: 3rem; }
"""

_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_ID = re.compile(r'\b(id|href)="(#?)')


def inline_svg(svg: str, prefix: str) -> str:
    """SVG from Graphviz made fit to sit inside HTML: no XML prolog, doctype or
    generator comment, and element ids prefixed so that several graphs on one
    page cannot clash."""
    body = _PROLOG.sub("", svg, count=1)
    return _ID.sub(lambda m: f'{m.group(1)}="{m.group(2)}{prefix}', body).strip()


def memo_html(memos: Sequence[Memo], theme: Theme | None = None) -> str:
    """The memos as one HTML page (an ``<article>`` per transaction).

    Args:
        memos: from ``memo.build_memo``, all in one language.
        theme: of the proof graphs (``render.theme``); the default theme if None.

    Returns:
        The page, ending in a newline; every text is HTML-escaped.

    Raises:
        RenderError: Graphviz is missing or fails.
    """
    lang = memos[0].lang if memos else "en"
    title = memos[0].words["title"] if memos else "Memorandum"
    head = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-Hans" if lang == "zh" else "en"}">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(title)}: {escape(', '.join(m.transaction for m in memos))}</title>",
        f"<style>{MEMO_CSS}</style>",
        "</head>",
        "<body>",
    ]
    body = [_article(m, k, theme or DEFAULT) for k, m in enumerate(memos)]
    return "\n".join(head + body + ["</body>", "</html>"]) + "\n"


def _cite(m: Memo, c: str) -> str:
    url = m.link(c)
    text = escape(c)
    if url:
        text = f'<a href="{escape(url)}">{text}</a>'
    return f'<span class="cite">[{text}]</span>'


def _points(m: Memo, points: Sequence[MemoPoint]) -> list[str]:
    out = ["<ul>"]
    for p in points:
        because = "".join(f"<li>{escape(m.words['because'])} {escape(b.text)}{_tail(m, b)}</li>"
                          for b in p.because)
        mark = "" if p.holds else '<span class="unmet">\u2717</span> '
        out.append(f"<li>{mark}{escape(p.text)}{_tail(m, p)}"
                   + (f"<ul>{because}</ul>" if because else "") + "</li>")
    out.append("</ul>")
    return out


def _tail(m: Memo, p: MemoPoint) -> str:
    out = f" {_cite(m, p.cite)}" if p.cite else ""
    if p.facts:
        out += " (" + ", ".join(f'<span class="src">{escape(f)}</span>' for f in p.facts) + ")"
    return out


def _article(m: Memo, k: int, theme: Theme) -> str:
    w = m.words
    out = [f'<article id="memo-{k}">', f"<h1>{escape(m.heading)}</h1>"]
    if m.description:
        out.append(f"<p><em>{escape(m.description)}</em></p>")
    out += [f"<h2>{escape(w['question'])}</h2>", f"<p>{escape(m.question)}</p>"]
    out += [f"<h2>{escape(w['brief'])}</h2>", f'<p class="brief">{escape(" ".join(m.brief))}</p>']
    out += [f"<h2>{escape(w['facts'])}</h2>", "<table>",
            f"<tr><th>{escape(w['fact'])}</th><th>{escape(w['source'])}</th></tr>"]
    out += [f'<tr><td>{escape(f.label)}</td><td class="src">{escape(f.source)}</td></tr>'
            for f in m.facts]
    out += ["</table>", f"<h2>{escape(w['discussion'])}</h2>"]
    for section in m.discussion:
        out.append(f"<h3>{escape(section.heading)}</h3>")
        if section.points:
            out += _points(m, section.points)
        for sub in section.subsections:
            out.append(f"<h4>{escape(sub.heading)}</h4>")
            out += _points(m, sub.points)
        if section.note:
            out.append(f"<p>{escape(section.note)}</p>")
    out += [f"<h2>{escape(w['conclusion'])}</h2>", f"<p>{escape(m.conclusion)}</p>",
            '<dl class="summary">']
    for key, value in m.summary():
        shown = ("; ".join(_cite(m, c) for c in m.decision.citations)
                 if key == w["basis"] and m.decision.citations else escape(value))
        out.append(f"<dt>{escape(key)}</dt><dd>{shown}</dd>")
    out.append("</dl>")
    svg = to_image(to_dot(m.graph, theme, lang=m.lang), "svg").decode("utf-8")
    out += [f"<figure>{inline_svg(svg, f'm{k}-')}",
            f"<figcaption>{escape(w['figure'])}</figcaption></figure>"]
    out += [f"<h2>{escape(w['receipt'])}</h2>", "<table>"]
    out += [f'<tr><th>{escape(k_)}</th><td class="src">{escape(v)}</td></tr>'
            for k_, v in receipt_lines(m.receipt, m.lang)]
    out += ["</table>", f'<p class="disclaimer">{escape(w["disclaimer"])}</p>']
    if m.appendix:
        out += ['<section class="appendix">', f"<h2>{escape(w['appendix'])}</h2>",
                f"<p>{escape(w['appendix_note'])}</p>", f"<pre>{escape(m.appendix)}</pre>",
                "</section>"]
    out.append("</article>")
    return "\n".join(out)
