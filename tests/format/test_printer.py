"""Golden pairs: policy text in, canonical layout out, one rule at a time.

Every pair is also checked to round-trip (the output parses to the same
policies) and to be a fixed point (formatting the output changes nothing).
"""

from __future__ import annotations

import pytest

from plainpdp.errors import ParseError
from plainpdp.format import format_text
from plainpdp.syntax import parse_file


def check(source: str, expected: str) -> None:
    got = format_text(source)
    assert got == expected, f"\n--- got\n{got}--- expected\n{expected}"
    assert parse_file(got).policies == parse_file(source).policies
    assert format_text(got) == got


LAYOUT = [
    ("short scope on one line",
     "permit(principal,action,resource);",
     "permit (principal, action, resource);\n"),
    ("long scope one element per line",
     'permit(principal in PlatformRole::"auditor", action in [Action::"view", Action::"export"], resource in Section::"reports");',
     'permit (\n'
     '  principal in PlatformRole::"auditor",\n'
     '  action in [Action::"view", Action::"export"],\n'
     '  resource in Section::"reports"\n'
     ');\n'),
    ("an action list too long for its line breaks too",
     'permit(principal, action in [Action::"view", Action::"create", Action::"edit", Action::"export", Action::"delete"], resource);',
     'permit (\n'
     '  principal,\n'
     '  action in [\n'
     '    Action::"view",\n'
     '    Action::"create",\n'
     '    Action::"edit",\n'
     '    Action::"export",\n'
     '    Action::"delete"\n'
     '  ],\n'
     '  resource\n'
     ');\n'),
    ("every scope form",
     'forbid(principal is User in Group::"g", action == Action::"a", resource);\n'
     'permit(principal == User::"u", action in Action::"g", resource in Folder::"f");\n'
     'permit(principal == ?principal, action in [], resource is Doc in ?resource);',
     'forbid (principal is User in Group::"g", action == Action::"a", resource);\n\n'
     'permit (principal == User::"u", action in Action::"g", resource in Folder::"f");\n\n'
     'permit (principal == ?principal, action in [], resource is Doc in ?resource);\n'),
    ("annotations one per line, bare ones kept bare",
     '@id("a") @ceiling @description("say \\"hi\\"") permit(principal,action,resource);',
     '@id("a")\n@ceiling\n@description("say \\"hi\\"")\npermit (principal, action, resource);\n'),
    ("each condition on its own line, short bodies inline",
     "permit(principal,action,resource) when {principal.a} unless{ principal.b };",
     "permit (principal, action, resource)\nwhen { principal.a }\nunless { principal.b };\n"),
    ("a long body on its own lines",
     'permit(principal,action,resource) when { resource has sensitivity && resource.sensitivity == "high" && !context.mfa };',
     "permit (principal, action, resource)\n"
     "when {\n"
     '  resource has sensitivity && resource.sensitivity == "high" && !context.mfa\n'
     "};\n"),
    ("a chain too long for one line breaks after every operator",
     'permit(principal,action,resource) when { principal has partner && principal.partner.kind == "supplier" && resource in [Section::"catalog", Section::"orders"] };',
     "permit (principal, action, resource)\n"
     "when {\n"
     "  principal has partner &&\n"
     '  principal.partner.kind == "supplier" &&\n'
     '  resource in [Section::"catalog", Section::"orders"]\n'
     "};\n"),
    ("a long comparison breaks after its operator",
     'permit(principal,action,resource) when { context.a_rather_long_attribute_name.with_a_long_tail == "a long string value to compare" };',
     "permit (principal, action, resource)\n"
     "when {\n"
     "  context.a_rather_long_attribute_name.with_a_long_tail ==\n"
     '    "a long string value to compare"\n'
     "};\n"),
    ("a long `if` puts then and else on their own lines",
     'permit(principal,action,resource) when { if context.some_long_condition_name then context.first_long_branch_value else context.other };',
     "permit (principal, action, resource)\n"
     "when {\n"
     "  if context.some_long_condition_name\n"
     "    then context.first_long_branch_value\n"
     "    else context.other\n"
     "};\n"),
    ("long sets, records and argument lists break one element per line",
     'permit(principal,action,resource) when { {first_key: "a fairly long value", second_key: [1, 2, 3], "third key": ip("10.0.0.1")}.first_key == "x" };',
     "permit (principal, action, resource)\n"
     "when {\n"
     "  {\n"
     '    first_key: "a fairly long value",\n'
     "    second_key: [1, 2, 3],\n"
     '    "third key": ip("10.0.0.1")\n'
     '  }.first_key ==\n'
     '    "x"\n'
     "};\n"),
    ("blank lines between policies, none inside",
     "permit(principal,action,resource)\n\n\nwhen {\n\n true };permit(principal,action,resource);\n\n\n",
     "permit (principal, action, resource)\nwhen { true };\n\npermit (principal, action, resource);\n"),
    ("an empty file stays empty", "  \n\n", ""),
]


