"""The parser against Rust Cedar (cedarpy) as the oracle.

Cedar prints a parsed policy set as JSON (its "EST"); ``est`` below writes
our AST in the same form, so the two parsers are compared tree for tree:
over every policy file in Cedar's integration tests, over a list of tricky
snippets (both must accept or both reject), and over random policies.
"""

from __future__ import annotations

import json

import cedarpy
import pytest
from cedar_gen import policies as gen_policies
from cedar_gen import show_policies
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from support import add_summary, conformance_dir, examples, requires_conformance

from plainpdp.errors import ParseError
from plainpdp.syntax import parse_expression, parse_file, parse_policies
from plainpdp.syntax.ast import (
    WILDCARD,
    And,
    BinOp,
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
    RecordLit,
    SetLit,
    Slot,
    Var,
)
from plainpdp.values import EntityUid, escape_string

# ---------------------------------------------------------------- AST -> Cedar's JSON

_BUILTIN_BINARY_METHODS = ("contains", "containsAll", "containsAny", "getTag", "hasTag")


def _uid(u: EntityUid) -> dict:
    return {"type": u.type, "id": u.id}


def est_expr(e) -> dict:
    """An expression as Cedar's JSON policy format writes it."""
    c = e.__class__
    if c is Literal:
        v = e.value
        return {"Value": {"__entity": _uid(v)} if isinstance(v, EntityUid) else v}
    if c is Var:
        return {"Var": e.name}
    if c is Slot:
        return {"Slot": e.name}
    if c is Not:
        return {"!": {"arg": est_expr(e.arg)}}
    if c is Neg:
        return {"neg": {"arg": est_expr(e.arg)}}
    if c in (And, Or):
        return {"&&" if c is And else "||": {"left": est_expr(e.left), "right": est_expr(e.right)}}
    if c is BinOp:
        return {e.op: {"left": est_expr(e.left), "right": est_expr(e.right)}}
    if c is If:
        return {"if-then-else": {"if": est_expr(e.cond), "then": est_expr(e.then),
                                 "else": est_expr(e.else_)}}
    if c is GetAttr:
        return {".": {"left": est_expr(e.expr), "attr": e.attr}}
    if c is Has:  # `e has a.b` is `e has a && e.a has b` in Cedar's AST
        target, out = e.expr, None
        for name in e.attrs:
            test = {"has": {"left": est_expr(target), "attr": name}}
            out = test if out is None else {"&&": {"left": out, "right": test}}
            target = GetAttr(target, name)
        return out
    if c is Like:
        pattern = []
        for part in e.pattern:
            pattern += ["Wildcard"] if part is WILDCARD else [{"Literal": ch} for ch in part]
        return {"like": {"left": est_expr(e.expr), "pattern": pattern}}
    if c is Is:
        body = {"left": est_expr(e.expr), "entity_type": e.entity_type}
        if e.in_expr is not None:
            body["in"] = est_expr(e.in_expr)
        return {"is": body}
    if c is SetLit:
        return {"Set": [est_expr(x) for x in e.elems]}
    if c is RecordLit:
        return {"Record": {k: est_expr(v) for k, v in e.items}}
    if c is ExtCall:
        return {e.name: [est_expr(a) for a in e.args]}
    if c is MethodCall:
        if e.name in _BUILTIN_BINARY_METHODS:
            return {e.name: {"left": est_expr(e.receiver), "right": est_expr(e.args[0])}}
        if e.name == "isEmpty":
            return {"isEmpty": {"arg": est_expr(e.receiver)}}
        return {e.name: [est_expr(e.receiver)] + [est_expr(a) for a in e.args]}
    raise AssertionError(f"no EST for {e!r}")


def _est_scope(s) -> dict:
    if s.kind == "any":
        return {"op": "All"}
    if s.kind == "is":
        return {"op": "is", "entity_type": s.entity_type}
    target = {"slot": s.entity.name} if isinstance(s.entity, Slot) else {"entity": _uid(s.entity)}
    if s.kind == "is_in":
        return {"op": "is", "entity_type": s.entity_type, "in": target}
    return {"op": "==" if s.kind == "eq" else "in", **target}


