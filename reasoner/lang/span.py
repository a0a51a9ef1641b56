"""Source locations: where in which file a piece of text came from."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Span", "NO_SPAN", "excerpt"]


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A region of a source file; lines and columns count from 1.

    Example:
        >>> str(Span("rules.dl", 3, 7))
        'rules.dl:3:7'
    """

    file: str
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    @property
    def width(self) -> int:
        """Columns covered on the first line (at least 1)."""
        if self.end_line == self.line and self.end_col > self.col:
            return self.end_col - self.col
        return 1


NO_SPAN = Span("<input>", 0, 0)


def excerpt(span: Span, text: str) -> str:
    """Render the line of ``text`` that ``span`` points into, with a caret.

    Args:
        span: where to point.
        text: the whole source text the span refers to.

    Returns:
        Two lines (source line and caret line), or "" when the line is absent.

    Example:
        >>> print(excerpt(Span("f", 1, 5, 1, 8), "ab :- cd."))
            1 | ab :- cd.
              |     ^^^
    """
    lines = text.splitlines()
    if span.line < 1 or span.line > len(lines):
        return ""
    src = lines[span.line - 1]
    gutter = f"{span.line:5d} | "
    pad = " " * (len(gutter) - 2) + "| "
    caret = " " * max(span.col - 1, 0) + "^" * span.width
    return f"{gutter}{src}\n{pad}{caret}"