@pytest.mark.parametrize("source, expected", [c[1:] for c in LAYOUT], ids=[c[0] for c in LAYOUT])
def test_layout(source, expected):
    check(source, expected)


def condition(text: str) -> str:
    return f"permit (principal, action, resource)\nwhen {{ {text} }};\n"


# (source condition, canonical condition): spacing, parentheses, literals.
EXPRESSIONS = [
    ("principal.a&&principal.b||!context.c", "principal.a && principal.b || !context.c"),
    ("(principal.a && principal.b) && context.c", "principal.a && principal.b && context.c"),
    ("principal.a && (principal.b && context.c)", "principal.a && (principal.b && context.c)"),
    ("(principal.a || principal.b) && context.c", "(principal.a || principal.b) && context.c"),
    ("((1 + 2)) * 3 == 9", "(1 + 2) * 3 == 9"),
    ("1 + (2 * 3) == 7", "1 + 2 * 3 == 7"),
    ("1 - (2 - 3) == 2", "1 - (2 - 3) == 2"),
    ("(1 - 2) - 3 == -4", "1 - 2 - 3 == -4"),
    ("(1 == 1) == true", "(1 == 1) == true"),
    ("(if true then 1 else 2) == 1", "(if true then 1 else 2) == 1"),
    ("if true then if false then 1 else 2 else 3 == 3", "if true then if false then 1 else 2 else 3 == 3"),
    ("(principal is User) in Group::\"g\"", "(principal is User) in Group::\"g\""),
    ("principal is User in (Group::\"g\")", "principal is User in Group::\"g\""),
    ("!!principal.a", "!!principal.a"),
    ("!(principal.a)", "!principal.a"),
    ("!(principal.a == 1)", "!(principal.a == 1)"),
    ("-(5) == -5", "-(5) == -5"),
    ("- -5 == 5", "-(-5) == 5"),
    ("--context.n == 5", "--context.n == 5"),
    ("-(-context.n) == 5", "--context.n == 5"),
    ("!(-context.n == 1)", "!(-context.n == 1)"),
    ("(-5).x == 1", "(-5).x == 1"),
    ("-9223372036854775808 < 0", "-9223372036854775808 < 0"),
    ("1 + -5 * 2 < 0", "1 + -5 * 2 < 0"),
    ('principal["sp ace"] == principal.x', 'principal["sp ace"] == principal.x'),
    ('principal["plain"] == 1', "principal.plain == 1"),
    ('principal["if"] == 1', 'principal["if"] == 1'),
    ('principal has "sp ace" && principal has "if" && principal has "x"',
     'principal has "sp ace" && principal has "if" && principal has x'),
    ("principal has a.b.c", "principal has a.b.c"),
    ('{"a": 1, "b c": 2, "then": 3} == {a: 1}', '{a: 1, "b c": 2, "then": 3} == {a: 1}'),
    ("[] == [ ] && {} == { }", "[] == [] && {} == {}"),
    ('"a\\tb\\u{1F600}\\u{7}\\x41" == "x"', '"a\\tb😀\\u{7}A" == "x"'),
    ('"ü" like "*\\*\\u{2a}ü\\"*"', '"ü" like "*\\**ü\\"*"'),
    ('context.t.contains( "a" )&&ip("1.0.0.1").isInRange(ip("1.0.0.0/8"))',
     'context.t.contains("a") && ip("1.0.0.1").isInRange(ip("1.0.0.0/8"))'),
    ("principal.isEmpty( )", "principal.isEmpty()"),
    ("(principal.a).b", "principal.a.b"),
    ("(principal.a.contains(1)).x", "principal.a.contains(1).x"),
]