def _est_action(a) -> dict:
    if a.kind == "any":
        return {"op": "All"}
    if a.kind == "eq":
        return {"op": "==", "entity": _uid(a.entities[0])}
    if len(a.entities) == 1:  # Cedar keeps no trace of `in [A]` versus `in A`
        return {"op": "in", "entity": _uid(a.entities[0])}
    return {"op": "in", "entities": [_uid(u) for u in a.entities]}


def est_policies(policies) -> dict:
    """A policy set as ``cedarpy.policies_to_json_str`` writes it."""
    out: dict = {"templates": {}, "staticPolicies": {}, "templateLinks": []}
    for i, p in enumerate(policies):
        body = {
            "effect": p.effect,
            "principal": _est_scope(p.principal),
            "action": _est_action(p.action),
            "resource": _est_scope(p.resource),
            "conditions": [{"kind": c.kind, "body": est_expr(c.expr)} for c in p.conditions],
        }
        if p.annotations:
            body["annotations"] = {a.key: a.value for a in p.annotations}
        out["templates" if p.is_template else "staticPolicies"][f"policy{i}"] = body
    return out


def cedar_est(text: str) -> dict:
    return json.loads(cedarpy.policies_to_json_str(text))


# ---------------------------------------------------------------- Cedar's own test files

CONFORMANCE = conformance_dir()
CEDAR_FILES = sorted(CONFORMANCE.glob("tests/**/*.cedar")) + sorted(
    CONFORMANCE.glob("corpus-tests/*.cedar")
)
needs_corpus = requires_conformance


@needs_corpus
def test_every_conformance_policy_file_parses_as_cedar_parses_it():
    differ = []
    total = 0
    for path in CEDAR_FILES:
        text = path.read_text(encoding="utf-8")
        try:
            parsed = parse_file(text, str(path))
        except ParseError as err:  # pragma: no cover - reported below
            differ.append(f"{path.name}: {err.message}")
            continue
        total += len(parsed.policies)
        if est_policies(parsed.policies) != cedar_est(text):
            differ.append(f"{path.name}: the tree differs from Cedar's")
    add_summary(f"syntax: {len(CEDAR_FILES)} Cedar files, {total} policies parsed as Cedar does")
    assert len(CEDAR_FILES) > 1000
    assert differ == []


# ---------------------------------------------------------------- snippets both must judge alike

