#!/usr/bin/env python3
"""Regenerate the JSON-derived reference facts, and cross-check eccns.dl against the CCL.

Generated files (do not edit them by hand; edit this script and re-run it):

- ``countries.dl``       ``country(Code, Name)`` for every ISO 3166-1 alpha-2 code (pycountry).
- ``country_groups.dl``  ``country_group(Code, Group, From, To)`` and
                         ``group_uncertain(Code, Group, From, To, UncertaintyId)`` from
                         ``country_groups_ecfr_2026-07-23.json`` plus the dated changes below.

Hand-written files (this script only checks them): ``tiers.dl`` and ``eccns.dl``. The
``--check`` pass derives the advanced-computing ECCN sets from
``ccl_advanced_computing_ecfr_2026-07-23.json`` and compares them with ``eccns.dl``; every
difference must be one of ``KNOWN_ECCN_DISCREPANCIES`` (each explained), otherwise the
script fails.

Usage (from the repository root)::

    /tmp/venv/bin/python facts/reference/build.py [DATA_DIR] [--out DIR] [--quiet]

DATA_DIR defaults to ``../shared/ear/data`` relative to the repository root; ``--out``
defaults to this script's folder. Output is deterministic for a given pycountry version
(recorded in the headers): names are sorted, nothing depends on time or hash order.

Name-to-code mapping (``country_groups.dl``) never guesses silently. For each country name
in the JSON, in this order:

1. ``MANUAL`` below (a reviewed table; every entry says why);
2. pycountry's exact lookup of the name (alpha-2/alpha-3 code, name, official or common
   name, case-insensitive);
3. the same exact lookup of the name with "&" read as "and" and a leading "The " or a
   trailing ", The" dropped;
4. exact lookup of each of the JSON's ``aliases`` that point at the name;
5. pycountry's fuzzy search, accepted only when the best match's own name, official name
   or common name contains the query (this guard rejects e.g. "Kosovo" -> Serbia, which
   fuzzy search returns through a subdivision name).

Every method that answers must agree; two names may share a code only if ``SHARED_CODES``
allows it; a name no method maps stops the script with an error. The mapping table is
printed (and written into country_groups.dl) for review.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from pathlib import Path
from typing import Any, Iterable

import pycountry

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DEFAULT_DATA_DIR = REPO_ROOT / ".." / "shared" / "ear" / "data"

GROUPS_JSON = "country_groups_ecfr_2026-07-23.json"
CCL_JSON = "ccl_advanced_computing_ecfr_2026-07-23.json"
SNAPSHOT = dt.date(2026, 7, 23)          # eCFR issue date of both JSON files
RULE_START = dt.date(2025, 1, 13)        # 90 FR 4544 effective date
OPEN_END = dt.date(9999, 12, 31)         # "no known end"
GROUPS = ("A:1", "A:2", "A:3", "A:4", "A:5", "A:6", "B",
          "D:1", "D:2", "D:3", "D:4", "D:5", "E:1", "E:2")

# --- reviewed name -> code decisions ------------------------------------------------------
# None = deliberately not mapped (no ISO 3166-1 alpha-2 code); the name is left out of the
# facts and listed in the header of country_groups.dl.
MANUAL: dict[str, tuple[str | None, str]] = {
    "China (PRC)": ("CN", "the JSON aliases 'hong kong'/'hk' also point here because the EAR "
                          "treats Hong Kong as China; that is a treatment, not an identity, so "
                          "alias lookup is ambiguous (CN vs HK); the rulebook maps HK -> CN"),
    "Cape Verde": ("CV", "ISO short name is 'Cabo Verde'"),
    "Congo (Democratic Republic of)": ("CD", "ISO: 'Congo, The Democratic Republic of the'"),
    "Congo (Democratic Republic of the)": ("CD", "spelling variant of the D:5 name, used in "
                                                 "Country Group B; ISO: 'Congo, The "
                                                 "Democratic Republic of the'"),
    "Congo (Republic of the)": ("CG", "ISO short name is 'Congo'"),
    "Cote d'lvoire": ("CI", "source typo: lower-case 'l' for 'I' in \"Cote d'Ivoire\"; "
                            "ISO: \"Côte d'Ivoire\""),
    "Sint Maarten (the Dutch two-fifths of the island of Saint Martin)":
        ("SX", "ISO: 'Sint Maarten (Dutch part)'"),
    "Kosovo": (None, "no ISO 3166-1 alpha-2 code (XK is a user-assigned code outside the "
                     "standard and outside countries.dl); scenarios cannot name Kosovo"),
}
# Codes that more than one JSON name may map to.
SHARED_CODES = {"CD"}

# --- dated changes to the 2026 table --------------------------------------------------------
# Memberships that held on RULE_START but are absent from the 2026-07-23 table.
HISTORICAL: list[tuple[str, str, dt.date, dt.date, str]] = [
    ("KH", "D:5", RULE_START, dt.date(2026, 2, 2),
     "Cambodia: in D:5 in Jan 2025 (RULE_NOTES §3.3: 22 listed in 2026 + Cambodia = 23); "
     "State Dept delisted it Nov 2025 and BIS removed it from D:5 on 2026-02-03 "
     "(RULE_NOTES §1 item 6, §11) [S: FENWICK-KH], so its last day in D:5 is 2026-02-02"),
]
# Memberships in the 2026 table that did NOT hold on RULE_START (date of change unknown):
# dated from the snapshot, with the window before it flagged in group_uncertain.
LATE: dict[tuple[str, str], str] = {
    ("AE", "A:5"): "UAE",
}
# group_uncertain(Code, Group, From, To, Id): whether Code is in Group during [From, To] is
# not established; the country_group facts give the reading stated in the comment.
UNCERTAIN: list[tuple[str, str, dt.date, dt.date, str, str]] = [
    ("AE", "A:5", RULE_START, SNAPSHOT - dt.timedelta(days=1), "U-GROUPS-AE",
     "listed in A:5 in 2026 with a note tying it to 15 CFR 740.2(a)(26), a paragraph the "
     "Jan 2025 eCFR text of 740.2 does not have [P: E740.2 (C1) ends at (a)(25)]; encoded "
     "as A:5 only from 2026-07-23"),
    ("AE", "D:1", RULE_START, SNAPSHOT - dt.timedelta(days=1), "U-GROUPS-AE",
     "absent from D:1/D:4 in 2026, but the 2026 CCL names the UAE expressly beside "
     "D:1/D:4/D:5 for '.b' items, which 90 FR 4544 did not (data/README.md, RULE_NOTES "
     "§4.2): its Jan 2025 D:1/D:4 status is not established; encoded as not a member"),
    ("AE", "D:4", RULE_START, SNAPSHOT - dt.timedelta(days=1), "U-GROUPS-AE",
     "see D:1"),
    ("CY", "D:5", RULE_START, OPEN_END, "U-D5-ET-CY",
     "Cyprus: ITAR 126.1 policy of denial suspended yearly since FY2023; absent from the "
     "D:5 table; encoded as NOT D:5 (RULE_NOTES §3.3, §16 item 9)"),
    ("ET", "D:5", RULE_START, OPEN_END, "U-D5-ET-CY",
     "Ethiopia: partial ITAR 126.1(n) listing since Nov 2021 and the D:5 note says State's "
     "list prevails, but BIS never added it to the table; encoded as NOT D:5 "
     "(RULE_NOTES §3.3, §16 item 9) [S: GCN-ETH]"),
]


# ==========================================================================================
# Datalog text helpers
# ==========================================================================================

def q(s: str) -> str:
    """A Datalog string literal."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fact(pred: str, *args: Any) -> str:
    parts = []
    for a in args:
        if isinstance(a, dt.date):
            parts.append(a.isoformat())
        elif isinstance(a, str):
            parts.append(q(a))
        else:
            parts.append(str(a))
    return f"{pred}({', '.join(parts)})."