@pytest.mark.parametrize("source, expected", EXPRESSIONS, ids=[e[0] for e in EXPRESSIONS])
def test_expression(source, expected):
    check(f"permit(principal,action,resource) when {{ {source} }};", condition(expected))


COMMENTS = [
    ("a file header, a comment before a policy and a trailing one",
     "// header\n\n// the rule\npermit(principal,action,resource); // why\n",
     "// header\n\n// the rule\npermit (principal, action, resource); // why\n"),
    ("comment blocks keep one blank line, never more",
     "// a\n// b\n\n\n\n// c\npermit(principal,action,resource);\n// after\n",
     "// a\n// b\n\n// c\npermit (principal, action, resource);\n\n// after\n"),
    ("trailing comments stay on their line",
     '@id("a") // the id\npermit(\n  principal, // anyone\n  action,\n  resource\n)\nwhen { principal.a && // first\n principal.b };',
     '@id("a") // the id\n'
     "permit (\n"
     "  principal, // anyone\n"
     "  action,\n"
     "  resource\n"
     ")\n"
     "when {\n"
     "  principal.a && // first\n"
     "  principal.b\n"
     "};\n"),
    ("lone comments keep their own line, at the indentation of what follows",
     "permit(principal, action, resource)\nwhen {\n// why a\nprincipal.a &&\n  // why b\n  principal.b\n// the end\n};",
     "permit (principal, action, resource)\n"
     "when {\n"
     "  // why a\n"
     "  principal.a &&\n"
     "  // why b\n"
     "  principal.b\n"
     "  // the end\n"
     "};\n"),
    ("a comment after an opening brace stays after it",
     "permit(principal, action, resource) when { // because\n true };",
     "permit (principal, action, resource)\nwhen { // because\n  true\n};\n"),
    ("two trailing comments that would share a line do not merge",
     'permit(principal, action, resource) when { principal // one\n.name // two\n== "x" };',
     "permit (principal, action, resource)\n"
     "when {\n"
     "  principal // one\n"
     "  .name == // two\n"
     '    "x"\n'
     "};\n"),
    ("a comment before an operator moves after it",
     'permit(principal, action, resource) when { principal.a // why a\n&& principal.b // why b\n || context.c\n// why c\n == 1 };',
     "permit (principal, action, resource)\n"
     "when {\n"
     "  principal.a && // why a\n"
     "  principal.b || // why b\n"
     "  context.c ==\n"
     "    // why c\n"
     "    1\n"
     "};\n"),
    ("`//` inside a string is not a comment",
     'permit(principal, action, resource) when { context.url like "http://*" };',
     'permit (principal, action, resource)\nwhen { context.url like "http://*" };\n'),
]


@pytest.mark.parametrize("source, expected", [c[1:] for c in COMMENTS], ids=[c[0] for c in COMMENTS])
def test_comments(source, expected):
    check(source, expected)
    before = [c.text.rstrip() for c in parse_file(source).comments]
    assert [c.text for c in parse_file(expected).comments] == before


def test_comment_whitespace_is_trimmed_at_the_end_only():
    got = format_text("//   spaced out   \npermit(principal, action, resource);")
    assert got == "//   spaced out\npermit (principal, action, resource);\n"


def test_syntax_errors_raise_with_every_diagnostic():
    with pytest.raises(ParseError) as info:
        format_text("permit(principal, action, resource) when { 1 + };\npermit(principal);",
                    "bad.cedar")
    diags = info.value.diagnostics
    assert len(diags) == 2
    assert diags[0].render().startswith("bad.cedar:1:")


def test_width_is_a_parameter():
    text = 'permit(principal == User::"alice", action, resource);'
    assert format_text(text, width=120) == 'permit (principal == User::"alice", action, resource);\n'
    assert format_text(text, width=40) == (
        'permit (\n  principal == User::"alice",\n  action,\n  resource\n);\n'
    )
