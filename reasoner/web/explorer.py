"""The trainer's explorer: decide an edited scenario, highlight what changed in its proof, show rule interplay.

The explorer's states and answers are one job, kept in one module though it runs past 500 lines.
"""

# What the explorer's HTTP layer (server.py) calls; everything here takes and
# returns plain data or bytes, and nothing here reads sockets or prints.
#
# * A decided form is a *state*, keyed by the sha256 of its YAML text (the same
#   facts give the same key) and kept in a small LRU cache, so that switching
#   transactions, downloads and rule look-ups reuse one evaluation.
# * Highlight: the nodes of the shown proof whose content-hash ids the previous
#   graph (same transaction, previous state) lacks. With ``reasoner.proofdiff``
#   the steps are matched as ``earlog diff`` does (appeared / changed, plus the
#   decision fields that changed); without it, or when the previous state has
#   left the cache, the page's own list of previous node ids is subtracted.
# * "Fired for a transaction" (rule-interplay view): a rule fired for T when it
#   produced the first derivation of some fact in the provenance closure of T's
#   derived facts (every derived fact whose first argument is T, then the
#   premises those derivations used, recursively). That includes rules about the
#   consignee's parent chain that T's conclusions rest on, and leaves out rules
#   that merely could match.

from __future__ import annotations

import collections
import difflib
import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import networkx as nx
import pycountry

from reasoner.law.decision import ScenarioDecisions, decide, decision_json
from reasoner.lang.errors import EarlogError, QueryError
from reasoner.proof.explanation import explain_transaction, explanation_graph
from reasoner.render.argument import explanation_view
from reasoner.web.formdata import (FORM_FILE, LineMap, document_yaml, empty_document, field_errors,
                       scenario_document)
from reasoner.lang.labels import LANGS
from reasoner.proof.graph import to_graph
from reasoner.law.receipt import command_line, display_path, make_receipt
from reasoner.render import DEFAULT, to_dot, to_graphml, to_image, to_json
from reasoner.render.highlight import HIGHLIGHT, RULE_HIGHLIGHT, highlight_dot
from reasoner.law.rulebook import load_rulebook
from reasoner.proof.rulegraph import rule_graph, rules_dot
from reasoner.proof.rulemap import element_map, element_map_dot
from reasoner.law.scenario import (DESIGNERS, END_USES, EXTRA_COUNTRIES, REGIMES, TX_TYPES, VEU_TYPES,
                       Scenario, load_scenario, parse_scenario)

try:  # proof diffs are optional: without them, highlights come from node-id differences
    from reasoner.proof.diff import diff_decisions, field_changes
    HAVE_PROOFDIFF = True
except ImportError:  # pragma: no cover - depends on the build
    HAVE_PROOFDIFF = False

MEMO_FORMATS: tuple[str, ...]
try:
    from reasoner.tools.memo.document import build_memo
    from reasoner.tools.memo.markdown import memo_md
    MEMO_FORMATS = ("md",)
    MEMO_UNAVAILABLE = ""
except ImportError as _exc:  # pragma: no cover - depends on the build
    MEMO_FORMATS = ()
    MEMO_UNAVAILABLE = f"memos are not available in this build of earlog ({_exc})"
if MEMO_FORMATS:
    try:
        from reasoner.tools.memo.docx import memo_docx
        MEMO_FORMATS = ("md", "docx")
    except ImportError as _exc:  # pragma: no cover - python-docx missing
        MEMO_UNAVAILABLE = f"DOCX memos need python-docx ({_exc})"

__all__ = [
    "Explorer",
    "ExplorerState",
    "PROOF_FORMATS",
    "MEMO_FORMATS",
    "MEMO_UNAVAILABLE",
    "HAVE_PROOFDIFF",
    "DEFAULT_FOCUS",
    "choices",
    "fired_rules",
    "focused_rule_graph",
]

PROOF_FORMATS = {"svg": "image/svg+xml", "dot": "text/vnd.graphviz; charset=utf-8",
                 "graphml": "application/xml; charset=utf-8",
                 "json": "application/json; charset=utf-8"}
