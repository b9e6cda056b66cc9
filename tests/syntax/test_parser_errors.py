"""Bad policy text: every problem is a diagnostic with a code, a plain
message, the span of the offending text (checked as the text it underlines)
and, where it helps, a hint. All problems in a file are reported at once.
"""

from __future__ import annotations

import pytest

from plainpdp.errors import MAX_DIAGNOSTICS, ParseError
from plainpdp.syntax import parse_entity_uid, parse_expression, parse_file, unescape_string

WHEN = "permit(principal, action, resource) when { %s };"


def problems(text: str, source: str | None = "p.cedar"):
    with pytest.raises(ParseError) as info:
        parse_file(text, source)
    return info.value.diagnostics


def underlined(text: str, d) -> str:
    return text[d.span.start : d.span.end]


# (text, code, message, underlined text)
CASES = [
    # syntax errors, in plain words
    ("permit(principal, action resource);", "syntax",
     "unexpected identifier `resource`, expected `)`, `,`, `==`, `in` or `is`", "resource"),
    ("permit(principal, action, resource) when { true }", "syntax",
     "unexpected end of input, expected `;`, `when` or `unless`", ""),
    (WHEN % "1 + ", "syntax", "unexpected `}`, expected an expression", "}"),
    (WHEN % "1 < 2 < 3", "syntax", "unexpected `<` after a comparison", "<"),
    (WHEN % 'principal in Group::"g" == true', "syntax", "unexpected `==` after a comparison", "=="),
    (WHEN % "context has a has b", "syntax", "unexpected `has` after a comparison", "has"),
    (WHEN % "1 + if true then 1 else 2", "syntax", "unexpected `if`, expected an expression", "if"),
    (WHEN % "if true then 1", "syntax", "unexpected `}`, expected `else`", "}"),
    (WHEN % 'principal is User::"x"', "syntax", 'unexpected string `"x"`, expected an identifier', '"x"'),
    (WHEN % "context.s like context.p", "syntax",
     "unexpected identifier `context`, expected a string", "context"),
    (WHEN % "context[1]", "syntax", "unexpected integer `1`, expected a string", "1"),
    (WHEN % '"abc', "syntax", "unterminated string", '"'),
    (WHEN % "'a'", "syntax", "unexpected character `'`", "'"),
    ("permit(principal, action, resource);;", "syntax",
     "unexpected `;`, expected `@`, `permit`, `forbid` or the end of the input", ";"),
    ('permit(principal == User, action, resource);', "syntax",
     "unexpected `,`, expected `::`", ","),
    # semantic checks Cedar makes while parsing
    (WHEN % r'"a\qb"', "invalid-escape", "`\\q` is not a valid escape (unknown escape)", "\\q"),
    (WHEN % r'"\u{D800}"', "invalid-escape",
     "`\\u{D800}` is not a valid escape (not a Unicode scalar value)", "\\u{D800}"),
    (WHEN % r'"\x80"', "invalid-escape",
     "`\\x80` is not a valid escape (`\\x` escapes stop at `\\x7f`; use `\\u{...}`)", "\\x80"),
    (WHEN % r'context.s like "\d*"', "invalid-escape",
     "`\\d` is not a valid escape (unknown escape)", "\\d"),
    (WHEN % '{a: 1, "a": 2}', "duplicate-key", "duplicate key `a` in record literal", '"a"'),
    (WHEN % 'ipp("1.2.3.4")', "unknown-function", "unknown function `ipp`", "ipp"),
    (WHEN % 'A::ip("1.2.3.4")', "unknown-function", "unknown function `A::ip`", "A::ip"),
    (WHEN % 'context.s.startsWith("a")', "unknown-method", "unknown method `startsWith`",
     "startsWith"),
    (WHEN % "context.s.contains()", "wrong-arity",
     "`contains` takes one argument, but was given 0", "context.s.contains()"),
    (WHEN % "context.s.isEmpty(1)", "wrong-arity",
     "`isEmpty` takes no arguments, but was given 1", "context.s.isEmpty(1)"),
    (WHEN % "9223372036854775808", "int-overflow",
     "integer literal `9223372036854775808` is too large", "9223372036854775808"),
    (WHEN % "-(9223372036854775808)", "int-overflow",
     "integer literal `9223372036854775808` is too large", "9223372036854775808"),
    (WHEN % "-99999999999999999999", "int-overflow",
     "integer literal `99999999999999999999` is too large", "99999999999999999999"),
    ('@id("a") @id("b") permit(principal, action, resource);', "duplicate-annotation",
     "duplicate annotation `@id`", '@id("b")'),
    ("@ceiling @ceiling permit(principal, action, resource);", "duplicate-annotation",
     "duplicate annotation `@ceiling`", "@ceiling"),
    ('permit(principal in [User::"a"], action, resource);', "invalid-scope",
     "a list of entities cannot appear in the principal scope", '[User::"a"]'),
    ("permit(principal, action is Action, resource);", "invalid-scope",
     "`is` cannot appear in the action scope", "action is Action"),
    ('permit(principal, action == User::"x", resource);', "invalid-scope",
     'expected an action, found `User::"x"`', 'User::"x"'),
    ('permit(principal, action == [Action::"x"], resource);', "invalid-scope",
     "`action ==` takes one action, not a list", '[Action::"x"]'),
    ('permit(principal is User == User::"a", action, resource);', "invalid-scope",
     "`is` cannot be combined with `==`", "=="),
    ('permit(principal < User::"a", action, resource);', "invalid-scope",
     "`<` cannot appear in the policy scope", "<"),
    ("permit(resource, action, principal);", "invalid-scope",
     "expected `principal`, found `resource`", "resource"),
    ("permit(principal, action);", "invalid-scope", "the scope is missing `resource`", ")"),
    ("permit(principal, action, resource, context);", "invalid-scope",
     "unexpected `context` in the scope", "context"),
    ("permit(principal == ?resource, action, resource);", "invalid-slot",
     "`?resource` cannot appear in the principal scope", "?resource"),
    ("permit(principal, action == ?principal, resource);", "invalid-slot",
     "template slots cannot appear in the action scope", "?principal"),
    ("permit(principal == ?who, action, resource);", "invalid-slot",
     "unknown template slot `?who`", "?who"),
    (WHEN % "principal == ?principal", "invalid-slot",
     "template slot `?principal` in a `when` condition", "?principal"),
    (WHEN % "context.if", "reserved-identifier",
     "`if` is a reserved word and cannot be used here", "if"),
    (WHEN % "{in: 1}", "reserved-identifier", "`in` is a reserved word and cannot be used here",
     "in"),
    (WHEN % "context has a.true", "reserved-identifier",
     "`true` is a reserved word and cannot be used here", "true"),
    (WHEN % 'A::__cedar::"x"', "reserved-identifier", "`__cedar` is reserved for Cedar",
     "__cedar"),
    (WHEN % "user.name", "unknown-variable", "unknown variable `user`", "user"),
    (WHEN % "A::B", "invalid-expression", "`A::B` is a type name, not a value", "A::B"),
    ("allow(principal, action, resource);", "invalid-effect",
     "unknown effect `allow`, expected `permit` or `forbid`", "allow"),
    ("permit(principal, action, resource) whenever { true };", "invalid-condition",
     "unknown condition `whenever`, expected `when` or `unless`", "whenever"),
    ("permit(principal, action, resource) when {};", "empty-condition",
     "the `when` condition is empty", "when {}"),
    (WHEN % "1 = 2", "invalid-operator", "`=` is not a Cedar operator", "1 = 2"),
    (WHEN % "4 / 2", "invalid-operator", "Cedar has no division operator `/`", "/"),
    (WHEN % "4 % 2", "invalid-operator", "Cedar has no remainder operator `%`", "%"),
    (WHEN % "!!!!!context.b", "too-many-operators", "too many `!` in a row (5)",
     "!!!!!context.b"),
    (WHEN % "-----5", "too-many-operators", "too many `-` in a row (5)", "-----5"),
]


