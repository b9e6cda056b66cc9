"""Constant folding: input expression -> folded expression, one pair per line."""

from __future__ import annotations

import pytest

from plainpdp.compile.fold import Const, fold, fold_conditions
from plainpdp.syntax import ast, parse_expression, parse_policies
from plainpdp.values import render_value

# (input, folded): `{...}` marks a value computed at compile time.
PAIRS = [
    ('1 + 2 == 3', '{true}'),
    ('!(1 == 1)', '{false}'),
    ('"abc" like "a*"', '{true}'),
    ('[1, 2 + 3].contains(5)', '{true}'),
    ('{a: {b: 1}} has a.b', '{true}'),
    ('ip("10.0.0.1").isLoopback()', '{false}'),
    ('{a: 1}.a + principal.n', '({1} + principal.n)'),
    ('if 1 < 2 then principal else resource', 'principal'),
    ('if principal.ok then 1 + 1 else 2 * 3', '(if principal.ok then {2} else {6})'),
    ('[1, principal.n]', '[1, principal.n]'),
    ('[1, 2 + 3, principal.n]', '[1, {5}, principal.n]'),
    # short-circuit: the branch never evaluated goes, errors and all
    ('false && (1 + true == 2)', '{false}'),
    ('true || principal.x', '{true}'),
    ('true && principal in resource', '(principal in resource)'),
    ('false || principal has x', '(principal has x)'),
    # `true && e` keeps the && when e might not be a bool (it must still be checked)
    ('true && principal.ok', '(true && principal.ok)'),
    # constants that error stay, to raise at run time when reached
    ('1 + true', '(1 + true)'),
    ('ip("nope")', 'ip("nope")'),
    ('9223372036854775807 + 1 > principal.n', '((9223372036854775807 + 1) > principal.n)'),
    ('principal.ok || (1 + true == 2)', '(principal.ok || ((1 + true) == 2))'),
    # anything reading the entity store is not a constant
    ('User::"a" in User::"b"', '(User::"a" in User::"b")'),
    ('User::"a".hasTag("x")', 'User::"a".hasTag("x")'),
    ('User::"a".level + (2 * 2)', '(User::"a".level + {4})'),
]


def show(e) -> str:
    """Cedar-like text of a folded expression; folded constants in braces."""
    cls = e.__class__
    if cls is Const:
        return "{" + render_value(e.value) + "}"
    if cls is ast.Literal:
        return render_value(e.value)
    if cls is ast.Var:
        return e.name
    if cls is ast.BinOp:
        return f"({show(e.left)} {e.op} {show(e.right)})"
    if cls is ast.And:
        return f"({show(e.left)} && {show(e.right)})"
    if cls is ast.Or:
        return f"({show(e.left)} || {show(e.right)})"
    if cls is ast.If:
        return f"(if {show(e.cond)} then {show(e.then)} else {show(e.else_)})"
    if cls is ast.Has:
        return f"({show(e.expr)} has {'.'.join(e.attrs)})"
    if cls is ast.GetAttr:
        return f"{show(e.expr)}.{e.attr}"
    if cls is ast.MethodCall:
        return f"{show(e.receiver)}.{e.name}({', '.join(map(show, e.args))})"
    if cls is ast.ExtCall:
        return f"{e.name}({', '.join(map(show, e.args))})"
    if cls is ast.SetLit:
        return "[" + ", ".join(map(show, e.elems)) + "]"
    raise AssertionError(f"no rendering for {cls.__name__}")


@pytest.mark.parametrize(("source", "folded"), PAIRS, ids=[p[0] for p in PAIRS])
def test_fold(source, folded):
    assert show(fold(parse_expression(source))) == folded


def test_unchanged_expressions_are_returned_as_they_are():
    e = parse_expression("principal.level > context.n && resource in principal.groups")
    assert fold(e) is e


def conditions_of(text: str):
    (policy,) = parse_policies(text)
    return fold_conditions(policy.conditions)


def test_always_true_conditions_vanish():
    folded = conditions_of("permit(principal, action, resource) when { 1 < 2 } unless { false };")
    assert folded.checks == () and not folded.ends_false and not folded.dead


def test_a_first_never_true_condition_makes_the_policy_dead():
    assert conditions_of("permit(principal, action, resource) when { true } when { 2 < 1 };").dead
    assert conditions_of("permit(principal, action, resource) unless { true };").dead


def test_a_later_never_true_condition_ends_the_checks():
    folded = conditions_of(
        "permit(principal, action, resource) when { principal.ok } when { false } "
        "when { principal.never_reached };"
    )
    assert [(neg, show(e)) for neg, e in folded.checks] == [(False, "principal.ok")]
    assert folded.ends_false and not folded.dead


def test_non_boolean_constant_conditions_stay_to_error():
    folded = conditions_of('permit(principal, action, resource) when { "yes" };')
    assert [show(e) for _, e in folded.checks] == ['"yes"']
