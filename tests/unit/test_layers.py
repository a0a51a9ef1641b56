"""The package layout: imports run down the layers, and no module imports itself back."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "reasoner"

# Lowest first. A module may import its own layer or any layer before it.
LAYERS = ("version", "lang", "engine", "law", "proof", "render", "tools", "web", "cli", "")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _layer(module: str) -> int:
    """The layer of ``reasoner.x...``; the package root and top-level modules (the API) are last."""
    parts = module.split(".")
    if len(parts) == 1:
        return len(LAYERS) - 1
    if parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return len(LAYERS) - 1


def _imports(module: str, path: Path) -> set[str]:
    """The earlog modules ``module`` imports anywhere in its text (function bodies too)."""
    found = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                     for a in node.names]
        else:
            continue
        found.update(n for n in names if n.split(".")[0] == "reasoner")
    return {n for n in found if n in MODULES} - {module}


GRAPH = nx.DiGraph((m, i) for m, p in MODULES.items() for i in _imports(m, p))


def test_every_module_has_a_layer() -> None:
    assert {m.split(".")[1] for m in MODULES if m.count(".") >= 1} >= set(LAYERS[1:-1])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_from_a_layer_above(module: str) -> None:
    above = sorted(i for i in _imports(module, MODULES[module]) if _layer(i) > _layer(module))
    assert not above, f"{module} (layer {LAYERS[_layer(module)] or 'api'}) imports from above: {above}"


def test_no_import_cycles() -> None:
    cycles = [c for c in nx.simple_cycles(GRAPH) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles[:5]}"


def test_the_walk_sees_imports() -> None:
    """The graph is not vacuous: the CLI reaches the language through the layers."""
    assert nx.has_path(GRAPH, "reasoner.cli", "reasoner.lang.syntax")
    assert ("reasoner.proof.prove", "reasoner.proof.whynot") in GRAPH.edges