@pytest.mark.parametrize(("text", "code", "message", "under"), CASES,
                         ids=[f"{c[1]}:{c[3]}" for c in CASES])
def test_bad_text_is_one_precise_diagnostic(text, code, message, under):
    (d,) = problems(text)
    assert (d.code, d.message) == (code, message)
    assert underlined(text, d) == under
    assert d.span.source == "p.cedar"


@pytest.mark.parametrize(
    ("text", "help"),
    [
        (WHEN % "1 < 2 < 3", "comparisons do not chain: add parentheses, e.g. `(a == b) == c`"),
        (WHEN % "1 + if true then 1 else 2", "an `if ... then ... else ...` operand needs parentheses"),
        (WHEN % 'ipp("x")', "did you mean `ip`?"),
        (WHEN % "contxt.a", "did you mean `context`?"),
        (WHEN % "context.s.containAll([])", "did you mean `containsAll`?"),
        ("forbit(principal, action, resource);", "did you mean `forbid`?"),
        (WHEN % "1 = 2", "use `==` to compare"),
        (WHEN % "'a'", "strings use double quotes"),
        ("permit(principal, action, resource) when { true }\npermit(principal, action, resource);",
         "a `;` may be missing before this policy"),
        ("permit(principal == User, action, resource);", 'an entity is written `Type::"id"`'),
        (WHEN % "context.if", 'where a string is allowed, quote it: `has "if"`, `["if"]`, `{"if": ...}`'),
    ],
)
def test_diagnostics_say_how_to_fix(text, help):
    (d,) = problems(text)
    assert d.help == help