WHEN = "permit(principal, action, resource) when { %s };"
ACCEPTED = [
    WHEN % "-9223372036854775808",
    WHEN % "- 9223372036854775808",
    WHEN % "--9223372036854775808",
    WHEN % "!!!!true && ----context.n == 1",
    WHEN % "2 - -3 * -context.n",
    WHEN % "-(5) + -5",
    WHEN % 'context has permit && context has "if" && context.a has b.c.d',
    WHEN % '{principal: 1, "a b": [], when: {}}.when',
    WHEN % 'permit::"x" == principal::"y"',
    WHEN % '"a" like "a\\*b*\\u{2a}"',
    WHEN % 'ip("1.2.3.4").isInRange(ip("1.0.0.0/8")) && decimal("1.0").lessThan(decimal("2.0"))',
    WHEN % 'datetime("2024-01-01").offset(duration("1h")).toDate() == datetime("2024-01-01")',
    WHEN % "[1, 2,].containsAll([1,]) && [].isEmpty() && context.s.containsAny([])",
    WHEN % 'principal.getTag("t") == 1 && principal.hasTag("u")',
    WHEN % 'principal is A::B in Group::"g" && resource is Doc',
    WHEN % "if context.a then if context.b then 1 else 2 else 3 + 4 || false",
    WHEN % "context.x.y[\"z\"].w",
    WHEN % '"\\n\\r\\t\\\\\\0\\\'\\"\\x41\\u{1F600}" == "x"',
    WHEN % "007 == 7",
    "@id(\"a\") @if(\"b\") @bare permit(principal is User in ?principal, action in [], "
    "resource is Doc in ?resource) when { true } unless { false } when { true };",
    'permit(principal, action in [Action::"a", NS::Action::"b",], resource == Doc::"d");',
    'forbid ( principal in (Group::"g") , action in (Action::"a") , resource , ) ;',
    "// only a comment",
    "",
]
REJECTED = [
    WHEN % "9223372036854775808",
    WHEN % "-(9223372036854775808)",
    WHEN % "-----5",
    WHEN % "!!!!!true",
    WHEN % "!-1",
    WHEN % "-!true",
    WHEN % "1 < 2 < 3",
    WHEN % "1 == 2 in [3]",
    WHEN % "context has a has b",
    WHEN % "1 + if true then 1 else 2",
    WHEN % "1 / 2",
    WHEN % "1 % 2",
    WHEN % "1 = 2",
    WHEN % "user == 1",
    WHEN % "foo(1)",
    WHEN % 'A::ip("1")',
    WHEN % "context.foo()",
    WHEN % "context.contains()",
    WHEN % "context.isEmpty(1)",
    WHEN % 'context["contains"](1)',
    WHEN % "principal(1)",
    WHEN % 'context has "a".b',
    WHEN % 'context has a["b"]',
    WHEN % "context has 1",
    WHEN % "context.s like context.p",
    WHEN % '"\\q"',
    WHEN % '"\\*"',
    WHEN % '"\\u{110000}"',
    WHEN % '"\\u{D800}"',
    WHEN % '"\\x80"',
    WHEN % '"a\rb"',
    WHEN % "'a'",
    WHEN % "context.if",
    WHEN % "context has in",
    WHEN % "{if: 1}",
    WHEN % '{"a": 1, a: 2}',
    WHEN % 'in::"x"',
    WHEN % 'A::true::"x"',
    WHEN % 'A::__cedar::"x"',
    WHEN % "context.__cedar",
    WHEN % "principal is A::\"x\"",
    WHEN % "?principal",
    WHEN % "?foo",
    WHEN % "0x10",
    WHEN % "1.5",
    WHEN % "principal inUser::\"a\"",
    WHEN % "context hasfoo",
    WHEN % "[,]",
    "permit(principal, action);",
    "permit(action, principal, resource);",
    "permit(principal, action, resource, context);",
    "permit(principal, action, resource) when {};",
    "permit(principal, action, resource) if { true };",
    "allow(principal, action, resource);",
    "permit(principal: User, action, resource);",
    "permit(principal == ?resource, action, resource);",
    "permit(principal, action == ?principal, resource);",
    "permit(principal == ?foo, action, resource);",
    'permit(principal in [User::"a"], action, resource);',
    "permit(principal in User, action, resource);",
    'permit(principal is User == User::"a", action, resource);',
    "permit(principal, action is Action, resource);",
    'permit(principal, action == [Action::"a"], resource);',
    'permit(principal, action == User::"a", resource);',
    'permit(principal, action == Action::NS::"a", resource);',
    'permit(principal < User::"a", action, resource);',
    "permit(principal == -1, action, resource);",
    "permit(principal, action, resource) when { true }",
    "permit(principal, action, resource);;",
    '@id("x") @id("y") permit(principal, action, resource);',
    "@a @a permit(principal, action, resource);",
    "permit(principal is __cedar::A, action, resource);",
]


