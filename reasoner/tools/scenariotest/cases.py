"""Running scenario files that carry ``expect:`` blocks: one case per (transaction, regime)."""

# The expect block (shared/ear/examples/README.md, tests/scenario_expectations.yaml):
#
#   expect:
#     tx1: {outcome: permitted, exceptions: [AIA], cites: ["740.27(a)"]}
#     regimes:                       # re-decide the file under another regime
#       enforced: {tx1: {outcome: license_required}}
#
# Decision fields compare by value (exceptions as a set); `cites` are "must include":
# each must be a substring of some citation of the decision (its basis), which is
# how tests/test_examples.py has always read them; `uncertainties` and `conditions`
# must each be present, `not_uncertainties` must each be absent.

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from reasoner.lang.errors import CheckFailed, Diagnostic, EarlogError, ScenarioError
from reasoner.lang.span import NO_SPAN, Span
from reasoner.law.decision import EXCEPTION_CODES, POLICY_WORDS, Decision, ScenarioDecisions, decide
from reasoner.law.scenario import REGIMES, Scenario, load_scenario
from reasoner.law.scenario.yamlnodes import Node, choices_hint, compose, node_span

__all__ = ["FIELDS", "LIST_CHECKS", "RULED_OUT", "OUTCOMES", "POLICIES", "Check", "Case", "FileResult",
           "check_decision", "load_expectations", "run_file", "run_files"]

# Decision fields an expect block may state, compared by value.
FIELDS = ("in_scope", "license_required", "outcome", "exceptions", "review_policy")
# List checks: what each entry must be (included in / absent from) in the decision.
LIST_CHECKS = ("cites", "uncertainties", "not_uncertainties", "conditions")
# Each exception named must be ruled out under a provision that includes the text given.
RULED_OUT = "ruled_out"
OUTCOMES = ("permitted", "license_required", "out_of_scope", "indeterminate")
POLICIES = tuple(POLICY_WORDS["en"])


@dataclass(frozen=True, slots=True)
class Check:
    """One expected field or list entry, compared with the decision."""

    field: str
    expected: str
    got: str
    ok: bool


@dataclass(frozen=True, slots=True)
class Case:
    """One transaction of one file under one regime, with every check made."""

    file: str
    scenario: str
    transaction: str
    regime: str
    checks: tuple[Check, ...]
    seconds: float
    argument: str | None = None  # the explanation, for a failed case
    regime_block: bool = False  # from the block's `regimes:` (else the file's own regime)

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def name(self) -> str:
        """The transaction id, with ``@regime`` for a case of the ``regimes:`` block."""
        return self.transaction + (f" @{self.regime}" if self.regime_block else "")

    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)


@dataclass(frozen=True, slots=True)
class FileResult:
    """A file's cases, or the error that stopped it (invalid scenario or expect block)."""

    file: str
    scenario: str
    cases: tuple[Case, ...] = ()
    error: EarlogError | None = None
    seconds: float = 0.0


# ---- comparing ----------------------------------------------------------------------


def _show(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(str(x) for x in v) + "]"
    return str(v)


def check_decision(decision: Decision, want: Mapping[str, Any]) -> tuple[Check, ...]:
    """Every check ``want`` asks of ``decision``, in FIELDS then LIST_CHECKS order.

    Example:
        >>> import datetime
        >>> d = Decision("t", datetime.date(2025, 6, 1), True, True, ("LPP",), "permitted",
        ...              None, ("15 CFR 740.29(a)",), ())
        >>> [(c.field, c.ok) for c in check_decision(d, {"outcome": "permitted",
        ...                                              "cites": ["740.27(a)"]})]
        [('outcome', True), ('cites', False)]
    """
    out: list[Check] = []
    for key in FIELDS:
        if key not in want:
            continue
        got, expected = getattr(decision, key), want[key]
        if key == "exceptions":
            ok = sorted(got) == sorted(expected or [])
        else:
            ok = got == expected
        out.append(Check(key, _show(expected), _show(got), ok))
    for cite in want.get("cites") or []:
        hit = next((c for c in decision.citations if cite in c), None)
        out.append(Check("cites", f"includes {cite}", hit or "missing", hit is not None))
    ruled = {r.exception: r for r in decision.ruled_out}
    for code, cite in (want.get(RULED_OUT) or {}).items():
        r = ruled.get(str(code))
        got = f"{code} under {r.citation}" if r else f"{code} not ruled out"
        out.append(Check(RULED_OUT, f"{code} under {cite}", got,
                         r is not None and str(cite) in r.citation))
    for key, have in (("uncertainties", decision.uncertainties),
                      ("conditions", decision.conditions)):
        for u in want.get(key) or []:
            out.append(Check(key, f"includes {u}", u if u in have else "missing", u in have))
    for u in want.get("not_uncertainties") or []:
        present = u in decision.uncertainties
        out.append(Check("uncertainties", f"excludes {u}", "present" if present else "absent",
                         not present))
    return tuple(out)


# ---- running ------------------------------------------------------------------------


def load_expectations(path: str | os.PathLike[str]) -> dict[str, tuple[Any, Node | None]]:
    """A separate expectations file: a mapping of scenario file names to expect blocks
    (as ``tests/scenario_expectations.yaml`` keeps them for ``facts/scenarios/``).

    Raises:
        ScenarioError: the file cannot be read or is not a mapping of names to mappings.
    """
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read expectations file '{name}': {exc}", Span(name, 0, 0),
                            "check the path") from None
    root = compose(text, name, ScenarioError)
    if root is None or root.tag != "tag:yaml.org,2002:map":
        raise ScenarioError("expected a mapping of scenario file names to expect blocks",
                            Span(name, 1, 1), "e.g. 'aia-tier1.yaml: {dc-germany: "
                            "{outcome: permitted}}'")
    out: dict[str, tuple[Any, Node | None]] = {}
    for knode, vnode in root.value:
        out[str(knode.value)] = (_plain(vnode), vnode)
    return out


