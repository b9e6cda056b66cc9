"""Every node knows where it came from: offsets, 1-based line/column, source.

``end`` and ``end_column`` point one past the last character, so
``text[span.start:span.end]`` is exactly the node's text.
"""

from __future__ import annotations

from plainpdp.syntax import parse_expression, parse_file
from plainpdp.syntax.ast import BinOp, GetAttr, Has, Literal, MethodCall, Neg

TEXT = """\
// a comment
@id("first")
permit (
  principal == User::"alice",
  action in [Action::"view", Action::"edit"],
  resource is Doc in Folder::"f"
)
when { resource.owner == principal && context has mfa }
unless { -context.risk > -5 };
forbid(principal, action, resource);
"""


def cut(text: str, span) -> str:
    return text[span.start : span.end]


def test_policy_spans_cover_annotations_through_semicolon():
    f = parse_file(TEXT, "policies/platform/a.cedar")
    first, second = f.policies
    assert cut(TEXT, first.span).startswith('@id("first")\npermit (')
    assert cut(TEXT, first.span).endswith("-5 };")
    assert (first.span.line, first.span.column) == (2, 1)
    assert (first.span.end_line, first.span.end_column) == (9, 31)
    assert cut(TEXT, second.span) == "forbid(principal, action, resource);"
    assert (second.span.line, second.span.column) == (10, 1)


def test_every_span_carries_the_source_name():
    f = parse_file(TEXT, "policies/platform/a.cedar")
    p = f.policies[0]
    spans = [p.span, p.principal.span, p.action.span, p.conditions[0].expr.span, f.comments[0].span]
    assert {s.source for s in spans} == {"policies/platform/a.cedar"}


def test_scope_and_annotation_spans():
    p = parse_file(TEXT).policies[0]
    assert cut(TEXT, p.annotations[0].span) == '@id("first")'
    assert cut(TEXT, p.principal.span) == 'principal == User::"alice"'
    assert cut(TEXT, p.action.span) == 'action in [Action::"view", Action::"edit"]'
    assert cut(TEXT, p.resource.span) == 'resource is Doc in Folder::"f"'
    assert (p.action.span.line, p.action.span.column) == (5, 3)


def test_condition_and_expression_spans():
    p = parse_file(TEXT).policies[0]
    when, unless = p.conditions
    assert cut(TEXT, when.span) == "when { resource.owner == principal && context has mfa }"
    assert (when.span.line, when.span.column) == (8, 1)
    conj = when.expr
    assert cut(TEXT, conj.span) == "resource.owner == principal && context has mfa"
    eq, has = conj.left, conj.right
    assert isinstance(eq, BinOp) and isinstance(has, Has)
    assert cut(TEXT, eq.left.span) == "resource.owner"
    assert (eq.right.span.line, eq.right.span.column) == (8, 26)
    assert cut(TEXT, has.span) == "context has mfa"
    gt = unless.expr
    assert cut(TEXT, gt.left.span) == "-context.risk"
    assert isinstance(gt.left, Neg)
    assert cut(TEXT, gt.right.span) == "-5" and gt.right == Literal(-5)


def test_comment_spans():
    (c,) = parse_file(TEXT).comments
    assert cut(TEXT, c.span) == "// a comment"
    assert (c.span.line, c.span.column, c.span.end_column) == (1, 1, 13)


def test_parentheses_belong_to_the_expression_they_wrap():
    text = "(context.a + 1).foo"
    e = parse_expression(text)
    assert isinstance(e, GetAttr)
    assert cut(text, e.expr.span) == "(context.a + 1)"
    assert cut(text, e.span) == text


def test_member_access_and_calls_end_at_their_last_token():
    text = 'context.tags["k"].contains(ip("1.2.3.4"))'
    e = parse_expression(text)
    assert isinstance(e, MethodCall)
    assert cut(text, e.span) == text
    assert cut(text, e.receiver.span) == 'context.tags["k"]'
    assert cut(text, e.args[0].span) == 'ip("1.2.3.4")'


def test_positions_after_a_multi_line_string():
    text = '"one\ntwo" == \n  context.s'
    e = parse_expression(text)
    assert (e.left.span.line, e.left.span.end_line, e.left.span.end_column) == (1, 2, 5)
    assert (e.right.span.line, e.right.span.column) == (3, 3)
    assert cut(text, e.right.span) == "context.s"


def test_columns_count_characters_not_bytes():
    text = '"😀ü" == context.s'
    e = parse_expression(text)
    assert e.right.span.column == 9
    assert cut(text, e.right.span) == "context.s"
