"""earlog from Python and Jupyter: decide, explain, what-if and interview, each returning an
object that shows itself in a notebook (HTML with the argument and the proof graph as
inline SVG, Markdown) and gives plain data (``to_dict()``).

    >>> import reasoner as earlog
    >>> result = earlog.decide("facts/scenarios/aia-tier1.yaml")   # doctest: +SKIP
    >>> result["dc-germany"].outcome                                  # doctest: +SKIP
    'permitted'

A scenario may be given as a ``Scenario``, a path, a mapping (the YAML contract as
data) or YAML text. ``decide`` and ``what_if`` keep the signatures ``reasoner`` has
always exported (a ``Scenario`` and the same keywords) and return subclasses of the
results they returned, so existing callers see no change.

May import: every layer (this is the top, beside ``cli``).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import html
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import yaml

from reasoner.lang.errors import QueryError, ScenarioError
from reasoner.law.decision import Decision, ScenarioDecisions, decision_json, decision_record
from reasoner.law.decision import decide as _decide
from reasoner.law.scenario import Scenario, load_scenario, parse_scenario
from reasoner.tools.whatif.search import SetResult, WhatIfResult
from reasoner.tools.whatif.search import what_if as _what_if
from reasoner.tools.whatif.search import what_if_set as _what_if_set

__all__ = ["Source", "Decisions", "Explanation", "WhatIf", "WhatIfSet", "InterviewResult",
           "scenario_of", "decide", "explain", "what_if", "interview"]

Source = Scenario | str | os.PathLike[str] | Mapping[str, Any]


def scenario_of(source: Source) -> Scenario:
    """The validated scenario ``source`` names: a ``Scenario``, a path, a mapping or YAML text.

    Raises:
        ScenarioError, CheckFailed: the scenario does not validate (or the file cannot be read).
    """
    if isinstance(source, Scenario):
        return source
    if isinstance(source, Mapping):
        return parse_scenario(_yaml_text(source), "<dict>", allow_expect=True)
    text = os.fspath(source)
    if "\n" in text or text.lstrip().startswith("scenario:"):
        return parse_scenario(text, "<text>", allow_expect=True)
    return load_scenario(text, allow_expect=True)


def _yaml_text(data: Mapping[str, Any]) -> str:
    def plain(v: Any) -> Any:
        if isinstance(v, Mapping):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, float):
            return repr(v)  # 3e+26 as written: the validator reads numbers by the field's rule
        if isinstance(v, _dt.datetime):
            return v.date()
        return v
    return yaml.safe_dump(plain(data), sort_keys=False, allow_unicode=True)


def _source_text(source: Source) -> tuple[str, str]:
    """(YAML text, file name) of ``source`` for an interview (which edits the document)."""
    from reasoner.tools.whatif.search import scenario_yaml

    if isinstance(source, Scenario):
        return scenario_yaml(source), source.file
    if isinstance(source, Mapping):
        return _yaml_text(source), "<dict>"
    text = os.fspath(source)
    if "\n" in text or text.lstrip().startswith("scenario:"):
        return text, "<text>"
    try:
        with open(text, encoding="utf-8-sig") as fh:
            return fh.read(), text
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario file '{text}': {exc.strerror or exc}",
                            hint="check the path") from None


# ---- display helpers -----------------------------------------------------------------


def _svg(graph: Any, lang: str) -> str:
    """The graph as inline SVG (the XML prolog dropped)."""
    from reasoner.render import get_theme, to_dot, to_image

    data = to_image(to_dot(graph, get_theme("default"), lang=lang), "svg").decode("utf-8")
    return data[data.find("<svg"):]


def _pre(text: str) -> str:
    return f"<pre style=\"white-space: pre-wrap\">{html.escape(text)}</pre>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def esc(c: str) -> str:
        return c.replace("|", "\\|")
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _row(d: Decision) -> list[str]:
    lic = "-" if d.license_required is None else ("yes" if d.license_required else "no")
    return [d.transaction, d.outcome, lic, ", ".join(d.exceptions) or "-",
            d.review_policy or "-", "; ".join(d.citations)]


_HEADERS = ("transaction", "outcome", "license", "exceptions", "review policy", "citations")


# ---- decide ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decisions(ScenarioDecisions):
    """``ScenarioDecisions`` that display themselves; ``result["tx1"]`` is one decision."""

    def __getitem__(self, tx: str) -> Decision:
        for d in self.decisions:
            if d.transaction == tx:
                return d
        raise KeyError(tx)

    def to_dict(self) -> dict[str, Any]:
        """The JSON decision contract (SCENARIOS.md)."""
        return decision_json(self)

    def _title(self) -> str:
        return (f"{self.scenario.id} (regime {self.rulebook.regime}, rulebook "
                f"{self.rulebook.name} {self.rulebook.version})")

    def _repr_html_(self) -> str:
        return f"<p><b>{html.escape(self._title())}</b></p>" + _table(
            _HEADERS, [_row(d) for d in self.decisions])

    def _repr_markdown_(self) -> str:
        return f"**{self._title()}**\n\n" + _md_table(_HEADERS, [_row(d) for d in self.decisions])


def decide(scenario: Source, regime: str | None = None, as_of: _dt.date | None = None,
           engine: str = "earlog") -> Decisions:
    """Decide every transaction of a scenario (``reasoner.law.decision.decide``).

    Args:
        scenario: a ``Scenario``, a path, a mapping or YAML text.
        regime, as_of, engine: as for ``reasoner.law.decision.decide``.

    Returns:
        The decisions (a ``ScenarioDecisions``) that display as a table in Jupyter.
    """
    r = _decide(scenario_of(scenario), regime=regime, as_of=as_of, engine=engine)
    return Decisions(r.scenario, r.rulebook, r.decisions, r.model)


# ---- explain ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """One transaction's decision with its argument (text) and proof graph."""

    decision: Decision
    text: str
    graph: Any = field(repr=False)
    lang: str = "en"

    def to_dict(self) -> dict[str, Any]:
        """The decision's contract fields and the proof graph (``earlog-proof/1`` JSON)."""
        import json

        from reasoner.render import to_json

        return {"decision": decision_record(self.decision), "argument": self.text,
                "proof": json.loads(to_json(self.graph))}

    def svg(self) -> str:
        """The proof graph as SVG (Graphviz)."""
        return _svg(self.graph, self.lang)

    def _repr_html_(self) -> str:
        return _pre(self.text) + f"<div>{self.svg()}</div>"

    def _repr_markdown_(self) -> str:
        return "```text\n" + self.text.rstrip("\n") + "\n```\n"