def run_files(paths: Sequence[str], expectations: str | None = None,
              argument: bool = True) -> list[FileResult]:
    """Run every file (see ``run_file``); ``expectations`` names a separate expectations
    file whose blocks apply to the files of those names."""
    extra = load_expectations(expectations) if expectations is not None else {}
    return [run_file(p, extra.get(os.path.basename(p)), argument,
                     expectations if os.path.basename(p) in extra else None) for p in paths]


def run_file(path: str, external: tuple[Any, Node | None] | None = None,
             argument: bool = True, external_file: str | None = None) -> FileResult:
    """Decide one scenario file and compare each transaction with its expect block.

    Args:
        path: a scenario file, with an ``expect:`` block unless ``external`` gives one.
        external: (block, its YAML node) from ``load_expectations``.
        argument: attach the explanation of each failed case.
        external_file: the file ``external`` came from (for its diagnostics' spans).

    Returns:
        The cases, or the error (never raised) that stopped the file.
    """
    start = time.perf_counter()
    scenario_id = os.path.basename(path)
    try:
        scn = load_scenario(path, allow_expect=True)
        scenario_id = scn.id
        block, node, where = _block(scn, path, external, external_file)
        plan = _plan(scn, block, node, where)
        cases: list[Case] = []
        for regime, wanted in plan:
            result = decide(scn, regime=regime)
            cases += _cases(path, scn, result, regime, wanted, argument)
    except EarlogError as exc:
        return FileResult(path, scenario_id, (), exc, time.perf_counter() - start)
    return FileResult(path, scenario_id, tuple(cases), None, time.perf_counter() - start)


def _cases(path: str, scn: Scenario, result: ScenarioDecisions, regime: str | None,
           wanted: Mapping[str, Any], argument: bool) -> list[Case]:
    by_id = {d.transaction: d for d in result.decisions}
    out = []
    for tx, want in wanted.items():
        t0 = time.perf_counter()
        checks = check_decision(by_id[tx], want)
        text = None
        if argument and not all(c.ok for c in checks):
            text = _argument(result, tx)
        out.append(Case(path, scn.id, tx, result.rulebook.regime, checks,
                        time.perf_counter() - t0, text, regime is not None))
    return out


def _argument(result: ScenarioDecisions, tx: str) -> str:
    from reasoner.proof.explanation import explain_transaction
    from reasoner.render.argument import explanation_view

    return explanation_view(result, explain_transaction(result, tx))[0]


# ---- the expect block -----------------------------------------------------------------


def _block(scn: Scenario, path: str, external: tuple[Any, Node | None] | None,
           external_file: str | None) -> tuple[Any, Node | None, str]:
    """The expect block to use, its node, and the file its spans are in."""
    if external is not None:
        if scn.expect is not None:
            raise ScenarioError("the file has its own expect block and the expectations file "
                                "has one for it too", scn.where("expect"),
                                "keep one of the two")
        return external[0], external[1], external_file or path
    if scn.expect is None:
        raise ScenarioError("no 'expect:' block: nothing to test", Span(path, 0, 0),
                            "add an expect block (see shared/ear/examples/README.md), "
                            "or give --expect FILE")
    root = compose(open(path, encoding="utf-8-sig").read(), path, ScenarioError)
    node = dict((k.value, v) for k, v in root.value).get("expect") if root is not None else None
    return scn.expect, node, path


class _Problems:
    """Collects every problem of an expect block; ``raise_all`` raises them together."""

    def __init__(self) -> None:
        self.found: list[Diagnostic] = []

    def add(self, where: Span, message: str, hint: str = "") -> None:
        self.found.append(Diagnostic(where, message, hint, ScenarioError.code))

    def raise_all(self) -> None:
        if len(self.found) == 1:
            d = self.found[0]
            raise ScenarioError(d.message, d.span, d.hint)
        if self.found:
            raise CheckFailed(self.found)