def comment_block(lines: Iterable[str]) -> list[str]:
    return [("% " + line).rstrip() for line in lines]


# ==========================================================================================
# countries.dl
# ==========================================================================================

def build_countries() -> str:
    version = _pycountry_version()
    out = comment_block([
        "GENERATED by facts/reference/build.py -- do not edit by hand.",
        "",
        "country(Code, Name): every ISO 3166-1 alpha-2 code, with the short name as",
        f"pycountry {version} gives it (pycountry packages the Debian iso-codes ISO 3166-1",
        "table). HK (Hong Kong) and MO (Macau) are here as ordinary codes: the rulebook",
        "treats HK as China and names Macau beside Country Group D:5 (RULE_NOTES §3.3).",
        "Kosovo has no ISO 3166-1 code and is not here.",
        f"Count: {len(pycountry.countries)}.",
    ])
    out.append("")
    for c in sorted(pycountry.countries, key=lambda c: c.alpha_2):
        out.append(fact("country", c.alpha_2, c.name))
    return "\n".join(out) + "\n"


def _pycountry_version() -> str:
    try:
        from importlib.metadata import version
        return version("pycountry")
    except Exception:  # pragma: no cover - metadata missing
        return "unknown"


# ==========================================================================================
# name -> code
# ==========================================================================================

