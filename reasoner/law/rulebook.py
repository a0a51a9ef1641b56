"""The AI Diffusion rulebook: rule files, reference facts and uncertainties, loaded per regime."""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Mapping

from reasoner.lang.checks import CheckedProgram, check
from reasoner.lang.errors import CheckFailed, Diagnostic, EarlogError
from reasoner.lang.ir import Program, Rule
from reasoner.lang.syntax import parse_program
from reasoner.version import __version__

__all__ = ["Rulebook", "load_rulebook", "RULE_FILES", "REGIMES", "reference_dir", "cache_dir"]

NAME = "ear-ai-diffusion"
VERSION = "2025.1"
REGIMES = ("ifr", "enforced")
# One file per part of the law, in reading order.
RULE_FILES = ("inputs.dl", "tiers.dl", "items.dl", "license.dl", "exceptions.dl",
              "review.dl", "outcome.dl")


@dataclass(frozen=True, slots=True)
class Rulebook:
    """A checked rulebook for one regime.

    Attributes:
        checked: the program (rules of this regime, reference facts).
        regime: ``ifr`` or ``enforced``.
        sha256: digest of every rule and reference-fact file.
        uncertainties: id -> sentence, for every flagged uncertainty.
    """

    checked: CheckedProgram
    regime: str
    sha256: str
    uncertainties: Mapping[str, str]
    name: str = NAME
    version: str = VERSION

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.checked.rules


def reference_dir() -> Path:
    """Where the reference facts live: $EARLOG_FACTS or the checkout's facts/reference."""
    env = os.environ.get("EARLOG_FACTS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "facts" / "reference"


def _sources() -> list[tuple[str, str]]:
    """(display name, text) of every rule and reference-fact file, in load order."""
    out = []
    pkg = resources.files("reasoner").joinpath("rulebook")
    for name in RULE_FILES:
        out.append((f"reasoner/rulebook/{name}", pkg.joinpath(name).read_text("utf-8")))
    ref = reference_dir()
    files = sorted(ref.glob("*.dl")) if ref.is_dir() else []
    if not files:
        raise EarlogError(
            f"reference facts not found in '{ref}'",
            hint="install earlog from its checkout (pip install -e .) or set EARLOG_FACTS "
                 "to the facts/reference folder")
    for path in files:
        out.append((f"facts/reference/{path.name}", path.read_text("utf-8")))
    return out


def _uncertainty_text() -> str:
    return resources.files("reasoner").joinpath("rulebook", "uncertainties.yaml").read_text("utf-8")


def _digest(sources: list[tuple[str, str]], raw: str) -> str:
    """SHA-256 of every rule and reference-fact file (name and text) and the uncertainties."""
    digest = hashlib.sha256()
    for name, text in sources:
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    digest.update(raw.encode())
    return digest.hexdigest()


@functools.cache
def _parsed() -> tuple[Program, str, dict[str, str]]:
    import yaml

    program = Program()
    problems: list[Diagnostic] = []
    sources = _sources()
    for name, text in sources:
        try:
            program = program + parse_program(text, name)
        except EarlogError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise CheckFailed(problems)
    raw = _uncertainty_text()
    registry = {str(k): " ".join(str(v).split()) for k, v in yaml.safe_load(raw).items()}
    return program, _digest(sources, raw), registry


@functools.cache
def load_rulebook(regime: str = "ifr") -> Rulebook:
    """Load, select (by regime) and check the rulebook; cached per regime, in memory
    and on disk (see ``cache_dir``).

    Raises:
        EarlogError: unknown regime, or missing reference facts.
        CheckFailed: the rulebook has static problems (a bug in earlog).
    """
    if regime not in REGIMES:
        raise EarlogError(f"unknown regime '{regime}'", hint="regimes: " + ", ".join(REGIMES))
    key = _cache_key(_digest(_sources(), _uncertainty_text()), regime)
    book = _cache_read(key)
    if book is None:
        book = _build(regime)
        _cache_write(key, book)
    return book


def _build(regime: str) -> Rulebook:
    program, sha, registry = _parsed()
    rules = tuple(r for r in program.rules if not r.meta.regimes or regime in r.meta.regimes)
    problems = [
        Diagnostic(r.span, f"rule '{r.id}' names unknown uncertainty '{u}'",
                   "add it to reasoner/rulebook/uncertainties.yaml", "missing_citation")
        for r in program.rules for u in r.meta.uncertain if u not in registry
    ]
    bad = [r for r in program.rules for g in r.meta.regimes if g not in REGIMES]
    problems += [Diagnostic(r.span, f"rule '{r.id}' names an unknown regime",
                            "regimes: " + ", ".join(REGIMES), "missing_citation") for r in bad]
    if problems:
        raise CheckFailed(problems)
    checked = check(Program(rules, program.facts, program.decls), require_citations=True)
    return Rulebook(checked, regime, sha, registry)


# ---- the on-disk cache of checked rulebooks -----------------------------------------
#
# One file per (rulebook digest, regime, earlog version, Python version, digest of the
# language code), holding the pickled Rulebook. Safe to delete at any time; written to a temporary file and renamed,
# so concurrent runs never read half a file; a file that does not load is ignored and
# written again.


def cache_dir() -> Path | None:
    """Where checked rulebooks are cached: $EARLOG_CACHE_DIR, else $XDG_CACHE_HOME/earlog,
    else ~/.cache/earlog; None when EARLOG_CACHE_DIR is set to the empty string."""
    env = os.environ.get("EARLOG_CACHE_DIR")
    if env is not None:
        return Path(env) if env else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "earlog"


def _cache_key(sha: str, regime: str) -> str:
    tag = (f"{sha}\0{regime}\0{__version__}\0{sys.version}\0{pickle.HIGHEST_PROTOCOL}\0"
           f"{_code_digest()}")
    return hashlib.sha256(tag.encode()).hexdigest()[:32]


@functools.cache
def _code_digest() -> str:
    """SHA-256 of the code whose classes the pickle holds and whose checks made it (the
    language package and this module): an edited checkout never reads a stale entry."""
    digest = hashlib.sha256()
    lang = Path(__file__).resolve().parents[1] / "lang"
    for path in sorted([*lang.glob("*.py"), *lang.glob("*.lark"), Path(__file__).resolve()]):
        try:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        except OSError:
            digest.update(path.name.encode() + b"\0?")
    return digest.hexdigest()


def _cache_read(key: str) -> Rulebook | None:
    where = cache_dir()
    if where is None:
        return None
    try:
        data = (where / f"rulebook-{key}.pickle").read_bytes()
        book = pickle.loads(data)
    except Exception:  # noqa: BLE001 - missing, unreadable or corrupt: rebuild
        return None
    return book if isinstance(book, Rulebook) else None


def _cache_write(key: str, book: Rulebook) -> None:
    where = cache_dir()
    if where is None:
        return
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".rulebook-", suffix=".tmp", dir=where)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(book, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, where / f"rulebook-{key}.pickle")
        except BaseException:
            os.unlink(tmp)
            raise
    except Exception:  # noqa: BLE001 - a cache that cannot be written is only slower
        pass
