"""String literal escapes, exactly as Cedar (Rust's string rules) reads them."""

from __future__ import annotations

import pytest

from plainpdp.errors import ParseError, Span
from plainpdp.syntax import unescape_string
from plainpdp.syntax.ast import WILDCARD
from plainpdp.syntax.strings import escape_diagnostics, unescape, unescape_pattern


@pytest.mark.parametrize(
    ("body", "value"),
    [
        ("plain", "plain"),
        ("", ""),
        (r"\n\r\t\\\0\'\"", "\n\r\t\\\0'\""),
        (r"\x00\x41\x7f\x7F", "\0A\x7f\x7f"),
        (r"\u{0}\u{41}\u{e9}\u{1F600}\u{10FFFF}", "\0Aé😀\U0010ffff"),
        (r"\u{1_F6_00}\u{000041}", "😀A"),
        ("raw\nline\ttab", "raw\nline\ttab"),
        ("ünï 😀", "ünï 😀"),
    ],
)
def test_valid_escapes(body, value):
    assert unescape(body) == (value, [])
    assert unescape_string(body) == value


@pytest.mark.parametrize(
    ("body", "bad", "reason"),
    [
        (r"\q", r"\q", "unknown escape"),
        (r"a\*b", r"\*", "unknown escape"),  # only patterns know `\*`
        (r"\x8", r"\x8", r"`\x` takes two hex digits"),
        (r"\xg0", r"\xg", r"`\x` takes two hex digits"),
        (r"\x80", r"\x80", r"`\x` escapes stop at `\x7f`; use `\u{...}`"),
        (r"\u41", r"\u", r"`\u` needs braces, e.g. `\u{1F600}`"),
        (r"\u{}", r"\u{}", "no hex digits"),
        (r"\u{_1}", r"\u{_", "a leading `_`"),
        (r"\u{1234567}", r"\u{1234567}", "more than 6 hex digits"),
        (r"\u{110000}", r"\u{110000}", "not a Unicode scalar value"),
        (r"\u{D800}", r"\u{D800}", "not a Unicode scalar value"),
        (r"\u{12x4}", r"\u{12x", "not a hex digit"),
        (r"\u{12", r"\u{12", "no closing `}`"),
        ("a\rb", "\r", "bare carriage return"),
        ("\\", "\\", "lone backslash"),
    ],
)
def test_invalid_escapes_are_located(body, bad, reason):
    _, problems = unescape(body)
    (p,) = problems
    assert (body[p.start : p.end], p.reason) == (bad, reason)


def test_every_bad_escape_is_reported():
    _, problems = unescape(r"\q ok \w \x99")
    assert [p.reason for p in problems] == ["unknown escape", "unknown escape",
                                            "`\\x` escapes stop at `\\x7f`; use `\\u{...}`"]


@pytest.mark.parametrize(
    ("body", "pattern"),
    [
        ("abc", ("abc",)),
        ("", ()),
        ("*", (WILDCARD,)),
        ("a*b*", ("a", WILDCARD, "b", WILDCARD)),
        (r"a\*b", ("a*b",)),
        (r"*\**", (WILDCARD, "*", WILDCARD)),
        ("**", (WILDCARD, WILDCARD)),
        (r"\u{2a}", (WILDCARD,)),  # an escaped code point for `*` is still a wildcard
        (r"\x2a\n*", (WILDCARD, "\n", WILDCARD)),
    ],
)
def test_like_patterns(body, pattern):
    assert unescape_pattern(body) == (pattern, [])


def test_pattern_escapes_are_checked_too():
    _, problems = unescape_pattern(r"a*\d")
    assert [p.reason for p in problems] == ["unknown escape"]


def test_diagnostics_underline_the_escape_inside_the_literal():
    text = 'x == "ab\nc\\qd"'
    literal = Span(5, 15, 1, 6, 2, 6, "f.cedar")
    body = text[6:14]
    (d,) = escape_diagnostics(body, literal, unescape(body)[1])
    assert text[d.span.start : d.span.end] == "\\q"
    assert (d.span.line, d.span.column, d.span.end_column) == (2, 2, 4)
    assert d.span.source == "f.cedar"


def test_unescape_string_raises_one_parse_error_with_every_problem():
    with pytest.raises(ParseError) as info:
        unescape_string(r"\q\w")
    assert [d.code for d in info.value.diagnostics] == ["invalid-escape", "invalid-escape"]
