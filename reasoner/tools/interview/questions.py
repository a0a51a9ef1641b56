"""The questions an interview may ask: unstated or defaulted fields, their choices, their wording."""

# A question is a field of a record the transaction depends on (itself, its item or
# model, its ultimate consignee and the consignee's parent chain) that the file leaves
# unstated: a required key that is missing (end_use, headquartered_in, located_in), an
# optional key that is absent, or a three-valued key that is null (unknown). Which of
# them could matter is not listed here: ``rulebook_inputs`` keeps only fields whose
# facts (as ``scenario_facts`` writes them) feed a rule the decision is read from, and
# the interview then keeps only those whose value changes the decision.
#
# Countries are offered by class: two countries are in one class when the rulebook
# cannot tell them apart, i.e. they appear in the same reference facts (country
# groups with their dates) up to values that no rule mentions (country names), and no
# rule names either of them. Each class is asked about through one member.

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from reasoner.lang.ir import Aggregate, Atom, Const, Fact, Literal, body_preds
from reasoner.lang.labels import UNKNOWN, LabelBook
from reasoner.law.rulebook import Rulebook
from reasoner.law.scenario import (
    DESIGNERS, END_USES, Entity, Item, Model, Scenario, Transaction, scenario_facts,
)
from reasoner.tools.whatif.search import COUNTRY_REPRESENTATIVES, Change

__all__ = ["DECISION_PREDICATES", "FIELDS", "Choice", "Slot", "country_classes",
           "rulebook_inputs", "slots", "choices", "question_text"]

# The predicates a decision is read from (reasoner/law/decision.py).
DECISION_PREDICATES = ("outcome", "exception", "review", "license_required", "needs_license",
                       "license_unknown", "in_scope", "pending", "lr_unknown", "relevant_exception")

# Per section, the keys an interview may ask about and the kind of answer they take;
# ``required`` keys have no default (the contract requires them), the others default.
FIELDS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "transactions": (("end_use", "end_use", True), ("final_destination", "country", False)),
    "entities": (("headquartered_in", "country", True), ("located_in", "country", True),
                 ("parent", "parent", False), ("government_controlled", "bool", False),
                 ("weights_storage_compliant", "tri", False), ("veu", "veu", False)),
    "items": (("datacenter", "tri", False), ("designer", "designer", False)),
    "models": (("below_best_published", "tri", False), ("produced_in", "country", False)),
}


@dataclass(frozen=True, slots=True)
class Slot:
    """An unstated field: the record (section and id), the YAML key, the kind of answer,
    whether it has no default (a required key that is missing), and the record's role."""

    section: str
    id: str
    key: str
    kind: str
    required: bool
    role: str

    @property
    def name(self) -> str:
        """``id.key``, as ``--answers`` files and ``what-if --set`` name a field."""
        return f"{self.id}.{self.key}"


@dataclass(frozen=True, slots=True)
class Choice:
    """One answer the analysis tries: the YAML value, how it is shown, and the countries
    of the class it stands for (empty for other kinds). ``changes`` are the extra
    changes it implies (a parent not in the scenario: that entity's country)."""

    value: Any
    shown: str
    members: tuple[str, ...] = ()
    extra: tuple[Change, ...] = ()


# ---- which records and fields --------------------------------------------------------


def slots(scn: Scenario, tx: Transaction, missing: frozenset[tuple[str, str, str]],
          book: Rulebook) -> list[Slot]:
    """The unstated fields of the records ``tx`` depends on, in a fixed order.

    Args:
        scn: the scenario (missing required keys hold placeholders).
        tx: the transaction.
        missing: (section, id, key) of required keys the file leaves out.
        book: the rulebook (fields whose facts no decision rule reads are left out).
    """
    read = rulebook_inputs(book)
    out = []
    for section, rec, role in _records(scn, tx):
        stated = {k for k, _ in rec.spans}
        for key, kind, required in FIELDS[section]:
            if (section, rec.id, key) in missing:
                out.append(Slot(section, rec.id, key, kind, True, role))
            elif not required and (key not in stated
                                   or kind == "tri" and _value(rec, key) is None) \
                    and _feeds(scn, section, rec.id, key, kind, read):
                out.append(Slot(section, rec.id, key, kind, False, role))
    return out


