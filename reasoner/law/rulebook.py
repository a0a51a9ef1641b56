"""The AI Diffusion rulebook: rule files, reference facts and uncertainties, loaded per regime."""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import re
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Mapping

from reasoner.lang.checks import CheckedProgram, check
from reasoner.lang.errors import CheckFailed, Diagnostic, EarlogError
from reasoner.lang.ir import Atom, Const, Literal, Program, Rule, Var
from reasoner.lang.syntax import parse_program
from reasoner.version import __version__

__all__ = ["Rulebook", "load_rulebook", "is_rulebook_file", "RULE_FILES", "REGIMES",
           "reference_dir", "cache_dir", "uncertainty_raisers"]

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
        sources: id -> the public text (CFR, Federal Register, CCL data) it rests on.
        settles: id -> the fact, or the legal development, that would settle it.
        uncertainties_zh: id -> the sentence in Chinese.
        settles_zh: id -> what would settle it, in Chinese.
    """

    checked: CheckedProgram
    regime: str
    sha256: str
    uncertainties: Mapping[str, str]
    sources: Mapping[str, str]
    name: str = NAME
    version: str = VERSION
    settles: Mapping[str, str] = field(default_factory=dict)
    uncertainties_zh: Mapping[str, str] = field(default_factory=dict)
    settles_zh: Mapping[str, str] = field(default_factory=dict)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.checked.rules


def reference_dir() -> Path:
    """Where the reference facts live: $EARLOG_FACTS or the checkout's facts/reference."""
    env = os.environ.get("EARLOG_FACTS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "facts" / "reference"


# The display names of the rule and reference-fact files (see ``_sources``).
_RULEBOOK_PREFIXES = ("reasoner/rulebook/", "facts/reference/")


def is_rulebook_file(name: str) -> bool:
    """Whether ``name`` (a span's file) is one of the rulebook's own files, not a scenario's."""
    return name.startswith(_RULEBOOK_PREFIXES)


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
def _parsed() -> tuple[Program, str, dict[str, dict[str, str]]]:
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
    return program, _digest(sources, raw), _uncertainties(yaml.safe_load(raw))


# The fields of an id in uncertainties.yaml.
_FIELDS = ("text", "source", "settle", "text_zh", "settle_zh")
# Whitespace between two Chinese characters or full-width marks: a line break of the
# YAML file (folded to a space), never a space of the sentence.
_CJK_GAP = re.compile(r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”‘’])\s+"
                      r"(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”‘’])")


def _uncertainties(raw: Mapping[str, object]) -> dict[str, dict[str, str]]:
    """Field -> (id -> sentence) for each of ``_FIELDS``, from
    uncertainties.yaml (``{text, source, settle, text_zh, settle_zh}`` per id; a missing
    field is the empty string). Runs of whitespace become one space, and none between two
    Chinese characters, so a Chinese sentence may be wrapped anywhere in the file.

    >>> f = _uncertainties({"U-X": {"text": "a  b", "source": "15 CFR 1", "settle": "c",
    ...                             "text_zh": "未经\\n核实的 15 CFR 1 文本", "settle_zh": "丙。"}})
    >>> [f[k]["U-X"] for k in _FIELDS]
    ['a b', '15 CFR 1', 'c', '未经核实的 15 CFR 1 文本', '丙。']
    """
    out: dict[str, dict[str, str]] = {k: {} for k in _FIELDS}
    for key, value in raw.items():
        entry = value if isinstance(value, dict) else {"text": value}
        for name in _FIELDS:
            said = " ".join(str(entry.get(name, "")).split())
            out[name][str(key)] = _CJK_GAP.sub("", said) if name.endswith("_zh") else said
    return out


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
    program, sha, said = _parsed()
    registry = said["text"]
    rules = tuple(r for r in program.rules if not r.meta.regimes or regime in r.meta.regimes)
    problems = [
        Diagnostic(r.span, f"rule '{r.id}' names unknown uncertainty '{u}'",
                   "add it to reasoner/rulebook/uncertainties.yaml", "missing_citation")
        for r in program.rules for u in r.meta.uncertain if u not in registry
    ]
    problems += _element_problems(program.rules)
    bad = [r for r in program.rules for g in r.meta.regimes if g not in REGIMES]
    problems += [Diagnostic(r.span, f"rule '{r.id}' names an unknown regime",
                            "regimes: " + ", ".join(REGIMES), "missing_citation") for r in bad]
    if problems:
        raise CheckFailed(problems)
    checked = check(Program(rules, program.facts, program.decls), require_citations=True)
    return Rulebook(checked, regime, sha, registry, said["source"], settles=said["settle"],
                    uncertainties_zh=said["text_zh"], settles_zh=said["settle_zh"])