def _exact(name: str) -> str | None:
    try:
        return str(pycountry.countries.lookup(name).alpha_2)
    except LookupError:
        return None


def _normalised(name: str) -> str:
    n = name.replace(" & ", " and ")
    n = re.sub(r"^The\s+", "", n)
    n = re.sub(r",\s*The$", "", n)
    return n


def _fuzzy(name: str) -> str | None:
    try:
        hits = pycountry.countries.search_fuzzy(name)
    except LookupError:
        return None
    if not hits:
        return None
    best = hits[0]
    names = [getattr(best, a, "") or "" for a in ("name", "official_name", "common_name")]
    if any(name.lower() in n.lower() for n in names):
        return str(best.alpha_2)
    return None


def resolve_names(groups_json: dict[str, Any]) -> dict[str, tuple[str | None, str]]:
    """Map every country name used in the JSON's groups to (code or None, how).

    Raises:
        SystemExit: a name no method maps, methods that disagree, or two names on one code.
    """
    names = sorted({n for g in GROUPS for n in groups_json["groups"][g]})
    aliases: dict[str, list[str]] = {}
    for alias, target in groups_json.get("aliases", {}).items():
        aliases.setdefault(target, []).append(alias)
    result: dict[str, tuple[str | None, str]] = {}
    errors: list[str] = []
    for name in names:
        if name in MANUAL:
            code, why = MANUAL[name]
            result[name] = (code, "manual: " + why)
            continue
        answers: list[tuple[str, str]] = []
        code = _exact(name)
        if code:
            answers.append(("exact", code))
        norm = _normalised(name)
        if norm != name and (code := _exact(norm)):
            answers.append((f"normalised '{norm}'", code))
        for alias in sorted(aliases.get(name, [])):
            if code := _exact(alias):
                answers.append((f"alias '{alias}'", code))
        if not answers and (code := _fuzzy(name)):
            answers.append(("fuzzy", code))
        codes = {c for _, c in answers}
        if not answers:
            errors.append(f"cannot map country name {name!r}: add it to MANUAL with a reason")
        elif len(codes) > 1:
            errors.append(f"methods disagree for {name!r}: {answers}; add it to MANUAL")
        else:
            result[name] = (answers[0][1], "; ".join(how for how, _ in answers))
    by_code: dict[str, list[str]] = {}
    for name, (code, _) in result.items():
        if code is not None:
            by_code.setdefault(code, []).append(name)
    for code, ns in sorted(by_code.items()):
        if len(ns) > 1 and code not in SHARED_CODES:
            errors.append(f"names {ns} all map to {code}; allow it in SHARED_CODES if right")
        if code == "HK":
            errors.append(f"{ns} map to HK: the EAR treats Hong Kong as China; do not list HK")
    if errors:
        raise SystemExit("build.py: name mapping failed:\n  " + "\n  ".join(errors))
    return result


# ==========================================================================================
# country_groups.dl
# ==========================================================================================

