"""Errors and diagnostics: one diagnostic type, one exception root.

Every stage reports problems as :class:`Diagnostic` values (code, message,
span, help). Stages collect them; only the public entry points raise, with
one exception holding the whole list.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import FrozenInstanceError, dataclass, field

MAX_DIAGNOSTICS = 50


class Span:
    """Where a node came from: character offsets plus 1-based line/column.

    Spans never take part in equality of the nodes that carry them
    (``field(compare=False)`` on every AST node). Immutable; equal, hashed
    and shown by all seven values.

    A parser makes its spans with :meth:`in_text`: they keep the offsets and
    the text's shared :class:`LineTable`, and work out lines and columns only
    when asked. A policy set holds several spans a policy and reads their
    lines only for diagnostics, so they cost little to make and keep.
    """

    __slots__ = ("start", "end", "_where")
    __match_args__ = ("start", "end", "line", "column", "end_line", "end_column", "source")

    start: int
    end: int
    _where: LineTable | _Place

    def __init__(
        self,
        start: int,
        end: int,
        line: int,
        column: int,
        end_line: int,
        end_column: int,
        source: str | None = None,
    ):
        _set_start(self, start)
        _set_end(self, end)
        _set_where(self, _Place((line, column, end_line, end_column), source))

    @classmethod
    def in_text(cls, start: int, end: int, lines: LineTable) -> Span:
        """The span ``start:end`` of the text ``lines`` was made from."""
        span = _new(cls)
        _set_start(span, start)
        _set_end(span, end)
        _set_where(span, lines)
        return span

    def _place(self) -> tuple[int, int, int, int]:
        return self._where.place(self.start, self.end)

    @property
    def line(self) -> int:
        return self._place()[0]

    @property
    def column(self) -> int:
        return self._place()[1]

    @property
    def end_line(self) -> int:
        return self._place()[2]

    @property
    def end_column(self) -> int:
        return self._place()[3]

    @property
    def source(self) -> str | None:
        return self._where.source

    def with_source(self, source: str | None) -> Span:
        """This span, of the text named ``source``."""
        return Span(self.start, self.end, *self._place(), source)

    def _key(self) -> tuple:
        return (self.start, self.end, *self._place(), self._where.source)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Span:
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        start, end, line, column, end_line, end_column, source = self._key()
        return (f"Span(start={start!r}, end={end!r}, line={line!r}, column={column!r}, "
                f"end_line={end_line!r}, end_column={end_column!r}, source={source!r})")

    def __reduce__(self):
        return (Span, self._key())

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")


_new = object.__new__
_set_start = Span.start.__set__  # type: ignore[attr-defined]
_set_end = Span.end.__set__  # type: ignore[attr-defined]
_set_where = Span._where.__set__  # type: ignore[attr-defined]


class LineTable:
    """One text and its source name, shared by its spans: the offsets of its
    newlines are found the first time a span's line is asked for."""

    __slots__ = ("text", "source", "_newlines")

    def __init__(self, text: str, source: str | None = None):
        self.text = text
        self.source = source
        self._newlines: list[int] | None = None

    def place(self, start: int, end: int) -> tuple[int, int, int, int]:
        """(line, column, end line, end column) of ``start:end``, 1-based."""
        nl = self._newlines
        if nl is None:
            nl = self._newlines = [m.start() for m in _NEWLINE.finditer(self.text)]
        line = bisect_left(nl, start)
        column = start - nl[line - 1] if line else start + 1
        end_line = bisect_left(nl, end, line)
        end_column = end - nl[end_line - 1] if end_line else end + 1
        return line + 1, column, end_line + 1, end_column


class _Place:
    """The lines and columns of a span made with them (not from a text)."""

    __slots__ = ("lines", "source")

    def __init__(self, lines: tuple[int, int, int, int], source: str | None):
        self.lines = lines
        self.source = source

    def place(self, start: int, end: int) -> tuple[int, int, int, int]:
        return self.lines


_NEWLINE = re.compile("\n")


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
