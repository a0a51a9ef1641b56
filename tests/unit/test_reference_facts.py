"""The reference facts in facts/reference/: syntax, codes, dated groups, tiers, ECCNs, and
that facts/reference/build.py regenerates its files byte for byte."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from reasoner.lang.ir import Fact
from reasoner.lang.syntax import parse_program

REPO = Path(__file__).resolve().parents[2]
REF = REPO / "facts" / "reference"
DL_FILES = sorted(REF.glob("*.dl"))
GENERATED = ("countries.dl", "country_groups.dl")
_DATA_CANDIDATES = (REPO.parent / "shared" / "ear" / "data", Path("/work/shared/ear/data"))
DATA = next((p for p in _DATA_CANDIDATES if (p / "country_groups_ecfr_2026-07-23.json").exists()),
            None)
needs_data = pytest.mark.skipif(DATA is None, reason="shared EAR data (../shared) not present")

D5_JAN_2025 = {"AF", "BY", "MM", "KH", "CF", "CN", "CD", "CU", "ER", "HT", "IR", "IQ", "KP",
               "LB", "LY", "NI", "RU", "SO", "SS", "SD", "SY", "VE", "ZW"}
TIER1 = {"US", "AU", "BE", "CA", "DK", "FI", "FR", "DE", "IE", "IT", "JP", "NL", "NZ", "NO",
         "KR", "ES", "SE", "TW", "GB"}
GROUPS = {"A:1", "A:2", "A:3", "A:4", "A:5", "A:6", "B", "D:1", "D:2", "D:3", "D:4", "D:5",
          "E:1", "E:2", "supp5a"}


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reference_build", REF / "build.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _facts(*names: str) -> list[Fact]:
    out: list[Fact] = []
    for name in names:
        path = REF / name
        out += list(parse_program(path.read_text(encoding="utf-8"), str(path)).facts)
    return out


def _of(pred: str, facts: list[Fact]) -> list[tuple]:
    return [f.values for f in facts if f.pred == pred]


def _group_at(group: str, day: dt.date) -> set[str]:
    rows = _of("country_group", _facts("country_groups.dl", "tiers.dl"))
    return {c for c, g, start, end in rows if g == group and start <= day <= end}


# ---- syntax -------------------------------------------------------------------------------

def test_reference_files_exist() -> None:
    names = {p.name for p in DL_FILES}
    assert {"countries.dl", "country_groups.dl", "tiers.dl", "eccns.dl"} <= names


@pytest.mark.parametrize("path", DL_FILES, ids=lambda p: p.name)
def test_every_file_parses_as_facts_only(path: Path) -> None:
    program = parse_program(path.read_text(encoding="utf-8"), str(path))
    assert program.facts, f"{path.name} has no facts"
    assert not program.rules, f"{path.name} should hold facts only"


def _no_duplicate_args(facts: tuple[Fact, ...]) -> bool:
    keys = [(f.pred, f.values) for f in facts]
    return len(keys) == len(set(keys))


@pytest.mark.parametrize("path", DL_FILES, ids=lambda p: p.name)
def test_no_duplicate_facts(path: Path) -> None:
    program = parse_program(path.read_text(encoding="utf-8"), str(path))
    assert _no_duplicate_args(program.facts)


# ---- countries and codes ------------------------------------------------------------------

def test_countries_are_iso_alpha2() -> None:
    import pycountry
    rows = _of("country", _facts("countries.dl"))
    assert {c for c, _ in rows} == {c.alpha_2 for c in pycountry.countries}
    assert ("CN", "China") in rows and ("MO", "Macao") in rows and ("HK", "Hong Kong") in rows


def test_every_group_code_is_a_country() -> None:
    known = {c for c, _ in _of("country", _facts("countries.dl"))}
    facts = _facts("country_groups.dl", "tiers.dl")
    used = {row[0] for row in _of("country_group", facts)}
    used |= {row[0] for row in _of("group_uncertain", facts)}
    assert used and used <= known, sorted(used - known)


def test_group_rows_are_well_formed() -> None:
    facts = _facts("country_groups.dl", "tiers.dl")
    for c, g, start, end in _of("country_group", facts):
        assert g in GROUPS, g
        assert isinstance(start, dt.date) and isinstance(end, dt.date) and start <= end
        assert start >= dt.date(2025, 1, 13)
    for c, g, start, end, uid in _of("group_uncertain", facts):
        assert g in GROUPS and start <= end and uid.startswith("U-")


# ---- D:5, Macau, Hong Kong ----------------------------------------------------------------

def test_d5_on_effective_date_is_the_23() -> None:
    assert _group_at("D:5", dt.date(2025, 1, 13)) == D5_JAN_2025


def test_d5_on_snapshot_date_is_22_without_cambodia() -> None:
    assert _group_at("D:5", dt.date(2026, 7, 23)) == D5_JAN_2025 - {"KH"}


def test_cambodia_leaves_d5_on_2026_02_03() -> None:
    assert "KH" in _group_at("D:5", dt.date(2026, 2, 2))
    assert "KH" not in _group_at("D:5", dt.date(2026, 2, 3))
    assert "KH" in _group_at("D:1", dt.date(2026, 7, 23))


def test_macau_and_hong_kong_never_in_d5() -> None:
    rows = _of("country_group", _facts("country_groups.dl", "tiers.dl"))
    assert not [r for r in rows if r[1] == "D:5" and r[0] in ("MO", "HK")]


def test_hong_kong_in_no_group() -> None:
    rows = _of("country_group", _facts("country_groups.dl", "tiers.dl"))
    assert not [r for r in rows if r[0] == "HK"]


def test_macau_is_in_its_listed_groups_only() -> None:
    rows = _of("country_group", _facts("country_groups.dl"))
    assert {g for c, g, _, _ in rows if c == "MO"} == {"D:1", "D:3", "D:4"}


def test_ethiopia_and_cyprus_not_d5_but_flagged() -> None:
    facts = _facts("country_groups.dl")
    assert not [r for r in _of("country_group", facts) if r[1] == "D:5" and r[0] in ("ET", "CY")]
    flagged = {(c, g, uid) for c, g, _, _, uid in _of("group_uncertain", facts)}
    assert {("ET", "D:5", "U-D5-ET-CY"), ("CY", "D:5", "U-D5-ET-CY")} <= flagged


def test_uae_a5_only_from_snapshot_and_flagged_before() -> None:
    assert "AE" not in _group_at("A:5", dt.date(2025, 6, 1))
    assert "AE" in _group_at("A:5", dt.date(2026, 7, 23))
    flagged = {(c, g, end) for c, g, _, end, uid in
               _of("group_uncertain", _facts("country_groups.dl")) if uid == "U-GROUPS-AE"}
    assert ("AE", "A:5", dt.date(2026, 7, 22)) in flagged


def test_e_groups_are_inside_d5() -> None:
    day = dt.date(2025, 1, 13)
    e = _group_at("E:1", day) | _group_at("E:2", day)
    assert e == {"IR", "KP", "SY", "CU"} and e <= _group_at("D:5", day)


# ---- tiers --------------------------------------------------------------------------------

def test_tier1_is_exactly_the_19() -> None:
    rows = _of("country_group", _facts("tiers.dl"))
    assert {r[0] for r in rows if r[1] == "supp5a"} == TIER1
    assert len([r for r in rows if r[1] == "supp5a"]) == 19
    assert _group_at("supp5a", dt.date(2025, 1, 13)) == TIER1


def test_supp5b_has_no_facts() -> None:
    rows = _of("country_group", _facts("country_groups.dl", "tiers.dl"))
    assert not [r for r in rows if r[1] in ("supp5b", "Supp5b")]


def test_tiers_file_names_its_uncertainties() -> None:
    text = (REF / "tiers.dl").read_text(encoding="utf-8")
    for uid in ("U-SUPP5-SOURCE", "U-US-TIER1", "U-SUPP5B"):
        assert uid in text


# ---- ECCNs and thresholds -----------------------------------------------------------------

def _eccns(pred: str) -> set[str]:
    return {args[0] for args in _of(pred, _facts("eccns.dl"))}


def test_covered_families_sizes_and_shape() -> None:
    a, b = _eccns("covered_a"), _eccns("covered_b")
    assert len(a) == 35 and len(b) == 35
    assert a & b == {"3D001", "3E001", "4D001", "4D090", "4E001", "5E002", "5E992"}
    assert {"3A090.a", "4A090.a", "5A992.z.1", "5D002.z.9.a"} <= a
    assert {"3A090.b", "4A090.b", "5A992.z.2", "5D002.z.9.b", "4A004.z.2"} <= b


def test_lpp_is_commodities_only_and_inside_covered_a() -> None:
    lpp, comm = _eccns("lpp_eligible"), _eccns("commodity_eccn")
    assert len(lpp) == 18 and lpp <= comm and lpp <= _eccns("covered_a")


def test_aia_and_acm_consistency() -> None:
    aia, acm = _eccns("aia_eligible"), _eccns("acm_eligible")
    assert aia <= _eccns("covered_a") and "3E001" not in aia and "4E091" not in aia
    assert _eccns("aia_designer_condition") <= aia
    assert acm == _eccns("covered_a") | _eccns("covered_b")
    assert "4E091" not in acm and _eccns("eccn_4e091") == {"4E091"}


def test_uncertain_eccn_facts_refer_to_real_facts() -> None:
    facts = _facts("eccns.dl")
    for eccn, pred, uid in _of("eccn_uncertain", facts):
        assert (eccn,) in _of(pred, facts), (eccn, pred)
        assert uid.startswith("U-")


def test_thresholds_are_exact() -> None:
    t = dict(_of("threshold", _facts("eccns.dl")))
    assert t["lpp_cap"] == 26_900_000 and t["allocation"] == 790_000_000
    assert t["aia_report"] == 253_000_000
    assert t["model_ops"] == 10**26 and isinstance(t["model_ops"], int)
    assert t["derived_abs"] == 25 * 10**24 and t["derived_frac"] == Decimal("0.25")
    assert (t["tpp_a"], t["tpp_a_dense"], t["density_a"]) == (4800, 1600, Decimal("5.92"))
    assert (t["tpp_b_low"], t["density_b_low"], t["density_b_mid"]) == \
        (2400, Decimal("1.6"), Decimal("3.2"))


# ---- against the shared JSON --------------------------------------------------------------

@needs_data
@pytest.mark.parametrize("pred", ["covered_a", "covered_b", "commodity_eccn", "aia_eligible",
                                  "aia_designer_condition", "acm_eligible", "lpp_eligible",
                                  "eccn_4e091"])
def test_every_eccn_is_in_the_ccl_json(pred: str) -> None:
    build = _build_module()
    assert DATA is not None
    ccl = json.loads((DATA / build.CCL_JSON).read_text(encoding="utf-8"))
    sets = build.ccl_sets(ccl)
    missing = []
    for e in sorted(_eccns(pred)):
        base = e.split(".")[0]
        if base not in sets["entries"] or ("." in e and e not in sets["mentioned"]):
            missing.append(e)
    assert not missing, f"{pred}: not found in the CCL JSON: {missing}"


@needs_data
def test_eccns_match_ccl_json_up_to_known_discrepancies() -> None:
    build = _build_module()
    assert DATA is not None
    ccl = json.loads((DATA / build.CCL_JSON).read_text(encoding="utf-8"))
    diffs = build.check_eccns(ccl, REF / "eccns.dl")
    new, stale = build.unexplained(diffs)
    assert not new, f"unexplained differences from the CCL JSON: {new}"
    assert not stale, f"listed discrepancies that no longer occur: {stale}"


@needs_data
def test_thresholds_appear_in_the_ccl_text() -> None:
    assert DATA is not None
    ccl = json.loads((DATA / "ccl_advanced_computing_ecfr_2026-07-23.json").read_text("utf-8"))
    entries = {e["eccn"]: json.dumps(e, ensure_ascii=False) for e in ccl["entries"]}
    for needle in ("of 4800 or more", "1600 or more and a 'performance density' of 5.92",
                   "2400 or more and less than 4800", "1.6 or more and less than 5.92",
                   "3.2 or more and less than 5.92"):
        assert needle in entries["3A090"], needle
    assert "10 26 or more" in entries["4E091"] and "2.5 × 10 25" in entries["4E091"]
    assert "25 percent" in entries["4E091"]


@needs_data
def test_build_regenerates_identical_files(tmp_path: Path) -> None:
    build = _build_module()
    assert DATA is not None
    build.build(DATA, tmp_path, quiet=True)
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (REF / name).read_bytes(), name


@needs_data
def test_build_main_passes_its_own_checks(tmp_path: Path) -> None:
    build = _build_module()
    assert build.main([str(DATA), "--out", str(tmp_path), "--quiet"]) == 0


# ---- the name mapping fails loudly --------------------------------------------------------

def _tiny_groups(d5: list[str]) -> dict:
    build = _build_module()
    return {"groups": {g: (d5 if g == "D:5" else []) for g in build.GROUPS}, "aliases": {}}


def test_unknown_name_stops_the_build() -> None:
    build = _build_module()
    with pytest.raises(SystemExit, match="Atlantis"):
        build.resolve_names(_tiny_groups(["Atlantis"]))


def test_fuzzy_lookup_does_not_map_kosovo_to_serbia() -> None:
    build = _build_module()
    assert build._fuzzy("Kosovo") is None
    assert build._fuzzy("Brunei") == "BN"


def test_two_names_on_one_code_stop_the_build() -> None:
    build = _build_module()
    with pytest.raises(SystemExit, match="all map to"):
        build.resolve_names(_tiny_groups(["Russia", "Russian Federation"]))
