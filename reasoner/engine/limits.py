"""Bounds on one evaluation (derived facts, rounds of a recursion, seconds), per thread."""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Iterator

from reasoner.lang.errors import EngineError
from reasoner.lang.ir import Rule

__all__ = ["Limits", "DEFAULT_LIMITS", "current_limits", "limited", "Budget"]


@dataclass(frozen=True, slots=True)
class Limits:
    """How much one evaluation may do before it stops with an ``EngineError``.

    Attributes:
        facts: derived facts (given facts not counted).
        rounds: rounds of one recursive stratum (a chain of N steps takes about N).
        seconds: wall time; None for no time bound.
    """

    facts: int = 5_000_000
    rounds: int = 1_000_000
    seconds: float | None = None


def _from_environment() -> Limits:
    """``Limits()``, with EARLOG_MAX_FACTS and EARLOG_TIME_LIMIT (seconds) when set."""
    limits = Limits()
    try:
        if os.environ.get("EARLOG_MAX_FACTS"):
            limits = replace(limits, facts=int(os.environ["EARLOG_MAX_FACTS"]))
        if os.environ.get("EARLOG_TIME_LIMIT"):
            limits = replace(limits, seconds=float(os.environ["EARLOG_TIME_LIMIT"]))
    except ValueError:
        pass  # a malformed setting leaves the default
    return limits


DEFAULT_LIMITS = _from_environment()
_LOCAL = threading.local()


def current_limits() -> Limits:
    """The limits in force in this thread (``DEFAULT_LIMITS`` unless ``limited``)."""
    got: Limits = getattr(_LOCAL, "limits", DEFAULT_LIMITS)
    return got


@contextmanager
def limited(**bounds: int | float | None) -> Iterator[Limits]:
    """Evaluate under tighter limits in this thread, e.g. ``with limited(seconds=10):``.

    Each bound given replaces the current one if it is tighter.
    """
    before = current_limits()
    tighter = {k: v for k, v in bounds.items()
               if v is not None and (getattr(before, k) is None or v < getattr(before, k))}
    _LOCAL.limits = replace(before, **tighter)  # type: ignore[arg-type]
    try:
        yield _LOCAL.limits
    finally:
        _LOCAL.limits = before


class Budget:
    """What one evaluation has spent against its limits."""

    __slots__ = ("limits", "facts", "deadline")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.facts = 0
        self.deadline = None if limits.seconds is None else time.monotonic() + limits.seconds

    def spend(self, new: int, rules: list[Rule], rounds: int, pending: int = 0) -> None:
        """Count ``new`` derived facts of a round of ``rules`` (``pending``: facts of the
        round under way, not yet counted).

        Raises:
            EngineError: a limit is passed; the message names the rules.
        """
        self.facts += new
        if self.facts + pending > self.limits.facts:
            self._stop(f"{self.limits.facts:,} derived facts", rules)
        if rounds > self.limits.rounds:
            self._stop(f"{self.limits.rounds:,} rounds of one recursion", rules)
        if self.deadline is not None and time.monotonic() > self.deadline:
            self._stop(f"{self.limits.seconds:g} s", rules)

    def _stop(self, what: str, rules: list[Rule]) -> None:
        first = rules[0]
        names = ", ".join(dict.fromkeys(_name(r) for r in rules[:4]))
        raise EngineError(
            f"evaluation stopped after {what}: still deriving through {names}",
            first.span,
            "a recursive rule that computes new values (X = Y + 1) can derive facts "
            "without end: bound it with a comparison (Y < 100). For a very large input, "
            "split it (or use `earlog screen`), or raise EARLOG_MAX_FACTS")


def _name(rule: Rule) -> str:
    where = f" at {rule.span}" if rule.span.line > 0 else ""
    return f"rule {rule.meta.id or rule.head.pred}{where}"
