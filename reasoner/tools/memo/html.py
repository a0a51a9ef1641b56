"""Memos as one self-contained HTML page: inline CSS, the proof graph as inline SVG."""

from __future__ import annotations

import re
from html import escape
from typing import Sequence

from reasoner.tools.memo.document import Memo
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


def _cite(c: str) -> str:
    return f'<span class="cite">[{escape(c)}]</span>'


def _article(m: Memo, k: int, theme: Theme) -> str:
    w = m.words
    out = [f'<article id="memo-{k}">', f"<h1>{escape(m.heading)}</h1>"]
    if m.description:
        out.append(f"<p><em>{escape(m.description)}</em></p>")
    out += [f"<h2>{escape(w['issue'])}</h2>", f"<p>{escape(m.issue)}</p>"]
    out += [f"<h2>{escape(w['rule'])}</h2>", "<ul>"]
    for r in m.rules:
        labels = "".join(f"<li>{escape(label)}</li>" for label in r.labels)
        extra = f"<ul>{labels}</ul>" if labels else f" {escape(w['no_label'])}"
        out.append(f"<li><strong>{escape(r.cite)}</strong>{extra}</li>")
    out += ["</ul>", f"<h2>{escape(w['application'])}</h2>", f"<h3>{escape(w['facts'])}</h3>",
            "<table>", f"<tr><th>{escape(w['fact'])}</th><th>{escape(w['source'])}</th></tr>"]
    out += [f'<tr><td>{escape(f.label)}</td><td class="src">{escape(f.source)}</td></tr>'
            for f in m.facts]
    out += ["</table>", f"<h3>{escape(w['steps'])}</h3>", "<ol>"]
    for s in m.steps:
        subs = []
        if s.facts:
            shown = "; ".join(f'{escape(f.label)} (<span class="src">{escape(f.source)}</span>)'
                              for f in s.facts)
            subs.append(f"<li>{escape(w['facts_used'])}: {shown}</li>")
        if s.tests:
            subs.append(f"<li>{escape(w['tests'])}: {escape('; '.join(s.tests))}</li>")
        inner = f"<ul>{''.join(subs)}</ul>" if subs else ""
        out.append(f"<li>{escape(s.label)} {_cite(s.cite)}{inner}</li>")
    out.append("</ol>")
    if m.ruled_out:
        out += [f"<h3>{escape(w['ruled_out'])}</h3>", "<ul>"]
        for x in m.ruled_out:
            details = "".join(f"<li>{escape(w['because'])}: {escape(d)}</li>" for d in x.details)
            out.append(f"<li><strong>{escape(x.exception)}</strong>: {escape(x.label)} "
                       f"{_cite(x.cite)} \u2014 {escape(w['fails_at'])}: {escape(x.condition)}"
                       + (f"<ul>{details}</ul>" if details else "") + "</li>")
        out.append("</ul>")
    svg = to_image(to_dot(m.graph, theme, lang=m.lang), "svg").decode("utf-8")
    out += [f"<figure>{inline_svg(svg, f'm{k}-')}",
            f"<figcaption>{escape(w['figure'])}</figcaption></figure>"]
    out += [f"<h2>{escape(w['conclusion'])}</h2>", f"<p>{escape(m.conclusion)}</p>",
            '<dl class="summary">']
    out += [f"<dt>{escape(k_)}</dt><dd>{escape(v)}</dd>" for k_, v in m.summary()]
    if m.decision.conditions:
        items = "".join(f"<li>{escape(c)}</li>" for c in m.decision.conditions)
        out.append(f"<dt>{escape(w['conditions'])}</dt><dd><ul>{items}</ul></dd>")
    if m.uncertainties:
        items = "".join(f"<li><strong>{escape(u)}</strong>: {escape(t)}</li>" if t
                        else f"<li><strong>{escape(u)}</strong></li>" for u, t in m.uncertainties)
        out.append(f"<dt>{escape(w['uncertainties'])}</dt><dd><ul>{items}</ul></dd>")
    out += ["</dl>", f"<h2>{escape(w['receipt'])}</h2>", "<table>"]
    out += [f'<tr><th>{escape(k_)}</th><td class="src">{escape(v)}</td></tr>'
            for k_, v in receipt_lines(m.receipt, m.lang)]
    out += ["</table>", f'<p class="disclaimer">{escape(w["disclaimer"])}</p>', "</article>"]
    return "\n".join(out)
