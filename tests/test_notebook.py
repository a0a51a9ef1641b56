"""docs/earlog.ipynb runs green (nbclient) and its outputs show an inline SVG proof graph."""

from __future__ import annotations

import pytest

from legal_cases import REPO

NOTEBOOK = REPO / "docs" / "earlog.ipynb"


def test_example_notebook_runs_and_shows_an_inline_svg() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO / "docs")}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("<svg" in h and "</svg>" in h for h in html), "no inline SVG in the outputs"
    assert any("Questions that would change this answer" in h for h in html)
    texts = [o["data"].get("text/plain", "") for o in outputs if "data" in o]
    assert "['LPP']" in texts  # 1,000 H100 to Singapore: within the LPP cap
    assert "['tx1.final_destination']" in texts
