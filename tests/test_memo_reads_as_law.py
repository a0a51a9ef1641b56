"""Every memo of every bundled scenario and public example reads as a lawyer's memo: a rule's
words appear as a statement only where the rule holds, no Datalog syntax, no unfilled
placeholder, no thousands-separated year, and every citation is a link to its text."""

from __future__ import annotations

import re
import shutil
import zipfile
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest

from legal_cases import REPO, SHARED_EXAMPLES
from reasoner.lang.labels import fill
from reasoner.law.decision import ScenarioDecisions, decide
from reasoner.law.scenario import load_scenario
from reasoner.proof.explanation import Explainer
from reasoner.render.text import explanation_text
from reasoner.tools.memo.document import Memo, build_memo
from reasoner.tools.memo.docx import memo_docx
from reasoner.tools.memo.html import memo_html
from reasoner.tools.memo.markdown import memo_md

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")

FILES = sorted((REPO / "facts" / "scenarios").glob("*.yaml")) + sorted(SHARED_EXAMPLES.glob("*.yaml"))

# a predicate applied to quoted values, a rule's ':-', a rule file's line: the rule language
DATALOG = re.compile(r'\b[a-z][a-z0-9_]*\("|:-|\.dl:\d|\(given,')
# a "?" standing alone where a value should be (a question ends with "terms?")
PLACEHOLDER = re.compile(r"(?:^|\s)\?(?:\s|$|[,.;:)])")
YEAR = re.compile(r"\b(?:year|in)\s+(?:1,9|2,0)\d\d\b(?![\d,])")
UNMET = ("\u2717", "not met", "does not apply", "条件未满足", "不适用", "并非")


def _memos(path: Path) -> tuple[ScenarioDecisions, list[Memo]]:
    result = decide(load_scenario(path, allow_expect=True))
    explainer = Explainer(result)
    memos = []
    for lang in ("en", "zh"):
        for d in result.decisions:
            expl = explainer.explain(d.transaction)
            memos.append(build_memo(result, expl, "earlog memo", lang,
                                    appendix=explanation_text(expl, lang)))
    return result, memos


def _md_prose(md: str) -> list[str]:
    """The memo's statements: lines before the appendix, outside the Mermaid figure."""
    body = md.split("\n## Appendix")[0].split("\n## 附录")[0]
    body = re.sub(r"```mermaid.*?```", "", body, flags=re.S)
    return [line for line in body.splitlines() if line.strip()]


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.cites: list[bool] = []  # per span.cite: whether it holds a link
        self._skip = 0
        self._cite = -1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("svg", "pre", "style"):
            self._skip += 1
        if tag == "span" and ("class", "cite") in attrs:
            self.cites.append(False)
            self._cite = len(self.cites) - 1
        if tag == "a" and self._cite >= 0 and any(k == "href" and v for k, v in attrs):
            self.cites[self._cite] = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("svg", "pre", "style"):
            self._skip -= 1
        if tag == "span":
            self._cite = -1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def _label_patterns(result: ScenarioDecisions) -> list[tuple[re.Pattern[str], str, int]]:
    """Each labelled rule's English label as a pattern (placeholders match any words)."""
    out = []
    for k, rule in enumerate(result.rulebook.rules):
        en = rule.meta.en
        if not en or len(re.sub(r"\{\w+\}", "", en)) < 25:
            continue
        parts = re.split(r"\{\w+\}", en)
        pattern = ".+?".join(re.escape(p) for p in parts)
        out.append((re.compile(pattern), rule.head.pred, k))
    return out


def _holds(result: ScenarioDecisions, pred: str, k: int) -> bool:
    """Whether rule ``k``'s conclusion holds for some values in the model."""
    rule = result.rulebook.rules[k]
    consts = [(i, a.value) for i, a in enumerate(rule.head.args) if hasattr(a, "value")]
    return any(all(row[i] == v for i, v in consts) for row in result.model.rows(pred))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_memos_read_as_law(path: Path) -> None:
    result, memos = _memos(path)
    patterns = _label_patterns(result)
    md = memo_md(memos)
    prose = _md_prose(md)
    for line in prose:
        assert not DATALOG.search(line), line
        assert not PLACEHOLDER.search(line), line
        assert not YEAR.search(line), line
        # a citation in brackets is a link: [15 CFR ...](<https://...>)
        for m in re.finditer(r"\[((?:15 CFR|ECCN|Supp\. No\.|90 FR)[^\]]*)\]", line):
            assert line[m.end():m.end() + 2] == "(<", (m.group(0), line)
        if line.lstrip("-* ").startswith(UNMET) or "not met" in line:
            continue
        for pattern, pred, k in patterns:
            if pattern.search(line):
                assert _holds(result, pred, k), (line, result.rulebook.rules[k].id)
    page = _Html()
    page.feed(memo_html(memos))
    text = "".join(page.text)
    assert page.cites and all(page.cites), "a citation in the HTML memo has no link"
    assert not DATALOG.search(text) and not YEAR.search(text)


@pytest.mark.parametrize("path", [p for p in FILES if p.parent == SHARED_EXAMPLES],
                         ids=lambda p: p.stem)
def test_docx_memos_read_as_law(path: Path) -> None:
    import docx

    _, memos = _memos(path)
    data = memo_docx(memos)
    doc = docx.Document(BytesIO(data))
    prose = []
    for p in doc.paragraphs:
        if p.style.name.startswith("Heading") and p.text.startswith(("Appendix", "附录")):
            prose.append("\f")  # the appendix runs to the next memo's title
        prose.append(p.text)
    shown = "\n".join(prose)
    shown = re.sub(r"\f.*?(?=Memorandum:|备忘录：|\Z)", "", shown, flags=re.S)
    assert not DATALOG.search(shown) and not PLACEHOLDER.search(shown)
    with zipfile.ZipFile(BytesIO(data)) as z:
        notes = z.read("word/footnotes.xml").decode("utf-8")
    refs = len(re.findall(r'<w:footnote\b[^>]*\bw:id="[1-9]', notes))
    assert refs and notes.count("<w:hyperlink ") == refs, "a footnoted citation has no link"


def test_label_check_would_catch_an_unmet_condition_stated_as_fact() -> None:
    """The check is not vacuous: the old memo's 'se_co holds a universal VEU' would fail."""
    path = REPO / "facts" / "scenarios" / "enforced-posture.yaml"
    result = decide(load_scenario(path), regime="ifr")
    rule = next(r for r in result.rulebook.rules if r.id == "uveu")
    k = result.rulebook.rules.index(rule)
    line = "- " + fill(rule.meta.en, {"E": "se_co"})
    assert any(p.search(line) for p, _, j in _label_patterns(result) if j == k)
    assert not _holds(result, rule.head.pred, k)
