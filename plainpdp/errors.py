"""Errors and diagnostics: one diagnostic type, one exception root.

Every stage reports problems as :class:`Diagnostic` values (code, message,
span, help). Stages collect them; only the public entry points raise, with
one exception holding the whole list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_DIAGNOSTICS = 50


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node came from: character offsets plus 1-based line/column.

    Spans never take part in equality of the nodes that carry them
    (``field(compare=False)`` on every AST node).
    """

    start: int
    end: int
    line: int
    column: int
    end_line: int
    end_column: int
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in some input: what, where, and how to fix it."""

    code: str
    message: str
    span: Span | None = None
    help: str | None = None
    severity: str = "error"
    source_text: str | None = field(default=None, compare=False, repr=False)

    def sort_key(self) -> tuple:
        s = self.span
        if s is None:
            return ("", 0, 0, self.code, self.message)
        return (s.source or "", s.line, s.column, self.code, self.message)

    def render(self, source_text: str | None = None) -> str:
        """``path:line:col: error[code]: message``, the line, a caret, the help."""
        text = source_text if source_text is not None else self.source_text
        s = self.span
        if s is None:
            head = f"{self.severity}[{self.code}]: {self.message}"
            return head + (f"\n  = help: {self.help}" if self.help else "")
        where = f"{s.source or '<input>'}:{s.line}:{s.column}"
        out = [f"{where}: {self.severity}[{self.code}]: {self.message}"]
        if text is not None:
            lines = text.splitlines()
            if 1 <= s.line <= len(lines):
                src = lines[s.line - 1].expandtabs(1)
                width = 1
                if s.end_line == s.line and s.end_column > s.column:
                    width = s.end_column - s.column
                width = max(1, min(width, len(src) - s.column + 1))
                gutter = " " * len(str(s.line))
                out.append(f"{gutter} |")
                out.append(f"{s.line} | {src}")
                out.append(f"{gutter} | {' ' * (s.column - 1)}{'^' * width}")
        if self.help:
            out.append(f"  = help: {self.help}")
        return "\n".join(out)


def finish_diagnostics(diags: list[Diagnostic]) -> list[Diagnostic]:
    """Sort, de-duplicate and cap a list of diagnostics."""
    seen: set = set()
    out: list[Diagnostic] = []
    for d in sorted(diags, key=Diagnostic.sort_key):
        key = d.sort_key()
        if key in seen:
            continue
        seen.add(key)
        out.append(d)
    return out[:MAX_DIAGNOSTICS]


class PlainPDPError(Exception):
    """Root of every error plainpdp raises to its users."""

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None):
        super().__init__(message)
        self.message = message
        self.diagnostics: list[Diagnostic] = list(diagnostics or [])

    def render(self) -> str:
        """Human-readable text: each diagnostic rendered, or the message."""
        if not self.diagnostics:
            return f"error: {self.message}"
        return "\n".join(d.render() for d in self.diagnostics)


class ParseError(PlainPDPError):
    """Policy, schema or uid text that does not parse."""


class PolicySetError(PlainPDPError):
    """A policy set that cannot be built (duplicate ids, bad scope rules)."""


class SchemaError(PlainPDPError):
    """A schema that does not parse or is inconsistent."""


class ValidationError(PlainPDPError):
    """Policies that do not validate against a schema."""


class EntityError(PlainPDPError):
    """Entity data that is malformed or contradicts the schema or store."""


class RequestError(PlainPDPError):
    """An authorization request that cannot be decided as given."""


class EvaluationError(Exception):
    """A Cedar evaluation error inside one policy.

    Internal: the evaluator catches it, skips the policy and records it on
    the decision (Cedar semantics). It never escapes to a user.
    """

    __slots__ = ("message",)

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
