"""Scenario validation: YAML (or a screening row) checked field by field into records.

Checking a scenario field by field is one job, kept in one module though it runs past 500 lines.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


import yaml

from reasoner.lang.errors import ScenarioError
from reasoner.lang.span import NO_SPAN, Span
from reasoner.law.scenario.ccl import eccn_problem
from reasoner.law.scenario.records import (
    DESIGNERS, EMPTY_HISTORY, END_USES, REGIMES, TX_TYPES, VEU_TYPES, Entity, History, Item,
    LicensedTpp, LppShipped, Model, Scenario, Transaction, Veu, is_country_code,
)
from reasoner.law.scenario.yamlnodes import (
    NO_FIELDS, Node, NodeReader, compose, decode, describe, did_you_mean, is_null, node_of,
    plain,
)

# Decisions the contract leaves open (each is checked by tests/unit/test_scenario.py):
# * Country codes are ISO 3166-1 alpha-2 as pycountry knows them, plus XK (Kosovo: a
#   user-assigned code pycountry lacks but the EAR's country chart lists). Codes are
#   upper-cased as written; HK and MO stay themselves (the rulebook decides what they mean).
# * Scalars are read by the field's rule (reasoner.yamlnodes): 3.0e26 is a number, NO is
#   Norway, `none` is a designer status; quoting does not change a number or a date.
# * Required: `scenario`, `entities`, `transactions` (not for a screening context);
#   per entity `located_in`, `headquartered_in`; per item `eccn`; per model
#   `training_operations`, `published`, `trained_on_ear_hardware` (whether weights are
#   open, or reached by the FDP rule, is never guessed); per transaction `id`, `type`,
#   `date`, `exporter`, `from`, `to`, `ultimate_consignee`, `end_use`, exactly one of
#   `item` / `model`, and `quantity` (a whole number >= 1) for items only.
# * Optional and absent means no fact: tpp_per_unit, performance_density, designer,
#   additional_operations, derived_from, final_destination. Three-valued fields
#   (datacenter, weights_storage_compliant, below_best_published) become "unknown".


__all__ = ["bad_id_char", "load_scenario", "parse_scenario", "parse_transaction"]


# ---- public API ------------------------------------------------------------------


def load_scenario(
    path: str | os.PathLike[str],
    *,
    allow_expect: bool = False,
    require_transactions: bool = True,
) -> Scenario:
    """Read and validate a scenario file.

    Args:
        path: the file; diagnostics name it as given.
        allow_expect: accept a top-level ``expect:`` block (tests) into ``Scenario.expect``.
        require_transactions: False for a screening context without transactions.

    Returns:
        The validated scenario, with ``source_sha256`` of the raw file bytes.

    Raises:
        ScenarioError: the file cannot be read, is not UTF-8 or not YAML, or has one
            problem. CheckFailed: several problems (all with code ``scenario_invalid``).
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ScenarioError(
            f"cannot read scenario file '{name}': {exc.strerror or exc}",
            Span(name, 0, 0),
            "check the path and that the file is readable",
        ) from None
    return parse_scenario(
        raw, name, allow_expect=allow_expect, require_transactions=require_transactions
    )


def parse_scenario(
    text: str | bytes,
    file: str = "<scenario>",
    *,
    allow_expect: bool = False,
    require_transactions: bool = True,
) -> Scenario:
    """Validate scenario YAML given as text (or the raw bytes of a file).

    Args:
        text: the YAML; bytes are decoded as UTF-8 and hashed as given.
        file: the name diagnostics and spans use.
        allow_expect: accept a top-level ``expect:`` block into ``Scenario.expect``.
        require_transactions: False for a screening context without transactions.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: not UTF-8, not YAML, not a mapping, or a single problem.
        CheckFailed: several problems, sorted by location.

    Example:
        >>> s = parse_scenario("scenario: demo\\nentities: {}\\n", "demo.yaml",
        ...                    require_transactions=False)
        >>> s.id, s.regime, str(s.where("scenario"))
        ('demo', 'ifr', 'demo.yaml:1:11')
    """
    raw = text if isinstance(text, bytes) else text.encode("utf-8")
    source = decode(raw, file, ScenarioError) if isinstance(text, bytes) else text
    root = _root(source, file)
    checker = _Checker(file)
    sha = hashlib.sha256(raw).hexdigest()
    scn = checker.scenario(root, sha, allow_expect, require_transactions)
    checker.references(scn)
    checker.raise_problems()
    return scn


