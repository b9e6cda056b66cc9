"""Cedar string literals: escapes exactly as Cedar (Rust's string rules) reads them.

Valid escapes: ``\\n \\r \\t \\\\ \\0 \\' \\"``, ``\\xNN`` (two hex digits, at most
``\\x7F``) and ``\\u{...}`` (1 to 6 hex digits, ``_`` allowed after the first,
a Unicode scalar value). A raw carriage return is not allowed. In a ``like``
pattern ``\\*`` is a literal star and every other ``*`` (even one written
``\\u{2a}``) is a wildcard, as in Cedar.

Problems are returned as :class:`BadEscape` ranges of the literal's body, so a
diagnostic can underline just ``\\q`` rather than the whole string.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ..errors import Diagnostic, ParseError, Span
from .ast import WILDCARD, LikePattern

_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "0": "\0", "'": "'", '"': '"'}
_HEX = frozenset("0123456789abcdefABCDEF")
_SPECIAL = re.compile(r"[\\\r]")
_HELP = "valid escapes are \\n \\r \\t \\\\ \\0 \\' \\\" \\x00 to \\x7f and \\u{...}"

# A `*` written `\*` in a pattern: a literal star, kept apart from wildcards.
_STAR = object()


class BadEscape(NamedTuple):
    """An invalid escape: ``body[start:end]``, and why it is invalid."""

    start: int
    end: int
    reason: str


def unescape(body: str) -> tuple[str, list[BadEscape]]:
    """The value of a string literal whose text between the quotes is ``body``."""
    if _SPECIAL.search(body) is None:
        return body, []
    pieces, bad = _scan(body, False)
    return "".join(pieces), bad


def unescape_pattern(body: str) -> tuple[LikePattern, list[BadEscape]]:
    """A ``like`` pattern: literal runs (adjacent ones merged) and wildcards."""
    if _SPECIAL.search(body) is None:
        pieces: list = [body]
        bad: list[BadEscape] = []
    else:
        pieces, bad = _scan(body, True)
    out: list = []
    run: list[str] = []
    for piece in pieces:
        if piece is _STAR:
            run.append("*")
            continue
        first, *rest = piece.split("*")
        run.append(first)
        for part in rest:
            if any(run):
                out.append("".join(run))
            out.append(WILDCARD)
            run = [part]
    if any(run):
        out.append("".join(run))
    return tuple(out), bad


def escape_diagnostics(body: str, literal: Span | None, bad: list[BadEscape]) -> list[Diagnostic]:
    """One ``invalid-escape`` diagnostic per bad escape, underlining just it.

    ``literal`` is the span of the whole literal, quotes included.
    """
    out = []
    for b in bad:
        where = _inner_span(body, literal, b.start, b.end) if literal is not None else None
        shown = body[b.start : b.end].replace("\r", "\\r")
        message = (
            "a carriage return must be written `\\r` inside a string"
            if b.reason == "bare carriage return"
            else f"`{shown}` is not a valid escape ({b.reason})"
        )
        out.append(Diagnostic("invalid-escape", message, where, _HELP))
    return out


def unescape_string(body: str, span: Span | None = None) -> str:
    """The value of a Cedar string literal body; :class:`ParseError` if an escape is bad.

    ``span`` (of the literal, quotes included) places the diagnostics.
    """
    value, bad = unescape(body)
    if bad:
        diags = escape_diagnostics(body, span, bad)
        raise ParseError(diags[0].message, diags)
    return value


# ---------------------------------------------------------------- scanning


def _scan(body: str, pattern: bool) -> tuple[list, list[BadEscape]]:
    """Split ``body`` into text pieces (and ``_STAR``), and the bad escapes."""
    pieces: list = []
    bad: list[BadEscape] = []
    i, n = 0, len(body)
    while i < n:
        m = _SPECIAL.search(body, i)
        if m is None:
            pieces.append(body[i:])
            break
        j = m.start()
        if j > i:
            pieces.append(body[i:j])
        if body[j] == "\r":
            bad.append(BadEscape(j, j + 1, "bare carriage return"))
            i = j + 1
            continue
        c = body[j + 1 : j + 2]
        simple = _SIMPLE.get(c)
        if simple is not None:
            pieces.append(simple)
            i = j + 2
        elif c == "*" and pattern:
            pieces.append(_STAR)
            i = j + 2
        elif c == "x":
            i = _hex_escape(body, j, pieces, bad)
        elif c == "u":
            i = _unicode_escape(body, j, pieces, bad)
        else:
            i = min(j + 2, n)
            bad.append(BadEscape(j, i, "unknown escape" if c else "lone backslash"))
    return pieces, bad


def _hex_escape(body: str, j: int, pieces: list, bad: list[BadEscape]) -> int:
    """``body[j:]`` starts with ``\\x``: append its char or a BadEscape; return the end."""
    digits = body[j + 2 : j + 4]
    k = j + 2
    for ch in digits:
        if ch not in _HEX:
            bad.append(BadEscape(j, k + 1, "`\\x` takes two hex digits"))
            return k + 1
        k += 1
    if len(digits) < 2:
        bad.append(BadEscape(j, k, "`\\x` takes two hex digits"))
        return k
    value = int(digits, 16)
    if value > 0x7F:
        bad.append(BadEscape(j, k, "`\\x` escapes stop at `\\x7f`; use `\\u{...}`"))
    else:
        pieces.append(chr(value))
    return k


def _unicode_escape(body: str, j: int, pieces: list, bad: list[BadEscape]) -> int:
    """``body[j:]`` starts with ``\\u``: append its char or a BadEscape; return the end."""
    n = len(body)
    k = j + 2
    if k >= n or body[k] != "{":
        bad.append(BadEscape(j, k, "`\\u` needs braces, e.g. `\\u{1F600}`"))
        return k
    k += 1
    if k < n and body[k] == "_":
        bad.append(BadEscape(j, k + 1, "a leading `_`"))
        return k + 1
    digits = 0
    value = 0
    while True:
        if k >= n:
            bad.append(BadEscape(j, k, "no closing `}`"))
            return k
        ch = body[k]
        k += 1
        if ch == "}":
            break
        if ch == "_":
            continue
        if ch not in _HEX:
            bad.append(BadEscape(j, k, "not a hex digit"))
            return k
        digits += 1
        value = value * 16 + int(ch, 16)
    if digits == 0:
        bad.append(BadEscape(j, k, "no hex digits"))
    elif digits > 6:
        bad.append(BadEscape(j, k, "more than 6 hex digits"))
    elif value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        bad.append(BadEscape(j, k, "not a Unicode scalar value"))
    else:
        pieces.append(chr(value))
    return k


def _inner_span(body: str, literal: Span, a: int, b: int) -> Span:
    """The span of ``body[a:b]`` inside the literal whose span is ``literal``."""

    def at(off: int) -> tuple[int, int]:
        nl = body.rfind("\n", 0, off)
        if nl < 0:
            return literal.line, literal.column + 1 + off
        return literal.line + body.count("\n", 0, off), off - nl

    line, col = at(a)
    end_line, end_col = at(b)
    base = literal.start + 1
    return Span(base + a, base + b, line, col, end_line, end_col, literal.source)
