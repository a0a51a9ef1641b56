"""The Commerce Control List's ECCNs, for checking what a scenario declares."""

from __future__ import annotations

__all__ = ["ECCN_HEADINGS", "EXTRACT_PARAGRAPHS", "Z_PATHS", "eccn_problem"]

# Every ECCN heading of Supp. No. 1 to 15 CFR part 774 in the eCFR issue of 2026-07-23
# (633 entries): src/data/ccl.json of github.com/seelpeed-debug/export-controls-agent-mcp
# at commit 1c2896ba2f92339be6a48866304fa9f7d1eb5d22 (MIT; generated from
# https://www.ecfr.gov/api/versioner/v1/full/2026-07-23/title-15.xml?part=774), the same
# extract RULE_NOTES §0.3 cites as CCL26. A 2026 list: an ECCN removed since January 2025
# would be rejected, one added since accepted.
ECCN_HEADINGS: frozenset[str] = frozenset("""
    0A002 0A501 0A502 0A503 0A504 0A505 0A506 0A507 0A508 0A509 0A521 0A602 0A604 0A606
    0A614 0A617 0A919 0A977 0A978 0A979 0A980 0A981 0A982 0A983 0A998 0A999 0B501 0B505
    0B521 0B602 0B604 0B606 0B614 0B617 0B999 0C521 0C606 0C617 0D001 0D501 0D505 0D521
    0D602 0D604 0D606 0D617 0D977 0D999 0E001 0E501 0E502 0E504 0E505 0E521 0E602 0E604
    0E606 0E614 0E617 0E977 0E982 1A001 1A002 1A003 1A004 1A005 1A006 1A007 1A008 1A101
    1A102 1A202 1A225 1A226 1A227 1A231 1A290 1A607 1A613 1A984 1A985 1A995 1A999 1B001
    1B002 1B003 1B018 1B101 1B102 1B115 1B116 1B117 1B118 1B119 1B201 1B225 1B226 1B228
    1B230 1B231 1B232 1B233 1B234 1B607 1B608 1B613 1B999 1C001 1C002 1C003 1C004 1C005
    1C006 1C007 1C008 1C009 1C010 1C011 1C018 1C101 1C102 1C107 1C111 1C116 1C117 1C118
    1C202 1C210 1C216 1C225 1C226 1C227 1C228 1C229 1C230 1C231 1C232 1C233 1C234 1C235
    1C236 1C237 1C239 1C240 1C241 1C298 1C350 1C351 1C353 1C354 1C355 1C395 1C607 1C608
    1C980 1C982 1C983 1C984 1C988 1C990 1C991 1C992 1C995 1C996 1C997 1C998 1C999 1D001
    1D002 1D003 1D018 1D101 1D103 1D201 1D390 1D607 1D608 1D613 1D993 1D999 1E001 1E002
    1E101 1E102 1E103 1E104 1E201 1E202 1E203 1E350 1E351 1E355 1E607 1E608 1E613 1E994
    1E998 2A001 2A101 2A225 2A226 2A290 2A291 2A983 2A984 2A991 2A992 2A993 2A994 2A999
    2B001 2B002 2B003 2B004 2B005 2B006 2B007 2B008 2B009 2B018 2B104 2B105 2B109 2B116
    2B117 2B119 2B120 2B121 2B122 2B201 2B204 2B206 2B207 2B209 2B225 2B226 2B227 2B228
    2B229 2B230 2B231 2B232 2B233 2B350 2B351 2B910 2B991 2B992 2B993 2B996 2B997 2B998
    2B999 2D001 2D002 2D003 2D018 2D101 2D201 2D202 2D290 2D351 2D352 2D910 2D983 2D984
    2D991 2D992 2D993 2D994 2E001 2E002 2E003 2E018 2E101 2E201 2E290 2E301 2E903 2E910
    2E983 2E984 2E991 2E993 2E994 3A001 3A002 3A003 3A069 3A090 3A101 3A201 3A225 3A226
    3A227 3A228 3A229 3A230 3A231 3A232 3A233 3A234 3A611 3A901 3A904 3A980 3A981 3A991
    3A992 3A999 3B001 3B002 3B611 3B903 3B904 3B991 3B992 3B993 3B994 3C001 3C002 3C003
    3C004 3C005 3C006 3C907 3C908 3C909 3C992 3D001 3D002 3D003 3D004 3D005 3D101 3D201
    3D202 3D611 3D901 3D907 3D980 3D991 3D992 3D993 3D994 3E001 3E003 3E004 3E069 3E101
    3E102 3E201 3E202 3E611 3E901 3E905 3E980 3E991 3E992 3E993 3E994 4A001 4A003 4A004
    4A005 4A090 4A101 4A102 4A611 4A906 4A980 4A994 4D001 4D004 4D090 4D906 4D980 4D993
    4D994 4E001 4E091 4E906 4E980 4E992 4E993 5A001 5A002 5A003 5A004 5A101 5A611 5A980
    5A991 5A992 5B001 5B002 5B991 5C991 5D001 5D002 5D101 5D980 5D991 5D992 5E001 5E002
    5E101 5E980 5E991 5E992 6A001 6A002 6A003 6A004 6A005 6A006 6A007 6A008 6A102 6A103
    6A107 6A108 6A202 6A203 6A205 6A225 6A226 6A293 6A611 6A991 6A992 6A993 6A994 6A995
    6A996 6A997 6A998 6A999 6B002 6B004 6B007 6B008 6B108 6B619 6B995 6C002 6C004 6C005
    6C992 6C994 6D001 6D002 6D003 6D102 6D103 6D201 6D619 6D991 6D992 6D993 6E001 6E002
    6E003 6E101 6E201 6E202 6E619 6E991 6E992 6E993 7A001 7A002 7A003 7A004 7A005 7A006
    7A008 7A101 7A102 7A103 7A104 7A105 7A106 7A107 7A115 7A116 7A117 7A611 7A994 7B001
    7B002 7B003 7B101 7B102 7B103 7B611 7B994 7D001 7D002 7D003 7D004 7D005 7D101 7D102
    7D103 7D611 7D994 7E001 7E002 7E003 7E004 7E101 7E102 7E104 7E611 7E994 8A001 8A002
    8A018 8A609 8A620 8A992 8B001 8B609 8B620 8C001 8C609 8D002 8D609 8D620 8D992 8D999
    8E001 8E002 8E609 8E620 8E992 9A001 9A002 9A003 9A004 9A005 9A006 9A007 9A008 9A009
    9A010 9A011 9A012 9A018 9A101 9A102 9A103 9A104 9A105 9A106 9A107 9A108 9A109 9A110
    9A111 9A115 9A116 9A117 9A118 9A119 9A120 9A515 9A604 9A610 9A619 9A620 9A980 9A990
    9A991 9A992 9B001 9B002 9B003 9B004 9B005 9B006 9B007 9B008 9B009 9B010 9B104 9B105
    9B106 9B115 9B116 9B117 9B515 9B604 9B610 9B619 9B620 9B990 9B991 9C110 9C610 9C619
    9D001 9D002 9D003 9D004 9D005 9D018 9D101 9D103 9D104 9D105 9D515 9D604 9D610 9D619
    9D620 9D990 9D991 9E001 9E002 9E003 9E018 9E101 9E102 9E515 9E604 9E610 9E619 9E620
    9E990 9E991 9E993
""".split())

