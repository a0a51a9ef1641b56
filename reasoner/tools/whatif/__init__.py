"""What-if: ``search`` finds the smallest fact changes that flip an outcome; ``text`` prints them."""

from __future__ import annotations

from reasoner.tools.whatif.search import SetResult, WhatIfResult, what_if, what_if_set

__all__ = ["SetResult", "WhatIfResult", "what_if", "what_if_set"]