def _check_by_country(groups_json: dict[str, Any]) -> None:
    """The JSON carries each list twice (groups, byCountry): they must agree."""
    by_country = groups_json.get("byCountry", {})
    problems = []
    for family, table in sorted(by_country.items()):
        for name, gs in table.items():
            for g in gs:
                if name not in groups_json["groups"].get(g, []):
                    problems.append(f"byCountry says {name} in {g}; groups does not")
        for g in GROUPS:
            if g.startswith(family + ":") or g == family:
                for name in groups_json["groups"][g]:
                    if g not in table.get(name, []):
                        problems.append(f"groups says {name} in {g}; byCountry does not")
    if problems:
        raise SystemExit("build.py: inconsistent JSON:\n  " + "\n  ".join(problems))


def build_country_groups(groups_json: dict[str, Any],
                         mapping: dict[str, tuple[str | None, str]]) -> str:
    _check_by_country(groups_json)
    if groups_json.get("ecfrIssueDate") != SNAPSHOT.isoformat():
        raise SystemExit(f"build.py: expected eCFR issue {SNAPSHOT}, "
                         f"found {groups_json.get('ecfrIssueDate')}")
    members: dict[str, list[tuple[str, dt.date, dt.date]]] = {g: [] for g in GROUPS}
    unmapped: list[str] = []
    for g in GROUPS:
        seen: set[str] = set()
        for name in groups_json["groups"][g]:
            code = mapping[name][0]
            if code is None:
                unmapped.append(f"{name} ({g})")
                continue
            if code in seen:
                continue            # two spellings of one country in one group
            seen.add(code)
            start = SNAPSHOT if (code, g) in LATE else RULE_START
            members[g].append((code, start, OPEN_END))
    for code, g, start, end, _ in HISTORICAL:
        if any(c == code for c, _, _ in members[g]):
            raise SystemExit(f"build.py: {code} is already in {g} in the 2026 table")
        members[g].append((code, start, end))
    for code, g in LATE:
        if not any(c == code for c, _, _ in members[g]):
            raise SystemExit(f"build.py: LATE lists {code} in {g}, absent from the 2026 table")
    d5_codes = {c for c, _, _ in members["D:5"]}
    if d5_codes & {"MO", "HK"}:
        raise SystemExit("build.py: Macau/Hong Kong must not be in D:5")

    labels = groups_json.get("labels", {})
    src = groups_json.get("source", {}).get("url", "")
    out = comment_block([
        "GENERATED by facts/reference/build.py -- do not edit by hand.",
        "",
        "country_group(Code, Group, From, To): Code is in Country Group Group (Supp. No. 1 to",
        "15 CFR part 740) on every date D with From <= D <= To (both ends INCLUSIVE).",
        "",
        "Source: shared/ear/data/" + GROUPS_JSON + " (eCFR issue of",
        f"{SNAPSHOT}; built from {src};",
        "extract by seelpeed-debug/export-controls-agent-mcp, MIT; RULE_NOTES §0.3 key CG26).",
        "Groups: " + ", ".join(GROUPS) + ".",
        "",
        "DATING -- uncertainty U-GROUPS-2026:",
        f"  The JSON is a {SNAPSHOT} snapshot; 90 FR 4544 took effect {RULE_START}. Membership",
        f"  before {SNAPSHOT} is ASSUMED equal to the 2026 table (From = {RULE_START},",
        f"  To = {OPEN_END}) except for the changes listed here. The rulebook surfaces this",
        "  assumption as U-GROUPS-2026.",
        "Known changes encoded:",
    ])
    for code, g, start, end, why in HISTORICAL:
        out += comment_block(_wrap(f"- {code} {g} {start}..{end}: {why}.", "    "))
    for (code, g), who in sorted(LATE.items()):
        out += comment_block(_wrap(
            f"- {code} {g} only from {SNAPSHOT} ({who}): in the 2026 table but not on "
            f"{RULE_START}; change date unknown (see group_uncertain, U-GROUPS-AE).", "    "))
    out += comment_block([
        "",
        "group_uncertain(Code, Group, From, To, UncertaintyId): whether Code is in Group during",
        "[From, To] (inclusive) is not established; the country_group facts above give the",
        "reading stated here, and a conclusion that turns on that membership should carry Id.",
    ])
    for code, g, start, end, uid, why in UNCERTAIN:
        out += comment_block(_wrap(f"- {code} {g} {start}..{end} {uid}: {why}.", "    "))
    out += comment_block([
        "",
        "NOT encoded here, on purpose:",
        "- Hong Kong (HK): the EAR treats Hong Kong as China (the JSON aliases 'hong kong' to",
        "  'China (PRC)'; RULE_NOTES §3.3 [S: GIBSON]). HK is in no group here; the rulebook",
        "  maps HK -> CN.",
        "- Macau (MO) is NOT in D:5 (JSON note 'macau'; RULE_NOTES §3.3). It appears here only",
        "  in the groups the table lists it in (D:1, D:3, D:4); the rulebook names Macau",
        "  beside D:5 explicitly.",
        "- Ethiopia (ET) and Cyprus (CY) are NOT in D:5 (uncertainty U-D5-ET-CY, above).",
        "- The 2026 CCL's express naming of the UAE for '.b' items is a CCL change, not a",
        "  Country Group, and is not encoded (RULE_NOTES §4.2).",
        "- The JSON labels A:5 'STA-eligible (Tier 1) destinations': that is License",
        "  Exception STA's tiering, NOT the AI Diffusion 'Tier 1' (Supp. No. 5(a) to part",
        "  740, group \"supp5a\" in tiers.dl).",
        "",
        "Name -> code mapping (JSON name, code, how it was decided):",
    ])
    for name, (code, how) in sorted(mapping.items()):
        out += comment_block(_wrap(f"  {name} -> {code or 'NOT MAPPED'} ({how})", "      "))
    if unmapped:
        out += comment_block(["Left out (no ISO code): " + ", ".join(sorted(unmapped)) + "."])
    for g in GROUPS:
        rows = sorted(members[g])
        out.append("")
        out += comment_block([f"{g} -- {labels.get(g, '')} ({len(rows)})"])
        for code, start, end in rows:
            out.append(fact("country_group", code, g, start, end))
    out.append("")
    out += comment_block(["Flagged uncertainties about single memberships (see header)."])
    for code, g, start, end, uid, _ in UNCERTAIN:
        out.append(fact("group_uncertain", code, g, start, end, uid))
    return "\n".join(out) + "\n"


