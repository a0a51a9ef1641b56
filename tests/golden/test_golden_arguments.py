"""Golden arguments: `earlog explain` at its default level, text and graph JSON, per case
folder (args.txt: the command's arguments after `explain`). Review a diff, then update
with `pytest --update-golden`."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from reasoner.cli import cli

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent / "arguments"
CASES = sorted(p.name for p in HERE.iterdir() if (p / "args.txt").exists())


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scenario paths (and so the facts' file:line) are relative to the repository root."""
    monkeypatch.chdir(REPO)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_golden_argument(case: str, fmt: str, update_golden: bool) -> None:
    args = shlex.split((HERE / case / "args.txt").read_text("utf-8"))
    result = CliRunner().invoke(cli, ["explain", *args, "--format", fmt])
    assert result.exit_code == 0, result.stderr
    path = HERE / case / f"expected.{'txt' if fmt == 'text' else 'json'}"
    if update_golden:
        path.write_text(result.stdout, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing; run pytest --update-golden and review it"
    assert result.stdout == path.read_text(encoding="utf-8"), f"{case}/{path.name} differs"
