"""Citations as links: each provision to its point-in-time eCFR text or the Federal Register."""

from __future__ import annotations

import datetime as _dt
import re
from urllib.parse import quote

__all__ = ["cite_url", "ECFR", "FEDERAL_REGISTER"]

ECFR = "https://www.ecfr.gov/on/{date}/title-15"
FEDERAL_REGISTER = "https://www.federalregister.gov/citation/{volume}-FR-{page}"
# BIS's announcements (the May 13, 2025 guidance on the rule's rescission) have no
# CFR home; they link to BIS's press releases.
_BIS = "https://www.bis.gov/press-releases"

_SECTION = re.compile(r"^15 CFR (\d+)\.(\d+)(\S*)")
_SUPPLEMENT = re.compile(r"^Supp\. No\. (\d+) to part (\d+)")
_ECCN = re.compile(r"^ECCN ([0-9][A-E][0-9]{3})")
_FR = re.compile(r"^(\d+) FR (\d+)")


def cite_url(cite: str, as_of: _dt.date) -> str:
    """The public text of ``cite`` as it stood on ``as_of``.

    Sections and their paragraphs go to the eCFR's point-in-time view of title 15
    (the paragraph as a fragment), supplements to their appendix, an ECCN to the
    Commerce Control List (Supp. No. 1 to part 774), a Federal Register page to the
    Federal Register, a BIS announcement to BIS's press releases.

    Example:
        >>> cite_url("15 CFR 740.27(a)(1)", _dt.date(2025, 6, 16))
        'https://www.ecfr.gov/on/2025-06-16/title-15/section-740.27#p-740.27(a)(1)'
        >>> cite_url("90 FR 4544 (effective Jan. 13, 2025)", _dt.date(2025, 6, 16))
        'https://www.federalregister.gov/citation/90-FR-4544'

    Returns:
        The address; '' for a citation of no known form.
    """
    base = ECFR.format(date=as_of.isoformat())
    m = _SECTION.match(cite)
    if m:
        section = f"{m.group(1)}.{m.group(2)}"
        tail = m.group(3)
        paragraph = re.match(r"(\([^ ]*\))", tail)
        return f"{base}/section-{section}" + (f"#p-{section}{paragraph.group(1)}" if paragraph else "")
    m = _SUPPLEMENT.match(cite)
    if m:
        return f"{base}/part-{m.group(2)}/appendix-" + quote(
            f"Supplement No. {m.group(1)} to Part {m.group(2)}")
    if _ECCN.match(cite):
        return f"{base}/part-774/appendix-" + quote("Supplement No. 1 to Part 774")
    m = _FR.match(cite)
    if m:
        return FEDERAL_REGISTER.format(volume=m.group(1), page=m.group(2))
    if cite.startswith("BIS "):
        return _BIS
    return ""