def parse_transaction(
    source: Mapping[str, Any] | Node,
    scenario: Scenario,
    where: Span = NO_SPAN,
    spans: Mapping[str, Span] | None = None,
) -> Transaction:
    """Validate one transaction against a scenario's entities, items and models.

    Used to screen rows (CSV, JSONL) against a scenario context. A plain dict may hold
    text (CSV cells: an empty cell is null) or values (int, Decimal, bool, date); a
    float is read from its shortest decimal spelling.

    Args:
        source: a ``yaml.MappingNode`` or a plain mapping with the keys of a transaction.
        scenario: the context; its transactions' ids must not be reused.
        where: the span of the row, used for problems in a plain mapping.
        spans: optional span per key of a plain mapping (e.g. of each CSV cell).

    Returns:
        The validated transaction.

    Raises:
        ScenarioError: one problem. CheckFailed: several.
    """
    file = where.file if where != NO_SPAN else scenario.file
    node = source if isinstance(source, yaml.Node) else node_of(source, where, spans)
    checker = _Checker(file)
    checker.tx_ids = {t.id: t.span for t in scenario.transactions}
    tx = checker.transaction(node)
    checker.references(dataclasses.replace(scenario, transactions=(tx,)), only_transactions=True)
    checker.raise_problems()
    return tx


def _root(text: str, file: str) -> Node:
    """The top mapping of a scenario file."""
    root = compose(text, file, ScenarioError)
    if root is None:
        raise ScenarioError(
            "expected a YAML mapping with a scenario, found an empty document",
            Span(file, 1, 1, 1, 2),
            "start with 'scenario: <id>'; see SCENARIOS.md",
        )
    if not isinstance(root, yaml.MappingNode):
        raise ScenarioError(
            f"expected a YAML mapping with a scenario, found {describe(root)}",
            Span(file, root.start_mark.line + 1, root.start_mark.column + 1,
                 root.start_mark.line + 1, root.start_mark.column + 2),
            "a scenario file is a mapping with keys such as 'scenario', 'entities', "
            "'transactions'",
        )
    return root


# ---- the scenario schema ---------------------------------------------------------

_YEAR = re.compile(r"\d{4}")
_ECCN = re.compile(r"EAR99|[0-9][A-E][0-9]{3}(?:\.(?:[a-z]+|[0-9]+))*")
_ECCN_HINT = "an ECCN is a digit, a letter A-E and three digits, then optional lowercase " \
    "'.a' / '.1' parts, e.g. '3A090.a', '3A001.z.1.a', '4E091', or 'EAR99'"
_SCENARIO_ID = re.compile(r"[a-z0-9_-]+")
_ID_FORBIDDEN = frozenset("\"'`\\")
# control, format, surrogate, private-use and unassigned characters; line and paragraph breaks
_ID_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def bad_id_char(text: str) -> str | None:
    r"""The first character an id may not hold (a control or format character, a line
    break, a quote or a backslash), or None.

    Example:
        >>> bad_id_char("PO 12/3-a"), bad_id_char("a\nb"), bad_id_char("a'b")
        (None, '\n', "'")
    """
    for c in text:
        if c in _ID_FORBIDDEN or unicodedata.category(c) in _ID_CATEGORIES:
            return c
    return None


def _describe_char(c: str) -> str:
    if c in _ID_FORBIDDEN:
        return f"the character {c!r}"
    return f"the control character U+{ord(c):04X}"
_SECTIONS = {"entity": "entities", "item": "items", "model": "models"}
_SECTION_EXAMPLES = {
    "entities": "sgcloud: {located_in: SG, headquartered_in: SG}",
    "items": "h100: {eccn: 3A090.a, tpp_per_unit: 15832}",
    "models": "frontier: {training_operations: 3.0e26, published: false, "
              "trained_on_ear_hardware: true}",
}
_VEU_SHAPE = "write {type: uveu} or {type: nveu, country: IN}"

_TOP_KEYS = ("scenario", "description", "as_of", "regime", "entities", "items", "models",
             "transactions", "history")
_ENTITY_KEYS = ("name", "located_in", "headquartered_in", "parent", "government_controlled",
                "veu", "weights_storage_compliant", "majority_owned")
