"""A span made from a text's line table is the span made from its numbers."""

from __future__ import annotations

import copy
import pickle
from dataclasses import FrozenInstanceError

import pytest

from plainpdp.errors import LineTable, Span
from plainpdp.syntax import parse_file

TEXT = 'permit(\n  principal,\n  action,\n  resource\n) when { context.x };\n'


def test_lines_and_columns_are_worked_out_when_asked():
    lines = LineTable(TEXT, "a.cedar")
    start = TEXT.index("principal")
    span = Span.in_text(start, TEXT.index("resource") + len("resource"), lines)
    assert (span.line, span.column, span.end_line, span.end_column) == (2, 3, 4, 11)
    assert span.source == "a.cedar"
    assert span == Span(span.start, span.end, 2, 3, 4, 11, "a.cedar")
    assert hash(span) == hash(Span(span.start, span.end, 2, 3, 4, 11, "a.cedar"))
    assert span != Span(span.start, span.end, 2, 3, 4, 11, "b.cedar")


def test_a_text_without_newlines_is_one_line():
    span = Span.in_text(3, 7, LineTable("abc defg hij"))
    assert (span.line, span.column, span.end_line, span.end_column, span.source) == (
        1, 4, 1, 8, None)


def test_spans_read_as_the_seven_numbers_they_stand_for():
    span = Span.in_text(0, 6, LineTable(TEXT, "a.cedar"))
    assert repr(span) == (
        "Span(start=0, end=6, line=1, column=1, end_line=1, end_column=7, source='a.cedar')"
    )
    for twin in (pickle.loads(pickle.dumps(span)), copy.deepcopy(span), copy.copy(span)):
        assert twin == span
        assert repr(twin) == repr(span)
    match span:
        case Span(start, end, line, column, end_line, end_column, source):
            assert (start, end, line, column, end_line, end_column, source) == (
                0, 6, 1, 1, 1, 7, "a.cedar")


def test_spans_are_immutable():
    span = Span(0, 1, 1, 1, 1, 2, None)
    with pytest.raises(FrozenInstanceError):
        span.start = 3  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del span.end  # type: ignore[misc]


def test_with_source_names_another_text():
    span = Span.in_text(0, 6, LineTable(TEXT))
    named = span.with_source("b.cedar")
    assert named.source == "b.cedar"
    assert (named.start, named.end, named.line, named.column) == (0, 6, 1, 1)


def test_parsed_spans_share_their_text_line_table():
    f = parse_file(TEXT, "a.cedar")
    policy = f.policies[0]
    assert policy.principal.span._where is policy.span._where
    assert (policy.resource.span.line, policy.resource.span.column) == (4, 3)
