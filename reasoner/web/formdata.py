"""The explorer's editable form: scenario records as JSON data, written back as YAML with a line map."""

# A *document* is the scenario as the explorer's form holds it: plain JSON data
# shaped like SCENARIOS.md, except that entities, items and models are lists of
# records each with an ``id`` (so a row can be renamed or reordered). It is
# never evaluated: ``document_yaml`` writes it as YAML text, one field per line
# with every key and string double-quoted, and ``parse_document`` runs exactly
# the validation a scenario file gets (``scenario.parse_scenario``). Because
# each line holds one field, a diagnostic's line maps back to the form field it
# concerns (``field_errors``). Invariant: a document and its YAML agree line for
# line with ``LineMap``; null and empty values are left out (absent = default).

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping, Sequence

from reasoner.lang.errors import EarlogError, ScenarioError
from reasoner.law.scenario import Entity, Item, Model, Scenario, Transaction, parse_scenario

__all__ = [
    "SECTIONS",
    "FIELDS",
    "FORM_FILE",
    "Path",
    "LineMap",
    "FieldError",
    "scenario_document",
    "empty_document",
    "document_yaml",
    "parse_document",
    "field_errors",
    "number_text",
]

SECTIONS = ("entities", "items", "models", "transactions")

# The form's columns per section, in the order the form shows them (the keys of
# SCENARIOS.md; ``id`` first).
FIELDS: Mapping[str, tuple[str, ...]] = {
    "entities": ("id", "name", "located_in", "headquartered_in", "parent",
                 "government_controlled", "veu", "weights_storage_compliant", "majority_owned"),
    "items": ("id", "eccn", "tpp_per_unit", "performance_density", "datacenter", "designer"),
    "models": ("id", "training_operations", "published", "trained_on_ear_hardware",
               "derived_from", "additional_operations", "produced_in", "below_best_published"),
    "transactions": ("id", "type", "date", "exporter", "from", "to", "ultimate_consignee",
                     "item", "model", "quantity", "end_use", "final_destination"),
}
_TOP = ("scenario", "description", "as_of", "regime")

# The name diagnostics and receipts give the explorer's scenario text.
FORM_FILE = "explorer.yaml"

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class LineMap:
    """Which document field each line of the written YAML holds (``paths[line - 1]``)."""

    paths: tuple[Path, ...]

    def at(self, line: int) -> Path:
        """The field on ``line`` (1-based); ``()`` (the whole scenario) when none."""
        if 1 <= line <= len(self.paths):
            return self.paths[line - 1]
        return ()


