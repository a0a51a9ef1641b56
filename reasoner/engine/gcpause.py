"""Pausing Python's cyclic garbage collector around allocation-heavy work."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the body with the cyclic collector off (restored after, if it was on).

    Evaluation and deciding allocate millions of small containers and make
    almost no reference cycles; with the collector on, each young-generation
    pass rescans the growing model, which costs more than the work itself.
    Acyclic garbage is still freed at once by reference counting; the few
    cycles made meanwhile wait for the next full collection.

    On leaving, what the body made and kept (a model: millions of rows) goes to the
    oldest generation (``gc.freeze`` then ``gc.unfreeze``): it is long-lived, and left
    in the youngest generation the first young collection would scan all of it (about
    a second for 10,000 transactions), then the next one again.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.freeze()
            gc.unfreeze()
            gc.enable()
