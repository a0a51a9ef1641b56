"""Reproducibility receipts: what produced an output, and the command that produces it again."""

# A receipt holds only what the output depends on: earlog's version, the
# rulebook's name, version and digest, the regime, the law date, the scenario's
# id, path and digest, and a clean command line rebuilt from the parameters (not
# raw argv). It has no timestamps, so the same inputs give the same receipt.

from __future__ import annotations

import datetime as _dt
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol, Sequence

from reasoner.version import __version__

__all__ = ["Receipt", "make_receipt", "command_line", "display_path", "receipt_lines"]


# What a receipt reads of a decided scenario (``decision.ScenarioDecisions``): plain
# attributes, so this module needs nothing from the decision module that uses it.
class _Book(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def regime(self) -> str: ...


class _Scenario(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def file(self) -> str: ...
    @property
    def source_sha256(self) -> str: ...


class _Decision(Protocol):
    @property
    def as_of(self) -> _dt.date: ...


class _Decided(Protocol):
    @property
    def rulebook(self) -> _Book: ...
    @property
    def scenario(self) -> _Scenario: ...
    @property
    def decisions(self) -> Sequence[_Decision]: ...


@dataclass(frozen=True, slots=True)
class Receipt:
    """What an output was produced from.

    Attributes:
        earlog_version: the package version.
        rulebook: the rulebook's name.
        rulebook_version: its version.
        rulebook_sha256: digest of every rule and reference-fact file.
        regime: ``ifr`` or ``enforced``.
        as_of: the date the law was read at, when one date holds for every
            decision covered; None when transactions are read at different
            dates (each decision then states its own).
        scenario: the scenario id.
        scenario_file: the scenario's path, relative to the working directory
            when it lies below it.
        scenario_sha256: digest of the scenario file's bytes.
        command: an ``earlog`` command line that reproduces the output.
    """

    earlog_version: str
    rulebook: str
    rulebook_version: str
    rulebook_sha256: str
    regime: str
    as_of: _dt.date | None
    scenario: str
    scenario_file: str
    scenario_sha256: str
    command: str

    def to_dict(self) -> dict[str, Any]:
        """The receipt as JSON-ready data (the ``receipt`` field of JSON exports)."""
        return {
            "earlog_version": self.earlog_version,
            "rulebook": {"name": self.rulebook, "version": self.rulebook_version,
                         "sha256": self.rulebook_sha256},
            "regime": self.regime,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "scenario": {"id": self.scenario, "file": self.scenario_file,
                         "sha256": self.scenario_sha256},
            "command": self.command,
        }


def make_receipt(result: _Decided, command: str,
                 decisions: Iterable[_Decision] | None = None) -> Receipt:
    """The receipt of an output computed from ``result``.

    Args:
        result: the decided scenario.
        command: from :func:`command_line`.
        decisions: the decisions the output covers (default: all).

    Returns:
        The receipt; ``as_of`` is the law date shared by those decisions, else None.
    """
    chosen = tuple(result.decisions if decisions is None else decisions)
    dates = {d.as_of for d in chosen}
    book, scn = result.rulebook, result.scenario
    return Receipt(
        earlog_version=__version__, rulebook=book.name, rulebook_version=book.version,
        rulebook_sha256=book.sha256, regime=book.regime,
        as_of=next(iter(dates)) if len(dates) == 1 else None,
        scenario=scn.id, scenario_file=display_path(scn.file), scenario_sha256=scn.source_sha256,
        command=command)


def display_path(path: str) -> str:
    """``path`` relative to the working directory when it lies below it, else as given.

    Example:
        >>> display_path("facts/scenarios/aia-tier1.yaml")
        'facts/scenarios/aia-tier1.yaml'
    """
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    try:
        return p.relative_to(Path(os.getcwd())).as_posix()
    except ValueError:
        return p.as_posix()


def command_line(command: str, arguments: Sequence[str],
                 options: Mapping[str, str | int | bool | None] | None = None) -> str:
    """A clean ``earlog`` command line, shell-quoted, paths shown by :func:`display_path`.

    Options whose value is None or False are left out; True writes the bare flag.

    Example:
        >>> command_line("decide", ["s.yaml"], {"--format": "json", "--regime": "ifr",
        ...                                     "--as-of": None, "--compact": True})
        'earlog decide s.yaml --format json --regime ifr --compact'
    """
    words = ["earlog", command, *arguments]
    for name, value in (options or {}).items():
        if value is None or value is False:
            continue
        words.append(name)
        if value is not True:
            words.append(str(value))
    return " ".join(shlex.quote(w) for w in words)


def receipt_lines(receipt: Receipt, lang: str = "en") -> list[tuple[str, str]]:
    """The receipt as (label, value) rows for memos, in ``lang`` (``en`` or ``zh``)."""
    zh = lang == "zh"
    as_of = receipt.as_of.isoformat() if receipt.as_of else (
        "各交易日期" if zh else "each transaction's date")
    rows = [
        ("earlog", receipt.earlog_version),
        ("规则集" if zh else "rulebook", f"{receipt.rulebook} {receipt.rulebook_version}"),
        ("规则集 SHA-256" if zh else "rulebook SHA-256", receipt.rulebook_sha256),
        ("解读" if zh else "regime", receipt.regime),
        ("法律适用日期" if zh else "as of", as_of),
        ("情景" if zh else "scenario", f"{receipt.scenario} ({receipt.scenario_file})"),
        ("情景 SHA-256" if zh else "scenario SHA-256", receipt.scenario_sha256),
        ("复现命令" if zh else "reproduce with", receipt.command),
    ]
    return rows
