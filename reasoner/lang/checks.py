"""Static checks that make a program meaningful, and its stratification."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping

from reasoner.lang.errors import CheckFailed, Diagnostic
from reasoner.lang.ir import Aggregate, Atom, BodyItem, Call, Comparison, Literal, Program, Rule, Term, Var, variables
from reasoner.lang.span import NO_SPAN, Span

if TYPE_CHECKING:
    import networkx as nx  # imported where used: it costs ~90 ms at start-up

__all__ = ["CheckedProgram", "check", "bound_variables", "dependency_graph", "growth_warnings"]


@dataclass(frozen=True, slots=True)
class CheckedProgram:
    """A program that passed every check, with its evaluation order.

    Attributes:
        program: the program itself.
        arity: every known predicate's arity.
        strata: groups of rule indices, in evaluation order; each group is one
            strongly connected component of the dependency graph.
        stratum_of: predicate -> stratum number (negation/aggregation raise it by 1).
        recursive: predicates that depend on themselves.
    """

    program: Program
    arity: Mapping[str, int]
    strata: tuple[tuple[int, ...], ...]
    stratum_of: Mapping[str, int] = field(default_factory=dict)
    recursive: frozenset[str] = frozenset()

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.program.rules

    def without(self, preds: Iterable[str]) -> "CheckedProgram":
        """The same program evaluating no rule that concludes one of ``preds``.

        Rule indices are unchanged (provenance still names rules of ``program``);
        the dropped predicates stay empty in the model. Every other predicate has
        the same facts, as no remaining rule reads a dropped one.

        Raises:
            ValueError: some remaining rule reads a dropped predicate.
        """
        dropped = set(preds)
        for rule in self.rules:
            if rule.head.pred not in dropped:
                read = {atom.pred for atom, _, _ in _atoms(rule.body)} & dropped
                if read:
                    raise ValueError(f"rule {rule.meta.id or rule.head.pred} reads {sorted(read)}")
        strata = tuple(kept for kept in (
            tuple(i for i in stratum if self.rules[i].head.pred not in dropped)
            for stratum in self.strata) if kept)
        return CheckedProgram(self.program, self.arity, strata, self.stratum_of, self.recursive)


def check(
    program: Program,
    inputs: Mapping[str, int] | None = None,
    require_citations: bool = False,
) -> CheckedProgram:
    """Run every static check and compute strata; report all problems together.

    Args:
        program: the parsed program.
        inputs: predicates whose facts arrive later (name -> arity), beyond the
            program's own ``input`` declarations.
        require_citations: every rule must carry ``@cite`` (the rulebook's rule).

    Returns:
        The checked program, ready for an engine.

    Raises:
        CheckFailed: one or more problems, sorted by location.

    Example:
        >>> from reasoner.lang.syntax import parse_program
        >>> check(parse_program("p(1). q(X) :- p(X).")).stratum_of["q"]
        0
    """
    problems: list[Diagnostic] = []
    arity = _arities(program, dict(inputs or {}), problems)
    _unknown_predicates(program, set(inputs or {}), problems)
    for rule in program.rules:
        _safety(rule, problems)
    _rule_ids(program, require_citations, problems)
    strata, stratum_of, recursive = _stratify(program, problems)
    if problems:
        raise CheckFailed(problems)
    return CheckedProgram(program, arity, strata, stratum_of, recursive)


def _atoms(body: Iterable[BodyItem]) -> Iterable[tuple[Atom, bool, bool]]:
    """Yield (atom, negated, inside_aggregate) for every atom of a body."""
    for item in body:
        if isinstance(item, Literal):
            yield item.atom, item.negated, False
        elif isinstance(item, Aggregate):
            for atom, neg, _ in _atoms(item.body):
                yield atom, neg, True


def _arities(program: Program, inputs: dict[str, int], problems: list[Diagnostic]) -> dict[str, int]:
    first: dict[str, tuple[int, Span]] = {}

    def see(pred: str, n: int, span: Span) -> None:
        if pred not in first:
            first[pred] = (n, span)
            return
        want, where = first[pred]
        if n != want:
            at = f" (first used at {where})" if where.line else ""
            problems.append(Diagnostic(
                span, f"'{pred}' used with {n} argument(s); expected {want}{at}",
                f"every use of '{pred}' must have the same number of arguments", "arity_mismatch"))

    for pred, n in inputs.items():
        first[pred] = (n, NO_SPAN)
    for d in program.decls:
        see(d.pred, d.arity, d.span)
    for f in program.facts:
        see(f.pred, len(f.values), f.span)
    for r in program.rules:
        see(r.head.pred, len(r.head.args), r.head.span)
    for r in program.rules:
        for atom, _, _ in _atoms(r.body):
            see(atom.pred, len(atom.args), atom.span)
    return {p: n for p, (n, _) in first.items()}


def _unknown_predicates(program: Program, inputs: set[str], problems: list[Diagnostic]) -> None:
    defined = {d.pred for d in program.decls} | {f.pred for f in program.facts}
    defined |= {r.head.pred for r in program.rules} | inputs
    for r in program.rules:
        for atom, _, _ in _atoms(r.body):
            if atom.pred in defined:
                continue
            close = difflib.get_close_matches(atom.pred, sorted(defined), n=1)
            hint = f"did you mean '{close[0]}'?" if close else (
                f"define '{atom.pred}' by a rule or a fact, or declare it: "
                f"input {atom.pred}(...).")
            problems.append(Diagnostic(
                atom.span, f"unknown predicate '{atom.pred}'", hint, "unknown_predicate"))


def bound_variables(body: Iterable[BodyItem], given: set[str] | None = None) -> set[str]:
    """Variables a body binds, given some already bound (fixpoint over the body).

    Positive atoms bind their plain variables; ``X = expr`` binds X once the
    expression's variables are bound; an aggregate binds its result once its
    group variables are bound.
    """
    items = list(body)
    bound = set(given or ())
    changed = True
    while changed:
        changed = False
        for item in items:
            new: set[str] = set()
            if isinstance(item, Literal) and not item.negated:
                new = {a.name for a in item.atom.args if isinstance(a, Var) and not a.anonymous}
            elif isinstance(item, Comparison) and item.op == "=":
                for a, b in ((item.left, item.right), (item.right, item.left)):
                    if isinstance(a, Var) and not a.anonymous and variables(b) <= bound:
                        new.add(a.name)
            elif isinstance(item, Aggregate):
                new = {item.result.name}
            if not new <= bound:
                bound |= new
                changed = True
    return bound


def _safety(rule: Rule, problems: list[Diagnostic]) -> None:
    bound = bound_variables(rule.body)
    for arg in rule.head.args:
        for v in _vars(arg):
            if v.anonymous:
                problems.append(Diagnostic(
                    v.span, "anonymous variable '_' in a rule head",
                    "a head must name each value it derives", "safety_violations"))
            elif v.name not in bound:
                problems.append(_unbound(v, "the head"))
    # Count where each variable occurs, to find negation-local ones (Nemo semantics).
    occurrences: dict[str, int] = {}
    for item in rule.body:
        for name in variables(item):
            occurrences[name] = occurrences.get(name, 0) + 1
    head_vars = variables(rule.head)
    for item in rule.body:
        _item_safety(item, bound, occurrences, head_vars, problems)


def _item_safety(
    item: BodyItem, bound: set[str], occurrences: dict[str, int], head_vars: set[str],
    problems: list[Diagnostic],
) -> None:
    if isinstance(item, Literal):
        for arg in item.atom.args:
            if isinstance(arg, Var):
                if item.negated and not arg.anonymous and arg.name not in bound and (
                        occurrences.get(arg.name, 0) > 1 or arg.name in head_vars):
                    problems.append(_unbound(arg, "a negated atom"))
                continue
            for v in _vars(arg):
                if v.name not in bound:
                    problems.append(_unbound(v, "an expression"))
    elif isinstance(item, Comparison):
        for v in _vars(item.left) + _vars(item.right):
            if v.anonymous or v.name not in bound:
                problems.append(_unbound(v, "a comparison"))
    else:
        outer = bound - {item.result.name}
        inner_bound = bound_variables(item.body, outer)
        for v in _vars(item.term):
            if v.name not in inner_bound:
                problems.append(_unbound(v, "an aggregate"))
        inner_occ: dict[str, int] = {}
        for sub in item.body:
            for name in variables(sub):
                inner_occ[name] = inner_occ.get(name, 0) + 1
        for sub in item.body:
            _item_safety(sub, inner_bound, inner_occ, set(), problems)


def _vars(term: Term) -> list[Var]:
    if isinstance(term, Var):
        return [term]
    if isinstance(term, Call):
        return [v for a in term.args for v in _vars(a)]
    return []


def _unbound(v: Var, where: str) -> Diagnostic:
    return Diagnostic(
        v.span, f"variable '{v.name}' in {where} is not bound by any positive atom",
        f"add a positive atom that binds '{v.name}', e.g. p({v.name}), before using it",
        "unbound_variable")


def _rule_ids(program: Program, require_citations: bool, problems: list[Diagnostic]) -> None:
    seen: dict[str, Span] = {}
    for r in program.rules:
        if r.meta.id:
            if r.meta.id in seen:
                problems.append(Diagnostic(
                    r.span, f"duplicate rule id '{r.meta.id}' (first at {seen[r.meta.id]})",
                    "give each rule its own @id", "duplicate_rule_id"))
            else:
                seen[r.meta.id] = r.span
        if require_citations and not r.meta.cite:
            problems.append(Diagnostic(
                r.span, f"rule for '{r.head.pred}' has no @cite",
                "every rule of the rulebook carries its pinpoint citation, "
                "e.g. @cite(\"15 CFR 740.29(a)\")", "missing_citation"))
        if require_citations and not r.meta.id:
            problems.append(Diagnostic(
                r.span, f"rule for '{r.head.pred}' has no @id",
                "every rule of the rulebook has a unique @id", "missing_citation"))


def dependency_graph(program: Program) -> nx.MultiDiGraph:
    """Predicate dependency graph: edge body_pred -> head_pred per use.

    Edge attributes: ``negative`` (negation or aggregation), ``rule`` (index),
    ``span`` (where the use is).
    """
    import networkx as nx

    g = nx.MultiDiGraph()
    g.add_nodes_from({f.pred for f in program.facts})
    g.add_nodes_from({d.pred for d in program.decls})
    for i, r in enumerate(program.rules):
        g.add_node(r.head.pred)
        for atom, neg, in_agg in _atoms(r.body):
            g.add_edge(atom.pred, r.head.pred, negative=neg or in_agg, rule=i, span=atom.span,
                       aggregate=in_agg)
    return g


def _stratify(
    program: Program, problems: list[Diagnostic]
) -> tuple[tuple[tuple[int, ...], ...], dict[str, int], frozenset[str]]:
    import networkx as nx

    g = dependency_graph(program)
    comp_of: dict[str, int] = {}
    cond = nx.condensation(nx.DiGraph(g))
    for c, data in cond.nodes(data=True):
        for p in data["members"]:
            comp_of[p] = c
    recursive: set[str] = set()
    for u, v, data in g.edges(data=True):
        if comp_of[u] != comp_of[v]:
            continue
        recursive |= {u, v}
        if data["negative"]:
            kind = "aggregation" if data["aggregate"] else "negation"
            problems.append(Diagnostic(
                data["span"],
                f"{kind} of '{u}' is inside the recursion of '{v}': the program cannot be "
                "stratified", "a predicate may not depend on its own negation or aggregate; "
                "break the cycle", "cyclic_negation"))
    level: dict[int, int] = {}
    for c in nx.topological_sort(cond):
        lv = 0
        for pc in cond.predecessors(c):
            neg = any(
                d["negative"] for u in cond.nodes[pc]["members"]
                for v in cond.nodes[c]["members"] for d in (g.get_edge_data(u, v) or {}).values()
            )
            lv = max(lv, level[pc] + (1 if neg else 0))
        level[c] = lv
    order = list(nx.topological_sort(cond))
    rules_of: dict[int, list[int]] = {c: [] for c in order}
    for i, r in enumerate(program.rules):
        rules_of[comp_of[r.head.pred]].append(i)
    strata = tuple(tuple(rules_of[c]) for c in order if rules_of[c])
    stratum_of = {p: level[c] for p, c in comp_of.items()}
    return strata, stratum_of, frozenset(recursive)


_ARITH = ("+", "-", "*", "/")
_ORDER = ("<", "<=", ">", ">=")


def growth_warnings(checked: CheckedProgram) -> tuple[Diagnostic, ...]:
    """Recursive rules that compute a head value by arithmetic from the recursion
    (``n(X) :- n(Y), X = Y + 1``): each round can make a new value, so evaluation
    ends only if the data it follows is finite and acyclic. A rule with an ordering
    comparison on such a value (``Y < 100``) is taken as bounded.

    Returns:
        One ``warning`` diagnostic per such rule, in rule order.

    Example:
        >>> from reasoner.lang.syntax import parse_program
        >>> [d.message for d in growth_warnings(check(parse_program("n(0). n(X) :- n(Y), X = Y + 1.")))]
        ["recursive rule for 'n' computes new values by arithmetic: evaluation may not end"]
    """
    out: list[Diagnostic] = []
    rules = checked.rules
    for stratum in checked.strata:
        heads = {rules[i].head.pred for i in stratum}
        if not heads & checked.recursive:
            continue
        for i in stratum:
            rule = rules[i]
            if _grows(rule, heads):
                out.append(Diagnostic(
                    rule.span, f"recursive rule for '{rule.head.pred}' computes new values by "
                    "arithmetic: evaluation may not end",
                    "it ends only over finite, acyclic data; bound the value with a comparison "
                    "(e.g. Y < 100) if it can cycle. Evaluation stops at a limit on facts and "
                    "rounds.", "warning"))
    return tuple(sorted(out, key=lambda d: d.span))


def _grows(rule: Rule, heads: set[str]) -> bool:
    """Whether a head argument is computed by arithmetic from a recursive atom's variables
    with no ordering comparison on it or what it is computed from."""
    recursive = {v.name for atom, neg, in_agg in _atoms(rule.body)
                 if atom.pred in heads and not neg and not in_agg
                 for a in atom.args for v in _vars(a)}
    if not recursive:
        return False
    sources: dict[str, set[str]] = {}  # X -> the variables X = expr reads
    guarded: set[str] = set()
    for item in rule.body:
        if not isinstance(item, Comparison):
            continue
        if item.op in _ORDER:
            guarded |= {v.name for side in (item.left, item.right) for v in _vars(side)}
        elif item.op == "=":
            for target, expr in ((item.left, item.right), (item.right, item.left)):
                if isinstance(target, Var) and _arithmetic(expr):
                    sources.setdefault(target.name, set()).update(v.name for v in _vars(expr))

    def reach(names: set[str]) -> set[str]:
        seen, todo = set(names), list(names)
        while todo:
            for n in sources.get(todo.pop(), ()):
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return seen

    for arg in rule.head.args:
        if isinstance(arg, Var) and arg.name in sources:
            deps = reach({arg.name})
        elif _arithmetic(arg):
            deps = reach({v.name for v in _vars(arg)})
        else:
            continue
        # a guard bounds the value itself or the recursion's value it grows from
        grows_from = deps & recursive
        if grows_from and not (grows_from | (deps & set(sources))) & guarded:
            return True
    return False


def _arithmetic(term: Term) -> bool:
    return isinstance(term, Call) and (term.fn in _ARITH or any(_arithmetic(a) for a in term.args))