_MEMO_TYPES = {"md": "text/markdown; charset=utf-8",
               "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}

# The rule-interplay view starts from the element map (focus ""); a focus predicate
# shows the full rule graph around it, ``depth`` rule layers up.
DEFAULT_FOCUS = ""
_BUNDLED = Path(__file__).resolve().parents[2] / "facts" / "scenarios" / "aia-tier1.yaml"
DEFAULT_DEPTH = 2
MAX_DEPTH = 12


def choices(scenario: Scenario | None = None, regime: str = "ifr") -> dict[str, Any]:
    """The form's fixed choices: countries, ECCNs, transaction types, end uses, and so on.

    ECCNs are those of the reference facts' covered lists (``covered_a``,
    ``covered_b``) plus the scenario's own.
    """
    countries = [{"code": c.alpha_2, "name": getattr(c, "common_name", None) or c.name}
                 for c in pycountry.countries]
    countries += [{"code": k, "name": v} for k, v in EXTRA_COUNTRIES.items()]
    countries.sort(key=lambda c: c["code"])
    checked = load_rulebook(regime).checked
    eccns = {str(f.values[0]) for f in checked.program.facts
             if f.pred in ("covered_a", "covered_b") and f.values}
    if scenario is not None:
        eccns |= {i.eccn for i in scenario.items}
    return {"countries": countries, "eccns": sorted(eccns), "tx_types": list(TX_TYPES),
            "end_uses": list(END_USES), "designers": list(DESIGNERS), "veu_types": list(VEU_TYPES),
            "regimes": list(REGIMES), "langs": list(LANGS)}


def fired_rules(result: ScenarioDecisions) -> dict[str, frozenset[str]]:
    """For each transaction, the rule-graph node ids (``r:<id>``) of the rules that fired for it.

    See the module comment for the definition (provenance closure of the
    transaction's derived facts).
    """
    model, rules = result.model, result.rulebook.checked.rules
    prov = model.provenance or {}
    tids = {t.id for t in result.scenario.transactions}
    roots: dict[str, list[tuple[str, tuple[Any, ...]]]] = {t: [] for t in tids}
    for key in prov:
        row = key[1]
        if row and isinstance(row[0], str) and row[0] in tids:
            roots[row[0]].append(key)
    out = {}
    for tid, start in roots.items():
        seen = set(start)
        stack = list(start)
        fired: set[str] = set()
        while stack:
            d = prov.get(stack.pop())
            if d is None:
                continue
            rule = rules[d.rule]
            fired.add(f"r:{rule.id or d.rule}")
            for premise in d.premises:
                if premise not in seen:
                    seen.add(premise)
                    stack.append(premise)
        out[tid] = frozenset(fired)
    return out


def focused_rule_graph(g: nx.DiGraph, focus: str, depth: int) -> nx.DiGraph:
    """What ``focus`` depends on, at most ``depth`` rule layers up (0: everything).

    Raises:
        QueryError: no such predicate (with a did-you-mean).
    """
    node = f"p:{focus}"
    if node not in g:
        names = sorted(d["name"] for _, d in g.nodes(data=True) if d["kind"] != "rule")
        close = difflib.get_close_matches(focus, names, n=1)
        raise QueryError(f"unknown predicate '{focus}'",
                         hint=f"did you mean '{close[0]}'?" if close else "pick one from the list")
    if depth <= 0:
        keep = nx.ancestors(g, node) | {node}
    else:
        keep = set(nx.single_source_shortest_path_length(g.reverse(copy=False), node,
                                                         cutoff=2 * depth))
    return g.subgraph(keep).copy()


@dataclass
class ExplorerState:
    """One decided form: its YAML text, scenario, decisions and lazily built proofs."""

    key: str
    text: str
    lines: LineMap
    result: ScenarioDecisions
    graphs: dict[tuple[str, str], nx.DiGraph] = field(default_factory=dict)
    fired: dict[str, frozenset[str]] | None = None
    questions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def graph(self, tx: str, view: str = "argument") -> nx.DiGraph:
        """The graph of ``tx`` in one of ``VIEWS``: the argument (default), the proof of its
        outcome, or that proof with each ruled-out exception's why-not (``explanation_graph``;
        its node ids are those of the proof).

        Raises:
            QueryError: no such transaction.
        """
        key = (tx, view)
        if key not in self.graphs:
            expl = explain_transaction(self.result, tx)
            if view == "argument":
                self.graphs[key] = explanation_view(self.result, expl)[1]
            else:
                self.graphs[key] = explanation_graph(expl) if view == "explain" else to_graph(expl.proof)
        return self.graphs[key]

    def fired_for(self, tx: str) -> frozenset[str]:
        """Rule-graph ids of the rules that fired for ``tx`` (empty for an unknown id)."""
        if self.fired is None:
            self.fired = fired_rules(self.result)
        return self.fired.get(tx, frozenset())


class Explorer:
    """The explorer's operations over a cache of decided states.

    Methods are safe to call from several threads: evaluation is serialised.

    Args:
        document: the form's starting document.
        source: where it came from (a path, or ``template``), shown on the page.
        scenario: the validated scenario the document came from, if any (its ECCNs
            join the choices).
        max_states: how many decided states to keep.
    """

    def __init__(self, document: Mapping[str, Any], source: str = "template",
                 scenario: Scenario | None = None, max_states: int = 128) -> None:
        self.document = dict(document)
        self.source = source
        self.scenario = scenario
        self.max_states = max_states
        self._states: collections.OrderedDict[str, ExplorerState] = collections.OrderedDict()
        self._rule_graphs: dict[str, nx.DiGraph] = {}
        self._rule_maps: dict[str, nx.DiGraph] = {}
        self._lock = threading.RLock()

    @classmethod
    def from_path(cls, path: str | None) -> Explorer:
        """An explorer starting from a scenario file, else from the bundled
        ``facts/scenarios/aia-tier1.yaml``, else from ``formdata.empty_document()``.

        Raises:
            ScenarioError, CheckFailed: the file does not validate.
        """
        if path is None and _BUNDLED.is_file():
            path = str(_BUNDLED)
        if path is None:
            return cls(empty_document(), "template")
        scenario = load_scenario(path)
        return cls(scenario_document(scenario), display_path(path), scenario)

    def warm(self) -> None:
        """Load the rulebook and decide the starting document, so the first page load is quick."""
        self.initial()
        self.decide({"document": self.document})

    # ---- start ---------------------------------------------------------------------

    def initial(self) -> dict[str, Any]:
        """What the page starts from: the document, the choices, and what is available."""
        regime = str(self.document.get("regime") or "ifr")
        with self._lock:
            ch = choices(self.scenario, regime if regime in REGIMES else "ifr")
        return {"document": self.document, "source": self.source, "choices": ch,
                "memo": {"formats": list(MEMO_FORMATS), "reason": MEMO_UNAVAILABLE},
                "proof_formats": list(PROOF_FORMATS), "proofdiff": HAVE_PROOFDIFF,
                "rules": {"focus": DEFAULT_FOCUS, "depth": DEFAULT_DEPTH}}

    # ---- deciding ------------------------------------------------------------------

    def decide(self, request: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """Validate and decide an edited document; explain the chosen transaction.

        Args:
            request: ``{"document": {...}, "transaction": id?, "lang": "en"|"zh",
                "level": "argument"|"proof"|"explain"?, "previous": {"state",
                "transaction", "nodes": [...]}?}``; the level is one of ``VIEWS``
                (``"whynots": true`` still asks for ``explain``).

        Returns:
            (200, decisions + proof) or (422, ``{"ok": false, "errors": [...]}``)
            with each validation problem placed on a form field.

        Raises:
            EarlogError: a malformed request (not a validation problem).
        """
        doc = request.get("document")
        if not isinstance(doc, Mapping):
            raise EarlogError("expected 'document': the scenario as a JSON object",
                              hint="POST {\"document\": {...}, \"transaction\": \"tx1\"}")
        lang = _lang(request.get("lang"))
        view = _view(request.get("level"), request.get("whynots") is True)
        text, lines = document_yaml(doc)
        try:
            state = self._state(text, lines)
        except EarlogError as exc:
            if exc.code != "scenario_invalid":
                raise
            return 422, {"ok": False, "errors": [e.to_dict() for e in field_errors(exc, lines)],
                         "yaml": text}
        tids = [d.transaction for d in state.result.decisions]
        tx = request.get("transaction")
        tx = tx if isinstance(tx, str) and tx in tids else (tids[0] if tids else None)
        payload = decision_json(state.result)
        out: dict[str, Any] = {"ok": True, "state": state.key, "scenario": payload["scenario"],
                               "regime": payload["regime"], "rulebook": payload["rulebook"],
                               "decisions": payload["decisions"], "transaction": tx, "proof": None}
        if tx is not None:
            prev = request.get("previous")
            out["proof"] = self._proof_view(state, tx, lang, view,
                                            prev if isinstance(prev, Mapping) else None)
        return 200, out

    def _state(self, text: str, lines: LineMap) -> ExplorerState:
        key = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
        with self._lock:
            state = self._states.get(key)
            if state is None:
                scenario = parse_scenario(text, FORM_FILE)
                state = ExplorerState(key, text, lines, decide(scenario))
                self._states[key] = state
                while len(self._states) > self.max_states:
                    self._states.popitem(last=False)
            self._states.move_to_end(key)
            return state

    def state(self, key: Any) -> ExplorerState:
        """A decided state by key.

        Raises:
            QueryError: unknown or no longer cached (decide again).
        """
        with self._lock:
            state = self._states.get(key) if isinstance(key, str) else None
        if state is None:
            raise QueryError(f"no decided scenario '{key}' (it may have left the cache)",
                             hint="change a fact or reload the page to decide again")
        return state

    def _proof_view(self, state: ExplorerState, tx: str, lang: str, view: str,
                    prev: Mapping[str, Any] | None) -> dict[str, Any]:
        with self._lock:
            graph = state.graph(tx, view)
            statuses, steps, changes, method = self._compare(state, tx, view, prev)
        dot = highlight_dot(to_dot(graph, DEFAULT, lang=lang), statuses, HIGHLIGHT)
        return {"svg": to_image(dot, "svg").decode("utf-8"), "nodes": list(graph.nodes), "level": view,
                "highlight": statuses, "steps": steps, "changes": changes, "method": method,
                "compared_with": prev.get("state") if prev and method else None}

    def _compare(self, state: ExplorerState, tx: str, view: str,
                 prev: Mapping[str, Any] | None
                 ) -> tuple[dict[str, str], list[dict[str, str]], list[dict[str, Any]], str | None]:
        """Statuses of the shown nodes new since ``prev`` (same transaction only), the
        steps that appeared or disappeared among the shown ones, and the decision
        fields that changed (these two when the previous state is still cached)."""
        graph = state.graph(tx, view)
        if not prev or prev.get("transaction") != tx:
            return {}, [], [], None
        key = prev.get("state")
        before = self._states.get(key) if isinstance(key, str) else None
        if before is state:
            return {}, [], [], None
        old_d = next((d for d in before.result.decisions if d.transaction == tx), None) \
            if before is not None else None
        new_d = next(d for d in state.result.decisions if d.transaction == tx)
        changes = [{"field": f.name, "before": _jsonable(f.before), "after": _jsonable(f.after)}
                   for f in field_changes(old_d, new_d)] if HAVE_PROOFDIFF and old_d else []
        # a proof diff matches derivation steps; an argument's statements go by id below
        if HAVE_PROOFDIFF and old_d is not None and before is not None and view != "argument":
            diff = diff_decisions(before.result, state.result, [tx], level="full").transactions[0]
            statuses = {n: d["status"] for n, d in diff.graph.nodes(data=True)
                        if d["status"] in ("appeared", "changed") and n in graph}
            shown = {"appeared": graph, "disappeared": before.graph(tx, view)}
            steps = [{"status": s.status, "kind": s.kind, "label_en": s.label_en,
                      "label_zh": s.label_zh, "cite": s.cite} for s in diff.steps
                     if s.node in shown[s.status]]
            return statuses, steps, changes, "proofdiff"
        same_tx = old_d is not None
        nodes = list(before.graph(tx, view).nodes) if same_tx and before is not None \
            else prev.get("nodes")
        if not isinstance(nodes, list):
            return {}, [], changes, None
        old = {n for n in nodes if isinstance(n, str)}
        statuses = {n: "appeared" for n in graph if n not in old}
        steps = [{"status": "appeared", "kind": graph.nodes[n]["kind"],
                  "label_en": graph.nodes[n]["label_en"], "label_zh": graph.nodes[n]["label_zh"],
                  "cite": graph.nodes[n]["cite"]} for n in statuses]
        return statuses, steps, changes, "statements" if view == "argument" else "node-ids"

    # ---- downloads -----------------------------------------------------------------

    def proof_file(self, key: Any, tx: Any, fmt: str, lang: str = "en",
                   whynots: bool = False, level: Any = None) -> tuple[bytes, str, str]:
        """The graph of ``tx`` in state ``key`` as a file: (bytes, content type, file name);
        ``level`` is one of ``VIEWS`` (``whynots``: the explain view, for old links).

        Raises:
            QueryError: unknown state or transaction. EarlogError: unknown format.
            RenderError: Graphviz failed.
        """
        if fmt not in PROOF_FORMATS:
            raise EarlogError(f"unknown proof format '{fmt}'",
                              hint="formats: " + ", ".join(PROOF_FORMATS))
        lang = _lang(lang)
        state = self.state(key)
        tid = self._tx(state, tx)
        view = _view(level, whynots)
        with self._lock:
            graph = state.graph(tid, view)
        name = f"{state.result.scenario.id}-{tid}-{view}.{fmt}"
        if fmt == "json":
            d = next(d for d in state.result.decisions if d.transaction == tid)
            options = {"--format": "json", "--regime": state.result.rulebook.regime}
            if view != "argument":
                options["--level"] = "full"
            command = (command_line("explain", [FORM_FILE, tid], options) if view != "proof" else
                       command_line("why", [FORM_FILE, f'outcome("{tid}", "{d.outcome}")'],
                                    options))
            receipt = make_receipt(state.result, command, [d]).to_dict()
            return to_json(graph, receipt).encode("utf-8"), PROOF_FORMATS[fmt], name
        if fmt == "graphml":
            return to_graphml(graph).encode("utf-8"), PROOF_FORMATS[fmt], name
        dot = to_dot(graph, DEFAULT, lang=lang)
        data = dot.encode("utf-8") if fmt == "dot" else to_image(dot, "svg")
        return data, PROOF_FORMATS[fmt], name

    def memo_file(self, key: Any, tx: Any, fmt: str, lang: str = "en") -> tuple[bytes, str, str]:
        """The IRAC memo of ``tx`` in state ``key``: (bytes, content type, file name).

        Raises:
            EarlogError: memos unavailable in this build, or unknown format.
            QueryError: unknown state or transaction.
        """
        if fmt not in MEMO_FORMATS:
            raise EarlogError(f"memo format '{fmt}' is not available",
                              hint=MEMO_UNAVAILABLE or "formats: " + ", ".join(MEMO_FORMATS))
        lang = _lang(lang)
        state = self.state(key)
        tid = self._tx(state, tx)
        command = command_line("memo", [FORM_FILE, tid], {
            "--format": fmt, "--lang": lang, "--regime": state.result.rulebook.regime,
            "-o": f"memo.{fmt}" if fmt == "docx" else None})
        with self._lock:
            memo = build_memo(state.result, explain_transaction(state.result, tid), command, lang)
        data = memo_docx([memo]) if fmt == "docx" else memo_md([memo]).encode("utf-8")
        return data, _MEMO_TYPES[fmt], f"{state.result.scenario.id}-{tid}-memo.{fmt}"

    def scenario_file(self, key: Any) -> tuple[bytes, str, str]:
        """The decided form as scenario YAML (what the receipts' commands read as ``explorer.yaml``)."""
        state = self.state(key)
        return state.text.encode("utf-8"), "application/yaml; charset=utf-8", FORM_FILE

    def questions(self, key: Any, tx: Any, lang: str = "en") -> dict[str, Any]:
        """The questions that would change ``tx``'s decision (``earlog interview``'s
        analysis of the form's scenario): each unstated field whose answers lead to
        different outcomes, best first, with what each group of answers leads to.

        Raises:
            QueryError: unknown state or transaction.
        """
        from reasoner.tools.interview.analysis import analyse
        from reasoner.tools.interview.draft import load_draft
        from reasoner.tools.interview.session import answer_help
        from reasoner.tools.interview.text import consequence_lines

        state = self.state(key)
        tid = self._tx(state, tx)
        lang = _lang(lang)
        with self._lock:
            got = state.questions.get((tid, lang))
            if got is None:
                a = analyse(load_draft(state.text, FORM_FILE), tid, lang=lang)
                got = {"transaction": tid, "settled": a.settled, "possible": list(a.possible),
                       "considered": [s.name for s in a.considered], "variants": a.variants,
                       "questions": [
                           {"field": q.slot.name, "question": q.text, "score": round(q.score, 3),
                            "answer": answer_help(q.slot),
                            "leads_to": [{"answers": ln.split("\u2192")[0].strip(),
                                          "verdict": ln.split("\u2192")[1].strip()}
                                         for ln in consequence_lines(q)]}
                           for q in a.questions]}
                state.questions[(tid, lang)] = got
        return got

    @staticmethod
    def _tx(state: ExplorerState, tx: Any) -> str:
        tids = [d.transaction for d in state.result.decisions]
        if not isinstance(tx, str) or tx not in tids:
            raise QueryError(f"no transaction '{tx}' in scenario '{state.result.scenario.id}'",
                             hint="transactions: " + ", ".join(tids))
        return tx

    # ---- rule interplay ------------------------------------------------------------

    def _rules(self, regime: str) -> nx.DiGraph:
        if regime not in REGIMES:
            raise EarlogError(f"unknown regime '{regime}'", hint="regimes: " + ", ".join(REGIMES))
        with self._lock:
            if regime not in self._rule_graphs:
                self._rule_graphs[regime] = rule_graph(load_rulebook(regime).checked)
            return self._rule_graphs[regime]

    def _rule_map(self, regime: str) -> nx.DiGraph:
        self._rules(regime)  # checks the regime
        with self._lock:
            if regime not in self._rule_maps:
                self._rule_maps[regime] = element_map(load_rulebook(regime).checked)
            return self._rule_maps[regime]

    def rules_view(self, focus: str = DEFAULT_FOCUS, depth: int = DEFAULT_DEPTH, lang: str = "en",
                   key: Any = None, tx: Any = None, regime: str = "ifr") -> dict[str, Any]:
        """The element map (no ``focus``) or the rule dependency graph around ``focus``, as
        SVG, with what fired for ``tx`` highlighted.

        Args:
            focus: "" for the element map; else a predicate: the full graph of what it
                depends on.
            depth: rule layers up from ``focus`` (0: all).
            lang: language of the rules' tooltips.
            key, tx: a decided state and one of its transactions (optional).
            regime: used when no state is given (else the state's).

        Raises:
            QueryError: unknown predicate, state or transaction. RenderError: Graphviz failed.
        """
        lang = _lang(lang)
        depth = max(0, min(int(depth), MAX_DEPTH))
        state = self.state(key) if key else None
        if state is not None:
            regime = state.result.rulebook.regime
        g = self._rules(regime)
        fired: frozenset[str] = frozenset()
        if state is not None and tx:
            with self._lock:
                fired = state.fired_for(self._tx(state, tx))
        preds = sorted(d["name"] for _, d in g.nodes(data=True) if d["kind"] == "predicate")
        if not focus:
            return self._map_view(regime, lang, fired, tx if state is not None else None, depth,
                                  preds)
        sub = focused_rule_graph(g, focus, depth)
        shown = sorted(n for n in fired if n in sub)
        dot = highlight_dot(rules_dot(sub, lang), {n: "fired" for n in shown}, RULE_HIGHLIGHT)
        return {"svg": to_image(dot, "svg").decode("utf-8"), "focus": focus, "depth": depth,
                "level": "full", "regime": regime, "transaction": tx if state is not None else None,
                "predicates": preds, "fired": shown,
                "rules": sum(1 for _, d in sub.nodes(data=True) if d["kind"] == "rule")}

    def _map_view(self, regime: str, lang: str, fired: frozenset[str], tx: Any, depth: int,
                  preds: list[str]) -> dict[str, Any]:
        # An element group fired for ``tx`` when one of its rules did.
        m = self._rule_map(regime)
        groups = {n: {"title": d[f"title_{lang}"], "cite": d["cite"],
                      "rules": [r for r in str(d["rules"]).split(",") if r]}
                  for n, d in m.nodes(data=True)}
        shown = sorted(n for n, grp in groups.items()
                       if any(f"r:{r}" in fired for r in grp["rules"]))
        dot = highlight_dot(element_map_dot(m, lang), {n: "fired" for n in shown}, RULE_HIGHLIGHT)
        return {"svg": to_image(dot, "svg").decode("utf-8"), "focus": "", "depth": depth,
                "level": "element", "regime": regime, "transaction": tx,
                "predicates": preds, "fired": shown, "groups": groups,
                "rules": sum(len(grp["rules"]) for grp in groups.values())}

    def rule_info(self, rule: str, key: Any = None, regime: str = "ifr") -> dict[str, Any]:
        """A rule's citation, labels, regimes, uncertainties and the transactions it fired for.

        Args:
            rule: a rule-graph id (``r:aia``) or a rule id (``aia``).
            key: a decided state (optional): its regime and transactions.

        Raises:
            QueryError: unknown rule or state.
        """
        state = self.state(key) if key else None
        if state is not None:
            regime = state.result.rulebook.regime
        g = self._rules(regime)
        node = rule if rule.startswith("r:") else f"r:{rule}"
        if node not in g or g.nodes[node]["kind"] != "rule":
            raise QueryError(f"no rule '{rule}' in the {regime} rulebook",
                             hint="click a rule (a box) in the rule graph")
        data = g.nodes[node]
        fired_in: list[str] = []
        if state is not None:
            with self._lock:
                fired_in = [d.transaction for d in state.result.decisions
                            if node in state.fired_for(d.transaction)]
        return {"node": node, "id": data["name"], "cite": data.get("cite", ""),
                "label_en": data.get("label_en", ""), "label_zh": data.get("label_zh", ""),
                "regimes": [r for r in data.get("regimes", "").split(",") if r],
                "uncertain": [u for u in data.get("uncertain", "").split(",") if u],
                "source": data.get("source", ""),
                "concludes": [g.nodes[v]["name"] for v in g.successors(node)],
                "uses": [{"predicate": g.nodes[u]["name"], "polarity": d["polarity"]}
                         for u, _, d in g.in_edges(node, data=True)],
                "fired_in": fired_in, "regime": regime}


# What the proof pane shows: the decision argued element by element (the default), the
# derivation of its outcome, or that derivation with each ruled-out exception's why-not.
VIEWS = ("argument", "proof", "explain")


def _view(level: Any, whynots: bool) -> str:
    if level is None:
        return "explain" if whynots else "argument"
    if level not in VIEWS:
        raise EarlogError(f"unknown level '{level}'", hint="levels: " + ", ".join(VIEWS))
    return str(level)


def _lang(lang: Any) -> str:
    if lang is None:
        return "en"
    if lang not in LANGS:
        raise EarlogError(f"unknown language '{lang}'", hint="languages: " + ", ".join(LANGS))
    return str(lang)


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v