# The first-level paragraphs of the ECCNs in the AI Diffusion extract
# (shared/ear/data/ccl_advanced_computing_ecfr_2026-07-23.json), read from each entry's
# List of Items Controlled: [Reserved] paragraphs and paragraphs of Notes and Technical
# Notes are left out. An empty tuple: the entry has no lettered paragraphs.
EXTRACT_PARAGRAPHS: dict[str, tuple[str, ...]] = {
    "3A001": ("a", "b", "c", "d", "e", "f", "g", "h", "i", "z"),  # j-y reserved
    "3A090": ("a", "b", "c"),                  # c: high bandwidth memory (HBM)
    "3D001": (),
    "3E001": (),                               # its a.-c. are a Note's, not paragraphs
    "4A003": ("b", "c", "g", "z"),             # a, d-f, h-y reserved
    "4A004": ("a", "b", "c", "z"),             # d-y reserved
    "4A005": ("z",),                           # a-y reserved
    "4A090": ("a", "b"),
    "4D001": ("a", "b"),
    "4D090": (),
    "4E001": ("a", "b", "c"),
    "4E091": (),
    "5A002": ("a", "b", "c", "d", "e", "z"),   # f-y reserved; g.-j. are a Note's
    "5A004": ("a", "b", "z"),                  # c-y reserved
    "5A992": ("c", "z"),                       # a, b, d-y reserved
    "5D002": ("a", "b", "c", "z"),             # d, e-y reserved
    "5D992": ("c", "z"),                       # a, b, d-y reserved
    "5E002": ("a", "b"),
    "5E992": ("b",),                           # a reserved
}

