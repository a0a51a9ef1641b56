"""Research memos: ``document`` builds a format-neutral memo; ``markdown``, ``html`` and
``docx`` write it."""

from __future__ import annotations

from reasoner.tools.memo.document import Memo, build_memo

__all__ = ["Memo", "build_memo"]