def explain(scenario: Source, tx: str, regime: str | None = None, lang: str = "en",
            level: str = "argument") -> Explanation:
    """The decision for ``tx`` explained (``earlog explain``): by default the argument
    (each element with its provision and deciding facts); ``level="steps"`` or
    ``"full"`` for the derivation behind it.

    Raises:
        QueryError: no such transaction. RenderError: unknown level or language.
    """
    from reasoner.proof.explanation import explain_transaction
    from reasoner.render.argument import explanation_view

    result = _decide(scenario_of(scenario), regime=regime)
    expl = explain_transaction(result, tx)
    text, graph = explanation_view(result, expl, level, lang)
    return Explanation(expl.decision, text, graph, lang)


# ---- what-if ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WhatIf(WhatIfResult):
    """``WhatIfResult`` that displays itself: the minimal flips, smallest first."""

    def text(self, lang: str = "en") -> str:
        from reasoner.tools.whatif.text import whatif_text

        return whatif_text(self, lang)

    def to_dict(self) -> dict[str, Any]:
        return {"transaction": self.transaction, "regime": self.regime,
                "before": decision_record(self.before),
                "flips": [{"changes": [str(c) for c in f.changes],
                           "decision": decision_record(f.decision)} for f in self.flips],
                "evaluated": self.evaluated, "bound_reached": self.bound_reached}

    def _repr_html_(self) -> str:
        return _pre(self.text())

    def _repr_markdown_(self) -> str:
        return "```text\n" + self.text().rstrip("\n") + "\n```\n"


@dataclass(frozen=True, slots=True)
class WhatIfSet(SetResult):
    """``SetResult`` that displays itself: old and new decision, and the new key step."""

    def text(self, lang: str = "en") -> str:
        from reasoner.tools.whatif.text import set_text

        return set_text(self, lang)

    def to_dict(self) -> dict[str, Any]:
        return {"transaction": self.transaction, "changes": [str(c) for c in self.changes],
                "before": decision_record(self.before), "after": decision_record(self.after)}

    def _repr_html_(self) -> str:
        from reasoner.proof.graph import to_graph

        return _pre(self.text()) + f"<div>{_svg(to_graph(self.key_step), 'en')}</div>"

    def _repr_markdown_(self) -> str:
        return "```text\n" + self.text().rstrip("\n") + "\n```\n"


