"""Benchmark (not a test): how fast the interview's analysis decides variants.

Run: python bench/interview.py

1. Batching: the single-field what-if variants of earlog's own scenarios, decided one by
   one (``decide`` per variant) and in batches (``interview.variants.decide_variants``:
   variants renamed apart, one evaluation per 150); both must agree.
2. The analysis of each public example and of tests/data/interview/acm-draft.yaml:
   fields considered, questions found, variants decided and wall time.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from reasoner.law.decision import decide  # noqa: E402
from reasoner.law.scenario import load_scenario  # noqa: E402
from reasoner.tools.interview.analysis import analyse  # noqa: E402
from reasoner.tools.interview.draft import load_draft  # noqa: E402
from reasoner.tools.interview.variants import apply_plain, decide_variants  # noqa: E402
from reasoner.tools.whatif.search import candidate_changes  # noqa: E402


def batching() -> None:
    print("variants    alone (s)  batched (s)  speed-up  same decisions")
    total_alone = total_batch = 0.0
    count = same_cites = 0
    for path in sorted((REPO / "facts" / "scenarios").glob("*.yaml")):
        scn = load_scenario(path)
        for tx in scn.transactions:
            variants = [(c,) for c in candidate_changes(decide(scn), tx.id)]
            t0 = time.perf_counter()
            alone = [next(d for d in decide(apply_plain(scn, v)).decisions
                          if d.transaction == tx.id) for v in variants]
            t1 = time.perf_counter()
            batch = decide_variants(scn, tx.id, variants)
            t2 = time.perf_counter()
            # citations come from first derivations, whose order the batch may change
            # (tests/unit/test_interview.py::_sans_citations); everything else must agree
            strip = [dataclasses.replace(d, citations=()) for d in alone]
            assert strip == [dataclasses.replace(d, citations=()) for d in batch], tx.id
            same_cites += sum(a.citations == b.citations for a, b in zip(alone, batch))
            total_alone, total_batch = total_alone + t1 - t0, total_batch + t2 - t1
            count += len(variants)
    print(f"{count:8,}  {total_alone:10.2f}  {total_batch:11.2f}  "
          f"{total_alone / total_batch:7.1f}x  yes (citations too in {same_cites:,})")


def analyses() -> None:
    files = sorted((REPO.parent / "shared" / "ear" / "examples").glob("*.yaml"))
    files.append(REPO / "tests" / "data" / "interview" / "acm-draft.yaml")
    print("\nscenario                         tx     fields  questions  variants  seconds")
    for path in files:
        draft = load_draft(path.read_text(encoding="utf-8"), str(path))
        for tx in draft.scenario.transactions:
            t0 = time.perf_counter()
            a = analyse(draft, tx.id)
            dt = time.perf_counter() - t0
            print(f"{draft.scenario.id:32} {tx.id:6} {len(a.considered):6}  "
                  f"{len(a.questions):9}  {a.variants:8,}  {dt:7.2f}")


def classes() -> None:
    from reasoner.law.rulebook import load_rulebook
    from reasoner.tools.interview.questions import country_classes

    found = country_classes(load_rulebook("ifr"))
    print(f"\ncountry classes the rulebook tells apart: {len(found)} "
          f"(of {sum(len(c) for c in found)} countries; largest {len(found[0])})")


if __name__ == "__main__":
    classes()
    batching()
    analyses()