def _cedar_accepts(text: str) -> bool:
    try:
        cedarpy.policies_to_json_str(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("text", ACCEPTED)
def test_snippets_cedar_accepts_parse_to_the_same_tree(text):
    assert _cedar_accepts(text)
    assert est_policies(parse_policies(text)) == cedar_est(text)


@pytest.mark.parametrize("text", REJECTED)
def test_snippets_cedar_rejects_are_rejected(text):
    assert not _cedar_accepts(text)
    with pytest.raises(ParseError):
        parse_policies(text)


# ---------------------------------------------------------------- random policies

@hsettings(max_examples=examples(30))
@given(st.lists(gen_policies([("User", "alice"), ("Doc", "x\ny"), ("Ns::Thing", 'q"')]),
                min_size=1, max_size=3))
def test_generated_policies_parse_as_cedar_parses_them(policies):
    text = show_policies(policies)
    assert est_policies(parse_policies(text)) == cedar_est(text)


# Random expressions printed with the fewest parentheses Cedar's precedence
# allows, so precedence and associativity are what the parse has to get right.

_ATTRS = ("a", "b", "owner", "principal", "if", "a b", "")
_IDENT_ATTRS = ("a", "b", "owner", "principal")
_TYPES = ("User", "Ns::Doc")
_CHARS = st.sampled_from('ab *\\"\n\t\0😀é')

_leaf = st.one_of(
    st.booleans().map(Literal),
    st.integers(-(2**63), 2**63 - 1).map(Literal),
    st.text(_CHARS, max_size=4).map(Literal),
    st.sampled_from(("principal", "action", "resource", "context")).map(Var),
    st.builds(lambda t, i: Literal(EntityUid(t, i)), st.sampled_from(_TYPES), st.text(_CHARS, max_size=3)),
)


def _compound(sub):
    pattern = st.lists(st.one_of(st.just(WILDCARD), st.text(_CHARS, min_size=1, max_size=3)),
                       max_size=3).map(_merge_runs)
    return st.one_of(
        st.builds(If, sub, sub, sub),
        st.builds(Or, sub, sub),
        st.builds(And, sub, sub),
        st.builds(BinOp, st.sampled_from(("==", "!=", "<", "<=", ">", ">=", "in", "+", "-", "*")),
                  sub, sub),
        st.builds(Not, sub),
        st.builds(Neg, sub),
        st.builds(Has, sub, st.one_of(st.tuples(st.sampled_from(_ATTRS)),
                                      st.lists(st.sampled_from(_IDENT_ATTRS), min_size=2,
                                               max_size=3).map(tuple))),
        st.builds(Like, sub, pattern),
        st.builds(Is, sub, st.sampled_from(_TYPES), st.none() | sub),
        st.builds(GetAttr, sub, st.sampled_from(_ATTRS)),
        st.builds(MethodCall, sub, st.just("contains"), st.tuples(sub)),
        st.builds(MethodCall, sub, st.just("isEmpty"), st.just(())),
        st.builds(MethodCall, sub, st.just("lessThan"), st.tuples(sub)),
        st.builds(ExtCall, st.sampled_from(("ip", "decimal")), st.lists(sub, max_size=2).map(tuple)),
        st.lists(sub, max_size=3).map(lambda xs: SetLit(tuple(xs))),
        st.dictionaries(st.sampled_from(_ATTRS), sub, max_size=3).map(
            lambda d: RecordLit(tuple(d.items()))),
    )


def _merge_runs(parts):
    out = []
    for p in parts:
        if out and p is not WILDCARD and out[-1] is not WILDCARD:
            out[-1] += p
        else:
            out.append(p)
    return tuple(out)


expressions = st.recursive(_leaf, _compound, max_leaves=12)

_RESERVED = {"true", "false", "if", "then", "else", "in", "is", "like", "has"}
_LEVEL = {If: 0, Or: 1, And: 2, Has: 3, Like: 3, Is: 3, Not: 6, Neg: 6}
_BINARY = {"+": 4, "-": 4, "*": 5}


def _is_name(s: str) -> bool:
    return s.isidentifier() and s.isascii() and s not in _RESERVED


def _level(e) -> int:
    if e.__class__ is BinOp:
        return _BINARY.get(e.op, 3)
    if e.__class__ is Literal and e.value.__class__ is int and e.value < 0:
        return 6  # `-5` reads as a unary minus applied to 5
    return _LEVEL.get(e.__class__, 7)


def _unary_run(e, cls) -> int:
    """How many `!` (or `-`) printing ``e`` starts with."""
    n = 0
    while e.__class__ is cls:
        n, e = n + 1, e.arg
    if cls is Neg and e.__class__ is Literal and e.value.__class__ is int and e.value < 0:
        n += 1
    return n


def show(e, at: int = 0) -> str:
    """Cedar text for ``e``, parenthesised only where ``at`` (the precedence
    the context needs) is above the level of ``e``."""
    text = _show(e)
    return f"({text})" if _level(e) < at else text


def _show(e) -> str:
    c = e.__class__
    if c is Literal:
        v = e.value
        if v.__class__ is bool:
            return "true" if v else "false"
        if v.__class__ is int:
            return str(v)
        if v.__class__ is str:
            return f'"{escape_string(v)}"'
        return str(v)
    if c is Var:
        return e.name
    if c is If:
        return f"if {show(e.cond)} then {show(e.then)} else {show(e.else_)}"
    if c is Or:
        return f"{show(e.left, 1)} || {show(e.right, 2)}"
    if c is And:
        return f"{show(e.left, 2)} && {show(e.right, 3)}"
    if c is BinOp:
        level = _level(e)
        if level == 3:
            return f"{show(e.left, 4)} {e.op} {show(e.right, 4)}"
        return f"{show(e.left, level)} {e.op} {show(e.right, level + 1)}"
    if c in (Not, Neg):
        sign = "!" if c is Not else "-"
        arg = e.arg
        chain = arg.__class__ is c or (
            c is Neg and arg.__class__ is Literal and arg.value.__class__ is int and arg.value < 0
        )
        if chain and _unary_run(e, c) <= 4:
            return sign + _show(arg)
        if c is Neg and arg.__class__ is Literal and arg.value.__class__ is int:
            return f"-({_show(arg)})"  # `-5` would be the literal -5
        return sign + show(arg, 7)
    if c is Has:
        if len(e.attrs) == 1 and not _is_name(e.attrs[0]):
            return f'{show(e.expr, 4)} has "{escape_string(e.attrs[0])}"'
        return f"{show(e.expr, 4)} has {'.'.join(e.attrs)}"
    if c is Like:
        body = "".join("*" if p is WILDCARD else escape_string(p).replace("*", "\\*")
                       for p in e.pattern)
        return f'{show(e.expr, 4)} like "{body}"'
    if c is Is:
        tail = f" in {show(e.in_expr, 4)}" if e.in_expr is not None else ""
        return f"{show(e.expr, 4)} is {e.entity_type}{tail}"
    if c is GetAttr:
        if _is_name(e.attr):
            return f"{show(e.expr, 7)}.{e.attr}"
        return f'{show(e.expr, 7)}["{escape_string(e.attr)}"]'
    if c is MethodCall:
        return f"{show(e.receiver, 7)}.{e.name}({', '.join(show(a) for a in e.args)})"
    if c is ExtCall:
        return f"{e.name}({', '.join(show(a) for a in e.args)})"
    if c is SetLit:
        return "[" + ", ".join(show(x) for x in e.elems) + "]"
    if c is RecordLit:
        return "{" + ", ".join(
            f"{k if _is_name(k) else chr(34) + escape_string(k) + chr(34)}: {show(v)}"
            for k, v in e.items
        ) + "}"
    raise AssertionError(f"cannot show {e!r}")


@hsettings(max_examples=examples(60))
@given(expressions)
def test_minimal_parentheses_parse_back_to_the_same_tree_as_in_cedar(e):
    text = show(e)
    assert parse_expression(text) == e
    policy = WHEN % text
    assert est_policies(parse_policies(policy))["staticPolicies"]["policy0"]["conditions"] == [
        {"kind": "when", "body": est_expr(e)}
    ] == cedar_est(policy)["staticPolicies"]["policy0"]["conditions"]


def test_the_printer_used_above_is_minimal():
    e = BinOp("-", BinOp("-", Literal(1), Literal(2)), BinOp("-", Literal(3), Literal(-4)))
    assert show(e) == "1 - 2 - (3 - -4)"
    assert show(Not(Not(Literal(True)))) == "!!true"
    assert show(Neg(Literal(5))) == "-(5)"
    assert show(GetAttr(Literal(-5), "a")) == "(-5).a"
