"""Schema errors: code, message, the underlined text and the help line.

Whether a schema is accepted at all is checked against Cedar itself in
``test_cedar_oracle.py``; here is what a person sees.
"""

from __future__ import annotations

import pytest

from plainpdp.errors import Diagnostic, SchemaError
from plainpdp.schema import Schema


def diagnostics(text: str) -> list[Diagnostic]:
    with pytest.raises(SchemaError) as info:
        Schema.from_text(text, source="s.cedarschema")
    return info.value.diagnostics


def underlined(d: Diagnostic, text: str) -> str:
    assert d.span is not None
    return text[d.span.start : d.span.end]


# (schema text, code, message, underlined text, help or None)
CASES = [
    (
        "entity A { x: Lng };",
        "undeclared-type",
        "failed to resolve type `Lng` in entity type `A`",
        "Lng",
        "did you mean `Long`?",
    ),
    (
        "namespace N { entity A in [Q]; }",
        "undeclared-type",
        "failed to resolve entity type `Q` in entity type `N::A`",
        "Q",
        "neither `N::Q` nor `Q` has been declared as an entity type",
    ),
    (
        "type G = Long; entity A in [G];",
        "undeclared-type",
        "failed to resolve entity type `G` in entity type `A`",
        "G",
        "`G` has not been declared as an entity type",
    ),
    (
        "entity A; action a appliesTo { principal: A, resource: A, context: A };",
        "undeclared-type",
        'failed to resolve common type `A` in action `Action::"a"`',
        "A",
        "`A` has not been declared as a common type",
    ),
    (
        "entity A; entity A;",
        "duplicate-declaration",
        "`A` is declared twice",
        "A",
        "first declared at line 1",
    ),
    (
        'action view;\naction "view";',
        "duplicate-declaration",
        "`view` is declared twice",
        '"view"',
        "first declared at line 1",
    ),
    (
        "namespace A { entity X; } namespace A { entity Y; }",
        "duplicate-namespace",
        "duplicate namespace id: `A`",
        "A",
        "put all declarations of a namespace in one `namespace` block",
    ),
    (
        "type A = B; type B = A;",
        "common-type-cycle",
        "cycle in common type references containing `A`",
        "A",
        "the definitions refer to each other: A -> B -> A",
    ),
    (
        "action a in [b]; action b in [a];",
        "action-cycle",
        'cycle in action hierarchy containing `Action::"a"`',
        "a",
        "an action cannot be (transitively) a member of itself",
    ),
    (
        "action a in [zz];",
        "undeclared-action",
        'undeclared action `Action::"zz"` in action `Action::"a"`',
        "zz",
        "declare it with `action`, or check the spelling",
    ),
    (
        "entity User; namespace Demo { entity User; }",
        "shadowed-declaration",
        "definition of `Demo::User` illegally shadows the existing definition of `User`",
        "User",
        "rename `Demo::User`, or move `User` out of the empty namespace",
    ),
    (
        "entity in;",
        "reserved-identifier",
        "`in` is a reserved identifier",
        "in",
        None,
    ),
    (
        "type Long = String;",
        "reserved-name",
        "`Long` is a reserved schema keyword and cannot name a common type",
        "Long",
        "choose another name for the type",
    ),
    (
        "entity Action;",
        "reserved-name",
        "`Action` cannot be declared as an entity type",
        "Action",
        "actions are declared with `action`; their type is `Action`",
    ),
    (
        "namespace __cedar { entity A; }",
        "reserved-name",
        "use of the reserved `__cedar` namespace",
        "__cedar",
        "`__cedar` names Cedar's builtin types; choose another name",
    ),
    (
        "entity A; action a appliesTo { principal: [], resource: A };",
        "empty-applies-to",
        "for action `a`, `principal` is `[]`, which is invalid",
        "principal: []",
        "list at least one principal entity type, or leave out `appliesTo` so the action "
        "applies to nothing",
    ),
    (
        "entity A; action a appliesTo { principal: A };",
        "missing-applies-to",
        "missing `resource` declaration for `a`",
        "a",
        "add `resource: [SomeType]` to the `appliesTo` block",
    ),
    (
        "entity A; action a appliesTo { principal: A, resource: A, principal: A };",
        "duplicate-applies-to",
        "duplicate `principal` declaration in action `a`",
        "principal: A",
        None,
    ),
    (
        "entity A; type C = Long;\naction a appliesTo { principal: A, resource: A, context: C };",
        "not-a-record",
        'context for action `Action::"a"` is declared with a type other than a record',
        "C",
        "declare the context as a record type `{ ... }`, or a common type naming one",
    ),
    (
        "entity A in [Action]; action x;",
        "undeclared-entity-type",
        "undeclared entity type `Action` in entity type `A`",
        "Action",
        "action types cannot be used here; declare an entity type",
    ),
    (
        '@doc("a") @doc("b") entity A;',
        "duplicate-annotation",
        "duplicate annotations: `doc`",
        "doc",
        None,
    ),
    (
        'entity A { "a\\qb": Long };',
        "invalid-escape",
        "invalid escape sequence in string",
        '"a\\qb"',
        None,
    ),
]


@pytest.mark.parametrize(("text", "code", "message", "marked", "help"), CASES)
def test_error(text, code, message, marked, help):
    first = diagnostics(text)[0]
    assert (first.code, first.message, first.help) == (code, message, help)
    assert underlined(first, text) == marked


@pytest.mark.parametrize(
    ("text", "message", "marked", "expected"),
    [
        (
            "entity A {\n  x: Long\n  y: Long\n};",
            "unexpected token `y`",
            "y",
            "expected one of `,`, `::`, `}`",
        ),
        ("entity A { x: Long", "unexpected end of input", "", "expected one of `,`, `::`, `}`"),
        ("entity E enum [];", "unexpected token `]`", "]", "expected string literal"),
        (
            "/* no block comments */",
            "invalid token `/`",
            "/",
            "expected one of `@`, `action`, `entity`, `namespace`, `type`, end of input",
        ),
        (
            "entity A {",
            "unexpected end of input",
            "",
            "expected one of `@`, `}`, identifier, string literal",
        ),
    ],
)
def test_syntax_errors_say_what_was_expected(text, message, marked, expected):
    (d,) = diagnostics(text)
    assert (d.code, d.message, d.help) == ("schema-syntax", message, expected)
    assert underlined(d, text) == marked


def test_every_error_is_reported_at_once_sorted_by_position():
    text = "entity A {\n  x: Lng,\n  y: Sting,\n};\nentity B in [Nope];\n"
    found = [(d.span.line, d.message) for d in diagnostics(text)]
    assert found == [
        (2, "failed to resolve type `Lng` in entity type `A`"),
        (3, "failed to resolve type `Sting` in entity type `A`"),
        (5, "failed to resolve entity type `Nope` in entity type `B`"),
    ]


def test_render_shows_file_line_caret_and_help():
    with pytest.raises(SchemaError) as info:
        Schema.from_text("entity A {\n  x: Lng,\n};\n", source="app.cedarschema")
    assert info.value.render() == (
        "app.cedarschema:2:6: error[undeclared-type]: "
        "failed to resolve type `Lng` in entity type `A`\n"
        "  |\n"
        "2 |   x: Lng,\n"
        "  |      ^^^\n"
        "  = help: did you mean `Long`?"
    )
