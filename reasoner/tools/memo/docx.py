"""Memos as a Word document (python-docx): citations as footnotes linking to their text, the
argument graph as a PNG."""

# python-docx has no footnote API. A footnotes part (/word/footnotes.xml, with
# the separator and continuation-separator notes ids -1 and 0 that Word expects)
# is added to the package and related to the main document; each citation is a
# <w:footnoteReference w:id="N"/> run in the body and a <w:footnote w:id="N">
# in that part. Invariant: footnote ids are 1, 2, ... in the order of reference.

from __future__ import annotations

import io
from typing import Sequence
from xml.sax.saxutils import escape

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.text import WD_BREAK
from docx.opc.constants import CONTENT_TYPE as CT, RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import XmlPart
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Inches, Pt
from docx.text.paragraph import Paragraph

from reasoner.tools.memo.document import Memo, MemoPoint
from reasoner.law.receipt import receipt_lines
from reasoner.render.dot import to_dot
from reasoner.render.export import to_image
from reasoner.render.theme import DEFAULT, Theme

__all__ = ["memo_docx", "Footnotes"]

_SEPARATORS = (
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:pPr><w:spacing w:after="0" '
    'w:line="240" w:lineRule="auto"/></w:pPr><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:pPr><w:spacing w:after="0" '
    'w:line="240" w:lineRule="auto"/></w:pPr><w:r><w:continuationSeparator/></w:r></w:p>'
    '</w:footnote>'
)

# Page width left for the argument graph.
_FIGURE_WIDTH = Inches(6.5)


class Footnotes:
    """The footnotes part of one document; :meth:`add` places a numbered footnote."""

    def __init__(self, document: DocumentObject) -> None:
        xml = f"<w:footnotes {nsdecls('w')}>{_SEPARATORS}</w:footnotes>"
        part = document.part
        self.part = XmlPart(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, parse_xml(xml),
                            part.package)
        part.relate_to(self.part, RT.FOOTNOTES)
        self.count = 0

    def add(self, paragraph: Paragraph, text: str, url: str = "") -> int:
        """Append a footnote reference to ``paragraph`` whose note reads ``text``, a link
        to ``url`` when given.

        Returns:
            The footnote's number.
        """
        self.count += 1
        n = self.count
        run = paragraph.add_run()
        props = run._r.get_or_add_rPr()
        align = OxmlElement("w:vertAlign")
        align.set(qn("w:val"), "superscript")
        props.append(align)
        ref = OxmlElement("w:footnoteReference")
        ref.set(qn("w:id"), str(n))
        run._r.append(ref)
        body = (f'<w:r><w:rPr><w:sz w:val="18"/></w:rPr>'
                f'<w:t xml:space="preserve"> {escape(text)}</w:t></w:r>')
        if url:
            rid = self.part.relate_to(url, RT.HYPERLINK, is_external=True)
            body = (f'<w:r><w:rPr><w:sz w:val="18"/></w:rPr><w:t xml:space="preserve"> </w:t></w:r>'
                    f'<w:hyperlink r:id="{rid}"><w:r><w:rPr><w:color w:val="1F4E79"/>'
                    f'<w:u w:val="single"/><w:sz w:val="18"/></w:rPr>'
                    f'<w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:hyperlink>')
        note = parse_xml(
            f'<w:footnote {nsdecls("w", "r")} w:id="{n}"><w:p><w:pPr><w:spacing w:after="0"/></w:pPr>'
            '<w:r><w:rPr><w:vertAlign w:val="superscript"/><w:sz w:val="18"/></w:rPr>'
            f'<w:footnoteRef/></w:r>{body}</w:p></w:footnote>')
        self.part.element.append(note)
        return n


def memo_docx(memos: Sequence[Memo], theme: Theme | None = None) -> bytes:
    """The memos as one .docx (a page break between memos).

    Headings per IRAC section, a facts table, every citation a footnote, the
    proof of the outcome as a PNG figure, the receipt as a table.

    Raises:
        RenderError: Graphviz is missing or fails.
    """
    doc = Document()
    notes = Footnotes(doc)
    if memos:
        doc.core_properties.title = memos[0].words["title"]
        doc.core_properties.language = "zh-CN" if memos[0].lang == "zh" else "en-US"
    for k, m in enumerate(memos):
        if k:
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        _memo(doc, notes, m, theme or DEFAULT)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _memo(doc: DocumentObject, notes: Footnotes, m: Memo, theme: Theme) -> None:
    w = m.words
    doc.add_heading(m.heading, level=0)
    if m.description:
        doc.add_paragraph().add_run(m.description).italic = True
    doc.add_heading(w["question"], level=1)
    doc.add_paragraph(m.question)
    doc.add_heading(w["brief"], level=1)
    doc.add_paragraph(" ".join(m.brief))
    doc.add_heading(w["facts"], level=1)
    _table(doc, [(w["fact"], w["source"])] + [(f.label, f.source) for f in m.facts], header=True)
    doc.add_heading(w["discussion"], level=1)
    for section in m.discussion:
        doc.add_heading(section.heading, level=2)
        _points(doc, notes, m, section.points)
        for sub in section.subsections:
            doc.add_heading(sub.heading, level=3)
            _points(doc, notes, m, sub.points)
        if section.note:
            doc.add_paragraph(section.note)
    doc.add_heading(w["conclusion"], level=1)
    doc.add_paragraph(m.conclusion)
    _table(doc, list(m.summary()))
    png = to_image(to_dot(m.graph, theme, lang=m.lang), "png")
    doc.add_picture(io.BytesIO(png), width=_FIGURE_WIDTH)
    doc.add_paragraph(w["figure"], style="Caption")
    doc.add_heading(w["receipt"], level=1)
    _table(doc, receipt_lines(m.receipt, m.lang), size=Pt(8))
    doc.add_paragraph().add_run(w["disclaimer"]).italic = True
    if m.appendix:
        doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        doc.add_heading(w["appendix"], level=1)
        doc.add_paragraph(w["appendix_note"])
        for line in m.appendix.splitlines():
            run = doc.add_paragraph().add_run(line)
            run.font.name = "Courier New"
            run.font.size = Pt(7)


def _points(doc: DocumentObject, notes: Footnotes, m: Memo, points: Sequence[MemoPoint]) -> None:
    """Each statement a bullet with its citation as a linked footnote; findings beneath."""
    for p in points:
        para = doc.add_paragraph(style="List Bullet")
        if not p.holds:
            para.add_run("\u2717 ").bold = True
        para.add_run(p.text + (f" ({', '.join(p.facts)})" if p.facts else ""))
        if p.cite:
            notes.add(para, p.cite, p.url)
        for b in p.because:
            sub = doc.add_paragraph(f"{m.words['because']} {b.text}"
                                    + (f" ({', '.join(b.facts)})" if b.facts else ""),
                                    style="List Bullet 2")
            if b.cite:
                notes.add(sub, b.cite, b.url)


def _table(doc: DocumentObject, rows: Sequence[tuple[str, str]], header: bool = False,
           size: Pt | None = None) -> None:
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for n, (a, b) in enumerate(rows):
        cells = table.add_row().cells
        for cell, text in zip(cells, (a, b)):
            run = cell.paragraphs[0].add_run(text)
            run.bold = header and n == 0
            if size is not None:
                run.font.size = size
