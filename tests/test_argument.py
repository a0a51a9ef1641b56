"""The argument level: every public example explained in a page, as a graph that fits one,
in both languages; the full derivation one flag away."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from legal_cases import REPO, SHARED_EXAMPLES
from reasoner.cli import cli
from reasoner.cli.common import LEVELS as CLI_LEVELS
from reasoner.render import to_image
from reasoner.render.argument import LEVELS
from reasoner.render.export import cjk_font_available

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
EXAMPLES = sorted(SHARED_EXAMPLES.glob("*.yaml"))


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def _without_expect(path: Path, tmp: Path) -> tuple[Path, list[str]]:
    import yaml

    doc = yaml.safe_load(path.read_text("utf-8"))
    doc.pop("expect", None)
    out = tmp / path.name
    out.write_text(yaml.safe_dump(doc, sort_keys=False), "utf-8")
    return out, [t["id"] for t in doc["transactions"]]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def test_the_levels_are_the_same_everywhere() -> None:
    assert LEVELS == CLI_LEVELS == ("argument", "steps", "full")


@pytest.mark.skipif(not EXAMPLES, reason="../shared/ear/examples not present")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_public_example_explained_in_a_page(path: Path, tmp_path: Path) -> None:
    scenario, txs = _without_expect(path, tmp_path)
    for tx in txs:
        code, text, err = _run("explain", str(scenario), tx)
        assert code == 0, err
        lines = text.splitlines()
        assert len(lines) <= 40, (tx, len(lines))
        assert lines[1].startswith("Outcome: ")
        assert not any(".dl:" in ln or "(given," in ln for ln in lines)
        code, out, _ = _run("explain", str(scenario), tx, "--format", "json")
        doc = json.loads(out)
        assert doc["question"] == "argument" and len(doc["nodes"]) <= 25
        assert not any(".dl:" in n["source"] or ".dl:" in n["label_en"] for n in doc["nodes"])
        code, full, _ = _run("explain", str(scenario), tx, "--level", "full")
        # The full derivation is one flag away: longer, and it names its sources.
        assert code == 0 and len(full.splitlines()) > len(lines)
        assert "(given," in full


@needs_dot
@pytest.mark.skipif(not EXAMPLES, reason="../shared/ear/examples not present")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_public_example_graph_fits_a_page(path: Path, tmp_path: Path) -> None:
    scenario, txs = _without_expect(path, tmp_path)
    for tx in txs:
        png = tmp_path / f"{tx}.png"
        code, _, err = _run("explain", str(scenario), tx, "--format", "png", "-o", str(png))
        assert code == 0, err
        w, h = _png_size(png.read_bytes())
        assert w <= 2000 and 0.5 <= w / h <= 2.0, (tx, w, h)


@needs_dot
def test_chinese_graphs_render_real_glyphs() -> None:
    """A CJK font is installed (.ci/run installs fonts-noto-cjk): Chinese text renders to
    other pixels than unassigned code points of the same length, which every font draws
    as the same missing-glyph box."""
    assert cjk_font_available()

    def png(label: str) -> bytes:
        return to_image(f'digraph g {{ n [label="{label}", fontname="Helvetica"]; }}\n', "png")

    assert png("审查政策推定拒绝") != png("\u0378\u0379\u0378\u0379\u0378\u0379\u0378\u0379")


@needs_dot
def test_chinese_argument_png_without_warning(tmp_path: Path) -> None:
    path = REPO / "facts" / "scenarios" / "enforced-posture.yaml"
    out = tmp_path / "zh.png"
    code, _, err = _run("explain", str(path), "prc-parent", "--lang", "zh", "--format", "png",
                        "-o", str(out))
    assert code == 0 and "warning" not in err
    w, h = _png_size(out.read_bytes())
    assert w <= 2000 and 0.5 <= w / h <= 2.0


def test_argument_in_chinese_has_chinese_sections() -> None:
    path = REPO / "facts" / "scenarios" / "enforced-posture.yaml"
    code, text, _ = _run("explain", str(path), "prc-parent", "--lang", "zh", "--regime", "ifr")
    assert code == 0
    for heading in ("适用范围", "许可证要求", "许可例外与授权", "审查政策"):
        assert heading in text
    assert "结论: 需要许可证" in text


def test_open_questions_in_chinese_say_the_rulebooks_chinese_text() -> None:
    """The swedish-sub-zh golden case: its open questions read in Chinese in the text and
    in the graph's Chinese labels, the public source staying in its own words."""
    from reasoner.law.rulebook import load_rulebook

    book, uid = load_rulebook("ifr"), "U-ULTIMATE-PARENT"
    path = "tests/golden/memos/swedish-sub/scenario.yaml"
    code, text, _ = _run("explain", str(REPO / path), "tx1", "--lang", "zh")
    assert code == 0
    assert f"  ? {uid}: {book.uncertainties_zh[uid]}  [{book.sources[uid]}]" in text
    assert f"      可由此解决: {book.settles_zh[uid]}" in text
    assert book.uncertainties[uid] not in text and book.settles[uid] not in text
    code, out, _ = _run("explain", str(REPO / path), "tx1", "--format", "json")
    labels = [n["label_zh"] for n in json.loads(out)["nodes"] if n.get("kind") == "question"]
    assert (f"待决问题 {uid}：{book.uncertainties_zh[uid]}\n可由此解决：{book.settles_zh[uid]}"
            in labels)
