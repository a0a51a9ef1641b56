"""Why an exception is not available: the one decisive condition, its provision and facts."""

# An exception code X is unavailable for a transaction for one of four reasons,
# tried in this order (the first that applies is the decisive one):
#   bar        barred(Tx, X) holds: the bar's own provision and label decide it;
#   pending    pending(Tx, X, Fact) holds: it turns on a fact the scenario omits;
#   inapplicable  X cannot apply to this kind of transaction (only AIA can
#              authorize 4E091 weights): the provision that says so;
#   fails      every rule concluding candidate(Tx, X) fails: the rule whose
#              conditions held longest (ties: the first written) names the
#              decisive condition, descended through failing derived conditions to
#              the scenario facts that decide it.
# The search reads the finished model only (one condition at a time, written
# order, as why-not does) and keeps no proofs, so it costs a few index lookups per
# code and runs for every decision, screening included. Transactions alike in what
# the search read about them share its result (``slices``): the search runs once per
# kind of transaction and code, not once per transaction.

from __future__ import annotations

import re
from datetime import date
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from reasoner.engine.matching import (
    FAIL, Env, assigned_var, eval_term, instantiate, negation_blockers, solutions, step,
    unify_head, written_order,
)
from reasoner.engine.model import Model, Row
from reasoner.lang.checks import CheckedProgram
from reasoner.lang.ir import (
    Aggregate, BodyItem, Call, Comparison, Const, Literal, Rule, Term, Value, Var, variables,
)
from reasoner.lang.labels import UNKNOWN, LabelBook, drop_unknown, fill, item_text, readable
from reasoner.law.slices import Reads, Shared, abstract, concrete, is_relative, relative

__all__ = ["RuledOut", "RuledOutFinder"]

# How many partial matches of one condition are kept while searching a rule.
_PARTIAL_CAP = 64
# How deep a failing derived condition is followed to the facts that decide it.
_DEPTH = 4
# How many "found instead" facts are named for a condition no fact matches.
_CONTRARY_CAP = 3

_NEGATED_OP = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "=": "!=", "!=": "="}
# What a comparison that failed says instead, in words (numbers, then dates).
_COMPARED = {
    False: {"<": ("is less than", "小于"), "<=": ("is at most", "不大于"),
            ">": ("exceeds", "大于"), ">=": ("is at least", "不小于"),
            "=": ("equals", "等于"), "!=": ("differs from", "不等于")},
    True: {"<": ("is before", "早于"), "<=": ("is on or before", "不晚于"),
           ">": ("is after", "晚于"), ">=": ("is on or after", "不早于"),
           "=": ("is", "即"), "!=": ("is not", "不是")},
}

