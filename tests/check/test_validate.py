"""Schema validation: one test per kind of error, as a reader would meet it.

Each case gives a policy, the diagnostic code, the text the caret
underlines, words of the message and of the help line. Cedar (cedarpy)
must agree with the verdict of every case. Then: several errors reported
together, the example portal validating cleanly, level validation, the
``plainpdp validate`` command, and a differential run against cedarpy on
generated policies and schemas.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import cedar_gen as cg
import cedarpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import ROOT, add_summary, examples

import plainpdp
from plainpdp import PolicySet, Schema
from plainpdp.check.validate import diagnose as diagnose_set
from plainpdp.check.validate import has_errors
from plainpdp.cli import validate as validate_cli
from plainpdp.errors import Diagnostic

SCHEMA = """
entity Group { name: String };
entity User in [Group] {
  age: Long, email?: String, tags: Set<String>, manager: User,
  profile: { city: String, zip?: String },
} tags String;
entity Doc { owner: User, level?: Long, labels: Set<String> };
entity Note;
entity Color enum ["red", "green"];
action view appliesTo { principal: [User], resource: [Doc], context: { ip: ipaddr, n?: Long } };
action edit appliesTo { principal: [User], resource: [Doc, Group] };
action manage;
action approve in [manage] appliesTo { principal: User, resource: Doc };
namespace Shop {
  entity Order { total: Long };
  action buy appliesTo { principal: User, resource: Order };
}
"""

SCHEMA_OBJ = Schema.from_text(SCHEMA)


def diagnose(text: str, **kw) -> list[Diagnostic]:
    return diagnose_set(PolicySet.from_text(text, source="test.cedar"), SCHEMA_OBJ, **kw)


def underlined(text: str, d: Diagnostic) -> str:
    assert d.span is not None
    return text[d.span.start:d.span.end]


def cedar_passes(text: str) -> bool:
    return cedarpy.validate_policies(text, SCHEMA).validation_passed


# (name, policy, code, underlined text, words of the message, words of the help)
ERROR_CASES = [
    ("unknown entity type", 'permit(principal == Usr::"a", action, resource);',
     "unknown-entity-type", "Usr", "unknown entity type `Usr`", "did you mean `User`?"),
    ("unknown entity type in `is`", "permit(principal, action, resource) when { resource is Dok };",
     "unknown-entity-type", "Dok", "unknown entity type `Dok`", "did you mean `Doc`?"),
    ("unknown action", 'permit(principal, action == Action::"veiw", resource);',
     "unknown-action", 'Action::"veiw"', 'unknown action `Action::"veiw"`',
     'did you mean `Action::"view"`?'),
    ("unknown action in a list", 'permit(principal, action in [Action::"view", Action::"edt"], resource);',
     "unknown-action", 'Action::"edt"', 'unknown action `Action::"edt"`',
     'did you mean `Action::"edit"`?'),
    ("id outside an enumeration", 'permit(principal, action, resource) when { principal.tags.contains("a") && Color::"gren" == Color::"red" };',
     "invalid-enum-entity", 'Color::"gren"', "not a value of the enumerated type `Color`",
     "did you mean `green`?"),
    # "blu" is near no value (every letter differs from `red`): list them, suggest none.
    ("id far from every value of an enumeration", 'permit(principal, action, resource) when { principal.tags.contains("a") && Color::"blu" == Color::"red" };',
     "invalid-enum-entity", 'Color::"blu"', "not a value of the enumerated type `Color`",
     "the values of `Color` are `red` and `green`"),
    ("unknown attribute", "permit(principal, action, resource) when { principal.agee > 3 };",
     "unknown-attribute", "principal.agee", "attribute `agee` not found on entity type `User`",
     "did you mean `age`?"),
    ("unknown attribute without a near name", "permit(principal, action, resource) when { principal.color == 3 };",
     "unknown-attribute", "principal.color", "attribute `color` not found on entity type `User`",
     "its attributes are `age`"),
    ("unknown context attribute", 'permit(principal, action == Action::"edit", resource) when { context.ip.isLoopback() };',
     "unknown-attribute", "context.ip", 'attribute `ip` not found in the context of `Action::"edit"`',
     "it has no attributes"),
    ("unknown record attribute", 'permit(principal, action, resource) when { principal.profile.cty == "x" };',
     "unknown-attribute", "principal.profile.cty", "attribute `cty` not found in record `principal.profile`",
     "did you mean `city`?"),
    ("optional attribute", 'permit(principal, action, resource) when { principal.email == "a@b.c" };',
     "optional-attribute", "principal.email", "attribute `email` of entity type `User` is optional",
     "`principal has email && ...`"),
    ("optional attribute of the context", 'permit(principal, action == Action::"view", resource) when { context.n > 1 };',
     "optional-attribute", "context.n", 'attribute `n` of the context of `Action::"view"` is optional',
     "`context has n && ...`"),
    ("optional attribute after `||`", 'permit(principal, action, resource) when { principal has email || principal.email == "x" };',
     "optional-attribute", "principal.email", "attribute `email` of entity type `User` is optional",
     "`principal has email && ...`"),
    ("optional record attribute", 'permit(principal, action, resource) when { principal.profile.zip == "1" };',
     "optional-attribute", "principal.profile.zip", "attribute `zip` of record `principal.profile` is optional",
     "`principal.profile has zip && ...`"),
    ("tag without hasTag", 'permit(principal, action, resource) when { principal.getTag("role") == "admin" };',
     "unguarded-tag", 'principal.getTag("role")', 'tag "role" of entity type `User` may be absent',
     '`principal.hasTag("role") && ...`'),
    ("tag of a type without tags", 'permit(principal, action, resource is Doc) when { resource.getTag("x") == "y" };',
     "unguarded-tag", 'resource.getTag("x")', 'tag "x" of entity type `Doc` may be absent', "hasTag"),
    ("non-boolean condition", "permit(principal, action, resource) when { principal.age };",
     "type-mismatch", "principal.age", "expected Bool, found Long", None),
    ("operator on wrong types", 'permit(principal, action, resource) when { principal.age + "1" > 3 };',
     "type-mismatch", '"1"', "expected Long, found String", "no string concatenation"),
    ("comparison of strings", 'permit(principal, action, resource) when { "a" < "b" };',
     "type-mismatch", '"a"', "expected Long, datetime or duration, found String", None),
    ("decimal with `<`", 'permit(principal, action, resource) when { decimal("1.0") < decimal("2.0") };',
     "type-mismatch", 'decimal("1.0")', "expected Long, datetime or duration, found decimal",
     "`.lessThan()`"),
    ("`if` branches of different types", 'permit(principal, action, resource) when { (if principal.age > 18 then "adult" else 0) == "adult" };',
     "incompatible-types", 'if principal.age > 18 then "adult" else 0',
     "the branches of this `if` have incompatible types: String and Long", None),
    ("set elements of different types", "permit(principal, action, resource) when { [1, true].contains(1) };",
     "incompatible-types", "[1, true]", "set elements have incompatible types: Long and Bool", None),
    ("set of two entity types", "permit(principal, action, resource is Doc) when { [principal, resource].contains(principal) };",
     "incompatible-types", "[principal, resource]", "User and Doc", "one type"),
    ("entity compared to a number", "permit(principal, action, resource) when { principal == 1 };",
     "incompatible-types", "principal == 1", "`==` compares incompatible types: User and Long",
     "never equal"),
    ("records of different shapes", "permit(principal, action, resource) when { principal.profile == {city: \"x\"} };",
     "incompatible-types", 'principal.profile == {city: "x"}', "`==` compares incompatible types",
     "attribute `zip` is in one record type but not the other"),
    ("records with an attribute required in one and optional in the other",
     'permit(principal, action, resource) when { principal.profile == {city: "x", zip: "1"} };',
     "incompatible-types", 'principal.profile == {city: "x", zip: "1"}',
     "{city: String, zip?: String} and {city: String, zip: String}",
     "attribute `zip` is required in one record type and optional in the other"),
    ("contains with a wrong element", "permit(principal, action, resource) when { principal.tags.contains(1) };",
     "incompatible-types", "principal.tags.contains(1)", "this set cannot contain the value", None),
    ("`in` with a non-entity", "permit(principal, action, resource) when { principal in [1] };",
     "type-mismatch", "[1]", "expected a set of entities or an entity, found Set<Long>", "`.contains()`"),
    ("`in` with a number on the left", "permit(principal, action, resource) when { 1 in principal };",
     "type-mismatch", "1", "expected an entity, found Long", "`.contains()`"),
    ("`like` on a non-string", 'permit(principal, action, resource) when { principal like "a*" };',
     "type-mismatch", "principal", "expected String, found User", "use `is`"),
    ("`has` on a set", "permit(principal, action, resource) when { principal.tags has admin };",
     "type-mismatch", "principal.tags", "expected an entity or a record, found Set<String>",
     "`.contains()`"),
    ("`is` on a non-entity", "permit(principal, action, resource) when { principal.age is User };",
     "type-mismatch", "principal.age", "expected an entity, found Long", "`is` tests the type"),
    ("empty set", "permit(principal, action, resource) when { principal.tags == [] };",
     "empty-set", "[]", "empty set literal", ".isEmpty()"),
    ("invalid ip literal", 'permit(principal, action == Action::"view", resource) when { context.ip == ip("10.0.0.300") };',
     "invalid-extension-literal", '"10.0.0.300"', '"10.0.0.300" is not an IP address', 'ip("10.0.0.1")'),
    ("invalid decimal literal", 'permit(principal, action, resource) when { decimal("1.23456").lessThan(decimal("2.0")) };',
     "invalid-extension-literal", '"1.23456"', "is not a decimal", "4 digits"),
    ("invalid datetime literal", 'permit(principal, action, resource) when { datetime("2024-13-01") < datetime("2025-01-01") };',
     "invalid-extension-literal", '"2024-13-01"', "is not a datetime", "2024-10-15"),
    ("invalid duration literal", 'permit(principal, action, resource) when { duration("1x").toHours() > 1 };',
     "invalid-extension-literal", '"1x"', "is not a duration", "1d2h3m4s5ms"),
    ("extension constructor on a non-literal", 'permit(principal, action, resource) when { principal has email && ip(principal.email).isLoopback() };',
     "non-literal-extension", "ip(principal.email)", "takes a literal string", None),
    ("extension call with too many arguments", 'permit(principal, action, resource) when { ip("1.2.3.4", "x").isLoopback() };',
     "extension-arity", 'ip("1.2.3.4", "x")', "`ip` takes 1 argument, found 2", None),
    ("extension method on a wrong type", 'permit(principal, action, resource) when { datetime("2024-01-01").offset(3) < datetime("2025-01-01") };',
     "type-mismatch", "3", "expected duration, found Long", None),
    ("action applied to a principal it does not apply to", 'permit(principal == Group::"g", action == Action::"view", resource);',
     "action-not-applicable", 'principal == Group::"g"',
     "no action in this policy's scope applies to this principal",
     '`Action::"view"` applies to principals `User` and resources `Doc`'),
    ("action applied to a resource it does not apply to", 'permit(principal, action == Action::"view", resource is Group);',
     "action-not-applicable", "resource is Group",
     "no action in this policy's scope applies to this resource", "resources `Doc`"),
    ("action group without appliesTo", 'permit(principal, action == Action::"manage", resource);',
     "action-not-applicable", 'action == Action::"manage"',
     "no action in this policy's scope applies", 'use `action in Action::"manage"`'),
]


@pytest.mark.parametrize(
    "policy, code, under, message, help",
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_error_kind(policy, code, under, message, help):
    diags = diagnose(policy)
    found = [d for d in diags if d.code == code and underlined(policy, d) == under]
    assert found, "\n".join(d.render() for d in diags) or "no diagnostics"
    d = found[0]
    assert d.severity == "error"
    assert message in d.message
    assert d.message == d.message.strip() and d.message[0].islower() or d.message[0] in "`\"["
    if help is None:
        pass
    else:
        assert d.help is not None and help in d.help, d.help
    assert not cedar_passes(policy), "cedarpy accepts this policy"


def test_error_codes_all_covered():
    codes = {case[2] for case in ERROR_CASES}
    assert codes >= {
        "unknown-entity-type", "unknown-action", "invalid-enum-entity", "unknown-attribute",
        "optional-attribute", "unguarded-tag", "type-mismatch", "incompatible-types",
        "empty-set", "invalid-extension-literal", "non-literal-extension", "extension-arity",
        "action-not-applicable",
    }


VALID = [
    'permit(principal, action, resource) when { principal has email && principal.email like "*@x.com" };',
    'permit(principal, action, resource) when { if principal has email then principal.email == "a" else false };',
    'permit(principal, action, resource) when { principal has profile.zip && principal.profile.zip == "1" };',
    'permit(principal, action, resource) when { principal.hasTag("role") && principal.getTag("role") == "admin" };',
    'permit(principal, action == Action::"view", resource) when { context has n && context.n > 1 && context.ip.isLoopback() };',
    'permit(principal, action in Action::"manage", resource is Doc) when { resource.owner == principal };',
    'permit(principal in Group::"g", action, resource);',
    'permit(principal, action, resource) when { datetime("2024-01-01").offset(duration("1d")) > datetime("2024-01-01") };',
    'permit(principal, action, resource) when { resource is Doc && resource.labels.containsAny(principal.tags) };',
    'permit(principal, action == Shop::Action::"buy", resource) when { resource.total < 100 };',
    # The scope excludes Group resources, so `level` is only read on a Doc (and guarded).
    'forbid(principal, action, resource is Doc) when { resource has level && resource.level > 3 };',
    # `false && ...`: the right side is never evaluated, so never checked (as in Cedar).
    'permit(principal, action, resource) when { principal is Group && principal.nope };',
]


@pytest.mark.parametrize("policy", VALID)
def test_valid_policies(policy):
    diags = diagnose(policy)
    assert not has_errors(diags), "\n".join(d.render() for d in diags)
    assert cedar_passes(policy)


def test_several_errors_in_one_file_are_all_reported_in_order():
    text = (
        'permit(principal == Usr::"alice", action == Action::"veiw", resource);\n'
        "permit(principal, action, resource)\n"
        "when {\n"
        '  principal.email == "x" &&\n'
        "  principal.agee > 3 &&\n"
        '  principal.getTag("role") == "admin"\n'
        "};\n"
        "permit(principal, action, resource) when { [1, \"two\"].contains(1) };\n"
    )
    diags = diagnose(text)
    got = [(d.code, d.span.line) for d in diags]
    assert got == [
        ("unknown-entity-type", 1),
        ("unknown-action", 1),
        ("optional-attribute", 4),
        ("unknown-attribute", 5),
        ("unguarded-tag", 6),
        ("incompatible-types", 8),
    ]
    rendered = diags[2].render()
    assert rendered.splitlines()[0] == (
        "test.cedar:4:3: error[optional-attribute]: "
        "attribute `email` of entity type `User` is optional and may be absent"
    )
    assert "4 |   principal.email" in rendered
    assert "^^^^^^^^^^^^^^^" in rendered


def test_one_diagnostic_for_a_problem_in_several_environments():
    # The resource may be a Doc (view, edit, approve), a Group (edit) or a
    # Shop::Order (Shop::Action::"buy"): one diagnostic names all three.
    text = "permit(principal, action, resource) when { resource.missing };"
    diags = diagnose(text)
    assert [d.code for d in diags] == ["unknown-attribute"]
    assert diags[0].message == (
        "attribute `missing` not found on entity types `Doc`, `Group` and `Shop::Order`"
    )
    assert diags[0].help == (
        "`Doc` has `labels`, `level` and `owner`; `Group` has `name`; `Shop::Order` has `total`"
    )


def test_a_near_name_in_any_environment_is_suggested():
    text = "permit(principal, action, resource) when { resource.nam };"
    (d,) = diagnose(text)
    assert d.message == "attribute `nam` not found on entity types `Doc`, `Group` and `Shop::Order`"
    assert d.help == "did you mean `name`?"


def test_parentheses_around_the_problem_are_not_underlined():
    text = 'permit(principal, action, resource) when { ( ("a") ) < 1 };'
    (d,) = diagnose(text)
    assert (d.code, underlined(text, d)) == ("type-mismatch", '"a"')


def test_scope_limits_where_the_body_is_checked():
    # Under `action == view`, only (User, view, Doc) applies: `level` exists there.
    text = 'permit(principal, action == Action::"view", resource) when { resource has level };'
    assert diagnose(text) == []
    # Under any action, `edit` also reaches Group, which has no `level`: `has` is just false.
    text = "permit(principal, action, resource) when { resource has level && resource.level > 1 };"
    assert diagnose(text) == []


def test_impossible_policy_is_a_warning():
    text = "permit(principal, action, resource) when { false };"
    (d,) = diagnose(text)
    assert (d.code, d.severity, underlined(text, d)) == ("impossible-policy", "warning", "permit")
    assert "can never apply" in d.message
    assert not has_errors([d])
    assert cedar_passes(text)


def test_templates_are_validated():
    text = "permit(principal == ?principal, action, resource in ?resource) when { resource.nope };"
    policies = PolicySet.from_text(text)
    assert len(policies.templates) == 1
    diags = diagnose_set(policies, SCHEMA_OBJ)
    assert [d.code for d in diags] == ["unknown-attribute"]
    assert not cedar_passes(text)


def test_example_portal_validates_cleanly():
    root = ROOT / "policies"
    policies = PolicySet.from_directory(root)
    schema = Schema.from_text((root / "schema.cedarschema").read_text(encoding="utf-8"))
    diags = diagnose_set(policies, schema)
    assert diags == [], "\n".join(d.render() for d in diags)


# ------------------------------------------------------------------ the public entry point


def test_public_validate_raises_one_error_holding_every_diagnostic():
    text = (
        "permit(principal, action, resource) when { principal.agee > 1 };\n"
        "permit(principal, action, resource) when { false };\n"
        'permit(principal == Usr::"a", action, resource);\n'
    )
    with pytest.raises(plainpdp.ValidationError) as info:
        plainpdp.validate(PolicySet.from_text(text, source="p.cedar"), SCHEMA_OBJ)
    err = info.value
    assert isinstance(err, plainpdp.PlainPDPError)
    assert [(d.code, d.severity) for d in err.diagnostics] == [
        ("unknown-attribute", "error"),
        ("impossible-policy", "warning"),
        ("unknown-entity-type", "error"),
    ]
    assert err.message == "p.cedar:1:44: attribute `agee` not found on entity type `User` (and 1 more)"
    assert "did you mean `age`?" in err.render()


def test_public_validate_is_a_top_level_name():
    assert "validate" in plainpdp.__all__
    from plainpdp import validate as top_level

    assert top_level is plainpdp.validate


def test_public_validate_returns_warnings_of_a_valid_set():
    ok = PolicySet.from_text("permit(principal, action, resource) when { principal.age > 1 };")
    assert plainpdp.validate(ok, SCHEMA_OBJ) == []
    warned = PolicySet.from_text("permit(principal, action, resource) when { false };")
    assert [d.code for d in plainpdp.validate(warned, SCHEMA_OBJ)] == ["impossible-policy"]


@pytest.mark.parametrize("args, message", [
    (("permit(principal, action, resource);", SCHEMA_OBJ), "validate needs a PolicySet, got str"),
    ((PolicySet.from_text(""), SCHEMA), "validate needs a Schema, got str"),
])
def test_public_validate_rejects_wrong_arguments(args, message):
    with pytest.raises(plainpdp.PlainPDPError, match=message):
        plainpdp.validate(*args)


def test_public_validate_rejects_a_negative_level():
    with pytest.raises(plainpdp.PlainPDPError, match="0 or more"):
        plainpdp.validate(PolicySet.from_text(""), SCHEMA_OBJ, max_level=-1)


# ------------------------------------------------------------------ level validation

LEVEL_SCHEMA = Schema.from_json({"": {
    "entityTypes": {
        "User": {
            "memberOfTypes": ["User"],
            "shape": {"type": "Record", "attributes": {
                "user": {"type": "Entity", "name": "User"},
                "flag": {"type": "Boolean"},
                "nested": {"type": "Record", "attributes": {"user": {"type": "Entity", "name": "User"}}},
            }},
            "tags": {"type": "Entity", "name": "User"},
        },
        "Photo": {"shape": {"type": "Record", "attributes": {"user": {"type": "Entity", "name": "User"}}}},
    },
    "actions": {"view": {"appliesTo": {
        "principalTypes": ["User"], "resourceTypes": ["Photo"],
        "context": {"type": "Record", "attributes": {"user": {"type": "Entity", "name": "User"}}},
    }}},
}})

# (condition, the level it needs, the text under the error one level below)
LEVEL_CASES = [
    ("1 > 0 && context has user && context.user is User", 0, []),
    ("{foo: principal}.foo is User", 0, []),
    ("principal.flag", 1, ["principal.flag"]),
    ("principal has user", 1, ["principal has user"]),
    ('principal in User::"other"', 1, ['principal in User::"other"']),
    ('principal.hasTag("t") && principal.getTag("t") is User',
     1, ['principal.hasTag("t")', 'principal.getTag("t")']),
    ("context.user.flag", 1, ["context.user.flag"]),
    ("principal.user.flag", 2, ["principal.user.flag"]),
    ("principal in principal.user.user", 2, ["principal.user.user"]),
    ("principal has user.user.flag && principal.user.user.flag", 3,
     ["principal has user.user.flag", "principal.user.user.flag"]),
    ("(if principal.flag then principal.user else resource.user).flag", 2,
     ["(if principal.flag then principal.user else resource.user).flag"]),
    ("{foo: principal, bar: principal.user.user}.foo.flag", 2, ["principal.user.user"]),
    # `false && ...` is not read, so not checked.
    ("principal is Photo && principal.user.user.user.flag", 0, []),
]


def level_errors(condition: str, level: int) -> list[tuple[str, str]]:
    text = f"permit(principal, action, resource) when {{ {condition} }};"
    diags = diagnose_set(PolicySet.from_text(text), LEVEL_SCHEMA, max_level=level)
    return sorted((d.code, underlined(text, d)) for d in diags if d.severity == "error")


@pytest.mark.parametrize("condition, level, under", LEVEL_CASES)
def test_level_validation(condition, level, under):
    assert level_errors(condition, level) == []
    assert level_errors(condition, level + 3) == []
    if level > 0:
        got = level_errors(condition, level - 1)
        assert got == sorted(("level-exceeded", u) for u in under)


def test_level_rejects_dereferencing_a_literal():
    assert level_errors('User::"alice".flag', 5) == [("literal-dereference", 'User::"alice"')]


def test_level_message():
    text = "permit(principal, action, resource) when { principal.user.flag };"
    (d,) = diagnose_set(PolicySet.from_text(text), LEVEL_SCHEMA, max_level=1)
    assert d.message == "this reads the entity graph at level 2, above the maximum level 1"


# ------------------------------------------------------------------ the command


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="plainpdp")
    sub = parser.add_subparsers()
    validate_cli.register(sub)
    args = parser.parse_args(["validate", *argv])
    code = args.run(args)
    return code, capsys.readouterr().out


def test_cli_example_portal_is_valid(capsys):
    code, out = run_cli([str(ROOT / "policies")], capsys)
    assert code == 0
    assert out.strip().splitlines()[-1] == "valid: 0 errors, 0 warnings"


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_cli_reports_errors_and_exits_1(tmp_path, capsys):
    root = _project(tmp_path, {
        "schema.cedarschema": SCHEMA,
        "platform/a.cedar": 'permit(principal, action, resource) when { principal.agee > 1 };\n',
    })
    code, out = run_cli([str(root)], capsys)
    assert code == 1
    assert "platform/a.cedar:1:44: error[unknown-attribute]: attribute `agee` not found" in out
    assert "1 | permit(principal, action, resource) when { principal.agee > 1 };" in out
    assert "= help: did you mean `age`?" in out
    assert out.strip().splitlines()[-1] == "invalid: 1 error, 0 warnings"


def test_cli_reports_partner_scope_errors(tmp_path, capsys):
    root = _project(tmp_path, {
        "schema.cedarschema": SCHEMA + "\nentity Partner;\n",
        "partners/acme/a.cedar": '@ceiling\npermit(principal, action, resource);\n',
    })
    code, out = run_cli([str(root)], capsys)
    assert code == 1
    assert "error[ceiling-in-partner-scope]" in out
    assert "partners/acme/a.cedar:1:1:" in out


def test_cli_reports_cross_partner_references(tmp_path, capsys):
    root = _project(tmp_path, {
        "schema.cedarschema": "entity Partner; entity User in [Partner];\n"
                              "action view appliesTo { principal: User, resource: User };\n",
        "partners/acme/a.cedar": 'permit(principal in Partner::"globex", action, resource);\n',
    })
    code, out = run_cli([str(root)], capsys)
    assert code == 1
    assert ('partners/acme/a.cedar:1:8: error[cross-partner-reference]: '
            'policy of partner `acme` names the partner Partner::"globex"') in out
    assert out.strip().splitlines()[-1] == "invalid: 1 error, 0 warnings"


def test_cli_syntax_error_is_bad_input(tmp_path, capsys):
    root = _project(tmp_path, {
        "schema.cedarschema": SCHEMA,
        "platform/a.cedar": "permit(principal, action, resource) when { 1 + };\n",
    })
    code, out = run_cli([str(root)], capsys)
    assert code == 2
    assert "platform/a.cedar:1:" in out and "error[syntax]" in out
    assert "^" in out
    assert "Traceback" not in out
    assert out.strip().splitlines()[-1].startswith("invalid input:")


def test_cli_help_states_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        run_cli(["--help"], capsys)
    text = " ".join(capsys.readouterr().out.split())
    assert "Exit 0 when valid (warnings allowed), 1 when a policy does not validate, 2 when" in text


def test_cli_missing_directory_is_bad_input(tmp_path, capsys):
    code, out = run_cli([str(tmp_path / "nowhere")], capsys)
    assert code == 2
    assert "Traceback" not in out


def test_cli_warnings_do_not_fail(tmp_path, capsys):
    root = _project(tmp_path, {
        "schema.cedarschema": SCHEMA,
        "platform/a.cedar": "permit(principal, action, resource) when { false };\n",
    })
    code, out = run_cli([str(root)], capsys)
    assert code == 0
    assert "warning[impossible-policy]" in out
    assert out.strip().splitlines()[-1] == "valid: 0 errors, 1 warning"


def test_cli_schema_option_and_level(tmp_path, capsys):
    root = _project(tmp_path, {
        "s.cedarschema.json": json.dumps(SCHEMA_OBJ.to_json()),
        "p.cedar": "permit(principal, action, resource) when { principal.manager.age > 1 };\n",
    })
    code, _ = run_cli([str(root / "p.cedar"), "--schema", str(root / "s.cedarschema.json")], capsys)
    assert code == 0
    (root / "q.cedar").write_text("permit(principal, action, resource) when { principal.agee };\n")
    code, out = run_cli([str(root / "q.cedar"), "--schema", str(root / "s.cedarschema.json")], capsys)
    assert code == 1
    assert f"{root / 'q.cedar'}:1:44: error[unknown-attribute]" in out
    code, out = run_cli([str(root / "p.cedar"), "--schema", str(root / "s.cedarschema.json"),
                         "--level", "1"], capsys)
    assert code == 1
    assert "error[level-exceeded]" in out


# ------------------------------------------------------------------ differential


_PRIM = {
    "bool": {"type": "Boolean"}, "long": {"type": "Long"}, "string": {"type": "String"},
    "ip": {"type": "Extension", "name": "ipaddr"},
    "decimal": {"type": "Extension", "name": "decimal"},
    "datetime": {"type": "Extension", "name": "datetime"},
    "duration": {"type": "Extension", "name": "duration"},
}


def _json_type(t: str, r: random.Random, entity: str) -> dict:
    if t in _PRIM:
        return dict(_PRIM[t])
    if t == "entity":
        return {"type": "Entity", "name": entity}
    if t.startswith("set_"):
        return {"type": "Set", "element": _json_type(cg.SET_ELEM[t], r, entity)}
    return {"type": "Record", "attributes": {
        k: dict(_json_type(v, r, entity), required=r.random() > 0.3)
        for k, v in cg.RECORD_FIELDS[t].items()
    }}


def random_schema(seed: int) -> dict:
    """A JSON schema over cedar_gen's vocabulary: random attributes, optionality,
    tags, hierarchy, enumerations and appliesTo."""
    r = random.Random(seed)
    types = list(cg.ENTITY_TYPES)
    entity = r.choice(["User", "Ns::Thing", "Doc"])

    def shape() -> dict:
        attrs = {k: dict(_json_type(t, r, entity), required=r.random() > 0.3)
                 for k, t in cg.ATTRS.items() if r.random() < 0.6}
        return {"type": "Record", "attributes": attrs}

    defs: dict[str, dict] = {}
    for t in types:
        d = {"shape": shape(), "memberOfTypes": [x for x in types if x != t and r.random() < 0.3]}
        if r.random() < 0.4:
            d["tags"] = r.choice([{"type": "String"}, {"type": "Long"}, {"type": "Boolean"}])
        defs[t] = d
    if r.random() < 0.3:
        defs["Group"] = {"enum": ["eng", "root"]}
    actions = {}
    for a, parents in cg.ACTION_PARENTS.items():
        d: dict = {"memberOf": [{"id": p} for p in parents]}
        if r.random() < 0.85:
            d["appliesTo"] = {
                "principalTypes": [t for t in types if r.random() < 0.5] or [r.choice(types)],
                "resourceTypes": [t for t in types if r.random() < 0.5] or [r.choice(types)],
                "context": shape(),
            }
        actions[a] = d

    def namespace(ns: str) -> dict:
        return {t.split("::")[-1]: d for t, d in defs.items() if ("::" in t) == (ns == "Ns")}

    return {"": {"entityTypes": namespace(""), "actions": actions},
            "Ns": {"entityTypes": namespace("Ns"), "actions": {}}}


def _policy_of(policies: PolicySet, d: Diagnostic) -> str:
    for e in policies:
        s = e.policy.span
        if s.start <= d.span.start and d.span.end <= s.end:
            return e.id
    raise AssertionError(f"diagnostic outside every policy: {d}")


DIFF_STATS = {"examples": 0, "policies": 0, "invalid": 0}


@settings(max_examples=examples(200), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_same_verdicts_as_cedar_on_generated_policies(data):
    universe = data.draw(cg.universes())
    drawn = [data.draw(cg.policies(universe.uids)) for _ in range(data.draw(st.integers(1, 4)))]
    schema_json = random_schema(data.draw(st.integers(0, 10**6)))
    text = cg.show_policies(drawn)
    cedar = cedarpy.validate_policies(text, json.dumps(schema_json))
    policies = PolicySet.from_text(text)
    diags = diagnose_set(policies, Schema.from_json(schema_json))
    ours = {_policy_of(policies, d) for d in diags if d.severity == "error"}
    theirs = {e.policy_id for e in cedar.errors}
    DIFF_STATS["examples"] += 1
    DIFF_STATS["policies"] += len(policies)
    DIFF_STATS["invalid"] += len(theirs)
    assert ours == theirs, (
        f"{text}\ncedar: {[e.error for e in cedar.errors]}\n"
        f"ours: {[d.render() for d in diags]}"
    )


def test_zz_differential_summary():
    if DIFF_STATS["examples"]:
        add_summary(
            f"validation vs cedarpy: {DIFF_STATS['examples']} generated policy sets, "
            f"{DIFF_STATS['policies']} policies ({DIFF_STATS['invalid']} invalid), same verdicts"
        )