def _element_problems(rules: tuple[Rule, ...]) -> list[Diagnostic]:
    """Every rule concluding a predicate that some rule marks ``@element(kind)`` carries
    the same mark: an argument built from the marks must not miss a rule."""
    kinds: dict[str, Rule] = {}
    for r in rules:
        if r.meta.element:
            kinds.setdefault(r.head.pred, r)
    return [
        Diagnostic(r.span, f"rule '{r.id}' concludes {r.head.pred}, which rule "
                           f"'{kinds[r.head.pred].id}' marks @element({kinds[r.head.pred].meta.element}); "
                           f"this rule is marked {('@element(' + r.meta.element + ')') if r.meta.element else 'nothing'}",
                   f"add @element({kinds[r.head.pred].meta.element}) to the rule", "missing_citation")
        for r in rules
        if r.head.pred in kinds and r.meta.element != kinds[r.head.pred].meta.element
    ]



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


def uncertainty_raisers(book: Rulebook) -> dict[str, tuple[str, ...]]:
    """Uncertainty id -> the ids of the rules of ``book`` that raise it, sorted.

    A rule raises an id it names in ``@uncertain``, or one its ``tx_flag(Tx, Id)`` head
    takes from ground facts: ``Id`` bound by a body atom such as
    ``eccn_uncertain(Eccn, P, Id)``, each of its ground rows counting when the rule's other
    ground-only atoms (e.g. ``coverage_pred(P)``) have a row that agrees with it.

    >>> raisers = uncertainty_raisers(load_rulebook("ifr"))
    >>> "lr_class_unknown" in raisers["U-CLASSIFICATION"], raisers["U-ACM-4A004"]
    (True, ('flag_eccn_exception',))
    """
    ground: dict[str, list[tuple[object, ...]]] = {}
    for f in book.checked.program.facts:
        ground.setdefault(f.pred, []).append(f.values)
    derived = {r.head.pred for r in book.rules if r.body}
    for r in book.rules:
        if not r.body and all(isinstance(a, Const) for a in r.head.args):
            ground.setdefault(r.head.pred, []).append(
                tuple(a.value for a in r.head.args if isinstance(a, Const)))
    out: dict[str, set[str]] = {}
    for rule in book.rules:
        for u in rule.meta.uncertain:
            out.setdefault(u, set()).add(rule.id)
        if rule.head.pred == "tx_flag" and len(rule.head.args) == 2:
            for u in _flag_ids(rule, ground, derived):
                out.setdefault(u, set()).add(rule.id)
    return {u: tuple(sorted(r)) for u, r in sorted(out.items())}


def _flag_ids(rule: Rule, ground: Mapping[str, list[tuple[object, ...]]],
              derived: set[str]) -> set[str]:
    """The ids a ``tx_flag(Tx, Id)`` rule can conclude from ground facts."""
    arg = rule.head.args[1]
    if isinstance(arg, Const):
        return {str(arg.value)}
    if not isinstance(arg, Var):
        return set()
    atoms = [b.atom for b in rule.body if isinstance(b, Literal) and not b.negated
             and b.atom.pred in ground and b.atom.pred not in derived]
    out: set[str] = set()
    for atom in atoms:
        pos = [k for k, t in enumerate(atom.args) if isinstance(t, Var) and t.name == arg.name]
        if not pos:
            continue
        for row in ground[atom.pred]:
            binding = {t.name: row[k] for k, t in enumerate(atom.args) if isinstance(t, Var)}
            if all(_agrees(other, binding, ground) for other in atoms if other is not atom):
                out.add(str(row[pos[0]]))
    return out


def _agrees(atom: Atom, binding: Mapping[str, object],
            ground: Mapping[str, list[tuple[object, ...]]]) -> bool:
    """Some ground row of ``atom`` agrees with ``binding`` on the variables they share."""
    return any(all(not (isinstance(t, Var) and t.name in binding) or row[k] == binding[t.name]
                   for k, t in enumerate(atom.args))
               and all(not isinstance(t, Const) or row[k] == t.value
                       for k, t in enumerate(atom.args))
               for row in ground[atom.pred])