# The ".z" paragraphs (15 CFR 742.6(a)(6)(iii)(A)-(B); facts/reference/eccns.dl), complete.
Z_PATHS: frozenset[str] = frozenset(
    [f"3A001.z.{n}.{x}" for n in range(1, 5) for x in "ab"]
    + [f"4A003.z.{n}.{x}" for n in range(1, 3) for x in "ab"]
    + ["4A004.z.1", "4A004.z.2", "4A005.z.1", "4A005.z.2", "5A992.z.1", "5A992.z.2",
       "5D992.z.1", "5D992.z.2"]
    + [f"5A002.z.{n}.{x}" for n in range(1, 6) for x in "ab"]
    + [f"5A004.z.{n}.{x}" for n in range(1, 3) for x in "ab"]
    + [f"5D002.z.{n}.{x}" for n in range(1, 10) for x in "ab"]
)


def eccn_problem(eccn: str) -> tuple[str, str] | None:
    """Why a well-formed ECCN does not exist, as (message, hint); None when it may exist.

    ``EAR99`` and every ECCN heading of the CCL are accepted; for the ECCNs of the AI
    Diffusion extract, the first paragraph must be one the entry has, and a ".z" path
    must be complete or a prefix of one.

    >>> eccn_problem("3A090.a") is None, eccn_problem("3A991.a") is None
    (True, True)
    >>> eccn_problem("4E091.b")[0]
    "ECCN 4E091 has no paragraph 'b'"
    """
    if eccn == "EAR99":
        return None
    head, _, rest = eccn.partition(".")
    if head not in ECCN_HEADINGS:
        near = sorted(e for e in ECCN_HEADINGS if e[:2] == head[:2]
                      and sum(a != b for a, b in zip(e, head)) == 1)
        guess = ("did you mean " + " or ".join(f"'{e}'" for e in near[:3]) + "? ") if near else ""
        return (f"no ECCN '{head}' in the Commerce Control List",
                f"{guess}Supp. No. 1 to part 774 has no such entry; an item on no entry is EAR99")
    paragraphs = EXTRACT_PARAGRAPHS.get(head)
    if paragraphs is None or not rest:
        return None
    first = rest.split(".")[0]
    if first not in paragraphs:
        have = ", ".join(f"{head}.{p}" for p in paragraphs) or f"only '{head}' itself"
        return f"ECCN {head} has no paragraph '{first}'", f"its paragraphs are: {have}"
    if first == "z" and not any(p == eccn or p.startswith(eccn + ".") for p in Z_PATHS):
        have = ", ".join(sorted(p for p in Z_PATHS if p.startswith(head + ".")))
        return f"ECCN {head} has no paragraph '{rest}'", f"its .z paragraphs are: {have}"
    return None