def _records(scn: Scenario, tx: Transaction) -> Iterator[tuple[str, Any, str]]:
    yield "transactions", tx, "transaction"
    if tx.item is not None:
        yield "items", scn.item(tx.item), "item"
    if tx.model is not None:
        yield "models", scn.model(tx.model), "model"
    ent, seen, role = scn.entity(tx.ultimate_consignee), set(), "ultimate consignee"
    while ent.id not in seen:
        seen.add(ent.id)
        yield "entities", ent, role
        if ent.parent is None:
            break
        ent, role = scn.entity(ent.parent), f"parent of {ent.id}"


def _value(rec: Entity | Item | Model | Transaction, key: str) -> Any:
    return getattr(rec, "from_" if key == "from" else key)


def _feeds(scn: Scenario, section: str, rid: str, key: str, kind: str,
           read: frozenset[str]) -> bool:
    """Whether some value of the field writes a fact that a decision rule reads."""
    from reasoner.tools.interview.variants import apply_plain

    probe = {"country": "US", "bool": True, "tri": True, "end_use": END_USES[0],
             "designer": DESIGNERS[0], "veu": (("type", "uveu"),)}.get(kind)
    if kind == "parent":
        others = [e.id for e in scn.entities if e.id != rid]
        probe = others[0] if others else None
        if probe is None:
            return "parent" in read
    before = set(scenario_facts(scn))
    after = set(scenario_facts(apply_plain(scn, [Change(section, rid, key, None, probe)])))
    return any(f.pred in read for f in before ^ after)


_MEMO: dict[tuple[str, str, str], Any] = {}


def _memo(kind: str, book: Rulebook, make: Any) -> Any:
    """Per rulebook (by regime and digest; rulebooks hold dicts and do not hash)."""
    key = (kind, book.regime, book.sha256)
    if key not in _MEMO:
        _MEMO[key] = make(book)
    return _MEMO[key]


def _inputs_of(book: Rulebook) -> frozenset[str]:
    body: dict[str, set[str]] = {}
    for rule in book.rules:
        body.setdefault(rule.head.pred, set()).update(body_preds(rule.body))
    seen: set[str] = set()
    todo = list(DECISION_PREDICATES)
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo += body.get(p, ())
    return frozenset(seen)


def rulebook_inputs(book: Rulebook) -> frozenset[str]:
    """Every predicate a decision predicate depends on through the rules (inputs included)."""
    return frozenset(_memo("inputs", book, _inputs_of))


# ---- choices -----------------------------------------------------------------------


def country_classes(book: Rulebook) -> tuple[tuple[str, ...], ...]:
    """The countries the rulebook cannot tell apart, class by class (largest first)."""
    return tuple(_memo("countries", book, _country_classes))


def _country_classes(book: Rulebook) -> tuple[tuple[str, ...], ...]:
    named = _rule_constants(book)
    facts = book.checked.program.facts
    codes = sorted({str(f.values[0]) for f in facts if f.pred == "country"})
    known = set(codes)
    sig: dict[str, set[tuple[Any, ...]]] = {c: set() for c in codes}
    for f in facts:
        for i, v in enumerate(f.values):
            if v in known:
                shape = tuple("*" if j == i or (isinstance(a, str) and a not in named) else a
                              for j, a in enumerate(f.values))
                sig[str(v)].add((f.pred, i, shape))
    classes: dict[Any, list[str]] = {}
    for c in codes:
        classes.setdefault((frozenset(sig[c]), c if c in named else None), []).append(c)
    return tuple(tuple(v) for v in sorted(classes.values(), key=lambda v: (-len(v), v)))


def _rule_constants(book: Rulebook) -> frozenset[Any]:
    found: set[Any] = set()

    def atom(a: Atom) -> None:
        found.update(t.value for t in a.args if isinstance(t, Const))

    for rule in book.rules:
        atom(rule.head)
        for b in rule.body:
            if isinstance(b, Literal):
                atom(b.atom)
            elif isinstance(b, Aggregate):
                for x in b.body:
                    if isinstance(x, Literal):
                        atom(x.atom)
            else:
                for t in (getattr(b, "left", None), getattr(b, "right", None)):
                    if isinstance(t, Const):
                        found.add(t.value)
    return frozenset(found)