_ITEM_KEYS = ("eccn", "tpp_per_unit", "performance_density", "datacenter", "designer")
_MODEL_KEYS = ("training_operations", "published", "derived_from", "additional_operations",
               "trained_on_ear_hardware", "produced_in", "below_best_published")
_TX_KEYS = ("id", "type", "date", "exporter", "from", "to", "ultimate_consignee", "item",
            "model", "quantity", "end_use", "final_destination")
_TX_REQUIRED = ("id", "type", "date", "exporter", "from", "to", "ultimate_consignee", "end_use")
_HISTORY_KEYS = ("licensed_tpp_by_country", "lpp_tpp_by_consignee")
_VEU_KEYS = ("type", "country")

# What to write for a missing required key.
_KEY_HELP = {
    "scenario": "an id of lowercase letters, digits, '_' and '-'",
    "entities": "a mapping of entity ids to entities",
    "transactions": "a list of transactions to decide",
    "located_in": "ISO 3166-1 alpha-2 country code, e.g. SG",
    "headquartered_in": "ISO 3166-1 alpha-2 country code, e.g. SG",
    "eccn": "an ECCN such as 3A090.a, or EAR99",
    "training_operations": "a number such as 3.0e26",
    "published": "true or false",
    "trained_on_ear_hardware": "true or false",
    "id": "a transaction id, unique in the file",
    "type": "one of " + ", ".join(TX_TYPES),
    "date": "a date YYYY-MM-DD",
    "exporter": "an entity id",
    "from": "ISO 3166-1 alpha-2 country code",
    "to": "ISO 3166-1 alpha-2 country code",
    "ultimate_consignee": "an entity id",
    "end_use": "one of " + ", ".join(END_USES),
    "quantity": "a whole number of units; required when a transaction concerns an item",
}


def _country_hint(text: str) -> str:
    """Suggest the alpha-2 code for an alpha-3 code, a country name or 'UK'."""
    if text.strip().upper() == "UK":
        return "use ISO 3166 alpha-2 codes, e.g. 'GB'"
    import pycountry

    try:
        country = pycountry.countries.lookup(text.strip())
    except LookupError:
        return "use ISO 3166 alpha-2 codes, e.g. 'US', 'CN', 'SG'"
    return f"use ISO 3166 alpha-2 codes, e.g. '{country.alpha_2}'"


def _eccn_hint(text: str) -> str:
    fixed = text[:5].upper() + text[5:].lower()
    if text != fixed and _ECCN.fullmatch(fixed):
        return f"did you mean '{fixed}'? {_ECCN_HINT}"
    return _ECCN_HINT


# ---- the checker -----------------------------------------------------------------