def test_valid_neighbours_of_the_bad_cases_parse():
    # the limits are exactly Cedar's: four unary operators, the smallest long
    parse_expression("!!!!context.b")
    parse_expression("----context.n")
    parse_expression("-9223372036854775808")
    parse_expression('context.s like "\\*"')
    parse_file("@if @in @true permit(principal, action, resource);")


def test_all_errors_in_a_file_are_reported_in_order():
    text = (
        "permit(principal, action resource);\n"  # syntax error
        'permit(principal, action, resource) when { context.a == "ok" };\n'  # fine
        "forbid(principal, action, resource) when { user.name };\n"  # unknown variable
        "permit(principal, action, resource) when { 1 + };\n"  # syntax error
        '@id("x") @id("y") forbid(principal, action, resource)\n'  # duplicate annotation
        '  unless { {a: 1, a: 2} == context.r };\n'  # duplicate key
        "permit(principal, action, resource) when { true }"  # missing `;` at the end
    )
    diags = problems(text)
    assert [(d.code, d.span.line, d.span.column) for d in diags] == [
        ("syntax", 1, 26),
        ("unknown-variable", 3, 44),
        ("syntax", 4, 48),
        ("duplicate-annotation", 5, 10),
        ("duplicate-key", 6, 19),
        ("syntax", 7, 50),
    ]


def test_several_problems_in_one_policy_are_all_reported():
    text = 'permit(principal, action, resource) when { foo && ipp("x") && {a: 1, a: 2} };'
    assert [d.code for d in problems(text)] == ["unknown-variable", "unknown-function",
                                                "duplicate-key"]


def test_the_number_of_diagnostics_is_capped():
    text = "permit(principal, action, resource) when { oops };\n" * (MAX_DIAGNOSTICS + 20)
    assert len(problems(text)) == MAX_DIAGNOSTICS
    text = "permit(principal, action resource);\n" * (MAX_DIAGNOSTICS + 20)
    assert len(problems(text)) == MAX_DIAGNOSTICS


def test_a_broken_string_does_not_hide_later_policies():
    text = (
        'permit(principal, action, resource) when { context.s == "a\\qb" };\n'
        "forbid(principal, action, resource) when { nope };\n"
    )
    assert [d.code for d in problems(text)] == ["invalid-escape", "unknown-variable"]


def test_the_error_renders_with_the_line_and_a_caret():
    text = "permit(principal, action, resource)\n  when { context.a == user };\n"
    with pytest.raises(ParseError) as info:
        parse_file(text, "policies/partners/acme/a.cedar")
    err = info.value
    assert err.message == "policies/partners/acme/a.cedar:2:23: unknown variable `user`"
    assert err.render() == (
        "policies/partners/acme/a.cedar:2:23: error[unknown-variable]: unknown variable `user`\n"
        "  |\n"
        "2 |   when { context.a == user };\n"
        "  | " + " " * 22 + "^^^^\n"
        "  = help: the variables are `principal`, `action`, `resource` and `context`"
    )


def test_the_message_counts_the_other_problems():
    with pytest.raises(ParseError) as info:
        parse_file("permit(principal, action, resource) when { a || b || c };")
    assert info.value.message == "<input>:1:44: unknown variable `a` (and 2 more)"


def test_end_of_input_points_just_past_the_last_token():
    text = "permit(principal, action, resource)\n  when { true }\n\n"
    (d,) = problems(text)
    assert (d.span.line, d.span.column) == (2, 16)
    assert d.render(text).splitlines()[-1] == "  | " + " " * 15 + "^"


@pytest.mark.parametrize(
    "text",
    ["", "User", 'User::"a" trailing', 'User::"a\\q"', 'if::"x"', 'A::in::"x"', "User::'a'", 'User::"a'],
)
def test_bad_entity_uids(text):
    with pytest.raises(ParseError):
        parse_entity_uid(text)


@pytest.mark.parametrize("text", ["", "1 +", "principal ==", "(1", "[1, 2", "context."])
def test_incomplete_expressions(text):
    with pytest.raises(ParseError) as info:
        parse_expression(text)
    assert info.value.diagnostics[0].code == "syntax"


def test_unescape_string_raises_with_the_escape_underlined():
    with pytest.raises(ParseError) as info:
        unescape_string("ok \\q", None)
    (d,) = info.value.diagnostics
    assert d.code == "invalid-escape" and d.span is None
