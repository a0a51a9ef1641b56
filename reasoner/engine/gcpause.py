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
    cycles made meanwhile wait for the next collection.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