def what_if(scenario: Source, tx: str, regime: str | None = None, target: str | None = None,
            max_changes: int = 2, max_candidates: int = 300,
            progress: Callable[[int, int], None] | None = None, *,
            set: Sequence[str] | Mapping[str, Any] | None = None) -> WhatIf | WhatIfSet:
    """The smallest sets of changes that flip ``tx``'s outcome (``earlog what-if``), or
    with ``set`` (``["se_co.headquartered_in=DE"]`` or ``{"se_co.headquartered_in": "DE"}``)
    one variant re-decided.

    Raises:
        QueryError: no such transaction, or a malformed assignment.
    """
    scn = scenario_of(scenario)
    if set is not None:
        pairs = [f"{k}={_yaml_scalar(v)}" for k, v in set.items()] if isinstance(set, Mapping) \
            else list(set)
        r = _what_if_set(scn, tx, pairs, regime)
        return WhatIfSet(*(getattr(r, f.name) for f in dataclasses.fields(SetResult)))
    w = _what_if(scn, tx, regime, target, max_changes, max_candidates, progress)
    return WhatIf(*(getattr(w, f.name) for f in dataclasses.fields(WhatIfResult)))


def _yaml_scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


# ---- interview -------------------------------------------------------------------------


@dataclass(frozen=True)
class InterviewResult:
    """An interview run with the answers given: the transcript, the questions still open
    ("questions that would change this answer"), and the completed scenario."""

    transcript: str
    scenario_yaml: str
    questions: tuple[dict[str, Any], ...]
    steps: tuple[dict[str, Any], ...]
    settled: dict[str, bool]
    decisions: tuple[Decision, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"questions": list(self.questions), "steps": list(self.steps),
                "settled": dict(self.settled),
                "decisions": [decision_record(d) for d in self.decisions],
                "scenario_yaml": self.scenario_yaml}

    def _repr_html_(self) -> str:
        rows = [[q["transaction"], q["field"], q["question"],
                 "; ".join(f"{a} \u2192 {v}" for a, v in q["answers"])] for q in self.questions]
        panel = (_table(("transaction", "field", "question", "answers lead to"), rows) if rows
                 else "<p>No question would change these decisions.</p>")
        return (_pre(self.transcript)
                + "<p><b>Questions that would change this answer</b></p>" + panel)

    def _repr_markdown_(self) -> str:
        return "```text\n" + self.transcript.rstrip("\n") + "\n```\n"


def interview(scenario: Source, tx: str | None = None,
              answers: Mapping[str, Any] | None = None, regime: str | None = None,
              settle: str = "outcome") -> InterviewResult:
    """Run ``earlog interview`` with ``answers`` (``{"tx1.end_use": "development"}``; a
    question without an answer counts as not known) and return what it found.

    Raises:
        QueryError: no such transaction, or an answer the field does not take.
        ScenarioError, CheckFailed: the scenario (or an answered one) does not validate.
    """
    from reasoner.tools.interview.draft import load_draft
    from reasoner.tools.interview.session import Interview
    from reasoner.tools.interview.text import (
        closing_text, consequence_lines, opening_text, question_block, step_text,
    )

    text, file = _source_text(scenario)
    iv = Interview(load_draft(text, file), regime, settle)
    ids = [t.id for t in iv.draft.scenario.transactions]
    if tx is not None and tx not in ids:
        raise QueryError(f"no transaction '{tx}'", hint="transactions: " + ", ".join(ids))
    given = {str(k): ("none" if v is None else _yaml_scalar(v).replace("true", "yes")
                      .replace("false", "no")) for k, v in (answers or {}).items()}
    out: list[str] = []
    steps: list[dict[str, Any]] = []
    for t in [tx] if tx else ids:
        out.append(opening_text(iv.analysis(t), iv.draft.scenario.id))
        n = 0
        while (q := iv.next_question(t)) is not None:
            n += 1
            reply = given.get(q.slot.name)
            out.append(question_block(n, q))
            out.append(f"  answer: {reply if reply is not None else '(not known)'}")
            step = iv.answer(t, q, reply)
            out.append(step_text(step))
            steps.append({"transaction": t, "field": q.slot.name, "answer": step.answer,
                          "leads_to": list(step.after.possible)})
        out.append(closing_text(iv.analysis(t), iv.decision(t), n) + "\n")
    open_questions = tuple(
        {"transaction": t, "field": q.slot.name, "question": q.text, "score": q.score,
         "answers": [(line.split("\u2192")[0].strip(), line.split("\u2192")[1].strip())
                     for line in consequence_lines(q)]}
        for t in ([tx] if tx else ids) for q in iv.analysis(t).questions)
    decisions = () if iv.draft.missing else tuple(
        _decide(iv.draft.scenario, regime=regime).decisions)
    return InterviewResult("\n".join(out), iv.draft.text, open_questions, tuple(steps),
                           {t: iv.analysis(t).settled for t in ([tx] if tx else ids)}, decisions)
