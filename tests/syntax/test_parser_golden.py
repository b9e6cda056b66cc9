"""Golden pairs: Cedar text in, AST out, one construct at a time.

Spans never take part in AST equality, so the expected trees are written
without them (see test_parser_spans.py for positions).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from plainpdp.syntax import parse_entity_uid, parse_expression, parse_file, parse_policies
from plainpdp.syntax.ast import (
    WILDCARD,
    ActionConstraint,
    And,
    Annotation,
    BinOp,
    Condition,
    ExtCall,
    GetAttr,
    Has,
    If,
    Is,
    Like,
    Literal,
    MethodCall,
    Neg,
    Not,
    Or,
    Policy,
    RecordLit,
    ScopeConstraint,
    SetLit,
    Slot,
    Var,
)
from plainpdp.values import EntityUid

P, A, R, C = Var("principal"), Var("action"), Var("resource"), Var("context")


def uid(t: str, i: str) -> Literal:
    return Literal(EntityUid(t, i))


def attr(e, *names):
    for n in names:
        e = GetAttr(e, n)
    return e


def op(o, left, right):
    return BinOp(o, left, right)


EXPRESSIONS = [
    # literals and variables
    ("true", Literal(True)),
    ("false", Literal(False)),
    ("42", Literal(42)),
    ("007", Literal(7)),
    ('"text"', Literal("text")),
    ('""', Literal("")),
    ("principal", P),
    ("action", A),
    ("resource", R),
    ("context", C),
    ("?principal", Slot("?principal")),
    ("?resource", Slot("?resource")),
    # entity uids
    ('User::"alice"', uid("User", "alice")),
    ('A::B::C::"x"', uid("A::B::C", "x")),
    ('User :: "spaced"', uid("User", "spaced")),
    ('permit::"x"', uid("permit", "x")),
    ('User::"a\\"b"', uid("User", 'a"b')),
    # string escapes
    (r'"\n\r\t\\\0\'\""', Literal("\n\r\t\\\0'\"")),
    (r'"\x41\x7f"', Literal("A\x7f")),
    (r'"\u{1F600}\u{0}\u{00e9}\u{1_F6_00}"', Literal("😀\0é😀")),
    ('"raw\nnewline"', Literal("raw\nnewline")),
    ('"😀 ünï"', Literal("😀 ünï")),
    # unary minus folds into a number literal, and only there
    ("-5", Literal(-5)),
    ("- 5", Literal(-5)),
    ("--5", Neg(Literal(-5))),
    ("-(5)", Neg(Literal(5))),
    ("-9223372036854775808", Literal(-9223372036854775808)),
    ("9223372036854775807", Literal(9223372036854775807)),
    ("--9223372036854775808", Neg(Literal(-9223372036854775808))),
    ("-context.n", Neg(attr(C, "n"))),
    ("----context.n", Neg(Neg(Neg(Neg(attr(C, "n")))))),
    ("!true", Not(Literal(True))),
    ("!!!!context.b", Not(Not(Not(Not(attr(C, "b")))))),
    ("! ! true", Not(Not(Literal(True)))),
    ("!context.a.b", Not(attr(C, "a", "b"))),
    ("-5.x", Neg(GetAttr(Literal(5), "x"))),
    # member access
    ("context.a", attr(C, "a")),
    ('context["a b"]', attr(C, "a b")),
    ('context.a["b"].c', attr(C, "a", "b", "c")),
    ("principal.principal", attr(P, "principal")),
    ("context.contains", attr(C, "contains")),
    ("context.x.contains(1)", MethodCall(attr(C, "x"), "contains", (Literal(1),))),
    ("context.x.containsAll([1,])", MethodCall(attr(C, "x"), "containsAll", (SetLit((Literal(1),)),))),
    ("context.x.isEmpty()", MethodCall(attr(C, "x"), "isEmpty", ())),
    ('principal.getTag("t")', MethodCall(P, "getTag", (Literal("t"),))),
    ('principal.hasTag("t")', MethodCall(P, "hasTag", (Literal("t"),))),
    ("context.d.lessThan(context.e)", MethodCall(attr(C, "d"), "lessThan", (attr(C, "e"),))),
    ('ip("10.0.0.1").isInRange(ip("10.0.0.0/8"))',
     MethodCall(ExtCall("ip", (Literal("10.0.0.1"),)), "isInRange",
                (ExtCall("ip", (Literal("10.0.0.0/8"),)),))),
    # extension functions
    ('decimal("1.5")', ExtCall("decimal", (Literal("1.5"),))),
    ('datetime("2024-01-01")', ExtCall("datetime", (Literal("2024-01-01"),))),
    ('duration("1h",)', ExtCall("duration", (Literal("1h"),))),
    ("ip()", ExtCall("ip", ())),
    # sets and records
    ("[]", SetLit(())),
    ("[1, true, \"x\"]", SetLit((Literal(1), Literal(True), Literal("x")))),
    ("[[1], []]", SetLit((SetLit((Literal(1),)), SetLit(())))),
    ("{}", RecordLit(())),
    ('{a: 1, "b c": 2,}', RecordLit((("a", Literal(1)), ("b c", Literal(2))))),
    ("{principal: principal}", RecordLit((("principal", P),))),
    ('{"if": 1}', RecordLit((("if", Literal(1)),))),
    ("{a: {b: []}}.a.b", attr(RecordLit((("a", RecordLit((("b", SetLit(())),))),)), "a", "b")),
    # has
    ("context has a", Has(C, ("a",))),
    ('context has "a b"', Has(C, ("a b",))),
    ('context has ""', Has(C, ("",))),
    ("context has a.b.c", Has(C, ("a", "b", "c"))),
    ("context has permit", Has(C, ("permit",))),
    ('principal.x has "if"', Has(attr(P, "x"), ("if",))),
    # like
    ('context.s like "abc"', Like(attr(C, "s"), ("abc",))),
    ('context.s like "a*b*"', Like(attr(C, "s"), ("a", WILDCARD, "b", WILDCARD))),
    (r'context.s like "a\*b"', Like(attr(C, "s"), ("a*b",))),
    (r'context.s like "*\**"', Like(attr(C, "s"), (WILDCARD, "*", WILDCARD))),
    (r'context.s like "\u{2a}"', Like(attr(C, "s"), (WILDCARD,))),
    ('context.s like ""', Like(attr(C, "s"), ())),
    ('context.s like "**"', Like(attr(C, "s"), (WILDCARD, WILDCARD))),
    # is
    ("principal is User", Is(P, "User")),
    ("principal is A::B", Is(P, "A::B")),
    ('principal is User in Group::"g"', Is(P, "User", uid("Group", "g"))),
    ("resource is Doc in principal.home", Is(R, "Doc", attr(P, "home"))),
    ("principal is User && true", And(Is(P, "User"), Literal(True))),
    # relations
    ("1 == 2", op("==", Literal(1), Literal(2))),
    ("1 != 2", op("!=", Literal(1), Literal(2))),
    ("1 < 2", op("<", Literal(1), Literal(2))),
    ("1 <= 2", op("<=", Literal(1), Literal(2))),
    ("1 > 2", op(">", Literal(1), Literal(2))),
    ("1 >= 2", op(">=", Literal(1), Literal(2))),
    ('principal in Group::"g"', op("in", P, uid("Group", "g"))),
    ('principal in [Group::"g", Group::"h"]',
     op("in", P, SetLit((uid("Group", "g"), uid("Group", "h"))))),
    # arithmetic
    ("1 + 2", op("+", Literal(1), Literal(2))),
    ("1 - 2", op("-", Literal(1), Literal(2))),
    ("1 -2", op("-", Literal(1), Literal(2))),
    ("2 - -3", op("-", Literal(2), Literal(-3))),
    ("2 * 3", op("*", Literal(2), Literal(3))),
    ("context.a * context.b", op("*", attr(C, "a"), attr(C, "b"))),
    # precedence and associativity
    ("1 + 2 * 3", op("+", Literal(1), op("*", Literal(2), Literal(3)))),
    ("1 * 2 + 3", op("+", op("*", Literal(1), Literal(2)), Literal(3))),
    ("1 - 2 - 3", op("-", op("-", Literal(1), Literal(2)), Literal(3))),
    ("1 - (2 - 3)", op("-", Literal(1), op("-", Literal(2), Literal(3)))),
    ("1 * 2 * 3", op("*", op("*", Literal(1), Literal(2)), Literal(3))),
    ("-2 * 3", op("*", Literal(-2), Literal(3))),
    ("1 + 2 < 3 * 4", op("<", op("+", Literal(1), Literal(2)), op("*", Literal(3), Literal(4)))),
    ("true || false && false", Or(Literal(True), And(Literal(False), Literal(False)))),
    ("true && false || false", Or(And(Literal(True), Literal(False)), Literal(False))),
    ("true || false || true", Or(Or(Literal(True), Literal(False)), Literal(True))),
    ("true && false && true", And(And(Literal(True), Literal(False)), Literal(True))),
    ("1 == 2 && 3 != 4", And(op("==", Literal(1), Literal(2)), op("!=", Literal(3), Literal(4)))),
    ("(1 == 2) == false", op("==", op("==", Literal(1), Literal(2)), Literal(False))),
    ("!true || false", Or(Not(Literal(True)), Literal(False))),
    ("!(true || false)", Not(Or(Literal(True), Literal(False)))),
    ("context has a && context.a", And(Has(C, ("a",)), attr(C, "a"))),
    ("1 + 1 in context.s", op("in", op("+", Literal(1), Literal(1)), attr(C, "s"))),
    ("if true then 1 else 2", If(Literal(True), Literal(1), Literal(2))),
    ("if true then 1 else 2 + 3", If(Literal(True), Literal(1), op("+", Literal(2), Literal(3)))),
    ("if true then 1 else false || true",
     If(Literal(True), Literal(1), Or(Literal(False), Literal(True)))),
    ("if if true then false else true then 1 else 2",
     If(If(Literal(True), Literal(False), Literal(True)), Literal(1), Literal(2))),
    ("(if true then 1 else 2) + 3", op("+", If(Literal(True), Literal(1), Literal(2)), Literal(3))),
    ("[if true then 1 else 2]", SetLit((If(Literal(True), Literal(1), Literal(2)),))),
    ("((((1))))", Literal(1)),
    # comments anywhere whitespace goes
    ("1 // one\n + // plus\n 2", op("+", Literal(1), Literal(2))),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [pytest.param(t, e, id=t) for t, e in EXPRESSIONS],
)
def test_expression(text, expected):
    assert parse_expression(text) == expected


def policy(text: str) -> Policy:
    (p,) = parse_policies(text)
    return p


ANY = ScopeConstraint("any")
ANY_ACTION = ActionConstraint("any")


def test_the_minimal_policy():
    assert policy("permit(principal, action, resource);") == Policy("permit", ANY, ANY_ACTION, ANY)


def test_forbid_and_trailing_comma_in_scope():
    assert policy("forbid ( principal , action , resource , ) ;") == Policy(
        "forbid", ANY, ANY_ACTION, ANY
    )


SCOPES = [
    ('principal == User::"a"', ScopeConstraint("eq", EntityUid("User", "a"))),
    ('principal in Group::"g"', ScopeConstraint("in", EntityUid("Group", "g"))),
    ('principal in (Group::"g")', ScopeConstraint("in", EntityUid("Group", "g"))),
    ("principal is User", ScopeConstraint("is", None, "User")),
    ("principal is NS::User", ScopeConstraint("is", None, "NS::User")),
    ('principal is User in Group::"g"', ScopeConstraint("is_in", EntityUid("Group", "g"), "User")),
    ("principal == ?principal", ScopeConstraint("eq", Slot("?principal"))),
    ("principal in ?principal", ScopeConstraint("in", Slot("?principal"))),
    ("principal is User in ?principal", ScopeConstraint("is_in", Slot("?principal"), "User")),
]


@pytest.mark.parametrize(("text", "expected"), SCOPES, ids=[s for s, _ in SCOPES])
def test_principal_scope(text, expected):
    assert policy(f"permit({text}, action, resource);").principal == expected


@pytest.mark.parametrize(("text", "expected"), SCOPES, ids=[s for s, _ in SCOPES])
def test_resource_scope(text, expected):
    text = text.replace("principal", "resource")
    if isinstance(expected.entity, Slot):
        expected = ScopeConstraint(expected.kind, Slot("?resource"), expected.entity_type)
    assert policy(f"permit(principal, action, {text});").resource == expected


ACTIONS = [
    ('action == Action::"view"', ActionConstraint("eq", (EntityUid("Action", "view"),))),
    ('action == NS::Action::"view"', ActionConstraint("eq", (EntityUid("NS::Action", "view"),))),
    ('action in Action::"read"', ActionConstraint("in", (EntityUid("Action", "read"),))),
    (
        'action in [Action::"a", Action::"b",]',
        ActionConstraint("in", (EntityUid("Action", "a"), EntityUid("Action", "b")), True),
    ),
    ('action in [Action::"a"]', ActionConstraint("in", (EntityUid("Action", "a"),), True)),
    ("action in []", ActionConstraint("in", (), True)),
]


@pytest.mark.parametrize(("text", "expected"), ACTIONS, ids=[s for s, _ in ACTIONS])
def test_action_scope(text, expected):
    assert policy(f"permit(principal, {text}, resource);").action == expected


def test_conditions_keep_their_order_and_kind():
    p = policy(
        "permit(principal, action, resource)\n"
        "  when { true } unless { false } when { context.ok };"
    )
    assert p.conditions == (
        Condition("when", Literal(True)),
        Condition("unless", Literal(False)),
        Condition("when", attr(C, "ok")),
    )


def test_annotations_with_and_without_values():
    p = policy('@id("p1") @ceiling @note("a\\tb") @if("reserved words are fine as keys")\n'
               "permit(principal, action, resource);")
    assert p.annotations == (
        Annotation("id", "p1"),
        Annotation("ceiling", None),
        Annotation("note", "a\tb"),
        Annotation("if", "reserved words are fine as keys"),
    )
    assert p.annotation("id") == "p1"
    assert p.annotation("ceiling") == ""
    assert p.has_annotation("ceiling") and not p.has_annotation("other")


def test_templates_are_policies_with_slots():
    p = policy("permit(principal == ?principal, action, resource in ?resource);")
    assert p.is_template
    assert p.principal.entity == Slot("?principal")
    assert p.resource.entity == Slot("?resource")
    assert not policy("permit(principal, action, resource);").is_template


def test_a_file_keeps_policies_in_order_with_comments():
    text = (
        "// first\n"
        'permit(principal == User::"a", action, resource);\n'
        "forbid(principal, action, resource) // why\n"
        "  unless { context.ok };\n"
        "// the end"
    )
    f = parse_file(text, "a.cedar")
    assert [p.effect for p in f.policies] == ["permit", "forbid"]
    assert [c.text for c in f.comments] == [" first", " why", " the end"]
    assert f.source == "a.cedar" and f.text == text


def test_strings_with_semicolons_and_slashes_stay_strings():
    f = parse_file('permit(principal, action, resource) when { context.s == ";// not a comment;" };')
    assert f.comments == ()
    assert f.policies[0].conditions[0].expr == op("==", attr(C, "s"), Literal(";// not a comment;"))


@pytest.mark.parametrize("text", ["", "   \n\t", "// nothing but a comment\n"])
def test_an_empty_file_has_no_policies(text):
    assert parse_policies(text) == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('User::"alice"', EntityUid("User", "alice")),
        ('A::B::"x\\n"', EntityUid("A::B", "x\n")),
        ('Ns::User::"q\\"uote"', EntityUid("Ns::User", 'q"uote')),
        ('User::""', EntityUid("User", "")),
        (' User :: "sp ace" ', EntityUid("User", "sp ace")),
        ('User::"\\u{1F600}"', EntityUid("User", "😀")),
        ('principal::"x"', EntityUid("principal", "x")),
    ],
)
def test_entity_uid(text, expected):
    assert parse_entity_uid(text) == expected


def test_entity_uid_round_trips_through_its_text():
    for u in (EntityUid("User", 'a"b\\c\n\0\t'), EntityUid("A::B", "😀 \x01")):
        assert parse_entity_uid(str(u)) == u


def test_threads_parsing_at_once_each_get_their_own_result():
    texts = [f'permit(principal == User::"u{i}", action, resource) when {{ context.n == {i} }};'
             for i in range(40)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(parse_policies, texts))
    for i, (p,) in enumerate(results):
        assert p.principal.entity == EntityUid("User", f"u{i}")
        assert p.conditions[0].expr == op("==", attr(C, "n"), Literal(i))
