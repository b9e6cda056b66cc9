"""Cedar's JSON schema format: read into the same model as the human format, and written back."""

from __future__ import annotations

import json

import cedarpy
import pytest

from plainpdp.errors import SchemaError
from plainpdp.schema import (
    AttributeType,
    BoolType,
    EntityType,
    ExtensionType,
    LongType,
    RecordType,
    Schema,
    SetType,
    StringType,
)
from plainpdp.values import EntityUid

# Hand-written schemas covering every construct; each must mean the same in both formats.
EXAMPLES = {
    "portal": """
        namespace Portal {
            type Address = { street: String, city?: String };
            entity Partner { name: String, tier: String };
            entity Role in [Partner];
            entity User in [Role, Partner] = {
                email: String,
                level: Long,
                address?: Address,
                roles: Set<Role>,
                lastLogin?: datetime,
                ip?: ipaddr,
            } tags String;
            entity Doc in [Partner] { owner: User, score: decimal, ttl: duration };
            entity Region enum ["eu", "us"];
            action manage;
            action view, edit in [manage] appliesTo {
                principal: [User],
                resource: [Doc],
                context: { mfa: Bool, region?: Region, where: { ip: ipaddr } },
            };
            action "delete doc" in view appliesTo { principal: User, resource: Doc };
        }
    """,
    "empty namespace and cross references": """
        entity Tenant;
        type Flag = Bool;
        namespace A { entity X in [Tenant] { f: Flag, t: Tenant }; action go; }
        namespace B {
            entity Y { x: A::X, xs: Set<A::X> };
            action run in [A::Action::"go"] appliesTo { principal: Y, resource: A::X };
        }
        action "top";
    """,
    "builtins shadowed": """
        entity Long;
        type ipaddr = String;
        entity E { a: Long, b: __cedar::Long, c: ipaddr, d: __cedar::ipaddr, e: Action };
        action x;
    """,
    "empty": "",
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_json_round_trip_gives_the_same_model(name):
    schema = Schema.from_text(EXAMPLES[name])
    assert Schema.from_json(schema.to_json()) == schema
    assert Schema.from_json(json.dumps(schema.to_json())) == schema


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_cedar_reads_our_json_as_the_same_schema(name):
    """Cedar accepts the JSON we write and renders it back to text meaning the same model."""
    schema = Schema.from_text(EXAMPLES[name])
    rendered = str(cedarpy.Schema.from_json_str(json.dumps(schema.to_json())))
    assert Schema.from_text(rendered) == schema


def test_reading_json_with_every_type_form():
    s = Schema.from_json(
        {
            "NS": {
                "commonTypes": {
                    "Name": {"type": "String"},
                    "Tags": {"type": "Set", "element": {"type": "Name"}},
                },
                "entityTypes": {
                    "Group": {},
                    "User": {
                        "memberOfTypes": ["Group"],
                        "shape": {
                            "type": "Record",
                            "attributes": {
                                "name": {"type": "Name"},
                                "tags": {"type": "Tags", "required": False},
                                "admin": {"type": "Boolean"},
                                "n": {"type": "Long"},
                                "boss": {"type": "Entity", "name": "User"},
                                "group": {"type": "EntityOrCommon", "name": "Group"},
                                "ip": {"type": "Extension", "name": "ipaddr"},
                                "also_bool": {"type": "Bool"},
                            },
                        },
                        "tags": {"type": "Long"},
                    },
                    "Color": {"enum": ["red"]},
                },
                "actions": {
                    "view": {},
                    "edit": {
                        "memberOf": [{"id": "view"}],
                        "appliesTo": {
                            "principalTypes": ["User"],
                            "resourceTypes": ["Group", "NS::User"],
                            "context": {"type": "Record", "attributes": {}},
                        },
                    },
                },
            }
        }
    )
    user = s.entity_type("NS::User")
    assert user.member_of == ("NS::Group",)
    assert user.tags == LongType()
    assert dict(user.attributes.attributes) == {
        "name": AttributeType(StringType()),
        "tags": AttributeType(SetType(StringType()), required=False),
        "admin": AttributeType(BoolType()),
        "n": AttributeType(LongType()),
        "boss": AttributeType(EntityType("NS::User")),
        "group": AttributeType(EntityType("NS::Group")),
        "ip": AttributeType(ExtensionType("ipaddr")),
        "also_bool": AttributeType(BoolType()),
    }
    assert s.entity_type("NS::Color").enum == ("red",)
    edit = s.action(EntityUid("NS::Action", "edit"))
    assert edit.member_of == (EntityUid("NS::Action", "view"),)
    assert edit.resource_types == ("NS::Group", "NS::User")
    assert edit.context == RecordType()


def test_written_json_is_cedars_format():
    s = Schema.from_text(
        "namespace N { entity G; entity U in [G] { a?: Set<G>, b: decimal } tags Bool;"
        ' entity E enum ["x"]; action v; action e in [v] appliesTo { principal: U, resource: G }; }'
    )
    assert s.to_json() == {
        "N": {
            "entityTypes": {
                "E": {"enum": ["x"]},
                "G": {"memberOfTypes": [], "shape": {"type": "Record", "attributes": {}}},
                "U": {
                    "memberOfTypes": ["N::G"],
                    "shape": {
                        "type": "Record",
                        "attributes": {
                            "a": {
                                "type": "Set",
                                "element": {"type": "Entity", "name": "N::G"},
                                "required": False,
                            },
                            "b": {"type": "Extension", "name": "decimal"},
                        },
                    },
                    "tags": {"type": "Boolean"},
                },
            },
            "actions": {
                "e": {
                    "memberOf": [{"type": "N::Action", "id": "v"}],
                    "appliesTo": {
                        "principalTypes": ["N::U"],
                        "resourceTypes": ["N::G"],
                        "context": {"type": "Record", "attributes": {}},
                    },
                },
                "v": {
                    "memberOf": [],
                    "appliesTo": {
                        "principalTypes": [],
                        "resourceTypes": [],
                        "context": {"type": "Record", "attributes": {}},
                    },
                },
            },
        }
    }


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"": {"entityTypes": {}}}', '"": missing field `actions`'),
        (
            '{"": {"entityTypes": {"A": {}, "A": {}}, "actions": {}}}',
            "schema is not valid JSON: duplicate key `A`",
        ),
        (
            '{"": {"entityTypes": {"A": {"zzz": 1}}, "actions": {}}}',
            '"".entityTypes.A: unknown field `zzz`',
        ),
        (
            '{"": {"entityTypes": {"A": {"shape": {"type": "Record", "attributes": '
            '{"s": {"type": "Set"}}}}}, "actions": {}}}',
            '"".entityTypes.A.shape.attributes.s: missing field `element`',
        ),
        (
            '{"": {"entityTypes": {"E": {"enum": ["a"], "tags": {"type": "Long"}}}, "actions": {}}}',
            '"".entityTypes.E: unexpected field: tags',
        ),
        (
            '{"": {"entityTypes": {}, "actions": {"a": {"attributes": {}}}}}',
            '"".actions.a: action attributes are not supported',
        ),
        (
            '{"": {"entityTypes": {}, "actions": {"a": {"appliesTo": {"principalTypes": []}}}}}',
            '"".actions.a.appliesTo: missing field `resourceTypes`',
        ),
        ('{"A B": {"entityTypes": {}, "actions": {}}}', '"A B": invalid namespace `A B`'),
        (
            '{"": {"entityTypes": {"A": {"shape": {"type": "Record", "attributes": {}, '
            '"additionalAttributes": true}}}, "actions": {}}}',
            '"".entityTypes.A.shape: open records (`additionalAttributes: true`) are not supported',
        ),
        (
            '{"": {"entityTypes": {"A": {"shape": {"type": "Record", "attributes": '
            '{"x": {"type": "Extension", "name": "ipadr"}}}}}, "actions": {}}}',
            "unknown extension type `ipadr` in entity type `A`",
        ),
        (
            '{"N": {"entityTypes": {"A": {"shape": {"type": "Long"}}}, "actions": {}}}',
            "shape for entity type `N::A` is declared with a type other than a record",
        ),
        ("[]", "a JSON schema is an object of namespaces, got a list"),
    ],
)
def test_json_errors_name_the_field(document, message):
    with pytest.raises(SchemaError) as info:
        Schema.from_json(document)
    assert info.value.diagnostics[0].message == message


def test_unknown_extension_type_suggests_the_closest():
    with pytest.raises(SchemaError) as info:
        Schema.from_json(
            {
                "": {
                    "entityTypes": {
                        "A": {
                            "shape": {
                                "type": "Record",
                                "attributes": {"x": {"type": "Extension", "name": "ipadr"}},
                            }
                        }
                    },
                    "actions": {},
                }
            }
        )
    assert info.value.diagnostics[0].help == "did you mean `ipaddr`?"