class _Checker(NodeReader):
    """Reads one scenario's node tree into records; collects every problem found.

    Invariant: a reader that finds a problem records it and returns None (or a
    placeholder for a required value, never seen since the scenario is rejected).
    """

    error = ScenarioError
    key_help = _KEY_HELP

    def __init__(self, file: str) -> None:
        super().__init__(file)
        self.tx_ids: dict[str, Span] = {}  # id -> span of its first use
        self.broken: set[str] = set()  # sections that were not mappings

    # -- scenario scalars --

    def quantity(self, node: Node | None) -> int | None:
        """Units of an item: a whole number, at least 1."""
        return self.whole(node, "quantity", "a whole number of units (1 or more)",
                          "quantity counts units of the item", minimum=1, required=True)

    def country(self, node: Node | None, key: str, required: bool = False) -> str | None:
        """An ISO 3166-1 alpha-2 code, upper-cased."""
        text = self.text(node, key, "an ISO 3166-1 alpha-2 country code", required)
        if text is None:
            return None
        code = text.strip().upper()
        if is_country_code(code):
            return code
        self.report(node, f"unknown country code '{text}'", _country_hint(text))
        return None

    def eccn(self, node: Node | None) -> str | None:
        text = self.text(node, "eccn", "an ECCN", required=True)
        if text is None:
            return None
        if not _ECCN.fullmatch(text):
            self.report(node, f"malformed ECCN '{text}'", _eccn_hint(text))
            return None
        problem = eccn_problem(text)
        if problem is not None:
            self.report(node, *problem)
            return None
        return text

    def ref(self, node: Node | None, key: str, required: bool = False) -> str | None:
        """An id naming another record; :meth:`references` checks that it exists."""
        return self.text(node, key, "an id", required)

    # -- records --

    def scenario(self, root: Node, sha: str, allow_expect: bool,
                 require_transactions: bool) -> Scenario:
        self.check_tags(root)
        allowed = _TOP_KEYS + (("expect",) if allow_expect else ())
        required = ("scenario", "entities") + (("transactions",) if require_transactions else ())
        hints = {"expect": "'expect' blocks belong to test files; strip them before deciding"}
        top = self.fields(root, "the top level", allowed, required, Span(self.file, 1, 1, 1, 2),
                          hints)
        sid = self.text(top.value("scenario"), "scenario", "a scenario id", required=True)
        if sid is not None and not _SCENARIO_ID.fullmatch(sid):
            self.report(top.value("scenario"), f"invalid scenario id '{sid}'",
                        "use lowercase letters, digits, '_' and '-', e.g. 'sg-cloud-lpp'")
        regime = self.choice(top.value("regime"), "regime", REGIMES)
        entities = self.section(top.value("entities"), "entities", self.entity)
        items = self.section(top.value("items"), "items", self.item)
        models = self.section(top.value("models"), "models", self.model)
        txs = self.transactions(top.value("transactions"))
        history = self.history(top.value("history"), {e.id for e in entities})
        expect = plain(top.value("expect")) if top.value("expect") is not None else None
        return Scenario(
            id=sid or "", file=self.file, source_sha256=sha,
            description=self.text(top.value("description"), "description", "text"),
            as_of=self.date(top.value("as_of"), "as_of"), regime=regime or "ifr",
            entities=entities, items=items, models=models, transactions=txs, history=history,
            expect=expect, span=self.point(root), spans=self.field_spans(top),
        )

    def section(self, node: Node | None, name: str, read: Any) -> tuple[Any, ...]:
        """A mapping of ids to records, each read by ``read(id, key_node, value_node)``.

        A section that is not a mapping is recorded in ``broken``, so references to
        its records are not reported once more each.
        """
        if node is None or is_null(node):
            return ()
        pairs = self.pairs(node, f"'{name}'", f"write {name} as a mapping from id to fields, "
                           f"e.g. '{_SECTION_EXAMPLES[name]}'")
        if pairs is None:
            self.broken.add(name)
        kind = {"entities": "entity", "items": "item", "models": "model"}.get(name, name) + " id"
        for key, knode, _ in pairs or ():
            self.id_ok(key, knode, kind)
        return tuple(read(key, knode, vnode) for key, knode, vnode in pairs or ())

    def id_ok(self, text: str, node: Node | None, kind: str) -> bool:
        """An id (record key or transaction id) has no control character, line break,
        quote or backslash: it appears in CSV, file names, proofs and the rule
        language's strings. Reports the problem and returns False otherwise."""
        bad = bad_id_char(text)
        if bad is None:
            return True
        self.report(node if node is not None else Span(self.file, 1, 1),
                    f"invalid {kind} {text!r}: it contains {_describe_char(bad)}",
                    "use letters, digits, spaces and punctuation such as '-', '_', '.', '/'")
        return False

    def entity(self, eid: str, knode: Node, node: Node) -> Entity:
        owner = self.span(knode)
        f = self.fields(node, f"entity '{eid}'", _ENTITY_KEYS,
                        ("located_in", "headquartered_in"), owner)
        return Entity(
            id=eid,
            located_in=self.country(f.value("located_in"), "located_in", True) or "",
            headquartered_in=self.country(f.value("headquartered_in"), "headquartered_in",
                                          True) or "",
            name=self.text(f.value("name"), "name", "a display name"),
            parent=self.ref(f.value("parent"), "parent"),
            government_controlled=bool(self.boolean(f.value("government_controlled"),
                                                    "government_controlled")),
            veu=self.veu(f.value("veu")),
            weights_storage_compliant=self.boolean(f.value("weights_storage_compliant"),
                                                   "weights_storage_compliant", nullable=True),
            majority_owned=self.boolean(f.value("majority_owned"), "majority_owned",
                                        nullable=True),
            span=owner, spans=self.field_spans(f),
        )

    def veu(self, node: Node | None) -> Veu | None:
        """``{type: uveu}`` or ``{type: nveu, country: XX}``; null for none."""
        if node is None or is_null(node):
            return None
        if not isinstance(node, yaml.MappingNode):
            self.report(node if isinstance(node, yaml.ScalarNode) else self.point(node),
                        f"expected a VEU mapping for 'veu', found {describe(node)}", _VEU_SHAPE)
            return None
        f = self.fields(node, "'veu'", _VEU_KEYS, ("type",), self.point(node))
        kind = self.choice(f.value("type"), "veu type", VEU_TYPES, required=True)
        country_node = f.value("country")
        country = self.country(country_node, "country")
        if kind == "nveu" and (country_node is None or is_null(country_node)):
            self.report(self.point(node), "a national VEU (type: nveu) needs a 'country'",
                        _VEU_SHAPE)
        if kind == "uveu" and country_node is not None and not is_null(country_node):
            self.report(f.key("country"), "a universal VEU (type: uveu) has no 'country'",
                        "remove 'country', or write type: nveu for a national VEU")
        return Veu(kind, country, self.span(node)) if kind else None

    def item(self, iid: str, knode: Node, node: Node) -> Item:
        owner = self.span(knode)
        f = self.fields(node, f"item '{iid}'", _ITEM_KEYS, ("eccn",), owner)
        return Item(
            id=iid,
            eccn=self.eccn(f.value("eccn")) or "",
            tpp_per_unit=self.number(f.value("tpp_per_unit"), "tpp_per_unit"),
            performance_density=self.number(f.value("performance_density"),
                                            "performance_density"),
            datacenter=self.boolean(f.value("datacenter"), "datacenter", nullable=True),
            designer=self.choice(f.value("designer"), "designer", DESIGNERS,
                                 note="; leave 'designer' out when unknown"),
            span=owner, spans=self.field_spans(f),
        )

    def model(self, mid: str, knode: Node, node: Node) -> Model:
        owner = self.span(knode)
        f = self.fields(node, f"model '{mid}'", _MODEL_KEYS,
                        ("training_operations", "published", "trained_on_ear_hardware"), owner)
        return Model(
            id=mid,
            training_operations=self.number(f.value("training_operations"),
                                            "training_operations", True) or 0,
            published=bool(self.boolean(f.value("published"), "published", required=True)),
            trained_on_ear_hardware=bool(self.boolean(f.value("trained_on_ear_hardware"),
                                                      "trained_on_ear_hardware", required=True)),
            derived_from=self.ref(f.value("derived_from"), "derived_from"),
            additional_operations=self.number(f.value("additional_operations"),
                                              "additional_operations"),
            produced_in=self.country(f.value("produced_in"), "produced_in"),
            below_best_published=self.boolean(f.value("below_best_published"),
                                               "below_best_published", nullable=True),
            span=owner, spans=self.field_spans(f),
        )

    def transactions(self, node: Node | None) -> tuple[Transaction, ...]:
        if node is None or is_null(node):
            return ()
        if not isinstance(node, yaml.SequenceNode):
            self.report(self.point(node), f"expected a list for 'transactions', found "
                        f"{describe(node)}", "write each transaction as a '- id: ...' entry")
            return ()
        return tuple(self.transaction(tx) for tx in node.value)

    def transaction(self, node: Node) -> Transaction:
        id_node = _get(node, "id")
        tid = None
        if isinstance(id_node, yaml.ScalarNode) and not is_null(id_node):
            tid = str(id_node.value)
        what = f"transaction '{tid}'" if tid else "a transaction"
        owner = self.span(id_node) if tid else self.point(node)
        f = self.fields(node, what, _TX_KEYS, _TX_REQUIRED, owner)
        tid = self.text(f.value("id"), "id", "a transaction id", True)
        if tid is not None and self.id_ok(tid, f.value("id"), "transaction id"):
            if tid in self.tx_ids:
                self.report(f.value("id"), f"duplicate transaction id '{tid}'",
                            f"first used at line {self.tx_ids[tid].line}; "
                            "transaction ids must be unique")
            else:
                self.tx_ids[tid] = self.span(f.value("id"))
        item_key, model_key = f.key("item"), f.key("model")
        if item_key is not None and model_key is not None:
            later = max(item_key, model_key, key=self.span)
            self.report(later, f"{what} names both an item and a model",
                        "a transaction concerns exactly one of 'item' / 'model'; "
                        "write two transactions")
        elif item_key is None and model_key is None and f is not NO_FIELDS:
            self.report(owner, f"{what} names neither an item nor a model",
                        "add 'item: <item id>' or 'model: <model id>'")
        quantity = None
        if item_key is not None and f.value("quantity") is None:
            self.report(owner, f"missing required key 'quantity' in {what}",
                        f"add 'quantity:' ({_KEY_HELP['quantity']})")
        elif f.value("quantity") is not None and item_key is None and model_key is not None:
            self.report(f.key("quantity"), "'quantity' applies to items, not to model weights",
                        f"remove 'quantity' from {what}")
        elif f.value("quantity") is not None:
            quantity = self.quantity(f.value("quantity"))
        self.route(f, what)
        return Transaction(
            id=tid or "",
            type=self.choice(f.value("type"), "type", TX_TYPES, True) or "",
            date=self.date(f.value("date"), "date", True) or _dt.date.min,
            exporter=self.ref(f.value("exporter"), "exporter", True) or "",
            from_=self.country(f.value("from"), "from", True) or "",
            to=self.country(f.value("to"), "to", True) or "",
            ultimate_consignee=self.ref(f.value("ultimate_consignee"), "ultimate_consignee",
                                        True) or "",
            end_use=self.choice(f.value("end_use"), "end_use", END_USES, True) or "",
            item=self.ref(f.value("item"), "item", True),
            model=self.ref(f.value("model"), "model", True),
            quantity=quantity,
            final_destination=self.country(f.value("final_destination"), "final_destination"),
            span=owner, spans=self.field_spans(f),
        )

    def route(self, f: Any, what: str) -> None:
        """An export or reexport crosses a border; an in-country transfer does not."""
        kind, src, dst = (_scalar(f.value(k)) for k in ("type", "from", "to"))
        if not (kind and src and dst):
            return
        same = src.strip().upper() == dst.strip().upper()
        if kind in ("export", "reexport") and same:
            self.report(f.value("to"), f"{what} is an {kind} from {src} to {dst}: an {kind} "
                        "leaves the country it starts in",
                        "for a shipment within one country write 'type: transfer_in_country'; "
                        "otherwise correct 'from' or 'to'")
        elif kind == "transfer_in_country" and not same:
            self.report(f.value("to"), f"{what} is an in-country transfer from {src} to {dst}",
                        "an in-country transfer stays in one country ('from' equals 'to'); "
                        "write 'type: export' or 'reexport' for a shipment between countries")

    def history(self, node: Node | None, entity_ids: set[str]) -> History:
        if node is None or is_null(node):
            return EMPTY_HISTORY
        f = self.fields(node, "'history'", _HISTORY_KEYS, (), self.point(node))
        return History(
            self.licensed(f.value("licensed_tpp_by_country")),
            self.lpp(f.value("lpp_tpp_by_consignee"), entity_ids),
            self.point(node),
        )

    def licensed(self, node: Node | None) -> tuple[LicensedTpp, ...]:
        """``{COUNTRY: tpp}``: TPP already licensed per country."""
        if node is None or is_null(node):
            return ()
        out: list[LicensedTpp] = []
        seen: dict[str, Node] = {}
        for key, knode, vnode in self.pairs(node, "'licensed_tpp_by_country'") or ():
            code = self.country(knode, "licensed_tpp_by_country")
            tpp = self.number(vnode, f"licensed_tpp_by_country.{key}", True)
            if code is not None and code in seen:
                self.report(knode, f"duplicate country '{code}' in 'licensed_tpp_by_country'",
                            f"first given at line {self.span(seen[code]).line}")
            elif code is not None and tpp is not None:
                seen[code] = knode
                out.append(LicensedTpp(code, tpp, self.span(vnode)))
        return tuple(out)

    def lpp(self, node: Node | None, entity_ids: set[str]) -> tuple[LppShipped, ...]:
        """``{entity: {year: tpp}}``: TPP shipped under LPP per consignee and year."""
        if node is None or is_null(node):
            return ()
        out: list[LppShipped] = []
        for eid, knode, vnode in self.pairs(node, "'lpp_tpp_by_consignee'") or ():
            if eid not in entity_ids:
                self.unknown(knode, "entity", eid, "lpp_tpp_by_consignee", entity_ids)
            for ytext, ynode, nnode in self.pairs(vnode, f"'lpp_tpp_by_consignee.{eid}'") or ():
                tpp = self.number(nnode, f"lpp_tpp_by_consignee.{eid}.{ytext}", True)
                if not _YEAR.fullmatch(ytext.strip()):
                    self.report(ynode, f"expected a year (e.g. 2025) as key in "
                                f"'lpp_tpp_by_consignee.{eid}', found '{ytext}'",
                                "write TPP shipped per calendar year, e.g. {2025: 5000000}")
                elif tpp is not None:
                    out.append(LppShipped(eid, int(ytext), tpp, self.span(nnode)))
        return tuple(out)

    # -- references --

    def unknown(self, where: Node | Span, kind: str, ref: str, key: str,
                known: Iterable[str]) -> None:
        """Report a reference to an undefined record, unless its section was broken."""
        if _SECTIONS[kind] in self.broken:
            return
        choices = sorted(known)
        guess = did_you_mean(ref, choices)
        if guess:
            hint = f"did you mean '{guess}'?"
        elif choices:
            shown = ", ".join(choices[:10]) + (", ..." if len(choices) > 10 else "")
            hint = f"defined {kind} ids: {shown}"
        else:
            hint = f"no {kind} is defined; add it under '{_SECTIONS[kind]}:'"
        self.report(where, f"unknown {kind} '{ref}' in '{key}'", hint)

    def references(self, scn: Scenario, only_transactions: bool = False) -> None:
        """Every id a record names must be defined; parent chains must not loop."""
        entities = {e.id for e in scn.entities}
        items = {i.id for i in scn.items}
        models = {m.id for m in scn.models}
        if not only_transactions:
            for e in scn.entities:
                if e.parent is not None and e.parent not in entities:
                    self.unknown(e.where("parent"), "entity", e.parent, "parent", entities)
            for m in scn.models:
                if m.derived_from is not None and m.derived_from not in models:
                    self.unknown(m.where("derived_from"), "model", m.derived_from,
                                 "derived_from", models)
            self.cycles(scn.entities, "parent", "parent cycle",
                        "the top of a parent chain has 'parent: null'")
            self.cycles(scn.models, "derived_from", "derived_from cycle",
                        "a base model is not derived from the models built on it")
        for t in scn.transactions:
            for key, ref, kind, known in (
                ("exporter", t.exporter, "entity", entities),
                ("ultimate_consignee", t.ultimate_consignee, "entity", entities),
                ("item", t.item, "item", items),
                ("model", t.model, "model", models),
            ):
                if ref and ref not in known:
                    self.unknown(t.where(key), kind, ref, key, known)

    def cycles(self, records: Sequence[Any], key: str, label: str, hint: str) -> None:
        """Report each cycle of ``key`` links once, at its first member in file order."""
        link = {r.id: getattr(r, key) for r in records if getattr(r, key)}
        # each id is walked once (linear in the records, however long the chains)
        done: set[str] = set()
        on_cycle: set[str] = set()
        for rec in records:
            walk: dict[str, int] = {}
            node: str | None = rec.id
            while node is not None and node not in done and node not in walk:
                walk[node] = len(walk)
                node = link.get(node)
            if node is not None and node in walk:
                on_cycle.update(list(walk)[walk[node]:])
            done.update(walk)
        reported: set[str] = set()
        for rec in records:
            if rec.id in on_cycle and rec.id not in reported:
                path, nxt = [rec.id], link[rec.id]
                while nxt != rec.id:
                    path.append(nxt)
                    nxt = link[nxt]
                reported.update(path)
                self.report(rec.where(key), f"{label}: {' -> '.join(path + [rec.id])}", hint)


def _scalar(node: Node | None) -> str | None:
    """The text of a scalar node, or None."""
    if isinstance(node, yaml.ScalarNode) and not is_null(node):
        return str(node.value)
    return None


def _get(node: Node, key: str) -> Node | None:
    """The value of ``key`` in a mapping node, without reporting anything."""
    if isinstance(node, yaml.MappingNode):
        for knode, vnode in node.value:
            if isinstance(knode, yaml.ScalarNode) and knode.value == key:
                return vnode
    return None


