"""Entity and context errors say which entity, which field, and what is wrong."""

from __future__ import annotations

import json

import pytest

from plainpdp.entities import Entities, parse_context, parse_value
from plainpdp.errors import EntityError, RequestError
from plainpdp.schema import LongType, Schema
from plainpdp.values import EntityUid

SCHEMA = Schema.from_text(
    """
    entity Group; entity Team in [Group];
    entity User in [Team] { age: Long, ip?: ipaddr, boss?: User, r?: { a: Long } };
    entity Color enum ["red", "blue"];
    entity Pen { color: Color };
    action view appliesTo { principal: User, resource: User, context: { ip: ipaddr, n?: Long } };
    action group; action edit in [group];
    """
)


def user(i: str, attrs: dict | None = None, parents: list | None = None, **extra) -> dict:
    return {
        "uid": {"type": "User", "id": i},
        "attrs": attrs if attrs is not None else {"age": 1},
        "parents": parents or [],
        **extra,
    }


def load_error(data, schema=SCHEMA) -> str:
    with pytest.raises(EntityError) as info:
        Entities.from_json(data if isinstance(data, str) else json.dumps(data), schema)
    return info.value.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ('[{"uid": ', "entities are not valid JSON: Expecting value: line 1 column 10 (char 9)"),
        (
            '[{"uid": {"type": "User", "id": "a"}, "attrs": {"age": 1, "age": 2}, "parents": []}]',
            "entities are not valid JSON: duplicate key `age`",
        ),
        (
            {"uid": {"type": "User", "id": "a"}},
            'entities must be a JSON list of entity objects, got {"uid": {"id": "a", "type": "User"}}',
        ),
        ([user("a"), 7], 'entity #1: expected an object with "uid", "attrs" and "parents", got 7'),
        ([{"attrs": {}, "parents": []}], 'entity #0: missing field "uid"'),
        (
            [{"uid": {"type": "User"}, "attrs": {}, "parents": []}],
            'entity #0: field "uid": expected an entity uid {"type": "...", "id": "..."}, '
            'got {"type": "User"}',
        ),
        (
            [{"uid": {"type": "Us er", "id": "a"}, "attrs": {}, "parents": []}],
            'entity #0: field "uid": `Us er` is not a valid entity type name',
        ),
        (
            [{"uid": {"type": "User", "id": "a"}, "parents": []}],
            'entity #0 (User::"a"): missing field "attrs"',
        ),
        (
            [user("a", {"age": "x"})],
            'entity #0 (User::"a"): attribute "age": expected a long, got "x"',
        ),
        (
            [user("a", {"age": True})],
            'entity #0 (User::"a"): attribute "age": expected a long, got true',
        ),
        (
            [user("a", {"age": 2**63})],
            'entity #0 (User::"a"): attribute "age": integer 9223372036854775808 does not fit in a '
            "Cedar long (64-bit signed)",
        ),
        (
            [user("a", {"age": 1.5})],
            'entity #0 (User::"a"): attribute "age": 1.5 is not a Cedar value: Cedar has no '
            "floating-point numbers",
        ),
        (
            [user("a", {"age": None})],
            'entity #0 (User::"a"): attribute "age": null is not a Cedar value',
        ),
        ([user("a", {})], 'entity #0 (User::"a"): missing required attribute "age"'),
        (
            [user("a", {"age": 1, "nick": "al"})],
            'entity #0 (User::"a"): attribute "nick": not declared in the schema',
        ),
        (
            [user("a", {"age": 1, "r": {"a": "x"}})],
            'entity #0 (User::"a"): attribute "r", attribute "a": expected a long, got "x"',
        ),
        (
            [user("a", {"age": 1, "ip": "10.0.0.300"})],
            'entity #0 (User::"a"): attribute "ip": ip("10.0.0.300") is not a valid value: '
            "error while evaluating `ipaddr` extension function: invalid IP address: 10.0.0.300",
        ),
        (
            [user("a", {"age": 1, "ip": {"__extn": {"fn": "decimal", "arg": "1.0"}}})],
            'entity #0 (User::"a"): attribute "ip": expected an ipaddr value, got decimal("1.0")',
        ),
        (
            [user("a", {"age": 1, "boss": {"type": "Group", "id": "g"}})],
            'entity #0 (User::"a"): attribute "boss": expected an entity of type `User`, got Group::"g"',
        ),
        (
            [user("a", {"age": 1, "boss": "bob"})],
            'entity #0 (User::"a"): attribute "boss": expected an entity uid '
            '{"type": "...", "id": "..."}, got "bob"',
        ),
        (
            [user("a", parents=[{"type": "User", "id": "b"}])],
            'entity #0 (User::"a"): parent `User::"b"`: entities of type `User` cannot have parents '
            "of type `User` (the schema allows `Group`, `Team`)",
        ),
        (
            [user("a", tags={"t": 1})],
            'entity #0 (User::"a"): tag "t": entity type `User` declares no tags',
        ),
        (
            [{"uid": {"type": "Usr", "id": "a"}, "attrs": {}, "parents": []}],
            'entity #0 (Usr::"a"): entity type `Usr` is not declared in the schema; did you mean `User`?',
        ),
        (
            [{"uid": {"type": "Color", "id": "green"}, "attrs": {}, "parents": []}],
            'entity #0 (Color::"green"): `Color::"green"` is not a declared id of enumerated type '
            '`Color` (declared: "red", "blue")',
        ),
        (
            [
                {
                    "uid": {"type": "Pen", "id": "p"},
                    "attrs": {"color": {"type": "Color", "id": "pink"}},
                    "parents": [],
                }
            ],
            'entity #0 (Pen::"p"): attribute "color": `Color::"pink"` is not a declared id of '
            'enumerated type `Color` (declared: "red", "blue")',
        ),
        (
            [{"uid": {"type": "Action", "id": "nope"}, "attrs": {}, "parents": []}],
            'entity #0 (Action::"nope"): action `Action::"nope"` is not declared in the schema',
        ),
        (
            [{"uid": {"type": "Action", "id": "edit"}, "attrs": {}, "parents": []}],
            'entity #0 (Action::"edit"): definition of action `Action::"edit"` does not match its '
            "schema declaration; leave it out of the entity data to use the schema's definition",
        ),
        (
            [user("a", {"age": 1}), user("a", {"age": 2})],
            'duplicate entity entry User::"a": two different entities have this uid',
        ),
    ],
)
def test_entity_error_messages(data, message):
    assert load_error(data) == message


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        (
            {"x": {"__extn": {"fn": "ip", "arg": "1.2.3"}}},
            'entity #0 (User::"a"): attribute "x": ip("1.2.3") is not a valid value: '
            "error while evaluating `ipaddr` extension function: invalid IP address: 1.2.3",
        ),
        (
            {"x": {"__extn": {"fn": "decimal", "arg": "1.23456"}}},
            'entity #0 (User::"a"): attribute "x": decimal("1.23456") is not a valid value: '
            "error while evaluating `decimal` extension function: too many digits after the "
            "decimal in `1.23456`",
        ),
        (
            {"x": {"__extn": {"fn": "frobnicate", "arg": "1"}}},
            'entity #0 (User::"a"): attribute "x": `frobnicate` is not an extension function',
        ),
        (
            {"x": {"__expr": "1 + 1"}},
            'entity #0 (User::"a"): attribute "x": the `__expr` escape is no longer supported; '
            "use `__entity` or `__extn`",
        ),
        (
            {"x": [1, {"__entity": {"type": "1A", "id": "b"}}]},
            'entity #0 (User::"a"): attribute "x", element #1: `1A` is not a valid entity type name',
        ),
    ],
)
def test_value_errors_without_a_schema(attrs, message):
    assert load_error([user("a", attrs)], schema=None) == message


