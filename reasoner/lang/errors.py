"""The one error hierarchy of earlog; only the CLI turns errors into output."""

from __future__ import annotations

from dataclasses import dataclass

from reasoner.lang.span import NO_SPAN, Span, excerpt

__all__ = [
    "Diagnostic",
    "EarlogError",
    "ParseError",
    "ArityError",
    "UnsafeVariableError",
    "StratificationError",
    "UnknownPredicateError",
    "DuplicateRuleError",
    "MissingCitationError",
    "ScenarioError",
    "QueryError",
    "EngineError",
    "UnsupportedProgramError",
    "RenderError",
    "CheckFailed",
    "render_diagnostics",
    "decode_text",
]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in the input, with where it is and how to fix it."""

    span: Span
    message: str
    hint: str = ""
    code: str = "error"

    def render(self, sources: dict[str, str] | None = None) -> str:
        """Format like a compiler: location, message, excerpt with caret, hint."""
        if self.span.line > 0:
            where = f"{self.span}: "
        elif self.span.file and not self.span.file.startswith("<"):
            where = f"{self.span.file}: "
        else:
            where = ""
        kind = "warning" if self.code == "warning" else "error"
        out = [f"{where}{kind}: {self.message}"]
        text = (sources or {}).get(self.span.file)
        if text is None and self.span.line > 0:
            text = _read_quietly(self.span.file)
        if text:
            ex = excerpt(self.span, text)
            if ex:
                out.append(ex)
        if self.hint:
            out.append(f"hint: {self.hint}")
        return "\n".join(out)


def _read_quietly(path: str) -> str | None:
    """The file's text for an excerpt; bytes that are not UTF-8 show as U+FFFD (the
    error being reported may be that very byte)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except (OSError, ValueError):
        return None


class EarlogError(Exception):
    """Base of every error earlog reports to a user.

    Attributes:
        diagnostics: the problems, sorted by location.
        exit_code: the process exit code the CLI uses (1 for bad input).
        code: a short machine-readable kind, e.g. ``arity_mismatch``.
    """

    code = "error"
    exit_code = 1

    def __init__(self, message: str, span: Span = NO_SPAN, hint: str = "") -> None:
        super().__init__(message)
        self.diagnostics: tuple[Diagnostic, ...] = (
            Diagnostic(span, message, hint, self.code),
        )

    @property
    def span(self) -> Span:
        return self.diagnostics[0].span

    @property
    def hint(self) -> str:
        return self.diagnostics[0].hint

    def render(self, sources: dict[str, str] | None = None) -> str:
        return render_diagnostics(self.diagnostics, sources)


class ParseError(EarlogError):
    code = "parse_error"


class ArityError(EarlogError):
    code = "arity_mismatch"


class UnsafeVariableError(EarlogError):
    code = "unbound_variable"


class StratificationError(EarlogError):
    code = "cyclic_negation"


class UnknownPredicateError(EarlogError):
    code = "unknown_predicate"


class DuplicateRuleError(EarlogError):
    code = "duplicate_rule_id"


class MissingCitationError(EarlogError):
    code = "missing_citation"


class ScenarioError(EarlogError):
    code = "scenario_invalid"


class QueryError(EarlogError):
    code = "query_error"


class EngineError(EarlogError):
    code = "engine_error"


class UnsupportedProgramError(EngineError):
    code = "unsupported_program"


class RenderError(EarlogError):
    code = "render_error"


class CheckFailed(EarlogError):
    """Several problems found together; raised after all were collected.

    ``code`` is the kind of the first problem by location.
    """

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> None:
        ordered = tuple(sorted(diagnostics, key=lambda d: (d.span, d.message)))
        first = ordered[0]
        Exception.__init__(self, first.message)
        self.diagnostics = ordered
        self.code = first.code

    def __str__(self) -> str:
        return self.diagnostics[0].message


def render_diagnostics(
    diagnostics: tuple[Diagnostic, ...] | list[Diagnostic],
    sources: dict[str, str] | None = None,
) -> str:
    """Render problems in location order, then a count line when there are several."""
    body = "\n".join(d.render(sources) for d in diagnostics)
    n = len(diagnostics)
    if n > 1:
        body += f"\n{n} errors generated"
    return body


def decode_text(raw: bytes, file: str, error: type[EarlogError]) -> str:
    """UTF-8 text of ``raw`` (a BOM is dropped); raises ``error`` at the first bad byte.

    Example:
        >>> decode_text(b"p(1).", "f.dl", ParseError)
        'p(1).'
    """
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise error(
            f"expected UTF-8 text, found byte 0x{raw[exc.start]:02x}",
            Span(file, line, col, line, col + 1),
            "save the file as UTF-8",
        ) from None