def _wrap(text: str, indent: str, width: int = 88) -> list[str]:
    words = text.split(" ")
    lines: list[str] = []
    cur = ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = indent + w
        else:
            cur = f"{cur} {w}" if cur else w
    if cur:
        lines.append(cur)
    return lines


# ==========================================================================================
# CCL cross-check for eccns.dl
# ==========================================================================================

_ECCN = re.compile(r"(?<![0-9A-Za-z])(\d[A-E]\d{3})((?:\.[a-z0-9]+)*)")
_CONT = re.compile(r"\s*(?:,\s*)?(?:(?:and|or)\s+)?(z(?:\.[a-z0-9]+)+)")


def mentions(text: str) -> list[str]:
    """ECCNs a CCL text names, expanding the CCL's abbreviations.

    Example: "3A001.z.1.a, z.2.a and 4A004.z.1" -> 3A001.z.1.a, 3A001.z.2.a, 4A004.z.1.
    """
    text = re.sub(r"\.\s+(?=[0-9a-z])", ".", text)   # "3A001.z. 1.b" -> "3A001.z.1.b"
    found: list[str] = []
    for m in _ECCN.finditer(text):
        base, suffix = m.group(1), m.group(2)
        found.append(base + suffix)
        pos = m.end()
        while suffix:
            c = _CONT.match(text, pos)
            if not c:
                break
            found.append(base + "." + c.group(1))
            pos = c.end()
    return found


def _covered_by(entry: str, text: str) -> set[str]:
    """What a license line or exception flag of ``entry`` covers: the sub-paragraphs of the
    entry it names, or else (e.g. software "for commodities controlled by ...") the entry."""
    own = {m for m in mentions(text) if m.split(".")[0] == entry and m != entry}
    return own or {entry}