def test_without_a_schema_action_parents_must_be_actions():
    data = [
        {
            "uid": {"type": "Action", "id": "a"},
            "attrs": {},
            "parents": [{"type": "User", "id": "x"}],
        }
    ]
    assert load_error(data, schema=None) == (
        'entity #0 (Action::"a"): parent `User::"x"`: an action\'s parents must be actions'
    )


def test_parse_value_errors_are_entity_errors():
    with pytest.raises(EntityError, match='expected a long, got "7"'):
        parse_value("7", LongType())


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            '{"ip": ',
            "context is not valid JSON (Expecting value: line 1 column 8 (char 7)); "
            'pass a JSON object such as {"mfa": true}',
        ),
        (
            "[1]",
            'context must be a JSON object (a record), got [1]; pass something like {"mfa": true}',
        ),
        (
            {"ip": "10.0.0.1", "n": "2"},
            'context for Action::"view": attribute "n": expected a long, got "2"',
        ),
        ({}, 'context for Action::"view": missing required attribute "ip"'),
        (
            {"ip": "10.0.0.1", "extra": 1},
            'context for Action::"view": attribute "extra": not declared in the schema',
        ),
        (
            {"ip": "nope"},
            'context: attribute "ip": ip("nope") is not a valid value: error while evaluating '
            "`ipaddr` extension function: invalid IP address: nope",
        ),
    ],
)
def test_context_errors_are_request_errors(context, message):
    with pytest.raises(RequestError) as info:
        parse_context(context, SCHEMA, EntityUid("Action", "view"))
    assert info.value.message == message


def test_context_for_an_undeclared_action():
    with pytest.raises(RequestError, match='action Action::"fly" is not declared in the schema'):
        parse_context({}, SCHEMA, EntityUid("Action", "fly"))