def _plan(scn: Scenario, block: Any, node: Node | None,
          file: str) -> list[tuple[str | None, dict[str, Any]]]:
    """[(regime or None for the file's own, {tx: expected fields})], validated.

    Raises:
        ScenarioError, CheckFailed: every problem of the block, sorted by location.
    """
    if not isinstance(block, dict) or not block:
        raise ScenarioError("expected a mapping of transaction ids to expected fields",
                            _span(node, file), "e.g. expect: {tx1: {outcome: permitted}}")
    problems = _Problems()
    own = {k: v for k, v in block.items() if k != "regimes"}
    plan: list[tuple[str | None, dict[str, Any]]] = []
    if own:
        plan.append((None, _validated(scn, own, node, file, problems)))
    regimes = block.get("regimes") or {}
    rnode = _child(node, "regimes")
    if not isinstance(regimes, dict):
        problems.add(_span(rnode, file), "expected 'regimes' to map regimes to expect blocks",
                     "e.g. regimes: {enforced: {tx1: {outcome: license_required}}}")
        regimes = {}
    for regime, sub in regimes.items():
        if regime not in REGIMES:
            problems.add(_span(_key(rnode, regime), file), f"unknown regime '{regime}'",
                         choices_hint(str(regime), REGIMES))
        elif not isinstance(sub, dict):
            problems.add(_span(_child(rnode, regime), file),
                         f"expected a mapping of transaction ids for regime '{regime}'",
                         "e.g. {tx1: {outcome: license_required}}")
        else:
            plan.append((str(regime), _validated(scn, sub, _child(rnode, regime), file,
                                                 problems)))
    problems.raise_all()
    return plan


def _validated(scn: Scenario, block: dict[str, Any], node: Node | None, file: str,
               problems: _Problems) -> dict[str, Any]:
    ids = [t.id for t in scn.transactions]
    out: dict[str, Any] = {}
    for tx, want in block.items():
        where = _span(_key(node, tx), file)
        if str(tx) not in ids:
            problems.add(where, f"expect names transaction '{tx}', which the scenario lacks",
                         choices_hint(str(tx), ids) if ids else "the scenario has no "
                         "transactions")
        elif not isinstance(want, dict):
            problems.add(where, f"expected a mapping of fields for '{tx}'",
                         "e.g. {outcome: permitted, exceptions: [AIA]}")
        else:
            tnode = _child(node, tx)
            for key, value in want.items():
                _check_value(str(key), value, _span(_key(tnode, key), file), problems)
            out[str(tx)] = want
    return out


def _check_value(key: str, value: Any, where: Span, problems: _Problems) -> None:
    allowed = FIELDS + LIST_CHECKS + (RULED_OUT,)
    if key not in allowed:
        problems.add(where, f"unknown expectation '{key}'", choices_hint(key, allowed))
        return
    choices: tuple[str, ...] = ()
    if key == "outcome":
        choices = OUTCOMES
    elif key == "review_policy" and value is not None:
        choices = POLICIES
    elif key == "exceptions" and not isinstance(value, list):
        problems.add(where, "expected a list of exception codes for 'exceptions'",
                     "e.g. exceptions: [AIA, LPP], or [] for none")
    elif key == "exceptions":
        bad = [x for x in value if x not in EXCEPTION_CODES]
        if bad:
            problems.add(where, f"unknown exception code '{bad[0]}'",
                         choices_hint(str(bad[0]), EXCEPTION_CODES))
    elif key in ("in_scope", "license_required") and not (
            isinstance(value, bool) or (key == "license_required" and value is None)):
        problems.add(where, f"expected true or false for '{key}', found '{_show(value)}'",
                     "write true or false" + (" (or null)" if key != "in_scope" else ""))
    elif key in LIST_CHECKS and not isinstance(value, list):
        problems.add(where, f"expected a list for '{key}'", f"e.g. {key}: [...]")
    elif key == RULED_OUT and not (isinstance(value, dict)
                                   and all(str(k) in EXCEPTION_CODES for k in value)):
        problems.add(where, "expected a mapping of exception codes to provisions for 'ruled_out'",
                     'e.g. ruled_out: {LPP: "740.2(a)(9)(ii)"}')
    if choices and value not in choices:
        problems.add(where, f"unknown value '{_show(value)}' for '{key}'",
                     choices_hint(_show(value), choices))


# ---- YAML nodes ----------------------------------------------------------------------


def _plain(node: Node) -> Any:
    from reasoner.law.scenario.yamlnodes import plain

    return plain(node)


def _pairs(node: Node | None) -> list[tuple[Node, Node]]:
    return list(node.value) if node is not None and node.tag.endswith(":map") else []


def _key(node: Node | None, key: Any) -> Node | None:
    return next((k for k, _ in _pairs(node) if str(k.value) == str(key)), node)


def _child(node: Node | None, key: Any) -> Node | None:
    return next((v for k, v in _pairs(node) if str(k.value) == str(key)), None)


def _span(node: Node | None, file: str) -> Span:
    return node_span(node, file) if node is not None else Span(file, 0, 0) if file else NO_SPAN