@dataclass(frozen=True, slots=True)
class FieldError:
    """A validation problem placed on a form field (``path``; ``()`` = the scenario)."""

    path: Path
    message: str
    hint: str
    line: int
    col: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"path", "field", "message", "hint", "line", "col"}``."""
        return {"path": list(self.path), "field": ".".join(str(p) for p in self.path),
                "message": self.message, "hint": self.hint, "line": self.line, "col": self.col}


# ---- scenario -> document ----------------------------------------------------------


def number_text(v: int | Decimal) -> str:
    """A number as the form shows it: exact, in ``3e26`` style when that is shorter.

    Example:
        >>> number_text(300000000000000000000000000), number_text(15832), number_text(Decimal("0.25"))
        ('3e26', '15832', '0.25')
    """
    if isinstance(v, Decimal):
        if v == v.to_integral_value():
            v = int(v)
        else:
            return format(v.normalize(), "f")
    digits = str(abs(v))
    stripped = digits.rstrip("0")
    zeros = len(digits) - len(stripped)
    if zeros < 6:
        return str(v)
    mantissa = stripped[0] + ("." + stripped[1:] if len(stripped) > 1 else "")
    return f"{'-' if v < 0 else ''}{mantissa}e{zeros + len(stripped) - 1}"


def _plain(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, Decimal)):
        return number_text(v)
    if isinstance(v, _dt.date):
        return v.isoformat()
    return str(v)


def _record(rec: Entity | Item | Model | Transaction, section: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in FIELDS[section]:
        value = getattr(rec, "from_" if key == "from" else key)
        if key == "veu":
            out[key] = None if value is None else {"type": value.type, "country": value.country}
        else:
            out[key] = _plain(value)
    return out


def scenario_document(scenario: Scenario) -> dict[str, Any]:
    """The form's document for a validated scenario (comments and key order are not kept).

    Example:
        >>> s = parse_scenario("scenario: demo\\nentities: {a: {located_in: SE, "
        ...                    "headquartered_in: SE}}\\n", require_transactions=False)
        >>> scenario_document(s)["entities"][0]["located_in"]
        'SE'
    """
    h = scenario.history
    history: dict[str, Any] = {}
    if h.licensed_tpp:
        history["licensed_tpp_by_country"] = {x.country: number_text(x.tpp) for x in h.licensed_tpp}
    if h.lpp_shipped:
        by: dict[str, dict[str, str]] = {}
        for s in h.lpp_shipped:
            by.setdefault(s.entity, {})[str(s.year)] = number_text(s.tpp)
        history["lpp_tpp_by_consignee"] = by
    return {
        "scenario": scenario.id,
        "description": scenario.description,
        "as_of": scenario.as_of.isoformat() if scenario.as_of else None,
        "regime": scenario.regime,
        **{name: [_record(r, name) for r in getattr(scenario, name)] for name in SECTIONS},
        "history": history or None,
    }


def empty_document() -> dict[str, Any]:
    """A small starting template: one exporter, one consignee, one chip, one export."""
    return {
        "scenario": "new-scenario", "description": None, "as_of": None, "regime": "ifr",
        "entities": [
            {"id": "exporter", "located_in": "US", "headquartered_in": "US"},
            {"id": "consignee", "located_in": "SE", "headquartered_in": "SE"},
        ],
        "items": [{"id": "chip", "eccn": "3A090.a", "tpp_per_unit": "15832", "datacenter": True,
                   "designer": "approved"}],
        "models": [],
        "transactions": [{"id": "tx1", "type": "export", "date": "2025-06-16",
                          "exporter": "exporter", "from": "US", "to": "SE",
                          "ultimate_consignee": "consignee", "item": "chip", "quantity": "1000",
                          "end_use": "inference"}],
        "history": None,
    }


# ---- document -> YAML ------------------------------------------------------------


def _quote(s: str) -> str:
    """A YAML double-quoted scalar; characters YAML reads as breaks or controls are escaped."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif o < 0x20 or 0x7F <= o < 0xA0 or ch in "\u2028\u2029\ufeff":
            out.append(f"\\u{o:04x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _flow(v: Any) -> str:
    """Any JSON value as one line of YAML flow text."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return json.dumps(v)
    if isinstance(v, str):
        return _quote(v)
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_quote(str(k))}: {_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    return _quote(str(v))


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def _records(value: Any) -> list[Any] | None:
    """A section as a list of records; a SCENARIOS.md-style mapping is accepted too."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        return [{"id": k, **v} if isinstance(v, Mapping) else v for k, v in value.items()]
    return None


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.paths: list[Path] = []

    def put(self, text: str, path: Path) -> None:
        self.lines.append(text)
        self.paths.append(path)

    def section(self, name: str, value: Any) -> None:
        records = _records(value)
        if records is None:
            self.put(f"{_quote(name)}: {_flow(value)}", (name,))
            return
        if not records:
            self.put(f"{_quote(name)}: {'[]' if name == 'transactions' else '{}'}", (name,))
            return
        self.put(f"{_quote(name)}:", (name,))
        for i, rec in enumerate(records):
            if name == "transactions":
                self.transaction(i, rec)
            else:
                self.keyed(name, i, rec)

    def keyed(self, name: str, i: int, rec: Any) -> None:
        if not isinstance(rec, Mapping):
            self.put(f"  {_quote(str(i))}: {_flow(rec)}", (name, i))
            return
        rid = rec.get("id")
        key = _quote("" if rid is None else str(rid))
        fields = [(k, v) for k, v in rec.items() if k != "id" and not _empty(v)]
        if not fields:
            self.put(f"  {key}: {{}}", (name, i, "id"))
            return
        self.put(f"  {key}:", (name, i, "id"))
        for k, v in fields:
            self.put(f"    {_quote(str(k))}: {_flow(v)}", (name, i, str(k)))

    def transaction(self, i: int, rec: Any) -> None:
        if not isinstance(rec, Mapping):
            self.put(f"  - {_flow(rec)}", ("transactions", i))
            return
        fields = [(k, v) for k, v in rec.items() if not _empty(v)]
        if not fields:
            self.put("  - {}", ("transactions", i))
        for n, (k, v) in enumerate(fields):
            self.put(f"  {'- ' if n == 0 else '  '}{_quote(str(k))}: {_flow(v)}",
                     ("transactions", i, str(k)))


def document_yaml(doc: Mapping[str, Any]) -> tuple[str, LineMap]:
    """Write a document as scenario YAML, one field per line.

    Keys the contract does not know are written too, so that the validation
    reports them; null and empty values are left out.

    Args:
        doc: the form's document (JSON data).

    Returns:
        The YAML text and the field of each of its lines.

    Example:
        >>> text, lines = document_yaml({"scenario": "x", "entities": [{"id": "a",
        ...                              "located_in": "SE"}]})
        >>> print(text, end="")
        "scenario": "x"
        "entities":
          "a":
            "located_in": "SE"
        >>> lines.at(4)
        ('entities', 0, 'located_in')
    """
    w = _Writer()
    for key in _TOP:
        if not _empty(doc.get(key)):
            w.put(f"{_quote(key)}: {_flow(doc[key])}", (key,))
    for name in SECTIONS:
        if name in doc:
            w.section(name, doc[name])
    for key, value in doc.items():
        if key in _TOP or key in SECTIONS or _empty(value):
            continue
        w.put(f"{_quote(str(key))}: {_flow(value)}", (str(key),))
    return "\n".join(w.lines) + "\n", LineMap(tuple(w.paths))


def parse_document(doc: Any, file: str = FORM_FILE) -> tuple[Scenario, str, LineMap]:
    """Validate a document exactly as a scenario file is validated.

    Args:
        doc: JSON data from the form.
        file: the name spans and receipts use.

    Returns:
        The scenario, its YAML text and the line map.

    Raises:
        ScenarioError: not a JSON object, or one problem. CheckFailed: several
            (their lines map to fields with ``field_errors``).
    """
    if not isinstance(doc, Mapping):
        raise ScenarioError("expected the scenario as a JSON object",
                            hint="send {\"scenario\": ..., \"entities\": [...], ...}")
    text, lines = document_yaml(doc)
    return parse_scenario(text, file), text, lines


_MISSING = re.compile(r"missing required key '([^']+)'")


def field_errors(exc: EarlogError, lines: LineMap) -> list[FieldError]:
    """Place each diagnostic of a failed validation on the form field it concerns.

    A diagnostic on a line is that line's field; "missing required key 'k'" on a
    record's line is that record's field ``k``; one without a line concerns the
    whole scenario (path ``()``).
    """
    out = []
    for d in exc.diagnostics:
        path: Sequence[str | int] = lines.at(d.span.line)
        m = _MISSING.search(d.message)
        if m and len(path) >= 2:
            path = (*path[:2], m.group(1))
        out.append(FieldError(tuple(path), d.message, d.hint, d.span.line, d.span.col))
    return out
