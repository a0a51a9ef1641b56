"""Decision lines built in SQL: the exact text ``files.DecisionWriter`` writes, CSV or JSONL."""

# A table with the decision columns (lists as VARCHAR[], a ruled-out entry as a struct of
# exception and citation) becomes one VARCHAR per row:
#   CSV:   lists joined with ';', a ruled-out entry as CODE=citation, booleans true/false,
#          null empty; a cell a spreadsheet would run as a formula gets a leading "'"
#          (``files.inert``); a cell holding a comma, a quote or a line break is quoted
#          with its quotes doubled (the csv module's minimal quoting).
#   JSONL: ``json.dumps(record, ensure_ascii=False)``: ", " and ": " separators, strings
#          with backslash, quote and control characters escaped.

from __future__ import annotations

from typing import Sequence

__all__ = ["csv_line", "json_line"]

_Q = '"'
_BS = "\\"


def _ident(name: str) -> str:
    return _Q + name.replace(_Q, _Q + _Q) + _Q


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _csv_cell(col: str) -> str:
    c = _ident(col)
    if col in ("in_scope", "license_required"):
        return f"(CASE WHEN {c} IS NULL THEN '' WHEN {c} THEN 'true' ELSE 'false' END)"
    if col == "as_of":
        return f"strftime({c}, '%Y-%m-%d')"
    if col == "ruled_out":
        text = f"array_to_string(list_transform({c}, lambda x: x.exception || '=' || x.citation), ';')"
    elif col in ("exceptions", "citations", "uncertainties"):
        text = f"array_to_string({c}, ';')"
    else:
        text = f"COALESCE({c}, '')"
    formula = ", ".join([_lit("="), _lit("+"), _lit("-"), _lit("@"), "chr(9)", "chr(13)"])
    inert = f"(CASE WHEN left({text}, 1) IN ({formula}) THEN {_lit(chr(39))} || {text} ELSE {text} END)"
    special = _lit("[," + _Q + "\r\n]")
    quoted = f"{_lit(_Q)} || replace({inert}, {_lit(_Q)}, {_lit(_Q + _Q)}) || {_lit(_Q)}"
    return f"(CASE WHEN regexp_matches({inert}, {special}) THEN {quoted} ELSE {inert} END)"


def csv_line(columns: Sequence[str]) -> str:
    """SQL of a row's CSV line (without its newline)."""
    return " || ',' || ".join(_csv_cell(c) for c in columns)


def _json_str(expr: str) -> str:
    """SQL: ``expr`` as a JSON string (json.dumps with ensure_ascii=False)."""
    out = expr
    for raw, esc in ((_BS, _BS + _BS), (_Q, _BS + _Q), ("\n", _BS + "n"), ("\r", _BS + "r"),
                     ("\t", _BS + "t"), ("\b", _BS + "b"), ("\f", _BS + "f")):
        char = f"chr({ord(raw)})"
        out = f"replace({out}, {char}, {_lit(esc)})"
    # (ids hold no other control characters: scenario validation refuses them)
    return f"({_lit(_Q)} || {out} || {_lit(_Q)})"


def _json_value(col: str) -> str:
    c = _ident(col)
    if col in ("in_scope", "license_required"):
        return f"(CASE WHEN {c} IS NULL THEN 'null' WHEN {c} THEN 'true' ELSE 'false' END)"
    if col == "as_of":
        return f"({_lit(_Q)} || strftime({c}, '%Y-%m-%d') || {_lit(_Q)})"
    if col == "ruled_out":
        entry = (f"{_lit('{' + _Q + 'exception' + _Q + ': ')} || {_json_str('x.exception')} || "
                 f"{_lit(', ' + _Q + 'citation' + _Q + ': ')} || {_json_str('x.citation')} || "
                 f"{_lit('}')}")
        return f"('[' || array_to_string(list_transform({c}, lambda x: {entry}), ', ') || ']')"
    if col in ("exceptions", "citations", "uncertainties"):
        return f"('[' || array_to_string(list_transform({c}, lambda x: {_json_str('x')}), ', ') || ']')"
    return f"COALESCE({_json_str(c)}, 'null')"


def json_line(columns: Sequence[str]) -> str:
    """SQL of a row's JSON line (without its newline)."""
    parts = [f"{_lit(_Q + c + _Q + ': ')} || {_json_value(c)}" for c in columns]
    return "'{' || " + " || ', ' || ".join(parts) + " || '}'"