# While a search runs, texts show its transaction as _MARK; an entry is made for a
# transaction by putting its id in place of the mark. Only ids that no text rule reads
# differently from the mark are shown so: plain characters, not starting with
# punctuation, and not one of the words labels.drop_unknown takes away before a "?"
# (other ids are searched every time). A lone surrogate cannot come from a UTF-8 file.
_MARK = "\udc00tx\udc00"
_PLAIN_ID = re.compile(r"(?!(?:for|to|in|of|at|from|by|under)$)[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True, slots=True)
class RuledOut:
    """One unavailable exception or authorization (the ``ruled_out`` entries of SCENARIOS.md).

    Attributes:
        exception: the code (AIA, ACM, LPP, NAC, ACA, UVEU, NVEU).
        citation: the provision whose condition fails, or that bars it.
        reason: one sentence in legal terms naming the decisive fact (English).
        reason_zh: the same in Chinese.
        facts: ``file:line`` of the scenario facts that decide it.
        kind: ``bar``, ``pending``, ``inapplicable`` or ``fails``.
        uncertainties: flagged uncertainties on the decisive path: of the rules tried
            and of the facts that decide them (what the argument names).
        raised: those of rules that hold on that path (the bar, the pending fact,
            the facts that decide a failing condition): what the decision depends on.
    """

    exception: str
    citation: str
    reason: str
    reason_zh: str
    facts: tuple[str, ...]
    kind: str
    uncertainties: tuple[str, ...] = ()
    raised: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Failure:
    """Where one rule stopped: the condition, the bindings before it, the facts matched."""

    rule: Rule
    at: int
    env: Env
    trail: tuple[tuple[int, tuple[str, Row] | None], ...]


@dataclass(frozen=True, slots=True)
class _Entry:
    """A ruled-out entry as a search finds it: its texts show the transaction as the
    search's mark; its facts are the given facts that name the transaction, written with
    ``slices.THIS`` for it (``linked``: those that also name other transactions, written
    with OTHER for them; ``linked_lines``: their lines for the transaction searched), and
    the (file, line) of the others."""

    exception: str
    citation: str
    reason: str
    reason_zh: str
    facts: tuple[tuple[str, Row], ...]
    linked: tuple[tuple[str, Row], ...]
    linked_lines: frozenset[tuple[str, int]]
    lines: frozenset[tuple[str, int]]
    kind: str
    uncertainties: tuple[str, ...] = ()
    raised: tuple[str, ...] = ()


class RuledOutFinder:
    """Finds why exceptions are unavailable, over one evaluated model.

    Args:
        model: an evaluated model, with provenance as decisions have it (facts that hold
            are traced to the scenario's own facts through their recorded derivations,
            which do not depend on the order the engine met them in).
        checked: the rulebook program the model was computed from.
        is_scenario_fact: whether a given fact's ``file`` is the scenario's.
        share: let transactions alike in what a search read share its result
            (``slices``); off, every transaction is searched (the same entries, slower).
    """

    def __init__(self, model: Model, checked: CheckedProgram,
                 is_scenario_fact: Callable[[str], bool], share: bool = True) -> None:
        self.model = model
        self.checked = checked
        self._txs = frozenset(r[0] for r in model.rows("tx"))
        self.reads = Reads(model, self._txs)
        self.labels = LabelBook(checked)
        self._is_scenario = is_scenario_fact
        self._files: dict[str, bool] = {}
        self._shared: Shared[_Entry] | None = Shared(self.reads, is_scenario_fact) if share else None
        self._rules: dict[str, list[Rule]] = {}
        for r in checked.rules:
            self._rules.setdefault(r.head.pred, []).append(r)
        # each rule with the positions and values of its head's constants
        self._heads = {pred: [(r, tuple((i, a.value) for i, a in enumerate(r.head.args)
                                        if isinstance(a, Const))) for r in rules]
                       for pred, rules in self._rules.items()}
        self._const_positions = {pred: sorted({i for _, consts in heads for i, _ in consts})
                                 for pred, heads in self._heads.items()}
        self._candidates_of: dict[tuple[str, tuple[Any, ...]], list[Rule]] = {}
        self._tid: Value | None = None  # the transaction being argued
        self._mark: str = ""  # how texts show it
        # per search: the scenario facts behind a fact, and the failure found for each
        # goal (a goal names its transaction, so this serves the ranking of candidate
        # rules and the chain followed down from the chosen one)
        self._leaves: dict[tuple[str, Row], frozenset[tuple[str, Row]]] = {}
        self._failures: dict[tuple[str, tuple[Any, ...]], _Failure | None] = {}
        self._derived: dict[tuple[str, Row], tuple[Rule | None, Env, tuple[tuple[str, Row], ...]]] = {}
        self._orders: dict[tuple[int, frozenset[str]], list[int]] = {}
        self._ordered: dict[int, bool] = {}
        self._item_vars: dict[int, tuple[BodyItem, set[str]]] = {}
        self._plain: dict[str, bool] = {}  # per transaction: whether texts may show it as the mark
        self._line_texts: dict[tuple[str, int], str] = {}  # "file:line"

    def ruled_out(self, tid: str, code: str) -> RuledOut:
        """Why ``code`` is not available for transaction ``tid`` (the caller knows it is not)."""
        plain = self._plain.get(tid)
        if plain is None:
            plain = self._plain[tid] = _PLAIN_ID.fullmatch(tid) is not None \
                and self.model.provenance is not None
        shared = self._shared if plain else None
        entry = shared.find(tid, code) if shared is not None else None
        if entry is not None:
            made = self._made(entry, tid)
            if made is not None:
                return made
        entry = self._search(tid, code, _MARK if plain else tid)
        if shared is not None and self.reads.shareable:
            shared.keep(tid, code, self.reads.read, entry)
        made = self._made(entry, tid, searched=True)
        assert made is not None
        return made

    def _made(self, entry: _Entry, tid: str, searched: bool = False) -> RuledOut | None:
        """The entry for ``tid``, whose search found it or not (then None when a linked
        fact has no one row for ``tid``, which the sharing's invariant rules out)."""
        en, zh = entry.reason, entry.reason_zh
        if _MARK in en:
            en = en.replace(_MARK, tid)
        if _MARK in zh:
            zh = zh.replace(_MARK, tid)
        lines: set[tuple[str, int]] | frozenset[tuple[str, int]] = entry.lines
        if entry.facts or entry.linked:
            given = self.model.given
            lines = set(lines)
            for p, row in entry.facts:
                fact = given.get((p, concrete(row, tid)))
                if fact is not None:
                    lines.add((fact.span.file, fact.span.line))
            if searched:
                lines |= entry.linked_lines
            for p, row in () if searched else entry.linked:
                own = self.reads.resolve(p, row, tid)
                if own is None:
                    return None
                fact = given.get((p, own))
                if fact is not None:
                    lines.add((fact.span.file, fact.span.line))
        texts, facts = self._line_texts, []
        for at in sorted(lines):
            text = texts.get(at)
            if text is None:
                text = texts[at] = f"{at[0]}:{at[1]}"
            facts.append(text)
        return RuledOut(entry.exception, entry.citation, en, zh, tuple(facts), entry.kind,
                        entry.uncertainties, entry.raised)

    def _search(self, tid: str, code: str, mark: str) -> _Entry:
        """Search why ``code`` is not available for ``tid``, from empty memos (its steps
        follow from what it reads), showing ``tid`` as ``mark`` in texts."""
        self._tid, self._mark = tid, mark
        self._leaves, self._failures = {}, {}
        self.reads.begin(tid)
        try:
            return self._entry(tid, code)
        finally:
            self.reads.end()
            self._tid, self._mark = None, ""

    def _entry(self, tid: str, code: str) -> _Entry:
        bar = self._holding("barred", (tid, code))
        if bar is not None:
            return self._holding_entry(code, "bar", bar)
        for row in sorted(self.reads.rows("pending", (tid, code, None)), key=repr):
            if not self.reads.holds("barred_pending", (tid, code)):
                # What decides it is a fact the transaction does not state.
                return self._holding_entry(code, "pending", ("pending", row), [("tx", (tid,))])
        if not self.reads.holds("relevant_exception", (tid, code)):
            others = sorted(self.reads.rows("relevant_exception", (tid, None)), key=repr)
            if others:
                return self._holding_entry(code, "inapplicable", ("relevant_exception", others[0]))
        return self._failed_entry(tid, code)

    # ---- texts show the transaction as the mark ---------------------------------------

    def _scenario(self, file: str) -> bool:
        got = self._files.get(file)
        if got is None:
            got = self._files[file] = self._is_scenario(file)
        return got

    def _real(self, text: str) -> str:
        return text.replace(self._mark, str(self._tid)) if self._mark else text

    def _shown(self, v: Any) -> Any:
        """``v`` as texts show it (a text that shows another transaction is not shared)."""
        if v == self._tid and isinstance(v, str):
            return self._mark
        if v in self._txs:
            self.reads.unshared()
        return v

    def _shown_env(self, env: Env) -> Env:
        if self._txs.isdisjoint(env.values()):
            return env
        return {k: self._shown(v) for k, v in env.items()}

    def _shown_row(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return row if self._txs.isdisjoint(row) else tuple(self._shown(v) for v in row)

    def _entry_facts(self, facts: Iterable[tuple[str, Row]]) -> tuple[
            tuple[tuple[str, Row], ...], tuple[tuple[str, Row], ...], frozenset[tuple[str, int]],
            frozenset[tuple[str, int]]]:
        """The facts of an entry (see ``_Entry``): those naming the transaction (and no
        other), those naming it and others and their lines, and the lines of the rest."""
        tid, given, txs = self._tid, self.model.given, self._txs
        named, linked, lines, linked_lines = [], [], set(), set()
        for p, row in facts:
            if tid in row:
                shown = relative(row, tid, txs)
                if is_relative(shown):
                    linked.append((p, shown))
                    fact = given.get((p, row))
                    if fact is not None:
                        linked_lines.add((fact.span.file, fact.span.line))
                else:
                    named.append((p, abstract(row, tid)))
            else:
                fact = given.get((p, row))
                if fact is not None:
                    lines.add((fact.span.file, fact.span.line))
        return tuple(named), tuple(linked), frozenset(linked_lines), frozenset(lines)

    # ---- an exception taken away, pending or inapplicable: a rule that holds ----------

    def _holding(self, pred: str, row: Row) -> tuple[str, Row] | None:
        return (pred, row) if self.reads.holds(pred, row) else None

    def _holding_entry(self, code: str, kind: str, fact: tuple[str, Row],
                       deciding: list[tuple[str, Row]] | None = None) -> _Entry:
        """An entry decided by a rule that holds: its label, provision and facts. The
        facts are those of its premises other than the exception's own coverage
        (``candidate``: what is barred, not why), or ``deciding`` when given."""
        rule, env, premises = self._derivation(fact)
        shown = self._shown_env(env)
        en = fill(rule.meta.en, shown) if rule is not None and rule.meta.en else ""
        zh = fill(rule.meta.zh, shown) if rule is not None and rule.meta.zh else en
        if deciding is None:
            deciding = [p for p in premises if p[0] != "candidate"] if rule is not None else [fact]
        leaves = self.scenario_leaves(deciding)
        raised = self._uncertain([], [fact])
        return _Entry(code, rule.meta.cite if rule is not None else "", en, zh,
                      *self._entry_facts(leaves), kind, raised, raised)

    def _derivation(self, fact: tuple[str, Row]) -> tuple[Rule | None, Env, tuple[tuple[str, Row], ...]]:
        """How ``fact`` was derived: its rule, bindings and premises (None for a given fact).

        The engine's recorded first derivation, which does not depend on the order sets
        iterate in (``engine.seminaive``); without provenance, the first rule (written
        order) whose body matches with the head bound, at its first match in value order.
        """
        if self.model.provenance is not None:
            d = self.reads.source(fact)[1]
            done = self._derived.get(fact)
            if done is None:
                done = self._derived[fact] = (None, {}, ()) if d is None else \
                    (self.checked.rules[d[0]], dict(d[1]), d[2])
            return done
        done = self._derived.get(fact)
        if done is not None:
            return done
        self.reads.unshared()
        out: tuple[Rule | None, Env, tuple[tuple[str, Row], ...]] = (None, {}, ())
        if fact not in self.model.given:
            for rule in self._rules.get(fact[0], ()):
                head = unify_head(rule.head, fact[1])
                if head is None:
                    continue
                found = next(iter(solutions(rule.body + head[1], head[0], self.reads)), None)
                if found is not None:
                    out = (rule, found[0], found[1])
                    break
        self._derived[fact] = out
        return out

    # ---- an exception whose every covering rule fails ---------------------------------

    def _failed_entry(self, tid: str, code: str) -> _Entry:
        top = self._best_failure("candidate", (tid, code))
        if top is None:
            en = f"no provision makes {code} available for {self._mark}"
            return _Entry(code, "", en, f"没有条款使 {code} 适用于 {self._mark}", (), (),
                          frozenset(), frozenset(), "fails")
        chain = [top]
        while len(chain) < _DEPTH:
            deeper = self._derived_failure(chain[-1])
            if deeper is None:
                break
            chain.append(deeper)
        cond_en, cond_zh = self._condition_text(chain[0], chain[1] if len(chain) > 1 else None)
        why_en, why_zh, facts, deciding = self._decisive(chain[-1])
        item = top.rule.body[top.at]
        if isinstance(item, Literal) and item.negated and why_en:
            # A fact that takes the exception away holds: its own words are the reason.
            en, zh = why_en, why_zh
        elif why_en and self._real(why_en) != self._real(cond_en):
            # The condition is framed as a requirement, never stated as if it held.
            en = f"requires that {cond_en}; here, {why_en}"
            zh = f"{_spaced('要求', cond_zh)}；{_spaced('而', why_zh)}"
        else:
            en = f"requires that {cond_en}, which is not established"
            zh = f"{_spaced('要求', cond_zh)}，而这一点未得到确立"
        # The bindings matched before the decisive condition count too: they are the
        # facts the failing test was applied to.
        facts |= self._bound_leaves(chain[-1])
        raised = self._uncertain([], deciding)
        # The covering rule's own flags concern what it grants, which is not drawn here;
        # the rules below it decided the failure.
        return _Entry(code, top.rule.meta.cite, en, zh, *self._entry_facts(facts), "fails",
                      self._uncertain([f.rule for f in chain[1:]], deciding), raised)

    def _best_failure(self, pred: str, pattern: tuple[Any, ...]) -> _Failure | None:
        """The failure of the rule for ``pred(pattern)`` whose conditions held longest."""
        key = (pred, pattern)
        if key in self._failures:
            return self._failures[key]
        if any(v != self._tid and v in self._txs for v in pattern if v is not None):
            self.reads.unshared()  # rules whose head constants another transaction may equal
        self._failures[key] = found = self._find_failure(pred, pattern)
        return found

    def _find_failure(self, pred: str, pattern: tuple[Any, ...]) -> _Failure | None:
        best: _Failure | None = None
        for rule in self._candidates(pred, pattern):
            head = unify_head(rule.head, pattern)
            if head is None:
                continue
            found = self._attempt(rule, head[0], head[1])
            if found is not None and (best is None or self._rank(found) > self._rank(best)):
                best = found
        return best

    def _candidates(self, pred: str, pattern: tuple[Any, ...]) -> list[Rule]:
        """The rules for ``pred`` whose head constants do not differ from ``pattern``'s
        values (``unify_head`` decides for the others)."""
        positions = self._const_positions.get(pred, ())
        key = (pred, tuple([pattern[i] for i in positions]))
        got = self._candidates_of.get(key)
        if got is None:
            got = self._candidates_of[key] = [
                rule for rule, consts in self._heads.get(pred, ())
                if not any(pattern[i] is not None and pattern[i] != c for i, c in consts)]
        return got

    def _rank(self, f: _Failure) -> tuple[bool, int]:
        """Rules written for another kind of transaction come last (e.g. the chip rule of
        AIA for model weights: followed down, it fails at an input fact about the
        transaction, such as its item, that the transaction has none of); then the rule
        whose conditions held longest."""
        deepest, depth = f, 0
        while depth < _DEPTH:
            deeper = self._derived_failure(deepest)
            if deeper is None:
                break
            deepest, depth = deeper, depth + 1
        item = deepest.rule.body[deepest.at]
        other_kind = False
        if isinstance(item, Literal) and not item.negated and item.atom.pred not in self._rules:
            values = instantiate(item.atom, deepest.env)
            if values and values[0] is not None:
                other_kind = not self.reads.rows(
                    item.atom.pred, (values[0],) + tuple(None for _ in values[1:]))
        return (not other_kind, len(f.trail))

    def _attempt(self, rule: Rule, env: Env, checks: tuple[Comparison, ...]) -> _Failure | None:
        body = rule.body + checks
        key = (id(rule), frozenset(env))
        order = self._orders.get(key)
        if order is None:
            order = self._orders[key] = written_order(body, set(env))
        frontier: list[tuple[Env, tuple[tuple[int, tuple[str, Row] | None], ...]]] = [(env, ())]
        for i in order:
            if self._ordering(body[i], i < len(rule.body)):
                self._unshare_if_bound(body[i], frontier)
            if not isinstance(body[i], Literal):
                self._unshare_if_other(body[i], frontier)
            nxt: list[tuple[Env, tuple[tuple[int, tuple[str, Row] | None], ...]]] = []
            for cur, trail in frontier:
                for new, match in step(body[i], cur, self.reads):
                    nxt.append((new, trail + ((i, match),)))
                    if len(nxt) >= _PARTIAL_CAP:
                        break
                if len(nxt) >= _PARTIAL_CAP:
                    break
            if not nxt:
                cur, trail = frontier[0]
                return _Failure(Rule(rule.head, body, rule.meta, rule.span), i, cur, trail)
            frontier = nxt
        return None  # every condition holds: the goal holds (the caller said it does not)

    def _ordering(self, item: BodyItem, written: bool) -> bool:
        """Whether ``item`` orders values (a comparison other than = and !=, min, max or an
        aggregate): the one way two transactions' searches could go apart (``slices``)."""
        got = self._ordered.get(id(item)) if written else None
        if got is None:
            if isinstance(item, Aggregate):
                got = True
            elif isinstance(item, Comparison):
                got = item.op not in ("=", "!=") or _orders_terms((item.left, item.right))
            else:
                got = _orders_terms(item.atom.args)
            if written:  # a rule's own condition, which lives as long as the rulebook
                self._ordered[id(item)] = got
        return got

    def _unshare_if_bound(self, item: BodyItem, frontier: list[tuple[Env, Any]]) -> None:
        """Unshare the search if ``item`` orders the transaction (an aggregate: if it is
        bound at all, since the aggregate's own conditions may order it)."""
        tid = self._tid
        if tid is None:
            return
        names = None if isinstance(item, Aggregate) else self._vars(item)
        for env, _ in frontier:
            if tid in env.values() if names is None else any(env.get(n) == tid for n in names):
                self.reads.unshared()
                return

    def _unshare_if_other(self, item: BodyItem, frontier: list[tuple[Env, Any]]) -> None:
        """Unshare the search if the comparison or aggregate ``item`` reads a value that
        names another transaction (``slices``: only its being one may count)."""
        names, tid, txs = self._vars(item), self._tid, self._txs
        for env, _ in frontier:
            for n in names:
                v = env.get(n)
                if v is not None and v != tid and v in txs:
                    self.reads.unshared()
                    return

    def _derived_failure(self, f: _Failure) -> _Failure | None:
        """The failure one level down, when ``f`` stopped at a positive derived condition."""
        item = f.rule.body[f.at]
        if not isinstance(item, Literal) or item.negated or item.atom.pred not in self._rules:
            return None
        pattern = instantiate(item.atom, f.env)
        if pattern is None or self.reads.rows(item.atom.pred, pattern):
            return None
        return self._best_failure(item.atom.pred, pattern)

    # ---- texts and facts -----------------------------------------------------------------

    def _condition_text(self, f: _Failure, below: _Failure | None) -> tuple[str, str]:
        """The failing condition of the covering rule, in words; ``below`` is the failure
        of that condition's own best rule, whose bindings fill its label."""
        item = f.rule.body[f.at]
        if isinstance(item, Literal):
            pattern = instantiate(item.atom, f.env) or tuple(None for _ in item.atom.args)
            en, zh = self.atom_text(item.atom.pred, pattern)
            if below is not None and below.rule.meta.en and (not en or UNKNOWN in en):
                m = below.rule.meta
                shown = self._shown_env(below.env)
                en, zh = fill(m.en, shown), fill(m.zh or m.en, shown)
            en, zh = drop_unknown(en), drop_unknown(zh)
            if item.negated:
                return f"that it is not the case that {en}", f"并非{zh}"
            return en, zh
        # A comparison or aggregate: the rule's own label says what it tests.
        m = f.rule.meta
        env = dict(f.env)
        if isinstance(item, Comparison):
            target = assigned_var(item, env)
            if target is None:
                env.update(self._sides(item, env))
        env = self._shown_env(env)
        en = fill(m.en, env) if m.en else item_text(item, self._shown_env(f.env))
        zh = fill(m.zh, env) if m.zh else en
        return en, zh

    def _sides(self, cmp: Comparison, env: Env) -> dict[str, Any]:
        return {t.name: eval_term(t, env) for t in (cmp.left, cmp.right)
                if isinstance(t, Var) and t.name not in env}

    def _decisive(self, f: _Failure) -> tuple[str, str, set[tuple[str, Row]], list[tuple[str, Row]]]:
        """What decides the failing condition: a sentence, the scenario facts behind it and
        the facts (given or derived) that decide it."""
        item = f.rule.body[f.at]
        if isinstance(item, Literal) and item.negated:
            rows = negation_blockers(item.atom, f.env, self.reads)
            if rows:
                blocker = (item.atom.pred, rows[0])
                en, zh = self.atom_text(*blocker)
                rule, env, _ = self._derivation(blocker)
                if rule is not None and rule.meta.en:
                    env = self._shown_env(env)
                    en = fill(rule.meta.en, env)
                    zh = fill(rule.meta.zh, env) if rule.meta.zh else en
                return en, zh, set(self.scenario_leaves([blocker])), [blocker]
            return "", "", set(), []
        if isinstance(item, Literal):
            pattern = instantiate(item.atom, f.env)
            found = self._contrary(item.atom.pred, pattern) if pattern is not None else []
            if found:
                texts = [self.atom_text(*c) for c in found]
                return ("the scenario states: " + "; ".join(t[0] for t in texts),
                        "情形所述：" + "；".join(t[1] for t in texts),
                        set(self.scenario_leaves(found)), found)
            return "", "", set(), []
        if isinstance(item, Comparison) and assigned_var(item, f.env) is None:
            a, b = eval_term(item.left, f.env), eval_term(item.right, f.env)
            if a is not FAIL and b is not FAIL:
                a, b = self._shown(a), self._shown(b)
                words = _COMPARED[isinstance(a, date) and isinstance(b, date)]
                en, zh = words[_NEGATED_OP[item.op]]
                return (f"{readable(a)} {en} {readable(b)}", f"{readable(a)} {zh} {readable(b)}",
                        set(), [])
        return "", "", set(), []

    def _contrary(self, pred: str, pattern: tuple[Any, ...]) -> list[tuple[str, Row]]:
        """Facts of ``pred`` that differ from ``pattern`` in its last bound position:
        what the scenario states instead (e.g. datacenter "yes" where "no" is needed)."""
        bound = [i for i, v in enumerate(pattern) if v is not None]
        if len(bound) < 2:
            return []
        looser = tuple(None if i == bound[-1] else v for i, v in enumerate(pattern))
        rows = sorted(self.reads.rows(pred, looser), key=repr)
        # Only what the scenario itself states counts as "stated instead".
        return [(pred, r) for r in rows if self._leaves_of((pred, r))][:_CONTRARY_CAP]

    def _bound_leaves(self, f: _Failure) -> set[tuple[str, Row]]:
        """The scenario facts behind the matched conditions that bound a variable of the
        failing condition."""
        item = f.rule.body[f.at]
        wanted = self._vars(item)
        matched = []
        for i, match in f.trail:
            if match is not None and self._vars(f.rule.body[i]) & wanted:
                matched.append(match)
        return set(self.scenario_leaves(matched))

    def _vars(self, item: BodyItem) -> set[str]:
        got = self._item_vars.get(id(item))
        if got is None or got[0] is not item:  # (the item is kept, so its id stays its own)
            got = self._item_vars[id(item)] = (item, variables(item))
        return got[1]

    def atom_text(self, pred: str, row: tuple[Any, ...]) -> tuple[str, str]:
        """An atom in words: its label, else the label of its first rule, else the atom
        (the transaction being argued shown as the search's mark)."""
        en, zh = self.labels.atom(pred, self._shown_row(row))
        if en:
            return en, zh or en
        for rule in self._rules.get(pred, ()):
            head = unify_head(rule.head, row)
            if head is not None and rule.meta.en:
                env = self._shown_env(head[0])
                return fill(rule.meta.en, env), fill(rule.meta.zh, env) if rule.meta.zh else ""
        row = self._shown_row(row)
        for rule in self._rules.get(pred, ()):
            # Labelled facts (e.g. the ACM end uses): their one placeholder names the value;
            # a label without one describes the accepted values, and the value is not one.
            names = sorted(set(_PLACEHOLDER.findall(rule.meta.en)))
            if len(row) == 1 and rule.meta.en and len(names) <= 1:
                if names:
                    env = {names[0]: row[0]}
                    return fill(rule.meta.en, env), fill(rule.meta.zh or rule.meta.en, env)
                value = readable(row[0])
                return (f"{rule.meta.en} ({value} is not one)",
                        f"{rule.meta.zh or rule.meta.en}（{value} 不在其中）")
        shown = ", ".join(readable(v) for v in row)
        return f"{pred.replace('_', ' ')} ({shown})", f"{pred.replace('_', ' ')}（{shown}）"

    def scenario_leaves(self, facts: Iterable[tuple[str, Row]]) -> frozenset[tuple[str, Row]]:
        """The scenario's own given facts that ``facts`` rest on (first derivations)."""
        out: set[tuple[str, Row]] = set()
        for fact in facts:
            out |= self._leaves_of(fact)
        return frozenset(out)

    def _foreign(self, fact: tuple[str, Row]) -> bool:
        """A fact about another transaction (an earlier shipment behind an LPP total): the
        argument names this transaction's facts; the others are summed in its reason."""
        row = fact[1]
        return bool(row) and row[0] != self._tid and row[0] in self._txs \
            and isinstance(row[0], str)

    def _leaves_of(self, fact: tuple[str, Row]) -> frozenset[tuple[str, Row]]:
        done = self._leaves.get(fact)
        if done is not None:
            return done
        source, tid, txs = self.reads.source, self._tid, self._txs
        stack, seen, out = [fact], {fact}, set()
        while stack:
            k = stack.pop()
            row = k[1]
            if row and row[0] != tid and row[0] in txs and isinstance(row[0], str):
                continue  # another transaction's (``_foreign``)
            given, d = source(k)
            if given is not None:
                if self._scenario(given.span.file):
                    out.add(k)
                continue
            if self.model.provenance is None:
                premises = self._derivation(k)[2]
            else:
                premises = d[2] if d is not None else ()
            for p in premises:
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
        self._leaves[fact] = done = frozenset(out)
        return done

    def sources(self, facts: Iterable[tuple[str, Row]]) -> tuple[str, ...]:
        """``file:line`` of given facts, in file order."""
        given = self.model.given
        lines = set()
        for f in facts:
            fact = given.get(f)
            if fact is not None:
                lines.add((fact.span.file, fact.span.line))
        return tuple(f"{file}:{line}" for file, line in sorted(lines))

    def _uncertain(self, rules: Iterable[Rule], facts: Iterable[tuple[str, Row]]) -> tuple[str, ...]:
        ids = {u for r in rules for u in r.meta.uncertain}
        stack, seen = list(facts), set()
        while stack:
            k = stack.pop()
            if k in seen or self._foreign(k):
                continue
            seen.add(k)
            rule, _, premises = self._derivation(k)
            if rule is not None:
                ids.update(rule.meta.uncertain)
                stack.extend(premises)
        return tuple(sorted(ids))


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _orders_terms(terms: Iterable[Term]) -> bool:
    for t in terms:
        if isinstance(t, Call) and (t.fn in ("max", "min") or _orders_terms(t.args)):
            return True
    return False


def _spaced(words: str, text: str) -> str:
    """Chinese ``words`` followed by ``text``, with the space Chinese typesetting puts
    before a Latin letter or digit (要求 tx1 …, not 要求tx1 …); the mark stands for a plain id."""
    latin = text.startswith(_MARK) or (text[:1].isascii() and text[:1].isalnum())
    return f"{words} {text}" if latin else words + text