def ccl_sets(ccl_json: dict[str, Any]) -> dict[str, set[str]]:
    """Derive from the CCL JSON: worldwide ((iii)(A)) and '.b' ((iii)(B)) lines, and the
    AIA / ACM / LPP exception flags ("Yes ..." only)."""
    sets: dict[str, set[str]] = {k: set() for k in ("iiiA", "iiiB", "AIA", "ACM", "LPP",
                                                    "entries", "mentioned")}
    for e in ccl_json["entries"]:
        eccn = e["eccn"]
        sets["entries"].add(eccn)
        blob = json.dumps(e, ensure_ascii=False)
        sets["mentioned"].update(mentions(blob))
        for line in e.get("countryChart", []):
            chart = line["countryChart"]
            if "742.6(a)(6)(iii)(A)" in chart:
                sets["iiiA"] |= _covered_by(eccn, line["control"])
            if "742.6(a)(6)(iii)(B)" in chart:
                sets["iiiB"] |= _covered_by(eccn, line["control"])
        for exc in ("AIA", "ACM", "LPP"):
            flag = e.get("licenceExceptionFlags", {}).get(exc)
            if flag and flag.strip().lower().startswith("yes"):
                sets[exc] |= _covered_by(eccn, flag)
    return sets


def read_unary_facts(path: Path) -> dict[str, set[str]]:
    """pred("X"). facts of a .dl file, by predicate (comments ignored)."""
    out: dict[str, set[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r'\s*([a-z_0-9]+)\("([^"]*)"\)\.', line)
        if m:
            out.setdefault(m.group(1), set()).add(m.group(2))
    return out


def _within(eccn: str, family: str) -> bool:
    return eccn == family or eccn.startswith(family + ".")


# Every difference between eccns.dl and the CCL JSON, explained. The check fails on any
# difference not listed here, and on any listed one that no longer occurs.
KNOWN_ECCN_DISCREPANCIES: dict[tuple[str, str], str] = {
    ("covered_a", "3E001"):
        "in 15 CFR 742.6(a)(6)(iii)(A) (eCFR Jan 2025, E742.6) and RULE_NOTES §4.1, but the "
        "2026 CCL JSON 3E001 entry has no line citing (iii)(A): its license table (parsed "
        "into 'heading') still reads 'RS ... 3A001.z, 3A090 (except 3A090.c) to D:1, D:4, "
        "D:5 ... See 742.6(a)(6)(iii)'. Encoded per 742.6; U-3E001-CCL",
    ("covered_b", "3E001"):
        "in 742.6(a)(6)(iii)(B) (E742.6), but no 2026 CCL JSON line cites (iii)(B) for "
        "3E001 (see covered_a). Encoded per 742.6; U-3E001-CCL",
    ("acm_eligible", "3E001"):
        "15 CFR 740.28(b) (E740.28) and RULE_NOTES §6.2 list 3E001 (for 3A001.z, 3A090); the "
        "2026 CCL JSON 3E001 entry has no ACM flag. Encoded per 740.28(b); U-3E001-CCL",
    ("acm_eligible", "4A004.z.1"):
        "740.28(b) lists 4A004.z; the 2026 CCL JSON 4A004 entry has no ACM flag. Encoded per "
        "740.28(b); U-ACM-4A004",
    ("acm_eligible", "4A004.z.2"):
        "as 4A004.z.1; U-ACM-4A004",
    ("AIA flag", "4E091"):
        "the CCL says 'AIA: Yes' for 4E091; on purpose it is not aia_eligible, which is the "
        "740.27(a)(1)/(a)(2)(i) chip route; 4E091's route is 740.27(a)(2)(ii)/(a)(3) "
        "(eccn_4e091)",
}


def check_eccns(ccl_json: dict[str, Any], eccns_path: Path) -> list[tuple[str, str, str]]:
    """Differences between eccns.dl and the CCL JSON: (predicate, eccn, what)."""
    facts = read_unary_facts(eccns_path)
    sets = ccl_sets(ccl_json)
    diffs: list[tuple[str, str, str]] = []

    def compare(pred: str, derived: set[str], label: str) -> None:
        ours = facts.get(pred, set())
        for e in sorted(ours - derived):
            diffs.append((pred, e, f"in eccns.dl, not in the CCL JSON's {label}"))
        for e in sorted(derived - ours):
            diffs.append((f"{label}", e, f"in the CCL JSON's {label}, not in {pred}"))

    compare("covered_a", sets["iiiA"], "(iii)(A) lines")
    compare("covered_b", sets["iiiB"], "(iii)(B) lines")
    compare("aia_eligible", sets["AIA"], "AIA flag")
    compare("lpp_eligible", sets["LPP"], "LPP flag")
    # ACM flags name families (3A001.z, 3A090, 5D002.z ...): compare by containment.
    for e in sorted(facts.get("acm_eligible", set())):
        if not any(_within(e, fam) for fam in sets["ACM"]):
            diffs.append(("acm_eligible", e, "in eccns.dl, under no ACM flag of the CCL JSON"))
    for fam in sorted(sets["ACM"]):
        if not any(_within(e, fam) for e in facts.get("acm_eligible", set())):
            diffs.append(("ACM flag", fam, "flagged ACM in the CCL JSON, no acm_eligible fact"))
    # Every ECCN string must exist in the JSON (as an entry, or a named sub-paragraph).
    for pred in sorted(facts):
        if pred in ("threshold",):
            continue
        for e in sorted(facts[pred]):
            if e.split(".")[0] not in sets["entries"]:
                diffs.append((pred, e, "base ECCN is not an entry of the CCL JSON"))
            elif "." in e and e not in sets["mentioned"]:
                diffs.append((pred, e, "sub-paragraph never named in the CCL JSON"))
    return diffs


def unexplained(diffs: list[tuple[str, str, str]]) -> tuple[list[Any], list[Any]]:
    """(differences not in KNOWN_ECCN_DISCREPANCIES, known ones that did not occur)."""
    seen = {(p, e) for p, e, _ in diffs}
    new = [d for d in diffs if (d[0], d[1]) not in KNOWN_ECCN_DISCREPANCIES]
    stale = [k for k in KNOWN_ECCN_DISCREPANCIES if k not in seen]
    return new, stale


# ==========================================================================================
# main
# ==========================================================================================

def build(data_dir: Path, out_dir: Path, quiet: bool = False) -> dict[str, str]:
    """Write countries.dl and country_groups.dl into out_dir; return {file: text}."""
    groups_json = json.loads((data_dir / GROUPS_JSON).read_text(encoding="utf-8"))
    mapping = resolve_names(groups_json)
    files = {
        "countries.dl": build_countries(),
        "country_groups.dl": build_country_groups(groups_json, mapping),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8", newline="\n")
    if not quiet:
        print(f"name -> code mapping ({len(mapping)} names):")
        for name, (code, how) in sorted(mapping.items()):
            print(f"  {name:45s} {code or '--':3s} {how}")
        for name in files:
            print(f"wrote {out_dir / name}")
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data_dir", nargs="?", default=str(DEFAULT_DATA_DIR),
                    help="folder with the two JSON files (default: ../shared/ear/data "
                         "relative to the repository root)")
    ap.add_argument("--out", default=str(HERE), help="output folder (default: this folder)")
    ap.add_argument("--quiet", action="store_true", help="print nothing but problems")
    args = ap.parse_args(argv)
    data_dir = Path(args.data_dir).resolve()
    if not (data_dir / GROUPS_JSON).exists():
        print(f"build.py: {data_dir / GROUPS_JSON} not found", file=sys.stderr)
        return 2
    build(data_dir, Path(args.out), args.quiet)

    ccl_json = json.loads((data_dir / CCL_JSON).read_text(encoding="utf-8"))
    diffs = check_eccns(ccl_json, HERE / "eccns.dl")
    new, stale = unexplained(diffs)
    if not args.quiet:
        print(f"eccns.dl vs {CCL_JSON}: {len(diffs)} known difference(s)")
        for p, e, what in diffs:
            if (p, e) in KNOWN_ECCN_DISCREPANCIES:
                print(f"  {p:14s} {e:14s} {KNOWN_ECCN_DISCREPANCIES[(p, e)]}")
    for p, e, what in new:
        print(f"UNEXPLAINED: {p} {e}: {what}", file=sys.stderr)
    for p, e in stale:
        print(f"STALE (no longer differs): {p} {e}", file=sys.stderr)
    return 1 if new or stale else 0


if __name__ == "__main__":
    sys.exit(main())