def country_choices(book: Rulebook, own: set[str]) -> list[Choice]:
    """One choice per class, through a well-known member; a country the scenario names
    is a choice of its own (a rule may compare it with another field), and the rest of
    its class is asked about through another member."""
    out = []
    for members in country_classes(book):
        mine = [c for c in members if c in own]
        rest = [c for c in members if c not in own]
        for c in mine:
            out.append(Choice(c, c, (c,)))
        if rest:
            pick = next((c for c in COUNTRY_REPRESENTATIVES if c in rest), rest[0])
            out.append(Choice(pick, pick, tuple([pick] + [c for c in rest if c != pick])))
    return out


def choices(slot: Slot, scn: Scenario, book: Rulebook) -> list[Choice]:
    """The answers the analysis tries for ``slot`` (an unknown is not an answer)."""
    own = {e.located_in for e in scn.entities} | {e.headquartered_in for e in scn.entities}
    for t in scn.transactions:
        own |= {t.from_, t.to} | ({t.final_destination} if t.final_destination else set())
    if slot.kind == "country":
        return country_choices(book, own)
    if slot.kind == "end_use":
        return [Choice(u, u) for u in END_USES]
    if slot.kind == "designer":
        return [Choice(d, d) for d in DESIGNERS]
    if slot.kind in ("bool", "tri"):
        return [Choice(True, "yes"), Choice(False, "no")]
    if slot.kind == "veu":
        tx_to = sorted({t.to for t in scn.transactions})
        return [Choice(None, "none"), Choice((("type", "uveu"),), "universal VEU")] + [
            Choice((("type", "nveu"), ("country", c)), f"national VEU for {c}") for c in tx_to]
    if slot.kind == "parent":
        return _parent_choices(slot, scn, book, own)
    raise ValueError(f"unknown kind {slot.kind}")


def new_parent_id(scn: Scenario, eid: str) -> str:
    """The id of a parent not in the scenario, for ``eid`` (unique in ``scn``)."""
    ids = {e.id for e in scn.entities}
    base, n = f"{eid}_parent", 2
    out = base
    while out in ids:
        out, n = f"{base}{n}", n + 1
    return out


def _parent_choices(slot: Slot, scn: Scenario, book: Rulebook, own: set[str]) -> list[Choice]:
    below = _descendants(scn, slot.id)
    out = [Choice(None, "none")]
    out += [Choice(e.id, e.id) for e in scn.entities if e.id not in below]
    new = new_parent_id(scn, slot.id)
    for c in country_choices(book, own):
        extra = (Change("entities", new, "headquartered_in", None, c.value),
                 Change("entities", new, "located_in", None, c.value))
        out.append(Choice(new, f"a parent headquartered in {c.shown}", c.members, extra))
    return out


def _descendants(scn: Scenario, eid: str) -> set[str]:
    out = {eid}
    grew = True
    while grew:
        grew = False
        for e in scn.entities:
            if e.parent in out and e.id not in out:
                out.add(e.id)
                grew = True
    return out


# ---- wording -----------------------------------------------------------------------

# What stands for the answer in a question's wording.
BLANK = "\u2026"


def question_text(slot: Slot, scn: Scenario, book: Rulebook, lang: str = "en") -> str:
    """The question, worded from the label of the input fact the field becomes (its
    value shown as ``?``), e.g. "the end use in tx1 is ?"."""
    from reasoner.tools.interview.variants import apply_plain

    probe = choices(slot, scn, book)
    value = next((c for c in probe if c.value is not None), None)
    if slot.kind == "veu":
        return f"{slot.id} holds a Data Center VEU: {BLANK}"  # two input facts, no one label
    if value is None:
        return slot.name
    before = set(scenario_facts(scn))
    after = scenario_facts(apply_plain(scn, [Change(slot.section, slot.id, slot.key, None,
                                                    value.value), *value.extra]))
    fact = next((f for f in after if f not in before and _mentions(f, slot.id)), None)
    if fact is None:
        return slot.name
    shown = tuple(None if v == value.value or (v == "yes" and slot.kind in ("bool", "tri"))
                  else v for v in fact.values)
    if slot.kind == "parent":
        shown = tuple(None if v != slot.id else v for v in fact.values)
    en, zh = LabelBook(book.checked).atom(fact.pred, shown)
    text = (zh if lang == "zh" else en) or slot.name
    return text.replace(UNKNOWN, BLANK)


def _mentions(f: Fact, rid: str) -> bool:
    return rid in f.values
