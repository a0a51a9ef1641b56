"""A scenario being completed: its YAML document (comments kept), answers set into it."""

# The document is read with ruamel.yaml's round-trip loader, so that the completed
# scenario keeps the user's comments, key order, flow style and quoting; PyYAML
# (which earlog's validation reads nodes with) drops comments on output. Every
# state of the document is validated by ``parse_scenario`` exactly like a file.
# A draft may leave out the required keys an interview can ask for (a transaction's
# ``end_use``, an entity's ``headquartered_in`` or ``located_in``): the parsed
# scenario then holds a placeholder there, which the interview never shows as an answer.

from __future__ import annotations

import copy
import io
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from reasoner.lang.errors import ScenarioError
from reasoner.lang.span import Span
from reasoner.law.scenario import Scenario, parse_scenario

__all__ = ["ASKABLE_REQUIRED", "Draft", "load_draft", "yaml_value"]

# Required keys a draft may leave for the interview to ask: (section, key).
ASKABLE_REQUIRED = (("transactions", "end_use"), ("entities", "headquartered_in"),
                    ("entities", "located_in"))


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    y.representer.add_representer(type(None), lambda r, _: r.represent_scalar(
        "tag:yaml.org,2002:null", "null"))
    return y


@dataclass(frozen=True)
class Draft:
    """A scenario document and what it parses to.

    Attributes:
        file: the name diagnostics use.
        text: the document's YAML text.
        scenario: the validated scenario (placeholders where ``missing`` says).
        missing: (section, id, key) of the required keys still left out.
    """

    file: str
    text: str
    scenario: Scenario
    missing: frozenset[tuple[str, str, str]]

    def with_value(self, section: str, rid: str, key: str, value: Any) -> "Draft":
        """The draft with ``key`` of record ``rid`` set to ``value`` (plain YAML data;
        a VEU as (key, value) pairs), validated like a file.

        Raises:
            ScenarioError, CheckFailed: the document would not be a valid scenario.
        """
        doc = _load(self.text, self.file)
        _set(_record(doc, section, rid), key, value)
        return _draft(_dump(doc), self.file)

    def with_entity(self, eid: str, fields: dict[str, Any]) -> "Draft":
        """The draft with a new entity ``eid`` (written in flow style)."""
        doc = _load(self.text, self.file)
        node = CommentedMap(fields)
        node.fa.set_flow_style()
        doc["entities"][eid] = node
        return _draft(_dump(doc), self.file)


def load_draft(text: str, file: str) -> Draft:
    """Read a scenario document that may leave out the keys of ``ASKABLE_REQUIRED``.

    Raises:
        ScenarioError, CheckFailed: any other problem, reported as for a scenario file.
    """
    return _draft(text, file)


def _draft(text: str, file: str) -> Draft:
    doc = _load(text, file)
    missing, filled = _placeholders(doc)
    if not missing:
        return Draft(file, text, parse_scenario(text, file, allow_expect=True), frozenset())
    # spans then point into the document with placeholders, which is what is parsed
    scn = parse_scenario(_dump(filled), file, allow_expect=True)
    return Draft(file, text, scn, frozenset(missing))


def _load(text: str, file: str) -> Any:
    try:
        doc = _yaml().load(text)
    except Exception as exc:  # ruamel raises many kinds; the validation words them
        parse_scenario(text, file, allow_expect=True)
        raise ScenarioError(f"cannot read the scenario: {exc}", Span(file, 1, 1)) from None
    if not isinstance(doc, CommentedMap):
        parse_scenario(text, file, allow_expect=True)  # says what is wrong
        raise ScenarioError("expected a YAML mapping with a scenario", Span(file, 1, 1))
    return doc


def _dump(doc: Any) -> str:
    out = io.StringIO()
    _yaml().dump(doc, out)
    return out.getvalue()


def _placeholders(doc: Any) -> tuple[set[tuple[str, str, str]], Any]:
    """The askable required keys left out, and a copy of ``doc`` with placeholders."""
    missing: set[tuple[str, str, str]] = set()
    filled = copy.deepcopy(doc)
    ents = filled.get("entities")
    for eid, e in (ents.items() if isinstance(ents, dict) else ()):
        if not isinstance(e, dict):
            continue
        absent = [k for k in ("headquartered_in", "located_in") if k not in e]
        missing |= {("entities", str(eid), k) for k in absent}
        for key in absent:
            other = e.get("located_in" if key == "headquartered_in" else "headquartered_in")
            e[key] = other if isinstance(other, str) else "US"
    txs = filled.get("transactions")
    for t in (txs if isinstance(txs, list) else ()):
        if isinstance(t, dict) and "end_use" not in t and "id" in t:
            missing.add(("transactions", str(t["id"]), "end_use"))
            t["end_use"] = "other"
    return missing, filled


def _record(doc: Any, section: str, rid: str) -> Any:
    if section == "transactions":
        return next(t for t in doc["transactions"] if str(t.get("id")) == rid)
    return doc[section][rid]


def yaml_value(value: Any) -> Any:
    """A plain value as the document holds it (a VEU's pairs as a flow mapping)."""
    if isinstance(value, tuple):
        node = CommentedMap(value)
        node.fa.set_flow_style()
        return node
    return value


def _set(rec: Any, key: str, value: Any) -> None:
    rec[key] = yaml_value(value)
